"""Tests for multi-worker training (ddsp_tf_run --strategy=multi_worker).

Two ddsp_tf_run worker processes on localhost (CPU only) train the small
ToyModel through MultiWorkerMirroredStrategy while the test process trains
the same model on the same global batch with the default strategy (the
truth for the workers), then resumes the chief's checkpoint. Each worker
runs ddsp_tf.cli.run.main through this module's driver_main, with the toy
model and data bound in gin; every process logs each step's loss and the
weights before it.
"""

import glob
import json
import os
import socket
import subprocess
import sys
import time

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.cli import run
from ddsp_tf.training import distribute
from ddsp_tf.training import trainers

import toy_models

@gin.configurable
def mw_toy_model():
  return toy_models.ToyModel()


@gin.configurable
def mw_toy_provider(n_examples=4):
  return toy_models.ArrayProvider(
      toy_models.toy_examples(n_examples=n_examples))


def _logging_train_step(tag, dump_dir, sink):
  """Trainer.train_step that also saves the weights it starts from
  (dump_dir/<tag>-<step>.npz) and hands {"step", "loss"} to sink."""
  train_step = trainers.Trainer.train_step

  def logged_train_step(self, inputs):
    step = int(self.step.numpy())
    np.savez(os.path.join(dump_dir, f'{tag}-{step}.npz'),
             *[v.numpy() for v in self.model.weights])
    losses = train_step(self, inputs)
    sink({'step': int(self.step.numpy()),
          'loss': float(losses['total_loss'])})
    return losses

  return logged_train_step


def driver_main(argv):
  """A worker process: ddsp_tf_run's main() with logged steps.

  Prints each step's {"step", "loss"} and finally {"status"} as JSON lines;
  the weights go to $DUMP_DIR/$TAG-<step>.npz.
  """
  def emit(record):
    print(json.dumps(record), flush=True)

  trainers.Trainer.train_step = _logging_train_step(
      os.environ['TAG'], os.environ['DUMP_DIR'], emit)
  status = run.main(argv)
  emit({'status': status})
  return status


_DRIVER = ('import sys; sys.path.insert(0, sys.argv[1]); '
           'import test_multi_worker; '
           'sys.exit(test_multi_worker.driver_main(sys.argv[2:]))')


# A global batch of 4 (the toy data are 4 examples, so every step trains on
# the same batch: a resumed step sees the batch the workers' step saw).
_TRAIN_FLAGS = [
    '--seed=0', '--gin_param=get_model.model=@mw_toy_model()',
    '--gin_param=train.data_provider=@mw_toy_provider()',
    '--gin_param=batch_size=4', '--gin_param=learning_rate=0.01',
    '--gin_param=train.num_steps=4', '--gin_param=train.steps_per_save=3',
    '--gin_param=train.steps_per_summary=4']
_TIMEOUT_SECS = 240


def _free_ports(count):
  """Ports that were free a moment ago (held together, so all different)."""
  probes = [socket.socket() for _ in range(count)]
  try:
    for probe in probes:
      probe.bind(('localhost', 0))
    return [probe.getsockname()[1] for probe in probes]
  finally:
    for probe in probes:
      probe.close()


def _cluster(ports, index):
  return json.dumps({
      'cluster': {'worker': [f'localhost:{port}' for port in ports]},
      'task': {'type': 'worker', 'index': index}})


def _start(argv, log_path, env):
  """The driver in a new process; its stdout and stderr go to log files."""
  with open(f'{log_path}.out', 'w') as out, open(f'{log_path}.err',
                                                  'w') as err:
    return subprocess.Popen(
        [sys.executable, '-c', _DRIVER, os.path.dirname(__file__), *argv],
        stdout=out, stderr=err, env=env)


def _records(log_path):
  """The JSON lines a driver printed."""
  with open(f'{log_path}.out') as out:
    return [json.loads(line) for line in out if line.startswith('{')]


def _finished(log_path, process, deadline):
  """Waits until the driver printed its status (it may still be exiting).

  Returns:
    The status, or None if the process died without one or the deadline
    passed.
  """
  while time.time() < deadline:
    statuses = [r['status'] for r in _records(log_path) if 'status' in r]
    if statuses:
      return statuses[0]
    if process.poll() is not None:
      return None
    time.sleep(0.1)
  return None


def _stderr_tail(log_path):
  with open(f'{log_path}.err') as err:
    return err.read()[-3000:]


def _losses(records):
  return {r['step']: r['loss'] for r in records if 'loss' in r}


def _weights(dump_dir, tag, step):
  with np.load(os.path.join(dump_dir, f'{tag}-{step}.npz')) as arrays:
    return [arrays[f'arr_{i}'] for i in range(len(arrays.files))]


def _run_here(argv, tag, dump_dir, monkeypatch):
  """main() in this process, logging like the driver; returns the records."""
  records = []
  with monkeypatch.context() as patch:
    patch.setattr(trainers.Trainer, 'train_step',
                  _logging_train_step(tag, dump_dir, records.append))
    try:
      assert run.main(argv) == 0
    finally:
      gin.clear_config()
  return records


@pytest.mark.slow
def test_two_workers_train_as_one_process_and_resume_in_one(tmp_path,
                                                            monkeypatch):
  """Two workers on localhost against one process on the same batch.

  Worker 0 reads its cluster from --cluster_config, worker 1 from TF_CONFIG.
  Worker 1 alone finds a checkpoint (other weights, step 0) in its
  restore_dir: after the restore it must take the chief's weights.
  Meanwhile this process trains from scratch (the reference), and a third
  process starts as a worker of a cluster whose peer never comes: it must
  fail within its timeout, naming the peer. Once the chief has finished,
  this process resumes its ckpt-3 with the default strategy.
  """
  stray_dir = tmp_path / 'stray'
  keras.utils.set_random_seed(1)
  stray = trainers.Trainer(toy_models.ToyModel(), tf.distribute.get_strategy())
  stray.build(next(iter(mw_toy_provider().get_batch(4))))
  stray.save(str(stray_dir))
  stray_weights = [v.numpy() for v in stray.model.weights]
  dump_dir, temp_dir = tmp_path / 'dump', tmp_path / 'tmp'
  dump_dir.mkdir()
  temp_dir.mkdir()
  env = dict(os.environ, CUDA_VISIBLE_DEVICES='', TF_CPP_MIN_LOG_LEVEL='2',
             DUMP_DIR=str(dump_dir), TMPDIR=str(temp_dir))
  env.pop('TF_CONFIG', None)
  ports = _free_ports(4)
  worker_dirs = [tmp_path / 'worker0', tmp_path / 'worker1']
  chief_dir, single_dir = worker_dirs[0], tmp_path / 'single'
  logs = [str(tmp_path / 'worker0'), str(tmp_path / 'worker1'),
          str(tmp_path / 'lonely')]

  processes = []
  deadline = time.time() + _TIMEOUT_SECS
  try:
    for index in range(2):
      argv = _TRAIN_FLAGS + ['--strategy=multi_worker',
                             f'--save_dir={worker_dirs[index]}']
      worker_env = dict(env, TAG=f'worker{index}')
      if index == 0:
        argv.append(f'--cluster_config={_cluster(ports[:2], 0)}')
      else:
        worker_env['TF_CONFIG'] = _cluster(ports[:2], 1)
        argv.append(f'--restore_dir={stray_dir}')
      processes.append(_start(argv, logs[index], worker_env))
    processes.append(_start(_TRAIN_FLAGS + [
        f'--save_dir={tmp_path / "lonely"}', '--strategy=multi_worker',
        f'--cluster_config={_cluster(ports[2:], 0)}',
        '--cluster_timeout_secs=2'], logs[2], dict(env, TAG='lonely')))

    reference = _losses(_run_here(
        _TRAIN_FLAGS + [f'--save_dir={tmp_path / "reference"}'], 'reference',
        dump_dir, monkeypatch))
    assert _finished(logs[0], processes[0], deadline) == 0, (
        _stderr_tail(logs[0]))
    resumed = _losses(_run_here(
        _TRAIN_FLAGS + [f'--save_dir={single_dir}',
                        f'--restore_dir={chief_dir}/ckpt-3'], 'resumed',
        dump_dir, monkeypatch))
    for process in processes:
      process.wait(timeout=max(deadline - time.time(), 0.1))
    for process, log in zip(processes, logs):
      assert process.returncode == (1 if log == logs[2] else 0), (
          _stderr_tail(log))
  finally:
    for process in processes:
      if process.poll() is None:
        process.kill()  # TensorFlow's servers may ignore SIGTERM.
        process.wait()

  losses = [_losses(_records(log)) for log in logs[:2]]
  assert sorted(losses[0]) == sorted(reference) == [1, 2, 3, 4]
  # Both workers report the global loss, which is the single process's.
  assert losses[0] == losses[1]
  first_step_diff = abs(losses[0][1] - reference[1])
  print(f'first-step loss: workers {losses[0][1]!r}, one process '
        f'{reference[1]!r}, difference {first_step_diff:.3g}')
  assert first_step_diff <= 1e-5
  for step in (2, 3, 4):
    assert losses[0][step] == pytest.approx(reference[step], abs=1e-5)
  assert abs(losses[0][4] - losses[0][1]) > 1e-3  # Training moved.

  # Worker 1 restored the stray checkpoint, then took the chief's weights.
  initial = _weights(dump_dir, 'reference', 0)
  assert not np.array_equal(stray_weights[0], initial[0])
  for name in ('worker0', 'worker1'):
    for weights, reference_weights in zip(_weights(dump_dir, name, 0),
                                          initial):
      np.testing.assert_array_equal(weights, reference_weights)

  # Only the chief wrote checkpoints, summaries and the operative config;
  # worker 1's temporary checkpoint folder is gone.
  names = sorted(os.listdir(chief_dir))
  assert [n for n in names if n.startswith('ckpt-')] == [
      'ckpt-3.data-00000-of-00001', 'ckpt-3.index',
      'ckpt-4.data-00000-of-00001', 'ckpt-4.index']
  assert 'operative_config-0.gin' in names
  assert len(glob.glob(str(chief_dir / 'summaries' / 'train' /
                           'events.out.tfevents.*'))) == 1
  assert not worker_dirs[1].exists()
  assert not glob.glob(str(temp_dir / 'ddsp_tf_worker*'))

  # The resumed single process starts at step 3 with the chief's weights of
  # ckpt-3, and its step 4 is the workers' step 4.
  assert list(resumed) == [4]
  assert resumed[4] == pytest.approx(losses[0][4], abs=1e-5)
  chief_weights = _weights(dump_dir, 'worker0', 3)
  for name in ('worker1', 'resumed'):
    for restored, chief in zip(_weights(dump_dir, name, 3), chief_weights):
      np.testing.assert_array_equal(restored, chief)
  assert os.path.exists(single_dir / 'ckpt-4.index')

  # The worker without its peer failed within its timeout, naming the peer.
  error = _stderr_tail(logs[2])
  assert 'ClusterError' in error and f'localhost:{ports[3]}' in error
  assert '--cluster_timeout_secs' in error
  assert not os.path.exists(tmp_path / 'lonely')


# ----------------------------------------------------------------------------
# Bad cluster descriptions (no cluster is started).
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('config, match', [
    ('{"cluster": ', 'is not valid JSON'),
    ('[1, 2]', 'is not a JSON object'),
    ('{"task": {"type": "worker", "index": 0}}', 'non-empty "cluster"'),
    ('{"cluster": {"worker": ["localhost:1"]}}', '"task" object'),
    ('{"cluster": {"ps": ["localhost:1"]}, "task": {"type": "ps", '
     '"index": 0}}', '"ps" job'),
    ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", '
     '"index": 0}}', 'list of "host:port"'),
    ('{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", '
     '"index": 1}}', 'index 1, which is not in its cluster'),
    ('{"cluster": {"worker": ["localhost:1"], "evaluator": ["localhost:2"]}, '
     '"task": {"type": "evaluator", "index": 0}}', "task type 'evaluator'"),
])
def test_malformed_cluster_descriptions_name_the_value(config, match,
                                                       monkeypatch):
  with pytest.raises(ValueError, match=match) as error:
    distribute.get_strategy(cluster_config=config)
  assert f'cluster_config={config!r}' in str(error.value)
  monkeypatch.setenv('TF_CONFIG', config)
  with pytest.raises(ValueError, match=match) as error:
    distribute.get_strategy(strategy='multi_worker')
  assert f'TF_CONFIG={config!r}' in str(error.value)


def test_multi_worker_needs_a_cluster_and_the_alias_is_the_same(monkeypatch):
  monkeypatch.delenv('TF_CONFIG', raising=False)
  for name in ('multi_worker', 'multi_worker_mirrored'):
    with pytest.raises(ValueError, match='set the TF_CONFIG environment'):
      distribute.get_strategy(strategy=name)
  with pytest.raises(ValueError, match='cluster_config needs strategy'):
    distribute.get_strategy(cluster_config=_cluster([1, 2], 0),
                            strategy='mirrored')
  with pytest.raises(ValueError, match='cluster_timeout_secs'):
    distribute.get_strategy(strategy='multi_worker',
                            cluster_config=_cluster([1, 2], 0),
                            cluster_timeout_secs=0)


def test_cli_reports_a_malformed_tf_config(tmp_path, monkeypatch, capsys):
  monkeypatch.setenv('TF_CONFIG', '{"cluster": oops')
  try:
    status = run.main([
        f'--save_dir={tmp_path}', '--strategy=multi_worker',
        '--gin_param=get_model.model=@mw_toy_model()',
        '--gin_param=train.data_provider=@TFRecordProvider()'])
  finally:
    gin.clear_config()
  assert status == 2
  error = capsys.readouterr().err
  assert 'TF_CONFIG is not valid JSON' in error
  assert 'TF_CONFIG=\'{"cluster": oops\'' in error
  assert not os.listdir(tmp_path)


def test_single_process_strategies_are_the_chief():
  strategy = tf.distribute.get_strategy()
  assert distribute.is_chief(strategy)
  assert distribute.num_workers(strategy) == 1
  assert distribute.worker_save_dir('/x', strategy) == '/x'


def test_cli_flags_reach_the_run_settings():
  args = run.build_parser().parse_args(
      ['--strategy=multi_worker', '--cluster_timeout_secs=7',
       '--cluster_config={"x": 1}'])
  settings = run.settings_from_flags(args)
  assert (settings.strategy, settings.cluster_timeout_secs,
          settings.cluster_config) == ('multi_worker', 7.0, '{"x": 1}')
  assert run.build_parser().parse_args([]).cluster_timeout_secs == (
      distribute.DEFAULT_CLUSTER_TIMEOUT_SECS)


def test_datasets_are_sharded_by_data_not_by_file():
  """Workers must read the same global batches (FILE would split files)."""
  dataset = distribute.shard_by_data(tf.data.Dataset.range(8).batch(4))
  assert dataset.options().experimental_distribute.auto_shard_policy == (
      tf.data.experimental.AutoShardPolicy.DATA)
  assert [list(batch.numpy()) for batch in dataset] == [[0, 1, 2, 3],
                                                        [4, 5, 6, 7]]
