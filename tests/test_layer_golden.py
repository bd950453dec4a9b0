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
"""

import glob
import importlib
import json
import os

import numpy as np
import pytest
import tensorflow as tf

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


@pytest.mark.parametrize('case', CASES)
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
