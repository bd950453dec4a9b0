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
