"""Sine-wave helpers for tests, at magenta/ddsp's `ddsp.test_util` path.

The original's own test suite builds its test audio with these two functions,
so they keep its conventions: the time axis is `np.linspace(0, seconds,
n_samples)`, which includes both end points (its spacing is seconds /
(n_samples - 1), slightly more than one sample period).
"""

import numpy as np


def _check_sizes(sample_rate: float, audio_len_sec: float) -> int:
  """The number of samples, or a ValueError naming the bad argument."""
  if not np.isfinite(sample_rate) or sample_rate <= 0:
    raise ValueError(f'sample_rate must be a positive number of samples per '
                     f'second, got {sample_rate!r}.')
  if not np.isfinite(audio_len_sec) or audio_len_sec < 0:
    raise ValueError(f'audio_len_sec must be a duration >= 0 in seconds, got '
                     f'{audio_len_sec!r}.')
  return int(audio_len_sec * sample_rate)


def gen_np_sinusoid(frequency: float, amp: float, sample_rate: float,
                    audio_len_sec: float) -> np.ndarray:
  """A sine wave, amp * sin(2 pi frequency t).

  Args:
    frequency: Frequency in Hz.
    amp: Peak amplitude.
    sample_rate: Samples per second.
    audio_len_sec: Duration in seconds; int(audio_len_sec * sample_rate)
      samples are made, at times evenly spaced from 0 to audio_len_sec
      inclusive (the original's time axis).

  Returns:
    float64 `[n_samples]`.

  Raises:
    ValueError: If sample_rate or audio_len_sec is not a valid size.
  """
  n_samples = _check_sizes(sample_rate, audio_len_sec)
  times = np.linspace(0.0, audio_len_sec, n_samples)
  return amp * np.sin(2.0 * np.pi * frequency * times)


def gen_np_batched_sinusoids(frequency: float, amp: float, sample_rate: float,
                             audio_len_sec: float,
                             batch_size: int) -> np.ndarray:
  """`batch_size` copies of `gen_np_sinusoid(...)`.

  Args:
    frequency: Frequency in Hz.
    amp: Peak amplitude.
    sample_rate: Samples per second.
    audio_len_sec: Duration in seconds.
    batch_size: Number of rows.

  Returns:
    float64 `[batch_size, n_samples]`.

  Raises:
    ValueError: If batch_size is not a positive integer, or the sizes are
      invalid.
  """
  if isinstance(batch_size, bool) or not isinstance(
      batch_size, (int, np.integer)) or batch_size < 1:
    raise ValueError(f'batch_size must be an integer >= 1, got '
                     f'{batch_size!r}.')
  row = gen_np_sinusoid(frequency, amp, sample_rate, audio_len_sec)
  return np.tile(row, (int(batch_size), 1))
