"""Wavetable synthesis and variable delays of ddsp_tf.core.

linear_lookup, harmonic_distribution_to_wavetable, wavetable_synthesis and
variable_length_delay (the core of chorus, flanger and vibrato).
"""

from typing import Tuple

import numpy as np
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.core.oscillators import _check_frame_controls
from ddsp_tf.core.resampling import _sample_positions
from ddsp_tf.core.resampling import resample
from ddsp_tf.core.utils import pad_axis
from ddsp_tf.core.utils import tf_float32


# ----------------------------------------------------------------------------
# Wavetables and delays.
# ----------------------------------------------------------------------------
def _interpolated_gather(table: tf.Tensor, lower: tf.Tensor,
                         frac: tf.Tensor) -> tf.Tensor:
  """Linear interpolation between table entries lower and lower + 1.

  Args:
    table: [batch, size] (one table per batch entry) or
      [batch, n_samples, size] (one per sample); indices select along the
      last axis.
    lower: Integer indices in [0, size - 2], [batch, n_samples].
    frac: Weight of entry lower + 1, in [0, 1], [batch, n_samples].

  Returns:
    [batch, n_samples].
  """
  indices = tf.stack([lower, lower + 1], axis=-1)
  values = tf.gather(table, indices, batch_dims=table.shape.rank - 1)
  return values[..., 0] + (values[..., 1] - values[..., 0]) * frac


def _table_position(phase: tf.Tensor,
                    n_wavetable: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """Entry below a phase in a wrapped table, and the fraction past it.

  Args:
    phase: Position in the period, [batch, n_samples], clipped to [0, 1].
    n_wavetable: Samples per period (the wrapped table has one more).

  Returns:
    (lower int32 in [0, n_wavetable - 1], frac in [0, 1]).
  """
  position = tf.clip_by_value(phase, 0.0, 1.0) * tf.cast(n_wavetable,
                                                         tf.float32)
  lower = tf.minimum(tf.floor(position), tf.cast(n_wavetable - 1, tf.float32))
  return tf.cast(lower, tf.int32), position - lower


def linear_lookup(phase: tf.Tensor, wavetables: tf.Tensor) -> tf.Tensor:
  """Reads a periodic wavetable at fractional phases by linear interpolation.

  Args:
    phase: Position in the period, in [0, 1], [batch, n_samples, 1] or
      [batch, n_samples].
    wavetables: One period per sample, [batch, n_samples, n_wavetable], or a
      single table per batch entry, [batch, n_wavetable] or
      [batch, 1, n_wavetable], or one table for everything, [n_wavetable].
      The table wraps: phase 1 reads the first sample again.

  Returns:
    [batch, n_samples].
  """
  phase, wavetables = tf_float32(phase), tf_float32(wavetables)
  validation.check_rank('phase', phase, (2, 3), '[batch, n_samples(, 1)]')
  validation.check_rank(
      'wavetables', wavetables, (1, 2, 3),
      '[n_wavetable], [batch, n_wavetable] or '
      '[batch, n_samples, n_wavetable]')
  if phase.shape.rank == 3:
    phase = phase[..., 0]
  if wavetables.shape.rank == 1:
    wavetables = tf.tile(wavetables[tf.newaxis], [tf.shape(phase)[0], 1])
  if wavetables.shape.rank == 3 and wavetables.shape[1] == 1:
    wavetables = wavetables[:, 0]  # One frame: the same table throughout.
  validation.check_same_static_dims(('phase', 'wavetables'), phase, wavetables,
                                    range(wavetables.shape.rank - 1))
  wrapped = tf.concat([wavetables, wavetables[..., :1]], axis=-1)
  lower, frac = _table_position(phase, tf.shape(wavetables)[-1])
  return _interpolated_gather(wrapped, lower, frac)


def harmonic_distribution_to_wavetable(harmonic_distribution: tf.Tensor,
                                       n_wavetable: int = 2048) -> tf.Tensor:
  """One period of a sum of harmonics (cosine phase), by inverse real FFT.

  Harmonic k of amplitude a_k contributes a_k * cos(2 pi k n / n_wavetable).

  Args:
    harmonic_distribution: Harmonic amplitudes, [..., n_harmonics].
    n_wavetable: Samples per period; must exceed 2 * n_harmonics.

  Returns:
    [..., n_wavetable].
  """
  harmonic_distribution = tf_float32(harmonic_distribution)
  n_harmonics = harmonic_distribution.shape[-1]
  n_bins = n_wavetable // 2 + 1
  if n_harmonics is None or n_harmonics >= n_bins - 1:
    raise ValueError(f'n_wavetable={n_wavetable} is too short for '
                     f'{n_harmonics} harmonics; it must exceed '
                     '2 * n_harmonics.')
  spectrum = pad_axis(harmonic_distribution,
                      (1, n_bins - n_harmonics - 1), axis=-1)
  spectrum = tf.complex(spectrum, tf.zeros_like(spectrum))
  return tf.signal.irfft(spectrum, fft_length=[n_wavetable]) * (
      n_wavetable / 2.0)


def _exclusive_cycles(frequencies: tf.Tensor, sample_rate: float,
                      precise_phase: bool = True) -> tf.Tensor:
  """Phase in cycles before each sample (first sample at 0), in [0, 1).

  Summed in float64 with precise_phase, else in float32 as the original.
  """
  if not precise_phase:
    cycles = tf.cumsum(tf_float32(frequencies) / float(sample_rate), axis=1,
                       exclusive=True)
    return tf.math.floormod(cycles, 1.0)
  cycles = tf.cumsum(tf.cast(frequencies, tf.float64) / sample_rate, axis=1,
                     exclusive=True)
  return tf.cast(cycles - tf.floor(cycles), tf.float32)


def wavetable_synthesis(frequencies: tf.Tensor, amplitudes: tf.Tensor,
                        wavetables: tf.Tensor, n_samples: int = 64000,
                        sample_rate: int = 16000,
                        precise_phase: bool = False) -> tf.Tensor:
  """Plays wavetables at frame-rate frequencies and amplitudes.

  The phase starts at 0 and accumulates in float32 as in magenta/ddsp, or
  with precise_phase=True in float64 (no drift). Frame-rate
  wavetables are crossfaded linearly between frames by reading both
  neighbouring tables, which equals reading a linearly upsampled table
  without building one per sample.

  Args:
    frequencies: Frequency in Hz, [batch, n_frames, 1].
    amplitudes: Amplitude, [batch, n_frames, 1], upsampled with 'window'.
    wavetables: [batch, n_wavetable] or [batch, n_frames, n_wavetable].
    n_samples: Output length; a multiple of n_frames.
    sample_rate: Samples per second.
    precise_phase: ddsp_tf's float64 phase sum.

  Returns:
    Audio, [batch, n_samples].
  """
  validation.check_positive('sample_rate', sample_rate)
  n_samples = validation.check_int('n_samples', n_samples)
  frequencies, amplitudes = tf_float32(frequencies), tf_float32(amplitudes)
  wavetables = tf_float32(wavetables)
  _check_frame_controls(frequencies, amplitudes)
  validation.check_rank(
      'wavetables', wavetables, (2, 3),
      '[batch, n_wavetable] or [batch, n_frames, n_wavetable]')
  amplitude = resample(amplitudes, n_samples, method='window')[..., 0]
  frequency = resample(frequencies, n_samples)
  phase = _exclusive_cycles(frequency, sample_rate, precise_phase)
  if wavetables.shape.rank == 2 or wavetables.shape[1] == 1:
    tables = wavetables if wavetables.shape.rank == 2 else wavetables[:, 0]
    return amplitude * linear_lookup(phase, tables)
  # Read both neighbouring frames' tables straight from the flattened
  # [batch, n_frames * (n_wavetable + 1)] wrapped tables, so no per-sample
  # copy of the tables is ever made.
  n_frames, n_wavetable = wavetables.shape[1], tf.shape(wavetables)[-1]
  wrapped = tf.concat([wavetables, wavetables[..., :1]], axis=-1)
  flat = tf.reshape(wrapped, [tf.shape(wrapped)[0], -1])
  positions = _sample_positions(n_frames, n_samples, add_endpoint=True)
  lower_frame = np.floor(positions)
  frame_frac = (positions - lower_frame).astype(np.float32)
  upper_frame = np.minimum(lower_frame + 1, n_frames - 1)
  entry, entry_frac = _table_position(phase[..., 0], n_wavetable)

  def read(frames: np.ndarray) -> tf.Tensor:
    offsets = tf.constant(frames.astype(np.int32)) * (n_wavetable + 1)
    return _interpolated_gather(flat, offsets + entry, entry_frac)

  audio_lower, audio_upper = read(lower_frame), read(upper_frame)
  return amplitude * (audio_lower + (audio_upper - audio_lower) * frame_frac)


def _wrapping_delay(phase: tf.Tensor, audio: tf.Tensor,
                    max_length: int) -> tf.Tensor:
  """magenta/ddsp's delay read (see variable_length_delay), [batch, n].

  Table entry k < max_length holds the sample k steps back and entry
  max_length wraps to entry 0; phase p reads position p * max_length with
  triangular (linear) weights, which vanish outside the table.
  """
  position = phase * float(max_length)
  lower = tf.floor(position)
  # Triangular weights 1 - |phase - k / max_length| * max_length with the
  # table positions k / max_length of tf.linspace, as the original rounds.
  grid = tf.linspace(0.0, 1.0, max_length + 1)
  lower_entry = tf.cast(lower, tf.int32)

  def weight(entry):
    node = tf.gather(grid, tf.clip_by_value(entry, 0, max_length))
    return tf.nn.relu(1.0 - tf.abs(phase - node) * float(max_length))

  n_samples = tf.shape(audio)[1]
  # Index i of the padded audio holds sample i - max_length.
  padded = pad_axis(audio, (max_length, 0), axis=1)
  sample_index = tf.range(n_samples)[tf.newaxis, :] + max_length

  def read(entry):
    inside = (entry >= 0) & (entry <= max_length)
    back = tf.where(entry >= max_length, 0, entry)
    back = tf.clip_by_value(back, 0, max_length - 1)
    values = tf.gather(padded, sample_index - back, batch_dims=1)
    return tf.where(inside, values, 0.0)

  return (read(lower_entry) * weight(lower_entry) +
          read(lower_entry + 1) * weight(lower_entry + 1))


def variable_length_delay(phase: tf.Tensor, audio: tf.Tensor,
                          max_length: int = 512,
                          exact_delay: bool = False) -> tf.Tensor:
  """Delays audio by a time-varying, fractional number of samples.

  The delay at sample n is phase[n] * max_length samples, read by linear
  interpolation; samples before the start of the audio are zero. This is the
  core of chorus, flanger and vibrato effects.

  By default this is magenta/ddsp's delay line: a wrapping table of the
  delays 0 .. max_length - 1, so delays between max_length - 1 and
  max_length fade back towards no delay (phase 1 reads the undelayed
  sample), and phases outside [0, 1] fade to silence. exact_delay=True is
  ddsp_tf's: phase 1 is a delay of exactly max_length samples, and phases
  are clipped to [0, 1].

  Args:
    phase: Delay as a fraction of max_length, in [0, 1],
      [batch, n_samples, 1] or [batch, n_samples].
    audio: [batch, n_samples].
    max_length: Delay in samples for phase 1.
    exact_delay: ddsp_tf's delay line (see above).

  Returns:
    Delayed audio, [batch, n_samples].
  """
  if max_length < 1:
    raise ValueError(f'max_length must be >= 1, got max_length={max_length}.')
  phase, audio = tf_float32(phase), tf_float32(audio)
  validation.check_rank('phase', phase, (2, 3), '[batch, n_samples(, 1)]')
  validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
  if phase.shape.rank == 3:
    phase = phase[..., 0]
  validation.check_same_static_dims(('phase', 'audio'), phase, audio, (0, 1))
  if not exact_delay:
    return _wrapping_delay(phase, audio, max_length)
  delay = tf.clip_by_value(phase, 0.0, 1.0) * float(max_length)
  whole_delay = tf.floor(delay)
  # Index i of the padded audio holds original sample i - max_length - 1, so
  # every read is in range and reads before the start find zeros. Sample n
  # reads between indices n + max_length - whole_delay and the one after;
  # the integer part is kept in int32 so the fraction keeps full precision
  # however long the audio.
  padded = pad_axis(audio, (max_length + 1, 1), axis=1)
  sample_index = tf.range(tf.shape(audio)[1])
  lower = sample_index + max_length - tf.cast(whole_delay, tf.int32)
  return _interpolated_gather(padded, lower, 1.0 - (delay - whole_delay))
