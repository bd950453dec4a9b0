"""Tests for ddsp_tf.training.train_util (strategies, files and the loop).

The training loop runs in-process with the small ToyModel; the TensorBoard
event files it writes are read back with tf.compat.v1.train.summary_iterator.
"""

import glob
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import train_util
from ddsp_tf.training import trainers

import toy_models


def _read_events(directory):
  """{tag: {step: value or None}} of every event file under directory."""
  tags = {}
  for path in glob.glob(os.path.join(directory, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        number = None
        if value.HasField('tensor') and value.tensor.dtype == tf.float32:
          number = float(tf.make_ndarray(value.tensor))
        elif value.HasField('simple_value'):
          number = value.simple_value
        tags.setdefault(value.tag, {})[event.step] = number
  return tags


def _trainer(seed=0, **kwargs):
  keras.utils.set_random_seed(seed)
  strategy = tf.distribute.get_strategy()
  return trainers.Trainer(toy_models.ToyModel(), strategy, **kwargs)


def _provider(**kwargs):
  return toy_models.ArrayProvider(toy_models.toy_examples(**kwargs))


@pytest.fixture(autouse=True)
def _clear_gin():
  yield
  gin.clear_config()


# ----------------------------------------------------------------------------
# Strategies.
# ----------------------------------------------------------------------------
def test_get_strategy_default_and_mirrored():
  assert train_util.get_strategy() is tf.distribute.get_strategy()
  assert train_util.get_strategy(strategy='default') is (
      tf.distribute.get_strategy())
  mirrored = train_util.get_strategy(strategy='mirrored')
  assert isinstance(mirrored, tf.distribute.MirroredStrategy)
  assert mirrored.num_replicas_in_sync >= 1


@pytest.mark.parametrize('kwargs, match', [
    ({'strategy': 'parameter_server'}, "strategy='parameter_server'"),
    ({'strategy': 'multi_worker_mirrored'}, "cluster_config=''"),
    ({'cluster_config': '{not json'}, "cluster_config='{not json'"),
    ({'cluster_config': '{"cluster": {}}'}, 'task'),
    ({'tpu': 'grpc://1.2.3.4:8470', 'strategy': 'mirrored'},
     'tpu=.*needs strategy'),
])
def test_get_strategy_rejects_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    train_util.get_strategy(**kwargs)


_MULTI_WORKER_SCRIPT = textwrap.dedent('''
    import sys
    import keras
    sys.path.insert(0, sys.argv[1])
    import toy_models
    from ddsp_tf.training import train_util
    from ddsp_tf.training import trainers

    strategy = train_util.get_strategy(cluster_config=sys.argv[2])
    keras.utils.set_random_seed(0)
    with strategy.scope():
      trainer = trainers.Trainer(toy_models.ToyModel(), strategy)
    train_util.train(toy_models.ArrayProvider(toy_models.toy_examples()),
                     trainer, batch_size=4, num_steps=4, steps_per_summary=2,
                     steps_per_save=2, save_dir=sys.argv[3], restore_dir='')
    print(type(strategy).__name__, strategy.num_replicas_in_sync,
          int(trainer.step.numpy()))
''')


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_from_a_cluster_config(tmp_path):
  """One worker on localhost: the cluster_config path trains and saves."""
  with socket.socket() as probe:
    probe.bind(('localhost', 0))
    port = probe.getsockname()[1]
  cluster_config = json.dumps({'cluster': {'worker': [f'localhost:{port}']},
                               'task': {'type': 'worker', 'index': 0}})
  result = subprocess.run(
      [sys.executable, '-c', _MULTI_WORKER_SCRIPT, os.path.dirname(__file__),
       cluster_config, str(tmp_path)], capture_output=True, text=True,
      timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  name, replicas, step = result.stdout.split()[-3:]
  assert 'MultiWorkerMirrored' in name or 'CollectiveAllReduce' in name
  assert (int(replicas), int(step)) == (1, 4)
  assert os.path.exists(tmp_path / 'ckpt-4.index')


# ----------------------------------------------------------------------------
# Files.
# ----------------------------------------------------------------------------
def test_expand_path(monkeypatch):
  monkeypatch.setenv('HOME', '/home/someone')
  monkeypatch.setenv('RUNS', 'runs')
  assert train_util.expand_path('~/$RUNS/a') == '/home/someone/runs/a'
  assert train_util.expand_path('gs://bucket/~x') == 'gs://bucket/~x'


def test_get_latest_file_compares_numbers_not_strings(tmp_path):
  for name in ['operative_config-9.gin', 'operative_config-10.gin',
               'operative_config-x.gin', 'other-99.gin']:
    (tmp_path / name).write_text('')
  assert train_util.get_latest_file(str(tmp_path)).endswith(
      'operative_config-10.gin')
  with pytest.raises(FileNotFoundError, match='ckpt-<N>.index'):
    train_util.get_latest_file(str(tmp_path), 'ckpt-', '.index')
  with pytest.raises(FileNotFoundError, match='No directory'):
    train_util.get_latest_file(str(tmp_path / 'missing'))


def test_get_latest_operative_config_looks_in_the_parent(tmp_path):
  (tmp_path / 'operative_config-0.gin').write_text('')
  (tmp_path / 'ckpts').mkdir()
  assert train_util.get_latest_operative_config(
      str(tmp_path / 'ckpts')) == str(tmp_path / 'operative_config-0.gin')


def _save_checkpoints(directory, steps):
  value = tf.Variable(0.0)
  checkpoint = tf.train.Checkpoint(value=value)
  for step in steps:
    value.assign(float(step))
    checkpoint.write(os.path.join(directory, f'ckpt-{step}'))


def test_get_latest_checkpoint_without_state_file_skips_broken_ones(tmp_path):
  _save_checkpoints(str(tmp_path), [5, 40])
  # ckpt-300 was cut off while its index was written: the file is truncated.
  index = (tmp_path / 'ckpt-40.index').read_bytes()
  (tmp_path / 'ckpt-300.index').write_bytes(index[:len(index) // 2])
  latest = train_util.get_latest_checkpoint(str(tmp_path))
  assert latest == str(tmp_path / 'ckpt-40')
  assert train_util.get_latest_checkpoint(latest) == latest
  (tmp_path / 'empty').mkdir()
  with pytest.raises(FileNotFoundError, match='No readable checkpoint'):
    train_util.get_latest_checkpoint(str(tmp_path / 'empty'))
  with pytest.raises(FileNotFoundError, match='neither a directory of checkpoints'):
    train_util.get_latest_checkpoint(str(tmp_path / 'missing'))


def test_get_latest_checkpoint_follows_the_state_file(tmp_path):
  value = tf.Variable(1.0)
  manager = tf.train.CheckpointManager(tf.train.Checkpoint(value=value),
                                       str(tmp_path), max_to_keep=5,
                                       checkpoint_name='ckpt')
  manager.save(checkpoint_number=7)
  manager.save(checkpoint_number=3)  # The state file names the last save.
  assert train_util.get_latest_checkpoint(str(tmp_path)) == str(
      tmp_path / 'ckpt-3')


def test_write_gin_config_writes_file_and_text_summary(tmp_path):
  gin.parse_config('Trainer.learning_rate = 0.5')
  _trainer()  # Calls Trainer, so its bindings become operative.
  writer = tf.summary.create_file_writer(str(tmp_path / 'summaries'))
  path = train_util.write_gin_config(writer, str(tmp_path), 12)
  writer.flush()
  assert path == str(tmp_path / 'operative_config-12.gin')
  text = open(path).read()
  assert 'Trainer.learning_rate = 0.5' in text
  assert not [f for f in os.listdir(tmp_path) if f.endswith('.tmp')]
  assert 'gin/operative_config-12' in _read_events(str(tmp_path / 'summaries'))


def test_write_text_atomically_replaces_whole_files(tmp_path):
  path = str(tmp_path / 'a.txt')
  train_util.write_text_atomically(path, 'old')
  train_util.write_text_atomically(path, 'new content')
  assert open(path).read() == 'new content'
  assert os.listdir(tmp_path) == ['a.txt']


# ----------------------------------------------------------------------------
# The training loop.
# ----------------------------------------------------------------------------
def test_train_writes_checkpoints_summaries_config_and_progress(
    tmp_path, caplog):
  save_dir = str(tmp_path / 'run')
  trainer = _trainer(learning_rate=0.01)
  with caplog.at_level(logging.INFO):
    train_util.train(_provider(), trainer, batch_size=4, num_steps=12,
                     steps_per_summary=5, steps_per_save=5,
                     save_dir=save_dir, restore_dir='')
  files = os.listdir(save_dir)
  assert {'ckpt-5.index', 'ckpt-10.index', 'ckpt-12.index', 'checkpoint',
          'operative_config-0.gin'} <= set(files)

  events = _read_events(os.path.join(save_dir, 'summaries', 'train'))
  for tag in ['losses/total_loss', 'losses/mse_loss', 'learning_rate',
              'steps_per_sec', 'audio_generated', 'audio_original',
              'spectrogram', 'f0_midi/f0_midi']:
    assert set(events[tag]) == {5, 10}, tag
  assert events['learning_rate'][10] == pytest.approx(
      0.01 * 0.98**(10 / 10000), rel=1e-6)
  assert events['steps_per_sec'][10] > 0
  assert events['losses/total_loss'][10] < events['losses/total_loss'][5]

  progress = [r.getMessage() for r in caplog.records
              if 'steps/s' in r.getMessage()]
  assert progress and progress[-1].startswith('step 12/12')
  assert 'ETA' in progress[-1]


def test_train_resumes_from_the_latest_checkpoint(tmp_path):
  """20 steps, then a new process-like start to 40: continuous loss."""
  save_dir = str(tmp_path / 'run')
  kwargs = dict(batch_size=4, steps_per_summary=4, steps_per_save=10,
                save_dir=save_dir, restore_dir='')
  train_util.train(_provider(), _trainer(seed=0, learning_rate=0.01),
                   num_steps=20, **kwargs)
  first_run = _read_events(os.path.join(save_dir, 'summaries', 'train'))

  resumed = _trainer(seed=1, learning_rate=0.01)  # Other initial weights.
  train_util.train(_provider(), resumed, num_steps=40, **kwargs)
  assert int(resumed.step.numpy()) == 40
  assert os.path.exists(os.path.join(save_dir, 'operative_config-20.gin'))
  losses = _read_events(os.path.join(save_dir, 'summaries', 'train'))[
      'losses/total_loss']
  assert set(losses) == {4, 8, 12, 16, 20, 24, 28, 32, 36, 40}
  assert set(first_run['losses/total_loss']) == {4, 8, 12, 16, 20}
  # Continuous: the resumed run starts where the first one ended, far below
  # the initial loss.
  drop = losses[4] - losses[20]
  assert drop > 0
  assert abs(losses[24] - losses[20]) < 0.5 * drop
  assert losses[40] < losses[20]


def test_train_stops_early(tmp_path):
  trainer = _trainer()
  train_util.train(_provider(), trainer, batch_size=4, num_steps=100,
                   steps_per_summary=50, steps_per_save=50,
                   save_dir=str(tmp_path), restore_dir='',
                   early_stop_loss_value=1e3)
  assert int(trainer.step.numpy()) == 1
  assert os.path.exists(tmp_path / 'ckpt-1.index')


def test_train_rejects_an_unwritable_save_dir_before_training(tmp_path):
  blocker = tmp_path / 'a_file'
  blocker.write_text('')
  trainer = _trainer()
  with pytest.raises(PermissionError, match='save_dir=.*a_file/run'):
    train_util.train(_provider(), trainer, save_dir=str(blocker / 'run'))
  assert not trainer.model.built


@pytest.mark.parametrize('kwargs, match', [
    ({'batch_size': 0}, 'batch_size=0'),
    ({'steps_per_save': 1.5}, 'steps_per_save=1.5'),
    ({'early_stop_loss_value': float('nan')}, 'early_stop_loss_value=nan'),
])
def test_train_rejects_bad_arguments(tmp_path, kwargs, match):
  with pytest.raises(ValueError, match=match):
    train_util.train(_provider(), _trainer(), save_dir=str(tmp_path),
                     **kwargs)


def test_train_with_nan_policy_stop_names_the_step(tmp_path):
  trainer = _trainer(nan_policy='stop')
  provider = _provider(n_examples=8, nan_example=5)  # Batch 2 of size 2.
  with pytest.raises(FloatingPointError, match=r'at step 2\b'):
    train_util.train(provider, trainer, batch_size=2, num_steps=10,
                     save_dir=str(tmp_path), restore_dir='')


def test_train_with_nan_policy_skip_finishes(tmp_path):
  trainer = _trainer(nan_policy='skip')
  provider = _provider(n_examples=8, nan_example=5)
  train_util.train(provider, trainer, batch_size=2, num_steps=6,
                   steps_per_summary=3, steps_per_save=3,
                   save_dir=str(tmp_path), restore_dir='')
  assert int(trainer.step.numpy()) == 6
  assert trainer.skipped_steps == 2  # The NaN batch comes round twice.
  assert all(np.all(np.isfinite(v.numpy()))
             for v in trainer.model.trainable_variables)
