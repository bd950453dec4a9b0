"""Conditioning layers: a FiLM-style scale and shift, and integer embeddings.

`ConditionalScaleAndShift` modulates a (normalised) tensor x with a
per-channel scale and shift predicted from a conditioning tensor z by one
Dense layer (FiLM). `ConditionalNorm` (in conv_stacks) and the conditional
ResNet layers use it. `get_embedding` maps integer ids (an instrument, say)
to learned vectors.

The public names are re-exported by, and documented as part of,
`ddsp_tf.training.nn`.
"""

from typing import Any, Dict, Sequence, Text

import keras
import tensorflow as tf

from ddsp_tf import validation


@keras.saving.register_keras_serializable(package='ddsp_tf')
class ConditionalScaleAndShift(keras.layers.Layer):
  """x * scale + shift, with scale and shift a Dense projection of z (FiLM).

  The Dense layer has x's channel count of outputs for the shift (twice that
  for scale and shift) and is created when the layer first sees x. Its
  output must broadcast against x: a z of [batch, 1, 1, z_ch] modulates
  every frame of an x of [batch, time, width, ch] alike.

  Input shape:
    [x, z]: x [..., ch] (static ch), z [..., z_ch] broadcastable to x's
    shape apart from the last axis.

  Output shape:
    Same as x (or the broadcast shape of x and z's projection).
  """

  def __init__(self, shift_only: bool = False, **kwargs):
    """Sets the modulation.

    Args:
      shift_only: Predict only a shift (x + shift), no scale.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.shift_only = bool(shift_only)

  def build(self, inputs_shapes: Sequence[Any]) -> None:
    """Creates the Dense projection for x's channels."""
    x_shape, z_shape = _split_pair_shapes(inputs_shapes, self.name)
    x_ch = x_shape[-1]
    if x_ch is None:
      raise ValueError(f'{self.name} needs a static channel count for x, got '
                       f'shape {list(x_shape)}.')
    self.x_ch = int(x_ch)
    self.dense = keras.layers.Dense(
        self.x_ch if self.shift_only else 2 * self.x_ch, name='dense')
    self.dense.build(tuple(z_shape))
    self.built = True

  def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
    """Modulates x by z.

    Args:
      inputs: [x, z] as in the class docstring.

    Returns:
      The modulated x.
    """
    x, z = inputs
    params = self.dense(z)
    if self.shift_only:
      return x + params
    scale, shift = tf.split(params, 2, axis=-1)
    return x * scale + shift

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['shift_only'] = self.shift_only
    return config


def _split_pair_shapes(inputs_shapes: Any, name: Text):
  """(x_shape, z_shape) from the build shapes of an [x, z] input."""
  if (not isinstance(inputs_shapes, (list, tuple)) or len(inputs_shapes) != 2
      or not isinstance(inputs_shapes[0], (list, tuple, tf.TensorShape))):
    raise ValueError(f'{name} takes a pair [x, z], got inputs of shape '
                     f'{inputs_shapes!r}.')
  x_shape, z_shape = (tf.TensorShape(s) for s in inputs_shapes)
  return x_shape, z_shape


def get_embedding(vocab_size: int = 1024,
                  n_dims: int = 256) -> keras.layers.Embedding:
  """A learned table of vectors, looked up by integer id.

  Args:
    vocab_size: Number of ids (ids are 0 ... vocab_size - 1).
    n_dims: Size of each vector.

  Returns:
    A keras.layers.Embedding mapping int ids [batch, ...] to
    [batch, ..., n_dims] (e.g. [batch, 1] -> [batch, 1, n_dims]).
  """
  vocab_size = validation.check_int('vocab_size', vocab_size)
  n_dims = validation.check_int('n_dims', n_dims)
  return keras.layers.Embedding(input_dim=vocab_size, output_dim=n_dims)
