"""Tests for ddsp_tf.dags: the DAGLayer that runs a graph of modules.

Every numerical expectation is computed here with numpy from weights the test
sets itself, so a wrong wiring (a node fed the wrong key, results stored under
the wrong name, outputs zipped in the wrong order) changes the numbers.
"""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import dags
from ddsp_tf import processors

X_DIMS = 5
Z_DIMS = 3
BATCH = 2


@pytest.fixture(autouse=True)
def clear_gin_config():
  """Every test starts and ends with an empty gin config."""
  gin.clear_config()
  yield
  gin.clear_config()


# ----------------------------------------------------------------------------
# Small modules used as DAG nodes.
# ----------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package='test_dags')
class Encoder(keras.layers.Dense):
  """A dense bottleneck; named 'encoder' by default."""

  def __init__(self, units=Z_DIMS, name='encoder', **kwargs):
    super().__init__(units, name=name, **kwargs)


@keras.saving.register_keras_serializable(package='test_dags')
class Decoder(keras.layers.Dense):
  """A dense reconstruction; named 'decoder' by default."""

  def __init__(self, units=X_DIMS, name='decoder', **kwargs):
    super().__init__(units, name=name, **kwargs)


gin.register(Encoder, module='test_dags')
gin.register(Decoder, module='test_dags')


class SplitHalves(keras.layers.Layer):
  """Returns a tuple (first half of the channels, second half)."""

  def call(self, x):
    half = x.shape[-1] // 2
    return x[..., :half], x[..., half:]


class Combine(keras.layers.Layer):
  """10 * a + b, from two positional inputs."""

  def call(self, a, b):
    return a * 10.0 + b


class TrainingScale(keras.layers.Layer):
  """Doubles its input when training, passes it through otherwise."""

  def call(self, x, training=None):
    return x * 2.0 if training else x


class FakeLoss(keras.layers.Layer):
  """Duck-typed loss: the DAG must call get_losses_dict, not __call__."""

  def call(self, *args, **kwargs):
    raise AssertionError('a loss node must be run through get_losses_dict')

  def get_losses_dict(self, target, value):  # No training/mask arguments.
    return {self.name: tf.reduce_mean(tf.abs(target - value))}


def dense_weights(layer, kernel, bias):
  layer.set_weights([np.asarray(kernel, np.float32),
                     np.asarray(bias, np.float32)])


def random_inputs(seed=0):
  rng = np.random.default_rng(seed)
  return {'x': rng.normal(size=(BATCH, X_DIMS)).astype(np.float32)}


def build_autoencoder_weights(encoder, decoder, seed=1):
  """Builds both layers and gives them known weights; returns them."""
  rng = np.random.default_rng(seed)
  if not encoder.built:
    encoder.build((None, X_DIMS))
  if not decoder.built:
    decoder.build((None, Z_DIMS))
  weights = {
      'we': rng.normal(size=(X_DIMS, Z_DIMS)), 'be': rng.normal(size=Z_DIMS),
      'wd': rng.normal(size=(Z_DIMS, X_DIMS)), 'bd': rng.normal(size=X_DIMS)}
  dense_weights(encoder, weights['we'], weights['be'])
  dense_weights(decoder, weights['wd'], weights['bd'])
  return weights


def numpy_autoencoder(x, w):
  z = x @ w['we'] + w['be']
  return z, z @ w['wd'] + w['bd']


AUTOENCODER_DAG = [
    ('encoder', ['x'], ['z']),
    ('decoder', ['encoder/z'], ['x_hat']),
]


# ----------------------------------------------------------------------------
# Construction: modules as kwargs or inline, and the outputs dict.
# ----------------------------------------------------------------------------
def check_autoencoder_outputs(outputs, inputs, weights):
  assert set(outputs) == {'inputs', 'x', 'encoder', 'decoder', 'out'}
  # The inputs are kept both nested under 'inputs' and at the top level.
  np.testing.assert_array_equal(outputs['inputs']['x'], inputs['x'])
  np.testing.assert_array_equal(outputs['x'], inputs['x'])
  # Non-dict results are zipped with the node's output keys.
  assert set(outputs['encoder']) == {'z'}
  assert set(outputs['decoder']) == {'x_hat'}
  z, x_hat = numpy_autoencoder(inputs['x'].astype(np.float64), weights)
  assert outputs['encoder']['z'].shape == (BATCH, Z_DIMS)
  assert outputs['decoder']['x_hat'].shape == (BATCH, X_DIMS)
  np.testing.assert_allclose(outputs['encoder']['z'], z, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(outputs['decoder']['x_hat'], x_hat, rtol=1e-5,
                             atol=1e-5)
  # 'out' is the last node's result.
  np.testing.assert_array_equal(outputs['out']['x_hat'],
                                outputs['decoder']['x_hat'])


def test_modules_as_kwargs():
  encoder, decoder = Encoder(name='enc_layer'), Decoder(name='dec_layer')
  weights = build_autoencoder_weights(encoder, decoder)
  # Kwarg modules are stored under the kwarg name, not the layer's name.
  dag_layer = dags.DAGLayer(dag=AUTOENCODER_DAG, encoder=encoder,
                            decoder=decoder)
  assert dag_layer.modules == [encoder, decoder]
  inputs = random_inputs()
  check_autoencoder_outputs(dag_layer(inputs), inputs, weights)


def test_modules_inline_are_named_by_layer_name():
  encoder, decoder = Encoder(), Decoder()
  weights = build_autoencoder_weights(encoder, decoder)
  dag_layer = dags.DAGLayer(dag=[
      (encoder, ['x'], ['z']),
      (decoder, ['encoder/z'], ['x_hat']),
  ])
  assert dag_layer.modules == [encoder, decoder]
  inputs = random_inputs()
  check_autoencoder_outputs(dag_layer(inputs), inputs, weights)


@gin.configurable
def make_dag_layer(dag_layer=gin.REQUIRED):
  return dag_layer


def test_modules_inline_from_gin():
  gin.parse_config("""
      make_dag_layer.dag_layer = @dags.DAGLayer()
      dags.DAGLayer.dag = [
          (@test_dags.Encoder(), ['x'], ['z']),
          (@test_dags.Decoder(), ['encoder/z'], ['x_hat']),
      ]
      test_dags.Encoder.units = 3
      test_dags.Decoder.units = 5
  """)
  dag_layer = make_dag_layer()
  assert isinstance(dag_layer, dags.DAGLayer)
  encoder, decoder = dag_layer.modules
  assert isinstance(encoder, Encoder) and isinstance(decoder, Decoder)
  weights = build_autoencoder_weights(encoder, decoder)
  inputs = random_inputs()
  check_autoencoder_outputs(dag_layer(inputs), inputs, weights)


def test_modules_as_kwargs_from_gin():
  gin.parse_config("""
      make_dag_layer.dag_layer = @dags.DAGLayer()
      dags.DAGLayer.dag = [
          ('encoder', ['x'], ['z']),
          ('decoder', ['encoder/z'], ['x_hat']),
      ]
      dags.DAGLayer.encoder = @test_dags.Encoder()
      dags.DAGLayer.decoder = @test_dags.Decoder()
  """)
  dag_layer = make_dag_layer()
  weights = build_autoencoder_weights(*dag_layer.modules)
  inputs = random_inputs()
  check_autoencoder_outputs(dag_layer(inputs), inputs, weights)


def test_nested_lookup_and_zipped_tuple_outputs():
  """A tuple result is zipped with the output keys; '/' reads nested dicts."""
  dag_layer = dags.DAGLayer(dag=[
      (SplitHalves(name='split'), ['features/audio'], ['low', 'high']),
      (Combine(name='combine'), ['split/high', 'split/low'], ['mixed']),
  ])
  audio = np.arange(12, dtype=np.float32).reshape(2, 6)
  outputs = dag_layer({'features': {'audio': audio}})
  np.testing.assert_array_equal(outputs['split']['low'], audio[:, :3])
  np.testing.assert_array_equal(outputs['split']['high'], audio[:, 3:])
  # A single tensor is zipped with the one output key.
  np.testing.assert_array_equal(outputs['combine']['mixed'],
                                audio[:, 3:] * 10.0 + audio[:, :3])
  np.testing.assert_array_equal(outputs['out']['mixed'],
                                outputs['combine']['mixed'])


def test_plain_function_module_given_as_kwarg():
  def min_max(x):
    return tf.reduce_min(x, axis=-1), tf.reduce_max(x, axis=-1)
  dag_layer = dags.DAGLayer(dag=[('stats', ['x'], ['lo', 'hi'])],
                            stats=min_max)
  x = np.array([[3.0, -1.0, 7.0], [0.5, 0.25, 2.0]], np.float32)
  outputs = dag_layer({'x': x})
  np.testing.assert_array_equal(outputs['stats']['lo'], [-1.0, 0.25])
  np.testing.assert_array_equal(outputs['stats']['hi'], [7.0, 2.0])


def test_wrong_number_of_output_keys_raises():
  dag_layer = dags.DAGLayer(dag=[(SplitHalves(name='split'), ['x'],
                                  ['only_one'])])
  with pytest.raises(ValueError, match='only_one'):
    dag_layer({'x': np.ones((1, 4), np.float32)})


def test_tensor_result_without_output_keys_raises():
  """Output keys may only be omitted for modules that return a dict."""
  dag_layer = dags.DAGLayer(dag=[(keras.layers.Identity(name='i'), ['x'])])
  with pytest.raises(ValueError, match=r'keys \[\]'):
    dag_layer({'x': np.ones((1, 4), np.float32)})


def test_processor_nodes_return_signal_and_controls():
  dag_layer = dags.DAGLayer(dag=[(processors.Add(), ['a', 'b'])])
  a = np.full((1, 4), 1.5, np.float32)
  b = np.full((1, 4), 2.0, np.float32)
  outputs = dag_layer({'a': a, 'b': b})
  np.testing.assert_array_equal(outputs['add']['signal'], a + b)
  np.testing.assert_array_equal(outputs['add']['controls']['signal_one'], a)
  np.testing.assert_array_equal(outputs['add']['controls']['signal_two'], b)


def test_loss_nodes_use_get_losses_dict_without_keras_kwargs():
  dag_layer = dags.DAGLayer(dag=[(FakeLoss(name='l1'), ['target', 'value'])])
  target = np.array([[1.0, 2.0, 3.0]], np.float32)
  value = np.array([[1.0, 0.0, 6.0]], np.float32)
  outputs = dag_layer({'target': target, 'value': value}, training=True)
  np.testing.assert_allclose(outputs['l1']['l1'], (0 + 2 + 3) / 3.0)


def test_call_kwargs_reach_every_module():
  dag_layer = dags.DAGLayer(dag=[(TrainingScale(name='scale'), ['x'], ['y'])])
  x = np.ones((1, 3), np.float32)
  np.testing.assert_array_equal(
      dag_layer({'x': x}, training=True)['scale']['y'], 2.0 * x)
  np.testing.assert_array_equal(
      dag_layer({'x': x}, training=False)['scale']['y'], x)


def test_verbose_prints_shapes(capsys):
  dag_layer = dags.DAGLayer(dag=[(SplitHalves(name='split'), ['x'],
                                  ['lo', 'hi'])])
  dag_layer.run_dag({'x': np.ones((2, 8), np.float32)}, verbose=True)
  printed = capsys.readouterr().out
  assert 'split' in printed and '[2, 4]' in printed


def test_format_dag_lists_every_node():
  text = dags.DAGLayer.format_dag([
      ('encoder', ['x'], ['z']),
      (Decoder(), ['encoder/z'], ['x_hat']),
  ])
  lines = text.splitlines()
  assert len(lines) == 2
  assert 'encoder' in lines[0] and "'x'" in lines[0] and "'z'" in lines[0]
  assert 'decoder' in lines[1] and 'encoder/z' in lines[1]


def test_helpers():
  assert dags.is_processor(processors.Add())
  assert not dags.is_processor(keras.layers.Dense(2))
  assert dags.is_loss(FakeLoss())
  assert not dags.is_loss(keras.layers.Dense(2))
  assert dags.is_module(keras.layers.Dense(2)) and dags.is_module(len)
  assert not dags.is_module(3)
  keras_kwargs, other = dags.split_keras_kwargs(
      {'training': True, 'mask': None, 'name': 'n', 'alpha': 1})
  assert keras_kwargs == {'training': True, 'mask': None, 'name': 'n'}
  assert other == {'alpha': 1}
  assert dags.filter_by_value({'a': 1, 'b': -2, 'c': 3},
                              lambda v: v > 0) == {'a': 1, 'c': 3}


# ----------------------------------------------------------------------------
# Errors.
# ----------------------------------------------------------------------------
def test_missing_input_key_lists_available_keys():
  dag_layer = dags.DAGLayer(dag=[
      (SplitHalves(name='split'), ['x'], ['lo', 'hi']),
      (keras.layers.Identity(name='ident'), ['split/middle']),
  ])
  with pytest.raises(KeyError) as error:
    dag_layer({'x': np.ones((1, 4), np.float32)})
  message = str(error.value)
  assert 'split/middle' in message
  for available in ('inputs/x', 'split/lo', 'split/hi'):
    assert available in message


@pytest.mark.parametrize('bad_node, match', [
    ('encoder', 'node 0'),  # A bare string, not a tuple.
    (('encoder', ['x'], ['z'], ['extra']), 'node 0'),  # Four parts.
    (('encoder',), 'node 0'),  # One part.
    (('encoder', 'x', ['z']), "'x'"),  # Input keys as a string.
    (('encoder', ['x'], [3]), r'\[3\]'),  # Non-string output key.
])
def test_bad_node_format_raises(bad_node, match):
  with pytest.raises(ValueError, match=match):
    dags.DAGLayer(dag=[bad_node], encoder=Encoder())


def test_unknown_module_name_raises():
  with pytest.raises(ValueError, match='decodr'):
    dags.DAGLayer(dag=[('decodr', ['x'])], decoder=Decoder())


def test_non_module_node_raises():
  with pytest.raises(ValueError, match='42'):
    dags.DAGLayer(dag=[(42, ['x'])])


def test_duplicate_module_names_raise():
  with pytest.raises(ValueError, match="'dense'"):
    dags.DAGLayer(dag=[
        (keras.layers.Dense(2, name='dense'), ['x']),
        (keras.layers.Dense(2, name='dense'), ['dense']),
    ])


@pytest.mark.parametrize('reserved', ['out', 'inputs'])
def test_reserved_module_names_raise(reserved):
  with pytest.raises(ValueError, match=reserved):
    dags.DAGLayer(dag=[(keras.layers.Dense(2, name=reserved), ['x'])])


def test_non_dict_inputs_raise():
  dag_layer = dags.DAGLayer(dag=[(keras.layers.Identity(name='i'), ['x'])])
  with pytest.raises(ValueError, match='dict'):
    dag_layer.run_dag(np.ones((1, 2), np.float32))


# ----------------------------------------------------------------------------
# Graph mode and serialization.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('jit_compile', [False, True])
def test_runs_in_tf_function(jit_compile):
  encoder, decoder = Encoder(), Decoder()
  weights = build_autoencoder_weights(encoder, decoder)
  dag_layer = dags.DAGLayer(dag=AUTOENCODER_DAG, encoder=encoder,
                            decoder=decoder)
  run = tf.function(dag_layer, jit_compile=jit_compile)
  inputs = random_inputs()
  check_autoencoder_outputs(run(inputs), inputs, weights)


def test_keras_save_and_load_restores_modules_and_weights(tmp_path):
  encoder, decoder = Encoder(), Decoder()
  dag_layer = dags.DAGLayer(dag=AUTOENCODER_DAG, encoder=encoder,
                            decoder=decoder)
  inputs = {'x': keras.Input(shape=(X_DIMS,), name='x')}
  outputs = dag_layer(inputs)
  model = keras.Model(inputs, {'z': outputs['encoder']['z'],
                               'x_hat': outputs['out']['x_hat']})
  # Weights differ from any fresh initialization, so a reload that dropped
  # them would give other numbers.
  weights = build_autoencoder_weights(encoder, decoder, seed=7)
  path = str(tmp_path / 'dag.keras')
  model.save(path)
  del model, dag_layer, encoder, decoder

  loaded = keras.models.load_model(path)
  dag_layers = [l for l in loaded.layers if isinstance(l, dags.DAGLayer)]
  assert len(dag_layers) == 1
  assert [name for name, _, _ in dag_layers[0].dag] == ['encoder', 'decoder']
  assert [type(m) for m in dag_layers[0].modules] == [Encoder, Decoder]
  x = random_inputs(seed=3)
  result = loaded(x)
  z, x_hat = numpy_autoencoder(x['x'].astype(np.float64), weights)
  np.testing.assert_allclose(result['z'], z, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(result['x_hat'], x_hat, rtol=1e-5, atol=1e-5)


def test_serialize_deserialize_round_trip():
  dag_layer = dags.DAGLayer(
      dag=[(Encoder(units=4), ['x'], ['z']),
           ('stats', ['encoder/z'], ['out_z'])],
      stats=keras.layers.Identity(name='identity'), name='my_dag')
  config = keras.saving.serialize_keras_object(dag_layer)
  restored = keras.saving.deserialize_keras_object(config)
  assert isinstance(restored, dags.DAGLayer)
  assert restored.name == 'my_dag'
  assert restored.dag == [('encoder', ['x'], ['z']),
                          ('stats', ['encoder/z'], ['out_z'])]
  assert isinstance(restored.modules[0], Encoder)
  assert restored.modules[0].units == 4
  assert isinstance(restored.modules[1], keras.layers.Identity)


def test_modules_by_name_as_attributes_and_loss_names():
  """magenta/ddsp's DAGLayer sets its modules as attributes, and LossGroup
  lists loss_names."""
  from ddsp_tf import losses  # pylint: disable=g-import-not-at-top
  from ddsp_tf import synths  # pylint: disable=g-import-not-at-top
  harmonic = synths.Harmonic(n_samples=1600, name='harmonic')
  group = processors.ProcessorGroup(dag=[
      (harmonic, ['amps', 'harmonic_distribution', 'f0_hz'])])
  assert group.harmonic is harmonic
  assert group.module_names == ['harmonic']
  with pytest.raises(AttributeError, match='no attribute .reverb.'):
    group.reverb  # pylint: disable=pointless-statement
  spectral = losses.SpectralLoss(name='spectral_loss')
  other = losses.SpectralLoss(name='coarse', fft_sizes=(512,))
  group = losses.LossGroup(dag=[(spectral, ['audio', 'audio_synth']),
                                (other, ['audio', 'audio_synth'])])
  assert group.loss_names == ['spectral_loss', 'coarse']
  assert group.spectral_loss is spectral
  outputs = group({'audio': tf.ones([1, 4000]),
                   'audio_synth': tf.ones([1, 4000])})
  assert sorted(outputs) == ['coarse', 'spectral_loss']
  assert float(outputs['spectral_loss']) == pytest.approx(0.0, abs=1e-6)


def test_variables_of_legacy_tf_keras_modules_are_collected():
  """A legacy tf.keras layer (tf_keras, as magenta/ddsp's configs build with
  TF_USE_LEGACY_KERAS=1) is a tf.Module Keras 3 does not track: the DAG
  layer still lists its weights, and gradients reach them."""
  tf_keras = pytest.importorskip('tf_keras')
  encoder = tf_keras.layers.Dense(3, name='encoder')
  decoder = tf_keras.layers.Dense(5, name='decoder')
  layer = dags.DAGLayer(dag=[(encoder, ['inputs/x'], ['z']),
                             (decoder, ['encoder/z'], ['y'])])
  x = tf.ones([4, 5])
  with tf.GradientTape() as tape:
    outputs = layer({'x': x})
    loss = tf.reduce_sum(outputs['out']['y'])
  assert outputs['out']['y'].shape == (4, 5)
  expected = [id(v) for v in encoder.weights + decoder.weights]
  assert len(expected) == 4
  for variables in (layer.trainable_variables, layer.weights,
                    layer.variables, layer.trainable_weights):
    assert sorted(id(v) for v in variables) == sorted(expected)
  gradients = tape.gradient(loss, layer.trainable_variables)
  # d sum(y) / d bias of the decoder: one per example and output.
  bias = [id(v) for v in layer.trainable_variables].index(id(decoder.bias))
  np.testing.assert_allclose(gradients[bias], np.full(5, 4.0))
  layer.trainable = False
  assert not layer.trainable_variables
