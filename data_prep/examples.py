"""The example layout and the features of one chunk of one file.

Two window layouts (`ExampleSpec.window_layout`):

- 'chunks' (the default, magenta/ddsp's): the file is cut into chunks of
  chunk_secs, the last one zero-padded to chunk_secs, and each chunk is
  analysed on its own (its features see zeros beyond its edges). Window j of
  chunk c starts at c * chunk_secs + j * hop_secs and lasts example_secs;
  each chunk has floor((chunk_secs - example_secs) / hop_secs) + 1 windows,
  so windows also come from the padding of the last chunk (a 2 s file with
  the default 20 s chunks gives 17 four-second windows, 15 of them silent),
  and no window spans two chunks. The eval split takes whole chunks, so eval
  windows never overlap train windows. chunk_secs = 0 gives the 'file'
  layout.
- 'file' (ddsp_tf's option): windows on the file's timeline: window i starts
  at i * hop_secs and lasts example_secs. Only windows that fit inside the
  file are made (floor((duration - example_secs) / hop_secs) + 1 of them); a
  file shorter than one window gives one zero-padded window or is skipped
  (`short_clips`). Chunks (of whole windows) only bound the work done at
  once, and features near chunk edges see the file's audio, so they equal
  those of the whole file computed at once. The eval split takes windows.

With example_secs = 0 each chunk of chunk_secs is one example (the last one
zero-padded to chunk_secs), and with chunk_secs = 0 as well each whole file
is one example.

Each window holds `audio` at sample_rate and `audio_16k`, and, when
frame_rate > 0, `f0_hz`, `f0_confidence` and `loudness_db` at frame_rate.
Features are computed on the 16 kHz audio, framed as the original does:
padding 'same' (frame k starts at sample k * hop) or, with center, 'center'
(frame k is centred on sample k * hop; one more frame per window). Loudness
uses n_fft = 512.

In the 'file' layout, long files are processed in chunks of whole windows,
at most chunk_secs long (at least one window). Every chunk reads its audio
with the context its frames need (zeros beyond the file's ends, as the
whole-file padding would give), so features match those of the whole file
computed at once; only Viterbi decoding sees one chunk at a time. Chunks
overlap by example_secs - hop_secs, which is computed twice.

Pitch comes from CREPE (`f0_estimator='crepe'`, at the frame rate or, with
crepe_hop_ms, at that hop) or SwiftF0 (`'swiftf0'`). Trackers that look
beyond CREPE's 1024-sample frame get more audio on each side of a chunk, so
chunk edges see the context the whole file would give: SwiftF0 runs on its
receptive field around the chunk, from a multiple of its 256-sample hop on
the file's timeline (its frames sit where whole-file analysis puts them);
CREPE at another hop gets `ExampleSpec.f0_context_frames` more frames on
each side, computed and dropped (its analysis frames line up across chunks
when hop_secs and chunk_secs are multiples of crepe_hop_ms).
"""

import dataclasses
import hashlib
import math
import os
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from data_prep import audio_io
from ddsp_tf import crepe
from ddsp_tf import formats
from ddsp_tf import pitch
from ddsp_tf import spectral_ops
from ddsp_tf import swiftf0
from ddsp_tf import validation

CREPE_SAMPLE_RATE = formats.FEATURE_SAMPLE_RATE
LOUDNESS_N_FFT = 512
SHORT_CLIP_POLICIES = ('pad', 'skip')
WINDOW_LAYOUTS = ('chunks', 'file')
F0_ESTIMATORS = pitch.F0_ESTIMATORS
# 16 kHz samples SwiftF0 looks at beyond a frame centre (its receptive field,
# 2815 samples), plus one of its 256-sample frames for the interpolation.
SWIFTF0_CONTEXT = 2816 + swiftf0.HOP_SIZE


def _whole_samples(name: str, seconds: float, rate: int) -> int:
  """seconds * rate, which must be a whole number of samples or frames."""
  samples = seconds * rate
  rounded = int(round(samples))
  if abs(samples - rounded) > 1e-6:
    raise ValueError(
        f'{name} * rate must be a whole number of samples, got {name}='
        f'{seconds!r} at {rate} per second ({samples:g}).')
  return rounded


@dataclasses.dataclass(frozen=True)
class ExampleSpec:
  """How files become examples; validated on construction.

  Attributes:
    sample_rate: Rate of the `audio` feature (any positive rate).
    frame_rate: Rate of the frame features; 0 writes audio only. Must divide
      16000 with a hop of at most 512 samples (frame_rate >= 32).
    example_secs: Window length; 0 makes each chunk (or file) one example.
    hop_secs: Seconds between window starts.
    chunk_secs: Longest audio processed at once; 0 = whole files.
    center: Centre frames on their timestamps ('center' padding) instead of
      starting them there ('same'); windows get one extra frame.
    viterbi: Smooth f0 with CREPE's Viterbi decoding.
    model_capacity: CREPE capacity ('tiny' ... 'full') or a weight file.
    short_clips: 'pad' a file shorter than one example to one example, or
      'skip' it (it is listed in the rejects).
    f0_estimator: 'crepe' or 'swiftf0' (needs the swift-f0 package).
    crepe_hop_ms: CREPE's analysis hop in ms (10.0 is its native hop),
      interpolated to frame_rate; None analyses at the frame rate.
    window_layout: 'chunks' (the original's: windows within zero-padded
      chunks of chunk_secs, analysed separately) or 'file' (ddsp_tf's:
      windows across the whole file, none from padding); see the module
      docstring.
  """
  sample_rate: int = 16000
  frame_rate: int = 250
  example_secs: float = 4.0
  hop_secs: float = 1.0
  chunk_secs: float = 20.0
  center: bool = False
  viterbi: bool = True
  model_capacity: str = 'full'
  short_clips: str = 'pad'
  f0_estimator: str = 'crepe'
  crepe_hop_ms: Optional[float] = None
  window_layout: str = 'chunks'

  def __post_init__(self):
    # None turns a stage off, as in the original (frame_rate=None: audio
    # only; example_secs=None: no windows; chunk_secs=None: whole files).
    for name in ('frame_rate', 'example_secs', 'chunk_secs'):
      if getattr(self, name) is None:
        object.__setattr__(self, name, 0)
    validation.check_int('sample_rate', self.sample_rate)
    validation.check_int('frame_rate', self.frame_rate, minimum=0)
    if self.frame_rate:
      hop = CREPE_SAMPLE_RATE / self.frame_rate
      if hop != int(hop) or hop > LOUDNESS_N_FFT:
        raise ValueError(
            f'frame_rate must divide {CREPE_SAMPLE_RATE} with a hop of at most '
            f'{LOUDNESS_N_FFT} samples (e.g. 50, 100, 200, 250, 500), got '
            f'frame_rate={self.frame_rate!r}.')
    for name in ('example_secs', 'hop_secs', 'chunk_secs'):
      value = getattr(self, name)
      if not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f'{name} must be a number >= 0, got {name}={value!r}.')
    if self.example_secs and not self.hop_secs:
      raise ValueError(f'hop_secs must be > 0 when example_secs > 0, got '
                       f'hop_secs={self.hop_secs!r}.')
    validation.check_choice('window_layout', self.window_layout,
                            WINDOW_LAYOUTS)
    window = ('example_secs', 'hop_secs') if self.example_secs else ()
    if self.chunk_secs and (self.chunked or not self.example_secs):
      window += ('chunk_secs',)
    for name in window:
      for rate in self._rates():
        _whole_samples(name, getattr(self, name), rate)
    if self.chunked and self.example_secs > self.chunk_secs:
      raise ValueError(
          f'example_secs={self.example_secs!r} is longer than chunk_secs='
          f'{self.chunk_secs!r}, so window_layout=\'chunks\' (the '
          "original's) would cut no example; lower example_secs, raise "
          "chunk_secs or use window_layout='file'.")
    if self.model_capacity not in crepe.CAPACITIES and not os.path.isfile(
        str(self.model_capacity)):
      raise ValueError(
          f'model_capacity must be one of {list(crepe.CAPACITIES)} or an '
          f'existing CREPE weight file, got model_capacity='
          f'{self.model_capacity!r}.')
    validation.check_choice('short_clips', self.short_clips,
                            SHORT_CLIP_POLICIES)
    validation.check_choice('f0_estimator', self.f0_estimator, F0_ESTIMATORS)
    if self.crepe_hop_ms is not None:
      if self.f0_estimator != 'crepe':
        raise ValueError(
            f'crepe_hop_ms applies to CREPE only; got crepe_hop_ms='
            f'{self.crepe_hop_ms!r} with f0_estimator={self.f0_estimator!r}.')
      pitch.crepe_hop_samples(self.crepe_hop_ms)
    if self.f0_estimator == 'swiftf0' and self.frame_rate:
      swiftf0.check_installed()

  @property
  def chunked(self) -> bool:
    """Whether windows lie within separately analysed chunks (the
    original's layout with chunk_secs > 0)."""
    return self.window_layout == 'chunks' and bool(self.chunk_secs)

  def _rates(self) -> Tuple[int, ...]:
    return tuple(rate for rate in (self.sample_rate, CREPE_SAMPLE_RATE,
                                   self.frame_rate) if rate)

  @property
  def padding(self) -> str:
    """spectral_ops padding of the frame features."""
    return formats.feature_padding(self.center)

  @property
  def frame_hop(self) -> int:
    """16 kHz samples between frames (frame_rate > 0)."""
    return CREPE_SAMPLE_RATE // self.frame_rate

  @property
  def f0_context_frames(self) -> int:
    """Frames of extra audio CREPE reads on each side of a chunk."""
    if self.f0_estimator != 'crepe' or self.crepe_hop_ms is None:
      return 0
    return math.ceil(pitch.crepe_hop_samples(self.crepe_hop_ms) /
                     self.frame_hop)

  def n_frames(self, n_samples_16k: int) -> int:
    """Frames of a window of n_samples_16k samples at 16 kHz."""
    return spectral_ops.get_framed_lengths(
        n_samples_16k, formats.FEATURE_FRAME_SIZE, self.frame_hop,
        self.padding)[0]


@dataclasses.dataclass(frozen=True)
class Windows:
  """The windows of one file.

  Windows come in chunks of per_chunk. Window i, the j-th of chunk c
  (i = c * per_chunk + j), covers [start, start + size) with start =
  c * chunk_hop + j * hop. Without chunk_hop (the 'file' layout) chunk_hop
  is per_chunk * hop, so window i starts at i * hop.

  Attributes:
    count: Number of windows.
    per_chunk: Windows processed together.
    size: {'audio': samples at sample_rate, 'audio_16k': samples at 16 kHz,
      'frames': frames (0 without features)}.
    hop: The same keys; distance between window starts within a chunk.
    chunk_hop: The same keys; distance between chunk starts in the
      'chunks' layout (chunk_secs), whose chunks are analysed separately;
      None in the 'file' layout.
  """
  count: int
  per_chunk: int
  size: Mapping[str, int]
  hop: Mapping[str, int]
  chunk_hop: Optional[Mapping[str, int]] = None

  def start(self, clock: str, window: int) -> int:
    """Where window `window` starts on a clock."""
    chunk, offset = divmod(window, self.per_chunk)
    chunk_hop = (self.chunk_hop[clock] if self.chunk_hop else
                 self.per_chunk * self.hop[clock])
    return chunk * chunk_hop + offset * self.hop[clock]

  def span(self, clock: str, first: int, count: int) -> Tuple[int, int]:
    """[start, stop) on a clock covered by windows first..first+count-1,
    which lie in one chunk."""
    start = self.start(clock, first)
    return start, start + (count - 1) * self.hop[clock] + self.size[clock]


def plan_windows(info: audio_io.AudioInfo, spec: ExampleSpec) -> Windows:
  """Lays out a file's windows.

  Args:
    info: The probed file.
    spec: The layout.

  Returns:
    Its Windows.

  Raises:
    AudioFileError: If the file is shorter than one example and
      spec.short_clips is 'skip', or has no sample at 16 kHz.
  """
  length_16k = info.length_at(CREPE_SAMPLE_RATE)
  if not length_16k:
    raise audio_io.AudioFileError(
        f'too short: {info.n_frames} samples at {info.sample_rate} Hz is less '
        'than one sample at 16 kHz')
  # Distance between the starts of separately analysed chunks (the original's
  # layout), or None.
  chunk_hop = {
      clock: _whole_samples('chunk_secs', spec.chunk_secs, rate)
      for clock, rate in (('audio', spec.sample_rate),
                          ('audio_16k', CREPE_SAMPLE_RATE))
  } if spec.chunked else None
  if spec.example_secs:
    seconds, hop_secs = spec.example_secs, spec.hop_secs
  elif spec.chunk_secs:
    seconds = hop_secs = spec.chunk_secs
  else:
    seconds = hop_secs = None
  if seconds is None:  # Whole files.
    size = {'audio': info.length_at(spec.sample_rate),
            'audio_16k': length_16k}
    hop = dict(size)
    count = per_chunk = 1
  else:
    size = {'audio': _whole_samples('seconds', seconds, spec.sample_rate),
            'audio_16k': _whole_samples('seconds', seconds, CREPE_SAMPLE_RATE)}
    hop = {'audio': _whole_samples('hop', hop_secs, spec.sample_rate),
           'audio_16k': _whole_samples('hop', hop_secs, CREPE_SAMPLE_RATE)}
    if (spec.example_secs and length_16k < size['audio_16k'] and
        spec.short_clips == 'skip'):
      raise audio_io.AudioFileError(
          f'shorter than one example ({info.duration_secs:.3f} s < '
          f'example_secs={spec.example_secs:g} s) and short_clips=skip')
    if spec.example_secs and spec.chunked:
      per_chunk = ((chunk_hop['audio_16k'] - size['audio_16k']) //
                   hop['audio_16k'] + 1)
      n_chunks = -(-length_16k // chunk_hop['audio_16k'])
      count = n_chunks * per_chunk
    elif spec.example_secs:
      count = max((length_16k - size['audio_16k']) // hop['audio_16k'] + 1, 1)
      chunk_16k = int(spec.chunk_secs * CREPE_SAMPLE_RATE + 1e-6)
      per_chunk = count if not spec.chunk_secs else max(
          1, (chunk_16k - size['audio_16k']) // hop['audio_16k'] + 1)
    else:
      count = -(-length_16k // hop['audio_16k'])
      per_chunk = 1
  if chunk_hop:
    chunk_hop['frames'] = (chunk_hop['audio_16k'] // spec.frame_hop
                           if spec.frame_rate else 0)
  size['frames'] = spec.n_frames(size['audio_16k']) if spec.frame_rate else 0
  hop['frames'] = hop['audio_16k'] // spec.frame_hop if spec.frame_rate else 0
  return Windows(count=count, per_chunk=per_chunk, size=size, hop=hop,
                 chunk_hop=chunk_hop)


@dataclasses.dataclass(frozen=True)
class Chunk:
  """Windows first..first+count-1 of a file, processed together.

  Attributes:
    info: The file.
    windows: The file's layout.
    index: Chunk number within the file.
    first: Index of the chunk's first window.
    count: Number of windows.
  """
  info: audio_io.AudioInfo
  windows: Windows
  index: int
  first: int
  count: int

  @property
  def is_last(self) -> bool:
    return self.first + self.count == self.windows.count

  def span(self, clock: str) -> Tuple[int, int]:
    """[start, stop) of the chunk on 'audio', 'audio_16k' or 'frames'."""
    return self.windows.span(clock, self.first, self.count)

  def segment(self, clock: str) -> Optional[Tuple[int, int]]:
    """In the 'chunks' layout, the chunk's [start, stop) on an audio clock
    ('audio' or 'audio_16k'): it is analysed as if nothing (zeros) lay
    outside. None in the 'file' layout."""
    chunk_hop = self.windows.chunk_hop
    if not chunk_hop:
      return None
    return self.index * chunk_hop[clock], (self.index + 1) * chunk_hop[clock]

  def owned(self, clock: str) -> Tuple[int, int]:
    """The part of span(clock) no later chunk covers (for statistics).

    Overlapping chunks ('file' layout) each own the samples or frames up to
    the next chunk's start, and the last chunk owns the rest, so every
    sample or frame that is in some example is counted exactly once. In the
    'chunks' layout chunks do not overlap, and on 'audio_16k' the zero
    padding after the file's end is not owned.
    """
    start, stop = self.span(clock)
    if self.windows.chunk_hop:
      if clock == 'audio_16k':
        stop = max(start, min(stop, self.info.length_at(CREPE_SAMPLE_RATE)))
    elif not self.is_last:
      stop = min(stop, self.windows.start(clock, self.first + self.count))
    return start, stop

  @property
  def owned_secs(self) -> float:
    """Seconds of audio that this chunk owns."""
    start, stop = self.owned('audio_16k')
    return (stop - start) / CREPE_SAMPLE_RATE


def plan_chunks(info: audio_io.AudioInfo, spec: ExampleSpec) -> List[Chunk]:
  """Splits a file's windows into chunks.

  Args:
    info: The probed file.
    spec: The layout.

  Returns:
    The chunks in order.

  Raises:
    AudioFileError: As plan_windows.
  """
  windows = plan_windows(info, spec)
  return [Chunk(info=info, windows=windows, index=index, first=first,
                count=min(windows.per_chunk, windows.count - first))
          for index, first in enumerate(range(0, windows.count,
                                              windows.per_chunk))]


def _read(chunk: Chunk, clock: str, rate: int, start: int,
          stop: int) -> np.ndarray:
  """Samples [start, stop) of the file at `rate`: zeros beyond the file's
  ends and, in the 'chunks' layout, beyond the chunk's segment."""
  audio = audio_io.read_resampled(chunk.info, rate, start, stop)
  segment = chunk.segment(clock)
  if segment is not None:
    audio = np.array(audio)
    audio[:max(0, min(segment[0] - start, len(audio)))] = 0.0
    audio[max(0, segment[1] - start):] = 0.0
  return audio


def chunk_features(chunk: Chunk, spec: ExampleSpec) -> Dict[str, np.ndarray]:
  """Decodes a chunk and computes its features.

  Args:
    chunk: From plan_chunks.
    spec: The layout it was planned with.

  Returns:
    float32 arrays over the chunk's spans: 'audio' (chunk.span('audio')),
    'audio_16k' (chunk.span('audio_16k')) and, with frame_rate > 0, 'f0_hz',
    'f0_confidence' and 'loudness_db' (chunk.span('frames')).

  Raises:
    AudioFileError: If the file fails to decode.
  """
  start_16k, stop_16k = chunk.span('audio_16k')
  features = {}
  if spec.frame_rate:
    hop = spec.frame_hop
    first_frame, stop_frame = chunk.span('frames')
    margin = spec.f0_context_frames
    # Frame k of a signal padded for framing covers samples
    # [k * hop - before, k * hop - before + frame_size) of the signal.
    crepe_before = crepe.FRAME_SIZE // 2 if spec.center else 0
    loudness_before = LOUDNESS_N_FFT // 2 if spec.center else 0
    read_start = min(start_16k, (first_frame - margin) * hop - crepe_before)
    read_stop = max(stop_16k, (stop_frame + margin - 1) * hop - crepe_before +
                    crepe.FRAME_SIZE)
    # Frame k is centred on sample k * hop + first_center of the file.
    first_center = crepe.FRAME_SIZE // 2 - crepe_before
    if spec.f0_estimator == 'swiftf0':
      swift_start = (first_frame * hop + first_center - SWIFTF0_CONTEXT
                     ) // swiftf0.HOP_SIZE * swiftf0.HOP_SIZE
      swift_stop = (stop_frame - 1) * hop + first_center + SWIFTF0_CONTEXT
      read_start, read_stop = (min(read_start, swift_start),
                               max(read_stop, swift_stop))
    audio_16k = _read(chunk, 'audio_16k', CREPE_SAMPLE_RATE, read_start,
                      read_stop)

    def frames_input(before, frame_size, extra=0):
      start = (first_frame - extra) * hop - before - read_start
      return audio_16k[start:start + (stop_frame + 2 * extra - 1 -
                                      first_frame) * hop + frame_size]

    if spec.f0_estimator == 'swiftf0':
      f0_hz, confidence = pitch.swiftf0_at_frames(
          audio_16k[np.newaxis, swift_start - read_start:
                    swift_stop - read_start],
          first_frame * hop + first_center - swift_start, hop,
          stop_frame - first_frame)
      f0_hz, confidence = f0_hz[0], confidence[0]
    else:
      f0_hz, confidence = spectral_ops.compute_f0(
          frames_input(crepe_before, crepe.FRAME_SIZE, margin),
          spec.frame_rate, viterbi=spec.viterbi, padding='valid',
          model_capacity=spec.model_capacity, crepe_hop_ms=spec.crepe_hop_ms)
      f0_hz = f0_hz[margin:len(f0_hz) - margin]
      confidence = confidence[margin:len(confidence) - margin]
    loudness = spectral_ops.compute_loudness(
        frames_input(loudness_before, LOUDNESS_N_FFT), CREPE_SAMPLE_RATE,
        spec.frame_rate, n_fft=LOUDNESS_N_FFT, padding='valid')
    features.update(f0_hz=f0_hz, f0_confidence=confidence,
                    loudness_db=np.asarray(loudness))
    features['audio_16k'] = audio_16k[start_16k - read_start:
                                      stop_16k - read_start]
  else:
    features['audio_16k'] = _read(chunk, 'audio_16k', CREPE_SAMPLE_RATE,
                                  start_16k, stop_16k)
  if spec.sample_rate == CREPE_SAMPLE_RATE:
    features['audio'] = features['audio_16k']
  else:
    features['audio'] = _read(chunk, 'audio', spec.sample_rate,
                              *chunk.span('audio'))
  return {key: value.astype(np.float32) for key, value in features.items()}


def split_windows(chunk: Chunk, features: Mapping[str, np.ndarray]
                  ) -> Iterator[Tuple[int, Dict[str, np.ndarray]]]:
  """Cuts a chunk's features into its windows.

  Args:
    chunk: The chunk.
    features: From chunk_features.

  Yields:
    (window index within the file, {feature key: float32 array}).
  """
  windows = chunk.windows
  for offset in range(chunk.count):
    example = {}
    for key, values in features.items():
      clock = key if key in ('audio', 'audio_16k') else 'frames'
      start = offset * windows.hop[clock]
      example[key] = values[start:start + windows.size[clock]]
    yield chunk.first + offset, example


def _varint(value: int) -> bytes:
  """Protobuf's base-128 varint of a non-negative int."""
  out = bytearray()
  while value > 0x7f:
    out.append((value & 0x7f) | 0x80)
    value >>= 7
  out.append(value)
  return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
  """A length-delimited protobuf field (wire type 2): tag, length, bytes."""
  return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def to_tf_example(features: Mapping[str, np.ndarray]) -> bytes:
  """Serializes float features as a tf.train.Example (one FloatList each).

  The bytes are those of tf.train.Example(...).SerializeToString(
  deterministic=True), map keys in sorted order so that equal features give
  equal bytes in every process, but written here directly from the arrays'
  little-endian float32 bytes: building FloatLists converts every sample to
  a Python float, which took most of a SwiftF0 job's time.

  Wire format: Example.features (1) -> Features.feature (1, a map: entries
  of key (1) and Feature (2)) -> Feature.float_list (2) -> FloatList.value
  (1, packed floats).

  Args:
    features: {key: 1-D float array}.

  Returns:
    The serialized proto.
  """
  entries = []
  for key in sorted(features):
    values = np.ascontiguousarray(features[key], '<f4').ravel().tobytes()
    float_list = _length_delimited(1, values) if values else b''
    entry = (_length_delimited(1, key.encode('utf-8')) +
             _length_delimited(2, _length_delimited(2, float_list)))
    entries.append(_length_delimited(1, entry))
  return _length_delimited(1, b''.join(entries))


def split_unit(chunk: Chunk, window: int) -> int:
  """What the eval split assigns as a whole for a window: its chunk in the
  'chunks' layout (as the original splits chunks, so eval windows never
  overlap train windows), the window itself in the 'file' layout."""
  return chunk.index if chunk.windows.chunk_hop else window


def is_eval(key: str, window: int, eval_split_fraction: float) -> bool:
  """Whether a window (or chunk: see split_unit) goes to the eval split.

  A stable hash (SHA-256, the same on every machine and run, unlike Python's
  hash) of the file key and the index, read as a fraction in [0, 1), is
  compared with eval_split_fraction. In the 'file' layout the split does
  not depend on chunk_secs.

  Args:
    key: The file's key (InputFile.key).
    window: Window index within the file (or chunk index: split_unit).
    eval_split_fraction: Expected fraction of eval windows, in [0, 1).

  Returns:
    True for eval, False for train.
  """
  if not eval_split_fraction:
    return False
  digest = hashlib.sha256(f'{key}\0{window}'.encode('utf-8')).digest()
  return int.from_bytes(digest[:8], 'big') / 2.0**64 < eval_split_fraction
