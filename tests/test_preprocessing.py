"""Tests for ddsp_tf.training.preprocessing against numpy references."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import spectral_ops
from ddsp_tf.training import preprocessing

SAMPLE_RATE = 16000
FRAME_RATE = 250
N_SAMPLES = 16000  # 1 s.
N_FRAMES = 250  # 'same' framing of 1 s at 250 Hz.


def _interp_frames(x, time_steps):
  """Linear resampling with the last frame held, in numpy ([B, T] -> [B, n])."""
  x = np.asarray(x, np.float64)
  positions = np.arange(time_steps) * x.shape[1] / time_steps
  return np.stack([np.interp(positions, np.arange(x.shape[1]), row)
                   for row in x])


def _loudness(audio, padding):
  """spectral_ops.compute_loudness of the test audio at the test's rates."""
  return spectral_ops.compute_loudness(audio, sample_rate=SAMPLE_RATE,
                                       frame_rate=FRAME_RATE,
                                       padding=padding).numpy()


def _features(batch=2):
  """A sine glide with a loudness swell, and matching frame features."""
  t = np.arange(N_SAMPLES) / SAMPLE_RATE
  f0 = np.stack([np.linspace(200, 400, N_FRAMES),
                 np.linspace(500, 300, N_FRAMES)])[:batch]
  f0_samples = np.stack([np.interp(t, np.arange(N_FRAMES) / FRAME_RATE, row)
                         for row in f0])
  phase = 2 * np.pi * np.cumsum(f0_samples, axis=1) / SAMPLE_RATE
  envelope = np.linspace(0.05, 0.8, N_SAMPLES)
  audio = envelope * np.sin(phase)
  return {
      'audio': audio.astype(np.float32),
      'f0_hz': f0.astype(np.float32),
      'loudness_db': np.random.default_rng(0).uniform(
          -80, 0, f0.shape).astype(np.float32),
  }


def test_scale_db_matches_formula():
  db = np.array([-120.0, -80.0, -40.0, -6.0, 0.0, 3.0], np.float32)
  np.testing.assert_allclose(preprocessing.scale_db(db), db / 80.0 + 1.0,
                             rtol=1e-6)
  np.testing.assert_allclose(
      preprocessing.inv_scale_db(preprocessing.scale_db(db)), db, atol=1e-4)


def test_scale_f0_hz_matches_formula():
  hz = np.array([27.5, 110.0, 261.6256, 440.0, 4186.0], np.float32)
  midi = 12 * np.log2(hz / 440.0) + 69
  np.testing.assert_allclose(preprocessing.scale_f0_hz(hz), midi / 127.0,
                             rtol=1e-5)
  assert float(preprocessing.scale_f0_hz(0.0)) == 0.0
  np.testing.assert_allclose(
      preprocessing.inv_scale_f0_hz(preprocessing.scale_f0_hz(hz)), hz,
      rtol=1e-5)


def test_at_least_3d():
  assert preprocessing.at_least_3d(2.0).shape == (1, 1, 1)
  assert preprocessing.at_least_3d(np.zeros(5)).shape == (1, 5, 1)
  assert preprocessing.at_least_3d(np.zeros([2, 5])).shape == (2, 5, 1)
  assert preprocessing.at_least_3d(np.zeros([2, 5, 3])).shape == (2, 5, 3)
  with pytest.raises(ValueError, match='rank'):
    preprocessing.at_least_3d(np.zeros([1, 2, 5, 3]))


@pytest.mark.parametrize('time_steps', [100, 250, 1000])
def test_f0_loudness_preprocessor_recomputes_loudness_and_resamples(
    time_steps):
  features = _features()
  layer = preprocessing.F0LoudnessPreprocessor(time_steps=time_steps)
  outputs = layer(features)
  assert sorted(outputs) == ['f0_hz', 'f0_scaled', 'ld_scaled', 'loudness_db']
  for value in outputs.values():
    assert value.shape == (2, time_steps, 1)

  # Framed 'center' (one frame more than the dataset's 'same' f0) and
  # resampled, as magenta/ddsp does; its loudness_db (random here) is
  # ignored.
  loudness = _loudness(features['audio'], 'center')
  assert loudness.shape == (2, N_FRAMES + 1)
  expected_ld = _interp_frames(loudness, time_steps)
  np.testing.assert_allclose(outputs['loudness_db'][..., 0], expected_ld,
                             atol=1e-3)
  np.testing.assert_allclose(outputs['ld_scaled'][..., 0],
                             expected_ld / 80.0 + 1.0, atol=1e-5)
  expected_f0 = _interp_frames(features['f0_hz'], time_steps)
  np.testing.assert_allclose(outputs['f0_hz'][..., 0], expected_f0, rtol=1e-5)
  np.testing.assert_allclose(
      outputs['f0_scaled'][..., 0],
      (12 * np.log2(expected_f0 / 440.0) + 69) / 127.0, rtol=1e-5)


@pytest.mark.parametrize('time_steps', [250, None])
def test_f0_loudness_preprocessor_matches_f0_framing_when_asked(time_steps):
  features = _features()
  layer = preprocessing.F0LoudnessPreprocessor(time_steps=time_steps,
                                               match_f0_framing=True)
  outputs = layer(features)
  same = _loudness(features['audio'], 'same')
  assert same.shape == (2, N_FRAMES)
  np.testing.assert_allclose(outputs['loudness_db'][..., 0], same, atol=1e-3)
  assert layer.get_config()['match_f0_framing'] is True
  with pytest.raises(ValueError, match="match_f0_framing=.yes."):
    preprocessing.F0LoudnessPreprocessor(match_f0_framing='yes')


def test_f0_loudness_preprocessor_without_time_steps_keeps_f0_frames():
  """The original's 'center' loudness is resampled onto f0's 250 frames."""
  features = _features()
  outputs = preprocessing.F0LoudnessPreprocessor(time_steps=None)(features)
  for value in outputs.values():
    assert value.shape == (2, N_FRAMES, 1)
  centered = _loudness(features['audio'], 'center')
  np.testing.assert_allclose(outputs['loudness_db'][..., 0],
                             _interp_frames(centered, N_FRAMES), atol=1e-3)


def test_f0_loudness_preprocessor_uses_dataset_loudness_when_asked():
  features = _features()
  layer = preprocessing.F0LoudnessPreprocessor(time_steps=100,
                                               compute_loudness=False)
  outputs = layer(features)
  np.testing.assert_allclose(outputs['loudness_db'][..., 0],
                             _interp_frames(features['loudness_db'], 100),
                             atol=1e-4)
  # Without audio only the features are needed.
  no_audio = {k: v for k, v in features.items() if k != 'audio'}
  np.testing.assert_allclose(layer(no_audio)['ld_scaled'],
                             outputs['ld_scaled'])
  f0_hz, loudness_db = layer.invert_scaling(outputs['f0_scaled'],
                                            outputs['ld_scaled'])
  np.testing.assert_allclose(f0_hz, outputs['f0_hz'], rtol=1e-4)
  np.testing.assert_allclose(loudness_db, outputs['loudness_db'], atol=1e-3)


def test_f0_loudness_preprocessor_accepts_centered_frames_in_tf_function():
  features = _features()
  features['f0_hz'] = np.concatenate(
      [features['f0_hz'], features['f0_hz'][:, -1:]], axis=1)  # 251 frames.
  features['loudness_db'] = features['f0_hz'] * 0.0 - 20.0
  layer = preprocessing.F0LoudnessPreprocessor(time_steps=250)
  eager = layer(features)
  graph = tf.function(layer)(
      {k: tf.constant(v) for k, v in features.items()})
  for key in eager:
    np.testing.assert_allclose(graph[key], eager[key], rtol=1e-6)
  # The recomputed loudness is framed 'center' like these features.
  centered = _loudness(features['audio'], 'center')
  np.testing.assert_allclose(eager['loudness_db'][..., 0],
                             _interp_frames(centered, 250), atol=1e-3)


def test_f0_loudness_preprocessor_errors():
  features = _features()
  layer = preprocessing.F0LoudnessPreprocessor(time_steps=250)
  with pytest.raises(ValueError, match=r'f0_hz has 50 frames, but 16000 audio '
                     r'samples at sample_rate=16000 and frame_rate=250 give '
                     r'250 or 251 frames'):
    layer(dict(features, f0_hz=features['f0_hz'][:, :50]))
  with pytest.raises(ValueError, match='needs an .audio. input'):
    layer({k: v for k, v in features.items() if k != 'audio'})
  with pytest.raises(KeyError, match=r"needs input 'f0_hz'.*Available keys: "
                     r"\['audio', 'loudness_db'\]"):
    layer({k: v for k, v in features.items() if k != 'f0_hz'})
  with pytest.raises(ValueError, match=r'audio must have rank 2'):
    layer(dict(features, audio=features['audio'][:, :, None, None]))
  with pytest.raises(ValueError, match='frame_rate must divide sample_rate'):
    preprocessing.F0LoudnessPreprocessor(frame_rate=300)
  with pytest.raises(ValueError, match='time_steps must be an integer'):
    preprocessing.F0LoudnessPreprocessor(time_steps=0)


def test_f0_power_preprocessor():
  features = _features()
  audio, f0 = features['audio'], features['f0_hz']
  layer = preprocessing.F0PowerPreprocessor(time_steps=125)
  power = spectral_ops.compute_power(audio, sample_rate=SAMPLE_RATE,
                                     frame_rate=FRAME_RATE,
                                     frame_size=64).numpy()
  from_audio = layer({'f0_hz': f0, 'audio': audio})
  assert sorted(from_audio) == ['f0_hz', 'f0_scaled', 'pw_db', 'pw_scaled']
  np.testing.assert_allclose(from_audio['pw_db'][..., 0],
                             _interp_frames(power, 125), atol=1e-3)

  given = features['loudness_db']
  for inputs in ({'f0_hz': f0, 'power_db': given},
                 {'f0_hz': f0, 'power_db': given, 'audio': audio}):
    outputs = layer(inputs)
    np.testing.assert_allclose(outputs['pw_db'][..., 0],
                               _interp_frames(given, 125), atol=1e-4)
    np.testing.assert_allclose(outputs['pw_scaled'][..., 0],
                               _interp_frames(given, 125) / 80 + 1, atol=1e-5)
  with pytest.raises(ValueError, match='needs power_db or audio'):
    layer({'f0_hz': f0})
