"""Spectral analysis: STFTs, (log) magnitude and mel spectra, MFCCs, loudness.

Conventions: audio is `[batch, n_samples]` float32; most functions also take
1-D `[n_samples]` audio and then drop the batch axis from their output, and the
STFT-based ones squeeze a trailing channel axis (`[batch, n_samples, 1]`).
Frame-wise features come out as `[batch, n_frames]` or
`[batch, n_frames, channels]`.

Framing follows one rule everywhere (`get_framed_lengths` and `pad`):

* 'valid': no padding; only frames that fit inside the signal.
* 'same': zeros at the end so that there are ceil(n_samples / hop) frames
  (this is what `tf.signal.stft(..., pad_end=True)` does).
* 'center': frame_size zeros in total, half before and half after, so that
  frame i is centred on sample i * hop (for even frame sizes) and there are
  n_samples // hop + 1 frames.

Decibels are clipped to [-range_db, ...] (DB_RANGE = 80 by default), with
0 dB meaning a mean-square power of 1 (a constant signal of amplitude 1).

librosa is not needed at run time: the A-weighting curve and the numpy STFT
are computed here with numpy. librosa is only an independent reference in the
tests.

The framing helpers (`get_framed_lengths`, `pad`) live in framing.py and
CREPE pitch tracking (`compute_f0`, `reset_crepe`, `PretrainedCREPE`) in
pitch.py; both are re-exported here, the original's path.
"""

import gin
import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import validation
from ddsp_tf.framing import _audio_np
from ddsp_tf.framing import _audio_tf
from ddsp_tf.framing import _check_framing
from ddsp_tf.framing import _hop_size
from ddsp_tf.framing import _pad_np
from ddsp_tf.framing import _PADDINGS
from ddsp_tf.framing import Array
from ddsp_tf.framing import get_framed_lengths
from ddsp_tf.framing import pad
from ddsp_tf.pitch import CREPE_FRAME_SIZE
from ddsp_tf.pitch import CREPE_SAMPLE_RATE
from ddsp_tf.pitch import compute_f0
from ddsp_tf.pitch import PretrainedCREPE
from ddsp_tf.pitch import reset_crepe

F0_RANGE = 127.0  # MIDI.
DB_RANGE = core.DB_RANGE  # dB (80.0).

# Pole frequencies (Hz) of the A-weighting filter, IEC 61672-1 Annex E.
_A_WEIGHTING_POLES_HZ = (20.598997, 107.65265, 737.86223, 12194.217)


# ----------------------------------------------------------------------------
# Private helpers.
# ----------------------------------------------------------------------------
def _enclosing_power_of_two(n: int) -> int:
  """The smallest power of two >= n (n >= 1)."""
  return 1 << (int(n) - 1).bit_length()


def _stft_hop_size(frame_size: int, overlap: float) -> int:
  """Hop size for a frame size and an overlap fraction in [0, 1)."""
  if not 0.0 <= overlap < 1.0:
    raise ValueError(f'overlap must be in [0, 1), got overlap={overlap!r}.')
  # Rounded rather than truncated: 1000 * (1 - 0.9) is 99.99999999999997.
  hop = int(round(frame_size * (1.0 - overlap)))
  if hop < 1:
    raise ValueError(
        f'frame_size * (1 - overlap) must be at least one sample, got '
        f'frame_size={frame_size!r}, overlap={overlap!r}.')
  return hop


def _hann_window_np(frame_size: int) -> np.ndarray:
  """Periodic Hann window, the same as `tf.signal.hann_window(frame_size)`."""
  if frame_size == 1:
    return np.ones(1)
  n = np.arange(frame_size)
  return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_size)


def _stft_np(audio: np.ndarray, frame_size: int, hop_size: int) -> np.ndarray:
  """Complex128 STFT of `[..., n_samples]` audio with no padding.

  Hann-windowed frames, zero-padded to the enclosing power of two and
  transformed with rfft; the same definition as `tf.signal.stft`.

  Returns:
    `[..., n_frames, fft_length // 2 + 1]`.
  """
  fft_length = _enclosing_power_of_two(frame_size)
  n_samples = audio.shape[-1]
  if n_samples < frame_size:
    return np.zeros(audio.shape[:-1] + (0, fft_length // 2 + 1), np.complex128)
  frames = np.lib.stride_tricks.sliding_window_view(
      audio, frame_size, axis=-1)[..., ::hop_size, :]
  return np.fft.rfft(frames * _hann_window_np(frame_size), n=fft_length,
                     axis=-1)


def _a_weighting_db(frequencies: np.ndarray,
                    min_db: float = -80.0) -> np.ndarray:
  """The A-weighting curve (IEC 61672-1) in dB, floored at `min_db`.

  R_A(f) = f4^2 f^4 / ((f^2 + f1^2) sqrt((f^2 + f2^2)(f^2 + f3^2)) (f^2 + f4^2))
  and A(f) = 20 log10(R_A(f)) + 2.0 dB, with the standard's pole frequencies
  f1..f4 (about 20.6, 107.7, 737.9 and 12194 Hz). A(1 kHz) is 0 dB to within
  0.001 dB.

  Args:
    frequencies: Frequencies in Hz, any shape.
    min_db: Floor, so that 0 Hz gives a finite value.

  Returns:
    Weights in dB, float64, same shape as `frequencies`.
  """
  f1, f2, f3, f4 = _A_WEIGHTING_POLES_HZ
  f_sq = np.square(np.asarray(frequencies, dtype=np.float64))
  numerator = f4**2 * np.square(f_sq)
  denominator = ((f_sq + f1**2) * np.sqrt((f_sq + f2**2) * (f_sq + f3**2)) *
                 (f_sq + f4**2))
  with np.errstate(divide='ignore'):
    weights_db = 20.0 * np.log10(numerator / denominator) + 2.0
  return np.maximum(weights_db, min_db)


def _loudness_weights(sample_rate: float, frame_size: int,
                      normalized: bool = True) -> np.ndarray:
  """Per-bin factors applied to |STFT|^2 before averaging over the bins.

  With normalized=False these are the A-weighting's linear power gains alone
  (the original's convention). With normalized=True they turn |STFT|^2 into
  A-weighted mean-square power:

  For frame x (n = frame_size samples), Hann window w and FFT length M,
  Parseval gives sum_{k=0}^{M-1} |X_k|^2 = M sum_n (w_n x_n)^2. The rfft keeps
  K = M // 2 + 1 bins, in which every bin except DC (and Nyquist for even M)
  stands for two bins of the full spectrum. So with c_k = 1 for those edge
  bins and 2 otherwise,

    mean_k(|X_k|^2 c_k K / (M sum_n w_n^2)) = sum_n (w_n x_n)^2 / sum_n w_n^2,

  the window-weighted mean square of the frame: A^2 / 2 for a sine of
  amplitude A. Each factor also carries the A-weighting of its bin as a
  linear power gain, which is 1 (0 dB) at 1 kHz.

  Args:
    sample_rate: Audio sample rate in Hz.
    frame_size: STFT frame length in samples.
    normalized: Include the normalization above (True) or return the
      A-weighting gains only (False).

  Returns:
    float64 `[fft_length // 2 + 1]` factors.
  """
  fft_length = _enclosing_power_of_two(frame_size)
  n_bins = fft_length // 2 + 1
  frequencies = np.arange(n_bins) * (float(sample_rate) / fft_length)
  a_weighting = 10.0**(_a_weighting_db(frequencies) / 10.0)
  if not normalized:
    return a_weighting
  one_sided = np.full(n_bins, 2.0)
  one_sided[0] = 1.0
  if fft_length % 2 == 0:
    one_sided[-1] = 1.0
  window_power = np.sum(np.square(_hann_window_np(frame_size)))
  return a_weighting * one_sided * n_bins / (fft_length * window_power)


# ----------------------------------------------------------------------------
# STFT and spectra.
# ----------------------------------------------------------------------------
def stft(audio: Array, frame_size: int = 2048, overlap: float = 0.75,
         pad_end: bool = True) -> tf.Tensor:
  """Short-time Fourier transform with a periodic Hann window.

  The hop is frame_size * (1 - overlap) rounded to the nearest sample (the
  original truncates, which turns float error such as 1000 * (1 - 0.9) =
  99.99999999999997 into a hop of 99). Frames are zero-padded to the smallest
  enclosing power of two before the FFT. No normalisation is applied.

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    frame_size: Window length in samples.
    overlap: Fraction of a frame shared with the next one, in [0, 1).
    pad_end: Pad zeros at the end ('same' framing) so every sample is in a
      frame; otherwise only whole frames ('valid').

  Returns:
    complex64 `[batch, n_frames, fft_length // 2 + 1]`, or
    `[n_frames, fft_length // 2 + 1]` for 1-D audio.
  """
  frame_size = validation.check_int('frame_size', frame_size)
  hop_size = _stft_hop_size(frame_size, overlap)
  audio, is_1d = _audio_tf(audio)
  s = tf.signal.stft(audio, frame_length=frame_size, frame_step=hop_size,
                     fft_length=_enclosing_power_of_two(frame_size),
                     pad_end=pad_end)
  return s[0] if is_1d else s


def stft_np(audio: np.ndarray, frame_size: int = 2048, overlap: float = 0.75,
            pad_end: bool = True) -> np.ndarray:
  """numpy STFT with the same definition and framing as `stft`.

  Unlike the original (librosa with n_fft = frame_size) the FFT length is the
  enclosing power of two, as in `stft`, so the two agree for any frame size.

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    frame_size: Window length in samples.
    overlap: Fraction of a frame shared with the next one, in [0, 1).
    pad_end: Pad zeros at the end ('same' framing).

  Returns:
    complex64 `[batch, n_frames, fft_length // 2 + 1]`, or
    `[n_frames, fft_length // 2 + 1]` for 1-D audio.
  """
  frame_size = validation.check_int('frame_size', frame_size)
  hop_size = _stft_hop_size(frame_size, overlap)
  audio, is_1d = _audio_np(audio)
  if pad_end:
    audio = _pad_np(audio, frame_size, hop_size, 'same')
  s = _stft_np(audio, frame_size, hop_size).astype(np.complex64)
  return s[0] if is_1d else s


@gin.register
def compute_mag(audio: Array, size: int = 2048, overlap: float = 0.75,
                pad_end: bool = True) -> tf.Tensor:
  """STFT magnitude |stft(audio)|.

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    size: Frame size in samples.
    overlap: Fraction of a frame shared with the next one, in [0, 1).
    pad_end: Pad zeros at the end ('same' framing).

  Returns:
    float32 `[batch, n_frames, fft_length // 2 + 1]` (no batch axis for 1-D
    audio).
  """
  return tf.abs(stft(audio, frame_size=size, overlap=overlap, pad_end=pad_end))


def compute_mel(audio: Array, lo_hz: float = 0.0, hi_hz: float = 8000.0,
                bins: int = 64, fft_size: int = 2048, overlap: float = 0.75,
                pad_end: bool = True, sample_rate: int = 16000) -> tf.Tensor:
  """Mel-scale magnitude spectrum (linear amplitude, not power, not log).

  The filterbank is `tf.signal.linear_to_mel_weight_matrix`: HTK mel scale,
  unnormalised triangles that are linear in mel, DC bin excluded.

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    lo_hz: Lower edge of the lowest band in Hz.
    hi_hz: Upper edge of the highest band in Hz, at most sample_rate / 2.
    bins: Number of mel bands.
    fft_size: Frame size in samples.
    overlap: Fraction of a frame shared with the next one, in [0, 1).
    pad_end: Pad zeros at the end ('same' framing).
    sample_rate: Audio sample rate in Hz.

  Returns:
    float32 `[batch, n_frames, bins]` (no batch axis for 1-D audio).
  """
  validation.check_positive('sample_rate', sample_rate)
  bins = validation.check_int('bins', bins)
  if not 0.0 <= lo_hz < hi_hz <= sample_rate / 2.0:
    raise ValueError(
        f'Mel band edges need 0 <= lo_hz < hi_hz <= sample_rate / 2, got '
        f'lo_hz={lo_hz!r}, hi_hz={hi_hz!r}, sample_rate={sample_rate!r}.')
  mag = compute_mag(audio, fft_size, overlap, pad_end)
  mel_matrix = tf.signal.linear_to_mel_weight_matrix(
      num_mel_bins=bins, num_spectrogram_bins=mag.shape[-1],
      sample_rate=sample_rate, lower_edge_hertz=lo_hz,
      upper_edge_hertz=hi_hz)
  return tf.einsum('...f,fm->...m', mag, mel_matrix)


def compute_logmag(audio: Array, size: int = 2048, overlap: float = 0.75,
                   pad_end: bool = True) -> tf.Tensor:
  """Natural log of the STFT magnitude (`core.safe_log`, finite for silence).

  Args:
    audio: Audio, as for `compute_mag`.
    size: Frame size in samples.
    overlap: Fraction of a frame shared with the next one.
    pad_end: Pad zeros at the end.

  Returns:
    float32, the shape `compute_mag` returns.
  """
  return core.safe_log(compute_mag(audio, size, overlap, pad_end))


@gin.register
def compute_logmel(audio: Array, lo_hz: float = 80.0, hi_hz: float = 7600.0,
                   bins: int = 64, fft_size: int = 2048, overlap: float = 0.75,
                   pad_end: bool = True, sample_rate: int = 16000) -> tf.Tensor:
  """Natural log of `compute_mel` (`core.safe_log`, finite for silence).

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    lo_hz: Lower edge of the lowest band in Hz.
    hi_hz: Upper edge of the highest band in Hz.
    bins: Number of mel bands.
    fft_size: Frame size in samples.
    overlap: Fraction of a frame shared with the next one, in [0, 1).
    pad_end: Pad zeros at the end ('same' framing).
    sample_rate: Audio sample rate in Hz.

  Returns:
    float32 `[batch, n_frames, bins]` (no batch axis for 1-D audio).
  """
  mel = compute_mel(audio, lo_hz, hi_hz, bins, fft_size, overlap, pad_end,
                    sample_rate)
  return core.safe_log(mel)


@gin.register
def compute_mfcc(audio: Array, lo_hz: float = 20.0, hi_hz: float = 8000.0,
                 fft_size: int = 1024, mel_bins: int = 128, mfcc_bins: int = 13,
                 overlap: float = 0.75, pad_end: bool = True,
                 sample_rate: int = 16000) -> tf.Tensor:
  """Mel-frequency cepstral coefficients of the log-mel magnitude spectrum.

  `tf.signal.mfccs_from_log_mel_spectrograms`: a type-II DCT of the natural-log
  mel magnitudes scaled by 1 / sqrt(2 * mel_bins); the first `mfcc_bins`
  coefficients are kept.

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    lo_hz: Lower edge of the lowest mel band in Hz.
    hi_hz: Upper edge of the highest mel band in Hz.
    fft_size: Frame size in samples.
    mel_bins: Number of mel bands.
    mfcc_bins: Number of coefficients kept, at most mel_bins.
    overlap: Fraction of a frame shared with the next one, in [0, 1).
    pad_end: Pad zeros at the end ('same' framing).
    sample_rate: Audio sample rate in Hz.

  Returns:
    float32 `[batch, n_frames, mfcc_bins]` (no batch axis for 1-D audio).
  """
  mel_bins = validation.check_int('mel_bins', mel_bins)
  mfcc_bins = validation.check_int('mfcc_bins', mfcc_bins)
  if mfcc_bins > mel_bins:
    raise ValueError(f'mfcc_bins must not exceed mel_bins, got mfcc_bins='
                     f'{mfcc_bins}, mel_bins={mel_bins}.')
  logmel = compute_logmel(audio, lo_hz=lo_hz, hi_hz=hi_hz, bins=mel_bins,
                          fft_size=fft_size, overlap=overlap, pad_end=pad_end,
                          sample_rate=sample_rate)
  mfccs = tf.signal.mfccs_from_log_mel_spectrograms(logmel)
  return mfccs[..., :mfcc_bins]


# ----------------------------------------------------------------------------
# Energy and loudness.
# ----------------------------------------------------------------------------
def compute_rms_energy(audio: Array, sample_rate: int = 16000,
                       frame_rate: int = 250, frame_size: int = 512,
                       padding: str = 'center') -> tf.Tensor:
  """Root-mean-square amplitude of each frame (rectangular window).

  A sine of amplitude A gives A / sqrt(2) in frames that hold whole periods.
  The gradient is finite (zero) for silent frames.

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    sample_rate: Audio sample rate in Hz.
    frame_rate: Frames per second; must divide sample_rate.
    frame_size: Samples per frame.
    padding: 'center', 'same' or 'valid' (see `get_framed_lengths`).

  Returns:
    float32 `[batch, n_frames]`, or `[n_frames]` for 1-D audio.
  """
  hop_size = _hop_size(sample_rate, frame_rate)
  audio, is_1d = _audio_tf(audio)
  audio = pad(audio, frame_size, hop_size, padding=padding, axis=-1)
  frames = tf.signal.frame(audio, frame_size, hop_size, pad_end=False)
  mean_square = tf.reduce_mean(tf.square(frames), axis=-1)
  nonzero = mean_square > 0.0
  rms = tf.where(nonzero, tf.sqrt(tf.where(nonzero, mean_square, 1.0)), 0.0)
  return rms[0] if is_1d else rms


def compute_power(audio: Array, sample_rate: int = 16000,
                  frame_rate: int = 250, frame_size: int = 512,
                  ref_db: float = 0.0, range_db: float = DB_RANGE,
                  padding: str = 'center') -> tf.Tensor:
  """Frame power in dB: 20 log10(rms) - ref_db, floored at -range_db.

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    sample_rate: Audio sample rate in Hz.
    frame_rate: Frames per second; must divide sample_rate.
    frame_size: Samples per frame.
    ref_db: dB subtracted from the result (0 dB = rms of 1).
    range_db: Dynamic range; the output is at least -range_db.
    padding: 'center', 'same' or 'valid' (see `get_framed_lengths`).

  Returns:
    float32 `[batch, n_frames]`, or `[n_frames]` for 1-D audio.
  """
  rms = compute_rms_energy(audio, sample_rate, frame_rate, frame_size, padding)
  return core.amplitude_to_db(rms, ref_db=ref_db, range_db=range_db)


def compute_loudness(audio: Array, sample_rate: int = 16000,
                     frame_rate: int = 250, n_fft: int = 512,
                     range_db: float = DB_RANGE, ref_db: float = 0.0,
                     use_tf: bool = True,
                     padding: str = 'center',
                     normalized: bool = False) -> Array:
  """A-weighted loudness per frame in dB.

  The audio is padded, cut into Hann-windowed frames of n_fft samples every
  sample_rate // frame_rate samples, and each frame's power spectrum |S|^2 is
  multiplied by the A-weighting curve (as a linear power gain) and averaged
  over the rfft bins.

  By default (normalized=False) |S|^2 is the unnormalized STFT's, as in
  magenta/ddsp, so that features match datasets and models made with the
  original; the level then depends on n_fft (a full-scale 1 kHz sine measures
  about +20 dB at n_fft=512). normalized=True is ddsp_tf's interpretable
  scale: the spectrum is normalized (see `_loudness_weights`) so that without
  weighting the average is the frame's window-weighted mean square, and a
  1 kHz sine of amplitude A gives 20 log10(A / sqrt(2)) dB (-3.0 dB at full
  scale, whatever n_fft), a sine at f that plus A(f).

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    sample_rate: Audio sample rate in Hz.
    frame_rate: Frames per second; must divide sample_rate.
    n_fft: Frame (window) size in samples; must be at least the hop.
    range_db: Dynamic range; the output is at least -range_db (silence).
    ref_db: dB subtracted from the result.
    use_tf: Compute with TensorFlow (True, differentiable) or numpy (False).
    padding: 'center', 'same' or 'valid' (see `get_framed_lengths`).
    normalized: ddsp_tf's normalized level (True) or the original's
      unnormalized one (False, the default).

  Returns:
    Loudness in dB, float32 `[batch, n_frames]` or `[n_frames]` for 1-D
    audio; a tf.Tensor if use_tf else a numpy array.
  """
  hop_size = _hop_size(sample_rate, frame_rate)
  n_fft, hop_size = _check_framing(n_fft, hop_size, padding)
  weights = _loudness_weights(sample_rate, n_fft, normalized=normalized)

  if use_tf:
    audio, is_1d = _audio_tf(audio)
    audio = pad(audio, n_fft, hop_size, padding=padding, axis=-1)
    s = tf.signal.stft(audio, frame_length=n_fft, frame_step=hop_size,
                       fft_length=_enclosing_power_of_two(n_fft),
                       pad_end=False)
    # |S|^2 as real^2 + imag^2, with no square root to take.
    power = tf.square(tf.math.real(s)) + tf.square(tf.math.imag(s))
    power = tf.reduce_mean(power * tf.constant(weights, tf.float32), axis=-1)
  else:
    audio, is_1d = _audio_np(audio)
    audio = _pad_np(audio, n_fft, hop_size, padding)
    power = np.mean(np.abs(_stft_np(audio, n_fft, hop_size))**2 * weights,
                    axis=-1)

  loudness = core.power_to_db(power, ref_db=ref_db, range_db=range_db,
                              use_tf=use_tf)
  return loudness[0] if is_1d else loudness


def pad_or_trim_to_expected_length(vector: Array, expected_len: int,
                                   pad_value: float = 0,
                                   len_tolerance: int = 20,
                                   use_tf: bool = False) -> Array:
  """Pads the end of the last axis with `pad_value`, or trims it, to a length.

  Meant for feature tracks that come out a few frames longer or shorter than
  expected; a larger mismatch is an error rather than silently fixed.

  Args:
    vector: `[n]` or `[batch, n]` (any rank >= 1; the last axis is used).
    expected_len: Desired length of the last axis.
    pad_value: Value appended when the vector is too short.
    len_tolerance: Largest allowed |n - expected_len|.
    use_tf: Use TensorFlow (True) or numpy (False).

  Returns:
    `vector` with last axis of length expected_len.

  Raises:
    ValueError: If the length differs from expected_len by more than
      len_tolerance, or the arguments are invalid.
  """
  expected_len = validation.check_int('expected_len', expected_len, minimum=0)
  len_tolerance = validation.check_int(
      'len_tolerance', len_tolerance, minimum=0)
  vector = tf.convert_to_tensor(vector) if use_tf else np.asarray(vector)
  rank = vector.shape.rank if use_tf else vector.ndim
  if rank == 0:
    raise ValueError(f'vector must have rank >= 1, got shape '
                     f'{list(vector.shape)}.')
  vector_len = vector.shape[-1]
  if vector_len is None:  # Dynamic length inside a tf.function.
    vector_len = tf.shape(vector)[-1]
    tf.debugging.assert_less_equal(
        tf.abs(vector_len - expected_len), len_tolerance,
        message=f'Vector length differs from expected_len={expected_len} by '
                f'more than len_tolerance={len_tolerance}.')
    n_padding = tf.maximum(expected_len - vector_len, 0)
    vector = core.pad_axis(vector, (0, n_padding), axis=-1,
                           constant_values=tf.cast(pad_value, vector.dtype))
    return vector[..., :expected_len]

  if abs(vector_len - expected_len) > len_tolerance:
    raise ValueError(
        f'Vector length {vector_len} differs from expected_len={expected_len} '
        f'by more than len_tolerance={len_tolerance}.')
  if vector_len < expected_len:
    widths = (0, expected_len - vector_len)
    if use_tf:
      return core.pad_axis(vector, widths, axis=-1,
                           constant_values=tf.cast(pad_value, vector.dtype))
    return np.pad(vector, [(0, 0)] * (vector.ndim - 1) + [widths],
                  constant_values=pad_value)
  return vector[..., :expected_len]
