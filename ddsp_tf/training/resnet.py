"""A 2-D residual network over spectrograms (bottleneck ResNet).

The network reads [batch, time, frequency, channels] images (a log-mel
spectrogram with one channel, say) and keeps the time axis: every stride
and pooling acts on frequency only, so the output has the input's frames.

- `NormReluConv`: norm -> ReLU -> k x k convolution, strided in frequency.
- `ResidualLayer`: a bottleneck block, 1x1 conv -> NormReluConv(3x3) ->
  NormReluConv(1x1) to 4 * ch channels, added to the input (or to a 1x1
  projection of it when `shortcut`).
- `ResidualStack`: groups of ResidualLayers, the first of each group
  strided and projected, then a final norm and nonlinearity.
- `ResNet`: a 7x7 strided convolution, max pooling and two ResidualStacks,
  in the sizes of RESNET_SIZES.

With conditional=True, each residual block's input norm is a
`ConditionalNorm` on a conditioning tensor z, and the layers take [x, z].

The public names are re-exported by, and documented as part of,
`ddsp_tf.training.nn`; gin names are `ddsp_tf.training.nn.*`.
"""

from typing import Any, Dict, Optional, Sequence, Text, Tuple, Union

import gin
import keras
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.training.conv_stacks import ConditionalNorm
from ddsp_tf.training.dict_layer import CompositeLayer
from ddsp_tf.training.normalization import _check_norm_type
from ddsp_tf.training.normalization import ensure_4d
from ddsp_tf.training.normalization import get_norm

# size: (channels of the first bottleneck group, layers in each of the three
# groups of the first ResidualStack).
RESNET_SIZES = {
    'small': (32, (2, 3, 4)),
    'medium': (32, (3, 4, 6)),
    'large': (64, (3, 4, 6)),
}

Inputs = Union[tf.Tensor, Sequence[tf.Tensor]]


def _check_optional_norm_type(norm_type: Optional[Text]) -> None:
  if norm_type is not None:
    _check_norm_type(norm_type)


def _split_inputs(layer: keras.layers.Layer, inputs: Inputs,
                  conditional: bool) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
  """(x, z) from [x, z] for a conditional layer, (x, None) otherwise."""
  if conditional:
    if (not isinstance(inputs, (list, tuple))) or len(inputs) != 2:
      raise ValueError(f'{layer.name} is conditional and takes [x, z], got '
                       f'{type(inputs).__name__}.')
    return inputs[0], inputs[1]
  if isinstance(inputs, (list, tuple)):
    raise ValueError(f'{layer.name} is not conditional and takes one tensor '
                     f'x, got a {type(inputs).__name__} of {len(inputs)}.')
  return inputs, None


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class NormReluConv(CompositeLayer):
  """Normalize -> ReLU -> k x k 'same' convolution, strided in frequency.

  Input shape:
    [batch, time, frequency, channels].

  Output shape:
    [batch, time, ceil(frequency / s), ch].
  """

  def __init__(self, ch: int, k: int, s: int, norm_type: Optional[Text],
               **kwargs):
    """Sets the sizes.

    Args:
      ch: Output channels.
      k: Kernel size (k x k).
      s: Stride along frequency (axis 2).
      norm_type: 'instance', 'layer', 'group' or None (no normalisation).
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.ch = validation.check_int('ch', ch)
    self.k = validation.check_int('k', k)
    self.s = validation.check_int('s', s)
    _check_optional_norm_type(norm_type)
    self.norm_type = norm_type
    self.norm = get_norm(norm_type)
    self.conv = keras.layers.Conv2D(self.ch, (self.k, self.k), (1, self.s),
                                    padding='same')

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, time, freq, channels] -> [batch, time, freq', ch]."""
    return self.conv(tf.nn.relu(self.norm(x)))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.ch, k=self.k, s=self.s, norm_type=self.norm_type)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class ResidualLayer(CompositeLayer):
  """A bottleneck residual block with 4 * ch output channels.

  y = relu(norm(x)); out = bottleneck(y) + (proj(y) if shortcut else x),
  where bottleneck is 1x1 conv(ch) -> NormReluConv(ch, 3, stride) ->
  NormReluConv(4 * ch, 1, 1) and proj a 1x1 conv(4 * ch) with the same
  frequency stride. Without a shortcut the input must already have
  4 * ch channels (and stride 1 keeps the frequency size).

  Input shape:
    x [batch, time, freq, channels] (a 3-D [batch, time, channels] gets a
    unit frequency axis); with conditional=True, [x, z].

  Output shape:
    [batch, time, ceil(freq / stride), 4 * ch].
  """

  def __init__(self, ch: int, stride: int, shortcut: bool,
               norm_type: Optional[Text], conditional: bool,
               shift_only: bool, **kwargs):
    """Sets the block.

    Args:
      ch: Bottleneck channels; the output has 4 * ch.
      stride: Stride along frequency.
      shortcut: Add a strided 1x1 projection of the input instead of the
        input itself (needed when channels or stride change).
      norm_type: 'instance', 'layer', 'group' or None.
      conditional: Take [x, z] and make the input norm a ConditionalNorm.
      shift_only: With conditional, predict only a shift.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.ch = validation.check_int('ch', ch)
    self.stride = validation.check_int('stride', stride)
    _check_optional_norm_type(norm_type)
    self.shortcut = bool(shortcut)
    self.norm_type = norm_type
    self.conditional = bool(conditional)
    self.shift_only = bool(shift_only)
    ch_out = 4 * self.ch
    self.norm_input = (ConditionalNorm(norm_type, shift_only) if conditional
                       else get_norm(norm_type))
    if self.shortcut:
      self.conv_proj = keras.layers.Conv2D(
          ch_out, (1, 1), (1, self.stride), padding='same', name='conv_proj')
    self.bottleneck = [
        keras.layers.Conv2D(self.ch, (1, 1), padding='same'),
        NormReluConv(self.ch, 3, self.stride, norm_type),
        NormReluConv(ch_out, 1, 1, norm_type),
    ]

  def call(self, inputs: Inputs) -> tf.Tensor:
    """Runs the block; see the class docstring for shapes."""
    x, z = _split_inputs(self, inputs, self.conditional)
    x = ensure_4d(x)
    if not self.shortcut:
      n_channels = x.shape[-1]
      if self.stride != 1 or (n_channels is not None and
                              n_channels != 4 * self.ch):
        raise ValueError(
            f'{self.name} has no shortcut, so its input must have 4 * ch = '
            f'{4 * self.ch} channels and stride must be 1, got input shape '
            f'{x.shape.as_list()} and stride={self.stride}.')
    residual = x
    if self.conditional:
      x = self.norm_input([x, z])
    else:
      x = self.norm_input(x)
    x = tf.nn.relu(x)
    # The projection reads the normalised input: it is a 1x1 convolution.
    if self.shortcut:
      residual = self.conv_proj(x)
    for layer in self.bottleneck:
      x = layer(x)
    return x + residual

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.ch, stride=self.stride, shortcut=self.shortcut,
                  norm_type=self.norm_type, conditional=self.conditional,
                  shift_only=self.shift_only)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class ResidualStack(CompositeLayer):
  """Groups of ResidualLayers, then Normalize and a nonlinearity.

  Group i has block_sizes[i] layers of filters[i] bottleneck channels; its
  first layer has a shortcut projection and the frequency stride
  strides[i], the others stride 1.

  Input shape:
    x [batch, time, freq, channels]; with conditional=True, [x, z].

  Output shape:
    [batch, time, freq / prod(strides) (rounded up at each stride),
    4 * filters[-1]].
  """

  def __init__(self, filters: Sequence[int], block_sizes: Sequence[int],
               strides: Sequence[int], norm_type: Optional[Text],
               conditional: bool = False, shift_only: bool = False,
               nonlinearity: Text = 'relu', **kwargs):
    """Sets the groups.

    Args:
      filters: Bottleneck channels of each group.
      block_sizes: ResidualLayers in each group, >= 1.
      strides: Frequency stride of each group.
      norm_type: 'instance', 'layer', 'group' or None.
      conditional: Take [x, z] and condition every ResidualLayer on z.
      shift_only: With conditional, predict only shifts.
      nonlinearity: Applied at the end (a Keras activation or tf.nn name).
      **kwargs: Keras layer arguments.
    """
    # Imported here: nn re-exports this module.
    from ddsp_tf.training.nn import get_nonlinearity  # pylint: disable=g-import-not-at-top
    super().__init__(**kwargs)
    self.filters = [validation.check_int('filters', f) for f in filters]
    self.block_sizes = [validation.check_int('block_sizes', b)
                        for b in block_sizes]
    self.strides = [validation.check_int('strides', s) for s in strides]
    if not len(self.filters) == len(self.block_sizes) == len(self.strides):
      raise ValueError(
          'filters, block_sizes and strides must have one entry per group, '
          f'got filters={list(filters)}, block_sizes={list(block_sizes)}, '
          f'strides={list(strides)}.')
    _check_optional_norm_type(norm_type)
    self.norm_type = norm_type
    self.conditional = bool(conditional)
    self.shift_only = bool(shift_only)
    self.nonlinearity = nonlinearity
    self._activation = get_nonlinearity(nonlinearity)
    blocks = []
    for ch, n_layers, stride in zip(self.filters, self.block_sizes,
                                    self.strides):
      blocks.append(ResidualLayer(ch, stride, True, norm_type, conditional,
                                  shift_only))
      blocks.extend(ResidualLayer(ch, 1, False, norm_type, conditional,
                                  shift_only) for _ in range(n_layers - 1))
    self.residual_layers = blocks
    self.norm = get_norm(norm_type)

  def call(self, inputs: Inputs) -> tf.Tensor:
    """Runs the groups; see the class docstring for shapes."""
    x, z = _split_inputs(self, inputs, self.conditional)
    for layer in self.residual_layers:
      x = layer([x, z]) if self.conditional else layer(x)
    return self._activation(self.norm(x))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(filters=self.filters, block_sizes=self.block_sizes,
                  strides=self.strides, norm_type=self.norm_type,
                  conditional=self.conditional, shift_only=self.shift_only,
                  nonlinearity=self.nonlinearity)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class ResNet(CompositeLayer):
  """A bottleneck ResNet over [batch, time, frequency, channels] images.

  Conv2D(64, 7x7, frequency stride 2) -> MaxPool(1x3, frequency stride 2)
  -> ResidualStack([ch, 2ch, 4ch], blocks, strides [1, 2, 2])
  -> ResidualStack([8ch], [3], [2]), with (ch, blocks) from RESNET_SIZES:
  'small' (32, [2, 3, 4]), 'medium' (32, [3, 4, 6]), 'large' (64, [3, 4, 6]).
  The frequency axis shrinks 64 times (rounding up at each stride); time
  is kept.

  Input shape:
    x [batch, time, freq, channels]; with conditional=True, [x, z] with z
    [batch, time or 1, (1,) z_channels] or [batch, z_channels].

  Output shape:
    [batch, time, freq', 32 * ch]: 1024 channels for 'small' and 'medium',
    2048 for 'large' (e.g. freq 229 -> 8, freq 64 -> 2).
  """

  def __init__(self, size: Text = 'large', norm_type: Optional[Text] = 'layer',
               conditional: bool = False, shift_only: bool = False,
               **kwargs):
    """Sets the network.

    Args:
      size: 'small', 'medium' or 'large' (see RESNET_SIZES).
      norm_type: 'instance', 'layer', 'group' or None.
      conditional: Take [x, z] and condition every residual block on z.
      shift_only: With conditional, predict only shifts.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    validation.check_choice('size', size, tuple(RESNET_SIZES))
    _check_optional_norm_type(norm_type)
    self.size = size
    self.norm_type = norm_type
    self.conditional = bool(conditional)
    self.shift_only = bool(shift_only)
    ch, blocks = RESNET_SIZES[size]
    self.conv_in = keras.layers.Conv2D(64, (7, 7), (1, 2), padding='same')
    self.pool = keras.layers.MaxPool2D(pool_size=(1, 3), strides=(1, 2),
                                       padding='same')
    self.stacks = [
        ResidualStack([ch, 2 * ch, 4 * ch], blocks, [1, 2, 2], norm_type,
                      conditional, shift_only),
        ResidualStack([8 * ch], [3], [2], norm_type, conditional, shift_only),
    ]

  def call(self, inputs: Inputs) -> tf.Tensor:
    """Runs the network; see the class docstring for shapes."""
    x, z = _split_inputs(self, inputs, self.conditional)
    validation.check_rank('x', x, (4,), '[batch, time, frequency, channels]')
    x = self.pool(self.conv_in(x))
    for stack in self.stacks:
      x = stack([x, z]) if self.conditional else stack(x)
    return x

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(size=self.size, norm_type=self.norm_type,
                  conditional=self.conditional, shift_only=self.shift_only)
    return config
