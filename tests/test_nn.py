"""Tests for ddsp_tf.training.nn against numpy references and key mechanics."""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import nn


# ----------------------------------------------------------------------------
# Signature introspection.
# ----------------------------------------------------------------------------
def _example_fn(a, b, c=1, d=None, *args, training=False, **kwargs):
  del args, training, kwargs
  return a, b, c, d


def test_argument_introspection():
  assert nn.get_argument_names(_example_fn) == ['a', 'b']
  assert nn.get_default_argument_names(_example_fn) == ['c', 'd']
  assert nn.get_default_argument_values(_example_fn) == [1, None]


def test_return_annotations():
  def listed(x) -> ['y', 'z']:
    return x, x

  def postponed(x) -> "['y']":
    return x

  def plain(x):
    return x

  def bad(x) -> int:
    return x

  assert nn.get_return_annotations(listed) == ['y', 'z']
  assert nn.get_return_annotations(postponed) == ['y']
  assert nn.get_return_annotations(plain) == []
  with pytest.raises(ValueError, match='list of output keys'):
    nn.get_return_annotations(bad)


# ----------------------------------------------------------------------------
# DictLayer.
# ----------------------------------------------------------------------------
class _SumScale(nn.DictLayer):
  """x = a + b; y = a * scale * factor, with two optional inputs."""

  def call(self, a, b, scale=3.0, factor=None) -> ['x', 'y']:
    factor = 1.0 if factor is None else factor
    return a + b, a * scale * factor


class _ReturnsDict(nn.DictLayer):

  def call(self, a):
    return {'doubled': 2.0 * a}


class _ReturnsTooMany(nn.DictLayer):

  def call(self, a) -> ['only']:
    return a, a


def _t(value):
  return tf.constant([value], tf.float32)


def _value(outputs, key):
  return float(outputs[key].numpy()[0])


def test_dict_layer_keys_from_signature_and_annotation():
  layer = _SumScale()
  assert layer.input_keys == ['a', 'b']
  assert layer.default_input_keys == ['scale', 'factor']
  assert layer.all_input_keys == ['a', 'b', 'scale', 'factor']
  assert layer.n_inputs == 4
  assert layer.output_keys == ['x', 'y']


def test_dict_layer_renamed_keys_replace_the_signature():
  layer = _SumScale(input_keys=['f0', 'ld'], output_keys=['sum', 'scaled'])
  assert layer.all_input_keys == ['f0', 'ld']
  outputs = layer({'f0': _t(2.0), 'ld': _t(5.0), 'a': _t(100.0)})
  assert sorted(outputs) == ['scaled', 'sum']
  assert _value(outputs, 'sum') == 7.0
  assert _value(outputs, 'scaled') == 6.0


def test_dict_layer_inputs_from_tensors_dicts_nested_keys_and_keywords():
  layer = _SumScale()
  expected = {'x': 6.0, 'y': 6.0}  # a=2, b=4, scale 3 by default.
  calls = [
      layer(_t(2.0), _t(4.0)),
      layer({'a': _t(2.0)}, {'b': _t(4.0), 'unused': _t(9.0)}),
      layer(_t(2.0), {'b': _t(4.0)}),
      layer(a=_t(2.0), b=_t(4.0)),
  ]
  for outputs in calls:
    assert {k: _value(outputs, k) for k in outputs} == expected
  nested = _SumScale(input_keys=['synth/a', 'b'])
  outputs = nested({'synth': {'a': _t(2.0)}, 'b': _t(4.0)})
  assert _value(outputs, 'x') == 6.0


def test_dict_layer_optional_inputs_keep_their_positions():
  layer = _SumScale()
  a, b = _t(2.0), _t(0.0)
  # Only the second optional input given: the first keeps its default.
  assert _value(layer({'a': a, 'b': b, 'factor': _t(5.0)}), 'y') == 30.0
  assert _value(layer({'a': a, 'b': b, 'scale': _t(4.0)}), 'y') == 8.0
  assert _value(layer({'a': a, 'b': b, 'scale': _t(4.0),
                       'factor': _t(0.5)}), 'y') == 4.0
  assert _value(layer(a, b, _t(7.0)), 'y') == 14.0
  # A missing default equals passing the default explicitly.
  assert _value(layer(a, b), 'y') == _value(layer(a, b, _t(3.0)), 'y')


def test_dict_layer_errors():
  layer = _SumScale(name='sum_scale')
  with pytest.raises(TypeError, match=r"sum_scale takes 2 to 4 input tensors"):
    layer(_t(1.0))
  with pytest.raises(TypeError, match='got 5 tensors'):
    layer(*[_t(1.0)] * 5)
  with pytest.raises(KeyError, match=r"needs input 'b'.*Available keys: "
                     r"\['a', 'c'\]"):
    layer({'a': _t(1.0), 'c': _t(1.0)})
  with pytest.raises(ValueError, match='returned 2 outputs'):
    _ReturnsTooMany()(_t(1.0))
  with pytest.raises(ValueError, match='input_keys must be a list of strings'):
    _SumScale(input_keys='a')


def test_dict_layer_passes_dict_results_through():
  outputs = _ReturnsDict()({'a': _t(1.5)})
  assert list(outputs) == ['doubled'] and _value(outputs, 'doubled') == 3.0


# ----------------------------------------------------------------------------
# Utilities.
# ----------------------------------------------------------------------------
def test_split_to_dict():
  x = np.arange(2 * 3 * 6, dtype=np.float32).reshape(2, 3, 6)
  outputs = nn.split_to_dict(tf.constant(x), (('a', 1), ('b', 3), ('c', 2)))
  assert list(outputs) == ['a', 'b', 'c']
  np.testing.assert_array_equal(outputs['a'], x[..., :1])
  np.testing.assert_array_equal(outputs['b'], x[..., 1:4])
  np.testing.assert_array_equal(outputs['c'], x[..., 4:])
  with pytest.raises(ValueError, match='sum to 5, but the tensor has 6'):
    nn.split_to_dict(tf.constant(x), (('a', 2), ('b', 3)))
  with pytest.raises(ValueError, match='output_splits must be'):
    nn.split_to_dict(tf.constant(x), (('a', 3), ('a', 3)))
  with pytest.raises(ValueError, match=r"output_splits\['b'\]"):
    nn.split_to_dict(tf.constant(x), (('a', 6), ('b', 0)))


def test_ensure_4d_round_trip():
  for shape, shape_4d in (([2, 5], [2, 1, 1, 5]), ([2, 7, 5], [2, 7, 1, 5]),
                          ([2, 7, 3, 5], [2, 7, 3, 5])):
    x = tf.random.normal(shape)
    x4 = nn.ensure_4d(x)
    assert x4.shape.as_list() == shape_4d
    np.testing.assert_array_equal(nn.inv_ensure_4d(x4, len(shape)), x)
  with pytest.raises(ValueError, match='rank'):
    nn.ensure_4d(tf.zeros([3]))


def test_get_nonlinearity():
  x = np.linspace(-3, 3, 13).astype(np.float32)
  np.testing.assert_allclose(nn.get_nonlinearity('relu')(x), np.maximum(x, 0))
  np.testing.assert_allclose(nn.get_nonlinearity('leaky_relu')(x),
                             np.where(x > 0, x, 0.2 * x), rtol=1e-6)
  np.testing.assert_allclose(nn.get_nonlinearity('sigmoid')(x),
                             1 / (1 + np.exp(-x)), rtol=1e-6)
  np.testing.assert_allclose(nn.get_nonlinearity('softplus')(x),
                             np.log1p(np.exp(x)), rtol=1e-5)
  with pytest.raises(ValueError, match="Unknown nonlinearity 'relux'"):
    nn.get_nonlinearity('relux')


# ----------------------------------------------------------------------------
# Normalisation and fully connected layers.
# ----------------------------------------------------------------------------
def _normalize_np(x, n_groups, eps=1e-5):
  b, t, c = x.shape
  g = x.reshape(b, t, n_groups, c // n_groups)
  mean = g.mean(axis=(1, 3), keepdims=True)
  var = g.var(axis=(1, 3), keepdims=True)
  return ((g - mean) / np.sqrt(var + eps)).reshape(b, t, c)


@pytest.mark.parametrize('norm_type,n_groups', [('instance', 64), ('layer', 1),
                                                ('group', 32)])
def test_normalize_op_matches_numpy(norm_type, n_groups):
  rng = np.random.default_rng(0)
  x = (rng.normal(size=(2, 9, 64)) * rng.uniform(0.5, 5, size=64) +
       rng.normal(size=64)).astype(np.float32)
  np.testing.assert_allclose(nn.normalize_op(x, norm_type),
                             _normalize_np(x.astype(np.float64), n_groups),
                             atol=2e-5)
  # The 4-D layout gives the same result.
  np.testing.assert_allclose(nn.normalize_op(x[:, :, None, :], norm_type)[:, :, 0],
                             nn.normalize_op(x, norm_type), atol=1e-6)


def test_normalize_layer_scale_shift_and_errors():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(2, 9, 4)).astype(np.float32)
  layer = nn.Normalize('instance')
  layer.build(x.shape)
  # The original's variable shapes: [1, 1, 1, channels].
  assert [tuple(w.shape) for w in layer.weights] == [(1, 1, 1, 4)] * 2
  scale, shift = rng.normal(size=4), rng.normal(size=4)
  layer.set_weights([scale.reshape(1, 1, 1, 4), shift.reshape(1, 1, 1, 4)])
  np.testing.assert_allclose(layer(x), _normalize_np(x, 4) * scale + shift,
                             atol=2e-5)
  # norm_type=None: the scale and shift only.
  plain = nn.Normalize(None)
  plain.build(x.shape)
  plain.set_weights([scale.reshape(1, 1, 1, 4), shift.reshape(1, 1, 1, 4)])
  np.testing.assert_allclose(plain(x), x * scale + shift, atol=1e-6)
  with pytest.raises(ValueError, match='multiple of 32 channels, got 4'):
    nn.normalize_op(x, 'group')
  with pytest.raises(ValueError, match="norm_type must be one of"):
    nn.Normalize('batchy')


def test_get_norm_takes_the_original_arguments():
  norm = nn.get_norm('group', False, False)
  assert isinstance(norm, nn.Normalize) and norm.norm_type == 'group'
  assert nn.get_norm(None, False, False).norm_type is None
  conditional = nn.get_norm('instance', True, True)
  assert isinstance(conditional, nn.ConditionalNorm)
  assert conditional.norm_type == 'instance' and conditional.shift_only
  x = tf.random.normal([2, 5, 1, 4], seed=3)
  z = tf.random.normal([2, 5, 1, 3], seed=4)
  assert conditional([x, z]).shape == (2, 5, 1, 4)
  # shift_only: one Dense of 4 (shift) outputs, not 8 (scale and shift).
  assert [tuple(w.shape) for w in conditional.weights] == [(3, 4), (4,)]


def _fc_np(x, kernel, bias, gamma, beta):
  y = x @ kernel + bias
  y = (y - y.mean(-1, keepdims=True)) / np.sqrt(y.var(-1, keepdims=True) + 1e-3)
  y = y * gamma + beta
  return np.where(y > 0, y, 0.2 * y)


def _set_fc_weights(fc, rng, n_in):
  weights = [rng.normal(size=(n_in, fc.ch)), rng.normal(size=fc.ch),
             rng.normal(size=fc.ch), rng.normal(size=fc.ch)]
  fc.dense.set_weights(weights[:2])
  fc.norm.set_weights(weights[2:])
  return weights


def test_fc_is_dense_layer_norm_leaky_relu():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(2, 5, 3)).astype(np.float32)
  fc = nn.Fc(ch=6)
  fc(x)
  weights = _set_fc_weights(fc, rng, 3)
  np.testing.assert_allclose(fc(x), _fc_np(x, *weights), atol=1e-4)


def test_fc_stack_chains_fc_layers_and_zero_layers_is_identity():
  rng = np.random.default_rng(3)
  x = rng.normal(size=(2, 5, 3)).astype(np.float32)
  stack = nn.FcStack(ch=4, layers=2)
  stack(x)
  first = _set_fc_weights(stack.fcs[0], rng, 3)
  second = _set_fc_weights(stack.fcs[1], rng, 4)
  np.testing.assert_allclose(stack(x), _fc_np(_fc_np(x, *first), *second),
                             atol=1e-4)
  np.testing.assert_array_equal(nn.FcStack(ch=4, layers=0)(x), x)
  out = nn.FcStackOut(ch=4, layers=1, n_out=7)(x)
  assert out.shape == (2, 5, 7)


# ----------------------------------------------------------------------------
# Recurrent layers.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('rnn_type,state_size', [('gru', 5), ('lstm', 10)])
def test_stateless_rnn_carries_state_across_blocks(rnn_type, state_size):
  x = tf.random.normal([2, 12, 3], seed=4)
  rnn = nn.StatelessRnn(5, rnn_type)
  assert rnn.state_size == state_size
  whole, whole_state = rnn(x, tf.zeros([2, state_size]))
  first, state = rnn(x[:, :7], tf.zeros([2, state_size]))
  second, final_state = rnn(x[:, 7:], state)
  np.testing.assert_allclose(tf.concat([first, second], 1), whole, atol=1e-5)
  np.testing.assert_allclose(final_state, whole_state, atol=1e-5)
  with pytest.raises(ValueError, match=f'state must have {state_size} channels'):
    rnn(x, tf.zeros([2, state_size + 1]))


def test_rnn_shapes_and_directions():
  x = tf.random.normal([2, 6, 3], seed=5)
  assert nn.Rnn(4, 'gru')(x).shape == (2, 6, 4)
  assert nn.Rnn(4, 'lstm', return_sequences=False)(x).shape == (2, 4)
  bidir = nn.Rnn(4, 'gru', bidir=True)
  y = bidir(x)
  assert y.shape == (2, 6, 8)
  # The backward half at frame t depends only on frames >= t.
  x_changed = tf.concat([x[:, :3], x[:, 3:] + 1.0], axis=1)
  y_changed = bidir(x_changed)
  np.testing.assert_allclose(y_changed[:, :3, :4], y[:, :3, :4], atol=1e-6)
  assert not np.allclose(y_changed[:, :3, 4:], y[:, :3, 4:])
  with pytest.raises(ValueError, match="rnn_type must be one of"):
    nn.Rnn(4, 'rnn')


def test_rnn_fc_and_sandwich():
  x = tf.random.normal([2, 6, 3], seed=6)
  # As in magenta/ddsp, bidir is the RNNs' return_sequences: by default
  # only the last frame comes out.
  y = nn.RnnFc(rnn_feat=4, out_feat=5)(x)
  assert y.shape == (2, 5)
  assert np.all((y.numpy() > 0) & (y.numpy() < 1))  # sigmoid output.
  layer = nn.RnnFc(rnn_feat=4, out_feat=5, n_rnn=2, bidir=True)
  assert layer(x).shape == (2, 6, 5)
  assert not any(isinstance(rnn.rnn, keras.layers.Bidirectional)
                 for rnn in layer.rnns)
  with pytest.raises(ValueError, match='rank'):
    nn.RnnFc(rnn_feat=4, out_feat=5, n_rnn=2)(x)
  layer = nn.RnnFc(rnn_feat=4, out_feat=5, n_rnn=2, bidir=True,
                   bidir_as_return_sequences=False)
  assert layer(x).shape == (2, 6, 5)
  assert all(isinstance(rnn.rnn, keras.layers.Bidirectional)
             for rnn in layer.rnns)
  assert nn.RnnSandwich(fc_stack_ch=7, fc_stack_layers=1, rnn_ch=4)(x).shape == (
      2, 6, 7)


# ----------------------------------------------------------------------------
# Dilated convolutions.
# ----------------------------------------------------------------------------
def test_dilated_conv_stack_receptive_field():
  keras.utils.set_random_seed(7)
  kernel_size, dilation, layers_per_stack, stacks = 3, 2, 3, 2
  stack = nn.DilatedConvStack(ch=8, layers_per_stack=layers_per_stack,
                              stacks=stacks, kernel_size=kernel_size,
                              dilation=dilation)
  x = tf.random.normal([1, 64, 2], seed=8)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = stack(x)
    target = tf.reduce_sum(y[0, 32])
  grad = np.abs(tape.gradient(target, x).numpy()[0]).sum(-1)
  # conv_in adds k - 1 frames; each layer adds (k - 1) * dilation**j.
  reach = (kernel_size - 1) * (1 + stacks * sum(
      dilation**j for j in range(layers_per_stack))) // 2
  assert reach == 15
  nonzero = np.nonzero(grad)[0]
  assert nonzero.min() == 32 - reach and nonzero.max() == 32 + reach


def test_dilated_conv_stack_shapes_resampling_and_conditioning():
  x = tf.random.normal([2, 10, 3], seed=9)
  assert nn.DilatedConvStack(ch=8, layers_per_stack=2, stacks=2,
                             norm_type='layer')(x).shape == (2, 10, 8)
  assert nn.DilatedConvStack(
      ch=8, layers_per_stack=1, stacks=2, resample_type='upsample',
      resample_stride=2)(x).shape == (2, 40, 8)
  assert nn.DilatedConvStack(
      ch=8, layers_per_stack=1, stacks=2, resample_type='downsample',
      resample_stride=2, stacks_per_resample=2)(x).shape == (2, 5, 8)
  assert nn.DilatedConvStack(ch=8, layers_per_stack=1, stacks=1)(
      x[:, :, None, :]).shape == (2, 10, 1, 8)

  stack = nn.DilatedConvStack(ch=8, layers_per_stack=2, stacks=1,
                              norm_type='instance', conditional=True)
  z = tf.random.normal([2, 4, 5], seed=10)
  y = stack([x, z])
  assert y.shape == (2, 10, 8)
  assert not np.allclose(stack([x, z + 1.0]), y)
  with pytest.raises(ValueError, match=r'takes \[x, z\]'):
    stack(x)
  with pytest.raises(ValueError, match='resample_type must be one of'):
    nn.DilatedConvStack(resample_type='sideways')


# ----------------------------------------------------------------------------
# Saving and gin.
# ----------------------------------------------------------------------------
def test_keras_file_round_trip(tmp_path):
  x = tf.random.normal([2, 10, 3], seed=11)
  z = tf.random.normal([2, 10, 5], seed=12)
  model_in = [keras.Input((10, 3)), keras.Input((10, 5))]
  stack = nn.DilatedConvStack(ch=4, layers_per_stack=2, stacks=1,
                              norm_type='layer', conditional=True)
  fc = nn.FcStackOut(ch=4, layers=2, n_out=3)
  rnn = nn.Rnn(3, 'lstm', bidir=True)
  model = keras.Model(model_in, rnn(fc(stack(model_in))))
  expected = model([x, z])
  model.save(tmp_path / 'm.keras')
  loaded = keras.saving.load_model(tmp_path / 'm.keras')
  np.testing.assert_allclose(loaded([x, z]), expected, atol=1e-6)


@gin.configurable('test_nn_built_layer')
def _built_layer(layer=gin.REQUIRED):
  return layer


def test_gin_names_resolve_with_the_module_prefix():
  gin.parse_config("""
      test_nn_built_layer.layer = @nn.FcStack()
      nn.FcStack.ch = 5
      FcStack.layers = 1
  """)
  try:
    stack = _built_layer()
    assert isinstance(stack, nn.FcStack)
    assert stack(tf.zeros([1, 2, 3])).shape == (1, 2, 5)
    assert len(stack.fcs) == 1
  finally:
    gin.clear_config()


def test_polyphase_resample_groups_frames_into_channels():
  """Down: out[b, t, j * C + c] = x[b, t * stride + j, c]; up inverts it;
  sizes stride does not divide are padded with zeros or trimmed."""
  from ddsp_tf.training import nn as nn_lib  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  x = rng.standard_normal((2, 7, 3)).astype(np.float32)
  down = np.asarray(nn_lib.polyphase_resample(x, 2, 'down', 'pad'))
  padded = np.concatenate([x, np.zeros((2, 1, 3), np.float32)], axis=1)
  assert down.shape == (2, 4, 6)
  for t in range(4):
    for j in range(2):
      np.testing.assert_array_equal(down[:, t, j * 3:(j + 1) * 3],
                                    padded[:, 2 * t + j])
  trimmed = np.asarray(nn_lib.polyphase_resample(x, 2, 'down', 'trim'))
  np.testing.assert_array_equal(trimmed, down[:, :3])
  up = np.asarray(nn_lib.polyphase_resample(down, 2, 'up'))
  np.testing.assert_array_equal(up, padded)
  layer = nn_lib.PolyphaseResample(stride=4, resample_type='up',
                                   trim_or_pad='trim')
  assert layer(np.zeros((1, 5, 9), np.float32)).shape == (1, 20, 2)
  assert nn_lib.PolyphaseResample.from_config(layer.get_config()).stride == 4
  with pytest.raises(ValueError, match='resample_type'):
    nn_lib.polyphase_resample(x, 2, 'sideways')
  with pytest.raises(ValueError, match='stride'):
    nn_lib.polyphase_resample(x, 0)


def test_dict_layer_input_errors_are_type_errors_as_in_the_original():
  """A missing key is a KeyError and a TypeError (the original's); an input
  given both positionally and in a dict is a TypeError."""
  from ddsp_tf.training import nn as nn_lib  # pylint: disable=g-import-not-at-top

  class Sum(nn_lib.DictLayer):

    def call(self, x1, x2) -> ['y']:
      return x1 + x2

  layer = Sum()
  x = tf.ones([2, 3])
  with pytest.raises(TypeError, match="needs input 'x2'"):
    layer({'x1': x})
  with pytest.raises(KeyError):
    layer({'x1': x})
  with pytest.raises(TypeError, match=r"\['x1'\] twice"):
    layer(x, {'x1': x, 'x2': x})
  np.testing.assert_allclose(layer(x, {'x2': x})['y'], 2 * np.ones([2, 3]))
