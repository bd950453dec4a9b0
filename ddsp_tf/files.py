"""File helpers: paths, atomic writes and audio reading.

Everything ddsp_tf writes goes through a temporary name in the destination
folder and is renamed into place, so a killed job leaves either the old
complete file or the new complete one, never a torn file.
"""

import io
import os
import shutil
import tempfile
from typing import Any, Mapping, Optional, Tuple

import numpy as np
import soundfile as sf


class AudioFileError(ValueError):
  """An audio file that is missing, unreadable or empty; says which and why."""


def expand_path(path: str) -> str:
  """Expands '~' and environment variables and makes a local path absolute.

  Args:
    path: A local path or a URL such as gs://bucket/dir.

  Returns:
    The expanded absolute path; URLs are returned unchanged.
  """
  path = os.fspath(path)
  if '://' in path:
    return path
  return os.path.abspath(os.path.expandvars(os.path.expanduser(path)))


def write_bytes_atomically(path: str, data: bytes) -> None:
  """Writes a local file through a temporary one beside it, then renames.

  The file gets the usual permissions (0666 less the umask), not mkstemp's
  private 0600, and is flushed to disk before the rename.

  Args:
    path: Destination file; its folder must exist.
    data: The file's new content.
  """
  directory, name = os.path.split(os.path.abspath(path))
  handle, temporary = tempfile.mkstemp(dir=directory, prefix=f'.{name}.tmp-')
  umask = os.umask(0)
  os.umask(umask)
  try:
    os.fchmod(handle, 0o666 & ~umask)
    with os.fdopen(handle, 'wb') as output_file:
      output_file.write(data)
      output_file.flush()
      os.fsync(output_file.fileno())
    os.replace(temporary, path)
  finally:
    if os.path.exists(temporary):
      os.remove(temporary)


def write_text_atomically(path: str, text: str) -> None:
  """Writes a UTF-8 text file atomically (see write_bytes_atomically)."""
  write_bytes_atomically(path, text.encode('utf-8'))


def audio_format(path: str) -> str:
  """The soundfile format of an audio path, from its extension.

  Args:
    path: A file name such as out.wav or out.flac.

  Returns:
    The soundfile format name, e.g. 'WAV'.

  Raises:
    ValueError: For an extension soundfile cannot write.
  """
  extension = os.path.splitext(path)[1].lstrip('.').upper()
  formats = sf.available_formats()
  if extension not in formats:
    raise ValueError(f'Cannot write {path}: unknown audio extension '
                     f'{extension.lower()!r}; use one of '
                     f'{sorted(f.lower() for f in formats)}.')
  return extension


def write_audio_atomically(path: str, audio: Any, sample_rate: int) -> None:
  """Writes audio atomically; WAV files hold 32-bit floats.

  Args:
    path: Destination; its extension chooses the format (other formats use
      soundfile's default subtype).
    audio: [n_samples] or [n_samples, channels] float audio.
    sample_rate: Samples per second.

  Raises:
    ValueError: For an extension soundfile cannot write.
  """
  file_format = audio_format(path)
  buffer = io.BytesIO()
  sf.write(buffer, np.asarray(audio, np.float32), sample_rate,
           format=file_format,
           subtype='FLOAT' if file_format == 'WAV' else None)
  write_bytes_atomically(path, buffer.getvalue())


def write_npz_atomically(path: str, arrays: Mapping[str, Any]) -> None:
  """Saves named arrays as an uncompressed .npz file, atomically."""
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  write_bytes_atomically(path, buffer.getvalue())


def replace_directory(new_dir: str, target_dir: str) -> None:
  """Renames a finished directory to target_dir, replacing an existing one.

  The old directory is first renamed aside, so target_dir always names a
  complete directory, old or new.

  Args:
    new_dir: The finished directory, on the same file system as target_dir.
    target_dir: Where it belongs.
  """
  if not os.path.exists(target_dir):
    os.rename(new_dir, target_dir)
    return
  old_dir = tempfile.mkdtemp(prefix=os.path.basename(target_dir) + '.old-',
                             dir=os.path.dirname(target_dir))
  os.rename(target_dir, os.path.join(old_dir, 'old'))
  os.rename(new_dir, target_dir)
  shutil.rmtree(old_dir, ignore_errors=True)


def read_audio(path: str, what: str = 'input',
               max_secs: Optional[float] = None) -> Tuple[np.ndarray, int]:
  """Reads (the start of) an audio file as float32 [n_samples, channels].

  Args:
    path: The file, in any format soundfile reads (wav, flac, ogg, mp3, ...).
    what: What the file is, for messages (e.g. 'input', 'transfer').
    max_secs: Read at most this many seconds; None reads it all.

  Returns:
    (audio [n_samples, channels], sample_rate).

  Raises:
    AudioFileError: If the file is missing, unreadable, or holds no samples.
  """
  if not os.path.isfile(path):
    raise AudioFileError(f'The {what} file {path} does not exist.')
  try:
    with sf.SoundFile(path) as sound_file:
      frames = (-1 if max_secs is None else
                int(max_secs * sound_file.samplerate))
      audio = sound_file.read(frames, dtype='float32', always_2d=True)
      sample_rate = sound_file.samplerate
  except (sf.LibsndfileError, RuntimeError, TypeError) as error:
    raise AudioFileError(
        f'Cannot read the {what} file {path} as audio: {error}') from None
  if audio.shape[0] == 0:
    raise AudioFileError(f'The {what} file {path} holds no audio samples.')
  return audio, sample_rate
