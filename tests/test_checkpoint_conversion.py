"""ddsp_tf_convert_checkpoint against checkpoints written by magenta/ddsp.

`tests/golden/original_<case>/` (written by the original, see
tests/golden/make_original_checkpoint.py) are training directories of small
Autoencoders of models/solo_instrument.gin, models/vst/vst.gin,
papers/iclr2020/nsynth_ae.gin (an MFCC z encoder) and nsynth_ae.gin with a
DilatedConvDecoder: ckpt-1 (model and Adam optimizer),
operative_config-0.gin, and expected.npz, a batch with the original's
decoder controls, its z (encoders) and its harmonic signal
(solo_instrument: through the trained reverb); for the nsynth_ae cases
(legacy_adam: nsynth_ae with Keras 2's legacy optimizer_v2 Adam, as the
original trained before TF 2.11), whose Adam took a step of fixed random
gradients, also a second step's
gradients and the weights after it (`adam_*`): the converted Adam moments
must reproduce that step's updates within 1e-6 (the updates are ~1e-3).
The
converted checkpoint, restored by ddsp_tf's Model.restore into the model of
the run's config, must reproduce them within 1e-4 * max(1, |value|), and
hold the original's reverb weights.
"""

import glob
import os
import re
import shutil

import gin
import numpy as np
import pytest
import tensorflow as tf

import cli_checks
from ddsp_tf.cli import convert_checkpoint as cli
from ddsp_tf.training import checkpoint_conversion
from ddsp_tf.training import models
from ddsp_tf.training import train_util
from ddsp_tf.training import trainers
from ddsp_tf.training import vst_inference

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), 'golden')
ORIGINAL = os.path.join(GOLDEN_DIR, 'original_solo_instrument')
CONTROLS = ('amps', 'harmonic_distribution', 'noise_magnitudes')
# case -> (the reverb's weight in the original's checkpoint, the attribute of
# ddsp_tf's reverb that holds it), or None for a model without reverb.
CASES = {'solo_instrument': ('ir', '_ir'),
         'vst': ('magnitudes', '_magnitudes'),
         'nsynth_ae': None,
         'dilated_conv': None,
         'legacy_adam': None,
         'dilated_conv_spectral_norm': None}
# MIDI autoencoders of models/midiae (tests/golden/
# make_original_midi_checkpoint.py): expected.npz holds their deterministic
# outputs ('out_<key>': synthesis parameters, MIDI, latents).
MIDI_CASES = ('midiae', 'z_midiae')


def _expected(case):
  path = os.path.join(GOLDEN_DIR, f'original_{case}', 'expected.npz')
  with np.load(path) as data:
    return {k: data[k] for k in data.files}


def _assert_close(got, expected, name):
  got = np.asarray(got)
  assert got.shape == expected.shape, (name, got.shape, expected.shape)
  deviation = np.abs(got - expected)
  assert np.all(deviation <= 1e-4 * np.maximum(1.0, np.abs(expected))), (
      name, deviation.max())


def _run_model(save_dir, gin_params=()):
  """The (unbuilt) model of save_dir's operative config (and gin_params)."""
  gin.clear_config()
  try:
    with gin.unlock_config():
      gin.parse_config_file(train_util.get_latest_operative_config(save_dir),
                            skip_unknown=True)
      gin.parse_config(list(gin_params))
    model = models.get_model()
  finally:
    gin.clear_config()
  return model


@pytest.mark.parametrize('case', sorted(CASES))
def test_converted_checkpoint_reproduces_the_original(case, tmp_path):
  original = os.path.join(GOLDEN_DIR, f'original_{case}')
  converted = str(tmp_path / 'run')
  assert cli.main([f'--original_checkpoint={original}',
                   f'--save_dir={converted}']) == 0
  # The original's Adam had taken one step: the checkpoint is ckpt-1.
  assert sorted(os.listdir(converted)) == [
      'checkpoint', 'ckpt-1.data-00000-of-00001', 'ckpt-1.index',
      'operative_config-1.gin']
  assert train_util.get_latest_checkpoint(converted) == os.path.join(
      converted, 'ckpt-1')
  keys = [k for k, _ in tf.train.list_variables(converted)]
  assert not checkpoint_conversion.looks_like_original(keys)

  expected = _expected(case)
  features = {k[len('in_'):]: tf.constant(v) for k, v in expected.items()
              if k.startswith('in_')}
  model = _run_model(converted)
  model(features, training=False)  # Builds the weights.
  model.restore(converted)  # Strict: every weight must be in it.
  outputs = model(features, training=False)
  for key in CONTROLS:
    _assert_close(outputs[key], expected[f'out_{key}'], key)
  if 'out_z' in expected:  # The encoder's z.
    _assert_close(outputs['z'], expected['out_z'], 'z')
  # The harmonic synthesizer is deterministic; the filtered noise (and
  # FilteredNoiseReverb's impulse response) are not.
  if 'out_harmonic_reverb' in expected:
    _assert_close(
        model.processor_group.dag_modules['reverb'](
            outputs['harmonic']['signal']),
        expected['out_harmonic_reverb'], 'harmonic_reverb')
  else:
    _assert_close(outputs['harmonic']['signal'], expected['out_harmonic'],
                  'harmonic')
  # ddsp_tf_run's Trainer restores it strictly (model and optimizer) and
  # resumes at the original's step.
  trainer = trainers.Trainer(model, tf.distribute.get_strategy())
  trainer.optimizer.build(model.trainable_variables)
  trainer.restore(converted)
  assert int(trainer.step.numpy()) == 1
  if 'adam_keys' in expected:
    _assert_adam_step_matches(trainer, expected)
  if CASES[case] is not None:
    original_key, attribute = CASES[case]
    np.testing.assert_array_equal(
        getattr(model.processor_group.dag_modules['reverb'],
                attribute).numpy(),
        tf.train.load_variable(
            original, f'model/processor_group/reverb/{original_key}/'
            '.ATTRIBUTES/VARIABLE_VALUE'))


def _adam_step(trainer, expected):
  """Applies the fixture's gradients: {original key: (before, after)}."""
  variables = [checkpoint_conversion.variable_at(
      trainer.model,
      checkpoint_conversion.map_checkpoint_key(str(key))[len('model/'):])
               for key in expected['adam_keys']]
  before = [v.numpy() for v in variables]
  trainer.optimizer.apply_gradients(
      [(tf.constant(expected[f'adam_grad{i}']), v)
       for i, v in enumerate(variables)])
  return {str(key): (b, v.numpy())
          for key, b, v in zip(expected['adam_keys'], before, variables)}


def _assert_adam_step_matches(trainer, expected):
  """The original's second Adam step, from the converted moments."""
  steps = _adam_step(trainer, expected)
  for i, key in enumerate(expected['adam_keys']):
    before, after = steps[str(key)]
    want = expected[f'adam_after{i}']
    # The updates are ~1e-3: compare them, not only the weights.
    np.testing.assert_allclose(after - before, want - before, rtol=0,
                               atol=1e-6, err_msg=str(key))
    _assert_close(after, want, str(key))


def test_fresh_optimizer_drops_the_moments(tmp_path):
  original = os.path.join(GOLDEN_DIR, 'original_nsynth_ae')
  converted = str(tmp_path / 'run')
  assert cli.main([f'--original_checkpoint={original}',
                   f'--save_dir={converted}', '--fresh_optimizer']) == 0
  expected = _expected('nsynth_ae')
  features = {k[len('in_'):]: tf.constant(v) for k, v in expected.items()
              if k.startswith('in_')}
  model = _run_model(converted)
  model(features, training=False)
  trainer = trainers.Trainer(model, tf.distribute.get_strategy())
  trainer.optimizer.build(model.trainable_variables)
  trainer.restore(converted)
  assert int(trainer.step.numpy()) == 1
  for m in trainer.optimizer._momentums:  # pylint: disable=protected-access
    assert not np.any(m.numpy())
  # Zero moments give another step than the original's.
  steps = _adam_step(trainer, expected)
  deviation = max(
      np.abs((after - before) - (expected[f'adam_after{i}'] - before)).max()
      for i, (before, after) in enumerate(
          steps[str(k)] for k in expected['adam_keys']))
  assert deviation > 1e-5


def test_adam_slots_of_both_optimizer_formats():
  for case in ('nsynth_ae', 'legacy_adam'):
    original = os.path.join(GOLDEN_DIR, f'original_{case}')
    reader = tf.train.load_checkpoint(original)
    model_keys = [k for k in reader.get_variable_to_shape_map()
                  if k.startswith('model/') and '/.OPTIMIZER_SLOT/' not in k]
    slots = checkpoint_conversion.adam_slots(reader, model_keys)
    assert sorted(slots) == sorted(model_keys), case
    key = ('model/decoder/dense_out/kernel'
           + checkpoint_conversion.VARIABLE_SUFFIX)
    # The first step's moments: m = 0.1 g and v = 0.001 g^2 for the same g.
    m = reader.get_tensor(slots[key]['m'])
    v = reader.get_tensor(slots[key]['v'])
    assert np.any(m)
    np.testing.assert_allclose(v, 0.1 * m**2, rtol=1e-4)


def test_moments_of_only_some_weights_are_an_error(tmp_path, capsys,
                                                   monkeypatch):
  found = checkpoint_conversion.adam_slots

  def without_one(reader, model_keys):
    slots = found(reader, model_keys)
    del slots[sorted(slots)[0]]['v']
    return slots

  monkeypatch.setattr(checkpoint_conversion, 'adam_slots', without_one)
  status, err = _convert(
      capsys, '--original_checkpoint=' + os.path.join(
          GOLDEN_DIR, 'original_nsynth_ae'), f'--save_dir={tmp_path}/out')
  assert status == 2
  assert 'Adam moments (m and v) for only some weights' in err
  assert '--fresh_optimizer' in err
  assert not os.path.exists(tmp_path / 'out')


@pytest.mark.parametrize('case', ['vst', 'nsynth_ae', 'dilated_conv',
                                  'dilated_conv_spectral_norm'] +
                         list(MIDI_CASES))
def test_model_restore_reads_an_original_checkpoint(case):
  """Model.restore maps the original's keys in memory, on an unbuilt model
  (solo_instrument: tests/test_original_interchange.py)."""
  original = os.path.join(GOLDEN_DIR, f'original_{case}')
  expected = _expected(case)
  model = _run_model(original)
  assert model.restore(original) is None  # Built on zeros, then restored.
  features = {k[len('in_'):]: tf.constant(v) for k, v in expected.items()
              if k.startswith('in_')}
  outputs = model(features, training=False)
  compared = [k[len('out_'):] for k in expected if k.startswith('out_')
              and k not in ('out_harmonic', 'out_harmonic_reverb')]
  assert set(CONTROLS) <= set(compared) or case in MIDI_CASES
  for key in compared:
    _assert_close(outputs[key], expected[f'out_{key}'], key)


@pytest.mark.parametrize('case', MIDI_CASES)
def test_converted_midi_autoencoder_reproduces_the_original(case, tmp_path):
  """The MIDI autoencoders' encoders, decoders and stacks convert."""
  original = os.path.join(GOLDEN_DIR, f'original_{case}')
  converted = str(tmp_path / 'run')
  assert cli.main([f'--original_checkpoint={original}',
                   f'--save_dir={converted}']) == 0
  expected = _expected(case)
  features = {k[len('in_'):]: tf.constant(v) for k, v in expected.items()
              if k.startswith('in_')}
  model = _run_model(converted)
  model(features, training=False)
  model.restore(converted)
  outputs = model(features, training=False)
  for key in (k[len('out_'):] for k in expected if k.startswith('out_')):
    _assert_close(outputs[key], expected[f'out_{key}'], key)


def test_model_restore_of_an_original_checkpoint_is_strict():
  # A third Fc per stack in the original: 12 keys fit no weight here.
  model = _run_model(ORIGINAL, ['RnnFcDecoder.layers_per_stack = 2'])
  with pytest.raises(ValueError) as error:
    model.restore(ORIGINAL)
  message = str(error.value)
  assert 'written by magenta/ddsp' in message
  assert '12 original keys map onto no weight' in message
  assert ('model/decoder/out_stack/layer_with_weights-2/'
          'layer_with_weights-1/gamma') in message
  assert 'partial=True' in message
  # partial=True restores what fits.
  model.restore(ORIGINAL, partial=True)
  np.testing.assert_array_equal(
      model.decoder.out_stack.fcs[1].dense.kernel.numpy(),
      tf.train.load_variable(
          ORIGINAL, 'model/decoder/out_stack/layer_with_weights-1/'
          'layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE'))
  # Another width: the shapes are listed, even with partial=True.
  model = _run_model(ORIGINAL, ['RnnFcDecoder.ch = 5'])
  with pytest.raises(ValueError, match='shapes differ.*dense_out/kernel'):
    model.restore(ORIGINAL, partial=True)


def test_model_restore_keys_of_an_original_checkpoint():
  model = _run_model(ORIGINAL)
  model.restore(ORIGINAL, restore_keys=['decoder'])
  reverb = model.processor_group.dag_modules['reverb']
  original_ir = tf.train.load_variable(
      ORIGINAL, 'model/processor_group/reverb/ir/.ATTRIBUTES/VARIABLE_VALUE')
  assert not np.array_equal(reverb._ir.numpy(), original_ir)  # pylint: disable=protected-access
  np.testing.assert_array_equal(
      model.decoder.dense_out.kernel.numpy(),
      tf.train.load_variable(
          ORIGINAL, 'model/decoder/dense_out/kernel/.ATTRIBUTES/'
          'VARIABLE_VALUE'))
  model.restore(ORIGINAL, restore_keys=['processor_group'])
  np.testing.assert_array_equal(reverb._ir.numpy(), original_ir)  # pylint: disable=protected-access


def test_vst_inference_module_restores_an_original_checkpoint():
  """ddsp_tf_export's DDSP-VST modules read the original's checkpoint."""
  original = os.path.join(GOLDEN_DIR, 'original_vst')
  try:
    module = vst_inference.VSTStatelessPredictControls(original)
  finally:
    gin.clear_config()
  np.testing.assert_array_equal(
      module.decoder.dense_out.kernel.numpy(),
      tf.train.load_variable(
          original, 'model/decoder/dense_out/kernel/.ATTRIBUTES/'
          'VARIABLE_VALUE'))


def test_every_rule_is_used_and_keys_map_one_to_one():
  used = set()
  key_lists = []
  for case in list(CASES) + list(MIDI_CASES):
    original = os.path.join(GOLDEN_DIR, f'original_{case}')
    # The model's weights (without a legacy optimizer's slots below them).
    key_lists.append([k for k, _ in tf.train.list_variables(original)
                      if k.startswith('model/') and
                      '/.OPTIMIZER_SLOT/' not in k])
  # The resampling DilatedConvStacks' keys (tests/test_layer_golden.py).
  for path in glob.glob(os.path.join(
      GOLDEN_DIR, 'layers_dilated_conv_stack_*_checkpoint.npz')):
    with np.load(path) as data:
      key_lists.append([str(k) for k in data['keys']])
  assert len(key_lists) == len(CASES) + len(MIDI_CASES) + 2
  for keys in key_lists:
    assert checkpoint_conversion.looks_like_original(keys)
    mapped = [checkpoint_conversion.map_checkpoint_key(k) for k in keys]
    assert len(set(mapped)) == len(keys)
    assert not any('layer_with_weights' in k for k in mapped)
    for key in keys:  # Which rules change a key, applied in order.
      key = key[:-len(checkpoint_conversion.VARIABLE_SUFFIX)]
      for i, (pattern, replacement) in enumerate(
          checkpoint_conversion.CHECKPOINT_RULES):
        new_key = re.sub(pattern, replacement, key)
        if new_key != key:
          used.add(i)
        key = new_key
  assert used == set(range(len(checkpoint_conversion.CHECKPOINT_RULES)))
  assert checkpoint_conversion.map_checkpoint_key(
      'model/decoder/out_stack/layer_with_weights-2/layer_with_weights-1/'
      'gamma') == 'model/decoder/out_stack/fcs.S2/norm/gamma'
  assert checkpoint_conversion.map_checkpoint_key(
      'model/processor_group/room/decay') == (
          'model/processor_group/dag_modules.Sroom/_decay')
  assert checkpoint_conversion.map_checkpoint_key(
      'model/decoder/dilated_conv_stack/layers/11/layer_with_weights-0/'
      'kernel') == 'model/decoder/stack/convs.S11/_kernel'
  # RNN cells keep 'kernel'.
  assert checkpoint_conversion.map_checkpoint_key(
      'model/encoder/rnn/rnn/cell/kernel') == (
          'model/encoder/rnn/rnn/cell/kernel')


def _convert(capsys, *argv):
  status = cli.main(list(argv))
  return status, capsys.readouterr().err


def test_missing_checkpoint(tmp_path, capsys):
  status, err = _convert(capsys, f'--original_checkpoint={tmp_path}/none',
                         f'--save_dir={tmp_path}/out')
  assert status == 2
  assert 'FileNotFoundError' in err and f'{tmp_path}/none' in err
  assert not os.path.exists(tmp_path / 'out')


def test_corrupt_checkpoint(tmp_path, capsys):
  original = tmp_path / 'original'
  shutil.copytree(ORIGINAL, original)
  (original / 'ckpt-1.index').write_bytes(b'not a checkpoint index')
  status, err = _convert(capsys, f'--original_checkpoint={original}/ckpt-1',
                         f'--save_dir={tmp_path}/out')
  assert status == 2
  assert 'Cannot read the checkpoint' in err
  assert not os.path.exists(tmp_path / 'out')


def test_unmappable_keys_are_listed(tmp_path, capsys):
  # With 2 Fc layers per stack the ddsp_tf model has no third Fc for the
  # original's layer_with_weights-2 of both input stacks and the out stack
  # (a Dense kernel and bias, a LayerNormalization gamma and beta each).
  status, err = _convert(capsys, f'--original_checkpoint={ORIGINAL}',
                         f'--save_dir={tmp_path}/out',
                         '--gin_param=RnnFcDecoder.layers_per_stack = 2')
  assert status == 2
  assert '12 original keys map onto no weight' in err
  assert ('model/decoder/out_stack/layer_with_weights-2/'
          'layer_with_weights-1/gamma') in err
  assert not os.path.exists(tmp_path / 'out')
  assert os.listdir(tmp_path) == []  # No temporary directory is left.


def test_shape_mismatch_is_listed(tmp_path, capsys):
  status, err = _convert(capsys, f'--original_checkpoint={ORIGINAL}',
                         f'--save_dir={tmp_path}/out',
                         '--gin_param=RnnFcDecoder.ch = 5')
  assert status == 2
  assert 'shapes differ' in err and 'dense_out/kernel' in err


def test_existing_output_is_kept(tmp_path, capsys):
  (tmp_path / 'out').mkdir()
  (tmp_path / 'out' / 'keep').write_text('x')
  status, err = _convert(capsys, f'--original_checkpoint={ORIGINAL}',
                         f'--save_dir={tmp_path}/out')
  assert status == 2 and 'FileExistsError' in err
  assert os.listdir(tmp_path / 'out') == ['keep']


def test_help_explains_every_flag(capsys):
  cli_checks.assert_help_lists(
      cli.main, ['--original_checkpoint', '--save_dir', '--gin_file',
                 '--gin_param', '--overwrite', '--fresh_optimizer'], capsys)


def test_console_script_is_declared():
  cli_checks.assert_console_script(
      'ddsp_tf_convert_checkpoint',
      'ddsp_tf.cli.convert_checkpoint:console_entry_point')
