"""Decoders: network inputs -> synthesizer controls, as a dict of named splits.

Both decoders are `nn.OutputSplitsLayer`s: the network's last features pass
through a Dense layer whose outputs are split into the controls named by
`output_splits`, e.g. (('amps', 1), ('harmonic_distribution', 60),
('noise_magnitudes', 65)), each [batch, n_frames, size].
"""

from typing import Any, Dict, Optional, Sequence, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf.training import nn

TensorDict = Dict[Text, tf.Tensor]
# DilatedConvDecoder arguments passed on to its nn.DilatedConvStack as is.
_STACK_ARGS = ('ch', 'kernel_size', 'layers_per_stack', 'stacks', 'dilation',
               'norm_type', 'resample_stride', 'stacks_per_resample',
               'resample_after_convolve', 'spectral_norm', 'ortho_init')


def _concat_features(inputs: Sequence[tf.Tensor]) -> tf.Tensor:
  """Frame-wise inputs concatenated along channels (2-D get a channel axis)."""
  inputs = [core.tf_float32(x) for x in inputs]
  return tf.concat([x[..., tf.newaxis] if x.shape.rank == 2 else x
                    for x in inputs], axis=-1)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class RnnFcDecoder(nn.OutputSplitsLayer):
  """The DDSP decoder: per-input Fc stacks -> RNN -> Fc stack -> splits.

  Each input (e.g. ld_scaled, f0_scaled, z) has its own FcStack; their
  outputs are concatenated and run through an RNN; the RNN output,
  concatenated again with the stack outputs, goes through a final FcStack
  and the output Dense layer.

  With stateless=True the RNN takes its initial state from a 'state' input
  ([batch, rnn_channels] for a GRU, twice that for an LSTM) and the outputs
  include the final 'state', so audio can be decoded in consecutive blocks.
  """

  def __init__(self, rnn_channels: int = 512, rnn_type: Text = 'gru',
               ch: int = 512, layers_per_stack: int = 3,
               stateless: bool = False,
               input_keys: Sequence[Text] = ('ld_scaled', 'f0_scaled', 'z'),
               output_splits: nn.OutputSplits = (('amps', 1),
                                                 ('harmonic_distribution',
                                                  40)),
               **kwargs):
    """Sets the architecture.

    Args:
      rnn_channels: RNN units.
      rnn_type: 'gru' or 'lstm'.
      ch: Channels of the Fc stacks.
      layers_per_stack: Fc layers per stack (0: no stacks).
      stateless: Take and return the RNN state (key 'state').
      input_keys: Feature keys, each [batch, n_frames, channels].
      output_splits: ((key, size), ...) of the outputs.
      **kwargs: Keras layer arguments.
    """
    feature_keys = nn.check_keys('input_keys', input_keys)
    if not feature_keys:
      raise ValueError(f'input_keys must name at least one feature, got '
                       f'input_keys={input_keys!r}.')
    super().__init__(
        input_keys=feature_keys + (['state'] if stateless else []),
        output_splits=output_splits, **kwargs)
    self.feature_keys = feature_keys
    self.stateless = stateless
    if stateless:
      self.output_keys = list(self.output_keys) + ['state']
    self.input_stacks = [nn.FcStack(ch, layers_per_stack)
                         for _ in feature_keys]
    self.rnn = (nn.StatelessRnn(rnn_channels, rnn_type) if stateless else
                nn.Rnn(rnn_channels, rnn_type))
    self.out_stack = nn.FcStack(ch, layers_per_stack)

  def _features(self, inputs: Sequence[tf.Tensor],
                state: Optional[tf.Tensor]) -> Tuple[tf.Tensor, Any]:
    """The network before the output layer; returns (features, new state)."""
    stacked = [stack(_concat_features([x]))
               for stack, x in zip(self.input_stacks, inputs)]
    x = tf.concat(stacked, axis=-1)
    if self.stateless:
      x, state = self.rnn(x, core.tf_float32(state))
    else:
      x = self.rnn(x)
    return self.out_stack(tf.concat(stacked + [x], axis=-1)), state

  def compute_output(self, *inputs) -> tf.Tensor:
    """Features before the output Dense layer (stateful RNN)."""
    return self._features(inputs, None)[0]

  def call(self, *inputs) -> TensorDict:
    """Controls keyed by output_splits (and 'state' when stateless).

    Args:
      *inputs: One tensor per feature key, [batch, n_frames, channels]
        (or [batch, n_frames]), then the state when stateless.

    Returns:
      {key: [batch, n_frames, size]} (+ 'state' [batch, state_size]).
    """
    if not self.stateless:
      return super().call(*inputs)
    *features, state = inputs
    x, new_state = self._features(features, state)
    outputs = nn.split_to_dict(self.dense_out(x), self.output_splits)
    outputs['state'] = new_state
    return outputs

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    stack = self.out_stack
    config.update(rnn_channels=self.rnn.dims, rnn_type=self.rnn.rnn_type,
                  ch=stack.ch, layers_per_stack=stack.n_layers,
                  stateless=self.stateless, input_keys=self.feature_keys)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class DilatedConvDecoder(nn.OutputSplitsLayer):
  """A DilatedConvStack over the concatenated inputs -> splits.

  With conditioning_keys, those features (concatenated, optionally through
  precondition_stack) condition every layer of the stack (see
  nn.DilatedConvStack and nn.ConditionalNorm). A resample_stride above 1
  upsamples the frames by that factor per resampling.
  """

  def __init__(self, ch: int = 256, kernel_size: int = 3,
               layers_per_stack: int = 5, stacks: int = 2, dilation: int = 2,
               norm_type: Optional[Text] = 'layer', resample_stride: int = 1,
               stacks_per_resample: int = 1,
               resample_after_convolve: bool = True,
               input_keys: Sequence[Text] = ('ld_scaled', 'f0_scaled'),
               output_splits: nn.OutputSplits = (('amps', 1),
                                                 ('harmonic_distribution',
                                                  60)),
               conditioning_keys: Optional[Sequence[Text]] = ('z',),
               precondition_stack: Optional[keras.layers.Layer] = None,
               spectral_norm: bool = False, ortho_init: bool = False,
               **kwargs):
    """Sets the architecture.

    Args:
      ch: Channels of the convolutions.
      kernel_size: Kernel length in frames.
      layers_per_stack: Residual layers per stack.
      stacks: Number of stacks.
      dilation: Dilation growth factor within a stack.
      norm_type: None, 'instance', 'layer' or 'group'.
      resample_stride: Upsampling factor per resampling (1: none).
      stacks_per_resample: Stacks between resamplings.
      resample_after_convolve: Upsample after a stack's convolutions.
      input_keys: Keys of the features the stack runs over.
      output_splits: ((key, size), ...) of the outputs.
      conditioning_keys: Keys of the conditioning features (a single key
        may be given as a string), or None for no conditioning.
      precondition_stack: Optional layer applied to the conditioning.
      spectral_norm: Spectrally normalised convolutions.
      ortho_init: Orthogonal kernel initialisation.
      **kwargs: Keras layer arguments.
    """
    if isinstance(conditioning_keys, str):
      conditioning_keys = [conditioning_keys]
    conditioning_keys = nn.check_keys('conditioning_keys',
                                      conditioning_keys) or []
    feature_keys = nn.check_keys('input_keys', input_keys)
    if not feature_keys:
      raise ValueError(f'input_keys must name at least one feature, got '
                       f'input_keys={input_keys!r}.')
    super().__init__(input_keys=feature_keys + conditioning_keys,
                     output_splits=output_splits, **kwargs)
    self.feature_keys = feature_keys
    self.conditioning_keys = conditioning_keys
    self.precondition_stack = precondition_stack if conditioning_keys else None
    self.stack = nn.DilatedConvStack(
        ch=ch, layers_per_stack=layers_per_stack, stacks=stacks,
        kernel_size=kernel_size, dilation=dilation, norm_type=norm_type,
        resample_type='upsample' if resample_stride > 1 else None,
        resample_stride=resample_stride,
        stacks_per_resample=stacks_per_resample,
        resample_after_convolve=resample_after_convolve,
        spectral_norm=spectral_norm, ortho_init=ortho_init,
        conditional=bool(conditioning_keys))

  def compute_output(self, *inputs) -> tf.Tensor:
    """[batch, n_frames * upsampling, ch] from the features (and conditioning)."""
    n_features = len(self.feature_keys)
    x = _concat_features(inputs[:n_features])
    if not self.conditioning_keys:
      return self.stack(x)
    z = _concat_features(inputs[n_features:])
    if self.precondition_stack is not None:
      z = self.precondition_stack(z)
    return self.stack([x, z])

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    stack_config = self.stack.get_config()
    config.update({key: stack_config[key] for key in _STACK_ARGS})
    config.update(
        input_keys=self.feature_keys,
        conditioning_keys=self.conditioning_keys or None,
        precondition_stack=keras.saving.serialize_keras_object(
            self.precondition_stack))
    return config

  @classmethod
  def from_config(cls, config: Dict[Text, Any]) -> 'DilatedConvDecoder':
    config = dict(config)
    config['precondition_stack'] = keras.saving.deserialize_keras_object(
        config['precondition_stack'])
    return cls(**config)
