"""TFRecord shards written to a temporary folder and renamed at the end.

Each shard is written whole under the run's temporary folder
(run_state.RunFolders.temp) and renamed to `<prefix>-SSSSS-of-NNNNN` only when
every shard of the run is there, so a killed job never leaves a partial file
under a final shard name.

Unlike beam.io.WriteToTFRecord, the writers here take no side inputs, so the
whole pipeline is one graph on every runner. That matters on the DaskRunner,
which computes each side input as a separate job and would compute (and
write) everything upstream of it again.

Two layouts:
  num_shards = 0: one shard per bundle and split (WriteBundlesFn), as Beam
    writes them; how many depends on the runner.
  num_shards = N: examples go to shard hash(example) % N of their split
    (shard_key, GroupByKey, WriteGroupFn); a shard no example hashes to is
    written empty, so each split has exactly N files.
"""

import hashlib
import os
import uuid
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.io import tfrecordio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms import window
from apache_beam.utils import windowed_value

from ddsp_tf import files

# ('shard', (split, shard index or None, temporary path)).
ShardRecord = Tuple[str, Tuple[str, Optional[int], str]]


def _temporary_path(temp_dir: str, split: str) -> str:
  return f'{temp_dir}/{split}-{uuid.uuid4().hex}'


class _RecordWriter:
  """A TFRecord file on any of Beam's file systems (local, gs://, s3://,
  hdfs://, ...), framed as Beam's and TensorFlow's writers frame records
  (length, masked CRC32C, data, masked CRC32C), without TensorFlow."""

  def __init__(self, path: str):
    self._file = FileSystems.create(
        path, compression_type=CompressionTypes.UNCOMPRESSED)

  def write(self, record: bytes) -> None:
    tfrecordio._TFRecordUtil.write_record(self._file, record)  # pylint: disable=protected-access

  def close(self) -> None:
    self._file.close()


class WriteBundlesFn(beam.DoFn):
  """(split, serialized example) -> one temporary shard per bundle and split.

  Emits ('shard', (split, None, path)) for each file when the bundle ends.
  """

  def __init__(self, temp_dir: str):
    """Args: temp_dir: The run's temporary folder."""
    super().__init__()
    self._temp_dir = temp_dir
    self._writers = {}

  def start_bundle(self) -> None:
    self._writers = {}

  def process(self, element: Tuple[str, bytes]) -> None:
    split, record = element
    if split not in self._writers:
      path = _temporary_path(self._temp_dir, split)
      self._writers[split] = (_RecordWriter(path), path)
    self._writers[split][0].write(record)

  def finish_bundle(self) -> Iterator[windowed_value.WindowedValue]:
    for split, (writer, path) in sorted(self._writers.items()):
      writer.close()
      yield windowed_value.WindowedValue(
          ('shard', (split, None, path)),
          window.GlobalWindow().max_timestamp(), [window.GlobalWindow()])
    self._writers = {}


def shard_key(element: Tuple[str, bytes], num_shards: int
              ) -> Tuple[Tuple[str, int], bytes]:
  """(split, example) -> ((split, shard index), example), stable over runs."""
  split, record = element
  digest = hashlib.md5(record).digest()
  return (split, int.from_bytes(digest[:8], 'little') % num_shards), record


class WriteGroupFn(beam.DoFn):
  """((split, index), examples) -> one temporary shard; emits a ShardRecord."""

  def __init__(self, temp_dir: str):
    """Args: temp_dir: The run's temporary folder."""
    super().__init__()
    self._temp_dir = temp_dir

  def process(self, element: Tuple[Tuple[str, int], Iterable[bytes]]
              ) -> Iterator[ShardRecord]:
    (split, index), records = element
    path = _temporary_path(self._temp_dir, f'{split}-{index:05d}')
    writer = _RecordWriter(path)
    for record in records:
      writer.write(record)
    writer.close()
    yield 'shard', (split, index, path)


def _exists(path: str) -> bool:
  return FileSystems.exists(path) if '://' in path else os.path.exists(path)


def _move(source: str, destination: str) -> None:
  if '://' in destination:
    if FileSystems.exists(destination):
      FileSystems.delete([destination])
    FileSystems.rename([source], [destination])
  else:
    os.replace(source, destination)


def _write_empty(path: str) -> None:
  if '://' in path:
    FileSystems.create(path).close()
  else:
    files.write_bytes_atomically(path, b'')


def commit(shards: Sequence[Tuple[str, Optional[int], str]],
           prefixes: Dict[str, str], num_shards: int) -> List[str]:
  """Renames the temporary shards to their final names.

  Args:
    shards: (split, index or None, temporary path) of every shard written.
    prefixes: {split: output prefix}.
    num_shards: Shards per split; 0 for one per temporary file.

  Returns:
    The final paths, sorted. A split without examples gets one empty shard
    (num_shards of them with num_shards > 0), as Beam's writer does.
  """
  written = []
  for split, prefix in prefixes.items():
    mine = [(index, path) for name, index, path in shards if name == split]
    if num_shards:
      by_index = dict(mine)
      count = num_shards
    else:
      by_index = dict(enumerate(sorted(path for _, path in mine)))
      count = max(1, len(by_index))
    for index in range(count):
      final = f'{prefix}-{index:05d}-of-{count:05d}'
      source = by_index.get(index)
      if source is None:
        _write_empty(final)
      elif _exists(source):
        _move(source, final)
      elif not _exists(final):
        raise FileNotFoundError(
            f'The temporary shard {source} of {final} is missing; run the '
            'job again.')
      # else: a retried finalization already moved it.
      written.append(final)
  return sorted(written)
