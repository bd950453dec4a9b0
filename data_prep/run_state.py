"""The folders of a prepare_tfrecord run, and its cache of finished chunks.

A run with output prefix <dir>/<name> uses

  <dir>/.ddsp_tf_prepare_cache/<name>/chunks/<key>.npz
      the features of each finished chunk (float32 arrays, uncompressed),
      written to a temporary name and renamed, so a killed run leaves only
      whole entries. <key> hashes the input path, its size and modification
      time, the chunk's place in the file and every setting that changes
      features (the ExampleSpec and the cache format version), so an edited
      file or a changed setting is never served from the cache.
  <dir>/.ddsp_tf_prepare_cache/<name>/progress-<run id>/
      the progress markers of the run (data_prep.progress).
  <dir>/beam-temp-<name>-<run id>/
      the shard files of the run until they are renamed to their final
      names.

A run that ends (with success or an error) removes its progress and
temporary folders; a successful run also removes its cache, so the cache
costs disk space only while a run is unfinished (about as much as the
shards). A run that starts removes what killed runs on the same prefix left
behind (progress-* and beam-temp-<name>-* folders) and reuses their cache
entries. Two runs must not write the same prefix at the same time.
`resume=False` (`--noresume`) neither reads nor writes the cache.
"""

import dataclasses
import glob
import hashlib
import io
import json
import logging
import os
import shutil
import uuid
from typing import Any, Dict, Optional

import numpy as np
from apache_beam.io.filesystems import FileSystems

from ddsp_tf import files
from ddsp_tf import version

_LOGGER = logging.getLogger(__name__)
CACHE_FOLDER = '.ddsp_tf_prepare_cache'
CACHE_FORMAT_VERSION = 1
TEMP_FOLDER_PREFIX = 'beam-temp-'


def _is_remote(path: str) -> bool:
  return '://' in path


def _join(directory: str, name: str) -> str:
  return FileSystems.join(directory, name) if _is_remote(directory) else (
      os.path.join(directory, name))


def _split(path: str):
  if _is_remote(path):
    return path.rsplit('/', 1)
  return os.path.split(path)


@dataclasses.dataclass(frozen=True)
class RunFolders:
  """Where one run keeps its cache, progress markers and temporary shards.

  Attributes:
    root: <dir>/.ddsp_tf_prepare_cache/<name> (or the cache_dir given).
    cache: The chunk cache folder; None when resuming is off.
    progress: This run's progress folder.
    temp: This run's temporary shard folder.
    temp_pattern: Glob of the temporary folders of any run on this prefix.
  """
  root: str
  cache: Optional[str]
  progress: str
  temp: str
  temp_pattern: str


def run_folders(output_prefix: str, cache_dir: Optional[str] = None,
                resume: bool = True) -> RunFolders:
  """The folders of a new run.

  Args:
    output_prefix: The run's output prefix without -train/-eval, e.g.
      '/data/tfrecord/train.tfrecord'.
    cache_dir: Where the cache and progress folders go (default:
      <dir>/.ddsp_tf_prepare_cache/<name>).
    resume: Whether to use the chunk cache.

  Returns:
    The RunFolders.
  """
  directory, name = _split(output_prefix)
  root = cache_dir or _join(_join(directory, CACHE_FOLDER), name)
  run_id = uuid.uuid4().hex[:12]
  return RunFolders(
      root=root, cache=_join(root, 'chunks') if resume else None,
      progress=_join(root, f'progress-{run_id}'),
      temp=_join(directory, f'{TEMP_FOLDER_PREFIX}{name}-{run_id}'),
      temp_pattern=_join(directory, f'{TEMP_FOLDER_PREFIX}{name}-*'))


def _remove_tree(path: str) -> None:
  if _is_remote(path):
    matches = FileSystems.match([path.rstrip('/') + '/**'])[0].metadata_list
    if matches:
      FileSystems.delete([metadata.path for metadata in matches])
  else:
    shutil.rmtree(path, ignore_errors=True)


def _matching_folders(pattern: str):
  if _is_remote(pattern):
    found = FileSystems.match([pattern + '/*'])[0].metadata_list
    return sorted({metadata.path.rsplit('/', 1)[0] for metadata in found})
  return sorted(path for path in glob.glob(pattern) if os.path.isdir(path))


def start_run(folders: RunFolders) -> None:
  """Removes what killed runs left and creates this run's folders.

  Args:
    folders: From run_folders.
  """
  stale = (_matching_folders(folders.temp_pattern) +
           _matching_folders(_join(folders.root, 'progress-*')))
  if stale:
    _LOGGER.info('Removing %d folder(s) left by an interrupted run: %s',
                 len(stale), stale)
  for path in stale:
    _remove_tree(path)
  for path in (folders.cache, folders.progress, folders.temp):
    if path and not _is_remote(path):
      os.makedirs(path, exist_ok=True)
  if folders.cache and not _is_remote(folders.cache):
    # Temporary files of writes that a kill interrupted.
    for path in glob.glob(os.path.join(folders.cache, '.*.tmp-*')):
      os.remove(path)


def end_run(folders: RunFolders, success: bool) -> None:
  """Removes the run's progress and temporary folders, and on success its
  cache (and the cache's parent folder once empty).

  Args:
    folders: From run_folders.
    success: Whether the run completed.
  """
  _remove_tree(folders.progress)
  _remove_tree(folders.temp)
  if success:
    _remove_tree(folders.root)
    parent = _split(folders.root)[0]
    if (not _is_remote(parent) and os.path.basename(parent) == CACHE_FOLDER
        and os.path.isdir(parent) and not os.listdir(parent)):
      os.rmdir(parent)


def settings_key(settings: Dict[str, Any]) -> str:
  """A hash of the settings that change a chunk's features.

  Args:
    settings: JSON-able settings, e.g. dataclasses.asdict(spec).

  Returns:
    A hex digest that also covers the cache format and ddsp_tf version.
  """
  text = json.dumps({'settings': settings, 'format': CACHE_FORMAT_VERSION,
                     'ddsp_tf': version.__version__}, sort_keys=True,
                    default=str)
  return hashlib.sha256(text.encode('utf-8')).hexdigest()


def _file_stamp(path: str) -> Optional[str]:
  """'size:mtime' of an input file, or None if it cannot be read."""
  try:
    if _is_remote(path):
      metadata = FileSystems.match([path])[0].metadata_list[0]
      return f'{metadata.size_in_bytes}:{metadata.last_updated_in_seconds}'
    status = os.stat(path)
    return f'{status.st_size}:{status.st_mtime_ns}'
  except (OSError, IndexError, ValueError):
    return None
  except Exception:  # pylint: disable=broad-except
    # Remote file systems raise their own errors (BeamIOError, ...).
    return None


def entry_path(cache_dir: Optional[str], input_path: str, chunk_index: int,
               chunk_first: int, chunk_count: int, key: str
               ) -> Optional[str]:
  """The cache file of one chunk.

  Args:
    cache_dir: RunFolders.cache; None turns the cache off.
    input_path: The chunk's file.
    chunk_index: Its index in the file.
    chunk_first: Its first window.
    chunk_count: Its number of windows.
    key: From settings_key.

  Returns:
    The path, or None (no cache, or the file cannot be stat'ed).
  """
  if not cache_dir:
    return None
  stamp = _file_stamp(input_path)
  if stamp is None:
    return None
  digest = hashlib.sha256('\0'.join(
      (key, input_path, stamp, str(chunk_index), str(chunk_first),
       str(chunk_count))).encode('utf-8')).hexdigest()[:40]
  return _join(cache_dir, f'{digest}.npz')


def load(path: Optional[str]) -> Optional[Dict[str, np.ndarray]]:
  """A cached chunk's features, or None if there is none (or it is unreadable).

  Args:
    path: From entry_path.

  Returns:
    {name: float32 array} as examples.chunk_features returned it.
  """
  if not path:
    return None
  try:
    if _is_remote(path):
      if not FileSystems.exists(path):
        return None
      with FileSystems.open(path) as entry:
        data = entry.read()
    else:
      with open(path, 'rb') as entry:
        data = entry.read()
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
      return {name: arrays[name] for name in arrays.files}
  except FileNotFoundError:
    return None
  except Exception:  # pylint: disable=broad-except
    _LOGGER.warning('Ignoring an unreadable cache entry %s.', path,
                    exc_info=True)
    return None


def save(path: Optional[str], features: Dict[str, np.ndarray]) -> None:
  """Stores a chunk's features (atomically: temporary name, then rename).

  Args:
    path: From entry_path; None does nothing.
    features: {name: array} from examples.chunk_features.
  """
  if not path:
    return
  buffer = io.BytesIO()
  np.savez(buffer, **features)
  if _is_remote(path):
    with FileSystems.create(path) as entry:
      entry.write(buffer.getvalue())
  else:
    files.write_bytes_atomically(path, buffer.getvalue())
