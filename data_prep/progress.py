"""Progress of a prepare_tfrecord run, seen from the process that started it.

Workers leave one empty marker file per probed file and per finished chunk
in a progress folder of the run; the driver lists that folder every
`interval_secs` and logs one line:

  prepare_tfrecord: 2/5 files, 41.0 of 98.5 audio-s (42%), 3.10 audio-s/s,
  ETA 19 s; 1 file(s) reused

This works the same on every runner (the DirectRunner in-process or in
several processes, Dask, Dataflow with a gs:// output): it needs only that
the workers can write where the driver can list, which is true of any
output folder, and it does not depend on worker logs or runner metrics
reaching the console (the DaskRunner has no metrics at all).

A marker's name holds everything the driver needs:
  p-<file id>-<chunks>-<audio ms>            a probed file and its plan
  c-<file id>-<chunk>-<audio ms>-<how>       a finished chunk; how is 'c'
                                             (computed), 'r' (reused from
                                             the cache) or 'x' (rejected)
Writing a marker twice (a retried bundle) changes nothing.
"""

import dataclasses
import hashlib
import logging
import os
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

from apache_beam.io.filesystems import FileSystems

_LOGGER = logging.getLogger(__name__)
COMPUTED, REUSED, REJECTED = 'c', 'r', 'x'


def file_id(path: str) -> str:
  """A short stable id of an input path (no '-' in it)."""
  return hashlib.sha1(path.encode('utf-8')).hexdigest()[:16]


def _touch(path: str) -> None:
  if '://' in path:
    FileSystems.create(path).close()
  else:
    with open(path, 'wb'):
      pass


def _ms(seconds: float) -> int:
  return int(round(1000 * seconds))


def mark_probed(progress_dir: Optional[str], path: str, n_chunks: int,
                audio_secs: float) -> None:
  """Records that a file was probed (n_chunks = 0 for a rejected file).

  Args:
    progress_dir: The run's progress folder; None does nothing.
    path: The input file.
    n_chunks: Its number of chunks.
    audio_secs: The seconds of audio its chunks own.
  """
  if progress_dir:
    _touch(f'{progress_dir}/p-{file_id(path)}-{n_chunks}-{_ms(audio_secs)}')


def mark_chunk(progress_dir: Optional[str], path: str, index: int,
               audio_secs: float, how: str) -> None:
  """Records a finished chunk.

  Args:
    progress_dir: The run's progress folder; None does nothing.
    path: The input file.
    index: The chunk's index in the file.
    audio_secs: The seconds of audio the chunk owns.
    how: COMPUTED, REUSED or REJECTED.
  """
  if progress_dir:
    _touch(f'{progress_dir}/c-{file_id(path)}-{index}-{_ms(audio_secs)}-'
           f'{how}')


def _list_names(directory: str) -> List[str]:
  if '://' in directory:
    match = FileSystems.match([directory + '/*'])[0]
    return [metadata.path.rsplit('/', 1)[-1]
            for metadata in match.metadata_list]
  try:
    return os.listdir(directory)
  except FileNotFoundError:
    return []


@dataclasses.dataclass(frozen=True)
class Snapshot:
  """What the markers say.

  Attributes:
    files_total: Input files of the run.
    files_probed: Files probed so far.
    files_done: Files whose chunks are all finished (rejected files too).
    files_reused: Files whose chunks all came from the cache.
    chunks_done: Finished chunks.
    secs_total: Audio seconds of the probed files.
    secs_done: Audio seconds of the finished chunks.
    secs_computed: Of those, the ones computed by this run (not reused).
  """
  files_total: int
  files_probed: int = 0
  files_done: int = 0
  files_reused: int = 0
  chunks_done: int = 0
  secs_total: float = 0.0
  secs_done: float = 0.0
  secs_computed: float = 0.0


def read_snapshot(progress_dir: str, files_total: int) -> Snapshot:
  """Counts the markers in a progress folder.

  Args:
    progress_dir: The run's progress folder.
    files_total: The run's number of input files.

  Returns:
    The Snapshot.
  """
  plans: Dict[str, Tuple[int, int]] = {}
  chunks: Dict[str, Dict[int, Tuple[int, str]]] = {}
  for name in _list_names(progress_dir):
    parts = name.split('-')
    try:
      if parts[0] == 'p' and len(parts) == 4:
        plans[parts[1]] = (int(parts[2]), int(parts[3]))
      elif parts[0] == 'c' and len(parts) == 5:
        chunks.setdefault(parts[1], {})[int(parts[2])] = (int(parts[3]),
                                                          parts[4])
    except ValueError:
      continue  # Not a marker (say, a temporary file of a remote store).
  done = reused = 0
  for fid, (n_chunks, _) in plans.items():
    finished = chunks.get(fid, {})
    if len(finished) >= n_chunks:
      done += 1
      if n_chunks and all(how == REUSED for _, how in finished.values()):
        reused += 1
  all_chunks = [value for finished in chunks.values()
                for value in finished.values()]
  return Snapshot(
      files_total=files_total, files_probed=len(plans), files_done=done,
      files_reused=reused, chunks_done=len(all_chunks),
      secs_total=sum(ms for _, ms in plans.values()) / 1000.0,
      secs_done=sum(ms for ms, _ in all_chunks) / 1000.0,
      secs_computed=sum(ms for ms, how in all_chunks
                        if how == COMPUTED) / 1000.0)


def describe(snapshot: Snapshot, elapsed_secs: float) -> str:
  """One progress line: files, audio-seconds, rate and ETA.

  The rate counts only audio computed by this run, so reused chunks do not
  make the ETA optimistic.

  Args:
    snapshot: From read_snapshot.
    elapsed_secs: Seconds since the run started.

  Returns:
    The line.
  """
  s = snapshot
  total = f'{s.secs_total:.1f} audio-s'
  if s.files_probed < s.files_total:
    total = (f'>= {total} ({s.files_probed}/{s.files_total} files '
             'probed)')
  elif s.secs_total:
    total += f' ({100.0 * s.secs_done / s.secs_total:.0f}%)'

  rate = s.secs_computed / max(elapsed_secs, 1e-9)
  if rate > 0 and s.files_probed == s.files_total:
    eta = f'ETA {max(s.secs_total - s.secs_done, 0.0) / rate:.0f} s'
  else:
    eta = 'ETA unknown'
  reused = f'; {s.files_reused} file(s) reused' if s.files_reused else ''
  return (f'prepare_tfrecord: {s.files_done}/{s.files_total} files, '
          f'{s.secs_done:.1f} of {total}, {rate:.2f} '
          f'audio-s/s, {eta}{reused}')


class Reporter:
  """Logs the run's progress every `interval_secs` from a daemon thread.

  Use as a context manager around the pipeline's run; the last line is
  logged on exit.
  """

  def __init__(self, progress_dir: str, files_total: int,
               interval_secs: float,
               log: Optional[Callable[[str], None]] = None):
    """Creates the reporter.

    Args:
      progress_dir: The run's progress folder.
      files_total: The run's number of input files.
      interval_secs: Seconds between lines (> 0).
      log: Where lines go (default: this module's logger at INFO).
    """
    if not isinstance(interval_secs, (int, float)) or not interval_secs > 0:
      raise ValueError('progress_secs must be a number > 0, got '
                       f'progress_secs={interval_secs!r}.')
    self._dir = progress_dir
    self._files_total = files_total
    self._interval = interval_secs
    self._log = log or (lambda line: _LOGGER.info('%s', line))
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._loop, daemon=True,
                                    name='prepare_tfrecord-progress')
    self._start = time.monotonic()
    self.last: Optional[Snapshot] = None

  def report(self) -> Snapshot:
    """Reads the markers and logs one line.

    Returns:
      The Snapshot.
    """
    snapshot = read_snapshot(self._dir, self._files_total)
    self.last = snapshot
    self._log(describe(snapshot, time.monotonic() - self._start))
    return snapshot

  def _loop(self) -> None:
    while not self._stop.wait(self._interval):
      try:
        self.report()
      except Exception:  # pylint: disable=broad-except
        # A listing that fails (say, a flaky remote store) costs one line.
        _LOGGER.debug('Progress listing failed.', exc_info=True)

  def __enter__(self) -> 'Reporter':
    self._start = time.monotonic()
    self._thread.start()
    return self

  def __exit__(self, exc_type, unused_exc, unused_traceback) -> None:
    self._stop.set()
    self._thread.join()
    if exc_type is None:
      self.report()
