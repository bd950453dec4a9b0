"""Audio losses: multi-scale spectral, embedding and parameter losses.

`SpectralLoss` compares multi-scale STFT magnitudes and is the main training
loss of DDSP; `EmbeddingLoss` compares two signals in the embedding space of
a pretrained model; `ParamLoss` compares any two tensors (e.g. predicted
controls).
"""

from typing import Any, Callable, Dict, Optional, Sequence, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.losses.base import _check_loss_type
from ddsp_tf.losses.base import _check_weight
from ddsp_tf.losses.base import Loss
from ddsp_tf.losses.base import mean_difference


# ----------------------------------------------------------------------------
# Audio losses.
# ----------------------------------------------------------------------------
_SPECTRAL_OVERLAP = 0.75
_LOUDNESS_N_FFT = 2048
_LOUDNESS_FRAME_RATE = 250


def _check_audio_pair(target_audio: tf.Tensor, audio: tf.Tensor
                      ) -> Tuple[tf.Tensor, tf.Tensor]:
  """float32 audio pair of rank 1-3 and identical shapes."""
  target_audio, audio = core.tf_float32(target_audio), core.tf_float32(audio)
  meaning = '[batch, n_samples], [n_samples] or [batch, n_samples, 1]'
  validation.check_rank('target_audio', target_audio, (1, 2, 3), meaning)
  validation.check_rank('audio', audio, (1, 2, 3), meaning)
  validation.check_same_shape(('target_audio', 'audio'), target_audio, audio)
  return target_audio, audio


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.losses')
class SpectralLoss(Loss):
  """Multi-scale spectrogram loss between two signals.

  For each FFT size the STFT magnitudes (periodic Hann window, 75% overlap,
  end padding; see spectral_ops.compute_mag) of both signals are compared,
  with separate weights for the magnitudes, their first differences in time
  and in frequency, their cumulative sum over frequency and their natural
  log. The terms are means, added up over the sizes without any per-size
  normalisation. A loudness term (A-weighted, n_fft 2048, in dB) is added
  once. Weights of 0 skip their term.

  Linear magnitudes emphasise the loud peaks; log magnitudes the quiet
  detail; the frequency cumsum behaves like a 1-D transport distance and
  still gives a gradient when two sinusoids do not overlap.
  """

  _config_args = ('fft_sizes', 'loss_type', 'mag_weight', 'delta_time_weight',
                  'delta_freq_weight', 'cumsum_freq_weight', 'logmag_weight',
                  'loudness_weight', 'sample_rate')

  def __init__(self,
               fft_sizes: Sequence[int] = (2048, 1024, 512, 256, 128, 64),
               loss_type: Text = 'L1',
               mag_weight: float = 1.0,
               delta_time_weight: float = 0.0,
               delta_freq_weight: float = 0.0,
               cumsum_freq_weight: float = 0.0,
               logmag_weight: float = 0.0,
               loudness_weight: float = 0.0,
               name: Text = 'spectral_loss',
               sample_rate: int = 16000,
               **kwargs):
    """Sets the scales and the weight of each term.

    Args:
      fft_sizes: Frame sizes of the STFTs compared (each >= 4, so that the
        hop of a quarter frame is at least one sample).
      loss_type: 'L1', 'L2' or 'COSINE' (any case).
      mag_weight: Weight of the linear magnitudes.
      delta_time_weight: Weight of the magnitudes' differences along time.
      delta_freq_weight: Weight of the magnitudes' differences along
        frequency.
      cumsum_freq_weight: Weight of the magnitudes' cumulative sums along
        frequency.
      logmag_weight: Weight of the log magnitudes (core.safe_log).
      loudness_weight: Weight of the A-weighted loudness in dB.
      name: Layer name, and the key in get_losses_dict.
      sample_rate: Audio sample rate, used only by the loudness term (an
        addition to the original, which assumed 16 kHz). Its frames are
        about 250 per second: the hop is sample_rate / 250 rounded.
      **kwargs: Keras layer arguments.
    """
    super().__init__(name=name, **kwargs)
    sizes = core.make_iterable(fft_sizes)
    if not sizes:
      raise ValueError(f'fft_sizes must name at least one FFT size, got '
                       f'fft_sizes={fft_sizes!r}.')
    self.fft_sizes = tuple(
        validation.check_int(f'fft_sizes[{i}]', size, minimum=4)
        for i, size in enumerate(sizes))
    self.loss_type = _check_loss_type(loss_type)
    self.mag_weight = _check_weight('mag_weight', mag_weight)
    self.delta_time_weight = _check_weight('delta_time_weight',
                                           delta_time_weight)
    self.delta_freq_weight = _check_weight('delta_freq_weight',
                                           delta_freq_weight)
    self.cumsum_freq_weight = _check_weight('cumsum_freq_weight',
                                            cumsum_freq_weight)
    self.logmag_weight = _check_weight('logmag_weight', logmag_weight)
    self.loudness_weight = _check_weight('loudness_weight', loudness_weight)
    self.sample_rate = validation.check_int('sample_rate', sample_rate)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['fft_sizes'] = list(self.fft_sizes)
    return config

  def call(self, target_audio: tf.Tensor, audio: tf.Tensor,
           weights: Optional[tf.Tensor] = None) -> tf.Tensor:
    """The weighted sum of the spectral comparisons.

    Args:
      target_audio: [batch, n_samples] (or [n_samples], [batch, n_samples, 1]).
      audio: Same shape as target_audio.
      weights: Optional weights passed to every mean_difference; they must
        broadcast to every compared tensor (in practice a scalar or a
        per-example [batch, 1, 1]).

    Returns:
      float32 scalar.
    """
    target_audio, audio = _check_audio_pair(target_audio, audio)
    loss = tf.constant(0.0, tf.float32)

    def add(weight, target, value):
      return weight * mean_difference(target, value, self.loss_type, weights)

    for size in self.fft_sizes:
      target_mag = spectral_ops.compute_mag(target_audio, size=size,
                                            overlap=_SPECTRAL_OVERLAP)
      value_mag = spectral_ops.compute_mag(audio, size=size,
                                           overlap=_SPECTRAL_OVERLAP)
      if self.mag_weight > 0:
        loss += add(self.mag_weight, target_mag, value_mag)
      if self.delta_time_weight > 0:
        loss += add(self.delta_time_weight, core.diff(target_mag, axis=-2),
                    core.diff(value_mag, axis=-2))
      if self.delta_freq_weight > 0:
        loss += add(self.delta_freq_weight, core.diff(target_mag, axis=-1),
                    core.diff(value_mag, axis=-1))
      if self.cumsum_freq_weight > 0:
        loss += add(self.cumsum_freq_weight, tf.cumsum(target_mag, axis=-1),
                    tf.cumsum(value_mag, axis=-1))
      if self.logmag_weight > 0:
        loss += add(self.logmag_weight, core.safe_log(target_mag),
                    core.safe_log(value_mag))

    if self.loudness_weight > 0:
      hop = max(1, int(round(self.sample_rate / _LOUDNESS_FRAME_RATE)))
      loudness_kwargs = dict(sample_rate=self.sample_rate,
                             frame_rate=self.sample_rate / hop,
                             n_fft=_LOUDNESS_N_FFT, use_tf=True)
      target_loudness = spectral_ops.compute_loudness(target_audio,
                                                      **loudness_kwargs)
      value_loudness = spectral_ops.compute_loudness(audio, **loudness_kwargs)
      loss += add(self.loudness_weight, target_loudness, value_loudness)
    return loss


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.losses')
class EmbeddingLoss(Loss):
  """Compares two signals in the embedding space of a pretrained model.

  A spectral loss is satisfied by any audio with the right energy in each
  time-frequency cell, noise included; a network trained on natural sounds
  (e.g. a pitch tracker) responds to structure such as harmonicity, so
  matching its activations pushes the output towards that structure.
  """

  _config_args = ('weight', 'loss_type')

  def __init__(self, weight: float = 1.0, loss_type: Text = 'L1',
               pretrained_model: Optional[Callable[[tf.Tensor],
                                                   tf.Tensor]] = None,
               name: Text = 'embedding_loss', **kwargs):
    """Sets the model and the comparison.

    Args:
      weight: Multiplies the loss; 0 disables it.
      loss_type: 'L1', 'L2' or 'COSINE'.
      pretrained_model: A Keras layer/model or callable mapping audio
        [batch, n_samples] to embeddings. Needed unless weight is 0. To save
        the loss to .keras it must be Keras-serializable.
      name: Layer name, and the key in get_losses_dict.
      **kwargs: Keras layer arguments.
    """
    super().__init__(name=name, **kwargs)
    self.weight = _check_weight('weight', weight)
    self.loss_type = _check_loss_type(loss_type)
    if pretrained_model is not None and not callable(pretrained_model):
      raise ValueError('pretrained_model must be a Keras layer or a callable, '
                       f'got {pretrained_model!r}.')
    self.pretrained_model = pretrained_model

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['pretrained_model'] = (
        None if self.pretrained_model is None else
        keras.saving.serialize_keras_object(self.pretrained_model))
    return config

  @classmethod
  def from_config(cls, config: Dict[Text, Any]) -> 'EmbeddingLoss':
    config = dict(config)
    if config.get('pretrained_model') is not None:
      config['pretrained_model'] = keras.saving.deserialize_keras_object(
          config['pretrained_model'])
    return cls(**config)

  def call(self, target_audio: tf.Tensor, audio: tf.Tensor) -> tf.Tensor:
    """weight * mean_difference(model(target_audio), model(audio)).

    Args:
      target_audio: [batch, n_samples].
      audio: Same shape.

    Returns:
      float32 scalar.
    """
    if self.weight == 0.0:
      return tf.constant(0.0, tf.float32)
    if self.pretrained_model is None:
      raise ValueError(f'{type(self).__name__} {self.name!r} has no '
                       'pretrained_model to compute embeddings with.')
    target_audio, audio = _check_audio_pair(target_audio, audio)
    target_embedding = core.tf_float32(self.pretrained_model(target_audio))
    embedding = core.tf_float32(self.pretrained_model(audio))
    return self.weight * mean_difference(target_embedding, embedding,
                                         self.loss_type)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.losses')
class ParamLoss(Loss):
  """weight * mean_difference of any two tensors (e.g. predicted controls)."""

  _config_args = ('weight', 'loss_type')

  def __init__(self, weight: float = 1.0, loss_type: Text = 'L1', **kwargs):
    """Sets the weight and comparison.

    Args:
      weight: Multiplies the loss.
      loss_type: 'L1', 'L2' or 'COSINE'.
      **kwargs: Keras layer arguments (name, ...).
    """
    super().__init__(**kwargs)
    self.weight = _check_weight('weight', weight)
    self.loss_type = _check_loss_type(loss_type)

  def call(self, pred: tf.Tensor, target: tf.Tensor,
           weights: Optional[tf.Tensor] = None) -> tf.Tensor:
    """weight * mean_difference(pred, target, loss_type, weights)."""
    return self.weight * mean_difference(pred, target, self.loss_type, weights)
