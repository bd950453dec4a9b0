"""Tests for ddsp_tf.training.models.inverse_synthesis (DDSP-inv).

The model is built from papers/icml2020/pretrain_model.gin at a small size:
1 s of audio, 32 frames of 20 sinusoids and 17 noise bands. Expected output
and loss names are those magenta/ddsp v3.7.0's InverseSynthesis returns for
that config (recorded by running the original).
"""

import glob
import os

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from benchmarks import inverse_synthesis as inverse_synthesis_benchmark
from data_prep import synthetic_data
from ddsp_tf import losses as losses_lib
from ddsp_tf.training import data
from ddsp_tf.training import eval_util
from ddsp_tf.training import encoders
from ddsp_tf.training import models
from ddsp_tf.training import nn
from ddsp_tf.training import runner
from ddsp_tf.training import train_util
from ddsp_tf.training import trainers

SAMPLE_RATE = 16000
N_SAMPLES = 16000
# 32 frames (16000 samples / hop 512), 20 sinusoids, 17 noise bands: the
# small size that `python -m benchmarks --suite=inverse_synthesis` trains.
N_FRAMES = inverse_synthesis_benchmark.N_FRAMES
N_SINUSOIDS = inverse_synthesis_benchmark.N_SINUSOIDS
N_MAGS = inverse_synthesis_benchmark.N_MAGS
PRETRAIN = ['papers/icml2020/pretrain_model.gin']
PRETRAIN_STEPS = 20
SMALL = list(inverse_synthesis_benchmark.SMALL_SETTINGS)
# The original's output keys for a batch of synthetic controls (without
# 'self_supervised_features', which ddsp_tf adds), and its loss names.
OUTPUT_KEYS = {
    'audio', 'noise_magnitudes', 'sin_audio', 'sin_amps', 'sin_freqs',
    'inputs', 'frequencies', 'amplitudes', 'sinusoidal', 'filtered_noise',
    'add', 'out', 'harm_audio', 'harm_amp', 'harm_dist', 'f0_hz',
    'harm_freqs', 'harm_amps'}
UNSUPERVISED_LOSSES = {'sin_spectral_loss', 'harm_spectral_loss',
                       'kde_consistency_loss', 'total_loss'}
SELF_SUPERVISED_LOSSES = UNSUPERVISED_LOSSES | {
    'ss_kde_consistency_loss', 'ss_filtered_noise_consistency_loss',
    'ss_harm_amp_loss', 'ss_harm_dist_loss', 'ss_f0_hz_loss'}


def _build(gin_files=PRETRAIN, gin_params=()):
  runner.parse_gin(restore_dir='', gin_files=gin_files,
                   gin_params=SMALL + list(gin_params))
  try:
    return models.get_model()
  finally:
    gin.clear_config()


@pytest.fixture(scope='module')
def model():
  return _build()


def _controls(batch_size=2, seed=0):
  np.random.seed(seed)
  controls = synthetic_data.generate_notes_v2(
      n_batch=batch_size, n_timesteps=N_FRAMES, n_harmonics=N_SINUSOIDS,
      n_mags=N_MAGS)
  return {k: tf.cast(v, tf.float32) for k, v in controls.items()}


def _audio(batch_size=1):
  rng = np.random.default_rng(0)
  return 0.1 * rng.standard_normal([batch_size, N_SAMPLES]).astype(
      np.float32)


def _sum_check(losses):
  total = sum(float(v) for k, v in losses.items() if k != 'total_loss')
  assert np.isclose(float(losses['total_loss']), total, rtol=1e-5)


# ----------------------------------------------------------------------------
# Built from the config: outputs and losses as the original's.
# ----------------------------------------------------------------------------
def test_pretrain_config_on_synthetic_controls(model):
  assert isinstance(model, models.InverseSynthesis)
  assert not model.use_reverb  # InverseSynthesis.reverb = False
  controls = _controls()
  outputs, losses = model(controls, training=True, return_losses=True)
  assert set(outputs) == OUTPUT_KEYS | {'self_supervised_features'}
  assert set(losses) == SELF_SUPERVISED_LOSSES
  _sum_check(losses)
  # Pre-training: the audio losses weigh 0.
  assert float(losses['sin_spectral_loss']) == 0.0
  for key, shape in (('audio', [N_SAMPLES]), ('sin_audio', [N_SAMPLES]),
                     ('harm_audio', [N_SAMPLES]),
                     ('sin_amps', [N_FRAMES, N_SINUSOIDS]),
                     ('sin_freqs', [N_FRAMES, N_SINUSOIDS]),
                     ('noise_magnitudes', [N_FRAMES, N_MAGS]),
                     ('harm_amp', [N_FRAMES, 1]), ('f0_hz', [N_FRAMES, 1]),
                     ('harm_dist', [N_FRAMES, N_SINUSOIDS]),
                     ('harm_freqs', [N_FRAMES, N_SINUSOIDS]),
                     ('harm_amps', [N_FRAMES, N_SINUSOIDS])):
    assert outputs[key].shape == [2] + shape, key
  assert model.get_audio_from_outputs(outputs) is outputs['harm_audio']

  # The harmonic series: frequencies k * f0, amplitudes harm_amp * dist.
  k = np.arange(1, N_SINUSOIDS + 1)
  np.testing.assert_allclose(outputs['harm_freqs'],
                             outputs['f0_hz'].numpy() * k, rtol=1e-5)
  np.testing.assert_allclose(
      outputs['harm_amps'],
      outputs['harm_amp'].numpy() * outputs['harm_dist'].numpy(), rtol=1e-5)
  # frequencies_softmax spans 20 Hz to 8 kHz; exp_sigmoid is in (0, 2).
  assert np.all((outputs['sin_freqs'] >= 20.0 - 1e-3) &
                (outputs['sin_freqs'] <= 8000.0 + 1e-2))
  assert np.all((outputs['sin_amps'] > 0) & (outputs['sin_amps'] < 2))
  # The rendered input audio of the synthetic controls is returned.
  ss_audio = outputs['self_supervised_features']['audio']
  np.testing.assert_array_equal(outputs['audio'], ss_audio)


def test_plain_audio_and_zipped_batches(model):
  outputs, losses = model({'audio': _audio(2)}, training=True,
                          return_losses=True)
  assert set(outputs) == OUTPUT_KEYS
  assert set(losses) == UNSUPERVISED_LOSSES
  _sum_check(losses)

  # A (real, synthetic) pair runs as one batch of 1 + 2, split again.
  for pair in (({'audio': _audio(1)}, _controls()),
               (_controls(), {'audio': _audio(1)})):
    outputs, losses = model(pair, training=True, return_losses=True)
    assert set(losses) == SELF_SUPERVISED_LOSSES
    assert model.get_audio_from_outputs(outputs).shape == (1, N_SAMPLES)
    assert outputs['sin_amps'].shape == (1, N_FRAMES, N_SINUSOIDS)
    ss_outputs = outputs['self_supervised_outputs']
    assert ss_outputs['sin_amps'].shape == (2, N_FRAMES, N_SINUSOIDS)
    np.testing.assert_array_equal(
        ss_outputs['audio'], outputs['self_supervised_features']['audio'])
  np.testing.assert_array_equal(outputs['audio'], _audio(1))


def test_synthetic_audio_is_the_controls_sinusoids(model):
  """One 440 Hz sinusoid of amplitude 0.5 and no noise -> that sine."""
  amps = np.zeros([1, N_FRAMES, N_SINUSOIDS], np.float32)
  amps[..., 3] = 0.5
  freqs = np.full([1, N_FRAMES, N_SINUSOIDS], 1000.0, np.float32)
  freqs[..., 3] = 440.0
  audio = model.generate_synthetic_audio({
      'sin_amps': amps, 'sin_freqs': freqs,
      'noise_magnitudes': np.zeros([1, N_FRAMES, N_MAGS], np.float32)})
  audio = audio.numpy()[0]
  assert audio.shape == (N_SAMPLES,)
  middle = audio[2000:-2000]
  np.testing.assert_allclose(np.sqrt(np.mean(middle ** 2)), 0.5 / np.sqrt(2),
                             rtol=0.02)
  spectrum = np.abs(np.fft.rfft(audio * np.hanning(N_SAMPLES)))
  assert np.argmax(spectrum) * SAMPLE_RATE / N_SAMPLES == pytest.approx(
      440.0, abs=1.0)


def test_harmonic_losses_do_not_train_the_sinusoidal_encoder(model):
  """stop_gradient (the default): harmonic errors stay in the harmonic part."""
  controls = _controls()
  encoder_vars = model.sinusoidal_encoder.trainable_variables
  harmonic_vars = model.harmonic_encoder.trainable_variables
  # (Separate tapes: a persistent tape breaks the fused GRU of nn.Rnn.)
  with tf.GradientTape() as tape:
    _, losses = model(controls, training=True, return_losses=True)
  to_encoder, to_harmonic = tape.gradient(losses['ss_f0_hz_loss'],
                                          [encoder_vars, harmonic_vars])
  assert all(g is None for g in to_encoder)
  assert any(g is not None for g in to_harmonic)
  with tf.GradientTape() as tape:
    _, losses = model(controls, training=True, return_losses=True)
  assert any(g is not None for g in tape.gradient(
      losses['ss_kde_consistency_loss'], encoder_vars))


def test_missing_features_are_named(model):
  with pytest.raises(ValueError, match=r"\['audio'\]"):
    model({'f0_hz': np.zeros([1, N_FRAMES, 1], np.float32)})
  controls = _controls()
  partial = {'sin_amps': controls['sin_amps']}
  with pytest.raises(ValueError, match=(
      r"\['f0_hz', 'harm_amp', 'harm_dist', 'noise_magnitudes', "
      r"'sin_freqs'\]")):
    model(partial)
  with pytest.raises(ValueError, match='pair of feature dicts'):
    model([controls, controls, controls])


def _without_build_state(config):
  """A Keras config without the 'build_config' entries (built or not)."""
  if isinstance(config, dict):
    return {k: _without_build_state(v) for k, v in config.items()
            if k != 'build_config'}
  if isinstance(config, list):
    return [_without_build_state(item) for item in config]
  return config


def test_config_round_trip():
  model = models.InverseSynthesis(
      sinusoidal_encoder=encoders.ResnetSinusoidalEncoder(
          size='small', output_splits=(('frequencies', 64 * 4),
                                       ('amplitudes', 4),
                                       ('noise_magnitudes', 5))),
      harmonic_encoder=encoders.SinusoidalToHarmonicEncoder(
          net=nn.RnnSandwich(fc_stack_ch=8, rnn_ch=8), n_harmonics=4),
      losses=[losses_lib.SpectralLoss()],
      sinusoidal_consistency_losses=losses_lib.KDEConsistencyLoss(),
      harmonic_consistency_losses=[losses_lib.HarmonicConsistencyLoss()],
      twm_loss=losses_lib.TWMLoss(), reverb=True, n_samples=8000,
      stop_gradient=False)
  config = model.get_config()
  rebuilt = models.InverseSynthesis.from_config(config)
  assert _without_build_state(rebuilt.get_config()) == _without_build_state(
      config)
  assert rebuilt.use_reverb and rebuilt.reverb.reverb_length == 32000
  assert rebuilt.sinusoidal_synth.n_samples == 8000
  assert [loss.name for loss in rebuilt.harmonic_consistency_losses] == [
      'harmonic_consistency_loss']


# ----------------------------------------------------------------------------
# The pre-training losses and the harmonic encoder against the original.
# ----------------------------------------------------------------------------
def _golden():
  path = os.path.join(os.path.dirname(__file__), 'golden',
                      'inverse_synthesis_golden.npz')
  return dict(np.load(path))


def test_consistency_losses_match_the_original():
  """magenta/ddsp v3.7.0's values (tests/golden/inverse_synthesis_*)."""
  g = _golden()
  args = [g[k] for k in ('amps_a', 'freqs_a', 'amps_b', 'freqs_b')]
  kde = losses_lib.KDEConsistencyLoss(weight_a=1.0, weight_b=1.0,
                                      scale_a=0.1, scale_b=0.1)
  # The NLLs are the amplitude-weighted mean over the source sinusoids
  # (the expected NLL / n), as in the original: 5 sinusoids in a, 4 in b.
  np.testing.assert_allclose(kde.nll(*args, 0.1), g['kde_nll_ab'],
                             rtol=1e-5)
  np.testing.assert_allclose(
      kde.nll(args[2], args[3], args[0], args[1], 0.1), g['kde_nll_ba'],
      rtol=1e-5)
  np.testing.assert_allclose(float(kde(*args)), g['kde_total'], rtol=1e-5)
  kde2 = losses_lib.KDEConsistencyLoss(
      weight_a=0.5, weight_b=2.0, weight_mean_amp=3.0, scale_a=0.3,
      scale_b=0.7)
  np.testing.assert_allclose(float(kde2(*args)), g['kde2_total'], rtol=1e-5)

  harmonic = losses_lib.HarmonicConsistencyLoss(
      amp_weight=1.0, dist_weight=2.0, f0_weight=3.0)
  values = harmonic.get_losses_dict(
      g['harm_amp'], g['harm_amp_t'], g['harm_dist'], g['harm_dist_t'],
      g['f0_hz'], g['f0_hz_t'])
  assert set(values) == {'harm_amp_loss', 'harm_dist_loss', 'f0_hz_loss'}
  for key, value in values.items():
    np.testing.assert_allclose(float(value), g[f'harm_{key}'], rtol=1e-5)
  noise = losses_lib.FilteredNoiseConsistencyLoss(weight=2.0)
  np.testing.assert_allclose(float(noise(g['noise'], g['noise_t'])),
                             g['noise_loss'], rtol=1e-5)


def test_sinusoidal_to_harmonic_encoder_matches_the_original():
  """Same Dense weights as the original's -> the same harmonic controls."""
  g = _golden()
  encoder = encoders.SinusoidalToHarmonicEncoder(
      net=keras.layers.Dense(8), n_harmonics=20, f0_depth=64,
      sample_rate=16000)
  encoder(g['freqs_a'], g['amps_a'])
  for i, layer in enumerate([encoder.net, encoder.amp_out, encoder.hd_out,
                             encoder.f0_out]):
    layer.set_weights([g[f's2h_kernel{i}'], g[f's2h_bias{i}']])
  outputs = encoder(g['freqs_a'], g['amps_a'])
  # Some harmonics are above Nyquist and get no weight.
  assert np.sum(g['s2h_harm_dist'] == 0.0) > 0
  np.testing.assert_allclose(outputs['harm_amp'], g['s2h_harm_amp'],
                             rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(outputs['harm_dist'], g['s2h_harm_dist'],
                             rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(outputs['f0_hz'], g['s2h_f0_hz'], rtol=1e-5)


# ----------------------------------------------------------------------------
# Training on shards from ddsp_tf_generate_synthetic_dataset.
# ----------------------------------------------------------------------------
def _generate_shards(prefix):
  """3 shards of synthetic notes, written by the console script's main."""
  shards = inverse_synthesis_benchmark.write_notes(prefix, 96, seed=7,
                                                   num_shards=3)
  assert shards == sorted(glob.glob(f'{prefix}-*-of-00003'))
  assert len(shards) == 3
  return shards


def _held_out_losses(model, batch):
  tf.random.set_seed(0)  # The same filtered noise in the rendered audio.
  outputs, losses = model(batch, training=False, return_losses=True)
  return outputs, {k: float(v) for k, v in losses.items()}


def _f0_error(outputs, batch):
  """|MIDI error| of f0 on sounding frames, 0 elsewhere, averaged (numpy)."""
  def midi(hz):
    return 69.0 + 12.0 * np.log2(np.maximum(hz, 1e-3) / 440.0)
  sounding = batch['harm_amp'].numpy() >= 1e-4
  error = np.abs(midi(outputs['f0_hz'].numpy()) -
                 midi(batch['f0_hz'].numpy()))
  return float(np.mean(error * sounding))


@pytest.mark.slow
def test_pretraining_on_generated_shards_learns_held_out_notes(tmp_path):
  """Shards from ddsp_tf_generate_synthetic_dataset (96 notes): train on 2,
  hold 1 out. A short pre-training (PRETRAIN_STEPS at the Trainer's default
  learning rate, 1e-3) learns the sinusoids and the noise; the held-out f0
  error is measured (it needs hundreds of steps: see the end)."""
  shards = _generate_shards(str(tmp_path / 'notes.tfrecord'))
  runner.parse_gin(
      restore_dir='',
      gin_files=PRETRAIN + ['papers/icml2020/pretrain_dataset.gin'],
      gin_params=SMALL + [
          "SyntheticNotes.file_pattern = "
          f"'{tmp_path}/notes.tfrecord-0000[01]-of-00003'",
          f'SyntheticNotes.n_timesteps = {N_FRAMES}',
          f'SyntheticNotes.n_harmonics = {N_SINUSOIDS}',
          f'SyntheticNotes.n_mags = {N_MAGS}'])
  tf.keras.utils.set_random_seed(0)
  model = models.get_model()
  provider = gin.query_parameter(
      'train.data_provider').scoped_configurable_fn()
  gin.clear_config()
  assert isinstance(provider, data.SyntheticNotes)
  held_out = data.SyntheticNotes(N_FRAMES, N_SINUSOIDS, N_MAGS,
                                 file_pattern=shards[2])
  batch = next(iter(held_out.get_batch(32, shuffle=False, repeats=1,
                                       drop_remainder=False)))

  outputs, before = _held_out_losses(model, batch)
  # The f0 loss is HarmonicConsistencyLoss's: the f0 error in semitones,
  # counted on the sounding frames (f0_weight 1).
  assert before['ss_f0_hz_loss'] == pytest.approx(_f0_error(outputs, batch),
                                                  rel=1e-4)
  # At 3e-3 the sinusoidal encoder saturates within about 10 steps (its
  # outputs stop depending on the audio), and f0 is never learned.
  trainer = trainers.Trainer(model, tf.distribute.get_strategy(),
                             learning_rate=1e-3)
  train_util.train(provider, trainer, batch_size=8, num_steps=PRETRAIN_STEPS,
                   steps_per_summary=PRETRAIN_STEPS,
                   steps_per_save=PRETRAIN_STEPS,
                   save_dir=str(tmp_path / 'run'))
  assert int(trainer.step.numpy()) == PRETRAIN_STEPS
  outputs, after = _held_out_losses(model, batch)
  for name in ('ss_f0_hz_loss', 'ss_kde_consistency_loss',
               'ss_filtered_noise_consistency_loss'):
    print(f'held-out {name}: {before[name]:.3f} before, {after[name]:.3f} '
          f'after {PRETRAIN_STEPS} steps')
  # The sinusoids and the noise are learned from the synthetic controls.
  assert after['ss_kde_consistency_loss'] < 0.5 * before[
      'ss_kde_consistency_loss']
  assert after['ss_filtered_noise_consistency_loss'] < 0.5 * before[
      'ss_filtered_noise_consistency_loss']
  # f0 comes later, from a random step: an untrained model's f0 error is
  # near that of predicting the median f0 everywhere, and
  # `python -m benchmarks --suite=inverse_synthesis` measured it falling
  # below that anywhere from 400 steps to beyond 1500, depending on the
  # seed (see the README's Benchmarks). So here it is only checked to be
  # measured.
  assert after['ss_f0_hz_loss'] == pytest.approx(_f0_error(outputs, batch),
                                                 rel=1e-4)
  assert np.isfinite(after['ss_f0_hz_loss'])


def test_evaluation_renders_synthetic_batches(model):
  """eval_util gives SyntheticNotes batches audio, confidence and loudness."""
  controls = _controls()
  batch = eval_util.render_synthetic_batch(model, controls)
  assert set(controls) < set(batch)
  assert batch['audio'].shape == (2, N_SAMPLES)
  np.testing.assert_array_equal(batch['f0_confidence'],
                                np.ones([2, N_FRAMES], np.float32))
  # 250 frames per second of the rendered audio, centred.
  assert batch['loudness_db'].shape == (2, N_SAMPLES // 64 + 1)
  assert np.max(np.abs(batch['audio'])) > 0.0
  with pytest.raises(TypeError, match='generate_synthetic_audio'):
    eval_util.render_synthetic_batch(object(), controls)
