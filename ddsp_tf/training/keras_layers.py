"""Keras layers in gin, spectral normalization, and a GRU block.

- `gin_register_keras_layers` makes every Keras layer class configurable
  in gin as `tf.keras.layers.<Name>` (and `tf.keras.Sequential`), as the
  original does on import of `nn`; `keras.layers.Dense` is also
  registered as `ddsp_tf.training.nn.Dense` (`@nn.Dense()`).
- `SpectralNormalization` wraps a layer with a kernel and divides the
  kernel by its largest singular value, estimated by power iteration, at
  every training call (https://arxiv.org/abs/1802.05957).
- `SingleGru`: GRU -> LayerNormalization.

The public names are re-exported by, and documented as part of,
`ddsp_tf.training.nn`; gin names are `ddsp_tf.training.nn.*`.
"""

import inspect
from typing import Any, Dict, List, Text

import gin
import keras
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.training import fast_gru
from ddsp_tf.training.dict_layer import CompositeLayer


def _register_external(cls: type, name: Text) -> None:
  """gin.external_configurable, skipping a name gin already knows."""
  try:
    gin.external_configurable(cls, name)
  except ValueError as error:
    if 'already exists' not in str(error):
      raise


def gin_register_keras_layers() -> None:
  """Makes Keras layers configurable in gin under their tf.keras names.

  Registers keras.Sequential as 'tf.keras.Sequential' and every layer class
  of keras.layers as 'tf.keras.layers.<Name>', so a gin file can bind
  `@tf.keras.layers.Dense()` and `tf.keras.layers.Dense.units = 8`. The
  classes themselves are not modified. Calling it again does nothing, and
  names registered elsewhere are left alone.
  """
  _register_external(keras.Sequential, 'tf.keras.Sequential')
  for name, member in inspect.getmembers(keras.layers, inspect.isclass):
    if issubclass(member, keras.layers.Layer):
      _register_external(member, f'tf.keras.layers.{name}')


gin_register_keras_layers()
gin.register(keras.layers.Dense, module='ddsp_tf.training.nn')


@keras.saving.register_keras_serializable(package='ddsp_tf')
class SpectralNormalization(keras.layers.SpectralNormalization):
  """Divides a wrapped layer's kernel by its spectral norm when training.

  The kernel, reshaped to [-1, out_channels], is divided by its largest
  singular value sigma, estimated with power_iterations steps of power
  iteration from a vector u kept between calls (so repeated training calls
  refine the estimate and sigma converges to 1). Inference calls use the
  kernel as it is.

  This is keras.layers.SpectralNormalization with the original's names:
  `w` (the kernel or embeddings), `u` (the power-iteration vector,
  [1, out_channels]), `w_shape` and `normalize_weights()`.

  Input shape:
    Whatever the wrapped layer takes.

  Output shape:
    The wrapped layer's.
  """

  def __init__(self, layer: keras.layers.Layer, power_iterations: int = 1,
               **kwargs):
    """Wraps `layer`.

    Args:
      layer: A Keras layer with a `kernel` or `embeddings` weight (Dense,
        Conv2D, Embedding, ...).
      power_iterations: Power-iteration steps per normalization, >= 1.
      **kwargs: Keras layer arguments.
    """
    if not isinstance(layer, keras.layers.Layer):
      raise ValueError(f'layer must be a Keras layer, got {layer!r}.')
    power_iterations = validation.check_int('power_iterations',
                                            power_iterations)
    super().__init__(layer, power_iterations=power_iterations, **kwargs)

  @property
  def w(self) -> tf.Variable:
    """The normalized weight: the wrapped layer's kernel or embeddings."""
    return self.kernel

  @property
  def u(self) -> tf.Variable:
    """The power-iteration estimate of the top singular vector, [1, out]."""
    return self.vector_u

  @property
  def w_shape(self) -> List[int]:
    """The shape of w."""
    return list(self.kernel_shape)

  def normalize_weights(self) -> None:
    """Runs power iteration and divides the kernel by the estimated sigma."""
    vector_u, kernel = self.normalized_weights()
    self.vector_u.assign(vector_u)
    self.kernel.assign(kernel)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class SingleGru(CompositeLayer):
  """A GRU over time followed by LayerNormalization.

  Input shape:
    [batch, n_frames, channels].

  Output shape:
    [batch, n_frames, gru_dim].
  """

  def __init__(self, gru_dim: int = 128, **kwargs):
    """Sets the size.

    Args:
      gru_dim: GRU units.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.gru_dim = validation.check_int('gru_dim', gru_dim)
    self.gru = fast_gru.FastGRU(self.gru_dim, return_sequences=True)
    self.norm = keras.layers.LayerNormalization()

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, n_frames, channels] -> [batch, n_frames, gru_dim]."""
    validation.check_rank('x', x, (3,), '[batch, n_frames, channels]')
    return self.norm(self.gru(x))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['gru_dim'] = self.gru_dim
    return config
