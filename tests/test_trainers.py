"""Tests for ddsp_tf.training.trainers.

References: gradients are taken here with a plain GradientTape on the whole
batch, and Adam's first moment after one step is (1 - beta_1) times the
applied gradient; learning-rate decay is the closed form
lr * rate**(step / decay_steps). Checkpoint contents are read back with
tf.train.load_checkpoint.
"""

import json
import os
import subprocess
import sys
import textwrap

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.checkpoint import checkpoint_management

from ddsp_tf.training import train_util
from ddsp_tf.training import trainers

import toy_models

BETA_1 = 0.9  # Keras Adam default.


def _make_trainer(seed=0, **kwargs):
  keras.utils.set_random_seed(seed)
  strategy = tf.distribute.get_strategy()
  model = toy_models.ToyModel()
  trainer = trainers.Trainer(model, strategy, **kwargs)
  return trainer


def _batches(batch_size=2, **example_kwargs):
  examples = toy_models.toy_examples(**example_kwargs)
  return list(tf.data.Dataset.from_tensor_slices(examples).batch(batch_size))


def _built(trainer, batch):
  trainer.build(batch)
  return trainer


def _weights(trainer):
  return [v.numpy().copy() for v in trainer.model.trainable_variables]


def _optimizer_state(trainer):
  """[(kind, value)] of the optimizer variables (iterations, Adam moments).

  Variables are in the order of the model's weights; kind is the end of the
  name ('iteration', 'momentum' or 'velocity').
  """
  return [(v.path.rsplit('_', 1)[-1].rsplit('/', 1)[-1], v.numpy().copy())
          for v in trainer.optimizer.variables]


def _reference_gradients(model, batch):
  with tf.GradientTape() as tape:
    _, losses = model(batch, training=True, return_losses=True)
  return tape.gradient(losses['total_loss'], model.trainable_variables)


def _first_moments(trainer):
  """Adam first moments, in the order of the model's trainable variables."""
  return [v.numpy() for v in trainer.optimizer.variables
          if v.path.endswith('_momentum')]


# ----------------------------------------------------------------------------
# Construction.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs, match', [
    ({'nan_policy': 'ignore'}, "nan_policy='ignore'"),
    ({'learning_rate': -1.0}, 'learning_rate=-1.0'),
    ({'checkpoints_to_keep': 0}, 'checkpoints_to_keep=0'),
    ({'lr_decay_steps': 2.5}, 'lr_decay_steps=2.5'),
    ({'grad_clip_norm': 0}, 'grad_clip_norm=0'),
    ({'restore_keys': 'decoder'}, "restore_keys='decoder'"),
    ({'jit_compile': 'yes'}, "jit_compile='yes'"),
    ({'lr_warmup_steps': -1}, 'lr_warmup_steps=-1'),
])
def test_invalid_arguments_name_the_value(kwargs, match):
  with pytest.raises(ValueError, match=match):
    _make_trainer(**kwargs)


def test_get_trainer_class_is_gin_configurable():
  assert trainers.get_trainer_class() is trainers.Trainer

  class Custom(trainers.Trainer):
    pass

  with gin.unlock_config():
    gin.bind_parameter('get_trainer_class.trainer_class', Custom)
  try:
    assert trainers.get_trainer_class() is Custom
  finally:
    gin.clear_config()


# ----------------------------------------------------------------------------
# The training step.
# ----------------------------------------------------------------------------
def test_step_applies_the_clipped_batch_gradient():
  batch = _batches(batch_size=4)[0]
  trainer = _built(_make_trainer(grad_clip_norm=1e-3), batch)
  reference = _reference_gradients(trainer.model, batch)
  norm = np.sqrt(sum(np.sum(np.square(g)) for g in reference))
  assert norm > 1e-3  # So clipping is active.
  loss_before = np.mean(np.square(
      trainer.model(batch)['audio_synth'].numpy() - batch['audio'].numpy()))

  losses = trainer.train_step(batch)
  assert int(trainer.step.numpy()) == 1
  for moment, grad in zip(_first_moments(trainer), reference):
    np.testing.assert_allclose(moment / (1 - BETA_1), grad * 1e-3 / norm,
                               rtol=1e-4, atol=1e-9)
  # The reported loss is the loss before the update.
  assert float(losses['total_loss']) == pytest.approx(loss_before, rel=1e-5)


def test_unclipped_step_applies_the_plain_gradient():
  batch = _batches(batch_size=4)[0]
  trainer = _built(_make_trainer(grad_clip_norm=1e6), batch)
  reference = _reference_gradients(trainer.model, batch)
  trainer.train_step(batch)
  for moment, grad in zip(_first_moments(trainer), reference):
    np.testing.assert_allclose(moment / (1 - BETA_1), grad, rtol=1e-4,
                               atol=1e-9)


@pytest.mark.parametrize('nan_example', [None, 1])
def test_xla_step_matches_the_reference_gradient(nan_example):
  batch = _batches(batch_size=4, nan_example=nan_example)[0]
  trainer = _built(_make_trainer(grad_clip_norm=1e6, jit_compile=True,
                                 nan_policy='skip'), batch)
  reference = _reference_gradients(trainer.model, batch)
  weights = _weights(trainer)
  trainer.train_step(batch)
  if nan_example is not None:
    assert trainer.skipped_steps == 1
    for before, after in zip(weights, _weights(trainer)):
      np.testing.assert_array_equal(before, after)
    return
  assert int(trainer.step.numpy()) == 1
  for moment, grad in zip(_first_moments(trainer), reference):
    np.testing.assert_allclose(moment / (1 - BETA_1), grad, rtol=1e-4,
                               atol=1e-9)


def test_learning_rate_decays_exponentially():
  batches = _batches(batch_size=2)
  trainer = _built(_make_trainer(learning_rate=0.01, lr_decay_steps=4,
                                 lr_decay_rate=0.5), batches[0])
  assert float(trainer.learning_rate) == pytest.approx(0.01)
  for batch in batches[:3]:
    trainer.train_step(batch)
  assert float(trainer.learning_rate) == pytest.approx(0.01 * 0.5**(3 / 4))


def test_learning_rate_warms_up_linearly_then_decays():
  batches = _batches(batch_size=2)
  trainer = _built(_make_trainer(learning_rate=0.01, lr_decay_steps=4,
                                 lr_decay_rate=0.5, lr_warmup_steps=3),
                   batches[0])
  expected = [0.01 * min(1.0, (step + 1) / 4) * 0.5**(step / 4)
              for step in range(5)]
  measured = [float(trainer.learning_rate)]
  for batch in (batches * 4)[:4]:
    trainer.train_step(batch)
    measured.append(float(trainer.learning_rate))
  np.testing.assert_allclose(measured, expected, rtol=1e-6)
  assert measured[0] == pytest.approx(0.0025)  # A quarter of the peak.


def test_training_lowers_the_loss():
  batch = _batches(batch_size=4)[0]
  trainer = _built(_make_trainer(learning_rate=0.01), batch)
  first = float(trainer.train_step(batch)['total_loss'])
  for _ in range(30):
    last = float(trainer.train_step(batch)['total_loss'])
  assert last < 0.8 * first


# ----------------------------------------------------------------------------
# NaN / Inf handling.
# ----------------------------------------------------------------------------
def test_nan_policy_stop_raises_naming_the_step_and_keeps_weights():
  # Batch 3 (steps 0, 1, 2 succeed) holds a NaN example.
  batches = _batches(batch_size=2, n_examples=8, nan_example=6)
  trainer = _built(_make_trainer(nan_policy='stop'), batches[0])
  for batch in batches[:3]:
    trainer.train_step(batch)
  before = _weights(trainer)
  with pytest.raises(FloatingPointError, match=r'at step 3\b'):
    trainer.train_step(batches[3])
  assert int(trainer.step.numpy()) == 3
  for after, expected in zip(_weights(trainer), before):
    np.testing.assert_array_equal(after, expected)


def test_nan_policy_skip_drops_the_batch_and_continues():
  batches = _batches(batch_size=2, n_examples=8, nan_example=2)
  trainer = _built(_make_trainer(nan_policy='skip'), batches[0])
  trainer.train_step(batches[0])
  weights, state = _weights(trainer), _optimizer_state(trainer)

  losses = trainer.train_step(batches[1])  # The NaN batch.
  assert np.isnan(float(losses['total_loss']))
  assert int(trainer.step.numpy()) == 1
  assert trainer.skipped_steps == 1
  for after, expected in zip(_weights(trainer), weights):
    np.testing.assert_array_equal(after, expected)
  for (_, value), (_, expected) in zip(_optimizer_state(trainer), state):
    np.testing.assert_array_equal(value, expected)

  losses = trainer.train_step(batches[2])
  assert np.isfinite(float(losses['total_loss']))
  assert int(trainer.step.numpy()) == 2
  assert all(np.all(np.isfinite(w)) for w in _weights(trainer))


def test_nan_policy_skip_gives_up_after_consecutive_skips():
  batches = _batches(batch_size=8, n_examples=8, nan_example=0)
  trainer = _built(_make_trainer(nan_policy='skip', max_consecutive_skips=3),
                   batches[0])
  trainer.train_step(batches[0])
  trainer.train_step(batches[0])
  with pytest.raises(FloatingPointError, match='3 consecutive steps'):
    trainer.train_step(batches[0])
  assert trainer.skipped_steps == 3


# ----------------------------------------------------------------------------
# Checkpoints.
# ----------------------------------------------------------------------------
def test_save_and_restore_resume_model_and_optimizer(tmp_path):
  batches = _batches(batch_size=2)
  trainer = _built(_make_trainer(seed=0, learning_rate=0.01), batches[0])
  for batch in batches[:3]:
    trainer.train_step(batch)
  path = trainer.save(str(tmp_path))
  assert os.path.basename(path) == 'ckpt-3'
  weights, state = _weights(trainer), _optimizer_state(trainer)

  restored = _built(_make_trainer(seed=1, learning_rate=0.01), batches[0])
  assert not np.allclose(_weights(restored)[0], weights[0])
  assert restored.restore(str(tmp_path)) == path
  assert int(restored.step.numpy()) == 3
  for after, expected in zip(_weights(restored), weights):
    np.testing.assert_array_equal(after, expected)
  restored_state = _optimizer_state(restored)
  assert [kind for kind, _ in restored_state] == [kind for kind, _ in state]
  assert {kind for kind, _ in state} == {'iteration', 'momentum', 'velocity'}
  for (_, value), (_, expected) in zip(restored_state, state):
    np.testing.assert_array_equal(value, expected)

  # Both continue identically.
  loss_a = float(trainer.train_step(batches[3])['total_loss'])
  loss_b = float(restored.train_step(batches[3])['total_loss'])
  assert loss_a == loss_b
  for a, b in zip(_weights(trainer), _weights(restored)):
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_checkpoints_are_numbered_by_step_and_pruned(tmp_path):
  batches = _batches(batch_size=2)
  trainer = _built(_make_trainer(checkpoints_to_keep=2), batches[0])
  for batch in batches[:4]:
    trainer.train_step(batch)
    trainer.save(str(tmp_path))
  assert trainer.save(str(tmp_path)).endswith('ckpt-4')  # Same step: no-op.
  indexes = sorted(f for f in os.listdir(tmp_path) if f.endswith('.index'))
  assert indexes == ['ckpt-3.index', 'ckpt-4.index']
  assert train_util.get_latest_checkpoint(str(tmp_path)).endswith('ckpt-4')


def test_checkpoint_stores_and_checks_the_format_version(tmp_path):
  batch = _batches()[0]
  trainer = _built(_make_trainer(), batch)
  path = trainer.save(str(tmp_path))
  reader = tf.train.load_checkpoint(path)
  assert int(reader.get_tensor(
      'format_version/.ATTRIBUTES/VARIABLE_VALUE')) == (
          trainers.CHECKPOINT_FORMAT_VERSION)

  future = tmp_path / 'future'
  trainer._format_version.assign(trainers.CHECKPOINT_FORMAT_VERSION + 1)
  trainer.save(str(future))
  with pytest.raises(ValueError, match='format_version 2'):
    _built(_make_trainer(), batch).restore(str(future))


def test_partial_restore_loads_only_the_named_parts(tmp_path):
  batches = _batches(batch_size=2)
  trainer = _built(_make_trainer(seed=0, learning_rate=0.05), batches[0])
  for batch in batches[:2]:
    trainer.train_step(batch)
  trainer.save(str(tmp_path))

  fresh = _built(_make_trainer(seed=1), batches[0])
  encoder_before = [v.numpy() for v in fresh.model.encoder.trainable_variables]
  fresh.restore(str(tmp_path), restore_keys=['decoder'])
  for a, b in zip(fresh.model.decoder.trainable_variables,
                  trainer.model.decoder.trainable_variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  for a, b in zip(fresh.model.encoder.trainable_variables, encoder_before):
    np.testing.assert_array_equal(a.numpy(), b)
  assert int(fresh.step.numpy()) == 0

  with pytest.raises(ValueError, match="'reverb'"):
    fresh.restore(str(tmp_path), restore_keys=['reverb'])


def test_save_cut_off_before_the_state_file_keeps_the_previous_one(
    tmp_path, monkeypatch):
  batches = _batches(batch_size=2)
  trainer = _built(_make_trainer(), batches[0])
  trainer.train_step(batches[0])
  trainer.save(str(tmp_path))
  weights = _weights(trainer)
  trainer.train_step(batches[1])

  def crash(*unused_args, **unused_kwargs):
    raise KeyboardInterrupt('killed while saving')

  # The checkpoint files of step 2 are written, then the process "dies"
  # before the state file names them.
  monkeypatch.setattr(checkpoint_management,
                      'update_checkpoint_state_internal', crash)
  with pytest.raises(KeyboardInterrupt):
    trainer.save(str(tmp_path))
  monkeypatch.undo()

  latest = train_util.get_latest_checkpoint(str(tmp_path))
  assert latest.endswith('ckpt-1')
  restored = _built(_make_trainer(seed=3), batches[0])
  restored.restore(latest)
  assert int(restored.step.numpy()) == 1
  for a, b in zip(_weights(restored), weights):
    np.testing.assert_array_equal(a, b)


_KILL_SCRIPT = textwrap.dedent('''
    import sys
    import tensorflow as tf
    directory = sys.argv[1]
    # A 64 MB variable makes each save take a while.
    value = tf.Variable(tf.zeros([4, 2**22]))
    step = tf.Variable(0, dtype=tf.int64)
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(value=value, step=step), directory, max_to_keep=3,
        checkpoint_name='ckpt')
    for i in range(1, 100000):
      step.assign(i)
      value.assign(tf.fill([4, 2**22], float(i)))
      manager.save(checkpoint_number=i)
      print(i, flush=True)
''')


@pytest.mark.slow
def test_sigkill_during_saves_leaves_a_complete_latest_checkpoint(tmp_path):
  """Kills a process at several points while it saves large checkpoints."""
  for attempt, delay_lines in enumerate([1, 2, 3]):
    directory = tmp_path / f'run{attempt}'
    process = subprocess.Popen(
        [sys.executable, '-c', _KILL_SCRIPT, str(directory)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for _ in range(delay_lines):  # Wait for some saves, kill mid-way.
      process.stdout.readline()
    process.kill()
    process.wait()
    latest = train_util.get_latest_checkpoint(str(directory))
    reader = tf.train.load_checkpoint(latest)
    step = int(reader.get_tensor('step/.ATTRIBUTES/VARIABLE_VALUE'))
    assert latest.endswith(f'ckpt-{step}')
    value = reader.get_tensor('value/.ATTRIBUTES/VARIABLE_VALUE')
    assert value.shape == (4, 2**22)
    assert np.all(value == step)


# ----------------------------------------------------------------------------
# Distribution.
# ----------------------------------------------------------------------------
_MIRRORED_SCRIPT = textwrap.dedent('''
    import json
    import sys
    import keras
    import numpy as np
    import tensorflow as tf
    sys.path.insert(0, sys.argv[1])
    import toy_models
    from ddsp_tf.training import trainers

    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    batch = next(iter(tf.data.Dataset.from_tensor_slices(
        toy_models.toy_examples(n_examples=4)).batch(4)))

    def first_step(strategy, clip):
      keras.utils.set_random_seed(0)
      with strategy.scope():
        model = toy_models.ToyModel()
        trainer = trainers.Trainer(model, strategy, learning_rate=0.01,
                                   grad_clip_norm=clip)
      trainer.build(batch)
      # Reference: the whole batch's gradient, clipped, with a plain tape.
      with tf.GradientTape() as tape:
        _, losses = model(batch, training=True, return_losses=True)
      grads = tape.gradient(losses['total_loss'], model.trainable_variables)
      grads, _ = tf.clip_by_global_norm(grads, clip)
      dataset = tf.data.Dataset.from_tensors(batch)
      losses = trainer.train_step(iter(trainer.distribute_dataset(dataset)))
      # Adam's first moment after one step is 0.1 * the applied gradient.
      applied = [v.numpy() / 0.1 for v in trainer.optimizer.variables
                 if v.path.endswith('_momentum')]
      weights = [v.numpy() for v in model.trainable_variables]
      return (float(losses['total_loss']), [g.numpy() for g in grads], applied,
              weights, strategy.num_replicas_in_sync)

    report = {}
    for clip in (1e6, 1e-3):
      results = {
          'default': first_step(tf.distribute.get_strategy(), clip),
          'mirrored': first_step(
              tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1']), clip),
      }
      report[clip] = {'weight_diff': max(
          float(np.max(np.abs(a - b)))
          for a, b in zip(results['default'][3], results['mirrored'][3]))}
      for name, (loss, reference, applied, _, replicas) in results.items():
        report[clip][name] = {
            'loss': loss, 'replicas': replicas,
            'grad_norm': float(np.sqrt(sum(np.sum(g**2) for g in reference))),
            'grad_error': max(float(np.max(np.abs(a - r)))
                              for a, r in zip(applied, reference)),
        }
    print(json.dumps(report))
''')


def test_mirrored_strategy_on_two_cpus_matches_the_default_strategy():
  """Same first-step loss, gradients and update over 2 logical CPUs.

  Without clipping (1e6) and with it (1e-3); the applied gradient is read
  from Adam's first moment and compared with a plain tape's gradient.
  """
  result = subprocess.run(
      [sys.executable, '-c', _MIRRORED_SCRIPT, os.path.dirname(__file__)],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  for clip, values in report.items():
    default, mirrored = values['default'], values['mirrored']
    assert (default['replicas'], mirrored['replicas']) == (1, 2)
    assert mirrored['loss'] == pytest.approx(default['loss'], rel=1e-6)
    if float(clip) < 1.0:
      assert default['grad_norm'] == pytest.approx(float(clip), rel=1e-5)
    for strategy in (default, mirrored):
      assert strategy['grad_error'] <= 1e-5 * strategy['grad_norm']
    assert values['weight_diff'] < 1e-6
