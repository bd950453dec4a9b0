"""Decoders: network inputs -> synthesizer controls, as a dict of named splits.

RnnFcDecoder and DilatedConvDecoder are `nn.OutputSplitsLayer`s: the
network's last features pass through a Dense layer whose outputs are split
into the controls named by `output_splits`, e.g. (('amps', 1),
('harmonic_distribution', 60), ('noise_magnitudes', 65)), each
[batch, n_frames, size].

The MIDI decoders (MidiDecoder, MidiToHarmonicDecoder) run a network given
as `net` over the (quantised) pitch z_pitch, optionally conditioned on a
latent z, and predict f0 as a residual from z_pitch.
"""

from typing import Any, Dict, Optional, Sequence, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf.training import nn
from ddsp_tf.training.net_layers import NetMixin
from ddsp_tf.training.net_layers import frame_features

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

  Variables (layer.weights order, as magenta/ddsp's): the input FcStacks,
  the RNN, the output FcStack, the output Dense layer.
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
    # Made again so that it is tracked last: the variables are then in
    # magenta/ddsp's order (input stacks, RNN, output stack, output layer).
    del self.dense_out
    self.dense_out = keras.layers.Dense(self.n_out)

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


class _MidiDecoderBase(NetMixin, nn.DictLayer):
  """z_pitch (and z) -> net -> optional layer Normalize -> Dense(n_out)."""

  def __init__(self, net: Optional[keras.layers.Layer], f0_residual: bool,
               norm: bool, n_out: int, **kwargs):
    """Sets the network.

    Args:
      net: Layer mapping z_pitch [batch, n_frames, 1] (with a z, the list
        [z_pitch, z]) to [batch, n_frames, channels], e.g.
        nn.DilatedConvStack (conditional=True to take z). Required to call
        the layer.
      f0_residual: Add z_pitch to the predicted f0_midi.
      norm: Layer-normalise the network output.
      n_out: Channels of the output Dense layer.
      **kwargs: DictLayer arguments.
    """
    super().__init__(**kwargs)
    self.set_net(net)
    self.f0_residual = bool(f0_residual)
    self.norm = nn.Normalize('layer') if norm else None
    self.dense_out = keras.layers.Dense(n_out)

  def decode(self, z_pitch: tf.Tensor,
             z: Optional[tf.Tensor]) -> Tuple[tf.Tensor, tf.Tensor]:
    """(z_pitch as float32 [batch, n_frames, 1], Dense output)."""
    z_pitch = frame_features('z_pitch', z_pitch)
    x = self.run_net(z_pitch if z is None else [z_pitch, core.tf_float32(z)])
    if self.norm is not None:
      x = self.norm(x)
    return z_pitch, self.dense_out(x)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(self.net_config(), f0_residual=self.f0_residual,
                  norm=self.norm is not None)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class MidiDecoder(_MidiDecoderBase):
  """MIDI pitch (and a latent z) -> f0 (MIDI) and loudness (dB).

  Velocity is accepted but not used (as in magenta/ddsp). With
  center_loudness the raw loudness output x becomes 30 x - 70 dB.

  Input shape:
    z_pitch: [batch, n_frames, 1]; z_vel (unused): [batch, n_frames, 1];
    z: [batch, n_frames, n_z], passed to net as [z_pitch, z].

  Output shape:
    {'f0_midi', 'loudness'}: [batch, n_frames, 1].
  """

  def __init__(self, net: Optional[keras.layers.Layer] = None,
               f0_residual: bool = True, center_loudness: bool = True,
               norm: bool = True, **kwargs):
    """Sets the architecture.

    Args:
      net: See _MidiDecoderBase; required to call the layer.
      f0_residual: Predict f0_midi as z_pitch plus the network output.
      center_loudness: Map the loudness output x to 30 x - 70 dB.
      norm: Layer-normalise the network output.
      **kwargs: DictLayer arguments (name, ...).
    """
    super().__init__(net, f0_residual, norm, n_out=2, **kwargs)
    self.center_loudness = bool(center_loudness)

  def call(self, z_pitch: tf.Tensor, z_vel: Optional[tf.Tensor] = None,
           z: Optional[tf.Tensor] = None) -> ['f0_midi', 'loudness']:
    """Decodes pitch to f0 and loudness.

    Args:
      z_pitch: Pitch in MIDI, [batch, n_frames, 1].
      z_vel: Velocity, [batch, n_frames, 1]; not used.
      z: Optional latent [batch, n_frames, n_z] for the network.

    Returns:
      (f0_midi, loudness), each [batch, n_frames, 1].
    """
    del z_vel  # Unused, as in magenta/ddsp.
    z_pitch, x = self.decode(z_pitch, z)
    f0_midi, loudness = x[..., 0:1], x[..., 1:2]
    if self.f0_residual:
      f0_midi += z_pitch
    if self.center_loudness:
      loudness = loudness * 30.0 - 70.0
    return f0_midi, loudness

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['center_loudness'] = self.center_loudness
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class MidiToHarmonicDecoder(_MidiDecoderBase):
  """MIDI pitch (and a latent z) -> harmonic-plus-noise synth controls.

  The Dense output is split into output_splits, which must include
  'f0_midi'; f0_hz = midi_to_hz(f0_midi) is added (0 Hz where f0_midi is
  exactly 0 with midi_zero_silence). Velocity is accepted but not used.

  Input shape:
    z_pitch: [batch, n_frames, 1]; z_vel (unused): [batch, n_frames, 1];
    z: [batch, n_frames, n_z], passed to net as [z_pitch, z].

  Output shape:
    {key: [batch, n_frames, size]} for output_splits, and
    'f0_hz': [batch, n_frames, 1].
  """

  def __init__(self, net: Optional[keras.layers.Layer] = None,
               f0_residual: bool = True, norm: bool = True,
               output_splits: nn.OutputSplits = (('f0_midi', 1),
                                                 ('amplitudes', 1),
                                                 ('harmonic_distribution',
                                                  60),
                                                 ('magnitudes', 65)),
               midi_zero_silence: bool = True, **kwargs):
    """Sets the architecture.

    Args:
      net: See _MidiDecoderBase; required to call the layer.
      f0_residual: Predict f0_midi as z_pitch plus the network output.
      norm: Layer-normalise the network output.
      output_splits: ((key, size), ...) of the controls; must include
        'f0_midi' (size 1 for one f0).
      midi_zero_silence: f0_hz is 0 where f0_midi is 0.
      **kwargs: DictLayer arguments (name, ...).

    Raises:
      ValueError: For bad output_splits or no 'f0_midi' split.
    """
    # pylint: disable-next=protected-access
    output_splits = nn._check_output_splits(output_splits)
    if 'f0_midi' not in dict(output_splits):
      raise ValueError("output_splits must include an 'f0_midi' split, got "
                       f'output_splits={output_splits!r}.')
    super().__init__(
        net, f0_residual, norm, n_out=sum(n for _, n in output_splits),
        output_keys=[key for key, _ in output_splits] + ['f0_hz'], **kwargs)
    self.output_splits = output_splits
    self.n_out = self.dense_out.units
    self.midi_zero_silence = bool(midi_zero_silence)

  def call(self, z_pitch: tf.Tensor, z_vel: Optional[tf.Tensor] = None,
           z: Optional[tf.Tensor] = None) -> TensorDict:
    """Decodes pitch to synthesizer controls.

    Args:
      z_pitch: Pitch in MIDI, [batch, n_frames, 1].
      z_vel: Velocity, [batch, n_frames, 1]; not used.
      z: Optional latent [batch, n_frames, n_z] for the network.

    Returns:
      {key: [batch, n_frames, size]} for output_splits, plus 'f0_hz'.
    """
    del z_vel  # Unused, as in magenta/ddsp.
    z_pitch, x = self.decode(z_pitch, z)
    outputs = nn.split_to_dict(x, self.output_splits)
    if self.f0_residual:
      outputs['f0_midi'] += z_pitch
    outputs['f0_hz'] = core.midi_to_hz(
        outputs['f0_midi'], midi_zero_silence=self.midi_zero_silence)
    return outputs

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    del config['output_keys']
    config.update(output_splits=[list(split) for split in self.output_splits],
                  midi_zero_silence=self.midi_zero_silence)
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
