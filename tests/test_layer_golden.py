"""ddsp_tf's trainable layers against magenta/ddsp v3.7.0's, same weights.

Each `tests/golden/layers_<case>.npz` (written by the original, see
tests/golden/make_layer_golden.py) holds a layer's constructor kwargs, its
input, its output and every variable in the original's `layer.weights`
order. Here the ddsp_tf layer of the same name is built with the same
kwargs, its variables (trainable then non-trainable, each in
`layer.weights` order, as Keras 2 lists them; they must match the
original's in count, order, leaf name and shape) are set to the original's
values,
and its output must equal the original's within 1e-4 * max(1, |value|).

`layers_solo_instrument_checkpoint.npz` is a checkpoint of the original's
small solo_instrument Autoencoder: the converter's CHECKPOINT_RULES
(ddsp_tf.training.checkpoint_conversion) map its keys onto
ddsp_tf's, and with its values ddsp_tf's decoder gives the same outputs.
"""

import glob
import importlib
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import checkpoint_conversion
from ddsp_tf.training import nn

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), 'golden')
FILES = sorted(glob.glob(os.path.join(GOLDEN_DIR, 'layers_*.npz')))
CASES = [os.path.basename(f)[len('layers_'):-len('.npz')] for f in FILES]

# Layers whose output is random (their impulse response is drawn from
# tf.random on every call): only the variables and output shapes compare.
_RANDOM_OUTPUT_CASES = ('exp_decay_reverb', 'filtered_noise_reverb')

# Leaf names of the original's variables -> ddsp_tf's (Keras 3 drops ':0').
# The spectral normalization's power-iteration vector is Keras's vector_u.
_LEAF_ALIASES = {'sn_u': 'vector_u'}


def _leaf(name: str) -> str:
  leaf = name.split('/')[-1].split(':')[0]
  return _LEAF_ALIASES.get(leaf, leaf)


def _load(case):
  with np.load(os.path.join(GOLDEN_DIR, f'layers_{case}.npz')) as data:
    arrays = {k: data[k] for k in data.files}
  spec = json.loads(str(arrays.pop('__spec__')))
  return spec, arrays


def _layer_class(path):
  module, name = path.rsplit('.', 1)
  module = module.replace('ddsp.', 'ddsp_tf.', 1)
  return getattr(importlib.import_module(module), name)


def _call(layer, spec, inputs):
  if spec['pair']:
    return layer(list(inputs))
  return layer(*inputs)


def _as_dict(outputs):
  if isinstance(outputs, dict):
    return outputs
  if isinstance(outputs, (list, tuple)):
    return {str(i): v for i, v in enumerate(outputs)}
  return {'out': outputs}


def test_fixtures_present():
  assert len(CASES) >= 30, CASES
  assert 'solo_instrument_checkpoint' in CASES


@pytest.mark.parametrize(
    'case', [c for c in CASES if not c.endswith('_checkpoint')])
def test_layer_matches_original(case):
  spec, arrays = _load(case)
  tf.keras.utils.set_random_seed(0)
  layer = _layer_class(spec['cls'])(**spec['kwargs'])
  inputs = [tf.constant(arrays[f'in{i}']) for i in range(spec['n_inputs'])]
  _call(layer, spec, inputs)  # Builds the variables.

  names = [str(n) for n in arrays['var_names']]
  values = [arrays[f'var{i}'] for i in range(len(names))]
  # The original's (Keras 2) layer.weights lists the trainable variables,
  # then the non-trainable ones.
  ours = layer.trainable_weights + layer.non_trainable_weights
  assert len(ours) == len(names), (
      f'{len(ours)} variables {[v.path for v in ours]}, the original has '
      f'{len(names)} {names}')
  for ref_name, value, var in zip(names, values, ours):
    assert tuple(var.shape) == value.shape, (
        f'{var.path} has shape {tuple(var.shape)}, the original '
        f'{ref_name} {value.shape}')
    assert _leaf(var.path) == _leaf(ref_name), (var.path, ref_name)
    var.assign(value)

  outputs = _as_dict(_call(layer, spec, inputs))
  assert sorted(outputs) == sorted(spec['out_keys'])
  for key in spec['out_keys']:
    expected = arrays[f'out_{key}']
    got = np.asarray(outputs[key])
    assert got.shape == expected.shape, (key, got.shape, expected.shape)
    if case in _RANDOM_OUTPUT_CASES:
      continue
    tolerance = 1e-4 * np.maximum(1.0, np.abs(expected))
    deviation = np.abs(got - expected)
    assert np.all(deviation <= tolerance), (
        f'{case}/{key}: max deviation {deviation.max():.3g}')


# ----------------------------------------------------------------------------
# A checkpoint of the original's models/solo_instrument.gin Autoencoder.
# ----------------------------------------------------------------------------
# The key rules live in ddsp_tf.training.checkpoint_conversion (the
# ddsp_tf_convert_checkpoint converter); here they map this checkpoint.
map_checkpoint_key = checkpoint_conversion.map_checkpoint_key
_variable_at = checkpoint_conversion.variable_at


@pytest.fixture
def solo_instrument(tmp_path):
  import gin  # pylint: disable=g-import-not-at-top
  import ddsp_tf.training  # pylint: disable=g-import-not-at-top
  from ddsp_tf.training import models  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  gin.add_config_file_search_path(
      os.path.join(os.path.dirname(ddsp_tf.training.__file__), 'gin'))
  gin.parse_config_files_and_bindings(
      ['models/solo_instrument.gin'],
      ['RnnFcDecoder.rnn_channels = 8', 'RnnFcDecoder.ch = 4',
       'Reverb.reverb_length = 100'])
  try:
    model = models.Autoencoder()
    n_frames = 250
    model({'audio': np.zeros([1, 16000], np.float32),
           'f0_hz': np.full([1, n_frames, 1], 220.0, np.float32),
           'loudness_db': np.full([1, n_frames, 1], -40.0, np.float32)},
          training=False)
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
    keys = [k for k, _ in tf.train.list_variables(path)
            if k.startswith('model/')]
  finally:
    gin.clear_config()
  return model, keys


def test_solo_instrument_checkpoint_maps_onto_ddsp_tf(solo_instrument):
  model, our_keys = solo_instrument
  with np.load(os.path.join(GOLDEN_DIR,
                            'layers_solo_instrument_checkpoint.npz')) as data:
    arrays = {k: data[k] for k in data.files}
  keys = [str(k) for k in arrays['keys']]
  mapped = [map_checkpoint_key(k) for k in keys]
  assert sorted(mapped) == sorted(our_keys)
  for i, key in enumerate(mapped):
    variable = _variable_at(model, key[len('model/'):])
    assert tuple(variable.shape) == arrays[f'key{i}'].shape, key
    variable.assign(arrays[f'key{i}'])
  features = {k: tf.constant(arrays[k]) for k in ('ld_scaled', 'f0_scaled')}
  outputs = model.decoder(features)
  for key in ('amps', 'harmonic_distribution', 'noise_magnitudes'):
    expected = arrays[f'out_{key}']
    deviation = np.abs(np.asarray(outputs[key]) - expected)
    assert np.all(deviation <= 1e-4 * np.maximum(1.0, np.abs(expected))), (
        key, deviation.max())


# ----------------------------------------------------------------------------
# Checkpoints of the original's resampling DilatedConvStacks.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('case', ['dilated_conv_stack_down_sn_checkpoint',
                                  'dilated_conv_stack_up_cond_checkpoint'])
def test_resampling_stack_checkpoint_restores(case, tmp_path):
  """The original's keys (resample_layers, spectral norm's w and sn_u),
  written as a checkpoint, restore into ddsp_tf's stack through
  restore_original (strict), which then computes the original's output."""
  with np.load(os.path.join(GOLDEN_DIR, f'layers_{case}.npz')) as data:
    arrays = {k: data[k] for k in data.files}
  keys = [str(k) for k in arrays['keys']]
  assert any('/resample_layers/' in key for key in keys)
  prefix = str(tmp_path / 'original-1')
  tf.raw_ops.SaveV2(prefix=prefix, tensor_names=keys,
                    shape_and_slices=[''] * len(keys),
                    tensors=[arrays[f'key{i}'] for i in range(len(keys))])
  kwargs = json.loads(str(arrays['kwargs']))
  stack = nn.DilatedConvStack(**kwargs)
  inputs = [arrays[k] for k in ('in0', 'in1') if k in arrays]
  call = (lambda: stack(inputs)) if len(inputs) == 2 else (
      lambda: stack(inputs[0]))
  call()
  checkpoint_conversion.restore_original(stack, prefix)
  expected = arrays['out_out']
  deviation = np.abs(np.asarray(call()) - expected)
  assert np.all(deviation <= 1e-4 * np.maximum(1.0, np.abs(expected))), (
      deviation.max())
