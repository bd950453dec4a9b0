"""Neural-network building blocks for DDSP models.

`DictLayer` is the base of the preprocessors, encoders and decoders: it reads
its inputs from feature dicts by key and returns a dict, with the keys taken
from the Python signature of `call` (so gin configs only name features).
The other layers are the stacks those modules are built from: fully
connected stacks, RNNs, dilated convolutions and a 2-D ResNet, with the
helpers around them.

This module holds the fully connected and recurrent stacks, and re-exports
the rest, which lives in sibling modules: `dict_layer` (DictLayer, the
signature introspection, CompositeLayer, split_to_dict, OutputSplitsLayer),
`normalization` (normalize_op, Normalize, get_norm, Identity, ensure_4d),
`conditioning` (ConditionalScaleAndShift, get_embedding), `conv_stacks`
(ConditionalNorm, DilatedConvStack, polyphase resampling), `resnet`
(NormReluConv, ResidualLayer, ResidualStack, ResNet), `quantization`
(straight-through estimators, VectorQuantization), `note_masks` (note
region masks and statistics pooled over notes) and `keras_layers`
(gin_register_keras_layers, SpectralNormalization, SingleGru). Every name,
and every gin name (`ddsp_tf.training.nn.*`, e.g. `@nn.ResNet()`), is
reachable here. Importing this module registers the Keras layers with gin
as `tf.keras.layers.*`, as the original does.

All layers take frame-wise tensors `[batch, n_frames, channels]`; the
convolutional ones also take `[batch, n_frames, 1, channels]`, and the
ResNet takes `[batch, n_frames, n_freq, channels]` images.
"""

from typing import Any, Callable, Dict, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.training import fast_gru
# Re-exported: these names are part of ddsp_tf.training.nn.
# pylint: disable=unused-import,g-multiple-import,g-importing-member
from ddsp_tf.training.conditioning import (
    ConditionalScaleAndShift, get_embedding)
from ddsp_tf.training.conv_stacks import (
    RESAMPLE_TYPES, ConditionalNorm, DilatedConvStack, PolyphaseResample,
    _match_time, polyphase_resample)
from ddsp_tf.training.dict_layer import (
    _KERAS_CALL_ARGS, _POSITIONAL, CompositeLayer, DictLayer, OutputSplits,
    OutputSplitsLayer, TensorDict, _check_output_splits, _has_nested_key,
    _positional_parameters, check_keys, get_argument_names,
    get_default_argument_names, get_default_argument_values,
    get_return_annotations, split_to_dict)
from ddsp_tf.training.keras_layers import (
    SingleGru, SpectralNormalization, gin_register_keras_layers)
from ddsp_tf.training.normalization import (
    _GROUP_NORM_GROUPS, NORM_TYPES, Identity, Normalize, _check_norm_type,
    _n_groups, ensure_4d, get_norm, inv_ensure_4d, normalize_op)
from ddsp_tf.training.note_masks import (
    get_note_lengths, get_note_mask, get_note_mask_from_onset,
    get_note_moments, get_short_note_loss_mask, pool_over_notes)
from ddsp_tf.training.quantization import (
    VectorQuantization, straight_through_choice,
    straight_through_int_quantization, straight_through_softmax)
from ddsp_tf.training.resnet import (
    RESNET_SIZES, NormReluConv, ResidualLayer, ResidualStack, ResNet)
# pylint: enable=unused-import,g-multiple-import,g-importing-member

RNN_TYPES = ('gru', 'lstm')


# ----------------------------------------------------------------------------
# Small utilities.
# ----------------------------------------------------------------------------
def get_nonlinearity(nonlinearity: Text) -> Callable[[tf.Tensor], tf.Tensor]:
  """A Keras activation or tf.nn function by name ('relu', 'leaky_relu', ...).

  Raises:
    ValueError: If neither keras.activations nor tf.nn has that name.
  """
  if not isinstance(nonlinearity, str):
    raise ValueError(f'nonlinearity must be a name, got {nonlinearity!r}.')
  try:
    return keras.activations.get(nonlinearity)
  except ValueError:
    pass
  fn = getattr(tf.nn, nonlinearity, None)
  if not callable(fn):
    raise ValueError(f'Unknown nonlinearity {nonlinearity!r}: not a Keras '
                     'activation nor a tf.nn function.')
  return fn


# ----------------------------------------------------------------------------
# Fully connected and recurrent stacks.
# ----------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Fc(CompositeLayer):
  """Dense -> LayerNormalization (last axis) -> nonlinearity."""

  def __init__(self, ch: int = 128, nonlinearity: Text = 'leaky_relu',
               **kwargs):
    """Sets the sizes.

    Args:
      ch: Output channels.
      nonlinearity: Name of a Keras activation or tf.nn function.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.ch = validation.check_int('ch', ch)
    self.nonlinearity = nonlinearity
    self._activation = get_nonlinearity(nonlinearity)
    self.dense = keras.layers.Dense(self.ch)
    self.norm = keras.layers.LayerNormalization()

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[..., channels_in] -> [..., ch]."""
    return self._activation(self.norm(self.dense(x)))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.ch, nonlinearity=self.nonlinearity)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class FcStack(CompositeLayer):
  """`layers` Fc layers in sequence (none: the identity)."""

  def __init__(self, ch: int = 256, layers: int = 2,
               nonlinearity: Text = 'leaky_relu', **kwargs):
    """Sets the sizes.

    Args:
      ch: Channels of every layer.
      layers: Number of Fc layers, >= 0.
      nonlinearity: Name of a Keras activation or tf.nn function.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.ch = validation.check_int('ch', ch)
    self.n_layers = validation.check_int('layers', layers, minimum=0)
    self.nonlinearity = nonlinearity
    self.fcs = [Fc(self.ch, nonlinearity) for _ in range(self.n_layers)]

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[..., channels_in] -> [..., ch] ([..., channels_in] with no layers)."""
    for fc in self.fcs:
      x = fc(x)
    return x

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.ch, layers=self.n_layers,
                  nonlinearity=self.nonlinearity)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class FcStackOut(CompositeLayer):
  """An FcStack followed by a linear Dense layer to n_out channels."""

  def __init__(self, ch: int, layers: int, n_out: int, **kwargs):
    """Sets the sizes.

    Args:
      ch: Channels of the Fc layers.
      layers: Number of Fc layers, >= 0.
      n_out: Output channels.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.stack = FcStack(ch, layers)
    self.n_out = validation.check_int('n_out', n_out)
    self.dense_out = keras.layers.Dense(self.n_out)

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[..., channels_in] -> [..., n_out]."""
    return self.dense_out(self.stack(x))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.stack.ch, layers=self.stack.n_layers,
                  n_out=self.n_out)
    return config


def _rnn_class(rnn_type: Text):
  validation.check_choice('rnn_type', rnn_type, RNN_TYPES)
  return fast_gru.FastGRU if rnn_type == 'gru' else keras.layers.LSTM


class _RnnRunner:
  """Runs a Keras RNN layer, as one graph when executing eagerly.

  Eager Keras RNNs step through time in Python, about 10 ms per frame on
  CPU (11 s for 4 s of audio at 250 frames per second); traced, the same
  loop is one graph op. Inside a tf.function the layer is called directly.
  """

  def __init__(self, layer: keras.layers.Layer):
    self.layer = layer
    self.graph_fn = tf.function(layer, reduce_retracing=True)

  def __call__(self, *args, **kwargs):
    fn = self.graph_fn if tf.executing_eagerly() else self.layer
    return fn(*args, **kwargs)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Rnn(CompositeLayer):
  """A GRU or LSTM over time, optionally bidirectional (outputs concatenated)."""

  def __init__(self, dims: int, rnn_type: Text, return_sequences: bool = True,
               bidir: bool = False, **kwargs):
    """Sets the RNN.

    Args:
      dims: Units of the RNN (of each direction when bidirectional).
      rnn_type: 'gru' or 'lstm'.
      return_sequences: Return every frame ([B, T, units]) or only the last
        ([B, units]).
      bidir: Run forward and backward RNNs and concatenate their outputs,
        giving 2 * dims channels.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.dims = validation.check_int('dims', dims)
    self.rnn_type = rnn_type
    self.return_sequences = return_sequences
    self.bidir = bidir
    rnn = _rnn_class(rnn_type)(self.dims, return_sequences=return_sequences)
    self.rnn = keras.layers.Bidirectional(rnn) if bidir else rnn
    self._run = _RnnRunner(self.rnn)

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, n_frames, channels] -> [batch, (n_frames,) units]."""
    validation.check_rank('x', x, (3,), '[batch, n_frames, channels]')
    return self._run(x)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(dims=self.dims, rnn_type=self.rnn_type,
                  return_sequences=self.return_sequences, bidir=self.bidir)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class StatelessRnn(CompositeLayer):
  """A GRU or LSTM whose state is passed in and returned (for streaming).

  The state is one tensor: [batch, dims] for a GRU, and the hidden and cell
  states concatenated, [batch, 2 * dims], for an LSTM.
  """

  def __init__(self, dims: int, rnn_type: Text, **kwargs):
    """Sets the RNN.

    Args:
      dims: Units of the RNN.
      rnn_type: 'gru' or 'lstm'.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.dims = validation.check_int('dims', dims)
    self.rnn_type = rnn_type
    self.rnn = _rnn_class(rnn_type)(self.dims, return_sequences=True,
                                    return_state=True)
    self._run = _RnnRunner(self.rnn)

  @property
  def state_size(self) -> int:
    """Channels of the state tensor."""
    return self.dims * (2 if self.rnn_type == 'lstm' else 1)

  def call(self, x: tf.Tensor, state: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """Runs the RNN from `state`.

    Args:
      x: [batch, n_frames, channels].
      state: [batch, state_size].

    Returns:
      (outputs [batch, n_frames, dims], new state [batch, state_size]).
    """
    validation.check_rank('x', x, (3,), '[batch, n_frames, channels]')
    validation.check_rank('state', state, (2,), '[batch, state_size]')
    if state.shape[-1] is not None and state.shape[-1] != self.state_size:
      raise ValueError(f'state must have {self.state_size} channels for a '
                       f'{self.rnn_type} with {self.dims} units, got shape '
                       f'{state.shape.as_list()}.')
    initial_state = (tf.split(state, 2, axis=-1) if self.rnn_type == 'lstm'
                     else [state])
    outputs, *states = self._run(x, initial_state=initial_state)
    return outputs, tf.concat(states, axis=-1)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(dims=self.dims, rnn_type=self.rnn_type)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class RnnFc(CompositeLayer):
  """n_rnn RNNs, then an Fc layer (Dense -> LayerNorm -> nonlinearity).

  As in magenta/ddsp, `bidir` is by default handed to each Rnn as its third
  positional argument, return_sequences: the RNNs are unidirectional and,
  unless bidir=True, return only their last frame (so the output is
  [batch, out_feat], and n_rnn > 1 needs bidir=True).
  bidir_as_return_sequences=False gives what the names say instead:
  bidirectional RNNs when bidir, each returning every frame.

  Input shape:
    [batch, n_frames, channels].

  Output shape:
    [batch, n_frames, out_feat] when the RNNs return every frame, else
    [batch, out_feat].
  """

  def __init__(self, rnn_feat: int, out_feat: int, rnn_type: Text = 'lstm',
               nonlinearity: Text = 'sigmoid', bidir: bool = False,
               n_rnn: int = 1, bidir_as_return_sequences: bool = True,
               **kwargs):
    """Sets the sizes.

    Args:
      rnn_feat: Units of each RNN.
      out_feat: Output channels.
      rnn_type: 'gru' or 'lstm'.
      nonlinearity: Applied after the Fc layer's LayerNorm (a Keras
        activation or tf.nn function name).
      bidir: See bidir_as_return_sequences.
      n_rnn: Number of RNNs, >= 1.
      bidir_as_return_sequences: True (magenta/ddsp's behaviour): bidir is
        each RNN's return_sequences and the RNNs are unidirectional. False:
        bidir makes the RNNs bidirectional, and they return every frame.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.n_rnn = validation.check_int('n_rnn', n_rnn)
    self.bidir = bool(bidir)
    self.bidir_as_return_sequences = bool(bidir_as_return_sequences)
    if self.bidir_as_return_sequences:
      rnn_args = dict(return_sequences=self.bidir, bidir=False)
    else:
      rnn_args = dict(return_sequences=True, bidir=self.bidir)
    self.rnns = [Rnn(rnn_feat, rnn_type, **rnn_args)
                 for _ in range(self.n_rnn)]
    self.fc = Fc(validation.check_int('out_feat', out_feat), nonlinearity)

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, n_frames, channels] -> [batch, (n_frames,) out_feat]."""
    for rnn in self.rnns:
      x = rnn(x)
    return self.fc(x)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    rnn = self.rnns[0]
    config.update(rnn_feat=rnn.dims, out_feat=self.fc.ch,
                  rnn_type=rnn.rnn_type, nonlinearity=self.fc.nonlinearity,
                  bidir=self.bidir, n_rnn=self.n_rnn,
                  bidir_as_return_sequences=self.bidir_as_return_sequences)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class RnnSandwich(CompositeLayer):
  """FcStack -> Rnn -> FcStack."""

  def __init__(self, fc_stack_ch: int = 256, fc_stack_layers: int = 2,
               rnn_ch: int = 512, rnn_type: Text = 'gru', **kwargs):
    """Sets the sizes.

    Args:
      fc_stack_ch: Channels of both Fc stacks.
      fc_stack_layers: Layers of each Fc stack.
      rnn_ch: Units of the RNN.
      rnn_type: 'gru' or 'lstm'.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.fc_in = FcStack(fc_stack_ch, fc_stack_layers)
    self.rnn = Rnn(rnn_ch, rnn_type)
    self.fc_out = FcStack(fc_stack_ch, fc_stack_layers)

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, n_frames, channels] -> [batch, n_frames, fc_stack_ch]."""
    return self.fc_out(self.rnn(self.fc_in(x)))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(fc_stack_ch=self.fc_in.ch,
                  fc_stack_layers=self.fc_in.n_layers, rnn_ch=self.rnn.dims,
                  rnn_type=self.rnn.rnn_type)
    return config
