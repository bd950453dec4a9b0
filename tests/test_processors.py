"""Tests for ddsp_tf.processors: Processor, ProcessorGroup, Add, Mix, Crop.

Expected values come from numpy formulas written here (sums, crossfades,
crops, a sine fitted by least squares, a delayed copy for a one-tap IR), not
from earlier outputs of the library.
"""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_helpers import only_layer, save_and_load
from numpy_reference import sigmoid, sine_fit
from ddsp_tf import core
from ddsp_tf import effects
from ddsp_tf import processors
from ddsp_tf import synths

SR = 16000


@pytest.fixture(autouse=True)
def clear_gin_config():
  """Every test starts and ends with an empty gin config."""
  gin.clear_config()
  yield
  gin.clear_config()


# ----------------------------------------------------------------------------
# Processor base class.
# ----------------------------------------------------------------------------
def test_processor_base_is_abstract():
  processor = processors.Processor(name='base')
  with pytest.raises(NotImplementedError, match='get_controls'):
    processor.get_controls(np.ones((1, 4), np.float32))
  with pytest.raises(NotImplementedError, match='get_signal'):
    processor.get_signal(np.ones((1, 4), np.float32))
  with pytest.raises(NotImplementedError):
    processor(np.ones((1, 4), np.float32))


class OnlyControls(processors.Processor):

  def get_controls(self, x):
    return {'x': x}


def test_missing_get_signal_raises():
  with pytest.raises(NotImplementedError, match='get_signal'):
    OnlyControls()(np.ones((1, 4), np.float32))


class Doubler(processors.Processor):
  """get_controls doubles, get_signal adds one: call must chain both."""

  def get_controls(self, x, offset=0.0):
    return {'doubled': core.tf_float32(x) * 2.0 + offset}

  def get_signal(self, doubled):
    return doubled + 1.0


def test_call_chains_controls_and_signal_and_drops_keras_kwargs():
  x = np.array([[1.0, -2.0, 0.5]], np.float32)
  processor = Doubler()
  np.testing.assert_allclose(processor(x), 2 * x + 1)
  np.testing.assert_allclose(processor(x, offset=3.0, training=True),
                             2 * x + 3 + 1)
  outputs = processor(x, return_outputs_dict=True)
  assert set(outputs) == {'signal', 'controls'}
  assert set(outputs['controls']) == {'doubled'}
  np.testing.assert_allclose(outputs['controls']['doubled'], 2 * x)
  np.testing.assert_allclose(outputs['signal'], 2 * x + 1)


def test_processors_compute_in_float32_under_mixed_precision():
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy('mixed_float16')
  try:
    add = processors.Add()
    out = add(np.full((1, 3), 1.0 / 3.0, np.float32),
              np.full((1, 3), 1e-4, np.float32))
  finally:
    keras.config.set_dtype_policy(previous)
  assert out.dtype == tf.float32
  np.testing.assert_allclose(out, 1.0 / 3.0 + 1e-4, rtol=1e-6)


# ----------------------------------------------------------------------------
# Add.
# ----------------------------------------------------------------------------
def test_add_output_is_sum():
  one = np.ones((2, 3), np.float32)
  two = np.full((2, 3), 2.0, np.float32)
  np.testing.assert_array_equal(processors.Add(name='add')(one, two),
                                np.full((2, 3), 3.0))
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(2, 2, 100)).astype(np.float32)
  outputs = processors.Add()(a, b, return_outputs_dict=True)
  np.testing.assert_allclose(outputs['signal'], a + b, rtol=1e-6)
  np.testing.assert_array_equal(outputs['controls']['signal_one'], a)
  np.testing.assert_array_equal(outputs['controls']['signal_two'], b)


def test_add_shape_mismatch_raises():
  with pytest.raises(ValueError, match=r'\[2, 3\].*\[2, 4\]'):
    processors.Add()(np.ones((2, 3), np.float32), np.ones((2, 4), np.float32))


# ----------------------------------------------------------------------------
# Mix.
# ----------------------------------------------------------------------------
def two_noises(n_samples=64000, batch=1, seed=0):
  rng = np.random.default_rng(seed)
  return (rng.standard_normal((batch, n_samples)).astype(np.float32),
          rng.standard_normal((batch, n_samples)).astype(np.float32))


@pytest.mark.parametrize('logit', [-8.0, -2.0, -0.5, 0.0, 0.5, 2.0, 8.0])
def test_mix_is_constant_power_for_independent_signals(logit):
  """For independent unit-variance signals the output power stays at 1.

  With 64000 samples the sample variance has standard deviation
  sqrt(2 / 64000) = 0.0056 and the cross term 2 sqrt(m (1 - m)) <s1 s2> at
  most 1 / sqrt(64000) = 0.004, so a 3% tolerance is > 4 sigma. The
  original's sqrt|m| * s1 + (1 - sqrt|m - 1|) * s2 gives power 0.59 at m=0.5
  and would fail.
  """
  s1, s2 = two_noises()
  levels = np.full((1, 50, 1), logit, np.float32)
  out = processors.Mix(constant_power=True)(s1, s2, levels).numpy()
  assert abs(np.mean(out**2) - 1.0) < 0.03


def test_mix_matches_constant_power_formula():
  """Constant logits per example: out = sqrt(m) s1 + sqrt(1 - m) s2."""
  s1, s2 = two_noises(n_samples=1000, batch=3, seed=1)
  logits = np.array([-3.0, 0.0, 1.5], np.float32)
  levels = np.tile(logits[:, None, None], [1, 10, 1])
  outputs = processors.Mix(constant_power=True)(s1, s2, levels, return_outputs_dict=True)
  m = sigmoid(logits)[:, None]
  expected = np.sqrt(m) * s1 + np.sqrt(1.0 - m) * s2
  np.testing.assert_allclose(outputs['signal'], expected, rtol=1e-5,
                             atol=1e-5)
  assert outputs['controls']['mix_level'].shape == (3, 1000, 1)
  np.testing.assert_allclose(outputs['controls']['mix_level'][..., 0],
                             np.broadcast_to(m, (3, 1000)), rtol=1e-6)


def test_mix_time_varying_level_is_sigmoid_then_linear_upsampling():
  """Frame-rate logits: sigmoid per frame, then linear interpolation.

  Output sample n sits at frame position n * n_frames / n_samples and the
  last frame is held to the end (the resample convention for controls).
  """
  n_frames, n_samples = 8, 800
  s1, s2 = two_noises(n_samples=n_samples, seed=2)
  logits = np.linspace(-4.0, 4.0, n_frames).astype(np.float32)
  out = processors.Mix(constant_power=True)(s1, s2, logits[None, :, None]).numpy()
  positions = np.arange(n_samples) * n_frames / n_samples
  m = np.interp(positions, np.arange(n_frames), sigmoid(logits))
  expected = np.sqrt(m) * s1[0] + np.sqrt(1.0 - m) * s2[0]
  np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-5)


def test_mix_extremes_select_one_signal():
  s1, s2 = two_noises(n_samples=100, seed=3)
  ones = np.ones((1, 4, 1), np.float32)
  np.testing.assert_allclose(processors.Mix(constant_power=True)(s1, s2, 30.0 * ones), s1,
                             atol=1e-6)
  np.testing.assert_allclose(processors.Mix(constant_power=True)(s1, s2, -30.0 * ones), s2,
                             atol=1e-6)


def test_mix_multichannel_signals_like_original():
  one = np.ones((2, 100, 3), np.float32)
  two = np.full((2, 100, 3), 2.0, np.float32)
  out = processors.Mix(constant_power=True)(one, two, np.full((2, 100, 1), 0.1, np.float32))
  assert out.shape == (2, 100, 3)
  m = sigmoid(0.1)
  np.testing.assert_allclose(out, np.sqrt(m) + 2 * np.sqrt(1 - m), rtol=1e-5)


def test_mix_bad_shapes_raise():
  s1, s2 = two_noises(n_samples=100)
  with pytest.raises(ValueError, match=r'\[1, 100\].*\[1, 99\]'):
    processors.Mix(constant_power=True)(s1, s2[:, :99], np.zeros((1, 4, 1), np.float32))
  with pytest.raises(ValueError, match=r'nn_out_mix_level.*\[1, 4\]'):
    processors.Mix(constant_power=True)(s1, s2, np.zeros((1, 4), np.float32))


# ----------------------------------------------------------------------------
# Crop.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('location, start, stop', [
    ('front', 6, 100), ('back', 0, 94), ('center', 3, 97)])
@pytest.mark.parametrize('frame_size', [6, 7])  # Both remove 2 * 3 samples.
def test_crop_lengths_and_contents(location, start, stop, frame_size):
  audio = np.tile(np.arange(100, dtype=np.float32), [2, 1])
  audio[1] *= -1.0
  out = processors.Crop(frame_size, crop_location=location)(audio).numpy()
  assert out.shape == (2, 94)
  np.testing.assert_array_equal(out, audio[:, start:stop])


@pytest.mark.parametrize('frame_size', [0, 1])
def test_crop_of_less_than_two_samples_is_identity(frame_size):
  audio = np.arange(10, dtype=np.float32)[None]
  np.testing.assert_array_equal(
      processors.Crop(frame_size, crop_location='center')(audio), audio)


def test_crop_bad_arguments_raise():
  with pytest.raises(ValueError, match='middle'):
    processors.Crop(8, crop_location='middle')
  with pytest.raises(ValueError, match='-2'):
    processors.Crop(-2)


# ----------------------------------------------------------------------------
# ProcessorGroup.
# ----------------------------------------------------------------------------
@gin.configurable
def make_processor_group(processor_group=gin.REQUIRED):
  return processor_group


SOLO_INSTRUMENT_GIN = """
make_processor_group.processor_group = @processors.ProcessorGroup()
processors.ProcessorGroup.dag = [
    (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
    (@synths.FilteredNoise(), ['noise_magnitudes']),
    (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
    (@effects.Reverb(), ['add/signal']),
]
synths.Harmonic.n_samples = 16000
synths.Harmonic.sample_rate = 16000
synths.Harmonic.normalize_below_nyquist = True
synths.FilteredNoise.n_samples = 16000
synths.FilteredNoise.window_size = 0
synths.FilteredNoise.initial_bias = -5.0
effects.Reverb.trainable = True
effects.Reverb.reverb_length = 2000
effects.Reverb.add_dry = True
"""

SOLO_KEYS = [
    'inputs/amps', 'inputs/harmonic_distribution', 'inputs/f0_hz',
    'inputs/noise_magnitudes',
    'amps', 'harmonic_distribution', 'f0_hz', 'noise_magnitudes',
    'harmonic/signal', 'harmonic/controls/amplitudes',
    'harmonic/controls/harmonic_distribution', 'harmonic/controls/f0_hz',
    'filtered_noise/signal', 'filtered_noise/controls/magnitudes',
    'add/signal', 'add/controls/signal_one', 'add/controls/signal_two',
    'reverb/signal', 'reverb/controls/audio', 'reverb/controls/ir',
    'out/signal', 'out/controls/audio', 'out/controls/ir',
]


def solo_inputs(batch=2, n_frames=100, n_harmonics=20, n_bands=65, seed=0):
  rng = np.random.default_rng(seed)
  return {
      'amps': rng.normal(size=(batch, n_frames, 1)).astype(np.float32),
      'harmonic_distribution': rng.normal(
          size=(batch, n_frames, n_harmonics)).astype(np.float32),
      'f0_hz': (200.0 + 20 * rng.normal(size=(batch, n_frames, 1))).astype(
          np.float32),
      'noise_magnitudes': rng.normal(
          size=(batch, n_frames, n_bands)).astype(np.float32),
  }


def test_processor_group_from_gin_returns_every_intermediate_signal():
  gin.parse_config(SOLO_INSTRUMENT_GIN)
  group = make_processor_group()
  assert isinstance(group, processors.ProcessorGroup)
  assert [type(p) for p in group.processors] == [
      synths.Harmonic, synths.FilteredNoise, processors.Add, effects.Reverb]
  harmonic, noise, _, reverb = group.processors
  assert harmonic.n_samples == 16000 and noise.n_samples == 16000
  assert noise.window_size == 0 and reverb.trainable
  assert reverb.reverb_length == 2000

  inputs = solo_inputs()
  outputs = group(inputs, return_outputs_dict=True)
  assert set(outputs) == {'signal', 'controls'}
  controls = outputs['controls']
  assert sorted(core.nested_keys(controls)) == sorted(SOLO_KEYS)
  for key in SOLO_KEYS:
    value = core.nested_lookup(key, controls)
    assert np.all(np.isfinite(value)), key
  for key in ('harmonic/signal', 'filtered_noise/signal', 'add/signal',
              'reverb/signal', 'out/signal'):
    assert core.nested_lookup(key, controls).shape == (2, 16000), key
  assert controls['reverb']['controls']['ir'].shape == (2, 2000)
  np.testing.assert_allclose(
      controls['add']['signal'],
      controls['harmonic']['signal'] + controls['filtered_noise']['signal'],
      rtol=1e-6, atol=1e-6)
  np.testing.assert_array_equal(outputs['signal'], controls['out']['signal'])
  np.testing.assert_array_equal(outputs['signal'],
                                controls['reverb']['signal'])
  np.testing.assert_array_equal(group.get_signal(controls),
                                controls['reverb']['signal'])


def test_processor_group_wiring_is_numerically_right():
  """Harmonic sine + silent noise -> add -> reverb with a one-tap IR.

  The harmonic output is checked against a fitted sine (amplitude 0.5 at
  440 Hz, residual ~0); the reverb output must be x[n] + 0.5 x[n - 100],
  with the IR's first tap (set to 3.0) ignored because the dry path is
  added separately.
  """
  gin.parse_config(SOLO_INSTRUMENT_GIN)
  gin.parse_config("""
      synths.Harmonic.scale_fn = None
      synths.Harmonic.precise_phase = True
      synths.FilteredNoise.scale_fn = None
  """)
  group = make_processor_group()
  reverb = group.processors[-1]
  reverb.build()
  ir = np.zeros(2000, np.float32)
  ir[0], ir[100] = 3.0, 0.5
  reverb.set_weights([ir])

  n_frames = 100
  inputs = {
      'amps': np.full((1, n_frames, 1), 0.5, np.float32),
      'harmonic_distribution': np.tile(
          np.array([1.0, 0.0, 0.0], np.float32), [1, n_frames, 1]),
      'f0_hz': np.full((1, n_frames, 1), 440.0, np.float32),
      'noise_magnitudes': np.zeros((1, n_frames, 65), np.float32),
  }
  controls = group(inputs, return_outputs_dict=True)['controls']
  harmonic = controls['harmonic']['signal'].numpy()[0]
  amplitude, residual = sine_fit(harmonic, 440.0)
  assert abs(amplitude - 0.5) < 1e-3 and residual < 1e-3
  np.testing.assert_array_equal(controls['filtered_noise']['signal'], 0.0)
  expected = harmonic.copy()
  expected[100:] += 0.5 * harmonic[:-100]
  np.testing.assert_allclose(controls['out']['signal'][0], expected,
                             atol=1e-4)


def test_processor_group_missing_input_names_available_keys():
  gin.parse_config(SOLO_INSTRUMENT_GIN)
  group = make_processor_group()
  inputs = solo_inputs()
  del inputs['noise_magnitudes']
  with pytest.raises(KeyError) as error:
    group(inputs)
  message = str(error.value)
  assert 'noise_magnitudes' in message and 'harmonic/signal' in message


@pytest.mark.parametrize('jit_compile', [False, True])
def test_processor_group_in_tf_function(jit_compile):
  harmonic = synths.Harmonic(n_samples=4000, scale_fn=None)
  noise = synths.FilteredNoise(n_samples=4000, scale_fn=None)
  group = processors.ProcessorGroup(dag=[
      (harmonic, ['amps', 'harmonic_distribution', 'f0_hz']),
      (noise, ['noise_magnitudes']),
      (processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
  ])
  n_frames = 40
  inputs = {
      'amps': np.full((1, n_frames, 1), 0.4, np.float32),
      'harmonic_distribution': np.ones((1, n_frames, 1), np.float32),
      'f0_hz': np.full((1, n_frames, 1), 500.0, np.float32),
      # Flat gain 0.1: the noise passes through scaled, power 0.01 / 3.
      'noise_magnitudes': np.full((1, n_frames, 33), 0.1, np.float32),
  }
  run = tf.function(lambda x: group(x, return_outputs_dict=True),
                    jit_compile=jit_compile)
  outputs = run(inputs)
  controls = outputs['controls']
  assert outputs['signal'].shape == (1, 4000)
  amplitude, residual = sine_fit(controls['harmonic']['signal'][0], 500.0)
  assert abs(amplitude - 0.4) < 1e-3 and residual < 1e-3
  noise_power = np.mean(controls['filtered_noise']['signal'].numpy()**2)
  assert abs(noise_power / (0.01 / 3.0) - 1.0) < 0.1
  np.testing.assert_allclose(
      outputs['signal'],
      controls['harmonic']['signal'] + controls['filtered_noise']['signal'],
      atol=1e-6)


def test_processor_group_saves_to_keras_with_weights(tmp_path):
  gin.parse_config(SOLO_INSTRUMENT_GIN)
  group = make_processor_group()
  inputs = {
      'amps': keras.Input(shape=(100, 1), name='amps'),
      'harmonic_distribution': keras.Input(shape=(100, 20),
                                           name='harmonic_distribution'),
      'f0_hz': keras.Input(shape=(100, 1), name='f0_hz'),
      'noise_magnitudes': keras.Input(shape=(100, 65),
                                      name='noise_magnitudes'),
  }
  model = keras.Model(inputs, group(inputs))
  reverb = group.processors[-1]
  # A known IR far from the N(0, 1e-6) initialization.
  ir = (0.3 * np.cos(np.arange(2000) / 7.0) *
        np.exp(-np.arange(2000) / 300.0)).astype(np.float32)
  reverb.set_weights([ir])
  x = solo_inputs()
  tf.random.set_seed(1)
  expected = model(x).numpy()

  loaded = save_and_load(model, tmp_path)
  loaded_group = only_layer(loaded, processors.ProcessorGroup)
  assert [type(p) for p in loaded_group.processors] == [
      synths.Harmonic, synths.FilteredNoise, processors.Add, effects.Reverb]
  assert loaded_group.processors[0].n_samples == 16000
  assert loaded_group.processors[1].window_size == 0
  loaded_reverb = loaded_group.processors[-1]
  assert loaded_reverb.trainable and loaded_reverb.reverb_length == 2000
  np.testing.assert_array_equal(loaded_reverb.get_weights()[0], ir)
  tf.random.set_seed(1)  # Same noise as the first call.
  np.testing.assert_allclose(loaded(x), expected, rtol=1e-5, atol=1e-5)


def test_processor_group_serialize_deserialize():
  group = processors.ProcessorGroup(
      dag=[(processors.Crop(4, crop_location='front'), ['audio']),
           ('adder', ['crop/signal', 'crop/signal'])],
      adder=processors.Add(name='adder'), name='group')
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(group))
  assert isinstance(restored, processors.ProcessorGroup)
  assert [type(p) for p in restored.processors] == [processors.Crop,
                                                    processors.Add]
  audio = np.arange(10, dtype=np.float32)[None]
  np.testing.assert_array_equal(restored({'audio': audio}), 2 * audio[:, 4:])


# ----------------------------------------------------------------------------
# .keras saving of the small processors, checked against numpy.
# ----------------------------------------------------------------------------
def test_add_saves_to_keras(tmp_path):
  a_in = keras.Input(shape=(50,), name='a')
  b_in = keras.Input(shape=(50,), name='b')
  model = keras.Model([a_in, b_in], processors.Add(name='plus')(a_in, b_in))
  loaded = save_and_load(model, tmp_path)
  assert only_layer(loaded, processors.Add).name == 'plus'
  a, b = two_noises(n_samples=50, batch=2)
  np.testing.assert_allclose(loaded([a, b]), a + b, rtol=1e-6)


def test_mix_default_is_the_originals_crossfade():
  """sqrt(m) * one + (1 - sqrt(1 - m)) * two, m = sigmoid(logit)."""
  s1, s2 = two_noises(n_samples=400, batch=2, seed=6)
  logits = np.array([-1.5, 0.0, 3.0, -0.2], np.float32)
  levels = np.tile(logits[None, :, None], [2, 1, 1])
  out = processors.Mix()(s1, s2, levels).numpy()
  m = sigmoid(np.float64(logits))
  # Linear upsampling of 4 frames to 400 samples, holding the last frame.
  positions = np.arange(400) * 4 / 400
  m = np.interp(positions, np.arange(4), m)
  np.testing.assert_allclose(
      out, np.sqrt(m) * s1 + (1.0 - np.sqrt(1.0 - m)) * s2, atol=1e-5)


def test_mix_saves_to_keras(tmp_path):
  inputs = {'one': keras.Input(shape=(400,), name='one'),
            'two': keras.Input(shape=(400,), name='two'),
            'level': keras.Input(shape=(4, 1), name='level')}
  model = keras.Model(inputs, processors.Mix(constant_power=True)(inputs['one'], inputs['two'],
                                               inputs['level']))
  loaded = save_and_load(model, tmp_path)
  only_layer(loaded, processors.Mix)
  s1, s2 = two_noises(n_samples=400, batch=2, seed=5)
  logits = np.array([-1.0, 2.0], np.float32)
  levels = np.tile(logits[:, None, None], [1, 4, 1])
  m = sigmoid(logits)[:, None]
  np.testing.assert_allclose(
      loaded({'one': s1, 'two': s2, 'level': levels}),
      np.sqrt(m) * s1 + np.sqrt(1 - m) * s2, rtol=1e-5, atol=1e-5)


def test_crop_saves_to_keras(tmp_path):
  audio_in = keras.Input(shape=(100,), name='audio')
  crop = processors.Crop(frame_size=9, crop_location='front')
  model = keras.Model(audio_in, crop(audio_in))
  loaded = save_and_load(model, tmp_path)
  loaded_crop = only_layer(loaded, processors.Crop)
  assert (loaded_crop.frame_size, loaded_crop.crop_location) == (9, 'front')
  audio = np.arange(200, dtype=np.float32).reshape(2, 100)
  np.testing.assert_array_equal(loaded(audio), audio[:, 8:])


# ----------------------------------------------------------------------------
# gin.
# ----------------------------------------------------------------------------
@gin.configurable
def make_processor(processor=gin.REQUIRED):
  return processor


@pytest.mark.parametrize('prefix', ['', 'processors.', 'ddsp_tf.processors.'])
def test_processors_gin_bindings(prefix):
  gin.parse_config(f"""
      make_processor.processor = @{prefix}Crop()
      {prefix}Crop.frame_size = 64
      {prefix}Crop.crop_location = 'front'
  """)
  crop = make_processor()
  assert crop.__class__ is processors.Crop
  assert (crop.frame_size, crop.crop_location) == (64, 'front')


@pytest.mark.parametrize('name, cls', [('Add', processors.Add),
                                       ('Mix', processors.Mix),
                                       ('ProcessorGroup',
                                        processors.ProcessorGroup)])
def test_processors_are_gin_registered(name, cls):
  extra = ('processors.ProcessorGroup.dag = []'
           if name == 'ProcessorGroup' else '')
  gin.parse_config(f"""
      make_processor.processor = @processors.{name}()
      processors.{name}.name = 'configured'
      {extra}
  """)
  processor = make_processor()
  assert processor.__class__ is cls
  assert processor.name == 'configured'


def test_gin_built_processor_saves_and_loads(tmp_path):
  """gin registration leaves the class Keras-serializable under its name."""
  gin.parse_config("""
      make_processor.processor = @processors.Crop()
      processors.Crop.frame_size = 4
      processors.Crop.crop_location = 'center'
  """)
  crop = make_processor()
  assert keras.saving.get_registered_name(type(crop)) == 'ddsp_tf>Crop'
  audio_in = keras.Input(shape=(20,))
  path = str(tmp_path / 'crop.keras')
  keras.Model(audio_in, crop(audio_in)).save(path)
  gin.clear_config()  # Loading must not depend on the gin config.
  loaded = keras.models.load_model(path)
  audio = np.arange(20, dtype=np.float32)[None]
  np.testing.assert_array_equal(loaded(audio), audio[:, 2:-2])
  loaded_crop = only_layer(loaded, processors.Crop)
  assert loaded_crop.__class__ is processors.Crop
