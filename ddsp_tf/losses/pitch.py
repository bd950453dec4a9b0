"""Pitch losses and priors (experimental).

`TWMLoss`, a differentiable two-way mismatch loss that scores f0 candidates
against a set of sinusoids, and `HmmTranscriber`, a hidden Markov model
that turns (pitch, amplitude) tracks into MIDI notes or a training prior.
"""

from typing import Tuple

import gin
import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from ddsp_tf import core
from ddsp_tf import validation
from ddsp_tf.losses.base import _check_sinusoids
from ddsp_tf.losses.base import _check_weight
from ddsp_tf.losses.base import _normalized_amps
from ddsp_tf.losses.base import Loss

tfd = tfp.distributions


# ----------------------------------------------------------------------------
# Two-way mismatch f0 loss.
# ----------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.losses')
class TWMLoss(Loss):
  """Differentiable two-way mismatch (TWM) loss for f0. Experimental.

  A smooth, probabilistic version of Maher and Beauchamp's two-way mismatch
  f0 estimator (JASA 1994). For each f0 candidate:

  - sinusoids given harmonics: each sinusoid's frequency divided by the
    candidate should be near an integer. Its NLL under a mixture of equal
    Gaussians at 1, 2, ..., n_harmonic_gaussians (std harmonics_scale) is
    averaged over sinusoids, weighted by amplitude. This favours low
    candidates, whose harmonics cover everything.
  - harmonics given sinusoids: the candidate's first n_harmonic_points
    harmonics (in MIDI) should fall on sinusoids. Their NLL under a Gaussian
    kernel density of the sinusoids (std sinusoids_scale in MIDI, weighted
    by amplitude) is averaged with weights falling linearly from 1 to
    1/n_harmonic_points, counting only harmonics below Nyquist. This
    favours high candidates, with fewer harmonics to explain.

  The combination is smallest where harmonics and sinusoids line up. The
  loss is a softmin over candidates of the weighted sum, so it focuses on
  the best candidate while staying differentiable; predict_f0 takes the
  argmin instead.
  """

  _config_args = ('sinusoids_weight', 'harmonics_weight', 'sinusoids_scale',
                  'harmonics_scale', 'n_harmonic_points',
                  'n_harmonic_gaussians', 'softmin_temperature', 'sample_rate')

  def __init__(self, sinusoids_weight: float = 1.0,
               harmonics_weight: float = 1.0, sinusoids_scale: float = 0.5,
               harmonics_scale: float = 0.2, n_harmonic_points: int = 10,
               n_harmonic_gaussians: int = 30,
               softmin_temperature: float = 1.0, sample_rate: int = 16000,
               **kwargs):
    """Sets the weights, kernel widths and sizes.

    Args:
      sinusoids_weight: Weight of -log p(sinusoids | harmonics).
      harmonics_weight: Weight of -log p(harmonics | sinusoids).
      sinusoids_scale: Std (MIDI) of the kernels around each sinusoid.
      harmonics_scale: Std (harmonic number) of the Gaussians at each
        harmonic.
      n_harmonic_points: Harmonics of each candidate scored in
        p(harmonics | sinusoids).
      n_harmonic_gaussians: Gaussians in p(sinusoids | harmonics).
      softmin_temperature: > 0; lower values concentrate the loss on the best
        candidate.
      sample_rate: Hz; harmonics at or above Nyquist are not scored.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.sinusoids_weight = _check_weight('sinusoids_weight', sinusoids_weight)
    self.harmonics_weight = _check_weight('harmonics_weight', harmonics_weight)
    validation.check_positive('sinusoids_scale', sinusoids_scale)
    validation.check_positive('harmonics_scale', harmonics_scale)
    validation.check_positive('softmin_temperature', softmin_temperature)
    validation.check_positive('sample_rate', sample_rate)
    self.sinusoids_scale = float(sinusoids_scale)
    self.harmonics_scale = float(harmonics_scale)
    self.n_harmonic_points = validation.check_int('n_harmonic_points',
                                                  n_harmonic_points)
    self.n_harmonic_gaussians = validation.check_int('n_harmonic_gaussians',
                                                     n_harmonic_gaussians)
    self.softmin_temperature = float(softmin_temperature)
    self.sample_rate = sample_rate

  def _combined_loss(self, f0_candidates, freqs, amps) -> tf.Tensor:
    sinusoids_loss, harmonics_loss = self.get_loss_tensors(
        f0_candidates, freqs, amps)
    return (self.sinusoids_weight * sinusoids_loss +
            self.harmonics_weight * harmonics_loss)

  def call(self, f0_candidates: tf.Tensor, freqs: tf.Tensor,
           amps: tf.Tensor) -> tf.Tensor:
    """Softmin over candidates of the combined NLL, averaged over frames.

    Args:
      f0_candidates: Candidate f0s in Hz, [batch, n_frames, n_candidates].
      freqs: Sinusoid frequencies in Hz, [batch, n_frames, n_sinusoids].
      amps: Sinusoid amplitudes (> 0), same shape as freqs.

    Returns:
      float32 scalar.
    """
    loss = self._combined_loss(f0_candidates, freqs, amps)
    softmin = tf.nn.softmax(-loss / self.softmin_temperature, axis=-1)
    return tf.reduce_mean(loss * softmin)

  def predict_f0(self, f0_candidates: tf.Tensor, freqs: tf.Tensor,
                 amps: tf.Tensor) -> np.ndarray:
    """The candidate with the lowest combined NLL in each frame (eager only).

    Args:
      f0_candidates: Candidate f0s in Hz, [batch, n_frames, n_candidates].
      freqs: Sinusoid frequencies in Hz, [batch, n_frames, n_sinusoids].
      amps: Sinusoid amplitudes (> 0), same shape as freqs.

    Returns:
      numpy float32 f0 in Hz, [batch, n_frames, 1] (NaN losses are skipped).
    """
    loss = np.asarray(self._combined_loss(f0_candidates, freqs, amps))
    best = np.nanargmin(loss, axis=-1)[..., np.newaxis]
    return np.take_along_axis(np.asarray(f0_candidates, np.float32), best,
                              axis=-1)

  def get_loss_tensors(self, f0_candidates: tf.Tensor, freqs: tf.Tensor,
                       amps: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """Both mismatch terms for every candidate.

    Args:
      f0_candidates: Candidate f0s in Hz, [batch, n_frames, n_candidates].
      freqs: Sinusoid frequencies in Hz, [batch, n_frames, n_sinusoids].
      amps: Sinusoid amplitudes (> 0), same shape as freqs.

    Returns:
      (sinusoids_loss, harmonics_loss): -log p(sinusoids | harmonics) and
      -log p(harmonics | sinusoids), each [batch, n_frames, n_candidates].
    """
    f0_candidates = core.tf_float32(f0_candidates)
    validation.check_rank('f0_candidates', f0_candidates, (3,),
                          '[batch, n_frames, n_candidates]')
    amps, freqs = _check_sinusoids('', amps, freqs)
    validation.check_same_static_dims(('f0_candidates', 'freqs'),
                                      f0_candidates, freqs, (0, 1))

    # Sinusoids given harmonics: ratios [batch, n_frames, candidate, sinusoid].
    ratios = core.safe_divide(freqs[:, :, tf.newaxis, :],
                              f0_candidates[:, :, :, tf.newaxis])
    nll_ratios = -self.get_p_sinusoids_given_harmonics().log_prob(ratios)
    sinusoid_weights = amps[:, :, tf.newaxis, :]
    sinusoids_loss = core.safe_divide(
        tf.reduce_sum(nll_ratios * sinusoid_weights, axis=-1),
        tf.reduce_sum(sinusoid_weights, axis=-1))

    # Harmonics given sinusoids. The KDE has batch shape [batch, n_frames], so
    # the points go first: [candidate, harmonic, batch, n_frames].
    density = self.get_p_harmonics_given_sinusoids(freqs, amps)
    harmonics = self.get_candidate_harmonics(f0_candidates, as_midi=True)
    nll_harmonics = -density.log_prob(tf.transpose(harmonics, [2, 3, 0, 1]))
    nll_harmonics = tf.transpose(nll_harmonics, [2, 3, 0, 1])
    prior = tf.linspace(1.0, 1.0 / self.n_harmonic_points,
                        self.n_harmonic_points)
    nyquist_midi = core.hz_to_midi(self.sample_rate / 2.0)
    below_nyquist = tf.cast(harmonics < nyquist_midi, tf.float32)
    # Average over the harmonics below Nyquist only, so that high candidates
    # (with few such harmonics) are not rewarded for scoring fewer points.
    harmonic_weights = prior * core.safe_divide(
        below_nyquist, tf.reduce_mean(below_nyquist, axis=-1, keepdims=True))
    harmonics_loss = tf.reduce_mean(nll_harmonics * harmonic_weights, axis=-1)
    return sinusoids_loss, harmonics_loss

  def get_p_sinusoids_given_harmonics(self) -> tfd.Distribution:
    """Equal-weight Gaussians at harmonic numbers 1..n_harmonic_gaussians.

    Returns:
      A scalar-batch tfp MixtureSameFamily over frequency ratios.
    """
    n = self.n_harmonic_gaussians
    return tfd.MixtureSameFamily(
        mixture_distribution=tfd.Categorical(probs=tf.fill([n], 1.0 / n)),
        components_distribution=tfd.Normal(
            loc=tf.range(1, n + 1, dtype=tf.float32),
            scale=self.harmonics_scale))

  def get_p_harmonics_given_sinusoids(self, freqs: tf.Tensor,
                                      amps: tf.Tensor) -> tfd.Distribution:
    """Gaussian KDE over MIDI pitch with one kernel per sinusoid.

    Args:
      freqs: Sinusoid frequencies in Hz, [batch, n_frames, n_sinusoids].
      amps: Sinusoid amplitudes (mixture weights), same shape.

    Returns:
      A tfp MixtureSameFamily with batch shape [batch, n_frames].
    """
    freqs, amps = core.tf_float32(freqs), core.tf_float32(amps)
    return tfd.MixtureSameFamily(
        mixture_distribution=tfd.Categorical(probs=_normalized_amps(amps)),
        components_distribution=tfd.Normal(loc=core.hz_to_midi(freqs),
                                           scale=self.sinusoids_scale))

  def get_candidate_harmonics(self, f0_candidates: tf.Tensor,
                              as_midi: bool = True) -> tf.Tensor:
    """The first n_harmonic_points harmonics of every candidate.

    Args:
      f0_candidates: Candidate f0s in Hz, [batch, n_frames, n_candidates].
      as_midi: Return MIDI pitches rather than Hz.

    Returns:
      [batch, n_frames, n_candidates, n_harmonic_points].
    """
    f0_candidates = core.tf_float32(f0_candidates)
    numbers = tf.range(1, self.n_harmonic_points + 1, dtype=tf.float32)
    harmonics = f0_candidates[..., tf.newaxis] * numbers
    return core.hz_to_midi(harmonics) if as_midi else harmonics


# ----------------------------------------------------------------------------
# Note transcription prior.
# ----------------------------------------------------------------------------
@gin.register(module='ddsp_tf.losses')
class HmmTranscriber(tfd.HiddenMarkovModel):
  """A hidden Markov model for turning (pitch, amplitude) into MIDI notes.

  Hidden state s in 0..n_pitches-1: 0 is "off" (silence), any other s is
  the MIDI note s being played. Every step a state is held with probability
  1 - 1/avg_length (so notes last avg_length steps on average) and otherwise
  jumps uniformly to another state. The start state is uniform. Each step
  observes (pitch in MIDI, amplitude) with independent Gaussians:
  note s -> pitch ~ N(s, midi_std), amplitude ~ N(amps_on_center,
  amps_on_scale); off -> pitch ~ N(n_pitches / 2, n_pitches) (anything),
  amplitude ~ N(amps_off_center, amps_off_scale).

  Calling it gives the weighted NLL per step (a training prior); predict_midi
  gives the Viterbi state sequence (the transcription). Not a Keras layer.
  """

  def __init__(self, avg_length: float = 200, midi_std: float = 0.5,
               amps_on_center: float = 1.5, amps_on_scale: float = 0.5,
               amps_off_center: float = 0.0, amps_off_scale: float = 0.1,
               n_timesteps: int = 1000, n_pitches: int = 128,
               weight: float = 1.0, **kwargs):
    """Builds the model.

    Args:
      avg_length: Expected note length in steps (> 1).
      midi_std: Pitch std (MIDI) around a note.
      amps_on_center: Mean amplitude while a note plays.
      amps_on_scale: Amplitude std while a note plays.
      amps_off_center: Mean amplitude in silence.
      amps_off_scale: Amplitude std in silence.
      n_timesteps: Steps of every sequence scored (fixed by the model).
      n_pitches: Number of states, 0 (off) and notes 1..n_pitches-1.
      weight: Multiplies the NLL.
      **kwargs: HiddenMarkovModel arguments such as name.
    """
    parameters = dict(locals())
    for key in ('self', '__class__', 'kwargs'):
      parameters.pop(key, None)
    parameters.update(kwargs)
    if not avg_length > 1:
      raise ValueError(f'avg_length must be > 1, got avg_length={avg_length!r}.')
    for name, value in (('midi_std', midi_std), ('amps_on_scale',
                                                 amps_on_scale),
                        ('amps_off_scale', amps_off_scale)):
      validation.check_positive(name, value)
    n_timesteps = validation.check_int('n_timesteps', n_timesteps)
    n_pitches = validation.check_int('n_pitches', n_pitches, minimum=2)

    initial = tfd.Categorical(probs=tf.fill([n_pitches], 1.0 / n_pitches))
    stay = 1.0 - 1.0 / avg_length
    move = (1.0 - stay) / (n_pitches - 1)
    transition_probs = (move * tf.ones([n_pitches, n_pitches]) +
                        (stay - move) * tf.eye(n_pitches))
    transition = tfd.Categorical(probs=transition_probs)

    notes = tf.range(n_pitches, dtype=tf.float32)
    is_off = tf.equal(notes, 0.0)
    pitch_loc = tf.where(is_off, n_pitches / 2.0, notes)
    pitch_scale = tf.where(is_off, float(n_pitches), float(midi_std))
    amps_loc = tf.where(is_off, float(amps_off_center), float(amps_on_center))
    amps_scale = tf.where(is_off, float(amps_off_scale), float(amps_on_scale))
    observation = tfd.MultivariateNormalDiag(
        loc=tf.stack([pitch_loc, amps_loc], axis=-1),
        scale_diag=tf.stack([pitch_scale, amps_scale], axis=-1))

    super().__init__(initial_distribution=initial,
                     transition_distribution=transition,
                     observation_distribution=observation,
                     num_steps=n_timesteps, **kwargs)
    # Record this class's own constructor arguments (tfp's recommended
    # pattern for subclasses), so copy() rebuilds an HmmTranscriber.
    self._parameters = parameters
    self.avg_length = avg_length
    self.midi_std = midi_std
    self.n_timesteps = n_timesteps
    self.n_pitches = n_pitches
    self.weight = float(weight)

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    # The constructor takes plain numbers that set no batch shape: the model
    # has a scalar batch shape.
    return {}

  def __call__(self, pitch: tf.Tensor, amps: tf.Tensor) -> tf.Tensor:
    """Same as nll(pitch, amps)."""
    return self.nll(pitch, amps)

  @staticmethod
  def straight_through(x: tf.Tensor, x_quant: tf.Tensor) -> tf.Tensor:
    """x_quant in the forward pass, with the gradient of x (identity)."""
    return x + tf.stop_gradient(x_quant - x)

  def _observations(self, pitch: tf.Tensor, amps: tf.Tensor) -> tf.Tensor:
    pitch, amps = core.tf_float32(pitch), core.tf_float32(amps)
    for name, x in (('pitch', pitch), ('amps', amps)):
      validation.check_rank(name, x, (3,), '[batch, n_timesteps, 1]')
      if x.shape[1] is not None and x.shape[1] != self.n_timesteps:
        raise ValueError(f'{name} has {x.shape[1]} steps, but this model '
                         f'scores n_timesteps={self.n_timesteps}; got shape '
                         f'{x.shape.as_list()}.')
      if x.shape[2] not in (None, 1):
        raise ValueError(f'{name} must have one channel, got shape '
                         f'{x.shape.as_list()}.')
    validation.check_same_shape(('pitch', 'amps'), pitch, amps)
    return tf.concat([pitch, amps], axis=-1)

  def nll(self, pitch: tf.Tensor, amps: tf.Tensor,
          per_example_loss: bool = False) -> tf.Tensor:
    """Weighted negative log-likelihood per step.

    Args:
      pitch: Pitch in MIDI, [batch, n_timesteps, 1].
      amps: Amplitudes, [batch, n_timesteps, 1].
      per_example_loss: Return one value per example instead of the mean.

    Returns:
      float32 scalar, or [batch].
    """
    observations = self._observations(pitch, amps)
    per_step = -self.log_prob(observations) / float(self.n_timesteps)
    loss = per_step if per_example_loss else tf.reduce_mean(per_step)
    return self.weight * loss

  def predict_midi(self, pitch: tf.Tensor, amps: tf.Tensor,
                   channel_dim: bool = True,
                   dtype: tf.DType = tf.float32) -> tf.Tensor:
    """Most likely state sequence (Viterbi): the MIDI note, 0 for silence.

    Args:
      pitch: Pitch in MIDI, [batch, n_timesteps, 1].
      amps: Amplitudes, [batch, n_timesteps, 1].
      channel_dim: Keep a trailing axis of 1.
      dtype: Output dtype.

    Returns:
      [batch, n_timesteps, 1] (or [batch, n_timesteps]).
    """
    states = self.posterior_mode(self._observations(pitch, amps))
    states = tf.cast(states, dtype)
    return states[..., tf.newaxis] if channel_dim else states
