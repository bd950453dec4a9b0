"""prepare_tfrecord at scale: the DaskRunner, progress, resume after a kill,
remote storage.

The audio is made here: harmonic tones whose pitches are known, so each
example is identified by its content. Runs use CREPE tiny at 50 frames/s to
stay cheap.
"""

import dataclasses
import glob
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time

from apache_beam.io import filesystem
from apache_beam.io import localfilesystem
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from data_prep import cli
from data_prep import examples
from data_prep import flags
from data_prep import pipeline
from data_prep import progress
from data_prep import run_state
from data_prep import runners
from data_prep import shards

SR16 = 16000
# Six 3 s files, one chunk each (chunk_secs=0), five 1 s windows per file.
PITCHES_HZ = (196.3, 220.7, 261.9, 330.1, 392.4, 440.6)
FILE_SECS = 3.0
ARGS = dict(model_capacity='tiny', frame_rate=50, viterbi=False,
            example_secs=1.0, hop_secs=0.5, chunk_secs=0.0,
            eval_split_fraction=0.25)
CLI_ARGS = ['--model_capacity=tiny', '--frame_rate=50', '--noviterbi',
            '--example_secs=1', '--hop_secs=0.5', '--chunk_secs=0',
            '--eval_split_fraction=0.25']
WINDOWS_PER_FILE = 5


def tone(hz, seconds=FILE_SECS):
  t = np.arange(int(seconds * SR16)) / SR16
  return 0.3 * np.sin(2 * np.pi * hz * t) + 0.1 * np.sin(4 * np.pi * hz * t)


def read_records(prefix):
  """{split: sorted serialized examples} of a run's shards."""
  records = {}
  for split in ('train', 'eval'):
    paths = sorted(glob.glob(f'{prefix}-{split}-*-of-*'))
    records[split] = sorted(record.numpy() for path in paths
                            for record in tf.data.TFRecordDataset(path))
  return records


def parse(record):
  example = tf.train.Example.FromString(record)
  return {key: np.array(feature.float_list.value, np.float32)
          for key, feature in example.features.feature.items()}


@pytest.fixture(scope='module')
def audio_dir(tmp_path_factory):
  directory = tmp_path_factory.mktemp('scale_audio')
  for index, hz in enumerate(PITCHES_HZ):
    sf.write(str(directory / f'tone{index}.wav'), tone(hz), SR16,
             subtype='FLOAT')
  return str(directory)


@pytest.fixture(scope='module')
def reference(audio_dir, tmp_path_factory):
  """An uninterrupted in-process DirectRunner run, with its progress lines."""
  output = str(tmp_path_factory.mktemp('reference') / 'data.tfrecord')
  lines = []
  handler = logging.Handler()
  handler.emit = lambda record: lines.append(record.getMessage())
  logger = logging.getLogger('data_prep.progress')
  logger.addHandler(handler)
  old_level = logger.level
  logger.setLevel(logging.INFO)
  try:
    stats = pipeline.prepare_tfrecord([audio_dir], output, progress_secs=0.2,
                                      **ARGS)
  finally:
    logger.removeHandler(handler)
    logger.setLevel(old_level)
  return output, stats, read_records(output), lines


# ----------------------------------------------------------------------------
# The DirectRunner run: content, progress, clean-up.
# ----------------------------------------------------------------------------
def test_reference_examples_are_the_files_windows(reference):
  _, stats, records, _ = reference
  everything = records['train'] + records['eval']
  assert len(everything) == len(set(everything)) == (
      len(PITCHES_HZ) * WINDOWS_PER_FILE)
  assert records['train'] and records['eval']
  # Each example's audio is one second of one tone, at a whole-window start.
  sources = {hz: tone(hz).astype(np.float32) for hz in PITCHES_HZ}
  found = set()
  for record in everything:
    audio = parse(record)['audio']
    matches = [(hz, start) for hz, source in sources.items()
               for start in range(WINDOWS_PER_FILE)
               if np.allclose(audio, source[start * 8000:start * 8000 + SR16],
                              atol=1e-6)]
    assert len(matches) == 1
    found.add(matches[0])
  assert len(found) == len(everything)
  assert stats['files_reused'] == stats['chunks_reused'] == 0
  assert stats['examples'] == {'train': len(records['train']),
                               'eval': len(records['eval'])}


def test_progress_lines_count_files_and_seconds(reference):
  _, _, _, lines = reference
  assert lines, 'no progress line was logged'
  total = len(PITCHES_HZ) * FILE_SECS
  assert lines[-1].startswith(
      f'prepare_tfrecord: {len(PITCHES_HZ)}/{len(PITCHES_HZ)} files, '
      f'{total:.1f} of {total:.1f} audio-s (100%)'), lines[-1]
  assert all('audio-s/s' in line and 'ETA' in line for line in lines)


def test_successful_run_leaves_no_cache_or_temporary_folder(reference):
  output, _, _, _ = reference
  directory = os.path.dirname(output)
  assert sorted(os.listdir(directory)) == sorted(
      [os.path.basename(path) for path in glob.glob(output + '-*')] +
      ['rejects.tsv', 'stats.json'])


# ----------------------------------------------------------------------------
# Progress markers, shard commits and cache keys (no pipeline).
# ----------------------------------------------------------------------------
def test_snapshot_counts_markers(tmp_path):
  directory = str(tmp_path)
  progress.mark_probed(directory, '/a.wav', 2, 10.0)
  progress.mark_probed(directory, '/b.wav', 1, 4.0)
  progress.mark_probed(directory, '/bad.wav', 0, 0.0)
  progress.mark_chunk(directory, '/a.wav', 0, 6.0, progress.REUSED)
  progress.mark_chunk(directory, '/a.wav', 0, 6.0, progress.REUSED)  # Retry.
  progress.mark_chunk(directory, '/a.wav', 1, 4.0, progress.REUSED)
  progress.mark_chunk(directory, '/b.wav', 0, 1.5, progress.COMPUTED)
  snapshot = progress.read_snapshot(directory, files_total=4)
  assert snapshot == progress.Snapshot(
      files_total=4, files_probed=3, files_done=3, files_reused=1,
      chunks_done=3, secs_total=14.0, secs_done=11.5, secs_computed=1.5)
  line = progress.describe(snapshot, elapsed_secs=3.0)
  assert '3/4 files' in line and '>= 14.0 audio-s (3/4 files probed)' in line
  assert '0.50 audio-s/s' in line and 'ETA unknown' in line
  done = progress.describe(
      progress.Snapshot(files_total=2, files_probed=2, files_done=1,
                        chunks_done=1, secs_total=10.0, secs_done=4.0,
                        secs_computed=4.0), elapsed_secs=2.0)
  assert '4.0 of 10.0 audio-s (40%), 2.00 audio-s/s, ETA 3 s' in done


def test_commit_names_shards_and_fills_empty_ones(tmp_path):
  temp = tmp_path / 'tmp'
  temp.mkdir()
  for name in ('a', 'b'):
    with tf.io.TFRecordWriter(str(temp / name)) as writer:
      writer.write(name.encode())
  prefixes = {'train': str(tmp_path / 'x-train'),
              'eval': str(tmp_path / 'x-eval')}
  written = shards.commit([('train', 2, str(temp / 'a')),
                           ('eval', 0, str(temp / 'b'))], prefixes, 3)
  assert [os.path.basename(path) for path in written] == [
      f'x-{split}-0000{i}-of-00003' for split in ('eval', 'train')
      for i in range(3)]
  assert not os.listdir(temp)
  assert [r.numpy() for r in tf.data.TFRecordDataset(
      prefixes['train'] + '-00002-of-00003')] == [b'a']
  assert os.path.getsize(prefixes['train'] + '-00000-of-00003') == 0


def test_cache_entry_changes_with_file_and_settings(tmp_path):
  path = str(tmp_path / 'a.wav')
  sf.write(path, tone(220.0, 1.0), SR16)
  spec = examples.ExampleSpec(model_capacity='tiny')
  key = run_state.settings_key(dataclasses.asdict(spec))
  entry = run_state.entry_path(str(tmp_path), path, 0, 0, 1, key)
  assert entry == run_state.entry_path(str(tmp_path), path, 0, 0, 1, key)
  other_spec = run_state.settings_key(
      dataclasses.asdict(
          examples.ExampleSpec(model_capacity='tiny', frame_rate=50)))
  assert entry != run_state.entry_path(str(tmp_path), path, 0, 0, 1,
                                       other_spec)
  assert entry != run_state.entry_path(str(tmp_path), path, 1, 1, 1, key)
  features = {'audio': np.arange(5, dtype=np.float32)}
  run_state.save(entry, features)
  np.testing.assert_array_equal(run_state.load(entry)['audio'],
                                features['audio'])
  sf.write(path, tone(220.0, 1.5), SR16)  # Edited: another size and mtime.
  assert run_state.entry_path(str(tmp_path), path, 0, 0, 1, key) != entry
  assert run_state.entry_path(None, path, 0, 0, 1, key) is None
  folders = run_state.run_folders('/data/out/train.tfrecord', resume=False)
  assert folders.cache is None
  assert folders.root == '/data/out/.ddsp_tf_prepare_cache/train.tfrecord'
  assert folders.temp.startswith('/data/out/beam-temp-train.tfrecord-')


# ----------------------------------------------------------------------------
# Runners and the console.
# ----------------------------------------------------------------------------
def test_only_the_known_harmless_lines_are_dropped():
  keep = flags.HarmlessFilter().filter

  def record(name, message, *args):
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message,
                             args, None)

  assert not keep(record('root', 'apitools not found, and bigquery client '
                         'libraries are not available despite ...'))
  assert not keep(record(
      'apache_beam.runners.portability.local_job_service', 'Worker: %s',
      'severity: WARN message: "No semi_persistent_directory found: ..."'))
  assert keep(record('root', 'apitools is broken in another way'))
  assert keep(record('data_prep.pipeline',
                     'apitools not found, and bigquery client libraries are '
                     'not available'))
  assert keep(record(
      'apache_beam.runners.portability.local_job_service', 'Worker: %s',
      'severity: WARN message: "Discarding unparseable args: '
      "[\\'--my_flag\\']\""))


def test_runner_short_names_map_to_full_names():
  assert runners.with_runner_names(['--runner=DaskRunner']) == [
      f'--runner={runners.DASK_RUNNER}']
  assert runners.with_runner_names(['--runner', 'DaskRunner', '--x=1']) == [
      '--runner', runners.DASK_RUNNER, '--x=1']
  assert runners.is_dask(['--runner=daskrunner'])
  assert not runners.is_dask([])
  assert runners.runner_name(['--runner=DataflowRunner']) == 'DataflowRunner'


def free_port():
  with socket.socket() as listener:
    listener.bind(('127.0.0.1', 0))
    return listener.getsockname()[1]


def test_unreachable_dask_scheduler_fails_fast_naming_it(
    audio_dir, tmp_path, capsys):
  address = f'tcp://127.0.0.1:{free_port()}'
  start = time.monotonic()
  status = cli.main([f'--input_audio_filepatterns={audio_dir}',
                     f'--output_tfrecord_path={tmp_path}/out/x.tfrecord',
                     '--runner=DaskRunner', f'--dask_client_address={address}'])
  # The bound for an unreachable scheduler (a refused port fails at
  # once; a silent host after --dask_connection_timeout, default 10 s).
  assert time.monotonic() - start < 30
  error = capsys.readouterr().err
  assert status == 1
  assert address in error and 'Dask scheduler' in error
  assert 'Traceback' not in error
  assert not glob.glob(f'{tmp_path}/out/beam-temp-*')


def test_dask_without_the_extra_names_the_pip_command(
    audio_dir, tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, 'distributed', None)
  with pytest.raises(ImportError, match=r'pip install "ddsp_tf\[dask\]"'):
    pipeline.prepare_tfrecord([audio_dir], str(tmp_path / 'x.tfrecord'),
                              pipeline_options=['--runner=DaskRunner'],
                              **ARGS)


@pytest.mark.slow
def test_dask_runner_writes_the_direct_runners_examples(
    reference, audio_dir, tmp_path, caplog):
  _, reference_stats, reference_records, _ = reference
  output = str(tmp_path / 'dask.tfrecord')
  caplog.set_level(logging.INFO, logger='data_prep')
  stats = pipeline.prepare_tfrecord(
      [audio_dir], output, pipeline_options=['--runner=DaskRunner'],
      dask_workers=2, progress_secs=0.5, **ARGS)
  assert read_records(output) == reference_records
  for key in ('examples', 'files', 'frames', 'mean_pitch_midi',
              'mean_loudness_db', 'rejected_files'):
    assert stats[key] == pytest.approx(reference_stats[key]), key
  messages = [record.getMessage() for record in caplog.records]
  assert any('local Dask cluster of 2 worker process(es)' in message
             for message in messages)
  assert any(message.startswith(f'prepare_tfrecord: {len(PITCHES_HZ)}/')
             for message in messages)
  assert sorted(os.listdir(tmp_path)) == sorted(
      [os.path.basename(path) for path in glob.glob(output + '-*')] +
      ['rejects.tsv', 'stats.json'])


# ----------------------------------------------------------------------------
# Resume after kill -9.
# ----------------------------------------------------------------------------
@pytest.mark.slow
def test_rerun_after_sigkill_reuses_finished_files(
    reference, audio_dir, tmp_path, monkeypatch):
  _, _, reference_records, _ = reference
  output = str(tmp_path / 'out' / 'data.tfrecord')
  log_path = tmp_path / 'killed.log'
  with open(log_path, 'wb') as log:
    process = subprocess.Popen(
        [sys.executable, '-m', 'data_prep.cli',
         f'--input_audio_filepatterns={audio_dir}',
         f'--output_tfrecord_path={output}', '--progress_secs=0.2'] +
        CLI_ARGS, stdout=log, stderr=subprocess.STDOUT)
  cache_root = tmp_path / 'out' / run_state.CACHE_FOLDER / 'data.tfrecord'
  deadline = time.monotonic() + 240
  done_at_kill = 0
  try:
    while time.monotonic() < deadline and process.poll() is None:
      folders = glob.glob(str(cache_root / 'progress-*'))
      if folders:
        done_at_kill = progress.read_snapshot(
            folders[0], len(PITCHES_HZ)).files_done
        if done_at_kill >= 1:
          break
      time.sleep(0.02)
    assert process.poll() is None, 'the job ended before it could be killed'
    assert done_at_kill < len(PITCHES_HZ)
  finally:
    process.send_signal(signal.SIGKILL)
    process.wait()
  # The killed run's temporary shard folder and progress folder remain.
  assert glob.glob(str(tmp_path / 'out' / 'beam-temp-*'))
  assert glob.glob(str(cache_root / 'progress-*'))
  assert not glob.glob(output + '-*') and not os.path.exists(
      tmp_path / 'out' / 'stats.json')
  # Progress reached the console at the default log level.
  assert re.search(rb'INFO data_prep.progress: prepare_tfrecord: \d/6 files, ',
                   log_path.read_bytes())

  computed = []
  original = examples.chunk_features

  def counting_chunk_features(chunk, spec):
    computed.append(chunk.info.key)
    return original(chunk, spec)

  monkeypatch.setattr(examples, 'chunk_features', counting_chunk_features)
  stats = pipeline.prepare_tfrecord([audio_dir], output, **ARGS)
  assert read_records(output) == reference_records
  # Every file is one chunk: each was computed by one run only.
  assert stats['files_reused'] == stats['chunks_reused'] >= done_at_kill >= 1
  assert len(computed) == len(PITCHES_HZ) - stats['chunks_reused']
  assert sorted(os.listdir(tmp_path / 'out')) == sorted(
      [os.path.basename(path) for path in glob.glob(output + '-*')] +
      ['rejects.tsv', 'stats.json'])


# ----------------------------------------------------------------------------
# Remote storage (gs://, s3://, ...): the same run through Beam's FileSystems.
# ----------------------------------------------------------------------------
class FakeRemoteFileSystem(localfilesystem.LocalFileSystem):
  """`fakeremote://<path>` stored under a local folder, `root`.

  A test double for object stores such as gs://: paths are '/'-joined URLs
  that os functions cannot open, and there are no directories (mkdirs does
  nothing; create and rename make the local parents). Beam finds it by its
  scheme, in this process (the in-process DirectRunner).
  """
  root = None
  PREFIX = 'fakeremote://'

  @classmethod
  def scheme(cls):
    return 'fakeremote'

  def _local(self, path):
    assert path.startswith(self.PREFIX), path
    return os.path.join(self.root, path[len(self.PREFIX):])

  def _remote(self, local_path):
    return self.PREFIX + os.path.relpath(local_path, self.root)

  def join(self, basepath, *paths):
    return '/'.join([basepath.rstrip('/')] + [p.strip('/') for p in paths])

  def split(self, path):
    head, _, tail = path.rstrip('/').rpartition('/')
    return head, tail

  def _url_dirname(self, url_or_path):
    return self.split(url_or_path)[0]

  def mkdirs(self, path):
    pass

  def has_dirs(self):
    return False

  def _list(self, dir_or_prefix):
    """Every object whose path starts with dir_or_prefix, as a store lists."""
    for folder, _, names in os.walk(self.root):
      for name in names:
        local_path = os.path.join(folder, name)
        path = self._remote(local_path)
        if path.startswith(dir_or_prefix):
          yield filesystem.FileMetadata(path, os.path.getsize(local_path),
                                        os.path.getmtime(local_path))

  @property
  def _disk(self):
    """The local file system that holds the objects (not this class, so its
    own internal calls see local paths)."""
    return localfilesystem.LocalFileSystem(pipeline_options=None)

  def create(self, path, *args, **kwargs):
    os.makedirs(os.path.dirname(self._local(path)), exist_ok=True)
    return self._disk.create(self._local(path), *args, **kwargs)

  def open(self, path, *args, **kwargs):
    return self._disk.open(self._local(path), *args, **kwargs)

  def copy(self, sources, destinations):
    self._disk.copy([self._local(p) for p in sources],
                    [self._local(p) for p in destinations])

  def rename(self, sources, destinations):
    for path in destinations:
      os.makedirs(os.path.dirname(self._local(path)), exist_ok=True)
    self._disk.rename([self._local(p) for p in sources],
                      [self._local(p) for p in destinations])

  def exists(self, path):
    return self._disk.exists(self._local(path))

  def size(self, path):
    return self._disk.size(self._local(path))

  def last_updated(self, path):
    return self._disk.last_updated(self._local(path))

  def checksum(self, path):
    return self._disk.checksum(self._local(path))

  def metadata(self, path):
    metadata = self._disk.metadata(self._local(path))
    return filesystem.FileMetadata(path, metadata.size_in_bytes,
                                   metadata.last_updated_in_seconds)

  def delete(self, paths):
    self._disk.delete([self._local(p) for p in paths])


@pytest.fixture
def remote_root(tmp_path):
  FakeRemoteFileSystem.root = str(tmp_path / 'bucket')
  os.makedirs(FakeRemoteFileSystem.root)
  yield FakeRemoteFileSystem.root
  FakeRemoteFileSystem.root = None


def test_remote_output_and_cache_give_the_local_runs_examples(
    audio_dir, reference, remote_root, tmp_path):
  """Shards, the resume cache and progress markers on a remote store."""
  output = 'fakeremote://out/data.tfrecord'
  stats = pipeline.prepare_tfrecord(
      [audio_dir], output, progress_secs=0.2,
      stats_path=str(tmp_path / 'stats.json'),
      rejects_path=str(tmp_path / 'rejects.tsv'), **ARGS)
  local_prefix = os.path.join(remote_root, 'out', 'data.tfrecord')
  assert read_records(local_prefix) == reference[2]
  assert stats['examples'] == reference[1]['examples']
  # No object of the cache, progress or beam-temp folders is left: only the
  # shards (a store has no folders; the fake's empty local ones don't count).
  left = sorted(os.path.relpath(os.path.join(folder, name), remote_root)
                for folder, _, names in os.walk(remote_root)
                for name in names)
  assert left == sorted(os.path.relpath(p, remote_root)
                        for p in glob.glob(local_prefix + '-*')), left


def test_cache_entries_round_trip_on_a_remote_store(remote_root):
  path = 'fakeremote://cache/entry-0.npz'
  features = {'f0_hz': np.arange(5, dtype=np.float32),
              'audio': np.ones(7, np.float32)}
  assert run_state.load(path) is None
  run_state.save(path, features)
  loaded = run_state.load(path)
  assert set(loaded) == set(features)
  for key, value in features.items():
    np.testing.assert_array_equal(loaded[key], value)
  progress.mark_probed('fakeremote://progress', '/a.wav', 1, 2.0)
  progress.mark_chunk('fakeremote://progress', '/a.wav', 0, 2.0,
                      progress.COMPUTED)
  snapshot = progress.read_snapshot('fakeremote://progress', files_total=1)
  assert snapshot.files_done == 1 and snapshot.files_probed == 1
