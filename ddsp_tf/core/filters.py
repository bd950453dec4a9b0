"""FFT convolution and FIR filter design of ddsp_tf.core.

get_fft_size, crop_and_compensate_delay, fft_convolve,
apply_window_to_impulse_response, frequency_impulse_response, sinc,
sinc_impulse_response, frequency_filter and sinc_filter.
"""

from typing import Optional, Text

import numpy as np
import scipy.fft
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.core.numerics import safe_divide
from ddsp_tf.core.resampling import Length
from ddsp_tf.core.resampling import _is_static
from ddsp_tf.core.resampling import _n_frames
from ddsp_tf.core.utils import pad_axis
from ddsp_tf.core.utils import tf_float32

_CONVOLUTION_PADDINGS = ('same', 'valid')


# ----------------------------------------------------------------------------
# Filtering.
# ----------------------------------------------------------------------------
def get_fft_size(frame_size: int, ir_size: int, power_of_2: bool = True) -> int:
  """FFT length that holds a full linear convolution without wrap-around.

  Args:
    frame_size: Samples of audio per convolved frame.
    ir_size: Samples of the impulse response.
    power_of_2: Round up to a power of two (True) or to the next 5-smooth
      length, which scipy's FFT handles quickly (False).

  Returns:
    An FFT size >= frame_size + ir_size - 1.
  """
  validation.check_positive('frame_size', frame_size)
  validation.check_positive('ir_size', ir_size)
  convolved_size = int(frame_size) + int(ir_size) - 1
  if power_of_2:
    return int(2**np.ceil(np.log2(convolved_size)))
  return int(scipy.fft.next_fast_len(convolved_size, real=True))


def _next_power_of_2(n: tf.Tensor) -> tf.Tensor:
  """The smallest power of two >= n, for a positive int32 tensor (exact)."""
  n = tf.cast(n, tf.int32) - 1
  for shift in (1, 2, 4, 8, 16):
    n = tf.bitwise.bitwise_or(n, tf.bitwise.right_shift(n, shift))
  return n + 1


def crop_and_compensate_delay(audio: tf.Tensor, audio_size: Length,
                              ir_size: int,
                              padding: Text,
                              delay_compensation: int,
                              centered: bool = False) -> tf.Tensor:
  """Crops a full convolution to the wanted length and removes filter delay.

  Args:
    audio: Full convolution output, [batch, >= audio_size + ir_size - 1].
    audio_size: Length of the audio before convolution (an int, or a scalar
      integer tensor for audio of unknown length).
    ir_size: Length of the impulse response.
    padding: 'same' keeps audio_size samples; 'valid' keeps the whole
      convolution, audio_size + ir_size - 1 samples.
    delay_compensation: Samples to drop from the start. A negative value
      drops magenta/ddsp's automatic amount, (ir_size - 1) // 2 - 1 (at
      least 0), or with centered=True ir_size // 2.
    centered: ddsp_tf's automatic delay, ir_size // 2: exactly the delay of
      the impulse responses that frequency_impulse_response(centered=True)
      and sinc_impulse_response make, so that filtering with a flat response
      returns the input unshifted (the original's amount leaves its filters
      one or two samples late).

  Returns:
    [batch, audio_size] for 'same', [batch, audio_size + ir_size - 1] for
    'valid'.
  """
  validation.check_choice('padding', padding, _CONVOLUTION_PADDINGS)
  crop_size = audio_size if padding == 'same' else audio_size + ir_size - 1
  if delay_compensation >= 0:
    start = int(delay_compensation)
  elif centered:
    start = ir_size // 2
  else:
    start = max((ir_size - 1) // 2 - 1, 0)
  audio = pad_axis(audio, (0, start), axis=-1)
  return audio[..., start:start + crop_size]


def fft_convolve(audio: tf.Tensor, impulse_response: tf.Tensor,
                 padding: Text = 'same',
                 delay_compensation: int = -1,
                 centered: bool = False) -> tf.Tensor:
  """Convolves audio with a fixed or time-varying impulse response by FFT.

  A 1-D or 2-D impulse response is one filter for the whole signal (LTI). A
  3-D one holds one filter per frame (LTV): the audio is cut into n_frames
  non-overlapping blocks of ceil(n_samples / n_frames) samples (the last
  one zero-padded, as the original does; with unknown lengths n_frames must
  divide n_samples), each block is
  convolved with its frame's filter, and the results overlap-add, tails
  included. n_samples and n_frames may be unknown inside a tf.function (the
  division is then checked when the graph runs); ir_size must be static.

  Args:
    audio: [batch, n_samples].
    impulse_response: [batch, ir_size] or [batch, n_frames, ir_size]; a batch
      of 1 applies to every audio entry.
    padding: 'same' (output as long as the input) or 'valid' (the whole
      convolution, n_samples + ir_size - 1).
    delay_compensation: Samples dropped from the start; negative means the
      automatic amount of `crop_and_compensate_delay`: the original's
      (ir_size - 1) // 2 - 1, or ir_size // 2 with centered=True.
    centered: ddsp_tf's automatic delay compensation for impulse responses
      centred at ir_size // 2 (see `crop_and_compensate_delay`).

  Returns:
    Filtered audio, [batch, n_samples] or [batch, n_samples + ir_size - 1].

  Raises:
    ValueError: For bad ranks, mismatched batch sizes, unknown padding, or
      an n_frames that cannot split the audio into equal blocks.
  """
  validation.check_choice('padding', padding, _CONVOLUTION_PADDINGS)
  audio, impulse_response = tf_float32(audio), tf_float32(impulse_response)
  validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
  validation.check_rank('impulse_response', impulse_response, (1, 2, 3),
                        '[ir_size], [batch, ir_size] or '
                        '[batch, n_frames, ir_size]')
  if impulse_response.shape.rank == 1:
    impulse_response = impulse_response[tf.newaxis, :]
  if impulse_response.shape.rank == 2:
    impulse_response = impulse_response[:, tf.newaxis, :]
  batch_audio, batch_ir = audio.shape[0], impulse_response.shape[0]
  if (batch_audio is not None and batch_ir is not None and
      batch_ir not in (1, batch_audio)):
    raise ValueError(f'Batch size of audio ({batch_audio}) and '
                     f'impulse_response ({batch_ir}) must match, or the '
                     'impulse response must have batch size 1.')
  ir_size = impulse_response.shape[2]
  if ir_size is None:
    raise ValueError('fft_convolve needs a static ir_size, got '
                     'impulse_response shape '
                     f'{impulse_response.shape.as_list()}.')
  n_samples, n_frames = _n_frames(audio), _n_frames(impulse_response)
  if _is_static(n_samples, n_frames):
    # Blocks of ceil(n_samples / n_frames), the audio zero-padded at the end
    # to fill the last one (as the original), when that gives n_frames.
    frame_size = -(-n_samples // n_frames)
    if -(-n_samples // frame_size) != n_frames:
      raise ValueError(
          f'Cannot split {n_samples} audio samples into n_frames={n_frames} '
          f'blocks of ceil(n_samples / n_frames) = {frame_size} samples (that '
          f'gives {-(-n_samples // frame_size)} blocks). Use fewer impulse '
          'response frames, or a number that divides the audio length.')
    if frame_size * n_frames != n_samples:
      audio = tf.pad(audio, [[0, 0], [0, frame_size * n_frames - n_samples]])
    fft_size = get_fft_size(frame_size, ir_size, power_of_2=True)
  else:
    check = tf.debugging.assert_equal(
        tf.math.floormod(n_samples, n_frames), 0,
        message='fft_convolve: the impulse response frames must split the '
        'audio into equal blocks')
    with tf.control_dependencies([check]):
      frame_size = tf.identity(n_samples // n_frames)
    fft_size = _next_power_of_2(frame_size + ir_size - 1)
  frames = tf.reshape(audio, [-1, n_frames, frame_size])
  spectrum = (tf.signal.rfft(frames, [fft_size]) *
              tf.signal.rfft(impulse_response, [fft_size]))
  blocks = tf.signal.irfft(spectrum, [fft_size])
  convolved = tf.signal.overlap_and_add(blocks, frame_size)
  return crop_and_compensate_delay(convolved, n_samples, ir_size, padding,
                                   delay_compensation, centered=centered)


def apply_window_to_impulse_response(impulse_response: tf.Tensor,
                                     window_size: int = 0,
                                     causal: bool = False,
                                     centered: bool = False) -> tf.Tensor:
  """Windows an impulse response and returns it in causal form.

  By default this is magenta/ddsp's convention. A periodic Hann window of
  window_size samples (0 or more than ir_size means ir_size) is centred on
  time zero. With the full size the result is the windowed response rolled
  by ir_size // 2 (time zero at index ir_size // 2). With a shorter window,
  h = (window_size + 1) // 2, the result has 2 h - 1 taps: times -(h - 2)
  to h, time zero at index h - 2 (its last taps fall where the window is
  zero).

  centered=True is ddsp_tf's convention: the result always has window_size
  taps with time zero at index window_size // 2 and the Hann window centred
  there (a symmetric, linear-phase filter for a symmetric input of odd
  window_size).

  Args:
    impulse_response: [..., ir_size]. Zero-phase form (time zero at index 0,
      negative times wrapped to the end, as irfft returns) unless causal.
    window_size: Length of the Hann window; 0 or more than ir_size means
      ir_size.
    causal: The input is causal with time zero at index ir_size // 2 (by
      default rolled back by ir_size // 2 as the original's fftshift does,
      which is one sample off for odd sizes).
    centered: ddsp_tf's centred result (see above).

  Returns:
    [..., n_taps] windowed impulse response: n_taps = ir_size for the full
    window, else 2 * ((window_size + 1) // 2) - 1, or window_size with
    centered.
  """
  impulse_response = tf_float32(impulse_response)
  ir_size = impulse_response.shape[-1]
  if ir_size is None:
    raise ValueError('The impulse response needs a static length, got shape '
                     f'{impulse_response.shape.as_list()}.')
  if not centered:
    return _window_impulse_response(impulse_response, ir_size, window_size,
                                    causal)
  if causal:
    impulse_response = tf.roll(impulse_response, -(ir_size // 2), axis=-1)
  if window_size <= 0 or window_size > ir_size:
    window_size = ir_size
  center = window_size // 2
  impulse_response = tf.roll(impulse_response, center,
                             axis=-1)[..., :window_size]
  offsets = np.arange(window_size) - center
  window = 0.5 + 0.5 * np.cos(2.0 * np.pi * offsets / window_size)
  return impulse_response * window.astype(np.float32)


def _window_impulse_response(impulse_response: tf.Tensor, ir_size: int,
                             window_size: int, causal: bool) -> tf.Tensor:
  """magenta/ddsp's windowing (see apply_window_to_impulse_response)."""
  if causal:
    impulse_response = tf.roll(impulse_response, ir_size // 2, axis=-1)
  if window_size <= 0 or window_size > ir_size:
    window_size = ir_size
  # tf.signal.hann_window's "periodic" window: its period is window_size
  # for even sizes but window_size - 1 for odd ones.
  period = max(window_size - window_size % 2, 1)
  window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(window_size) / period)
  if window_size == 1:
    window = np.ones(1)
  if window_size == ir_size:
    zero_phase = np.roll(window, -(window_size // 2))
    windowed = impulse_response * zero_phase.astype(np.float32)
    return tf.roll(windowed, ir_size // 2, axis=-1)
  half = (window_size + 1) // 2
  zero_phase = np.concatenate([window[half:],
                               np.zeros(ir_size - window_size),
                               window[:half]])
  windowed = impulse_response * zero_phase.astype(np.float32)
  n_negative = max(half - 2, 0)
  return tf.concat([windowed[..., ir_size - n_negative:],
                    windowed[..., :half + 1]], axis=-1)


def frequency_impulse_response(magnitudes: tf.Tensor,
                               window_size: int = 0,
                               centered: bool = False) -> tf.Tensor:
  """FIR filter with the given (zero-phase) magnitude response, windowed.

  The inverse rfft of the magnitudes, windowed and made causal by
  `apply_window_to_impulse_response`.

  Args:
    magnitudes: Gains at n_bins frequencies evenly spaced from 0 Hz to
      Nyquist, [batch, n_bins] or [batch, n_frames, n_bins].
    window_size: Filter length; 0 (or more than 2 * (n_bins - 1)) gives
      2 * (n_bins - 1) taps. Shorter windows follow the original's
      convention (see `apply_window_to_impulse_response`).
    centered: ddsp_tf's symmetric filter centred at ir_size // 2 (an even
      window_size gives window_size - 1 taps), which
      `fft_convolve(..., centered=True)` compensates exactly.

  Returns:
    Impulse responses, [batch, (n_frames,) ir_size].
  """
  magnitudes = tf_float32(magnitudes)
  validation.check_rank('magnitudes', magnitudes, (2, 3),
                        '[batch, n_bins] or [batch, n_frames, n_bins]')
  if magnitudes.shape[-1] is not None and magnitudes.shape[-1] < 2:
    raise ValueError('magnitudes needs at least 2 frequency bins, got shape '
                     f'{magnitudes.shape.as_list()}.')
  spectrum = tf.complex(magnitudes, tf.zeros_like(magnitudes))
  impulse_response = tf.signal.irfft(spectrum)
  ir_size = impulse_response.shape[-1]
  if (centered and ir_size is not None and 0 < window_size < ir_size and
      window_size % 2 == 0):
    window_size -= 1
  return apply_window_to_impulse_response(impulse_response, window_size,
                                          centered=centered)


def sinc(x: tf.Tensor, threshold: float = 1e-20) -> tf.Tensor:
  """Normalized sinc, sin(pi x) / (pi x), equal to 1 where |x| < threshold."""
  x = tf_float32(x)
  near_zero = tf.abs(x) < threshold
  safe_x = tf.where(near_zero, 1.0, x)
  return tf.where(near_zero, 1.0, tf.sin(np.pi * safe_x) / (np.pi * safe_x))


def sinc_impulse_response(cutoff_frequency: tf.Tensor, window_size: int = 512,
                          sample_rate: Optional[float] = None,
                          high_pass: bool = False) -> tf.Tensor:
  """Hamming-windowed sinc low-pass (or high-pass) filter, unit gain at DC.

  Args:
    cutoff_frequency: Cutoff in Hz when sample_rate is given, else as a
      fraction of Nyquist in [0, 1]. Shape [batch] or [batch, n_frames]; a
      trailing axis of 1 is dropped.
    window_size: Filter length is (window_size // 2) * 2 + 1 (always odd).
    sample_rate: Samples per second, if the cutoff is in Hz.
    high_pass: Return the complementary high-pass filter.

  Returns:
    [..., ir_size] impulse responses centred at ir_size // 2; [1, 1,
    ir_size] for a scalar cutoff (the original's shape).
  """
  if window_size < 1:
    raise ValueError(
        f'window_size must be >= 1, got window_size={window_size}.')
  cutoff = tf_float32(cutoff_frequency)
  if sample_rate is not None:
    validation.check_positive('sample_rate', sample_rate)
    nyquist = sample_rate / 2.0
  else:
    nyquist = 1.0
  if not isinstance(cutoff_frequency, (tf.Tensor, tf.Variable)):
    values = np.asarray(cutoff_frequency, dtype=np.float64)
    if np.any(values < 0) or np.any(values > nyquist):
      raise ValueError(f'cutoff_frequency must lie in [0, {nyquist}] '
                       f'({"Hz" if sample_rate else "fraction of Nyquist"}), '
                       f'got {values.ravel()[:8].tolist()}.')
  cutoff = cutoff / nyquist
  if cutoff.shape.rank == 0:
    cutoff = tf.reshape(cutoff, [1, 1])
  if cutoff.shape.rank and cutoff.shape[-1] == 1 and cutoff.shape.rank > 1:
    cutoff = cutoff[..., 0]
  ir_size = (window_size // 2) * 2 + 1
  times = (np.arange(ir_size) - ir_size // 2).astype(np.float32)
  window = np.hamming(ir_size).astype(np.float32)
  cutoff = cutoff[..., tf.newaxis]
  impulse_response = cutoff * sinc(cutoff * times) * window
  impulse_response = safe_divide(
      impulse_response,
      tf.reduce_sum(impulse_response, axis=-1, keepdims=True))
  if high_pass:
    delta = np.zeros(ir_size, np.float32)
    delta[ir_size // 2] = 1.0
    impulse_response = delta - impulse_response
  return impulse_response


def frequency_filter(audio: tf.Tensor, magnitudes: tf.Tensor,
                     window_size: int = 0, padding: Text = 'same',
                     centered: bool = False) -> tf.Tensor:
  """Filters audio with a (time-varying) magnitude response.

  Args:
    audio: [batch, n_samples].
    magnitudes: Gains from 0 Hz to Nyquist, [batch, n_bins] or
      [batch, n_frames, n_bins] (n_frames must split the audio evenly).
    window_size: Filter length; 0 gives 2 * (n_bins - 1).
    padding: 'same' or 'valid', as in fft_convolve.
    centered: ddsp_tf's centred filter with exact delay compensation (see
      `frequency_impulse_response`); by default the original's.

  Returns:
    Filtered audio, delay-compensated.
  """
  impulse_response = frequency_impulse_response(
      magnitudes, window_size=window_size, centered=centered)
  return fft_convolve(audio, impulse_response, padding=padding,
                      centered=centered)


def sinc_filter(audio: tf.Tensor, cutoff_frequency: tf.Tensor,
                window_size: int = 512, sample_rate: Optional[float] = None,
                padding: Text = 'same', high_pass: bool = False,
                centered: bool = False) -> tf.Tensor:
  """Low-pass (or high-pass) filters audio with a windowed sinc.

  Args:
    audio: [batch, n_samples].
    cutoff_frequency: See sinc_impulse_response; [batch] or
      [batch, n_frames] for a time-varying cutoff.
    window_size: Filter length is (window_size // 2) * 2 + 1.
    sample_rate: Samples per second, if the cutoff is in Hz.
    padding: 'same' or 'valid', as in fft_convolve.
    high_pass: High-pass instead of low-pass.
    centered: Remove the filter's delay exactly (ir_size // 2 samples, see
      `crop_and_compensate_delay`); by default the original's amount, one
      sample less.

  Returns:
    Filtered audio, delay-compensated.
  """
  impulse_response = sinc_impulse_response(
      cutoff_frequency, window_size=window_size, sample_rate=sample_rate,
      high_pass=high_pass)
  return fft_convolve(audio, impulse_response, padding=padding,
                      centered=centered)
