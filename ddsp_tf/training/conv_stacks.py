"""Dilated convolution stacks and the conditional normalisation they use.

`DilatedConvStack` stacks residual dilated convolutions over time
(WaveNet-like), with optional resampling; with conditional=True every norm
is a `ConditionalNorm` on a conditioning tensor z. `polyphase_resample`
(and the `PolyphaseResample` layer) trades time steps for channels.

The public names are re-exported by, and documented as part of,
`ddsp_tf.training.nn`; gin names stay `ddsp_tf.training.nn.*`.
"""

from typing import Any, Dict, Optional, Sequence, Text, Union

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import validation
from ddsp_tf.training.conditioning import ConditionalScaleAndShift
from ddsp_tf.training.dict_layer import CompositeLayer
from ddsp_tf.training.normalization import _check_norm_type
from ddsp_tf.training.normalization import ensure_4d
from ddsp_tf.training.keras_layers import SpectralNormalization
from ddsp_tf.training.normalization import get_norm
from ddsp_tf.training.normalization import inv_ensure_4d
from ddsp_tf.training.normalization import normalize_op

RESAMPLE_TYPES = ('downsample', 'upsample')
POLYPHASE_TYPES = ('down', 'up')
TRIM_OR_PAD = ('trim', 'pad')


# ----------------------------------------------------------------------------
# Polyphase resampling.
# ----------------------------------------------------------------------------
def polyphase_resample(x: tf.Tensor, stride: int = 2,
                       resample_type: Text = 'down',
                       trim_or_pad: Text = 'pad') -> tf.Tensor:
  """Moves time steps into channels ('down') or channels into time ('up').

  'down' groups each stride consecutive frames into one frame of stride
  times the channels, [B, T, C] -> [B, T / stride, C * stride]; 'up'
  undoes it, [B, T, C] -> [B, T * stride, C / stride]. Each phase of the
  signal gets its own channels, as in a polyphase filter bank. A time
  (down) or channel (up) size that stride does not divide is zero-padded
  up or trimmed down to a multiple first.

  Args:
    x: [batch, time, channels], or [batch, time, 1, channels] (the
      singleton axis is dropped).
    stride: Frames per group, >= 1.
    resample_type: 'down' or 'up'.
    trim_or_pad: 'pad' or 'trim' a size stride does not divide.

  Returns:
    The resampled [batch, time', channels'] tensor.

  Raises:
    ValueError: For a bad stride, type, trim_or_pad, rank, or unknown
      time or channel size.
  """
  stride = validation.check_int('stride', stride, minimum=1)
  validation.check_choice('resample_type', resample_type, POLYPHASE_TYPES)
  validation.check_choice('trim_or_pad', trim_or_pad, TRIM_OR_PAD)
  x = tf.convert_to_tensor(x)
  validation.check_rank('x', x, (3, 4), '[batch, time, channels]')
  if x.shape.rank == 4:
    x = x[:, :, 0, :]
  axis = 1 if resample_type == 'down' else 2
  size = x.shape[axis]
  n_channels = x.shape[2]
  if size is None or n_channels is None:
    raise ValueError('polyphase_resample needs static time and channel '
                     f'sizes, got shape {x.shape.as_list()}.')
  remainder = size % stride
  if remainder and trim_or_pad == 'pad':
    paddings = [[0, 0], [0, 0], [0, 0]]
    paddings[axis][1] = stride - remainder
    x = tf.pad(x, paddings)
  elif remainder:
    x = x[:, :size - remainder] if axis == 1 else x[:, :, :size - remainder]
  n_time, n_channels = x.shape[1], x.shape[2]
  if resample_type == 'down':
    return tf.reshape(x, [-1, n_time // stride, n_channels * stride])
  return tf.reshape(x, [-1, n_time * stride, n_channels // stride])


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class PolyphaseResample(keras.layers.Layer):
  """`polyphase_resample` as a layer.

  Input shape:
    [batch, time, channels].

  Output shape:
    [batch, time / stride, channels * stride] ('down') or
    [batch, time * stride, channels / stride] ('up').
  """

  def __init__(self, stride: int = 2, resample_type: Text = 'down',
               trim_or_pad: Text = 'pad', **kwargs):
    """Sets the resampling (see polyphase_resample)."""
    super().__init__(**kwargs)
    self.stride = validation.check_int('stride', stride, minimum=1)
    validation.check_choice('resample_type', resample_type, POLYPHASE_TYPES)
    validation.check_choice('trim_or_pad', trim_or_pad, TRIM_OR_PAD)
    self.resample_type, self.trim_or_pad = resample_type, trim_or_pad

  def call(self, x: tf.Tensor) -> tf.Tensor:
    return polyphase_resample(x, self.stride, self.resample_type,
                              self.trim_or_pad)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(stride=self.stride, resample_type=self.resample_type,
                  trim_or_pad=self.trim_or_pad)
    return config


# ----------------------------------------------------------------------------
# Dilated convolutions.
# ----------------------------------------------------------------------------
def _match_time(z: tf.Tensor, n_frames: Optional[int]) -> tf.Tensor:
  """Resamples z [B, T', ...] to n_frames along time when both are static."""
  if n_frames is not None and z.shape[1] is not None and z.shape[1] != n_frames:
    return core.resample(z, n_frames)
  return z


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class ConditionalNorm(CompositeLayer):
  """normalize_op, then a ConditionalScaleAndShift by a conditioning z.

  out = norm(x) * scale + shift, with scale and shift a Dense projection of
  z (only the shift with shift_only=True). A 2-D or 3-D z is given
  unit axes to broadcast against a 4-D x, and a z with another (static)
  number of frames than x is resampled to x's frames.
  """

  def __init__(self, norm_type: Optional[Text] = 'instance',
               shift_only: bool = False, **kwargs):
    """Sets the normalisation.

    Args:
      norm_type: 'instance', 'layer', 'group' or None (no normalisation).
      shift_only: Predict only a shift.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    if norm_type is not None:
      _check_norm_type(norm_type)
    self.norm_type = norm_type
    self.shift_only = shift_only
    self.conditional_scale_and_shift = ConditionalScaleAndShift(
        shift_only=shift_only)

  def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
    """Conditions x on z.

    Args:
      inputs: [x, z]: x [batch, n_frames, width, ch] (or [batch, n_frames,
        ch]); z [batch, n_z_frames, (width,) z_channels] or
        [batch, z_channels].

    Returns:
      Same shape as x.
    """
    if (not isinstance(inputs, (list, tuple))) or len(inputs) != 2:
      raise ValueError(f'{self.name} takes [x, z], got '
                       f'{type(inputs).__name__}.')
    x, z = inputs
    if self.norm_type is not None:
      x = normalize_op(x, self.norm_type)
    z = tf.convert_to_tensor(z)
    if x.shape.rank == 4:
      z = ensure_4d(z)
    elif z.shape.rank == 2:
      z = z[:, tf.newaxis, :]
    z = _match_time(z, x.shape[1])
    return self.conditional_scale_and_shift([x, z])

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(norm_type=self.norm_type, shift_only=self.shift_only)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class DilatedConvStack(CompositeLayer):
  """Stacks of residual dilated convolutions over time (WaveNet-like).

  An input convolution maps the channels to ch. Each stack has
  layers_per_stack residual layers x += norm(conv(relu(x))) (as in
  magenta/ddsp) whose dilation grows as dilation**layer (a negative
  dilation shrinks it instead, |dilation|**(layers_per_stack - 1 - layer)),
  so one stack sees
  1 + (kernel_size - 1) * (dilation**layers_per_stack - 1) / (dilation - 1)
  frames. Every norm is a Normalize(norm_type), which with norm_type=None
  is a learned per-channel scale and shift only. Optional resampling
  (strided or transposed convolution) changes the frame rate every
  stacks_per_resample stacks. With conditional=True the layer takes [x, z]
  and every norm is a ConditionalNorm on z.

  Variables (layer.weights order, as magenta/ddsp's): conv_in, the dilated
  convolutions, the norms, the resampling convolutions.
  """

  def __init__(self, ch: int = 256, layers_per_stack: int = 5,
               stacks: int = 2, kernel_size: int = 3, dilation: int = 2,
               norm_type: Optional[Text] = None,
               resample_type: Optional[Text] = None,
               resample_stride: int = 1, stacks_per_resample: int = 1,
               resample_after_convolve: bool = True,
               spectral_norm: bool = False, ortho_init: bool = False,
               shift_only: bool = False, conditional: bool = False,
               **kwargs):
    """Sets the architecture.

    Args:
      ch: Channels of every convolution.
      layers_per_stack: Residual layers per stack.
      stacks: Number of stacks.
      kernel_size: Kernel length in frames.
      dilation: Dilation growth factor within a stack.
      norm_type: None, 'instance', 'layer' or 'group'.
      resample_type: None, 'downsample' or 'upsample'.
      resample_stride: Frame-rate factor of each resampling.
      stacks_per_resample: Resample after (or before) every this many stacks.
      resample_after_convolve: Resample after the stack's convolutions
        rather than before.
      spectral_norm: Wrap convolutions in keras.layers.SpectralNormalization.
      ortho_init: Orthogonal kernel initialisation.
      shift_only: With conditional, predict only shifts.
      conditional: Take [x, z] and condition every layer on z.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.ch = validation.check_int('ch', ch)
    self.layers_per_stack = validation.check_int('layers_per_stack',
                                                 layers_per_stack)
    self.stacks = validation.check_int('stacks', stacks)
    self.kernel_size = validation.check_int('kernel_size', kernel_size)
    self.dilation = validation.check_int('dilation', dilation,
                                         minimum=-2**31)
    if self.dilation == 0:
      raise ValueError('dilation must be nonzero, got 0.')
    if norm_type is not None:
      _check_norm_type(norm_type)
    if resample_type is not None:
      validation.check_choice('resample_type', resample_type, RESAMPLE_TYPES)
    self.norm_type = norm_type
    self.resample_type = resample_type
    self.resample_stride = validation.check_int('resample_stride',
                                                resample_stride)
    self.stacks_per_resample = validation.check_int('stacks_per_resample',
                                                    stacks_per_resample)
    self.resample_after_convolve = resample_after_convolve
    self.spectral_norm = spectral_norm
    self.ortho_init = ortho_init
    self.shift_only = shift_only
    self.conditional = conditional

    self.conv_in = self._conv(self.kernel_size)
    if self.dilation > 0:
      dilations = [self.dilation**layer
                   for layer in range(self.layers_per_stack)]
    else:
      dilations = [(-self.dilation)**(self.layers_per_stack - layer - 1)
                   for layer in range(self.layers_per_stack)]
    self.convs = [self._conv(self.kernel_size, dilation=d)
                  for _ in range(self.stacks) for d in dilations]
    self.norms = [get_norm(norm_type, conditional, shift_only)
                  for _ in self.convs]
    # One resampler before every stacks_per_resample-th stack (from the
    # first), or after (ending with the last full group of stacks).
    if resample_type is None:
      n_resamples = 0
    elif resample_after_convolve:
      n_resamples = self.stacks // self.stacks_per_resample
    else:
      n_resamples = -(-self.stacks // self.stacks_per_resample)
    self.resamplers = [self._resampler() for _ in range(n_resamples)]
    self._layers_per_resample = (len(self.convs) // n_resamples
                                 if n_resamples else 0)

  def _conv(self, kernel_size: int, dilation: int = 1, stride: int = 1,
            transpose: bool = False) -> keras.layers.Layer:
    """A 'same'-padded convolution over time ([B, T, 1, C] tensors)."""
    conv_class = keras.layers.Conv2DTranspose if transpose else (
        keras.layers.Conv2D)
    conv = conv_class(
        self.ch, (kernel_size, 1), strides=(stride, 1),
        dilation_rate=(dilation, 1), padding='same',
        kernel_initializer='orthogonal' if self.ortho_init else 'glorot_uniform')
    return SpectralNormalization(conv) if self.spectral_norm else conv

  def _resampler(self) -> keras.layers.Layer:
    stride = self.resample_stride
    if self.resample_type == 'downsample':
      return self._conv(stride, stride=stride)
    return self._conv(2 * stride, stride=stride, transpose=True)

  def _maybe_resample(self, x: tf.Tensor, index: int, after: bool
                      ) -> tf.Tensor:
    """Resamples before (or after) residual layer `index` when due."""
    if not self.resamplers or after != self.resample_after_convolve:
      return x
    per = self._layers_per_resample
    if (index + 1 if after else index) % per == 0:
      return self.resamplers[index // per](x)
    return x

  def call(self, inputs: Union[tf.Tensor, Sequence[tf.Tensor]]) -> tf.Tensor:
    """Runs the stacks.

    Args:
      inputs: x [batch, n_frames, channels] (or [batch, n_frames, 1,
        channels]); with conditional=True, [x, z] with z [batch,
        n_z_frames, z_channels] or [batch, z_channels].

    Returns:
      [batch, n_frames', ch] with n_frames' = n_frames times or divided by
      the resampling factors (same rank as x).
    """
    if self.conditional:
      if (not isinstance(inputs, (list, tuple))) or len(inputs) != 2:
        raise ValueError(f'{self.name} is conditional and takes [x, z], got '
                         f'{type(inputs).__name__}.')
      x, z = inputs
    else:
      x, z = inputs, None
    validation.check_rank('x', x, (3, 4), '[batch, n_frames, (1,) channels]')
    n_dims = x.shape.rank
    x = self.conv_in(ensure_4d(x))
    for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
      x = self._maybe_resample(x, index, after=False)
      y = conv(tf.nn.relu(x))
      x = x + (norm([y, z]) if self.conditional else norm(y))
      x = self._maybe_resample(x, index, after=True)
    return inv_ensure_4d(x, n_dims)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(
        ch=self.ch, layers_per_stack=self.layers_per_stack,
        stacks=self.stacks, kernel_size=self.kernel_size,
        dilation=self.dilation, norm_type=self.norm_type,
        resample_type=self.resample_type,
        resample_stride=self.resample_stride,
        stacks_per_resample=self.stacks_per_resample,
        resample_after_convolve=self.resample_after_convolve,
        spectral_norm=self.spectral_norm, ortho_init=self.ortho_init,
        shift_only=self.shift_only, conditional=self.conditional)
    return config
