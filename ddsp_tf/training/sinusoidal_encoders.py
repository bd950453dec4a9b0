"""Encoders of inverse synthesis (ICML 2020): audio -> sinusoids -> harmonics.

`ResnetSinusoidalEncoder` maps a log-mel spectrogram through a 2-D ResNet to
the controls of a sinusoidal synthesizer; `SinusoidalToHarmonicEncoder`
maps those sinusoids to the controls of a harmonic synthesizer (f0,
amplitude and a harmonic distribution). Both are experimental in
magenta/ddsp.

The classes are re-exported by, and documented as part of,
`ddsp_tf.training.encoders`; their gin names are `encoders.*`.
"""

from typing import Any, Callable, Dict, Optional, Text

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import serialization
from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.training import nn
from ddsp_tf.training.net_layers import NetMixin
from ddsp_tf.training.net_layers import frame_features

_GIN_MODULE = 'ddsp_tf.training.encoders'
_SPECTRAL_PREFIX = 'ddsp_tf.spectral_ops.'
TensorDict = Dict[Text, tf.Tensor]


@keras.saving.register_keras_serializable(package='ddsp_tf')
def f0_softmax_20_to_1200_hz(logits: tf.Tensor) -> tf.Tensor:
  """SinusoidalToHarmonicEncoder's default f0 scaling.

  core.frequencies_softmax with 64 bins from 20 Hz to 1200 Hz.

  Args:
    logits: [batch, n_frames, 64].

  Returns:
    f0 in Hz, [batch, n_frames, 1], within [20, 1200].
  """
  return core.frequencies_softmax(logits, depth=64, hz_min=20.0, hz_max=1200.0)


def _check_function(name: Text, fn: Any) -> Callable:
  if not callable(fn):
    raise ValueError(f'{name} must be a function, got {name}={fn!r}.')
  return fn


def _serialize_spectral_fn(fn: Callable) -> serialization.FunctionConfig:
  """Like serialization.serialize_function, also naming spectral_ops ones."""
  plain = getattr(fn, '__wrapped__', fn)
  name = getattr(plain, '__name__', None)
  candidate = getattr(spectral_ops, name, None) if name else None
  if candidate is not None and getattr(candidate, '__wrapped__',
                                       candidate) is plain:
    return _SPECTRAL_PREFIX + name
  return serialization.serialize_function(fn)


def _deserialize_spectral_fn(
    config: serialization.FunctionConfig) -> Optional[Callable]:
  if isinstance(config, str) and config.startswith(_SPECTRAL_PREFIX):
    fn = getattr(spectral_ops, config[len(_SPECTRAL_PREFIX):], None)
    if callable(fn):
      return fn
  return serialization.deserialize_function(config)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module=_GIN_MODULE)
class ResnetSinusoidalEncoder(nn.DictLayer):
  """audio -> spectral_fn -> 2-D ResNet -> one Dense per output split.

  Experimental. The ResNet's output frequency and channel axes are
  flattened, and each control gets its own Dense layer. A gin-scoped
  spectral_fn (e.g. `@f0_spectral/spectral_ops.compute_logmel`) is saved in
  the Keras config by name only, without its gin bindings.

  Input shape:
    audio: [batch, n_samples].

  Output shape:
    {key: [batch, n_frames, size]} for each (key, size) of output_splits,
    n_frames from spectral_fn (e.g. 'frequencies' [batch, n_frames, 6400]
    for 100 sinusoids x 64 softmax bins).
  """

  def __init__(self,
               output_splits: nn.OutputSplits = (('frequencies', 100 * 64),
                                                 ('amplitudes', 100),
                                                 ('noise_magnitudes', 60)),
               spectral_fn: Callable = spectral_ops.compute_logmel,
               size: Text = 'tiny', **kwargs):
    """Sets the architecture.

    Args:
      output_splits: ((key, size), ...) of the outputs.
      spectral_fn: audio [batch, n_samples] -> [batch, n_frames, n_bins].
      size: nn.ResNet size. Note that magenta/ddsp's default 'tiny' is not a
        ResNet size there, so its configs always set size (e.g. 'small').
      **kwargs: DictLayer arguments (name, ...).
    """
    # pylint: disable-next=protected-access
    output_splits = nn._check_output_splits(output_splits)
    super().__init__(output_keys=[key for key, _ in output_splits], **kwargs)
    self.output_splits = output_splits
    self.spectral_fn = _check_function('spectral_fn', spectral_fn)
    self.size = size
    self.resnet = nn.ResNet(size=size)
    self.dense_outs = [keras.layers.Dense(n) for _, n in output_splits]

  def call(self, audio: tf.Tensor) -> TensorDict:
    """Predicts the sinusoidal controls.

    Args:
      audio: [batch, n_samples].

    Returns:
      {key: [batch, n_frames, size]} in output_splits order.
    """
    audio = core.tf_float32(audio)
    validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
    spectrogram = core.tf_float32(self.spectral_fn(audio))
    validation.check_rank('spectral_fn(audio)', spectrogram, (3,),
                          '[batch, n_frames, n_bins]')
    x = self.resnet(spectrogram[..., tf.newaxis])
    # [batch, n_frames, n_freq, ch] -> [batch, n_frames, n_freq * ch].
    shape = tf.shape(x)
    x = tf.reshape(x, [shape[0], shape[1], x.shape[2] * x.shape[3]])
    return {key: dense(x)
            for (key, _), dense in zip(self.output_splits, self.dense_outs)}

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    del config['output_keys']
    config.update(output_splits=[list(split) for split in self.output_splits],
                  spectral_fn=_serialize_spectral_fn(self.spectral_fn),
                  size=self.size)
    return config

  @classmethod
  def from_config(cls, config: Dict[Text, Any]) -> 'ResnetSinusoidalEncoder':
    config = dict(config)
    config['spectral_fn'] = _deserialize_spectral_fn(config['spectral_fn'])
    return cls(**config)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module=_GIN_MODULE)
class SinusoidalToHarmonicEncoder(NetMixin, nn.DictLayer):
  """Sinusoidal controls -> harmonic controls (amplitude, distribution, f0).

  Experimental. The sinusoid frequencies (as [0, 1] in pitch between 0 Hz
  and Nyquist) and amplitudes go through `net` and three Dense layers:
  amplitude (1), harmonic distribution (n_harmonics) and f0 logits
  (f0_depth). amp_scale_fn scales the first two, freq_scale_fn maps the
  logits to Hz. Harmonics at or above Nyquist get no weight, and the
  distribution is normalised to sum to one per frame.

  Input shape:
    sin_freqs (Hz), sin_amps: [batch, n_frames, n_sinusoids].

  Output shape:
    {'harm_amp': [batch, n_frames, 1],
     'harm_dist': [batch, n_frames, n_harmonics],
     'f0_hz': [batch, n_frames, 1]}.
  """

  def __init__(self, net: Optional[keras.layers.Layer] = None,
               n_harmonics: int = 100, f0_depth: int = 64,
               amp_scale_fn: Callable = core.exp_sigmoid,
               freq_scale_fn: Callable = f0_softmax_20_to_1200_hz,
               sample_rate: int = 16000, **kwargs):
    """Sets the architecture.

    Args:
      net: Layer mapping [batch, n_frames, 2 * n_sinusoids] to [batch,
        n_frames, channels] (or a dict with 'out'), e.g. nn.RnnSandwich.
        Required to call the layer.
      n_harmonics: Harmonics of the output distribution.
      f0_depth: Logits per frame for freq_scale_fn.
      amp_scale_fn: Makes the amplitude and distribution positive.
      freq_scale_fn: [batch, n_frames, f0_depth] logits -> f0 in Hz
        [batch, n_frames, 1]; default core.frequencies_softmax with 64 bins
        over 20..1200 Hz.
      sample_rate: Audio sample rate in Hz (sets Nyquist).
      **kwargs: DictLayer arguments (name, ...).
    """
    super().__init__(**kwargs)
    self.set_net(net)
    self.n_harmonics = validation.check_int('n_harmonics', n_harmonics)
    self.f0_depth = validation.check_int('f0_depth', f0_depth)
    self.amp_scale_fn = _check_function('amp_scale_fn', amp_scale_fn)
    self.freq_scale_fn = _check_function('freq_scale_fn', freq_scale_fn)
    self.sample_rate = validation.check_rate('sample_rate', sample_rate)
    self.amp_out = keras.layers.Dense(1)
    self.hd_out = keras.layers.Dense(self.n_harmonics)
    self.f0_out = keras.layers.Dense(self.f0_depth)

  def call(self, sin_freqs: tf.Tensor,
           sin_amps: tf.Tensor) -> ['harm_amp', 'harm_dist', 'f0_hz']:
    """Predicts the harmonic controls.

    Args:
      sin_freqs: Sinusoid frequencies in Hz, [batch, n_frames, n_sinusoids].
      sin_amps: Sinusoid amplitudes (linear, positive), same shape.

    Returns:
      (harm_amp [batch, n_frames, 1], harm_dist [batch, n_frames,
      n_harmonics] summing to 1 over harmonics, f0_hz [batch, n_frames, 1]).
    """
    sin_freqs = frame_features('sin_freqs', sin_freqs)
    sin_amps = frame_features('sin_amps', sin_amps)
    nyquist = self.sample_rate / 2.0
    x = tf.concat([core.hz_to_unit(sin_freqs, hz_min=0.0, hz_max=nyquist),
                   sin_amps], axis=-1)
    x = self.run_net(x)
    if isinstance(x, dict):
      x = x['out']
    harm_amp = self.amp_scale_fn(self.amp_out(x))
    harm_dist = self.amp_scale_fn(self.hd_out(x))
    f0_hz = self.freq_scale_fn(self.f0_out(x))
    harmonic_hz = core.get_harmonic_frequencies(f0_hz, self.n_harmonics)
    harm_dist = core.remove_above_nyquist(harmonic_hz, harm_dist,
                                          self.sample_rate)
    harm_dist = core.safe_divide(
        harm_dist, tf.reduce_sum(harm_dist, axis=-1, keepdims=True))
    return harm_amp, harm_dist, f0_hz

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(
        self.net_config(), n_harmonics=self.n_harmonics,
        f0_depth=self.f0_depth,
        amp_scale_fn=serialization.serialize_function(self.amp_scale_fn),
        freq_scale_fn=serialization.serialize_function(self.freq_scale_fn),
        sample_rate=self.sample_rate)
    return config

  @classmethod
  def from_config(
      cls, config: Dict[Text, Any]) -> 'SinusoidalToHarmonicEncoder':
    config = dict(config)
    for key in ('amp_scale_fn', 'freq_scale_fn'):
      config[key] = serialization.deserialize_function(config[key])
    return super().from_config(config)
