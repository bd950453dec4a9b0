"""DDSP-INV: pitch detection by inverse audio synthesis (ICML SAS 2020).

EXPERIMENTAL, as in magenta/ddsp.

The model analyses audio into sinusoids (frequencies, amplitudes, filtered
noise), then groups the sinusoids into one harmonic series (f0, overall
amplitude, harmonic distribution), and resynthesizes both:

  audio --sinusoidal_encoder--> sinusoids --> 'sin_audio'
                                    | (stop gradient)
                                    +--harmonic_encoder--> harmonics
                                                 --> sinusoids --> 'harm_audio'

It trains on three kinds of batches:
- plain audio ({'audio'}): audio losses on both resyntheses, the
  sinusoidal<->harmonic consistency losses and the two-way-mismatch loss;
- synthetic controls (data.SyntheticNotes: 'sin_amps', 'sin_freqs',
  'noise_magnitudes', 'harm_amp', 'harm_dist', 'f0_hz'): the audio is
  rendered from the controls, and the predictions are also compared with
  them ('ss_' losses, self-supervision);
- a pair of both (data.ZippedProvider), run as one concatenated batch.

Where ddsp_tf knowingly differs from magenta/ddsp:
- Losses are computed after `call` from the outputs (model.Model), so the
  outputs of a self-supervised batch also hold its ground-truth controls,
  under 'self_supervised_features' (and, for a zipped pair, the
  self-supervised half's outputs under 'self_supervised_outputs').
  `append_losses` returns the loss dict instead of storing it.
- Missing features fail up front with the keys named.
"""

import functools
from typing import Any, Callable, Dict, Optional, Sequence, Text, Tuple

import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import effects
from ddsp_tf import layer_base
from ddsp_tf import losses as ddsp_losses
from ddsp_tf import processors
from ddsp_tf import serialization
from ddsp_tf import synths
from ddsp_tf import validation
from ddsp_tf.training.models import model as model_lib
from ddsp_tf.training.models import model_helpers as helpers

TensorDict = Dict[Text, tf.Tensor]

_SS_FEATURES = 'self_supervised_features'
_SS_OUTPUTS = 'self_supervised_outputs'
_LAYER_ARGS = ('sinusoidal_encoder', 'harmonic_encoder',
               'filtered_noise_consistency_loss', 'twm_loss',
               'harmonic_distribution_prior')
# Frequency bins per sinusoid of the default frequency nonlinearity.
_FREQ_DEPTH = 64


def _default_freq_scale_fn() -> Callable[[tf.Tensor], tf.Tensor]:
  return functools.partial(core.frequencies_softmax, depth=_FREQ_DEPTH)


@keras.saving.register_keras_serializable(package='ddsp_tf')
class InverseSynthesis(model_lib.Model):
  """Audio -> sinusoids -> harmonics -> sinusoids -> audio (ddsp-inv).

  The processor group is built here: Sinusoidal (['amplitudes',
  'frequencies'], no scaling), FilteredNoise (['noise_magnitudes'],
  window_size 0, no scaling), Add, and with reverb a trainable
  FilteredNoiseReverb (2 s, 500 frames, 16 bands) named 'reverb'. The
  model applies the nonlinearities itself: exp_sigmoid to the amplitudes
  and noise magnitudes, freq_scale_fn to the frequency logits.
  """

  def __init__(self,
               sinusoidal_encoder: Optional[keras.layers.Layer] = None,
               harmonic_encoder: Optional[keras.layers.Layer] = None,
               losses: Optional[Sequence[Any]] = None,
               sinusoidal_consistency_losses: Optional[Any] = None,
               harmonic_consistency_losses: Optional[Any] = None,
               filtered_noise_consistency_loss: Optional[Any] = None,
               twm_loss: Optional[Any] = None,
               harmonic_distribution_prior: Optional[Any] = None,
               freq_scale_fn: Optional[Callable[[tf.Tensor],
                                                tf.Tensor]] = None,
               reverb: bool = True, n_samples: int = 64000,
               sample_rate: int = 16000, stop_gradient: bool = True,
               **kwargs):
    """Sets the encoders, losses and synthesizers.

    Args:
      sinusoidal_encoder: Layer mapping the features ('audio') to logits
        {'frequencies' [batch, n_frames, n_sinusoids * depth], 'amplitudes'
        [batch, n_frames, n_sinusoids], 'noise_magnitudes' [batch, n_frames,
        n_bands]}, e.g. encoders.ResnetSinusoidalEncoder. Required.
      harmonic_encoder: Layer mapping (sin_freqs, sin_amps) to {'harm_amp',
        'harm_dist', 'f0_hz'}, e.g. encoders.SinusoidalToHarmonicEncoder;
        None keeps the sinusoidal model only.
      losses: Audio losses (e.g. [losses.SpectralLoss()]) between the input
        audio and each resynthesis, reported as 'sin_<name>' and
        'harm_<name>'.
      sinusoidal_consistency_losses: Losses on (amps, freqs, target amps,
        target freqs) of two sets of sinusoids, e.g.
        losses.KDEConsistencyLoss.
      harmonic_consistency_losses: Self-supervised losses on the harmonic
        controls, e.g. losses.HarmonicConsistencyLoss.
      filtered_noise_consistency_loss: Self-supervised loss on the noise
        magnitudes, e.g. losses.FilteredNoiseConsistencyLoss.
      twm_loss: losses.TWMLoss between f0 (or the sinusoids without a
        harmonic encoder) and the sinusoids, or None.
      harmonic_distribution_prior: Loss on the harmonic distribution, or
        None.
      freq_scale_fn: Frequency logits -> Hz; default
        core.frequencies_softmax with depth 64.
      reverb: Add a learned reverb to the processor group.
      n_samples: Samples of audio the synthesizers render.
      sample_rate: Samples per second.
      stop_gradient: Stop gradients from the harmonic part into the
        sinusoidal predictions.
      **kwargs: Keras model arguments (name).

    Raises:
      ValueError: For a missing sinusoidal_encoder, a loss without
        get_losses_dict, or bad sizes.
    """
    super().__init__(**kwargs)
    if sinusoidal_encoder is None:
      raise ValueError('InverseSynthesis needs a sinusoidal_encoder (e.g. '
                       'encoders.ResnetSinusoidalEncoder); got None.')
    if freq_scale_fn is not None and not callable(freq_scale_fn):
      raise ValueError(f'freq_scale_fn must be callable or None, got '
                       f'{freq_scale_fn!r}.')
    # Networks.
    self.sinusoidal_encoder = sinusoidal_encoder
    self.harmonic_encoder = harmonic_encoder
    # Losses.
    self.audio_loss_objs = helpers.check_losses('losses', losses)
    self.sinusoidal_consistency_losses = helpers.check_losses(
        'sinusoidal_consistency_losses', sinusoidal_consistency_losses)
    self.harmonic_consistency_losses = helpers.check_losses(
        'harmonic_consistency_losses', harmonic_consistency_losses)
    for name, value in (
        ('filtered_noise_consistency_loss', filtered_noise_consistency_loss),
        ('twm_loss', twm_loss),
        ('harmonic_distribution_prior', harmonic_distribution_prior)):
      helpers.check_losses(name, value)
    self.filtered_noise_consistency_loss = filtered_noise_consistency_loss
    self.twm_loss = twm_loss
    self.harmonic_distribution_prior = harmonic_distribution_prior
    # Training.
    self.stop_gradient = bool(stop_gradient)

    # Processor group.
    self.n_samples = validation.check_int('n_samples', n_samples)
    self.sample_rate = validation.check_int('sample_rate', sample_rate)
    self.use_reverb = bool(reverb)
    self.amps_scale_fn = core.exp_sigmoid
    self._freq_scale_fn_arg = freq_scale_fn
    self.freq_scale_fn = freq_scale_fn or _default_freq_scale_fn()
    self.sinusoidal_synth = synths.Sinusoidal(
        n_samples=self.n_samples, sample_rate=self.sample_rate,
        amp_scale_fn=None, freq_scale_fn=None, name='sinusoidal')
    self.filtered_noise_synth = synths.FilteredNoise(
        n_samples=self.n_samples, window_size=0, scale_fn=None,
        name='filtered_noise')
    dag = [
        (self.sinusoidal_synth, ['amplitudes', 'frequencies']),
        (self.filtered_noise_synth, ['noise_magnitudes']),
        (processors.Add(), [f'{self.filtered_noise_synth.name}/signal',
                            f'{self.sinusoidal_synth.name}/signal']),
    ]
    if self.use_reverb:
      self.reverb = effects.FilteredNoiseReverb(
          reverb_length=int(self.sample_rate * 2), window_size=257,
          n_frames=500, n_filter_banks=16, trainable=True, name='reverb')
      dag.append((self.reverb, ['add/signal']))
    self.processor_group = processors.ProcessorGroup(dag=dag)

  # --------------------------------------------------------------------------
  # Inputs.
  # --------------------------------------------------------------------------
  def generate_synthetic_audio(self, features: TensorDict) -> tf.Tensor:
    """Renders synthetic controls to audio with the processor group.

    Args:
      features: {'sin_amps', 'sin_freqs' [batch, n_frames, n_sinusoids],
        'noise_magnitudes' [batch, n_frames, n_bands]} (scaled controls).

    Returns:
      [batch, n_samples] audio.
    """
    return self.processor_group({
        'amplitudes': features['sin_amps'],
        'frequencies': features['sin_freqs'],
        'noise_magnitudes': features['noise_magnitudes'],
    })

  def parse_zipped_features(self, features: Sequence[TensorDict]
                            ) -> Tuple[TensorDict, TensorDict]:
    """Splits a zipped pair into (normal, self-supervised) feature dicts.

    Args:
      features: Two feature dicts; the self-supervised one has 'sin_amps'.

    Returns:
      (normal features, self-supervised features).

    Raises:
      ValueError: Unless there are exactly two dicts.
    """
    if len(features) != 2 or not all(isinstance(f, dict) for f in features):
      raise ValueError('InverseSynthesis takes a pair of feature dicts '
                       '(normal, self-supervised) from a ZippedProvider; got '
                       f'{len(features)} items.')
    ss_idx = int(features[1].get('sin_amps') is not None)
    return features[1 - ss_idx], features[ss_idx]

  def _required_ss_features(self) -> Dict[Text, Text]:
    why = 'a synthetic control (data.SyntheticNotes)'
    required = {key: why for key in ('sin_amps', 'sin_freqs',
                                     'noise_magnitudes')}
    if self.harmonic_consistency_losses:
      for key in ('harm_amp', 'harm_dist', 'f0_hz'):
        required[key] = why + ' read by harmonic_consistency_losses'
    return required

  def _check_audio_features(self, features: Any) -> None:
    if not isinstance(features, dict):
      raise TypeError('InverseSynthesis takes a dict of features or a pair '
                      f'of them, got {type(features).__name__}.')
    helpers.check_required_features(
        'InverseSynthesis', features,
        {'audio': 'the audio to analyse [batch, n_samples]'})

  # --------------------------------------------------------------------------
  # Forward pass.
  # --------------------------------------------------------------------------
  def get_audio_from_outputs(self, outputs: TensorDict) -> tf.Tensor:
    """'harm_audio', or 'sin_audio' without a harmonic encoder."""
    return (outputs['sin_audio'] if self.harmonic_encoder is None else
            outputs['harm_audio'])

  def call(self, features: Any, training: bool = True) -> TensorDict:
    """Runs the model on audio, synthetic controls, or a zipped pair.

    Args:
      features: {'audio'}; or synthetic controls with 'sin_amps' (audio is
        rendered from them); or a (normal, synthetic) pair.
      training: Keras training flag.

    Returns:
      forward's outputs (for a pair, the normal half's, without the
      processor-group dicts); self-supervised batches add
      'self_supervised_features' (the controls and rendered 'audio'), and
      pairs 'self_supervised_outputs' (the synthetic half's outputs).

    Raises:
      ValueError: If required features are missing.
    """
    if isinstance(features, (list, tuple)):
      features, ss_features = self.parse_zipped_features(features)
      self._check_audio_features(features)
      helpers.check_required_features('InverseSynthesis', ss_features,
                                      self._required_ss_features())
      ss_features = dict(ss_features)
      ss_features['audio'] = self.generate_synthetic_audio(ss_features)
      batch_size = features['audio'].shape[0]
      if batch_size is None:
        batch_size = tf.shape(features['audio'])[0]
      inputs = {'audio': tf.concat([core.tf_float32(features['audio']),
                                    ss_features['audio']], axis=0)}
      all_outputs = self.forward(inputs, training)
      outputs = {k: v[:batch_size] for k, v in all_outputs.items()
                 if not isinstance(v, dict)}
      outputs[_SS_OUTPUTS] = {k: v[batch_size:]
                              for k, v in all_outputs.items()
                              if not isinstance(v, dict)}
      outputs[_SS_FEATURES] = ss_features
    elif isinstance(features, dict) and features.get('sin_amps') is not None:
      helpers.check_required_features('InverseSynthesis', features,
                                      self._required_ss_features())
      ss_features = dict(features)
      ss_features['audio'] = self.generate_synthetic_audio(ss_features)
      outputs = self.forward(ss_features, training)
      outputs[_SS_FEATURES] = ss_features
    else:
      self._check_audio_features(features)
      outputs = self.forward(features, training)
    return outputs

  def forward(self, features: TensorDict, training: bool = True
              ) -> Dict[Text, Any]:
    """The forward pass (no losses) on a dict with 'audio'.

    Args:
      features: {'audio': [batch, n_samples], ...}.
      training: Keras training flag.

    Returns:
      'audio', 'noise_magnitudes', 'sin_audio', 'sin_amps', 'sin_freqs',
      the processor group's controls; with a harmonic encoder also
      'harm_audio', 'harm_amp' [batch, n_frames, 1], 'harm_dist'
      [batch, n_frames, n_harmonics], 'f0_hz' [batch, n_frames, 1],
      'harm_freqs' and 'harm_amps' [batch, n_frames, n_harmonics].
    """
    audio = features['audio']
    pg_in = dict(self.sinusoidal_encoder(features, training=training))
    sin_freqs = self.freq_scale_fn(pg_in['frequencies'])
    sin_amps = self.amps_scale_fn(pg_in['amplitudes'])
    noise_magnitudes = self.amps_scale_fn(pg_in['noise_magnitudes'])
    pg_in.update(frequencies=sin_freqs, amplitudes=sin_amps,
                 noise_magnitudes=noise_magnitudes)
    controls = self.processor_group.get_controls(pg_in)
    outputs = {
        'audio': audio,
        'noise_magnitudes': noise_magnitudes,
        'sin_audio': self.processor_group.get_signal(controls),
        'sin_amps': sin_amps,
        'sin_freqs': sin_freqs,
    }
    outputs.update(controls)

    if self.stop_gradient:
      sin_freqs = tf.stop_gradient(sin_freqs)
      sin_amps = tf.stop_gradient(sin_amps)
      noise_magnitudes = tf.stop_gradient(noise_magnitudes)
    if self.harmonic_encoder is not None:
      h_out = self.harmonic_encoder(sin_freqs, sin_amps)
      harm_amp, harm_dist, f0_hz = (h_out['harm_amp'], h_out['harm_dist'],
                                    h_out['f0_hz'])
      n_harmonics = int(harm_dist.shape[-1])
      harm_freqs = core.get_harmonic_frequencies(f0_hz, n_harmonics)
      harm_amps = harm_amp * harm_dist
      pg_in.update(frequencies=harm_freqs, amplitudes=harm_amps,
                   noise_magnitudes=noise_magnitudes)
      outputs.update({
          'harm_audio': self.processor_group(pg_in),
          'harm_amp': harm_amp,
          'harm_dist': harm_dist,
          'f0_hz': f0_hz,
          'harm_freqs': harm_freqs,
          'harm_amps': harm_amps,
      })
    return outputs

  # --------------------------------------------------------------------------
  # Losses.
  # --------------------------------------------------------------------------
  def _unsupervised_losses(self, o: TensorDict) -> TensorDict:
    """Audio, prior, consistency and TWM losses of a forward pass."""
    losses = {}
    for loss_obj in self.audio_loss_objs:
      losses[f'sin_{loss_obj.name}'] = loss_obj(o['audio'], o['sin_audio'])
    if self.harmonic_encoder is not None:
      losses.update(helpers.losses_dict(self.harmonic_distribution_prior,
                                        o['harm_dist']))
      for loss_obj in self.audio_loss_objs:
        losses[f'harm_{loss_obj.name}'] = loss_obj(o['audio'],
                                                   o['harm_audio'])
      if self.sinusoidal_consistency_losses:
        sin_amps, sin_freqs = o['sin_amps'], o['sin_freqs']
        if self.stop_gradient:
          sin_amps = tf.stop_gradient(sin_amps)
          sin_freqs = tf.stop_gradient(sin_freqs)
        losses.update(helpers.losses_dict(
            self.sinusoidal_consistency_losses, sin_amps, sin_freqs,
            o['harm_amps'], o['harm_freqs']))
    if self.twm_loss is not None:
      f0_c = o['sin_freqs'] if self.harmonic_encoder is None else o['f0_hz']
      losses.update(helpers.losses_dict(self.twm_loss, f0_c, o['sin_freqs'],
                                        o['sin_amps']))
    return losses

  def _self_supervised_losses(self, o: TensorDict,
                              f: TensorDict) -> TensorDict:
    """'ss_' losses between predictions o and synthetic controls f."""
    losses = {}
    for loss_obj in self.sinusoidal_consistency_losses:
      losses[f'ss_{loss_obj.name}'] = loss_obj(
          o['sin_amps'], o['sin_freqs'], f['sin_amps'], f['sin_freqs'])
    fncl = self.filtered_noise_consistency_loss
    if fncl is not None:
      losses[f'ss_{fncl.name}'] = fncl(o['noise_magnitudes'],
                                       f['noise_magnitudes'])
    for loss_obj in self.harmonic_consistency_losses:
      if isinstance(loss_obj, ddsp_losses.HarmonicConsistencyLoss):
        values = loss_obj.get_losses_dict(
            o['harm_amp'], f['harm_amp'], o['harm_dist'], f['harm_dist'],
            o['f0_hz'], f['f0_hz'])
        losses.update({f'ss_{k}': v for k, v in values.items()})
      else:
        losses[f'ss_harm_{loss_obj.name}'] = loss_obj(
            o['harm_amp'], o['f0_hz'], f['harm_amp'], f['f0_hz'])
    return losses

  def append_losses(self, outputs: TensorDict,
                    self_supervised_features: Optional[TensorDict] = None
                    ) -> TensorDict:
    """The losses of one forward pass.

    Args:
      outputs: forward's outputs.
      self_supervised_features: The synthetic controls the outputs should
        match, or None for the unsupervised losses.

    Returns:
      {loss name: scalar}: without self_supervised_features the audio
      losses ('sin_*', 'harm_*'), the harmonic prior, the sinusoidal
      consistency and TWM losses; with them the 'ss_*' losses.
    """
    if self_supervised_features is None:
      return self._unsupervised_losses(outputs)
    return self._self_supervised_losses(outputs, self_supervised_features)

  def compute_losses_dict(self, outputs: TensorDict) -> TensorDict:
    """Unsupervised losses, plus self-supervised ones for synthetic data."""
    losses = self.append_losses(outputs)
    ss_features = outputs.get(_SS_FEATURES)
    if ss_features is not None:
      ss_outputs = outputs.get(_SS_OUTPUTS, outputs)
      losses.update(self.append_losses(ss_outputs, ss_features))
    return losses

  # --------------------------------------------------------------------------
  # Serialization.
  # --------------------------------------------------------------------------
  def get_config(self) -> Dict[Text, Any]:
    config = {
        'name': self.name, 'reverb': self.use_reverb,
        'n_samples': self.n_samples, 'sample_rate': self.sample_rate,
        'stop_gradient': self.stop_gradient,
        'freq_scale_fn': serialization.serialize_function(
            self._freq_scale_fn_arg),
        'losses': helpers.serialize(self.audio_loss_objs),
        'sinusoidal_consistency_losses': helpers.serialize(
            self.sinusoidal_consistency_losses),
        'harmonic_consistency_losses': helpers.serialize(
            self.harmonic_consistency_losses),
    }
    for key in _LAYER_ARGS:
      config[key] = helpers.serialize(getattr(self, key))
    return config

  @classmethod
  def from_config(cls, config: Dict[Text, Any]) -> 'InverseSynthesis':
    config = dict(config)
    freq_scale_fn = serialization.deserialize_function(
        config.pop('freq_scale_fn', None))
    return cls(freq_scale_fn=freq_scale_fn,
               **helpers.deserialize_layers(config))


# Configurable like magenta/ddsp's: InverseSynthesis() picks up gin bindings.
InverseSynthesis = layer_base.gin_configurable(
    InverseSynthesis, module='ddsp_tf.training.models')
