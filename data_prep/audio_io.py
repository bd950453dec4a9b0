"""Finding, probing, decoding and resampling input audio files.

Files are decoded with soundfile (libsndfile >= 1.1 reads mp3 as well as
wav, flac, ogg and the other formats it knows), mixed to mono by averaging the
channels, and resampled with scipy's polyphase filter. Every read is of a
bounded range of samples, so a long file never has to fit in memory.

Range reads are exact: `read_resampled(info, rate, start, stop)` returns the
same samples (up to float rounding) as resampling the whole file and slicing
it. The input range is widened by a margin longer than the resampling filter
and aligned to the polyphase period, so chunk edges are seamless.

Seeking in lossy files (mp3, ogg) is not sample-exact in libsndfile, so those
are decoded from the start up to the requested range; each chunk of a long
mp3 therefore costs a decode of everything before it (FLAC or WAV avoid this).
They are read with libsndfile's sequential read through soundfile's handle:
SoundFile.read seeks to the position it just reached after every call, and
that seek makes libsndfile's mp3 decoder lose its place (the samples after
the first read of a file come out wrong).

Paths with a scheme (gs://, s3://, ...) are globbed and opened through
apache_beam's FileSystems; local paths through glob and open.
"""

import dataclasses
import glob
import math
import os
import re
from typing import List, NamedTuple, Sequence

import numpy as np
import scipy.signal
import soundfile as sf

# Extensions of files that are decoded; everything else a pattern matches is
# ignored (notebooks, text, images, ...).
AUDIO_EXTENSIONS = ('.wav', '.wave', '.flac', '.ogg', '.oga', '.opus', '.mp3',
                    '.aif', '.aiff', '.aifc', '.w64', '.rf64', '.caf', '.au')
# libsndfile formats whose seek lands on the exact sample. Others (OGG, MP3)
# are read from the start.
_EXACT_SEEK_FORMATS = frozenset(
    ('WAV', 'WAVEX', 'FLAC', 'AIFF', 'W64', 'RF64', 'CAF', 'AU', 'RAW', 'NIST',
     'IRCAM', 'SD2', 'WVE', 'MAT4', 'MAT5', 'PVF', 'HTK', 'AVR', 'SVX'))
# Frames per libsndfile call when a file is read from the start.
_SKIP_BLOCK = 1 << 16
# Frames read back from the end of a file when probing it.
_PROBE_TAIL = 4096
# A WAV data size at or above this is a streaming writer's placeholder, not a
# promise of that much data.
_WAV_PLACEHOLDER_SIZE = 0x7FFFFFFF
_GLOB_CHARS = re.compile(r'[*?\[]')


class AudioFileError(ValueError):
  """A file that cannot be used; the message is the reason."""


class InputFile(NamedTuple):
  """A matched input file.

  Attributes:
    path: Where to read it.
    key: Its path relative to the non-wildcard directory of the pattern that
      matched it, e.g. 'cello/take1.wav'. Stable when the dataset moves, so
      it names the file in the train/eval hash and in messages.
  """
  path: str
  key: str


@dataclasses.dataclass(frozen=True)
class AudioInfo:
  """What probing a file found.

  Attributes:
    path: Where to read it.
    key: See InputFile.key.
    sample_rate: Samples per second per channel.
    n_frames: Samples per channel.
    channels: Number of channels (mixed to mono on read).
    format: libsndfile's major format, e.g. 'WAV', 'FLAC', 'MP3'.
  """
  path: str
  key: str
  sample_rate: int
  n_frames: int
  channels: int
  format: str

  @property
  def duration_secs(self) -> float:
    """Length in seconds."""
    return self.n_frames / self.sample_rate

  def length_at(self, rate: int) -> int:
    """Samples the file has once resampled to `rate` (rounded down).

    Args:
      rate: A sample rate in Hz.

    Returns:
      floor(n_frames * rate / sample_rate).
    """
    return self.n_frames * int(rate) // self.sample_rate


def _is_remote(path: str) -> bool:
  return '://' in path


def _static_directory(pattern: str) -> str:
  """The directory part of a glob pattern before its first wildcard."""
  parts = pattern.split('/')
  for index, part in enumerate(parts):
    if _GLOB_CHARS.search(part):
      return '/'.join(parts[:index]) or '/'
  return os.path.dirname(pattern)


def _match(pattern: str) -> List[str]:
  """Paths that a (recursive, for '**') glob pattern matches."""
  if _is_remote(pattern):
    from apache_beam.io.filesystems import FileSystems  # pylint: disable=import-outside-toplevel
    results = FileSystems.match([pattern])
    return [metadata.path for result in results
            for metadata in result.metadata_list]
  return [path for path in glob.glob(pattern, recursive=True)
          if os.path.isfile(path)]


def find_audio_files(patterns: Sequence[str]) -> List[InputFile]:
  """Files matching any of the patterns that look like audio.

  A pattern is a path, a glob ('**' recurses) or a directory (searched
  recursively). Files without an audio extension (AUDIO_EXTENSIONS), hidden
  files (such as macOS `._*` resource forks) and anything inside a hidden
  directory such as `.ipynb_checkpoints` are ignored. A file matched by several patterns is listed once.

  Args:
    patterns: File patterns; `~` is expanded.

  Returns:
    The matched files sorted by path.

  Raises:
    ValueError: If `patterns` is empty or holds an empty or non-string
      pattern.
  """
  if isinstance(patterns, str) or not patterns:
    raise ValueError('patterns must be a non-empty list of file patterns, got '
                     f'patterns={patterns!r}.')
  found = {}
  for pattern in patterns:
    if not isinstance(pattern, str) or not pattern.strip():
      raise ValueError(f'Every file pattern must be a non-empty string, got '
                       f'{pattern!r} in patterns={patterns!r}.')
    pattern = os.path.expanduser(pattern.strip())
    if not _is_remote(pattern) and os.path.isdir(pattern):
      pattern = os.path.join(pattern, '**', '*')
    base = _static_directory(pattern)
    for path in _match(pattern):
      key = path[len(base):].lstrip('/') if path.startswith(base) else path
      hidden = any(part.startswith('.') for part in key.split('/'))
      if not hidden and path.lower().endswith(AUDIO_EXTENSIONS):
        found.setdefault(path, key)
  return [InputFile(path, key) for path, key in sorted(found.items())]


def _open(path: str) -> sf.SoundFile:
  """Opens a file for decoding, through Beam's FileSystems if remote."""
  if _is_remote(path):
    from apache_beam.io.filesystems import FileSystems  # pylint: disable=import-outside-toplevel
    from apache_beam.io.filesystem import CompressionTypes  # pylint: disable=import-outside-toplevel
    return sf.SoundFile(FileSystems.open(
        path, compression_type=CompressionTypes.UNCOMPRESSED))
  return sf.SoundFile(path)


def _wav_truncation(extra_info: str) -> str:
  """A reason if libsndfile's WAV log shows less data than the header says."""
  match = re.search(r'^data\s*:\s*(\d+)\s*\(should be (\d+)\)', extra_info,
                    re.MULTILINE)
  if match:
    declared, present = int(match.group(1)), int(match.group(2))
    if present < declared < _WAV_PLACEHOLDER_SIZE:
      return (f'truncated: the header declares {declared} bytes of audio '
              f'data but the file holds {present}')
  return ''


def probe(input_file: InputFile) -> AudioInfo:
  """Reads a file's header and checks that its end decodes.

  Args:
    input_file: The file.

  Returns:
    Its AudioInfo.

  Raises:
    AudioFileError: If the file is empty, not audio, truncated or corrupt;
      the message says which.
  """
  path = input_file.path
  try:
    with _open(path) as sound_file:
      info = AudioInfo(path=path, key=input_file.key,
                       sample_rate=int(sound_file.samplerate),
                       n_frames=int(sound_file.frames),
                       channels=int(sound_file.channels),
                       format=str(sound_file.format))
      if info.n_frames <= 0 or info.sample_rate <= 0:
        raise AudioFileError(
            f'no audio samples ({info.n_frames} frames at '
            f'{info.sample_rate} Hz)')
      if info.format in ('WAV', 'WAVEX'):
        truncation = _wav_truncation(sound_file.extra_info)
        if truncation:
          raise AudioFileError(truncation)
      tail_start = max(0, info.n_frames - _PROBE_TAIL)
      try:
        sound_file.seek(tail_start)
        tail = len(sound_file.read(info.n_frames - tail_start,
                                   dtype='float32', always_2d=True))
      except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioFileError(
            f'truncated or corrupt: the header promises {info.n_frames} '
            f'frames but frame {tail_start} onwards cannot be decoded '
            f'({error})') from error
  except (sf.LibsndfileError, RuntimeError, OSError, EOFError) as error:
    raise AudioFileError(f'cannot decode: {error}') from error
  exact = info.format in _EXACT_SEEK_FORMATS
  if (exact and tail != info.n_frames - tail_start) or not tail:
    raise AudioFileError(
        f'truncated or corrupt: the header promises {info.n_frames} frames '
        f'but reading from frame {tail_start} gave {tail} of '
        f'{info.n_frames - tail_start}')
  return info


def _read_sequentially(sound_file: sf.SoundFile, first: int,
                       last: int) -> np.ndarray:
  """Frames [first, last) decoded from the start, with no seek at all.

  Calls libsndfile's sf_readf_double on soundfile's handle, block by block
  (see the module docstring for why SoundFile.read cannot be used).

  Returns:
    float64 [n, channels], n < last - first if the file ends early.
  """
  out = np.zeros((last - first, sound_file.channels))
  scratch = np.zeros((_SKIP_BLOCK, sound_file.channels))
  position = 0
  while position < last:
    if position < first:
      target, count = scratch, min(_SKIP_BLOCK, first - position)
    else:
      target = out[position - first:]
      count = min(_SKIP_BLOCK, last - position)
    pointer = sf._ffi.cast('double *', target.ctypes.data)  # pylint: disable=protected-access
    read = sf._snd.sf_readf_double(sound_file._file, pointer, count)  # pylint: disable=protected-access
    if read <= 0:
      break
    position += read
  return out[:max(position - first, 0)]


def read_mono(info: AudioInfo, start: int, stop: int) -> np.ndarray:
  """Mono samples [start, stop) at the file's own rate.

  Samples outside the file (start < 0 or stop > n_frames) are zeros.

  Args:
    info: From probe.
    start: First sample index (may be negative).
    stop: One past the last sample index; >= start.

  Returns:
    float64 [stop - start], the mean of the channels.

  Raises:
    AudioFileError: If decoding fails, gives fewer samples than the header
      promised, or gives NaN or Inf.
  """
  if stop < start:
    raise ValueError(f'stop must be >= start, got start={start}, stop={stop}.')
  out = np.zeros(stop - start)
  first, last = max(start, 0), min(stop, info.n_frames)
  if last <= first:
    return out
  try:
    with _open(info.path) as sound_file:
      if info.format in _EXACT_SEEK_FORMATS:
        sound_file.seek(first)
        data = sound_file.read(last - first, dtype='float64', always_2d=True)
      else:
        data = _read_sequentially(sound_file, first, last)
  except (sf.LibsndfileError, RuntimeError, OSError, EOFError) as error:
    raise AudioFileError(f'cannot decode frames {first}..{last}: {error}'
                         ) from error
  if len(data) != last - first:
    raise AudioFileError(f'truncated: decoding frames {first}..{last} gave '
                         f'only {len(data)} frames')
  mono = data.mean(axis=1)
  if not np.all(np.isfinite(mono)):
    raise AudioFileError(f'NaN or Inf samples between frames {first} and '
                         f'{last}')
  out[first - start:last - start] = mono
  return out


def _filter_reach(up: int, down: int) -> int:
  """Input samples on each side that scipy's default resample_poly filter uses.

  resample_poly designs a filter of half-length 10 * max(up, down) at the
  upsampled rate, i.e. 10 * max(up, down) / up input samples.
  """
  return math.ceil(10 * max(up, down) / up) + 1


def read_resampled(info: AudioInfo, rate: int, start: int,
                   stop: int) -> np.ndarray:
  """Mono samples [start, stop) of the file resampled to `rate`.

  Equal to resampling the whole file with scipy.signal.resample_poly (default
  Kaiser window) and slicing, with zeros outside [0, info.length_at(rate)).

  Args:
    info: From probe.
    rate: Output sample rate in Hz.
    start: First output sample index (may be negative).
    stop: One past the last output sample index; >= start.

  Returns:
    float64 [stop - start].

  Raises:
    AudioFileError: As read_mono.
  """
  if rate == info.sample_rate:
    return read_mono(info, start, stop)
  if stop < start:
    raise ValueError(f'stop must be >= start, got start={start}, stop={stop}.')
  out = np.zeros(stop - start)
  first, last = max(start, 0), min(stop, info.length_at(rate))
  if last <= first:
    return out
  common = math.gcd(int(rate), info.sample_rate)
  up, down = int(rate) // common, info.sample_rate // common
  # Output sample j sits at input position j * down / up. Starting the input
  # at a multiple of `down` keeps the output on the whole file's grid.
  margin = -(-_filter_reach(up, down) // down)
  block = max(0, first // up - margin)
  in_stop = min(info.n_frames, (-(-last // up) + margin) * down)
  resampled = scipy.signal.resample_poly(
      read_mono(info, block * down, in_stop), up, down)
  offset = block * up
  out[first - start:last - start] = resampled[first - offset:last - offset]
  return out
