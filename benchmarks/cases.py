"""The benchmark cases: what is timed, on which inputs, with which baseline."""

import dataclasses
from typing import Callable, List, Optional

import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import losses
from ddsp_tf import spectral_ops

SAMPLE_RATE = 16000
SECONDS = 4.0
N_SAMPLES = int(SAMPLE_RATE * SECONDS)
N_FRAMES = 1000
N_HARMONICS = 100
MULTISCALE_FFT_SIZES = (2048, 1024, 512, 256, 128, 64)


@dataclasses.dataclass
class Case:
  """One timed computation.

  Attributes:
    name: Row label.
    fn: Zero-argument callable that runs the computation once.
    audio_seconds: Seconds of audio processed per call (for the real-time
      factor).
    baseline: Optional zero-argument callable computing the same thing the
      straightforward way; its time is reported as a ratio.
    target_ms: Optional target from the issue tracker.
  """
  name: str
  fn: Callable[[], object]
  audio_seconds: float
  baseline: Optional[Callable[[], object]] = None
  target_ms: Optional[float] = None


def _harmonic_controls(batch: int, seed: int = 0):
  rng = np.random.default_rng(seed)
  f0 = rng.uniform(80.0, 400.0, [batch, N_FRAMES, 1]).astype(np.float32)
  amplitudes = rng.uniform(0.0, 1.0, [batch, N_FRAMES, 1]).astype(np.float32)
  distribution = rng.uniform(0.0, 1.0, [batch, N_FRAMES, N_HARMONICS])
  return (tf.constant(f0), tf.constant(amplitudes),
          tf.constant(distribution.astype(np.float32)))


def _direct_harmonic_synthesis(f0, amplitudes, distribution):
  """The straightforward algorithm, as magenta/ddsp computes it: upsample
  every harmonic, sum its phase with tf.cumsum, then sum the harmonics."""
  frequencies = core.get_harmonic_frequencies(f0, N_HARMONICS)
  frequency_envelopes = core.resample(frequencies, N_SAMPLES)
  amplitude_envelopes = core.resample(amplitudes * distribution, N_SAMPLES,
                                      method='window')
  amplitude_envelopes = core.remove_above_nyquist(
      frequency_envelopes, amplitude_envelopes, SAMPLE_RATE)
  phase = tf.cumsum(frequency_envelopes * (2.0 * np.pi) / SAMPLE_RATE, axis=1)
  return tf.reduce_sum(amplitude_envelopes * tf.sin(phase), axis=-1)


def _library_harmonic_synthesis(f0, amplitudes, distribution):
  """The default (magenta/ddsp's numbers: every harmonic upsampled)."""
  return core.harmonic_synthesis(f0, amplitudes,
                                 harmonic_distribution=distribution,
                                 n_samples=N_SAMPLES, sample_rate=SAMPLE_RATE)


def _fast_harmonic_synthesis(f0, amplitudes, distribution):
  """ddsp_tf's options: crossfaded frame amplitudes, float64 phase."""
  return core.harmonic_synthesis(f0, amplitudes,
                                 harmonic_distribution=distribution,
                                 n_samples=N_SAMPLES, sample_rate=SAMPLE_RATE,
                                 crossfade_amplitudes=True,
                                 precise_phase=True)


def _forward(synthesis, controls, jit_compile=False):
  fn = tf.function(synthesis, jit_compile=jit_compile)
  return lambda: fn(*controls)


def _forward_backward(synthesis, controls):
  """Gradient of the output energy with respect to every control."""

  @tf.function
  def step(f0, amplitudes, distribution):
    with tf.GradientTape() as tape:
      tape.watch([f0, amplitudes, distribution])
      loss = tf.reduce_mean(tf.square(synthesis(f0, amplitudes,
                                                distribution)))
    return tape.gradient(loss, [f0, amplitudes, distribution])

  return lambda: step(*controls)


def _multiscale_magnitudes(audio):
  return [spectral_ops.compute_mag(audio, size=size)
          for size in MULTISCALE_FFT_SIZES]


class TermByTermSpectralLoss(losses.SpectralLoss):
  """SpectralLoss before the fused terms: the baseline of the loss rows.

  Every term of every size through compute_mag, safe_log and
  mean_difference, with TensorFlow's own gradients (tf.signal.stft's).
  This is the library's general path, which configurations outside the
  fused one still take.
  """

  def _fused(self, weights, audio) -> bool:
    return False


def spectral_loss_step(loss: losses.SpectralLoss, target: tf.Tensor,
                       audio: tf.Tensor) -> Callable[[], object]:
  """A compiled call of the loss and its gradient with respect to audio."""
  audio = tf.Variable(audio)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      value = loss(target, audio)
    return value, tape.gradient(value, audio)

  return step


def _audio(batch: int, seed: int = 1) -> tf.Tensor:
  rng = np.random.default_rng(seed)
  return tf.constant(rng.uniform(-1.0, 1.0, [batch, N_SAMPLES]).astype(
      np.float32))


def all_cases() -> List[Case]:
  """Every benchmark row, in table order."""
  cases = []
  for batch in (1, 16):
    controls = _harmonic_controls(batch)
    seconds = SECONDS * batch
    for label, synthesis in (('', _library_harmonic_synthesis),
                             (' crossfade', _fast_harmonic_synthesis)):
      cases.append(Case(
          f'harmonic_synthesis{label} fwd, {N_HARMONICS} harm, 4 s, '
          f'batch {batch}',
          _forward(synthesis, controls), seconds,
          baseline=_forward(_direct_harmonic_synthesis, controls),
          target_ms=40.0 if batch == 1 and label else None))
      cases.append(Case(
          f'harmonic_synthesis{label} fwd+bwd, {N_HARMONICS} harm, 4 s, '
          f'batch {batch}',
          _forward_backward(synthesis, controls), seconds,
          baseline=_forward_backward(_direct_harmonic_synthesis, controls)))
  controls = _harmonic_controls(1)
  cases.append(Case(
      f'harmonic_synthesis fwd XLA, {N_HARMONICS} harm, 4 s, batch 1',
      _forward(_library_harmonic_synthesis, controls, jit_compile=True),
      SECONDS))
  for batch in (1, 16):
    audio = _audio(batch)
    loudness = tf.function(lambda x: spectral_ops.compute_loudness(
        x, sample_rate=SAMPLE_RATE))
    cases.append(Case(f'compute_loudness, 4 s, batch {batch}',
                      lambda loudness=loudness, audio=audio: loudness(audio),
                      SECONDS * batch))
    multiscale = tf.function(_multiscale_magnitudes)
    cases.append(Case(
        f'multi-scale STFT {MULTISCALE_FFT_SIZES}, 4 s, batch {batch}',
        lambda multiscale=multiscale, audio=audio: multiscale(audio),
        SECONDS * batch))
  # solo_instrument.gin's loss: L1 on magnitudes and log magnitudes.
  spectral_config = dict(fft_sizes=MULTISCALE_FFT_SIZES, loss_type='L1',
                         mag_weight=1.0, logmag_weight=1.0)
  target, audio = _audio(16, seed=2), _audio(16)
  cases.append(Case(
      f'SpectralLoss fwd+bwd {MULTISCALE_FFT_SIZES}, mag+logmag, 4 s, '
      'batch 16',
      spectral_loss_step(losses.SpectralLoss(**spectral_config), target,
                         audio), SECONDS * 16,
      baseline=spectral_loss_step(TermByTermSpectralLoss(**spectral_config),
                                  target, audio)))
  noise = _audio(1)[0].numpy()
  for capacity, seconds in (('tiny', SECONDS), ('full', 1.0)):
    clip = noise[:int(seconds * SAMPLE_RATE)]
    cases.append(Case(
        f'compute_f0 CREPE {capacity}, 250 frames/s, {seconds:g} s',
        lambda clip=clip, capacity=capacity: spectral_ops.compute_f0(
            clip, 250, model_capacity=capacity), seconds))
  return cases
