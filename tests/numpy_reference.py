"""Small float64 numpy references shared by the test modules."""

import numpy as np


def f32(x) -> np.ndarray:
  """x as a float32 array (what the library receives)."""
  return np.asarray(x, dtype=np.float32)


def f64(x) -> np.ndarray:
  """The exact float64 value of what TF sees for float32 inputs."""
  return np.asarray(x, dtype=np.float32).astype(np.float64)


def sigmoid(x) -> np.ndarray:
  """The logistic function in float64."""
  return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def sine_fit(audio, freq_hz: float, sample_rate: int = 16000):
  """Least-squares fit of a*sin + b*cos at freq_hz.

  Returns:
    (amplitude, rms of the residual relative to the rms of audio).
  """
  audio = np.asarray(audio, np.float64)
  t = np.arange(audio.size) / sample_rate
  basis = np.stack([np.sin(2 * np.pi * freq_hz * t),
                    np.cos(2 * np.pi * freq_hz * t)], axis=1)
  coef, *_ = np.linalg.lstsq(basis, audio, rcond=None)
  residual = audio - basis @ coef
  return (float(np.hypot(*coef)),
          float(np.sqrt(np.mean(residual**2) / np.mean(audio**2))))


def hann_centered(size: int) -> np.ndarray:
  """A Hann window of `size` taps, peak 1 at tap size // 2 (periodic form)."""
  offsets = np.arange(size) - size // 2
  return 0.5 + 0.5 * np.cos(2 * np.pi * offsets / size)


def ref_frequency_ir(magnitudes, window_size: int = 0) -> np.ndarray:
  """Linear-phase FIR of real magnitudes [..., n_bins]: the zero-phase irfft,
  centred at W // 2 and Hann-tapered. A window shorter than the irfft and
  even loses one tap (the original's rule: shorter filters are odd, hence
  symmetric)."""
  ir = np.fft.irfft(np.asarray(magnitudes, np.float64), axis=-1)
  size = ir.shape[-1]
  if window_size <= 0 or window_size > size:
    window_size = size
  elif window_size < size and window_size % 2 == 0:
    window_size -= 1
  ir = np.roll(ir, window_size // 2, axis=-1)[..., :window_size]
  return ir * hann_centered(window_size)
