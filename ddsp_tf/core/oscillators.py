"""Harmonic controls and oscillator synthesis of ddsp_tf.core.

get_harmonic_frequencies, remove_above_nyquist, normalize_harmonics,
harmonic_to_sinusoidal, sinusoidal_to_harmonic, angular_cumsum,
oscillator_bank, harmonic_oscillator_bank, harmonic_synthesis and
streaming_harmonic_synthesis. angular_cumsum, oscillator_bank and
harmonic_oscillator_bank are gin-configurable under the module 'ddsp_tf.core',
as before the split.
"""

from typing import List, Optional, Text, Tuple

import gin
import numpy as np
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.core.numerics import safe_divide
from ddsp_tf.core.numerics import time_cumsum
from ddsp_tf.core.resampling import Length
from ddsp_tf.core.resampling import RESAMPLE_METHODS
from ddsp_tf.core.resampling import _hann_crossfade
from ddsp_tf.core.resampling import _is_static
from ddsp_tf.core.resampling import _linear_crossfade
from ddsp_tf.core.resampling import _n_frames
from ddsp_tf.core.resampling import check_length
from ddsp_tf.core.resampling import resample
from ddsp_tf.core.utils import tf_float32


# ----------------------------------------------------------------------------
# Harmonic and sinusoidal controls.
# ----------------------------------------------------------------------------
def get_harmonic_frequencies(frequencies: tf.Tensor,
                             n_harmonics: int) -> tf.Tensor:
  """Integer multiples of a fundamental.

  Args:
    frequencies: Fundamental frequency in Hz, [batch, time, 1].
    n_harmonics: Number of harmonics.

  Returns:
    [batch, time, n_harmonics]: f0 * [1, 2, ..., n_harmonics].
  """
  frequencies = tf_float32(frequencies)
  ratios = tf.range(1, n_harmonics + 1, dtype=tf.float32)
  return frequencies * ratios


def remove_above_nyquist(frequency_envelopes: tf.Tensor,
                         amplitude_envelopes: tf.Tensor,
                         sample_rate: int = 16000) -> tf.Tensor:
  """Zeroes the amplitudes of components at or above the Nyquist frequency.

  Args:
    frequency_envelopes: Frequencies in Hz, [batch, time, n].
    amplitude_envelopes: Amplitudes, same shape.
    sample_rate: Samples per second.

  Returns:
    The amplitudes with aliasing components set to zero.
  """
  validation.check_positive('sample_rate', sample_rate)
  frequency_envelopes = tf_float32(frequency_envelopes)
  amplitude_envelopes = tf_float32(amplitude_envelopes)
  return tf.where(frequency_envelopes >= sample_rate / 2.0, 0.0,
                  amplitude_envelopes)


def normalize_harmonics(harmonic_distribution: tf.Tensor,
                        f0_hz: Optional[tf.Tensor] = None,
                        sample_rate: Optional[int] = None) -> tf.Tensor:
  """Normalizes a harmonic distribution to sum to one.

  Args:
    harmonic_distribution: [batch, time, n_harmonics].
    f0_hz: Optional fundamental, [batch, time, 1]. With sample_rate, harmonics
      at or above Nyquist are removed before normalizing.
    sample_rate: Samples per second, used with f0_hz.

  Returns:
    The normalized distribution, same shape.
  """
  harmonic_distribution = tf_float32(harmonic_distribution)
  if f0_hz is not None and sample_rate is not None:
    n_harmonics = harmonic_distribution.shape[-1]
    frequencies = get_harmonic_frequencies(f0_hz, n_harmonics)
    harmonic_distribution = remove_above_nyquist(
        frequencies, harmonic_distribution, sample_rate)
  total = tf.reduce_sum(harmonic_distribution, axis=-1, keepdims=True)
  return safe_divide(harmonic_distribution, total)


def harmonic_to_sinusoidal(harm_amp: tf.Tensor, harm_dist: tf.Tensor,
                           f0_hz: tf.Tensor, sample_rate: int = 16000
                           ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Converts harmonic controls to per-sinusoid amplitudes and frequencies.

  Args:
    harm_amp: Overall amplitude, [batch, time, 1].
    harm_dist: Harmonic distribution, [batch, time, n_harmonics].
    f0_hz: Fundamental in Hz, [batch, time, 1].
    sample_rate: Samples per second; harmonics at or above Nyquist are
      silenced and the rest renormalized.

  Returns:
    (amplitudes, frequencies), each [batch, time, n_harmonics].
  """
  harm_dist = tf_float32(harm_dist)
  frequencies = get_harmonic_frequencies(f0_hz, harm_dist.shape[-1])
  harm_dist = normalize_harmonics(harm_dist, f0_hz, sample_rate)
  return tf_float32(harm_amp) * harm_dist, frequencies


def sinusoidal_to_harmonic(sin_amps: tf.Tensor, sin_freqs: tf.Tensor,
                           f0_hz: tf.Tensor, harmonic_width: float = 0.1,
                           n_harmonics: int = 100, sample_rate: int = 16000,
                           normalize: bool = False,
                           std_width: bool = False
                           ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Projects sinusoids onto the harmonics of f0 with Gaussian weights.

  By default, as in magenta/ddsp, each sinusoid contributes to harmonic k
  with weight exp(-((f / f0 - k) / harmonic_width)**2), so a sinusoid exactly
  on a harmonic adds its full amplitude there and off-harmonic energy fades
  out; normalize=True divides the weights that each harmonic takes from the
  sinusoids by their sum where that sum exceeds one.

  std_width=True is ddsp_tf's convention: harmonic_width is the Gaussian's
  standard deviation, exp(-((f / f0 - k) / harmonic_width)**2 / 2), and
  normalize=True makes each sinusoid's weights over the harmonics sum to one,
  so the total amplitude is conserved.

  Args:
    sin_amps: Sinusoid amplitudes, [batch, time, n_sinusoids].
    sin_freqs: Sinusoid frequencies in Hz, [batch, time, n_sinusoids].
    f0_hz: Fundamental in Hz, [batch, time, 1].
    harmonic_width: Standard deviation of the weights, in harmonic numbers.
    n_harmonics: Number of harmonics to produce.
    sample_rate: Samples per second; harmonics at or above Nyquist get zero.
    normalize: Normalize the weights (see above).
    std_width: ddsp_tf's weighting and normalization (see above).

  Returns:
    (harm_amp [batch, time, 1], harm_dist [batch, time, n_harmonics]).
  """
  validation.check_positive('harmonic_width', harmonic_width)
  sin_amps, sin_freqs, f0_hz = (tf_float32(t) for t in
                                (sin_amps, sin_freqs, f0_hz))
  validation.check_same_static_dims(
      ('sin_amps', 'sin_freqs'), sin_amps, sin_freqs,
      range(sin_amps.shape.rank or 0))
  ratios = safe_divide(sin_freqs, f0_hz)[..., tf.newaxis]  # [B, T, S, 1]
  harmonic_numbers = tf.range(1, n_harmonics + 1, dtype=tf.float32)
  distance = tf.square((ratios - harmonic_numbers) / harmonic_width)
  weights = tf.exp(-0.5 * distance if std_width else -distance)  # [B,T,S,H]
  if normalize and std_width:
    weights = safe_divide(weights,
                          tf.reduce_sum(weights, axis=-1, keepdims=True))
  elif normalize:
    per_harmonic = tf.reduce_sum(weights, axis=-2, keepdims=True)
    weights = tf.where(per_harmonic > 1.0,
                       safe_divide(weights, per_harmonic), weights)
  harm_amps = tf.reduce_sum(weights * sin_amps[..., tf.newaxis], axis=-2)
  harm_amps = remove_above_nyquist(
      get_harmonic_frequencies(f0_hz, n_harmonics), harm_amps, sample_rate)
  harm_amp = tf.reduce_sum(harm_amps, axis=-1, keepdims=True)
  return harm_amp, safe_divide(harm_amps, harm_amp)


# ----------------------------------------------------------------------------
# Oscillators.
# ----------------------------------------------------------------------------
_TWO_PI = 2.0 * np.pi


# 2 pi split for exact wrapping in float32 (Cody-Waite reduction): the high
# part has 8 significant bits, so n * _TWO_PI_HIGH is exact for n < 2**16.
_TWO_PI_HIGH = 6.28125
_TWO_PI_LOW = float(np.float32(2.0 * np.pi - _TWO_PI_HIGH))
# Phase increments are split into a coarse part on a 2**-9 grid, whose sums
# over a chunk are exact in float32, and a small remainder.
_COARSE_GRID = 512.0


def _wrap_phase(phase: tf.Tensor) -> tf.Tensor:
  """phase modulo 2 pi in float32 without the error of float32(2 pi)."""
  turns = tf.floor(phase / _TWO_PI)
  return (phase - turns * _TWO_PI_HIGH) - turns * _TWO_PI_LOW


def _chunked_cumsum(omega: tf.Tensor, chunk_size: int) -> tf.Tensor:
  """magenta/ddsp's chunked float32 running phase, wrapped to [0, 2 pi).

  The time axis (axis 1) is cut into chunks of chunk_size; each chunk is
  summed with a float32 cumsum, chunk totals are wrapped with float32 modulo
  2 pi and accumulated (wrapped again) into per-chunk offsets.
  """
  shape = tf.shape(omega)
  batch, n_samples = shape[0], shape[1]
  rest = omega.shape[2:].as_list()
  n_chunks = (n_samples + chunk_size - 1) // chunk_size
  padded = n_chunks * chunk_size
  omega = tf.pad(omega, [[0, 0], [0, padded - n_samples]] +
                 [[0, 0]] * len(rest))
  chunks = tf.reshape(omega, tf.concat(
      [[batch, n_chunks, chunk_size], shape[2:]], axis=0))
  within = tf.cumsum(chunks, axis=2)
  totals = tf.math.floormod(within[:, :, -1:], _TWO_PI)
  previous = tf.concat([tf.zeros_like(totals[:, :1]), totals[:, :-1]], axis=1)
  offsets = tf.math.floormod(tf.cumsum(previous, axis=1), _TWO_PI)
  phase = tf.math.floormod(within + offsets, _TWO_PI)
  phase = tf.reshape(phase, tf.concat([[batch, padded], shape[2:]], axis=0))
  return phase[:, :n_samples]


def _exact_chunked_cumsum(omega: tf.Tensor, chunk_size: int) -> tf.Tensor:
  """ddsp_tf's float32 running phase with exact coarse sums ([B, N, K])."""
  if chunk_size > 4096:
    raise ValueError('chunk_size must be <= 4096 for exact chunk sums, got '
                     f'chunk_size={chunk_size}.')
  validation.check_rank('angular_frequency', omega, (3,),
                        '[batch, n_samples, n_sinusoids]')
  shape = tf.shape(omega)
  batch, n_samples, channels = shape[0], shape[1], shape[2]
  n_chunks = (n_samples + chunk_size - 1) // chunk_size
  omega = tf.pad(omega, [[0, 0], [0, n_chunks * chunk_size - n_samples],
                         [0, 0]])
  chunks = tf.reshape(omega, [batch, n_chunks, chunk_size, channels])
  coarse = tf.round(chunks * _COARSE_GRID) / _COARSE_GRID
  fine = chunks - coarse
  local = _wrap_phase(tf.cumsum(coarse, axis=2)) + tf.cumsum(fine, axis=2)
  totals = (_wrap_phase(tf.reduce_sum(coarse, axis=2)) +
            tf.reduce_sum(fine, axis=2))  # [B, C, K]
  carried = tf.scan(lambda carry, total: _wrap_phase(carry + total),
                    tf.transpose(totals, [1, 0, 2]),
                    initializer=tf.zeros_like(totals[:, 0]))
  offsets = tf.concat([tf.zeros_like(carried[:1]), carried[:-1]], axis=0)
  offsets = tf.transpose(offsets, [1, 0, 2])[:, :, tf.newaxis, :]
  phase = tf.math.floormod(_wrap_phase(offsets + local), _TWO_PI)
  phase = tf.reshape(phase, [batch, n_chunks * chunk_size, channels])
  return phase[:, :n_samples, :]


@gin.configurable(module='ddsp_tf.core')
def angular_cumsum(angular_frequency: tf.Tensor,
                   chunk_size: int = 1000, exact: bool = False) -> tf.Tensor:
  """Cumulative phase wrapped to [0, 2 pi), summed in chunks.

  By default this is magenta/ddsp's scheme: a float32 cumsum within each
  chunk of chunk_size samples, plus the wrapped running total of the earlier
  chunks; its error grows with the chunk's phase (about 1e-4 rad after a
  chunk of 1000 samples at high frequencies).

  exact=True is ddsp_tf's more accurate float32 scheme: each increment is
  split into a coarse part on a 2**-9 grid, whose running sums within a chunk
  are exact in float32, and a small remainder; chunk totals are wrapped with
  a two-part 2 pi. The error then stays near float32 resolution within a
  chunk and grows by roughly 3e-4 rad per million samples (input rank 3 and
  chunk_size <= 4096 only).

  Args:
    angular_frequency: Phase increments in radians per sample,
      [batch, n_samples, ...] ([batch, n_samples, n_sinusoids] with exact).
    chunk_size: Samples summed per chunk.
    exact: Use ddsp_tf's exact-sum scheme instead of the original's.

  Returns:
    Inclusive cumulative phase modulo 2 pi, same shape as the input.
  """
  chunk_size = validation.check_int('chunk_size', chunk_size)
  validation.check_positive('chunk_size', chunk_size)
  omega = tf_float32(angular_frequency)
  if omega.shape.rank is None or omega.shape.rank < 2:
    raise ValueError('angular_frequency must have shape [batch, n_samples, '
                     f'...], got shape {omega.shape}.')
  if exact:
    return _exact_chunked_cumsum(omega, chunk_size)
  return _chunked_cumsum(omega, chunk_size)


def _running_phase(frequencies: tf.Tensor, sample_rate: float,
                   use_angular_cumsum: bool, precise_phase: bool,
                   initial_phase: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Inclusive running oscillator phase in radians, float32.

  precise_phase=False is magenta/ddsp's arithmetic: 2 pi f / sample_rate in
  float32, summed as tf.cumsum sums it (unwrapped; `time_cumsum`) or, with
  use_angular_cumsum, with `angular_cumsum` (wrapped). precise_phase=True is
  ddsp_tf's: the sum runs in float64 (or, with use_angular_cumsum, in the
  exact float32 chunked scheme) and is wrapped to [0, 2 pi).

  Args:
    frequencies: Instantaneous frequencies in Hz, [batch, n_samples, n].
    sample_rate: Samples per second.
    use_angular_cumsum: Sum in chunks (see `angular_cumsum`).
    precise_phase: ddsp_tf's accurate accumulation instead of the original's.
    initial_phase: Optional phase in radians before the first sample,
      broadcastable to [batch, 1, n].

  Returns:
    Phase in radians, [batch, n_samples, n].
  """
  if precise_phase:
    cycles = _cumulative_cycles(frequencies, sample_rate, use_angular_cumsum,
                                initial_phase)
    return _TWO_PI * cycles
  omega = tf_float32(frequencies) * _TWO_PI / float(sample_rate)
  if use_angular_cumsum:
    phase = angular_cumsum(omega)
  else:
    phase = time_cumsum(omega)
  if initial_phase is not None:
    phase += tf_float32(initial_phase)
  return phase


def _cumulative_cycles(frequencies: tf.Tensor, sample_rate: float,
                       use_angular_cumsum: bool,
                       initial_phase: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Running oscillator phase in cycles, wrapped to [0, 1).

  The default path accumulates in float64, which keeps the phase of an hour
  of audio exact to float32 precision; use_angular_cumsum keeps everything in
  float32 (for TPUs) with bounded error.

  Args:
    frequencies: Instantaneous frequencies in Hz, [batch, n_samples, n].
    sample_rate: Samples per second.
    use_angular_cumsum: Use the float32 chunked cumsum instead of float64.
    initial_phase: Optional phase in radians before the first sample,
      broadcastable to [batch, 1, n].

  Returns:
    Inclusive cumulative phase in cycles, [batch, n_samples, n], float32.
  """
  if use_angular_cumsum:
    phase = angular_cumsum(_TWO_PI * frequencies / sample_rate, exact=True)
    if initial_phase is not None:
      phase += tf_float32(initial_phase)
    cycles = phase / _TWO_PI
    return cycles - tf.floor(cycles)
  cycles = tf.cumsum(tf.cast(frequencies, tf.float64) / sample_rate, axis=1)
  if initial_phase is not None:
    cycles += tf.cast(initial_phase, tf.float64) / _TWO_PI
  return tf.cast(cycles - tf.floor(cycles), tf.float32)


def _final_phase(cycles: tf.Tensor) -> tf.Tensor:
  """Phase in radians, in [0, 2 pi), after the last sample of [B, N, 1]."""
  return tf.math.floormod(_TWO_PI * cycles[:, -1:, :], _TWO_PI)


def _check_sample_envelopes(frequency_envelopes: tf.Tensor,
                            amplitude_envelopes: tf.Tensor) -> None:
  validation.check_rank('frequency_envelopes', frequency_envelopes, (3,),
                        '[batch, n_samples, n_sinusoids]')
  validation.check_rank('amplitude_envelopes', amplitude_envelopes, (3,),
                        '[batch, n_samples, n_sinusoids]')
  validation.check_same_static_dims(
      ('frequency_envelopes', 'amplitude_envelopes'), frequency_envelopes,
      amplitude_envelopes, (0, 1, 2))


@gin.configurable(module='ddsp_tf.core')
def oscillator_bank(frequency_envelopes: tf.Tensor,
                    amplitude_envelopes: tf.Tensor, sample_rate: int = 16000,
                    sum_sinusoids: bool = True,
                    use_angular_cumsum: bool = False,
                    precise_phase: bool = False) -> tf.Tensor:
  """Synthesizes a bank of sinusoids from sample-rate frequency envelopes.

  Sinusoid k at sample n is amp[n, k] * sin(phase[n, k]) where the phase is
  the inclusive running sum of 2 pi f / sample_rate. Components at or above
  Nyquist are silenced.

  Args:
    frequency_envelopes: Frequencies in Hz, [batch, n_samples, n_sinusoids].
    amplitude_envelopes: Amplitudes, [batch, n_samples, n_sinusoids].
    sample_rate: Samples per second.
    sum_sinusoids: Sum the sinusoids (True) or return them separately.
    use_angular_cumsum: Sum the phase in chunks (`angular_cumsum`).
    precise_phase: False (default): the original's float32 running sum,
      whose error grows with the signal's length (about 1e-2 rad after 4 s
      at 1 kHz). True: ddsp_tf's float64 sum (or, with use_angular_cumsum,
      the exact float32 chunked sum), accurate over hours.

  Returns:
    [batch, n_samples] audio, or [batch, n_samples, n_sinusoids] when not
    summing.
  """
  validation.check_positive('sample_rate', sample_rate)
  frequency_envelopes = tf_float32(frequency_envelopes)
  amplitude_envelopes = tf_float32(amplitude_envelopes)
  _check_sample_envelopes(frequency_envelopes, amplitude_envelopes)
  amplitude_envelopes = remove_above_nyquist(
      frequency_envelopes, amplitude_envelopes, sample_rate)
  phase = _running_phase(frequency_envelopes, sample_rate, use_angular_cumsum,
                         precise_phase)
  audio = amplitude_envelopes * tf.sin(phase)
  return tf.reduce_sum(audio, axis=-1) if sum_sinusoids else audio


@gin.configurable(module='ddsp_tf.core')
def harmonic_oscillator_bank(frequency: tf.Tensor,
                             amplitude_envelopes: tf.Tensor,
                             initial_phase: Optional[tf.Tensor] = None,
                             sample_rate: int = 16000,
                             use_angular_cumsum: bool = True,
                             precise_phase: bool = False,
                             silence_above_nyquist: bool = False
                             ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Synthesizes harmonics of one fundamental, continuing from a given phase.

  Harmonic k uses k times the fundamental's phase, so harmonics stay locked
  and a stream of chunks is seamless when each chunk starts from the previous
  chunk's final phase.

  Args:
    frequency: Fundamental in Hz at the sample rate, [batch, n_samples, 1].
    amplitude_envelopes: Harmonic amplitudes, [batch, n_samples, n_harmonics].
    initial_phase: Fundamental phase in radians before the first sample,
      [batch, 1, 1]; zero when None.
    sample_rate: Samples per second.
    use_angular_cumsum: Sum the phase in chunks (`angular_cumsum`).
    precise_phase: ddsp_tf's float64 (or exact chunked) phase sum, wrapped
      to [0, 2 pi), instead of the original's float32 one (see
      `oscillator_bank`).
    silence_above_nyquist: Also silence harmonics at or above Nyquist
      (ddsp_tf's option); by default, as in the original, the amplitudes are
      used as given.

  Returns:
    (audio [batch, n_samples], final_phase [batch, 1, 1]): the fundamental's
    phase at the last sample (with precise_phase, wrapped to [0, 2 pi)).
  """
  validation.check_positive('sample_rate', sample_rate)
  frequency = tf_float32(frequency)
  amplitude_envelopes = tf_float32(amplitude_envelopes)
  validation.check_rank('frequency', frequency, (3,), '[batch, n_samples, 1]')
  validation.check_rank('amplitude_envelopes', amplitude_envelopes, (3,),
                        '[batch, n_samples, n_harmonics]')
  validation.check_same_static_dims(
      ('frequency', 'amplitude_envelopes'), frequency, amplitude_envelopes,
      (0, 1))
  n_harmonics = amplitude_envelopes.shape[-1]
  if silence_above_nyquist:
    amplitude_envelopes = remove_above_nyquist(
        get_harmonic_frequencies(frequency, n_harmonics), amplitude_envelopes,
        sample_rate)
  harmonic_numbers = tf.range(1, n_harmonics + 1, dtype=tf.float32)
  if precise_phase:
    cycles = _cumulative_cycles(frequency, sample_rate, use_angular_cumsum,
                                initial_phase)
    audio = tf.reduce_sum(
        amplitude_envelopes * tf.sin(cycles * (_TWO_PI * harmonic_numbers)),
        axis=-1)
    return audio, _final_phase(cycles)
  phase = _running_phase(frequency, sample_rate, use_angular_cumsum, False,
                         initial_phase)
  audio = tf.reduce_sum(
      amplitude_envelopes * tf.sin(phase * harmonic_numbers), axis=-1)
  return audio, phase[:, -1:, :1]


def _broadcast_batch(*tensors: Optional[tf.Tensor]
                     ) -> List[Optional[tf.Tensor]]:
  """Tiles batch-1 controls to the others' batch size, as the original's
  arithmetic broadcasts them (e.g. harmonic_shifts [1, T, H] with
  frequencies [B, T, 1]).

  Tensors whose batch sizes disagree otherwise are returned unchanged (the
  shape checks report them).
  """
  batches = {int(t.shape[0]) for t in tensors
             if t is not None and t.shape.rank and t.shape[0] is not None}
  batches.discard(1)
  if len(batches) != 1:
    return list(tensors)
  batch = batches.pop()
  return [t if t is None or t.shape[0] != 1 else
          tf.tile(t, [batch] + [1] * (t.shape.rank - 1)) for t in tensors]


def _check_frame_controls(frequencies: tf.Tensor, amplitudes: tf.Tensor,
                          **per_harmonic: Optional[tf.Tensor]) -> None:
  """Validates frame-rate f0 [B, T, 1], amplitude [B, T, 1] and [B, T, H]s."""
  validation.check_rank(
      'frequencies', frequencies, (3,), '[batch, n_frames, 1]')
  validation.check_rank('amplitudes', amplitudes, (3,), '[batch, n_frames, 1]')
  validation.check_same_static_dims(('frequencies', 'amplitudes'), frequencies,
                                    amplitudes, (0, 1))
  for name, tensor in per_harmonic.items():
    if tensor is not None:
      validation.check_rank(
          name, tensor, (3,), '[batch, n_frames, n_harmonics]')
      validation.check_same_static_dims(
          ('frequencies', name), frequencies, tensor, (0, 1))


def _block_hop(n_frames: Length, n_samples: Length,
               amp_resample_method: str) -> Optional[Length]:
  """Hop of the fast crossfade path, or None when it does not apply.

  With static lengths the path applies when the frames divide the samples.
  With a tensor length it is always taken (for 'window' and 'linear'), and
  the division is checked when the graph runs.
  """
  if amp_resample_method not in ('window', 'linear'):
    return None
  if _is_static(n_frames, n_samples):
    return None if n_samples % n_frames else n_samples // n_frames
  check = tf.debugging.assert_equal(
      tf.math.floormod(n_samples, n_frames), 0,
      message='n_samples must be a multiple of the number of frames')
  with tf.control_dependencies([check]):
    return tf.identity(n_samples // n_frames)


def _neighbourhood_max(x: tf.Tensor) -> tf.Tensor:
  """Max over frames i-1, i, i+1 along axis 1 of [batch, n_frames, c]."""
  previous = tf.concat([x[:, :1], x[:, :-1]], axis=1)
  following = tf.concat([x[:, 1:], x[:, -1:]], axis=1)
  return tf.maximum(x, tf.maximum(previous, following))


def _crossfaded_harmonic_bank(f0_hz: tf.Tensor, frame_amplitudes: tf.Tensor,
                              n_samples: Length, sample_rate: float,
                              hop: Length,
                              amp_resample_method: str,
                              use_angular_cumsum: bool,
                              initial_phase: Optional[tf.Tensor] = None,
                              precise_phase: bool = True
                              ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Harmonic synthesis that never upsamples the per-harmonic amplitudes.

  Within the hop after frame i, every harmonic amplitude crossfades from
  frame i to frame i + 1 along a common curve r(t), so the output is
  (1 - r) * (S_i @ a_i) + r * (S_i @ a_{i+1}) where S_i holds sin(k phase) for
  the hop's samples. Two small matmuls per hop replace the
  [batch, n_samples, n_harmonics] amplitude tensor of the direct method. A
  harmonic is silenced in any frame whose neighbourhood reaches Nyquist, so
  nothing above Nyquist is ever synthesized.

  Args:
    f0_hz: Fundamental, [batch, n_frames, 1].
    frame_amplitudes: Harmonic amplitudes, [batch, n_frames, n_harmonics].
    n_samples: Output length, n_frames * hop (int or scalar int tensor).
    sample_rate: Samples per second.
    hop: Samples per frame (int or scalar int tensor).
    amp_resample_method: 'window' (Hann crossfade) or 'linear'.
    use_angular_cumsum: Accumulate phase in chunks.
    initial_phase: Optional phase in radians before the first sample.
    precise_phase: float64 (or exact chunked) phase instead of float32.

  Returns:
    (audio [batch, n_samples], final_phase [batch, 1, 1]).
  """
  n_harmonics = frame_amplitudes.shape[-1]
  f0_samples = resample(f0_hz, n_samples, method='linear')
  if precise_phase:
    cycles = _cumulative_cycles(f0_samples, sample_rate, use_angular_cumsum,
                                initial_phase)
  else:
    cycles = _running_phase(f0_samples, sample_rate, use_angular_cumsum,
                            False, initial_phase) / _TWO_PI
    cycles -= tf.floor(cycles)
  harmonic_numbers = tf.range(1, n_harmonics + 1, dtype=tf.float32)
  reach = get_harmonic_frequencies(_neighbourhood_max(f0_hz), n_harmonics)
  frame_amplitudes = remove_above_nyquist(reach, frame_amplitudes,
                                          sample_rate)
  frames = tf.concat([frame_amplitudes, frame_amplitudes[:, -1:]], axis=1)
  endpoints = tf.stack([frames[:, :-1], frames[:, 1:]], axis=-1)  # [B,T,H,2]
  shape = tf.shape(f0_hz)
  sines = tf.reshape(tf.sin(cycles * (_TWO_PI * harmonic_numbers)),
                     [shape[0], shape[1], hop, n_harmonics])
  mixed = tf.matmul(sines, endpoints)  # [B, T, hop, 2]
  rise = (_hann_crossfade(hop) if amp_resample_method == 'window' else
          _linear_crossfade(hop))
  audio = mixed[..., 0] + (mixed[..., 1] - mixed[..., 0]) * rise
  return tf.reshape(audio, [shape[0], n_samples]), _final_phase(cycles)


def harmonic_synthesis(frequencies: tf.Tensor, amplitudes: tf.Tensor,
                       harmonic_shifts: Optional[tf.Tensor] = None,
                       harmonic_distribution: Optional[tf.Tensor] = None,
                       n_samples: Length = 64000, sample_rate: int = 16000,
                       amp_resample_method: Text = 'window',
                       use_angular_cumsum: bool = False,
                       precise_phase: bool = False,
                       crossfade_amplitudes: bool = False) -> tf.Tensor:
  """Renders harmonic audio from frame-rate f0, amplitude and distribution.

  Harmonic k has frequency k * f0 * (1 + shift_k) and amplitude
  amplitude * distribution_k. By default, as in magenta/ddsp, the harmonic
  frequencies are upsampled linearly and the amplitudes with
  amp_resample_method, and `oscillator_bank` renders them (components at or
  above Nyquist are silent).

  crossfade_amplitudes=True is ddsp_tf's fast path (when there are no
  shifts and a 'window' or 'linear' method whose frames divide n_samples): it
  never materializes per-harmonic sample-rate amplitudes, derives every
  harmonic's phase from the fundamental's, and silences a harmonic in any
  frame whose neighbourhood reaches Nyquist (so it fades out one frame
  earlier). It is about 10x faster for 100 harmonics.

  n_samples may be a scalar integer tensor, e.g. n_frames * hop inside a
  tf.function traced with an unknown number of frames; the numbers are the
  same as with the int. With crossfade_amplitudes such a length takes the
  fast path whenever it applies, so with 'window' or 'linear' it must be a
  multiple of n_frames (checked when the graph runs).

  Args:
    frequencies: Fundamental in Hz, [batch, n_frames, 1].
    amplitudes: Overall amplitude, [batch, n_frames, 1].
    harmonic_shifts: Optional relative detuning of each harmonic,
      [batch, n_frames, n_harmonics].
    harmonic_distribution: Optional relative harmonic amplitudes,
      [batch, n_frames, n_harmonics]; one harmonic when None.
    n_samples: Output length: an int or a scalar integer tensor.
    sample_rate: Samples per second.
    amp_resample_method: 'nearest', 'linear', 'cubic' or 'window'.
    use_angular_cumsum: Sum the phase in chunks (`angular_cumsum`).
    precise_phase: ddsp_tf's float64 (or exact chunked) phase sum instead of
      the original's float32 one (see `oscillator_bank`).
    crossfade_amplitudes: ddsp_tf's fast crossfade path (see above).

  Returns:
    Audio, [batch, n_samples].
  """
  validation.check_positive('sample_rate', sample_rate)
  validation.check_choice(
      'amp_resample_method', amp_resample_method, RESAMPLE_METHODS)
  n_samples = check_length('n_samples', n_samples)
  frequencies, amplitudes = tf_float32(frequencies), tf_float32(amplitudes)
  harmonic_shifts = (None if harmonic_shifts is None else
                     tf_float32(harmonic_shifts))
  harmonic_distribution = (None if harmonic_distribution is None else
                           tf_float32(harmonic_distribution))
  frequencies, amplitudes, harmonic_shifts, harmonic_distribution = (
      _broadcast_batch(frequencies, amplitudes, harmonic_shifts,
                       harmonic_distribution))
  _check_frame_controls(frequencies, amplitudes,
                        harmonic_shifts=harmonic_shifts,
                        harmonic_distribution=harmonic_distribution)
  if harmonic_distribution is not None:
    n_harmonics = harmonic_distribution.shape[-1]
    frame_amplitudes = amplitudes * harmonic_distribution
  else:
    n_harmonics = 1 if harmonic_shifts is None else harmonic_shifts.shape[-1]
    frame_amplitudes = tf.tile(amplitudes, [1, 1, n_harmonics])
  if harmonic_shifts is not None:
    validation.check_same_static_dims(
        ('harmonic_shifts', 'harmonic_distribution'), harmonic_shifts,
        frame_amplitudes, (2,))
  hop = (None if harmonic_shifts is not None or not crossfade_amplitudes
         else _block_hop(_n_frames(frequencies), n_samples,
                         amp_resample_method))
  if hop is not None:
    audio, _ = _crossfaded_harmonic_bank(
        frequencies, frame_amplitudes, n_samples, sample_rate, hop,
        amp_resample_method, use_angular_cumsum,
        precise_phase=precise_phase)
    return audio
  frame_frequencies = get_harmonic_frequencies(frequencies, n_harmonics)
  if harmonic_shifts is not None:
    frame_frequencies *= 1.0 + harmonic_shifts
  frequency_envelopes = resample(frame_frequencies, n_samples)
  amplitude_envelopes = resample(frame_amplitudes, n_samples,
                                 method=amp_resample_method)
  return oscillator_bank(frequency_envelopes, amplitude_envelopes,
                         sample_rate=sample_rate,
                         use_angular_cumsum=use_angular_cumsum,
                         precise_phase=precise_phase)


def streaming_harmonic_synthesis(frequencies: tf.Tensor, amplitudes: tf.Tensor,
                                 harmonic_distribution: Optional[
                                     tf.Tensor] = None,
                                 initial_phase: Optional[tf.Tensor] = None,
                                 n_samples: Length = 64000,
                                 sample_rate: int = 16000,
                                 amp_resample_method: Text = 'linear',
                                 precise_phase: bool = False,
                                 crossfade_amplitudes: bool = False
                                 ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Harmonic synthesis for streaming: takes and returns the phase.

  The distribution is normalized after removing harmonics above Nyquist (at
  frame rate). Rendering consecutive chunks, each starting from the previous
  final phase, continues the waveform. By default the rendering is
  magenta/ddsp's: f0 and the harmonic amplitudes are upsampled and
  `harmonic_oscillator_bank` sums the phase with `angular_cumsum`.

  Args:
    frequencies: Fundamental in Hz, [batch, n_frames, 1].
    amplitudes: Overall amplitude, [batch, n_frames, 1].
    harmonic_distribution: Relative harmonic amplitudes,
      [batch, n_frames, n_harmonics]; one harmonic when None.
    initial_phase: Fundamental phase in radians before the first sample,
      [batch, 1, 1]; zero when None.
    n_samples: Output length: an int or a scalar integer tensor (see
      harmonic_synthesis).
    sample_rate: Samples per second.
    amp_resample_method: 'nearest', 'linear', 'cubic' or 'window'.
    precise_phase: ddsp_tf's float64 phase sum (final phase wrapped to
      [0, 2 pi)) instead of the original's chunked float32 one.
    crossfade_amplitudes: ddsp_tf's fast crossfade path and Nyquist
      handling (see `harmonic_synthesis`).

  Returns:
    (audio [batch, n_samples], final_phase [batch, 1, 1]).
  """
  validation.check_positive('sample_rate', sample_rate)
  validation.check_choice(
      'amp_resample_method', amp_resample_method, RESAMPLE_METHODS)
  n_samples = check_length('n_samples', n_samples)
  frequencies, amplitudes = tf_float32(frequencies), tf_float32(amplitudes)
  if harmonic_distribution is None:
    harmonic_distribution = tf.ones_like(amplitudes)
  harmonic_distribution = tf_float32(harmonic_distribution)
  _check_frame_controls(frequencies, amplitudes,
                        harmonic_distribution=harmonic_distribution)
  harmonic_distribution = normalize_harmonics(harmonic_distribution,
                                              frequencies, sample_rate)
  frame_amplitudes = amplitudes * harmonic_distribution
  hop = (_block_hop(_n_frames(frequencies), n_samples, amp_resample_method)
         if crossfade_amplitudes else None)
  if hop is not None:
    return _crossfaded_harmonic_bank(
        frequencies, frame_amplitudes, n_samples, sample_rate, hop,
        amp_resample_method, use_angular_cumsum=not precise_phase,
        initial_phase=initial_phase, precise_phase=precise_phase)
  frequency = resample(frequencies, n_samples)
  amplitude_envelopes = resample(frame_amplitudes, n_samples,
                                 method=amp_resample_method)
  return harmonic_oscillator_bank(frequency, amplitude_envelopes,
                                  initial_phase=initial_phase,
                                  sample_rate=sample_rate,
                                  use_angular_cumsum=not precise_phase,
                                  precise_phase=precise_phase,
                                  silence_above_nyquist=crossfade_amplitudes)
