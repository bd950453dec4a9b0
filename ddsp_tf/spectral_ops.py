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
"""

import functools
from typing import Any, Tuple, Union

import gin
import keras
import numpy as np
import scipy.signal
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import crepe
from ddsp_tf import validation

Array = Union[np.ndarray, tf.Tensor]

CREPE_SAMPLE_RATE = 16000
CREPE_FRAME_SIZE = 1024
F0_RANGE = 127.0  # MIDI.
DB_RANGE = core.DB_RANGE  # dB (80.0).

_PADDINGS = ('valid', 'same', 'center')
# Pole frequencies (Hz) of the A-weighting filter, IEC 61672-1 Annex E.
_A_WEIGHTING_POLES_HZ = (20.598997, 107.65265, 737.86223, 12194.217)


# ----------------------------------------------------------------------------
# Private helpers.
# ----------------------------------------------------------------------------
def _enclosing_power_of_two(n: int) -> int:
  """The smallest power of two >= n (n >= 1)."""
  return 1 << (int(n) - 1).bit_length()


def _hop_size(sample_rate: float, frame_rate: float) -> int:
  """Samples per frame, sample_rate / frame_rate, which must be a whole number.

  Args:
    sample_rate: Audio samples per second.
    frame_rate: Feature frames per second.

  Returns:
    The hop size in samples.

  Raises:
    ValueError: If either rate is not positive, or frame_rate does not divide
      sample_rate (the hop would not be a whole number of samples).
  """
  validation.check_positive('sample_rate', sample_rate)
  validation.check_positive('frame_rate', frame_rate)
  ratio = float(sample_rate) / float(frame_rate)
  hop = int(round(ratio))
  if hop < 1 or abs(ratio - hop) > 1e-9 * ratio:
    raise ValueError(
        f'frame_rate must divide sample_rate so that the hop is a whole number '
        f'of samples, got sample_rate={sample_rate!r}, frame_rate='
        f'{frame_rate!r} (sample_rate / frame_rate = {ratio:g}).')
  return hop


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


def _audio_tf(audio: Array, name: str = 'audio') -> Tuple[tf.Tensor, bool]:
  """Float32 audio as `[batch, n_samples]` plus whether the input was 1-D.

  Accepts `[n_samples]`, `[batch, n_samples]` and `[batch, n_samples, 1]`.
  """
  audio = core.tf_float32(audio)
  validation.check_rank(
      name, audio, (1, 2, 3),
      '[n_samples], [batch, n_samples] or [batch, n_samples, 1]')
  if audio.shape.rank == 3:
    if audio.shape[-1] != 1:
      raise ValueError(f'3-D {name} must have one trailing channel, got shape '
                       f'{audio.shape.as_list()}.')
    audio = audio[..., 0]
  is_1d = audio.shape.rank == 1
  return (audio[tf.newaxis, :] if is_1d else audio), is_1d


def _audio_np(audio: Array, name: str = 'audio') -> Tuple[np.ndarray, bool]:
  """numpy float64 twin of `_audio_tf`."""
  audio = np.asarray(audio, dtype=np.float64)
  if audio.ndim not in (1, 2, 3) or (audio.ndim == 3 and audio.shape[-1] != 1):
    raise ValueError(
        f'{name} must have shape [n_samples], [batch, n_samples] or '
        f'[batch, n_samples, 1], got shape {list(audio.shape)}.')
  if audio.ndim == 3:
    audio = audio[..., 0]
  is_1d = audio.ndim == 1
  return (audio[np.newaxis, :] if is_1d else audio), is_1d


def _check_framing(frame_size: int, hop_size: int,
                   padding: str) -> Tuple[int, int]:
  """Validates the framing arguments shared by `pad` and friends."""
  validation.check_choice('padding', padding, _PADDINGS)
  frame_size = validation.check_int('frame_size', frame_size)
  hop_size = validation.check_int('hop_size', hop_size)
  if hop_size > frame_size:
    raise ValueError(
        f'hop_size must not exceed frame_size (samples between frames would '
        f'be skipped), got hop_size={hop_size}, frame_size={frame_size}.')
  return frame_size, hop_size


def _padding_amounts(n_samples: int, frame_size: int, hop_size: int,
                     padding: str) -> Tuple[int, int]:
  """Zeros to add (before, after) a signal of known length."""
  if padding == 'center':
    return frame_size // 2, frame_size - frame_size // 2
  _, padded_length = get_framed_lengths(n_samples, frame_size, hop_size,
                                        padding)
  return 0, padded_length - n_samples


def _pad_np(audio: np.ndarray, frame_size: int, hop_size: int,
            padding: str) -> np.ndarray:
  """numpy version of `pad` with zeros along the last axis."""
  frame_size, hop_size = _check_framing(frame_size, hop_size, padding)
  before, after = _padding_amounts(audio.shape[-1], frame_size, hop_size,
                                   padding)
  widths = [(0, 0)] * (audio.ndim - 1) + [(before, after)]
  return np.pad(audio, widths)


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


def _loudness_weights(sample_rate: float, frame_size: int) -> np.ndarray:
  """Per-bin factors that turn |STFT|^2 into A-weighted mean-square power.

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

  Returns:
    float64 `[fft_length // 2 + 1]` factors.
  """
  fft_length = _enclosing_power_of_two(frame_size)
  n_bins = fft_length // 2 + 1
  frequencies = np.arange(n_bins) * (float(sample_rate) / fft_length)
  a_weighting = 10.0**(_a_weighting_db(frequencies) / 10.0)
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
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    size: Frame size in samples.
    overlap: Fraction of a frame shared with the next one, in [0, 1).
    pad_end: Pad zeros at the end ('same' framing).

  Returns:
    float32 `[batch, n_frames, fft_length // 2 + 1]` (no batch axis for 1-D
    audio).
  """
  return core.safe_log(compute_mag(audio, size, overlap, pad_end))


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
# Framing.
# ----------------------------------------------------------------------------
def get_framed_lengths(input_length: int, frame_size: int, hop_size: int,
                       padding: str = 'center') -> Tuple[int, int]:
  """Number of frames and padded signal length for a framing mode.

  * 'valid': no padding; floor((L - frame_size) / hop) + 1 frames (0 when the
    signal is shorter than one frame; the original returned a negative count).
  * 'center': L + frame_size samples after padding, so L // hop + 1 frames.
  * 'same': ceil(L / hop) frames; (n_frames - 1) * hop + frame_size samples.

  Args:
    input_length: Number of samples L before padding.
    frame_size: Samples per frame.
    hop_size: Samples between the starts of consecutive frames.
    padding: 'valid', 'same' or 'center'.

  Returns:
    (n_frames, padded_length), both Python ints.
  """
  validation.check_choice('padding', padding, _PADDINGS)
  input_length = validation.check_int('input_length', input_length, minimum=0)
  frame_size = validation.check_int('frame_size', frame_size)
  hop_size = validation.check_int('hop_size', hop_size)

  def frames_in(length):
    return max(0, (length - frame_size) // hop_size + 1)

  if padding == 'valid':
    return frames_in(input_length), input_length
  if padding == 'center':
    padded_length = input_length + frame_size
    return frames_in(padded_length), padded_length
  n_frames = -(-input_length // hop_size)  # ceil
  return n_frames, (n_frames - 1) * hop_size + frame_size


def pad(x: Array, frame_size: int, hop_size: int, padding: str = 'center',
        axis: int = 1, mode: str = 'CONSTANT',
        constant_values: float = 0) -> tf.Tensor:
  """Pads one axis of `x` for framing, as described in `get_framed_lengths`.

  'center' puts frame_size // 2 values before and the rest after (the
  original put frame_size // 2 on both sides, one short for odd frame sizes).
  'same' pads the end; it works with an unknown (dynamic) length too.

  Args:
    x: Tensor or array; converted to float32.
    frame_size: Samples per frame.
    hop_size: Samples between frames; must not exceed frame_size.
    padding: 'valid' (no-op), 'same' or 'center'.
    axis: The axis to pad (1 for `[batch, n_samples]`; -1 works for any rank).
    mode: tf.pad mode: 'CONSTANT', 'REFLECT' or 'SYMMETRIC'.
    constant_values: Value used by 'CONSTANT' mode.

  Returns:
    float32 `x` padded along `axis`.

  Raises:
    ValueError: For an unknown padding, non-positive sizes, or
      hop_size > frame_size.
  """
  frame_size, hop_size = _check_framing(frame_size, hop_size, padding)
  x = core.tf_float32(x)
  if padding == 'valid':
    return x
  rank = x.shape.rank
  if rank is not None and not -rank <= axis < rank:
    raise ValueError(f'axis={axis} is out of range for x of shape '
                     f'{x.shape.as_list()}.')
  n_samples = x.shape[axis]
  if padding == 'same' and n_samples is None:
    n_samples = tf.shape(x)[axis]
    n_frames = (n_samples + hop_size - 1) // hop_size
    paddings = (0, (n_frames - 1) * hop_size + frame_size - n_samples)
  else:
    paddings = _padding_amounts(n_samples, frame_size, hop_size, padding)
  return core.pad_axis(x, paddings, axis=axis, mode=mode,
                       constant_values=constant_values)


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
                     padding: str = 'center') -> Array:
  """A-weighted loudness per frame in dB.

  The audio is padded, cut into Hann-windowed frames of n_fft samples every
  sample_rate // frame_rate samples, and each frame's power spectrum |S|^2 is
  multiplied by the A-weighting curve (as a linear power gain) and averaged
  over frequency. Unlike the original, the spectrum is normalised (see
  `_loudness_weights`) so that without weighting the average is the frame's
  window-weighted mean square. The result is therefore an interpretable level:
  a 1 kHz sine of amplitude A (where the A-weighting is 0 dB) gives
  20 log10(A / sqrt(2)) dB, e.g. -3.0 dB at full scale, and a sine at f
  gives that plus A(f). The original's unnormalised STFT put a full-scale
  1 kHz sine at about +20 dB for n_fft=512, with an offset that changed with
  n_fft.

  Args:
    audio: `[batch, n_samples]`, `[n_samples]` or `[batch, n_samples, 1]`.
    sample_rate: Audio sample rate in Hz.
    frame_rate: Frames per second; must divide sample_rate.
    n_fft: Frame (window) size in samples; must be at least the hop.
    range_db: Dynamic range; the output is at least -range_db (silence).
    ref_db: dB subtracted from the result.
    use_tf: Compute with TensorFlow (True, differentiable) or numpy (False).
    padding: 'center', 'same' or 'valid' (see `get_framed_lengths`).

  Returns:
    Loudness in dB, float32 `[batch, n_frames]` or `[n_frames]` for 1-D
    audio; a tf.Tensor if use_tf else a numpy array.
  """
  hop_size = _hop_size(sample_rate, frame_rate)
  n_fft, hop_size = _check_framing(n_fft, hop_size, padding)
  weights = _loudness_weights(sample_rate, n_fft)

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


# ----------------------------------------------------------------------------
# Pitch (CREPE).
# ----------------------------------------------------------------------------
_CREPE_BATCH_FRAMES = 512  # Frames per network call; bounds memory.


def _crepe_hop_size(frame_rate: float) -> int:
  """CREPE hop at 16 kHz for a frame rate; it must be a whole sample count."""
  return _hop_size(CREPE_SAMPLE_RATE, frame_rate)


def _resample_np(audio: np.ndarray, sample_rate: int,
                 target_rate: int) -> np.ndarray:
  """Band-limited polyphase resampling of [..., n_samples] audio."""
  if sample_rate == target_rate:
    return audio
  ratio = np.gcd(int(sample_rate), int(target_rate))
  return scipy.signal.resample_poly(audio, target_rate // ratio,
                                    sample_rate // ratio, axis=-1)


@functools.lru_cache(maxsize=None)
def _crepe_network(model_capacity_or_path: str):
  """A compiled graph of a CREPE model over any number of raw frames."""
  model = crepe.get_model(model_capacity_or_path)

  @tf.function(input_signature=[tf.TensorSpec([None, CREPE_FRAME_SIZE],
                                              tf.float32)])
  def activations(frames):
    return model(crepe.normalize_frames(frames), training=False)

  return activations


def _crepe_activations(audio_16k: np.ndarray, hop_size: int, padding: str,
                       model_capacity_or_path: str) -> np.ndarray:
  """CREPE activations of [batch, n_samples] 16 kHz audio.

  Frames are views into the padded audio, sent to the network a bounded
  number at a time, so memory does not grow with the frames' overlap.

  Returns:
    [batch, n_frames, 360] float32.
  """
  network = _crepe_network(model_capacity_or_path)
  padded = _pad_np(audio_16k, CREPE_FRAME_SIZE, hop_size, padding)
  frames = np.lib.stride_tricks.sliding_window_view(
      padded, CREPE_FRAME_SIZE, axis=-1)[:, ::hop_size, :]
  batch, n_frames = frames.shape[:2]
  flat = frames.reshape(batch * n_frames, CREPE_FRAME_SIZE) if n_frames else (
      np.zeros([0, CREPE_FRAME_SIZE]))
  outputs = [network(tf.constant(flat[start:start + _CREPE_BATCH_FRAMES],
                                 tf.float32)).numpy()
             for start in range(0, flat.shape[0], _CREPE_BATCH_FRAMES)]
  activations = (np.concatenate(outputs) if outputs else
                 np.zeros([0, crepe.N_BINS], np.float32))
  return activations.reshape(batch, n_frames, crepe.N_BINS)


def reset_crepe() -> None:
  """Forgets the loaded CREPE models, freeing their memory."""
  _crepe_network.cache_clear()
  crepe.get_model.cache_clear()


def compute_f0(audio: Array, frame_rate: float, viterbi: bool = True,
               padding: str = 'center', sample_rate: int = CREPE_SAMPLE_RATE,
               model_capacity: str = 'full') -> Tuple[np.ndarray, np.ndarray]:
  """Fundamental frequency and confidence with CREPE.

  Audio at any sample rate is resampled to 16 kHz. Frames are 1024 samples
  with a hop of 16000 / frame_rate, padded like compute_loudness, so with
  'center' or 'same' padding the two give the same number of frames for the
  same frame rate ('valid' frame counts depend on the frame size, 1024 here).

  Args:
    audio: [n_samples] or [batch, n_samples] audio.
    frame_rate: Frames per second; 16000 / frame_rate must be a whole number.
    viterbi: Smooth the pitch track with CREPE's HMM (Viterbi decoding)
      instead of taking each frame's peak.
    padding: 'center', 'same' or 'valid'.
    sample_rate: Sample rate of `audio`.
    model_capacity: 'tiny', 'small', 'medium', 'large', 'full', or the path
      of a CREPE weight file.

  Returns:
    (f0_hz, f0_confidence) float32 numpy arrays, [n_frames] or
    [batch, n_frames]. Confidence is the peak activation, in [0, 1].

  Raises:
    ValueError: For empty audio, audio shorter than one CREPE frame
      (1024 samples at 16 kHz), a bad rank or a bad frame rate.
    FileNotFoundError: If the CREPE weights are not installed.
  """
  validation.check_positive('sample_rate', sample_rate)
  validation.check_choice('padding', padding, _PADDINGS)
  hop_size = _crepe_hop_size(frame_rate)
  audio, is_1d = _audio_np(audio)
  if audio.shape[-1] == 0:
    raise ValueError('compute_f0 got empty audio (0 samples).')
  audio_16k = _resample_np(audio, sample_rate, CREPE_SAMPLE_RATE)
  if audio_16k.shape[-1] < CREPE_FRAME_SIZE:
    raise ValueError(
        f'compute_f0 needs at least one CREPE frame ({CREPE_FRAME_SIZE} '
        f'samples at 16 kHz, {CREPE_FRAME_SIZE / CREPE_SAMPLE_RATE:.3f} s); '
        f'got {audio.shape[-1]} samples at {sample_rate} Hz.')
  if not np.all(np.isfinite(audio_16k)):
    raise ValueError('compute_f0 got audio with NaN or Inf samples.')
  activations = _crepe_activations(audio_16k, hop_size, padding,
                                   model_capacity)
  centers = crepe.viterbi_path(activations) if viterbi else None
  f0_hz, confidence = crepe.activations_to_f0_and_confidence(activations,
                                                             centers)
  f0_hz, confidence = f0_hz.numpy(), confidence.numpy()
  return (f0_hz[0], confidence[0]) if is_1d else (f0_hz, confidence)


@keras.saving.register_keras_serializable(package='ddsp_tf')
class PretrainedCREPE(keras.Model):
  """CREPE inside the graph: audio -> activations, f0 and confidence.

  Unlike compute_f0 (numpy in, numpy out, batched for long files), this
  model runs in tf.function for losses and metrics.
  """

  def __init__(self, model_size_or_path: str = 'full', hop_size: int = 160,
               **kwargs):
    """Loads the network.

    Args:
      model_size_or_path: A CREPE capacity or the path of a weight file.
      hop_size: Samples between frames at 16 kHz.
      **kwargs: Keras model arguments.
    """
    super().__init__(**kwargs)
    self.model_size_or_path = model_size_or_path
    self.hop_size = validation.check_int('hop_size', hop_size)
    self.frame_size = CREPE_FRAME_SIZE
    self.sample_rate = CREPE_SAMPLE_RATE
    self.network = crepe.get_model(model_size_or_path)

  activations_to_f0_and_confidence = staticmethod(
      crepe.activations_to_f0_and_confidence)
  normalize_frames = staticmethod(crepe.normalize_frames)
  create_hmm = staticmethod(crepe.create_hmm)
  viterbi_decode = staticmethod(crepe.viterbi_path)

  def batch_frames(self, audio: Array, padding: str = 'center') -> tf.Tensor:
    """Frames of [batch, n_samples] 16 kHz audio, [batch, n_frames, 1024]."""
    audio, _ = _audio_tf(audio)
    padded = pad(audio, self.frame_size, self.hop_size, padding=padding)
    return tf.signal.frame(padded, self.frame_size, self.hop_size)

  def call(self, audio: Array, padding: str = 'center') -> tf.Tensor:
    """CREPE activations of 16 kHz audio, [batch, n_frames, 360]."""
    frames = self.batch_frames(audio, padding=padding)
    shape = tf.shape(frames)
    flat = tf.reshape(frames, [-1, self.frame_size])
    activations = self.network(self.normalize_frames(flat), training=False)
    return tf.reshape(activations, [shape[0], shape[1], crepe.N_BINS])

  def predict_f0_and_confidence(self, audio: Array, viterbi: bool = False,
                                padding: str = 'center'
                                ) -> Tuple[tf.Tensor, tf.Tensor]:
    """f0 and confidence of 16 kHz audio, each [batch, n_frames]."""
    activations = self(audio, padding=padding)
    centers = self.viterbi_decode(activations) if viterbi else None
    return self.activations_to_f0_and_confidence(activations, centers)

  def get_config(self):
    config = super().get_config()
    config.update(model_size_or_path=self.model_size_or_path,
                  hop_size=self.hop_size)
    return config
