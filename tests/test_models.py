"""Tests for ddsp_tf.training.models: the Autoencoder built from gin."""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import effects
from ddsp_tf import losses
from ddsp_tf import processors
from ddsp_tf import synths
from ddsp_tf.training import decoders
from ddsp_tf.training import encoders
from ddsp_tf.training import models
from ddsp_tf.training import preprocessing

SAMPLE_RATE = 16000
N_SAMPLES = 16000
N_FRAMES = 250

# models/solo_instrument.gin at a small size: 1 s examples, small networks,
# a short reverb, and a second (log-magnitude) loss so the total is a sum.
SOLO_INSTRUMENT_SMALL = """
import ddsp_tf
import ddsp_tf.training

get_model.model = @models.Autoencoder()

Autoencoder.preprocessor = @preprocessing.F0LoudnessPreprocessor()
F0LoudnessPreprocessor.time_steps = 250

Autoencoder.encoder = None

Autoencoder.decoder = @decoders.RnnFcDecoder()
RnnFcDecoder.rnn_channels = 32
RnnFcDecoder.rnn_type = 'gru'
RnnFcDecoder.ch = 32
RnnFcDecoder.layers_per_stack = 1
RnnFcDecoder.input_keys = ('ld_scaled', 'f0_scaled')
RnnFcDecoder.output_splits = (('amps', 1),
                              ('harmonic_distribution', 20),
                              ('noise_magnitudes', 33))

Autoencoder.losses = [@losses.SpectralLoss(), @log/losses.SpectralLoss()]
SpectralLoss.loss_type = 'L1'
SpectralLoss.mag_weight = 1.0
log/SpectralLoss.name = 'log_spectral_loss'
log/SpectralLoss.mag_weight = 0.0
log/SpectralLoss.logmag_weight = 1.0

Autoencoder.processor_group = @processors.ProcessorGroup()
ProcessorGroup.dag = [
    (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
    (@synths.FilteredNoise(), ['noise_magnitudes']),
    (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
    (@effects.Reverb(), ['add/signal']),
]
Harmonic.name = 'harmonic'
Harmonic.n_samples = 16000
Harmonic.sample_rate = 16000
Harmonic.normalize_below_nyquist = True
Harmonic.scale_fn = @core.exp_sigmoid
FilteredNoise.name = 'filtered_noise'
FilteredNoise.n_samples = 16000
FilteredNoise.window_size = 0
FilteredNoise.scale_fn = @core.exp_sigmoid
processors.Add.name = 'add'
Reverb.name = 'reverb'
Reverb.reverb_length = 4000
Reverb.trainable = True
"""


def _make_model(extra_bindings: str = '') -> models.Autoencoder:
  gin.parse_config(SOLO_INSTRUMENT_SMALL + extra_bindings)
  try:
    return models.get_model()
  finally:
    gin.clear_config()


def _features(batch=1, f0=220.0):
  """A 1 s harmonic tone (3 partials) with a loudness swell, and features."""
  t = np.arange(N_SAMPLES) / SAMPLE_RATE
  envelope = 0.3 * (1 - np.cos(2 * np.pi * t)) / 2 + 0.05
  tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3))
  audio = np.tile((envelope * tone)[None], (batch, 1)).astype(np.float32)
  return {
      'audio': audio,
      'f0_hz': np.full([batch, N_FRAMES], f0, np.float32),
      'f0_confidence': np.ones([batch, N_FRAMES], np.float32),
      'loudness_db': np.zeros([batch, N_FRAMES], np.float32),
  }


def _deterministic_parts(outputs):
  """Outputs that do not depend on the filtered noise."""
  return {'harmonic': outputs['harmonic']['signal'].numpy(),
          'amps': outputs['amps'].numpy(),
          'noise_magnitudes': outputs['noise_magnitudes'].numpy()}


def _assert_same(parts, other, atol=1e-6):
  for key, value in parts.items():
    np.testing.assert_allclose(other[key], value, atol=atol, err_msg=key)


@pytest.fixture(scope='module', name='model')
def fixture_model():
  model = _make_model()
  model(_features())
  return model


def test_gin_builds_the_solo_instrument_layout(model):
  assert isinstance(model, models.Autoencoder)
  assert isinstance(model.preprocessor, preprocessing.F0LoudnessPreprocessor)
  assert model.encoder is None
  assert isinstance(model.decoder, decoders.RnnFcDecoder)
  assert [type(p) for p in model.processor_group.processors] == [
      synths.Harmonic, synths.FilteredNoise, processors.Add, effects.Reverb]
  assert [loss.name for loss in model.loss_objs] == ['spectral_loss',
                                                     'log_spectral_loss']


def test_forward_returns_outputs_and_losses(model):
  features = _features()
  original = {k: v.copy() for k, v in features.items()}
  outputs, losses_dict = model(features, training=True, return_losses=True)
  for key, value in original.items():  # The caller's dict is untouched.
    np.testing.assert_array_equal(features[key], value)
  assert set(features) == set(original)

  assert outputs['audio_synth'].shape == (1, N_SAMPLES)
  np.testing.assert_array_equal(model.get_audio_from_outputs(outputs),
                                outputs['reverb']['signal'])
  for key in ('inputs', 'audio', 'f0_scaled', 'ld_scaled', 'amps',
              'harmonic_distribution', 'noise_magnitudes', 'harmonic',
              'filtered_noise', 'add', 'reverb', 'out'):
    assert key in outputs, key
  assert outputs['amps'].shape == (1, N_FRAMES, 1)
  assert outputs['harmonic']['controls']['harmonic_distribution'].shape == (
      1, N_FRAMES, 20)

  assert sorted(losses_dict) == ['log_spectral_loss', 'spectral_loss',
                                 'total_loss']
  values = {k: float(v) for k, v in losses_dict.items()}
  assert all(np.isfinite(v) and v > 0 for v in values.values())
  assert values['total_loss'] == pytest.approx(
      values['spectral_loss'] + values['log_spectral_loss'], rel=1e-6)
  # The same loss, computed independently from the two signals.
  expected = losses.SpectralLoss()(outputs['audio'], outputs['audio_synth'])
  assert values['spectral_loss'] == pytest.approx(float(expected), rel=1e-5)
  # Without return_losses only the outputs come back.
  assert isinstance(model(features), dict)


def test_every_trainable_variable_gets_a_gradient(model):
  with tf.GradientTape() as tape:
    _, losses_dict = model(_features(), training=True, return_losses=True)
  variables = model.trainable_variables
  grads = tape.gradient(losses_dict['total_loss'], variables)
  assert any('reverb' in v.path for v in variables)
  for variable, grad in zip(variables, grads):
    assert grad is not None, variable.path
    norm = float(tf.norm(grad))
    assert np.isfinite(norm) and norm > 0, variable.path


def test_tf_function_matches_eager(model):
  features = _features(batch=2)
  eager = _deterministic_parts(model(features, training=False))
  graph_fn = tf.function(lambda f: model(f, training=True, return_losses=True))
  outputs, losses_dict = graph_fn(
      {k: tf.constant(v) for k, v in features.items()})
  # The default Harmonic sums phase in float32 as the original does; traced,
  # TensorFlow may regroup that sum, which moved samples by up to 2e-5 in
  # a run (2026-12-06). ddsp_tf's precise_phase option avoids it.
  _assert_same(eager, _deterministic_parts(outputs), atol=2e-4)
  assert np.isfinite(float(losses_dict['total_loss']))


def test_checkpoint_restores_into_a_fresh_model(model, tmp_path):
  features = _features()
  reverb_ir = model.processor_group.dag_modules['reverb'].trainable_variables[0]
  reverb_ir.assign(tf.random.normal(reverb_ir.shape, stddev=1e-2, seed=1))
  expected = _deterministic_parts(model(features))
  expected_ir = reverb_ir.numpy()
  prefix = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))

  # Restored before the first call (deferred) and from the directory.
  fresh = _make_model()
  status = fresh.restore(str(tmp_path))
  _assert_same(expected, _deterministic_parts(fresh(features)))
  status.assert_existing_objects_matched()
  np.testing.assert_array_equal(
      fresh.processor_group.dag_modules['reverb'].trainable_variables[0],
      expected_ir)

  # Restored after the first call, from the prefix, decoder only.
  partial = _make_model()
  partial(features)
  partial.restore(prefix, restore_keys=['decoder'])
  _assert_same(expected, _deterministic_parts(partial(features)))
  assert not np.allclose(
      partial.processor_group.dag_modules['reverb'].trainable_variables[0],
      expected_ir)


def test_restore_errors(model, tmp_path):
  with pytest.raises(FileNotFoundError, match='No readable checkpoint in the '
                     f'directory {str(tmp_path)!r}'):
    model.restore(str(tmp_path))
  missing = str(tmp_path / 'ckpt-7')
  with pytest.raises(FileNotFoundError, match=f'No checkpoint at {missing!r}'):
    model.restore(missing)
  prefix = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
  with pytest.raises(ValueError, match=r"restore_keys \['encoder'\] are not "
                     'sub-modules'):
    model.restore(prefix, restore_keys=['encoder'])


def test_mirrored_strategy_matches_default(model, tmp_path):
  features = _features()
  prefix = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
  expected = _deterministic_parts(model(features))
  strategy = tf.distribute.MirroredStrategy(['/cpu:0'])
  with strategy.scope():
    mirrored = _make_model()
    mirrored.restore(prefix)

  outputs, losses_dict = strategy.run(
      lambda f: mirrored(f, return_losses=True), args=(features,))
  assert isinstance(mirrored.trainable_variables[0].value,
                    tf.distribute.DistributedValues)
  _assert_same(expected, _deterministic_parts(outputs), atol=1e-5)
  assert np.isfinite(float(losses_dict['total_loss']))


def test_keras_file_round_trip(model, tmp_path):
  features = _features()
  expected = _deterministic_parts(model(features))
  model.save(tmp_path / 'model.keras')
  loaded = keras.saving.load_model(tmp_path / 'model.keras')
  assert isinstance(loaded, models.Autoencoder)
  _assert_same(expected, _deterministic_parts(loaded(features)))


def test_bad_input_gives_clear_errors(model):
  features = _features()
  no_f0 = {k: v for k, v in features.items() if k != 'f0_hz'}
  with pytest.raises(KeyError, match=r"needs input 'f0_hz'.*Available keys: "
                     r"\['audio', 'f0_confidence', 'loudness_db'\]"):
    model(no_f0)
  no_audio = {k: v for k, v in features.items() if k != 'audio'}
  with pytest.raises(ValueError, match='needs an .audio. input'):
    model(no_audio)
  with pytest.raises(ValueError, match='audio must have rank 2'):
    model(dict(features, audio=features['audio'][0]))
  with pytest.raises(ValueError, match='f0_hz has 200 frames'):
    model(dict(features, f0_hz=features['f0_hz'][:, :200]))
  with pytest.raises(ValueError, match='needs a processor_group'):
    models.Autoencoder()
  with pytest.raises(ValueError, match='must have get_losses_dict'):
    models.Autoencoder(processor_group=model.processor_group,
                       losses=[lambda a, b: 0.0])


def test_gin_autoencoder_with_a_z_encoder():
  """The models/ae.gin layout: an MFCC z encoder feeds the decoder."""
  model = _make_model("""
      Autoencoder.encoder = @encoders.MfccTimeDistributedRnnEncoder()
      MfccTimeDistributedRnnEncoder.rnn_channels = 8
      MfccTimeDistributedRnnEncoder.rnn_type = 'gru'
      MfccTimeDistributedRnnEncoder.z_dims = 4
      MfccTimeDistributedRnnEncoder.z_time_steps = 125
      RnnFcDecoder.input_keys = ('ld_scaled', 'f0_scaled', 'z')
  """)
  assert isinstance(model.encoder, encoders.MfccTimeDistributedRnnEncoder)
  outputs = model(_features())
  assert outputs['z'].shape == (1, N_FRAMES, 4)
  assert outputs['audio_synth'].shape == (1, N_SAMPLES)
  assert len(model.decoder.input_stacks) == 3


def test_losses_need_the_audio_feature():
  group = processors.ProcessorGroup(dag=[
      (synths.Harmonic(n_samples=N_SAMPLES), ['amps', 'harmonic_distribution',
                                              'f0_hz'])])
  model = models.Autoencoder(processor_group=group,
                             losses=[losses.SpectralLoss()])
  controls = {'amps': tf.zeros([1, N_FRAMES, 1]),
              'harmonic_distribution': tf.zeros([1, N_FRAMES, 4]),
              'f0_hz': tf.fill([1, N_FRAMES, 1], 200.0)}
  assert model(controls)['audio_synth'].shape == (1, N_SAMPLES)
  with pytest.raises(KeyError, match="features have no 'audio'"):
    model(controls, return_losses=True)


@pytest.mark.slow
def test_tiny_model_overfits_one_second_of_harmonic_audio():
  """The multi-scale spectral loss falls by >= 80% in a few hundred steps."""
  keras.utils.set_random_seed(0)
  model = _make_model("""
      Autoencoder.losses = [@losses.SpectralLoss()]
      SpectralLoss.logmag_weight = 1.0
  """)
  features = {k: tf.constant(v) for k, v in _features().items()}
  optimizer = keras.optimizers.Adam(3e-3)

  @tf.function
  def train_step():
    with tf.GradientTape() as tape:
      _, losses_dict = model(features, training=True, return_losses=True)
    variables = model.trainable_variables
    grads = tape.gradient(losses_dict['total_loss'], variables)
    optimizer.apply_gradients(zip(grads, variables))
    return losses_dict['spectral_loss']

  curve = [float(train_step()) for _ in range(200)]
  final = np.mean(curve[-10:])
  assert final <= 0.2 * curve[0], (curve[0], final)


def test_restore_is_strict_unless_partial(tmp_path):
  """A checkpoint that lacks weights the model has is an error naming them;
  partial=True restores what matches; a checkpoint without a model is an
  error."""
  def build(with_reverb=False):
    dag = [(synths.Harmonic(n_samples=160, name='harmonic'),
            ['amps', 'harmonic_distribution', 'f0_hz'])]
    if with_reverb:
      dag.append((effects.Reverb(trainable=True, reverb_length=16,
                                 name='reverb'), ['harmonic/signal']))
    model = models.Autoencoder(
        preprocessor=preprocessing.F0LoudnessPreprocessor(
            time_steps=10, frame_rate=1000, compute_loudness=False),
        decoder=decoders.RnnFcDecoder(
            rnn_channels=8, ch=8, layers_per_stack=1,
            input_keys=('ld_scaled', 'f0_scaled'),
            output_splits=(('amps', 1), ('harmonic_distribution', 4))),
        processor_group=processors.ProcessorGroup(dag=dag))
    model({'f0_hz': np.full([1, 10], 220.0, np.float32),
           'loudness_db': np.full([1, 10], -30.0, np.float32),
           'audio': np.zeros([1, 160], np.float32)})
    return model

  saved = build()
  tf.train.Checkpoint(model=saved).write(str(tmp_path / 'ckpt-1'))
  other = build()
  other.restore(str(tmp_path / 'ckpt-1'))
  for a, b in zip(saved.weights, other.weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  # A model with a learned reverb the checkpoint does not hold.
  different = build(with_reverb=True)
  with pytest.raises(ValueError, match='does not hold every weight.*'
                     'partial=True'):
    different.restore(str(tmp_path / 'ckpt-1'))
  different.restore(str(tmp_path / 'ckpt-1'), partial=True)
  tf.train.Checkpoint(thing=tf.Variable(1.0)).write(str(tmp_path / 'ckpt-2'))
  with pytest.raises(ValueError, match='holds no model'):
    other.restore(str(tmp_path / 'ckpt-2'))
