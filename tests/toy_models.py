"""Small models and data for the training tests.

They follow the ddsp_tf Model interface the trainer relies on:
`outputs, losses = model(features, training=True, return_losses=True)` with
a 'total_loss' entry, and `get_audio_from_outputs(outputs)`.
"""

import keras
import numpy as np
import tensorflow as tf

from ddsp_tf.training import data

SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE


class ToyModel(keras.Model):
  """Frame-wise MLP from (f0, loudness) to audio; loss = MSE to the audio."""

  def __init__(self, hidden=16, **kwargs):
    super().__init__(**kwargs)
    self.encoder = keras.layers.Dense(hidden, activation='tanh')
    self.decoder = keras.layers.Dense(HOP)

  def call(self, features, training=False):
    inputs = tf.stack([features['f0_hz'] / 1000.0,
                       features['loudness_db'] / 80.0], axis=-1)
    frames = self.decoder(self.encoder(inputs))
    batch, n_frames = tf.shape(frames)[0], tf.shape(frames)[1]
    audio = tf.reshape(frames, [batch, n_frames * HOP])
    return {'audio_synth': audio, 'f0_hz': features['f0_hz']}

  def __call__(self, features, training=False, return_losses=False):
    outputs = super().__call__(features, training=training)
    if not return_losses:
      return outputs
    mse = tf.reduce_mean(tf.square(outputs['audio_synth'] - features['audio']))
    return outputs, {'mse_loss': mse, 'total_loss': mse}

  def get_audio_from_outputs(self, outputs):
    return outputs['audio_synth']


def toy_examples(n_examples=8, n_frames=20, seed=0, nan_example=None):
  """Sines with known pitch and level; optionally one NaN example.

  Each pitch is a multiple of the frame rate, so every frame holds the same
  waveform chunk and the frame-wise ToyModel can learn it.
  """
  rng = np.random.default_rng(seed)
  f0 = rng.choice([FRAME_RATE, 2 * FRAME_RATE, 4 * FRAME_RATE],
                  n_examples).astype(np.float32)
  amp = rng.uniform(0.1, 0.5, n_examples).astype(np.float32)
  t = np.arange(n_frames * HOP) / SAMPLE_RATE
  audio = (amp[:, None] * np.sin(2 * np.pi * f0[:, None] * t)).astype(
      np.float32)
  examples = {
      'audio': audio,
      'f0_hz': np.repeat(f0[:, None], n_frames, axis=1),
      'loudness_db': np.repeat(20 * np.log10(amp[:, None] / np.sqrt(2)),
                               n_frames, axis=1).astype(np.float32),
  }
  if nan_example is not None:
    examples['audio'][nan_example] = np.nan
  return examples


class ArrayProvider(data.DataProvider):
  """A DataProvider over in-memory arrays (shuffle keeps the order)."""

  def __init__(self, examples, sample_rate=SAMPLE_RATE, frame_rate=FRAME_RATE):
    super().__init__(sample_rate, frame_rate)
    self._examples = examples

  def get_dataset(self, shuffle=True):
    del shuffle
    return tf.data.Dataset.from_tensor_slices(self._examples)
