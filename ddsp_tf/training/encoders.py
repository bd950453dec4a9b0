"""Encoders: features -> a latent z per frame ('z', [batch, n_frames, z_dims]).

A `ZEncoder` computes z from some features (`compute_z`) and resamples it to
the number of frames of 'f0_scaled', so the decoder sees z at the same frame
rate as the other inputs.
"""

from typing import Any, Dict, Optional, Sequence, Text

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.training import nn

# z frames -> (fft_size, overlap) of the MFCCs, for 4 s at 16 kHz.
MFCC_FRAMINGS = {63: (2048, 0.5), 125: (1024, 0.5), 250: (1024, 0.75),
                 500: (512, 0.75), 1000: (256, 0.75)}
_MFCC_ARGS = dict(lo_hz=20.0, hi_hz=8000.0, mel_bins=128, mfcc_bins=30,
                  pad_end=True)


@keras.saving.register_keras_serializable(package='ddsp_tf')
class ZEncoder(nn.DictLayer):
  """Base class: `compute_z(...)` -> z resampled to f0_scaled's frames.

  The input keys are compute_z's argument names (or input_keys), followed by
  'f0_scaled', which sets only the number of output frames.
  """

  def __init__(self, input_keys: Optional[Sequence[Text]] = None, **kwargs):
    """Sets the keys.

    Args:
      input_keys: Keys of compute_z's inputs (default: its argument names).
      **kwargs: Keras layer arguments.
    """
    z_input_keys = nn.check_keys('input_keys', input_keys)
    keys = z_input_keys or nn.get_argument_names(self.compute_z)
    super().__init__(input_keys=list(keys) + ['f0_scaled'],
                     output_keys=['z'], **kwargs)
    self._z_input_keys = z_input_keys

  def compute_z(self, *inputs) -> tf.Tensor:
    """z as [batch, z_dims] or [batch, n_z_frames, z_dims]."""
    raise NotImplementedError(f'{type(self).__name__} must implement '
                              'compute_z.')

  def call(self, *inputs) -> ['z']:
    """z [batch, n_frames, z_dims], n_frames from f0_scaled (the last input)."""
    *z_inputs, f0_scaled = inputs
    f0_scaled = core.tf_float32(f0_scaled)
    validation.check_rank('f0_scaled', f0_scaled, (3,), '[batch, n_frames, 1]')
    return self.expand_z(self.compute_z(*z_inputs), f0_scaled.shape[1])

  @staticmethod
  def expand_z(z: tf.Tensor, time_steps: int) -> tf.Tensor:
    """Adds a time axis to a 2-D z and resamples z to time_steps frames.

    Args:
      z: [batch, z_dims] or [batch, n_z_frames, z_dims].
      time_steps: Output frames.

    Returns:
      [batch, time_steps, z_dims].
    """
    validation.check_rank('z', z, (2, 3), '[batch, (n_frames,) z_dims]')
    if z.shape.rank == 2:
      z = z[:, tf.newaxis, :]
    return core.resample(z, time_steps)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    del config['output_keys']
    config['input_keys'] = self._z_input_keys
    return config


def _normalized_mfccs(norm: nn.Normalize, audio: tf.Tensor, fft_size: int,
                      overlap: float) -> tf.Tensor:
  """30 MFCCs per frame, instance-normalised: [batch, n_frames, 30]."""
  audio = core.tf_float32(audio)
  validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
  mfccs = spectral_ops.compute_mfcc(audio, fft_size=fft_size, overlap=overlap,
                                    **_MFCC_ARGS)
  return norm(mfccs[:, :, tf.newaxis, :])[:, :, 0, :]


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class MfccTimeDistributedRnnEncoder(ZEncoder):
  """MFCCs -> instance norm -> RNN -> Dense(z_dims), one z per MFCC frame.

  The MFCC framing gives z_time_steps frames for 4 s of 16 kHz audio; z is
  then resampled to the frames of f0_scaled.
  """

  def __init__(self, rnn_channels: int = 512, rnn_type: Text = 'gru',
               z_dims: int = 32, z_time_steps: int = 250, **kwargs):
    """Sets the sizes.

    Args:
      rnn_channels: RNN units.
      rnn_type: 'gru' or 'lstm'.
      z_dims: Channels of z.
      z_time_steps: One of 63, 125, 250, 500, 1000; picks the MFCC FFT size
        and overlap (see MFCC_FRAMINGS).
      **kwargs: ZEncoder arguments.

    Raises:
      ValueError: For another z_time_steps.
    """
    if z_time_steps not in MFCC_FRAMINGS:
      raise ValueError(f'z_time_steps must be one of {sorted(MFCC_FRAMINGS)}, '
                       f'got z_time_steps={z_time_steps!r}.')
    super().__init__(**kwargs)
    self.z_time_steps = z_time_steps
    self.fft_size, self.overlap = MFCC_FRAMINGS[z_time_steps]
    self.z_norm = nn.Normalize('instance')
    self.rnn = nn.Rnn(rnn_channels, rnn_type)
    self.dense_out = keras.layers.Dense(validation.check_int('z_dims', z_dims))

  def compute_z(self, audio: tf.Tensor) -> tf.Tensor:
    """audio [batch, n_samples] -> z [batch, n_mfcc_frames, z_dims]."""
    mfccs = _normalized_mfccs(self.z_norm, audio, self.fft_size, self.overlap)
    return self.dense_out(self.rnn(mfccs))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(rnn_channels=self.rnn.dims, rnn_type=self.rnn.rnn_type,
                  z_dims=self.dense_out.units, z_time_steps=self.z_time_steps)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class MfccRnnEncoder(ZEncoder):
  """MFCCs (1024-point, 75% overlap) -> instance norm -> RNN -> Dense(z_dims).

  Without mean_aggregate the RNN's last state is z (one z for the whole
  clip); with it, the time average of the RNN outputs.
  """

  def __init__(self, rnn_channels: int = 512, rnn_type: Text = 'gru',
               z_dims: int = 512, mean_aggregate: bool = False, **kwargs):
    """Sets the sizes.

    Args:
      rnn_channels: RNN units.
      rnn_type: 'gru' or 'lstm'.
      z_dims: Channels of z.
      mean_aggregate: Average the RNN outputs over time instead of taking
        the last one.
      **kwargs: ZEncoder arguments.
    """
    super().__init__(**kwargs)
    self.mean_aggregate = mean_aggregate
    self.z_norm = nn.Normalize('instance')
    self.rnn = nn.Rnn(rnn_channels, rnn_type, return_sequences=mean_aggregate)
    self.dense_out = keras.layers.Dense(validation.check_int('z_dims', z_dims))

  def compute_z(self, audio: tf.Tensor) -> tf.Tensor:
    """audio [batch, n_samples] -> z [batch, z_dims]."""
    z = self.rnn(_normalized_mfccs(self.z_norm, audio, 1024, 0.75))
    if self.mean_aggregate:
      z = tf.reduce_mean(z, axis=1)
    return self.dense_out(z)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(rnn_channels=self.rnn.dims, rnn_type=self.rnn.rnn_type,
                  z_dims=self.dense_out.units,
                  mean_aggregate=self.mean_aggregate)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class AggregateFeaturesEncoder(ZEncoder):
  """An FcStack over [f0_scaled, ld_scaled], averaged over time: one z."""

  def __init__(self, ch: int = 512, **kwargs):
    """Sets the size.

    Args:
      ch: Channels of the stack and of z.
      **kwargs: ZEncoder arguments.
    """
    super().__init__(**kwargs)
    self.stack = nn.FcStack(ch, layers=2)

  def compute_z(self, f0_scaled: tf.Tensor, ld_scaled: tf.Tensor) -> tf.Tensor:
    """f0_scaled, ld_scaled [batch, n_frames, 1] -> z [batch, ch]."""
    x = tf.concat([core.tf_float32(f0_scaled), core.tf_float32(ld_scaled)],
                  axis=-1)
    return tf.reduce_mean(self.stack(x), axis=1)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['ch'] = self.stack.ch
    return config
