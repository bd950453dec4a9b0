"""MIDI encoders: frame-wise features -> un-quantised pitch and velocity.

These are the encoders of the MIDI autoencoders: a network (`net`) runs over
the concatenated inputs, a layer `Normalize` and a Dense layer give two
channels, z_pitch and z_vel, each [batch, n_frames, 1]. With f0_residual the
network only predicts the change from the input pitch f0_midi.

The classes are re-exported by, and documented as part of,
`ddsp_tf.training.encoders`; their gin names are `encoders.*`.
"""

from typing import Any, Dict, Optional, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf.training import nn
from ddsp_tf.training.net_layers import NetMixin
from ddsp_tf.training.net_layers import frame_features

_GIN_MODULE = 'ddsp_tf.training.encoders'


class _MidiEncoderBase(NetMixin, nn.DictLayer):
  """net -> layer Normalize -> Dense(2) -> (z_pitch [+ f0_midi], z_vel)."""

  def __init__(self, net: Optional[keras.layers.Layer] = None,
               f0_residual: bool = True, **kwargs):
    """Sets the network.

    Args:
      net: Layer mapping [batch, n_frames, channels_in] to [batch, n_frames,
        channels], e.g. nn.DilatedConvStack. Required to call the layer.
      f0_residual: Add f0_midi to the predicted pitch.
      **kwargs: DictLayer arguments (input_keys, output_keys, name, ...).
    """
    super().__init__(**kwargs)
    self.set_net(net)
    self.f0_residual = bool(f0_residual)
    self.norm = nn.Normalize('layer')
    self.dense_out = keras.layers.Dense(2)

  def encode(self, f0_midi: tf.Tensor,
             *features: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """(z_pitch, z_vel), each [batch, n_frames, 1], from checked inputs."""
    x = tf.concat([f0_midi, *features], axis=-1)
    x = self.dense_out(self.norm(self.run_net(x)))
    z_pitch, z_vel = x[..., 0:1], x[..., 1:2]
    if self.f0_residual:
      z_pitch += f0_midi
    return z_pitch, z_vel

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(self.net_config(), f0_residual=self.f0_residual)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module=_GIN_MODULE)
class MidiEncoder(_MidiEncoderBase):
  """f0 (MIDI) and loudness (dB) -> z_pitch, z_vel.

  Input shape:
    f0_midi, loudness: [batch, n_frames, 1].

  Output shape:
    {'z_pitch', 'z_vel'}: [batch, n_frames, 1].
  """

  def call(self, f0_midi: tf.Tensor, loudness: tf.Tensor) -> ['z_pitch',
                                                                'z_vel']:
    """Encodes f0 and loudness.

    Args:
      f0_midi: Pitch in MIDI, [batch, n_frames, 1].
      loudness: Loudness in dB, [batch, n_frames, 1].

    Returns:
      (z_pitch, z_vel), each [batch, n_frames, 1]: un-quantised pitch (MIDI)
      and velocity.
    """
    return self.encode(frame_features('f0_midi', f0_midi),
                       frame_features('loudness', loudness))


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module=_GIN_MODULE)
class HarmonicToMidiEncoder(_MidiEncoderBase):
  """Harmonic synthesizer controls -> z_pitch, z_vel.

  Input shape:
    f0_midi, amps: [batch, n_frames, 1]; hd: [batch, n_frames,
    n_harmonics]; noise: [batch, n_frames, n_noise_bands].

  Output shape:
    {'z_pitch', 'z_vel'}: [batch, n_frames, 1].
  """

  def call(self, f0_midi: tf.Tensor, amps: tf.Tensor, hd: tf.Tensor,
           noise: tf.Tensor) -> ['z_pitch', 'z_vel']:
    """Encodes the controls of a harmonic-plus-noise synthesizer.

    Args:
      f0_midi: Pitch in MIDI, [batch, n_frames, 1].
      amps: Log amplitude, [batch, n_frames, 1].
      hd: Log harmonic distribution, [batch, n_frames, n_harmonics].
      noise: Log noise magnitudes, [batch, n_frames, n_noise_bands].

    Returns:
      (z_pitch, z_vel), each [batch, n_frames, 1].
    """
    return self.encode(frame_features('f0_midi', f0_midi),
                       frame_features('amps', amps), frame_features('hd', hd),
                       frame_features('noise', noise))
