"""Tests for the CREPE embedding layer and loss in ddsp_tf.losses."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import crepe
from ddsp_tf import losses
from ddsp_tf import spectral_ops

SAMPLE_RATE = 16000


def _harmonic_tone(f0_hz, seconds=0.5, n_harmonics=4):
  t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
  tone = sum(np.sin(2 * np.pi * k * f0_hz * t) / k
             for k in range(1, n_harmonics + 1))
  return (0.3 * tone).astype(np.float32)


def test_classifier_activations_peak_at_the_tone_pitch():
  # CREPE bin b is centred at 1997.38 + 20 b cents above 10 Hz.
  model = losses.PretrainedCREPE(activation_layer='classifier')
  for f0_hz in (110.0, 440.0):
    activations = model(_harmonic_tone(f0_hz)[np.newaxis]).numpy()[0]
    assert activations.shape[-1] == 360
    expected_bin = (1200 * np.log2(f0_hz / 10.0) - 1997.3794) / 20.0
    middle = activations[2:-2]
    np.testing.assert_allclose(np.argmax(middle, axis=-1), expected_bin,
                               atol=1.0)


def test_frames_follow_the_hop_with_centre_padding():
  audio = np.zeros([2, 5000], np.float32)
  frames = losses.PretrainedCREPE.frame_audio(audio, hop_length=1024)
  # Centre padding adds 1024 samples in all: 1 + 5000 // 1024 frames.
  assert frames.shape == (2, 5, 1024)
  activations = losses.PretrainedCREPE()(audio)
  # conv5-maxpool of tiny: 8 steps x 32 channels per frame.
  assert activations.shape == (2, 5, 256)


def test_embedding_loss_is_zero_for_identical_audio_and_grows_with_detuning():
  loss = losses.PretrainedCREPEEmbeddingLoss()
  target = _harmonic_tone(220.0)[np.newaxis]
  assert float(loss(target, target)) == 0.0
  values = [float(loss(target, _harmonic_tone(220.0 * 2**(c / 1200))[None]))
            for c in (25, 100, 400)]
  assert values[0] < values[1] < values[2]


def test_embedding_loss_weight_uses_the_layer_scale():
  # magenta/ddsp scales the classifier loss by 20 * 130.
  loss = losses.PretrainedCREPEEmbeddingLoss(weight=0.5)
  assert loss.weight == pytest.approx(0.5 * 20 * 130)
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(loss))
  assert restored.weight == pytest.approx(loss.weight)
  assert restored.activation_layer == 'classifier'


def test_embedding_loss_runs_in_tf_function_with_gradients():
  loss = losses.PretrainedCREPEEmbeddingLoss(activation_layer='conv5-maxpool')
  target = tf.constant(_harmonic_tone(220.0)[np.newaxis])
  audio = tf.Variable(_harmonic_tone(233.0)[np.newaxis])

  @tf.function
  def gradient():
    with tf.GradientTape() as tape:
      value = loss(target, audio)
    return value, tape.gradient(value, audio)

  value, grad = gradient()
  assert float(value) > 0.0
  assert np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0.0)


@pytest.mark.parametrize('kwargs, match', [
    ({'activation_layer': 'conv9'}, "activation_layer='conv9'"),
    ({'model_capacity': 'huge'}, "'huge'"),
])
def test_bad_arguments_raise(kwargs, match):
  with pytest.raises(ValueError, match=match):
    losses.PretrainedCREPEEmbeddingLoss(**kwargs)


def test_reset_crepe_reloads_the_model():
  before = crepe.get_model('tiny')
  spectral_ops.reset_crepe()
  after = crepe.get_model('tiny')
  assert after is not before
  np.testing.assert_array_equal(before.get_layer('conv1').get_weights()[0],
                                after.get_layer('conv1').get_weights()[0])
