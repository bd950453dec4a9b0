"""Normalisation layers and the rank helpers they share.

`normalize_op` normalises over time per example and channel group
('instance', 'layer' or 'group'); `Normalize` adds a learned scale and shift,
and `get_norm` picks it (or a `ConditionalNorm` when conditional).
`ensure_4d` / `inv_ensure_4d` move between [batch, n_frames, channels] and
the [batch, n_frames, 1, channels] layout of the convolutional layers.

The public names are re-exported by, and documented as part of,
`ddsp_tf.training.nn`; gin names stay `ddsp_tf.training.nn.*`.
"""

from typing import Any, Dict, Optional, Text

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import validation

NORM_TYPES = ('instance', 'layer', 'group')
_GROUP_NORM_GROUPS = 32


# ----------------------------------------------------------------------------
# Rank helpers.
# ----------------------------------------------------------------------------
def ensure_4d(x: tf.Tensor) -> tf.Tensor:
  """Adds unit axes: [B, C] -> [B, 1, 1, C]; [B, T, C] -> [B, T, 1, C]."""
  x = tf.convert_to_tensor(x)
  validation.check_rank('x', x, (2, 3, 4))
  if x.shape.rank == 2:
    return x[:, tf.newaxis, tf.newaxis, :]
  if x.shape.rank == 3:
    return x[:, :, tf.newaxis, :]
  return x


def inv_ensure_4d(x: tf.Tensor, n_dims: int) -> tf.Tensor:
  """Undoes ensure_4d for an input that had `n_dims` axes."""
  validation.check_choice('n_dims', n_dims, (2, 3, 4))
  if n_dims == 2:
    return x[:, 0, 0, :]
  if n_dims == 3:
    return x[:, :, 0, :]
  return x


# ----------------------------------------------------------------------------
# Normalization.
# ----------------------------------------------------------------------------
def _check_norm_type(norm_type: Any) -> None:
  validation.check_choice('norm_type', norm_type, NORM_TYPES)


def _n_groups(norm_type: Text, n_channels: int) -> int:
  """Channel groups normalised together; ValueError if they do not divide."""
  n_groups = {'instance': n_channels, 'layer': 1,
              'group': _GROUP_NORM_GROUPS}[norm_type]
  if n_channels % n_groups:
    raise ValueError(f"norm_type='group' needs a multiple of "
                     f'{_GROUP_NORM_GROUPS} channels, got {n_channels}.')
  return n_groups


def normalize_op(x: tf.Tensor, norm_type: Optional[Text] = 'layer',
                 eps: float = 1e-5) -> tf.Tensor:
  """Zero-mean, unit-variance normalisation over time (no learned scale).

  Statistics are taken per example over time (and width), and over the
  channels of a group: 'instance' normalises each channel separately,
  'layer' all channels together, 'group' 32 groups of channels. None
  returns x unchanged.

  Args:
    x: [batch, n_frames, channels] or [batch, n_frames, width, channels];
      the channel count must be static.
    norm_type: 'instance', 'layer', 'group' or None.
    eps: Added to the variance.

  Returns:
    The normalised tensor, same shape as x.
  """
  if norm_type is None:
    return x
  _check_norm_type(norm_type)
  x = core.tf_float32(x)
  validation.check_rank('x', x, (3, 4), '[batch, n_frames, (width,) channels]')
  n_dims = x.shape.rank
  x = ensure_4d(x)
  n_channels = x.shape[-1]
  if n_channels is None:
    raise ValueError(f'normalize_op needs a static channel count, got shape '
                     f'{x.shape.as_list()}.')
  n_groups = _n_groups(norm_type, n_channels)
  shape = tf.shape(x)
  grouped = tf.reshape(
      x, [shape[0], shape[1], shape[2], n_groups, n_channels // n_groups])
  mean, variance = tf.nn.moments(grouped, axes=[1, 2, 4], keepdims=True)
  grouped = (grouped - mean) * tf.math.rsqrt(variance + eps)
  return inv_ensure_4d(tf.reshape(grouped, shape), n_dims)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class Normalize(keras.layers.Layer):
  """normalize_op followed by a learned per-channel scale and shift.

  The scale and shift variables have shape [1, 1, 1, channels], as in
  magenta/ddsp (so its checkpoints load as they are). With norm_type=None
  only the scale and shift are applied.

  Input shape:
    [batch, channels], [batch, n_frames, channels] or
    [batch, n_frames, width, channels].

  Output shape:
    Same as the input.
  """

  def __init__(self, norm_type: Optional[Text] = 'layer', **kwargs):
    """Sets the normalisation.

    Args:
      norm_type: 'instance', 'layer', 'group' (see normalize_op) or None
        (scale and shift only).
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    if norm_type is not None:
      _check_norm_type(norm_type)
    self.norm_type = norm_type

  def build(self, input_shape):
    n_channels = int(input_shape[-1])
    self.scale = self.add_weight(name='scale', shape=[1, 1, 1, n_channels],
                                 initializer='ones')
    self.shift = self.add_weight(name='shift', shape=[1, 1, 1, n_channels],
                                 initializer='zeros')

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, (n_frames, (width,)) channels] -> same shape."""
    x = core.tf_float32(x)
    n_dims = x.shape.rank
    x = normalize_op(ensure_4d(x), self.norm_type)
    return inv_ensure_4d(x * self.scale + self.shift, n_dims)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['norm_type'] = self.norm_type
    return config


def get_norm(norm_type: Optional[Text], conditional: bool = False,
             shift_only: bool = False) -> keras.layers.Layer:
  """The normalisation layer of the residual and convolutional stacks.

  Args:
    norm_type: 'instance', 'layer', 'group' or None (scale and shift only).
    conditional: Return a ConditionalNorm, called on [x, z], whose scale
      and shift are predicted from z, instead of a Normalize.
    shift_only: With conditional, predict only a shift.

  Returns:
    A ConditionalNorm(norm_type, shift_only) if conditional, else
    Normalize(norm_type).
  """
  if conditional:
    # Imported here: conv_stacks builds on this module.
    from ddsp_tf.training import conv_stacks  # pylint: disable=g-import-not-at-top
    return conv_stacks.ConditionalNorm(norm_type=norm_type,
                                       shift_only=shift_only)
  return Normalize(norm_type)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class Identity(keras.layers.Layer):
  """Returns its input unchanged."""

  def call(self, x: tf.Tensor) -> tf.Tensor:
    return x
