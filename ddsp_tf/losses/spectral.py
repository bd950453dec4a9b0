"""Audio losses: multi-scale spectral, embedding and parameter losses.

`SpectralLoss` compares multi-scale STFT magnitudes and is the main training
loss of DDSP; `EmbeddingLoss` compares two signals in the embedding space of
a pretrained model; `ParamLoss` compares any two tensors (e.g. predicted
controls).
"""

from typing import Any, Callable, Dict, List, Optional, Sequence, Text, Tuple

import gin
import keras
import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.framing import _audio_tf
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
_SAFE_LOG_EPS = 1e-5  # core.safe_log's default eps.


def _check_audio_pair(target_audio: tf.Tensor, audio: tf.Tensor
                      ) -> Tuple[tf.Tensor, tf.Tensor]:
  """float32 audio pair of rank 1-3 and identical shapes."""
  target_audio, audio = core.tf_float32(target_audio), core.tf_float32(audio)
  meaning = '[batch, n_samples], [n_samples] or [batch, n_samples, 1]'
  validation.check_rank('target_audio', target_audio, (1, 2, 3), meaning)
  validation.check_rank('audio', audio, (1, 2, 3), meaning)
  validation.check_same_shape(('target_audio', 'audio'), target_audio, audio)
  return target_audio, audio


# ----------------------------------------------------------------------------
# The fused magnitude terms of SpectralLoss.
#
# The magnitude and log-magnitude terms of every FFT size are computed with
# one custom gradient. Forward: the same STFTs as spectral_ops.compute_mag,
# then the element-wise part (magnitudes, logs, differences, means) of all
# sizes in one XLA function (for large inputs, see _XLA_MIN_SAMPLES), so it
# runs as a few fused loops instead of a dozen full passes per size. Backward: the gradient with respect to each
# STFT, dL/dS = dL/d|S| * S / |S| (0 where |S| = 0, as tf.abs's gradient),
# also fused in XLA together with the per-bin factor of the rfft's transpose;
# then one irfft per size, and the window and overlap-add (the transpose of
# the framing) of all sizes in a third XLA function. tf.signal.stft's own
# gradient spends most of its time in gathers, scatters and complex
# bookkeeping around the same irfft.
# ----------------------------------------------------------------------------
def _magnitude(stft: tf.Tensor) -> tf.Tensor:
  """|S| as sqrt(re^2 + im^2): within an ulp of tf.abs, and cheaper.

  Only |S| below about 1e-19, whose square underflows float32, differs: it
  comes out as 0. Such bins only occur in audio of amplitude around 1e-19.
  """
  return tf.sqrt(tf.square(tf.math.real(stft)) + tf.square(tf.math.imag(stft)))


def _log_floor(mag: tf.Tensor) -> tf.Tensor:
  """The argument core.safe_log takes the log of: eps where mag <= 0."""
  return tf.where(mag <= 0.0, _SAFE_LOG_EPS, mag)


def _elementwise_loss(mag: tf.Tensor, target_mag: tf.Tensor, loss_type: Text,
                      mag_weight: float, logmag_weight: float) -> tf.Tensor:
  """mag_weight * |d| + logmag_weight * |log d| per element (squares for L2).

  The log difference is taken as one log of the ratio, which equals the
  difference of the two safe logs up to float rounding.
  """
  terms = []
  if mag_weight > 0:
    terms.append((mag_weight, mag - target_mag))
  if logmag_weight > 0:
    terms.append((logmag_weight,
                  tf.math.log(_log_floor(mag) / _log_floor(target_mag))))
  reduce = tf.abs if loss_type == 'L1' else tf.square
  return tf.add_n([weight * reduce(value) for weight, value in terms])


def _mag_gradient(mag: tf.Tensor, target_mag: tf.Tensor, loss_type: Text,
                  mag_weight: float, logmag_weight: float) -> tf.Tensor:
  """d/d|S| of _elementwise_loss, divided by |S| (0 where |S| = 0).

  Dividing by |S| turns it into the factor of S in dL/dS = dL/d|S| S / |S|;
  for the log term it is the 1 / |S| of safe_log's gradient once more.
  """
  inverse_mag = tf.math.divide_no_nan(1.0, mag)
  gradient = tf.zeros_like(mag)
  if mag_weight > 0:
    difference = mag - target_mag
    slope = tf.sign(difference) if loss_type == 'L1' else 2.0 * difference
    gradient += mag_weight * slope
  if logmag_weight > 0:
    floor, target_floor = _log_floor(mag), _log_floor(target_mag)
    # sign(log a - log b) = sign(a - b): no log needed for L1.
    slope = (tf.sign(floor - target_floor) if loss_type == 'L1' else
             2.0 * tf.math.log(floor / target_floor))
    gradient += logmag_weight * slope * inverse_mag
  return gradient * inverse_mag


def _rfft_transpose_weights(fft_length: int) -> np.ndarray:
  """Per-bin factors c so that fft_length * irfft(c * G) is rfft's transpose.

  For frames x and Y = rfft(x), the transpose (the gradient of a real loss
  with respect to x, given G = dL/dRe(Y) + i dL/dIm(Y)) is
  Re(sum_k G_k exp(2 pi i k n / fft_length)) over the kept bins. irfft adds
  every inner bin twice (its conjugate mirror) and the DC and Nyquist bins
  once, so those inner bins are halved here.
  """
  weights = np.full(fft_length // 2 + 1, 0.5 * fft_length, np.float32)
  weights[0] = fft_length
  if fft_length % 2 == 0:
    weights[-1] = fft_length
  return weights


def _fused_forward(target_stfts: Sequence[tf.Tensor],
                   stfts: Sequence[tf.Tensor], loss_type: Text,
                   mag_weight: float, logmag_weight: float) -> tf.Tensor:
  """Sum over sizes of the weighted magnitude and log-magnitude terms."""
  loss = tf.constant(0.0, tf.float32)
  for target_stft, stft in zip(target_stfts, stfts):
    loss += tf.reduce_mean(_elementwise_loss(
        _magnitude(stft), _magnitude(target_stft), loss_type, mag_weight,
        logmag_weight))
  return loss


def _fused_stft_gradients(target_stfts: Sequence[tf.Tensor],
                          stfts: Sequence[tf.Tensor], upstream: tf.Tensor,
                          loss_type: Text, mag_weight: float,
                          logmag_weight: float) -> List[tf.Tensor]:
  """Per size: dL/dS times the rfft-transpose weights (see above)."""
  gradients = []
  for target_stft, stft in zip(target_stfts, stfts):
    gradient = _mag_gradient(_magnitude(stft), _magnitude(target_stft),
                             loss_type, mag_weight, logmag_weight)
    fft_length = 2 * (stft.shape[-1] - 1)
    scale = (upstream / tf.cast(tf.size(stft), tf.float32) *
             _rfft_transpose_weights(fft_length))
    gradients.append(tf.cast(gradient * scale, tf.complex64) * stft)
  return gradients


def _overlap_add(frames: tf.Tensor, hop: int) -> tf.Tensor:
  """[batch, n_frames, frame_size] -> [batch, (n_frames - 1) * hop + size]."""
  frame_size = frames.shape[-1]
  if frame_size % hop:
    return tf.signal.overlap_and_add(frames, hop)
  # Frame i's j-th block of hop samples lands on block i + j: shift and add.
  blocks = frame_size // hop
  batch, n_frames = tf.shape(frames)[0], tf.shape(frames)[1]
  frames = tf.reshape(frames, [batch, n_frames, blocks, hop])
  shifted = [tf.pad(frames[:, :, j], [[0, 0], [j, blocks - 1 - j], [0, 0]])
             for j in range(blocks)]
  return tf.reshape(tf.add_n(shifted),
                    [batch, (n_frames + blocks - 1) * hop])


def _frames_transpose(frames: Sequence[tf.Tensor], frame_sizes: Sequence[int],
                      n_samples: int) -> tf.Tensor:
  """Sum over sizes of window * frames, overlapped back onto the signal."""
  total = None
  for frame_grad, size in zip(frames, frame_sizes):
    hop = spectral_ops._stft_hop_size(size, _SPECTRAL_OVERLAP)  # pylint: disable=protected-access
    signal = _overlap_add(frame_grad[..., :size] * tf.signal.hann_window(size),
                          hop)[:, :n_samples]
    total = signal if total is None else total + signal
  return total


# XLA turns the element-wise parts into a few fused loops. Each new input
# shape costs a compilation of about a second, which pays off on training
# batches but not on the small inputs of tests and one-off calls: below
# _XLA_MIN_SAMPLES samples (batch * n_samples) the same functions run as
# ordinary TensorFlow ops.
_XLA_MIN_SAMPLES = 2**18
_XLA = {function: tf.function(function, jit_compile=True)
        for function in (_fused_forward, _fused_stft_gradients,
                         _frames_transpose)}


def _fused_magnitude_loss(target_audio: tf.Tensor, audio: tf.Tensor,
                          fft_sizes: Sequence[int], loss_type: Text,
                          mag_weight: float, logmag_weight: float
                          ) -> tf.Tensor:
  """The magnitude and log-magnitude terms of SpectralLoss, fused.

  Equal to the term-by-term computation (compute_mag, safe_log,
  mean_difference) up to float rounding, with a hand-written gradient.

  Args:
    target_audio: [batch, n_samples], [n_samples] or [batch, n_samples, 1].
    audio: Same shape, with a static n_samples.
    fft_sizes: The STFT frame sizes.
    loss_type: 'L1' or 'L2'.
    mag_weight: Weight of the magnitude terms.
    logmag_weight: Weight of the log-magnitude terms.

  Returns:
    float32 scalar.
  """
  target_audio = _audio_tf(target_audio, 'target_audio')[0]
  audio = _audio_tf(audio)[0]
  n_samples = audio.shape[-1]
  fft_sizes = tuple(fft_sizes)
  batch = audio.shape[0]
  use_xla = batch is None or batch * n_samples >= _XLA_MIN_SAMPLES
  forward, stft_gradients, frames_transpose = (
      (_XLA[f] if use_xla else f)
      for f in (_fused_forward, _fused_stft_gradients, _frames_transpose))
  config = dict(loss_type=loss_type, mag_weight=mag_weight,
                logmag_weight=logmag_weight)

  def stfts_of(signal):
    return [spectral_ops.stft(signal, frame_size=size,
                              overlap=_SPECTRAL_OVERLAP) for size in fft_sizes]

  @tf.custom_gradient
  def fused(audio, *target_stfts):
    stfts = stfts_of(audio)
    loss = forward(target_stfts, stfts, **config)

    def backward(upstream):
      gradients = stft_gradients(target_stfts, stfts, upstream, **config)
      frames = [tf.signal.irfft(g, [2 * (g.shape[-1] - 1)])
                for g in gradients]
      audio_gradient = frames_transpose(frames, fft_sizes, n_samples)
      # The target's gradient only matters when the target depends on a
      # variable; inside a tf.function it is pruned otherwise. Through the
      # target's STFT it flows by the ordinary autodiff.
      target_gradients = []
      for target_stft, stft in zip(target_stfts, stfts):
        # The loss is symmetric in |S| and |T|.
        gradient = _mag_gradient(_magnitude(target_stft), _magnitude(stft),
                                 loss_type, mag_weight, logmag_weight)
        scale = upstream / tf.cast(tf.size(stft), tf.float32)
        target_gradients.append(tf.cast(gradient * scale, tf.complex64) *
                                target_stft)
      return [audio_gradient] + target_gradients

    return loss, backward

  return fused(audio, *stfts_of(target_audio))


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

  def _fused(self, weights: Optional[tf.Tensor], audio: tf.Tensor) -> bool:
    """Whether the magnitude terms can take the fused path.

    It covers the default losses (L1 or L2 on the magnitudes and log
    magnitudes, no weights); the other terms, COSINE and weights take the
    term-by-term path. The fused path also needs a static number of samples.
    """
    return (weights is None and self.loss_type in ('L1', 'L2') and
            self.delta_time_weight == 0 and self.delta_freq_weight == 0 and
            self.cumsum_freq_weight == 0 and
            (self.mag_weight > 0 or self.logmag_weight > 0) and
            audio.shape[1 if audio.shape.rank == 3 else -1] is not None)

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

    if self._fused(weights, audio):
      loss += _fused_magnitude_loss(
          target_audio, audio, self.fft_sizes, self.loss_type,
          self.mag_weight, self.logmag_weight)
      sizes = ()
    else:
      sizes = self.fft_sizes
    for size in sizes:
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
