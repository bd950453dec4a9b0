"""Encoders: features -> a latent z per frame ('z', [batch, n_frames, z_dims]).

A `ZEncoder` computes z from some features (`compute_z`) and resamples it to
the number of frames of 'f0_scaled', so the decoder sees z at the same frame
rate as the other inputs.

This module also re-exports the encoders that output other features:
`MidiEncoder` and `HarmonicToMidiEncoder` (module `midi_encoders`: features
-> z_pitch, z_vel) and the inverse-synthesis `ResnetSinusoidalEncoder` and
`SinusoidalToHarmonicEncoder` (module `sinusoidal_encoders`). All gin names
are `ddsp_tf.training.encoders.*`.
"""

from typing import Any, Dict, List, Optional, Sequence, Text

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.training import nn
# Re-exported: these names are part of ddsp_tf.training.encoders.
# pylint: disable=unused-import,g-multiple-import,g-importing-member
from ddsp_tf.training.midi_encoders import HarmonicToMidiEncoder, MidiEncoder
from ddsp_tf.training.net_layers import NetMixin, frame_features
from ddsp_tf.training.sinusoidal_encoders import (
    ResnetSinusoidalEncoder, SinusoidalToHarmonicEncoder,
    f0_softmax_20_to_1200_hz)
# pylint: enable=unused-import,g-multiple-import,g-importing-member

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
  """A Dense layer over [f0_scaled, ld_scaled], averaged over time: one z.

  As in magenta/ddsp the projection is one linear Dense(ch) layer (variable
  `fc`); fc_stack_layers > 0 uses an nn.FcStack of that many
  Dense -> LayerNorm -> leaky ReLU layers instead.
  """

  def __init__(self, ch: int = 512, fc_stack_layers: int = 0, **kwargs):
    """Sets the size.

    Args:
      ch: Channels of z.
      fc_stack_layers: 0 for magenta/ddsp's single Dense layer, else the
        number of Fc layers of an FcStack.
      **kwargs: ZEncoder arguments.
    """
    super().__init__(**kwargs)
    self.ch = validation.check_int('ch', ch)
    self.fc_stack_layers = validation.check_int(
        'fc_stack_layers', fc_stack_layers, minimum=0)
    self.fc = (nn.FcStack(self.ch, self.fc_stack_layers)
               if self.fc_stack_layers else keras.layers.Dense(self.ch))

  def compute_z(self, f0_scaled: tf.Tensor, ld_scaled: tf.Tensor) -> tf.Tensor:
    """f0_scaled, ld_scaled [batch, n_frames, 1] -> z [batch, 1, ch]."""
    x = tf.concat([core.tf_float32(f0_scaled), core.tf_float32(ld_scaled)],
                  axis=-1)
    return tf.reduce_mean(self.fc(x), axis=1, keepdims=True)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.ch, fc_stack_layers=self.fc_stack_layers)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class OneHotEncoder(ZEncoder):
  """An integer id (e.g. the instrument) -> a learned embedding as z.

  Input shape:
    one_hot_key: integer ids [batch] (or [batch, n_ids]); f0_scaled
    [batch, n_frames, 1] sets the frames when expanding.

  Output shape:
    {'z': [batch, n_dims]} ([batch, n_ids, n_dims]) with skip_expand, else
    [batch, n_frames, n_dims].
  """

  def __init__(self, one_hot_key: Text = 'instrument', vocab_size: int = 1024,
               n_dims: int = 256, skip_expand: bool = True, **kwargs):
    """Sets the embedding.

    Args:
      one_hot_key: Key of the integer ids, in [0, vocab_size).
      vocab_size: Number of ids.
      n_dims: Channels of z.
      skip_expand: Return the embedding as is (broadcast by the consumer)
        instead of resampling it to the frames of f0_scaled.
      **kwargs: Keras layer arguments.
    """
    if not isinstance(one_hot_key, str):
      raise ValueError(f'one_hot_key must be a feature key, got '
                       f'one_hot_key={one_hot_key!r}.')
    super().__init__(input_keys=[one_hot_key], **kwargs)
    self.one_hot_key = one_hot_key
    self.vocab_size = validation.check_int('vocab_size', vocab_size)
    self.n_dims = validation.check_int('n_dims', n_dims)
    self.skip_expand = bool(skip_expand)
    self.embedding = nn.get_embedding(vocab_size=self.vocab_size,
                                      n_dims=self.n_dims)

  def compute_z(self, one_hot: tf.Tensor) -> tf.Tensor:
    """Ids [batch] or [batch, n_ids] -> [batch, (n_ids,) n_dims]."""
    one_hot = tf.convert_to_tensor(one_hot)
    validation.check_rank(self.one_hot_key, one_hot, (1, 2),
                          '[batch] or [batch, n_ids] integer ids')
    return self.embedding(one_hot)

  def expand_z(self, z: tf.Tensor, time_steps: int) -> tf.Tensor:
    """z unchanged with skip_expand, else resampled to time_steps frames."""
    if self.skip_expand:
      return z
    return super().expand_z(z, time_steps)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    del config['input_keys']
    config.update(one_hot_key=self.one_hot_key, vocab_size=self.vocab_size,
                  n_dims=self.n_dims, skip_expand=self.skip_expand)
    return config


def _check_int_list(name: Text, values: Any) -> List[int]:
  return [validation.check_int(f'{name}[{i}]', v)
          for i, v in enumerate(core.make_iterable(values))]


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class MfccEncoder(ZEncoder):
  """MFCCs at one or more resolutions, resampled and instance-normalised.

  For each (fft_size, mel_bins, mfcc_bins) triple, MFCCs (20-8000 Hz, 75%
  overlap) are resampled to time_steps frames; they are concatenated along
  channels and normalised per channel over time.

  Input shape:
    audio: [batch, n_samples]; f0_scaled: [batch, n_frames, 1].

  Output shape:
    {'z': [batch, n_frames, sum(mfcc_bins)]}.
  """

  def __init__(self, fft_sizes: Sequence[int] = (1024,),
               mel_bins: Sequence[int] = (128,),
               mfcc_bins: Sequence[int] = (30,), time_steps: int = 250,
               **kwargs):
    """Sets the MFCC resolutions.

    Args:
      fft_sizes: FFT size of each resolution (an int for one).
      mel_bins: Mel bands of each resolution.
      mfcc_bins: MFCCs kept of each resolution.
      time_steps: Frames each MFCC set is resampled to.
      **kwargs: ZEncoder arguments.

    Raises:
      ValueError: For non-positive sizes or lists of different lengths.
    """
    super().__init__(**kwargs)
    self.fft_sizes = _check_int_list('fft_sizes', fft_sizes)
    self.mel_bins = _check_int_list('mel_bins', mel_bins)
    self.mfcc_bins = _check_int_list('mfcc_bins', mfcc_bins)
    lengths = {len(self.fft_sizes), len(self.mel_bins), len(self.mfcc_bins)}
    if len(lengths) != 1 or not self.fft_sizes:
      raise ValueError(
          'fft_sizes, mel_bins and mfcc_bins must have one entry per MFCC '
          f'resolution (same non-zero length), got fft_sizes={fft_sizes!r}, '
          f'mel_bins={mel_bins!r}, mfcc_bins={mfcc_bins!r}.')
    self.time_steps = validation.check_int('time_steps', time_steps)
    self.norm_out = nn.Normalize('instance')

  def compute_z(self, audio: tf.Tensor) -> tf.Tensor:
    """audio [batch, n_samples] -> [batch, time_steps, sum(mfcc_bins)]."""
    audio = core.tf_float32(audio)
    validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
    mfccs = [core.resample(spectral_ops.compute_mfcc(
        audio, lo_hz=20.0, hi_hz=8000.0, fft_size=fft_size, mel_bins=n_mel,
        mfcc_bins=n_mfcc), self.time_steps)
             for fft_size, n_mel, n_mfcc in zip(self.fft_sizes, self.mel_bins,
                                                self.mfcc_bins)]
    mfccs = tf.concat(mfccs, axis=-1)
    return self.norm_out(mfccs[:, :, tf.newaxis, :])[:, :, 0, :]

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(fft_sizes=self.fft_sizes, mel_bins=self.mel_bins,
                  mfcc_bins=self.mfcc_bins, time_steps=self.time_steps)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class ExpressionEncoder(NetMixin, ZEncoder):
  """Frame-wise features (and MFCCs) -> net -> layer norm -> Dense(z_dims).

  The features named by input_keys are concatenated along channels. If
  'audio' is one of them, it is replaced by its MFCCs (20-8000 Hz,
  instance-normalised, resampled to the frames of the first other feature)
  appended after the other features. With pool_time, z is averaged over
  time, so every output frame holds the same vector.

  Input shape:
    each input key: [batch, n_frames, channels] ('audio': [batch,
    n_samples]); f0_scaled: [batch, n_frames, 1].

  Output shape:
    {'z': [batch, n_frames, z_dims]}.
  """

  def __init__(self, net: Optional[keras.layers.Layer] = None,
               z_dims: int = 128,
               input_keys: Sequence[Text] = ('f0_scaled', 'ld_scaled'),
               mfcc_bins: int = 60, fft_size: int = 1024, mel_bins: int = 128,
               pool_time: bool = True, **kwargs):
    """Sets the architecture.

    Args:
      net: Layer mapping [batch, n_frames, channels_in] to [batch, n_frames,
        channels], e.g. nn.DilatedConvStack. Required to call the layer.
      z_dims: Channels of z.
      input_keys: Keys of the features (may include 'audio').
      mfcc_bins: MFCCs computed from 'audio'.
      fft_size: FFT size of the MFCCs.
      mel_bins: Mel bands of the MFCCs.
      pool_time: Average z over time.
      **kwargs: Keras layer arguments.

    Raises:
      ValueError: If input_keys is empty or a size is not positive.
    """
    keys = nn.check_keys('input_keys', input_keys)
    if not keys:
      raise ValueError('input_keys must name at least one feature, got '
                       f'input_keys={input_keys!r}.')
    super().__init__(input_keys=keys, **kwargs)
    self.set_net(net)
    self.compute_mfccs = 'audio' in keys
    self.mfcc_bins = validation.check_int('mfcc_bins', mfcc_bins)
    self.fft_size = validation.check_int('fft_size', fft_size)
    self.mel_bins = validation.check_int('mel_bins', mel_bins)
    self.pool_time = bool(pool_time)
    self.norm = nn.Normalize('layer')
    self.dense_out = keras.layers.Dense(validation.check_int('z_dims', z_dims))
    if self.compute_mfccs:
      self.norm_mfcc = nn.Normalize('instance')

  def _mfccs(self, audio: tf.Tensor) -> tf.Tensor:
    """Instance-normalised MFCCs [batch, n_mfcc_frames, mfcc_bins]."""
    audio = core.tf_float32(audio)
    validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
    mfccs = spectral_ops.compute_mfcc(
        audio, lo_hz=20.0, hi_hz=8000.0, fft_size=self.fft_size,
        mel_bins=self.mel_bins, mfcc_bins=self.mfcc_bins)
    return self.norm_mfcc(mfccs)

  def compute_z(self, *inputs) -> tf.Tensor:
    """Features (in input_keys order) -> z [batch, n_frames or 1, z_dims]."""
    names = list(self._z_input_keys)
    inputs = list(inputs)
    mfccs = None
    if self.compute_mfccs:
      index = names.index('audio')
      names.pop(index)
      mfccs = self._mfccs(inputs.pop(index))
    features = [frame_features(name, x) for name, x in zip(names, inputs)]
    if mfccs is not None:
      if features:
        n_frames = validation.static_dim(features[0], 1)
        mfccs = core.resample(mfccs, n_frames if n_frames is not None else
                              tf.shape(features[0])[1])
      features.append(mfccs)
    z = self.run_net(tf.concat(features, axis=-1))
    z = self.dense_out(self.norm(z))
    if self.pool_time:
      z = tf.reduce_mean(z, axis=1, keepdims=True)
    return z

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(self.net_config(), z_dims=self.dense_out.units,
                  mfcc_bins=self.mfcc_bins, fft_size=self.fft_size,
                  mel_bins=self.mel_bins, pool_time=self.pool_time)
    return config
