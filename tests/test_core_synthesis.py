"""Tests for the oscillators, wavetables, delays and filters of ddsp_tf.core.

Every expected value comes from an independent source: analytic formulas, a
float64 numpy re-derivation of the documented semantics, or scipy
(fftconvolve, freqz, next_fast_len). Conventions checked here (from the
core.py docstrings):
  * oscillators use an inclusive phase cumsum: sample n (0-based) of a constant
    f oscillator is sin(2 pi f (n + 1) / sr); wavetable_synthesis uses an
    exclusive one (sample 0 reads phase 0);
  * frame-rate controls are upsampled with add_endpoint=True: output sample n
    sits at frame position n * n_frames / n_samples and the last frame is held;
  * filters are centred at ir_size // 2 and fft_convolve drops ir_size // 2
    samples by default.
"""

import functools

import numpy as np
import pytest
import scipy.fft
import scipy.signal
import tensorflow as tf

from numpy_reference import f32, f64, hann_centered, ref_frequency_ir
from ddsp_tf import core

# Most tests below check ddsp_tf's accurate synthesis options against float64
# references: the precise phase sum (precise_phase=True), the exact chunked
# angular_cumsum (exact=True) and the crossfade path with its Nyquist handling
# (crossfade_amplitudes=True). The defaults reproduce magenta/ddsp's float32
# arithmetic; tests/test_golden.py checks them against the original's outputs.
precise_oscillator_bank = functools.partial(core.oscillator_bank,
                                            precise_phase=True)
precise_harmonic_oscillator_bank = functools.partial(
    core.harmonic_oscillator_bank, precise_phase=True,
    silence_above_nyquist=True)
precise_harmonic_synthesis = functools.partial(
    core.harmonic_synthesis, precise_phase=True, crossfade_amplitudes=True)
precise_streaming_harmonic_synthesis = functools.partial(
    core.streaming_harmonic_synthesis, precise_phase=True,
    crossfade_amplitudes=True)
exact_angular_cumsum = functools.partial(core.angular_cumsum, exact=True)
precise_wavetable_synthesis = functools.partial(core.wavetable_synthesis,
                                                precise_phase=True)
exact_variable_length_delay = functools.partial(core.variable_length_delay,
                                                exact_delay=True)
# The filter tests check ddsp_tf's centred convention (centered=True): FIR
# filters centred at ir_size // 2 whose delay fft_convolve removes exactly.
centered_crop_and_compensate_delay = functools.partial(core.crop_and_compensate_delay, centered=True)
centered_fft_convolve = functools.partial(core.fft_convolve, centered=True)
centered_apply_window_to_impulse_response = functools.partial(core.apply_window_to_impulse_response, centered=True)
centered_frequency_impulse_response = functools.partial(core.frequency_impulse_response, centered=True)
centered_frequency_filter = functools.partial(core.frequency_filter, centered=True)
centered_sinc_filter = functools.partial(core.sinc_filter, centered=True)

SR = 16000
TWO_PI = 2.0 * np.pi


# ----------------------------------------------------------------------------
# Independent numpy references.
# ----------------------------------------------------------------------------


def wrap(x):
  """Wraps angles to (-pi, pi]."""
  return np.angle(np.exp(1j * np.asarray(x, np.float64)))


def keys_kernel(x, a=-0.75):
  """Keys cubic convolution kernel."""
  x = np.abs(x)
  near = (a + 2.0) * x**3 - (a + 3.0) * x**2 + 1.0
  far = a * x**3 - 5.0 * a * x**2 + 8.0 * a * x - 4.0 * a
  return np.where(x <= 1.0, near, np.where(x < 2.0, far, 0.0))


def ref_upsample(frames, n_samples, method):
  """Upsamples [n_frames, channels] to [n_samples, channels] in float64.

  Output sample n sits at frame position n * n_frames / n_samples (the
  add_endpoint convention); indices past either end are clamped.
  """
  frames = np.asarray(frames, np.float64)
  n_frames, channels = frames.shape
  pos = np.arange(n_samples) * n_frames / n_samples
  if method == 'nearest':
    return frames[np.floor(pos).astype(int)]
  if method == 'linear':
    return np.stack([np.interp(pos, np.arange(n_frames), frames[:, c])
                     for c in range(channels)], axis=-1)
  if method == 'cubic':
    base = np.floor(pos).astype(int)
    # TensorFlow's bicubic image kernel (the original's 'cubic' resampling)
    # reads its weights from a table of 1024 fractional offsets.
    frac = np.round((pos - base) * 1024.0) / 1024.0
    out = np.zeros((n_samples, channels))
    for tap in (-1, 0, 1, 2):
      idx = base + tap
      out += (frames[np.clip(idx, 0, n_frames - 1)] *
              keys_kernel(frac - tap)[:, None])
    return out
  if method == 'window':
    # Overlap-add of periodic Hann windows twice the hop long, frame i centred
    # on sample i * hop, the last frame repeated once.
    hop = n_samples // n_frames
    assert hop * n_frames == n_samples
    window = scipy.signal.get_window('hann', 2 * hop)[:, None]
    extended = np.concatenate([frames, frames[-1:]], axis=0)
    buf = np.zeros(((n_frames + 2) * hop, channels))
    for i, frame in enumerate(extended):
      buf[i * hop:(i + 2) * hop] += window * frame
    return buf[hop:hop + n_samples]
  raise AssertionError(method)


def ref_oscillator_bank(freqs, amps, sample_rate=SR, sum_sinusoids=True,
                        initial_phase=0.0):
  """[n_samples, k] float64 sinusoids with an inclusive phase cumsum."""
  freqs, amps = np.asarray(freqs, np.float64), np.asarray(amps, np.float64)
  amps = np.where(freqs >= sample_rate / 2.0, 0.0, amps)
  phase = TWO_PI * np.cumsum(freqs / sample_rate, axis=0) + initial_phase
  audio = amps * np.sin(phase)
  return audio.sum(-1) if sum_sinusoids else audio


def ref_harmonic_synthesis(f0, amp, dist=None, shifts=None, n_samples=16000,
                           sample_rate=SR, method='window'):
  """Single-example reference: f0/amp [n_frames], dist/shifts [n_frames, H]."""
  f0, amp = f64(f0).reshape(-1, 1), f64(amp).reshape(-1, 1)
  if dist is not None:
    n_harmonics = np.shape(dist)[-1]
  elif shifts is not None:
    n_harmonics = np.shape(shifts)[-1]
  else:
    n_harmonics = 1
  k = np.arange(1, n_harmonics + 1)
  freqs = f0 * k * (1.0 + (0.0 if shifts is None else f64(shifts)))
  amps = amp * (np.ones(n_harmonics) if dist is None else f64(dist))
  return ref_oscillator_bank(ref_upsample(freqs, n_samples, 'linear'),
                             ref_upsample(amps, n_samples, method),
                             sample_rate)


def ref_full_convolution_ltv(audio, irs):
  """Block convolution + overlap-add: audio [n], irs [n_frames, L] -> full."""
  audio, irs = np.asarray(audio, np.float64), np.asarray(irs, np.float64)
  n_frames, ir_size = irs.shape
  hop = int(np.ceil(len(audio) / n_frames))
  out = np.zeros(n_frames * hop + ir_size - 1)
  for i in range(n_frames):
    block = audio[i * hop:(i + 1) * hop]
    out[i * hop:i * hop + len(block) + ir_size - 1] += np.convolve(block,
                                                                   irs[i])
  return out[:len(audio) + ir_size - 1]


def ref_fractional_delay(audio, delay):
  """y[n] = x(n - delay[n]) by linear interpolation, x = 0 before sample 0."""
  audio, delay = np.asarray(audio, np.float64), np.asarray(delay, np.float64)
  pad = int(np.ceil(delay.max())) + 2
  positions = np.arange(-pad, len(audio))
  values = np.concatenate([np.zeros(pad), audio])
  return np.interp(np.arange(len(audio)) - delay, positions, values)


def fit_harmonic_phases(audio, phase, n_harmonics):
  """Least squares audio ~ sum_k A_k sin(k phase + d_k); returns (A, d)."""
  basis = []
  for k in range(1, n_harmonics + 1):
    basis += [np.sin(k * phase), np.cos(k * phase)]
  coef = np.linalg.lstsq(np.stack(basis, axis=1), audio, rcond=None)[0]
  c, s = coef[0::2], coef[1::2]
  return np.hypot(c, s), np.arctan2(s, c)


# ----------------------------------------------------------------------------
# oscillator_bank.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('sample_rate', [16000, 44100])
def test_oscillator_bank_matches_float64_sines(sample_rate):
  rng = np.random.default_rng(0)
  n, k = 8000, 3
  t = np.arange(n) / n
  # Time-varying chirps and random amplitude envelopes, all below Nyquist.
  freqs = f32(np.stack([100 + 900 * t, 2000 - 1500 * t**2,
                        5000 + 300 * np.sin(TWO_PI * 3 * t)], axis=-1))
  amps = f32(rng.uniform(0.1, 1.0, (n, k)))
  got = precise_oscillator_bank(freqs[None], amps[None],
                             sample_rate=sample_rate).numpy()[0]
  want = ref_oscillator_bank(f64(freqs), f64(amps), sample_rate)
  # Measured 8e-7: float32 rounding of the wrapped phase and of sin.
  np.testing.assert_allclose(got, want, atol=5e-6)
  # Inclusive cumsum: the very first sample already has one increment.
  np.testing.assert_allclose(got[0], np.sum(f64(amps[0]) * np.sin(
      TWO_PI * f64(freqs[0]) / sample_rate)), atol=1e-6)


def test_oscillator_bank_constant_sine_first_samples_are_inclusive():
  freqs = np.full((1, 64, 1), 1000.0, np.float32)
  got = precise_oscillator_bank(freqs, np.ones_like(freqs)).numpy()[0]
  n = np.arange(64)
  np.testing.assert_allclose(got, np.sin(TWO_PI * 1000 * (n + 1) / SR),
                             atol=1e-6)


@pytest.mark.parametrize('sum_sinusoids', [True, False])
def test_oscillator_bank_shape(sum_sinusoids):
  freqs = np.full((2, 500, 4), 440.0, np.float32)
  out = precise_oscillator_bank(freqs, np.ones_like(freqs),
                             sum_sinusoids=sum_sinusoids)
  assert out.shape == ((2, 500) if sum_sinusoids else (2, 500, 4))
  sine = np.sin(TWO_PI * 440 * np.arange(1, 501) / SR)
  want = 4 * sine[None] if sum_sinusoids else sine[None, :, None]
  np.testing.assert_allclose(out.numpy(), np.broadcast_to(want, out.shape),
                             atol=1e-5)


@pytest.mark.parametrize('sample_rate', [8000, 16000, 22050, 44100, 48000])
def test_oscillator_bank_silent_at_and_above_nyquist(sample_rate):
  nyquist = sample_rate / 2.0
  audible = 0.3 * nyquist
  # At Nyquist, just above it, and at values that alias to audible tones.
  freqs_hz = [audible, nyquist, nyquist * 1.01, 0.7 * sample_rate,
              sample_rate + 100.0, 3.3 * sample_rate]
  n = 2000
  freqs = np.tile(f32(freqs_hz), (1, n, 1))
  out = precise_oscillator_bank(freqs, np.ones_like(freqs),
                             sample_rate=sample_rate,
                             sum_sinusoids=False).numpy()[0]
  np.testing.assert_array_equal(out[:, 1:], 0.0)
  np.testing.assert_allclose(
      out[:, 0], np.sin(TWO_PI * f64(audible) * np.arange(1, n + 1) /
                        sample_rate), atol=2e-5)
  summed = precise_oscillator_bank(freqs, np.ones_like(freqs),
                                sample_rate=sample_rate).numpy()[0]
  np.testing.assert_allclose(summed, out[:, 0], atol=1e-6)


# ----------------------------------------------------------------------------
# harmonic_oscillator_bank and angular_cumsum.
# ----------------------------------------------------------------------------
def _bank_tolerances(use_angular_cumsum):
  """(audio atol, phase atol in rad) for a few thousand samples, 5 harmonics.

  float64 accumulation: only float32 rounding of the wrapped phase and sin.
  angular_cumsum: a float32 running sum over 1000-sample chunks of increments
  ~0.14 rad reaches ~140 rad, where half an ulp is 7.6e-6 rad per step; the
  measured fundamental error is ~1e-4 rad, times up to 5 for harmonic 5.
  """
  return (2e-3, 1e-3) if use_angular_cumsum else (5e-5, 1e-5)


@pytest.mark.parametrize('use_angular_cumsum', [True, False])
def test_harmonic_oscillator_bank_matches_numpy_with_initial_phase(
    use_angular_cumsum):
  rng = np.random.default_rng(1)
  n, n_harmonics = 4000, 5
  f0 = f32(200 + 150 * np.sin(TWO_PI * np.arange(n) / n))[None, :, None]
  amps = f32(rng.uniform(0, 1, (1, n, n_harmonics)))
  initial = np.float32(1.234)
  audio, final = precise_harmonic_oscillator_bank(
      f0, amps, initial_phase=np.full((1, 1, 1), initial),
      use_angular_cumsum=use_angular_cumsum)
  k = np.arange(1, n_harmonics + 1)
  phase = TWO_PI * np.cumsum(f64(f0[0, :, 0]) / SR) + f64(initial)
  want = np.sum(f64(amps[0]) * np.sin(phase[:, None] * k), axis=-1)
  atol, phase_tol = _bank_tolerances(use_angular_cumsum)
  np.testing.assert_allclose(audio.numpy()[0], want, atol=atol)
  assert final.shape == (1, 1, 1)
  assert 0.0 <= final.numpy()[0, 0, 0] < TWO_PI
  assert abs(wrap(final.numpy()[0, 0, 0] - phase[-1])) < phase_tol


@pytest.mark.parametrize('use_angular_cumsum', [True, False])
def test_harmonic_oscillator_bank_two_chunks_equal_one_render(
    use_angular_cumsum):
  rng = np.random.default_rng(2)
  n, n_harmonics, split = 6000, 4, 2500
  f0 = f32(300 + 200 * rng.uniform(0, 1) * np.sin(
      TWO_PI * 2 * np.arange(n) / n))[None, :, None]
  amps = f32(rng.uniform(0, 1, (1, n, n_harmonics)))
  whole, whole_final = precise_harmonic_oscillator_bank(
      f0, amps, use_angular_cumsum=use_angular_cumsum)
  first, phase = precise_harmonic_oscillator_bank(
      f0[:, :split], amps[:, :split], use_angular_cumsum=use_angular_cumsum)
  second, second_final = precise_harmonic_oscillator_bank(
      f0[:, split:], amps[:, split:], initial_phase=phase,
      use_angular_cumsum=use_angular_cumsum)
  chunked = np.concatenate([first.numpy(), second.numpy()], axis=1)[0]
  k = np.arange(1, n_harmonics + 1)
  ref_phase = TWO_PI * np.cumsum(f64(f0[0, :, 0]) / SR)
  want = np.sum(f64(amps[0]) * np.sin(ref_phase[:, None] * k), axis=-1)
  atol, phase_tol = _bank_tolerances(use_angular_cumsum)
  np.testing.assert_allclose(chunked, want, atol=atol)
  np.testing.assert_allclose(chunked, whole.numpy()[0], atol=atol)
  assert abs(wrap(second_final.numpy()[0, 0, 0] - ref_phase[-1])) < phase_tol
  assert abs(wrap(whole_final.numpy()[0, 0, 0] - ref_phase[-1])) < phase_tol


def test_angular_cumsum_short_signal_is_accurate():
  rng = np.random.default_rng(3)
  omega = f32(rng.uniform(0, np.pi, (2, 2500, 3)))
  got = exact_angular_cumsum(omega, chunk_size=100).numpy()
  want = np.cumsum(f64(omega), axis=1)
  assert np.all((got >= 0) & (got < TWO_PI + 1e-6))
  # Worst case of a float32 running sum of 100 terms <= pi (partial sums up
  # to ~160 rad, half an ulp 7.6e-6 rad per step: 7.6e-4) plus 25 rounded
  # chunk carries (~2e-4). Measured: 2.7e-4 rad.
  assert np.abs(wrap(got - want)).max() < 1.5e-3


# Measured (TF 2.21 CPU, chunk_size=1000) max wrapped error against the exact
# float64 cumsum of the same float32 increments: 1e4 samples 1.5e-3 rad,
# 1e5 samples 5.4e-3 rad, 1e6 samples 4.6e-2 rad (random 20-8000 Hz at 16 kHz);
# 1e6 samples of constant 440 Hz: 1.8e-2 rad.
@pytest.mark.parametrize('n_samples,bound', [(10_000, 4e-3), (100_000, 1.5e-2),
                                             (1_000_000, 0.12)])
def test_angular_cumsum_error_is_bounded(n_samples, bound):
  rng = np.random.default_rng(4)
  omega = f32(TWO_PI * rng.uniform(20, 8000, (1, n_samples, 1)) / SR)
  got = exact_angular_cumsum(omega).numpy()
  want = np.cumsum(f64(omega), axis=1)
  err = np.abs(wrap(got - want)).max()
  assert err < bound, err


def test_angular_cumsum_stays_within_long_render_bound():
  # 1e6 float32 increments of a constant 440 Hz (62.5 s): the float32-only
  # path must meet the same 1e-3 rad bound as the float64 oscillators. A
  # plain chunked float32 cumsum drifts to about 2e-2 rad here.
  omega = np.full((1, 1_000_000, 1), TWO_PI * 440.0 / SR, np.float32)
  got = exact_angular_cumsum(omega).numpy()[0, :, 0]
  want = np.cumsum(f64(omega[0, :, 0]))
  err = np.abs(wrap(got - want))
  assert err[:10_000].max() < 5e-5, err[:10_000].max()
  assert err.max() < 1e-3, err.max()


# ----------------------------------------------------------------------------
# harmonic_synthesis.
# ----------------------------------------------------------------------------
FRAME_COMBOS = [(1, 800), (10, 1600), (25, 4000), (250, 16000), (7, 1000),
                (33, 2000)]
METHODS = ['nearest', 'linear', 'cubic', 'window']


def _combos():
  for n_frames, n_samples in FRAME_COMBOS:
    for method in METHODS:
      if method == 'window' and n_samples % n_frames:
        continue  # Covered by the ValueError test.
      yield n_frames, n_samples, method


@pytest.mark.parametrize('n_frames,n_samples,method', list(_combos()))
def test_harmonic_synthesis_one_frequency(n_frames, n_samples, method):
  rng = np.random.default_rng(n_frames * 7 + n_samples)
  f0 = f32(rng.uniform(100, 2000, n_frames))
  amp = f32(rng.uniform(0.1, 1.0, n_frames))
  got = precise_harmonic_synthesis(f0[None, :, None], amp[None, :, None],
                                n_samples=n_samples,
                                amp_resample_method=method).numpy()
  assert got.shape == (1, n_samples)
  want = ref_harmonic_synthesis(f0, amp, n_samples=n_samples, method=method)
  np.testing.assert_allclose(got[0], want, atol=1e-4)


@pytest.mark.parametrize('n_frames,n_samples,method', list(_combos()))
def test_harmonic_synthesis_multiple_harmonics(n_frames, n_samples, method):
  rng = np.random.default_rng(n_frames * 11 + n_samples)
  n_harmonics = 8
  f0 = f32(rng.uniform(100, 900, (2, n_frames)))  # 8 * 900 < 8000 Hz.
  amp = f32(rng.uniform(0.1, 1.0, (2, n_frames)))
  dist = f32(rng.uniform(0.0, 1.0, (2, n_frames, n_harmonics)))
  got = precise_harmonic_synthesis(f0[..., None], amp[..., None],
                                harmonic_distribution=dist,
                                n_samples=n_samples,
                                amp_resample_method=method).numpy()
  assert got.shape == (2, n_samples)
  for b in range(2):
    want = ref_harmonic_synthesis(f0[b], amp[b], dist[b], n_samples=n_samples,
                                  method=method)
    np.testing.assert_allclose(got[b], want, atol=3e-4)


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('with_distribution', [True, False])
def test_harmonic_synthesis_with_shifts(method, with_distribution):
  rng = np.random.default_rng(5)
  n_frames, n_samples, n_harmonics = 20, 3200, 5
  f0 = f32(rng.uniform(100, 1000, n_frames))
  amp = f32(rng.uniform(0.1, 1.0, n_frames))
  shifts = f32(rng.uniform(-0.05, 0.05, (n_frames, n_harmonics)))
  dist = (f32(rng.uniform(0, 1, (n_frames, n_harmonics)))
          if with_distribution else None)
  got = precise_harmonic_synthesis(
      f0[None, :, None], amp[None, :, None], harmonic_shifts=shifts[None],
      harmonic_distribution=None if dist is None else dist[None],
      n_samples=n_samples, amp_resample_method=method).numpy()[0]
  want = ref_harmonic_synthesis(f0, amp, dist, shifts, n_samples=n_samples,
                                method=method)
  np.testing.assert_allclose(got, want, atol=3e-4)
  # The shifts matter: an unshifted render is far from the reference.
  unshifted = ref_harmonic_synthesis(f0, amp, dist, n_samples=n_samples,
                                     method=method)
  assert np.abs(unshifted - want).max() > 0.1


def _spectrum_magnitudes(audio):
  """Amplitude spectrum of a 1 s signal at 16 kHz (1 Hz bins, sines -> amp)."""
  assert len(audio) == SR
  return np.abs(np.fft.rfft(np.asarray(audio, np.float64))) * 2.0 / SR


@pytest.mark.parametrize('method,shifted', [('window', False),
                                            ('linear', False),
                                            ('cubic', False),
                                            ('window', True)])
def test_harmonic_synthesis_silent_above_nyquist(method, shifted):
  # f0 = 3000 Hz, 10 harmonics at 16 kHz: only 3000 and 6000 Hz are below
  # Nyquist. The other harmonics would alias onto 7000, 4000, 1000, 2000,
  # 5000, 0 and 3000 Hz (27 kHz aliases exactly onto the fundamental).
  n_frames, n_harmonics = 250, 10
  dist = np.arange(1, n_harmonics + 1, dtype=np.float32)[::-1] / 10.0
  f0 = np.full((1, n_frames, 1), 3000.0, np.float32)
  amp = np.full((1, n_frames, 1), 0.5, np.float32)
  shifts = (np.zeros((1, n_frames, n_harmonics), np.float32)
            if shifted else None)
  audio = precise_harmonic_synthesis(
      f0, amp, harmonic_shifts=shifts,
      harmonic_distribution=np.tile(dist, (1, n_frames, 1)), n_samples=SR,
      amp_resample_method=method).numpy()[0]
  spectrum = _spectrum_magnitudes(audio)
  np.testing.assert_allclose(spectrum[3000], 0.5 * dist[0], atol=1e-4)
  np.testing.assert_allclose(spectrum[6000], 0.5 * dist[1], atol=1e-4)
  rest = np.delete(spectrum, [3000, 6000])
  assert rest.max() < 1e-4, (np.argmax(rest), rest.max())


def test_streaming_harmonic_synthesis_removes_and_renormalizes_above_nyquist():
  n_frames, n_harmonics = 250, 10
  dist = np.arange(1, n_harmonics + 1, dtype=np.float32)[::-1]
  f0 = np.full((1, n_frames, 1), 3000.0, np.float32)
  amp = np.full((1, n_frames, 1), 0.8, np.float32)
  for n_samples, method in [(SR, 'linear'), (SR, 'cubic')]:
    audio, _ = precise_streaming_harmonic_synthesis(
        f0, amp, np.tile(dist, (1, n_frames, 1)), n_samples=n_samples,
        amp_resample_method=method)
    spectrum = _spectrum_magnitudes(audio.numpy()[0])
    # Only harmonics 1 and 2 survive; normalized to sum to one: 10/19, 9/19.
    np.testing.assert_allclose(spectrum[3000], 0.8 * 10 / 19, atol=1e-4)
    np.testing.assert_allclose(spectrum[6000], 0.8 * 9 / 19, atol=1e-4)
    assert np.delete(spectrum, [3000, 6000]).max() < 1e-4


def _ref_streaming(f0_chunks, amp_chunks, dist_chunks, n_samples_chunk,
                   method):
  """Each chunk upsampled on its own; the phase runs on across chunks."""
  freqs, amps = [], []
  for f0, amp, dist in zip(f0_chunks, amp_chunks, dist_chunks):
    k = np.arange(1, dist.shape[-1] + 1)
    dist = f64(dist) * (f64(f0)[:, None] * k < SR / 2)
    dist = dist / dist.sum(-1, keepdims=True)
    freqs.append(ref_upsample(f64(f0)[:, None] * k, n_samples_chunk,
                              'linear'))
    amps.append(ref_upsample(f64(amp)[:, None] * dist, n_samples_chunk,
                             method))
  return ref_oscillator_bank(np.concatenate(freqs), np.concatenate(amps))


@pytest.mark.parametrize('n_frames,n_samples,method', [(10, 640, 'linear'),
                                                       (10, 640, 'window'),
                                                       (7, 1000, 'linear'),
                                                       (8, 800, 'cubic')])
def test_streaming_harmonic_synthesis_chunks_are_continuous(n_frames,
                                                            n_samples, method):
  rng = np.random.default_rng(6)
  n_chunks, n_harmonics = 4, 6
  f0 = f32(rng.uniform(150, 600, (n_chunks, n_frames)))
  amp = f32(rng.uniform(0.2, 1.0, (n_chunks, n_frames)))
  dist = f32(rng.uniform(0.1, 1.0, (n_chunks, n_frames, n_harmonics)))
  phase = None
  outputs = []
  for c in range(n_chunks):
    audio, phase = precise_streaming_harmonic_synthesis(
        f0[c][None, :, None], amp[c][None, :, None], dist[c][None],
        initial_phase=phase, n_samples=n_samples, amp_resample_method=method)
    assert audio.shape == (1, n_samples) and phase.shape == (1, 1, 1)
    outputs.append(audio.numpy()[0])
  got = np.concatenate(outputs)
  want = _ref_streaming(f0, amp, dist, n_samples, method)
  np.testing.assert_allclose(got, want, atol=2e-4)
  f0_samples = np.concatenate([ref_upsample(f64(f0[c])[:, None], n_samples,
                                            'linear')[:, 0]
                               for c in range(n_chunks)])
  assert abs(wrap(phase.numpy()[0, 0, 0] -
                  TWO_PI * np.sum(f0_samples) / SR)) < 1e-4


# ----------------------------------------------------------------------------
# Long renders: no phase drift (DESIGN.md section 5).
# ----------------------------------------------------------------------------
LONG_N = 60 * SR  # 60 s at 16 kHz.


def _reference_phase(freq_hz, first, last):
  """2 pi f (n + 1) / sr for n in [first, last), reduced exactly."""
  n = np.arange(first, last, dtype=np.float64)
  cycles = np.mod(f64(freq_hz) * (n + 1), SR) / SR
  return TWO_PI * cycles


@pytest.mark.parametrize('f0_hz', [440.0, 261.63])
def test_harmonic_synthesis_60s_has_no_phase_drift(f0_hz):
  n_frames = LONG_N // 64
  dist = np.array([1.0, 0.5, 0.25], np.float32)
  audio = precise_harmonic_synthesis(
      np.full((1, n_frames, 1), f0_hz, np.float32),
      np.ones((1, n_frames, 1), np.float32),
      harmonic_distribution=np.tile(dist, (1, n_frames, 1)),
      n_samples=LONG_N).numpy()[0]
  tail = 1000
  amps, phase_err = fit_harmonic_phases(
      audio[-tail:], _reference_phase(f0_hz, LONG_N - tail, LONG_N), 3)
  np.testing.assert_allclose(amps, dist, atol=1e-3)
  assert np.all(np.abs(phase_err) < 1e-3), phase_err
  # Sanity of the estimator: the first samples have the same small error.
  _, head_err = fit_harmonic_phases(audio[:tail],
                                    _reference_phase(f0_hz, 0, tail), 3)
  assert np.all(np.abs(head_err) < 1e-3), head_err


@pytest.mark.parametrize('f0_hz', [440.0, 261.63])
def test_oscillator_bank_60s_has_no_phase_drift(f0_hz):
  freqs = np.full((1, LONG_N, 1), f0_hz, np.float32)
  audio = precise_oscillator_bank(freqs, np.ones_like(freqs)).numpy()[0]
  tail = 1000
  ref = _reference_phase(f0_hz, LONG_N - tail, LONG_N)
  amps, phase_err = fit_harmonic_phases(audio[-tail:], ref, 1)
  np.testing.assert_allclose(amps, [1.0], atol=1e-3)
  assert abs(phase_err[0]) < 1e-3, phase_err
  # Direct sample-wise comparison with sin of the reference phase.
  np.testing.assert_allclose(audio[-tail:], np.sin(ref), atol=1e-3)


def test_streaming_60_one_second_chunks_has_no_phase_drift():
  n_frames = 250
  f0 = np.full((1, n_frames, 1), 440.0, np.float32)
  amp = np.ones((1, n_frames, 1), np.float32)
  phase = None
  for _ in range(60):
    audio, phase = precise_streaming_harmonic_synthesis(
        f0, amp, initial_phase=phase, n_samples=SR)
  # After 60 s: the phase of 440 Hz is exactly a multiple of 2 pi.
  assert abs(wrap(phase.numpy()[0, 0, 0])) < 1e-3
  _, err = fit_harmonic_phases(audio.numpy()[0, -1000:],
                               _reference_phase(440.0, LONG_N - 1000, LONG_N),
                               1)
  assert abs(err[0]) < 1e-3


def test_angular_cumsum_option_60s_phase_error_is_bounded():
  # The float32 (TPU) option cannot be exact: the per-sample increment is
  # itself rounded to float32. Measured end-phase error at 440 Hz: 1.2e-2 rad.
  freqs = np.full((1, LONG_N, 1), 440.0, np.float32)
  audio = precise_oscillator_bank(freqs, np.ones_like(freqs),
                               use_angular_cumsum=True).numpy()[0]
  amps, err = fit_harmonic_phases(
      audio[-1000:], _reference_phase(440.0, LONG_N - 1000, LONG_N), 1)
  np.testing.assert_allclose(amps, [1.0], atol=1e-3)
  assert abs(err[0]) < 0.05, err


# ----------------------------------------------------------------------------
# Wavetables.
# ----------------------------------------------------------------------------
def _np_lookup(phase, table):
  """Periodic linear interpolation of one table at phases in [0, 1]."""
  n = len(table)
  return np.interp(np.asarray(phase, np.float64) * n, np.arange(n + 1),
                   np.append(np.asarray(table, np.float64), table[0]))


@pytest.mark.parametrize('n_wavetable', [16, 64, 2048])
def test_linear_lookup_single_table(n_wavetable):
  rng = np.random.default_rng(7)
  tables = f32(np.stack([np.sin(TWO_PI * np.arange(n_wavetable) /
                                n_wavetable),
                         rng.uniform(-1, 1, n_wavetable)]))
  phase = f32(rng.uniform(0, 1, (2, 3000)))
  phase[:, :3] = [0.0, 1.0, 0.5]
  got = core.linear_lookup(phase[..., None], tables).numpy()
  for b in range(2):
    np.testing.assert_allclose(got[b], _np_lookup(f64(phase[b]), tables[b]),
                               atol=1e-5)
  # The sine table approximates a sine within linear interpolation error
  # (2 pi / W)^2 / 8.
  bound = (TWO_PI / n_wavetable)**2 / 8 + 1e-5
  assert np.abs(got[0] - np.sin(TWO_PI * f64(phase[0]))).max() <= bound


def test_linear_lookup_per_sample_tables():
  rng = np.random.default_rng(8)
  n, w = 500, 32
  tables = f32(rng.uniform(-1, 1, (2, n, w)))
  phase = f32(rng.uniform(0, 1, (2, n)))
  got = core.linear_lookup(phase, tables).numpy()  # [B, N] phase accepted.
  want = np.array([[_np_lookup(phase[b, i], tables[b, i]) for i in range(n)]
                   for b in range(2)])
  np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize('n_wavetable', [64, 2048])
def test_harmonic_distribution_to_wavetable_is_sum_of_cosines(n_wavetable):
  rng = np.random.default_rng(9)
  dist = f32(rng.uniform(0, 1, (2, 3, 20)))
  got = core.harmonic_distribution_to_wavetable(dist, n_wavetable).numpy()
  assert got.shape == (2, 3, n_wavetable)
  n = np.arange(n_wavetable)
  k = np.arange(1, 21)
  want = np.einsum('...k,kn->...n', f64(dist),
                   np.cos(TWO_PI * np.outer(k, n) / n_wavetable))
  np.testing.assert_allclose(got, want, atol=2e-5 * 20)


@pytest.mark.parametrize('n_frames,n_samples', [(1, 1000), (10, 2000),
                                                (250, 16000)])
def test_wavetable_synthesis_of_a_sine_table(n_frames, n_samples):
  rng = np.random.default_rng(n_frames)
  w = 2048
  table = f32(np.sin(TWO_PI * np.arange(w) / w))[None]
  f0 = f32(rng.uniform(100, 1000, n_frames))
  amp = f32(rng.uniform(0.2, 1.0, n_frames))
  got = precise_wavetable_synthesis(f0[None, :, None], amp[None, :, None], table,
                                 n_samples=n_samples).numpy()[0]
  freqs = ref_upsample(f64(f0)[:, None], n_samples, 'linear')[:, 0]
  amps = ref_upsample(f64(amp)[:, None], n_samples, 'window')[:, 0]
  phase = TWO_PI * np.concatenate([[0.0], np.cumsum(freqs / SR)[:-1]])
  np.testing.assert_allclose(got, amps * np.sin(phase), atol=1e-4)
  assert got[0] == pytest.approx(0.0, abs=1e-6)  # Exclusive: phase 0 first.


def test_wavetable_synthesis_time_varying_tables():
  rng = np.random.default_rng(10)
  n_frames, n_samples, w = 8, 1600, 1024
  p = np.arange(w) / w
  c1 = rng.uniform(0, 1, n_frames)
  c2 = rng.uniform(0, 1, n_frames)
  tables = f32(c1[:, None] * np.sin(TWO_PI * p) +
               c2[:, None] * np.sin(2 * TWO_PI * p))
  f0 = np.full(n_frames, 220.0, np.float32)
  amp = np.full(n_frames, 0.7, np.float32)
  got = precise_wavetable_synthesis(f0[None, :, None], amp[None, :, None],
                                 tables[None], n_samples=n_samples).numpy()[0]
  phase = TWO_PI * 220.0 * np.arange(n_samples) / SR
  # Tables crossfade linearly between frames: so do their coefficients.
  coef = ref_upsample(np.stack([c1, c2], -1), n_samples, 'linear')
  want = 0.7 * (coef[:, 0] * np.sin(phase) + coef[:, 1] * np.sin(2 * phase))
  np.testing.assert_allclose(got, want, atol=2e-4)


# ----------------------------------------------------------------------------
# variable_length_delay.
# ----------------------------------------------------------------------------
def test_variable_length_delay_constant_integer_delay_is_a_shift():
  rng = np.random.default_rng(11)
  audio = f32(rng.uniform(-1, 1, (2, 1000)))
  phase = np.full((2, 1000, 1), 0.25, np.float32)  # 0.25 * 64 = 16 samples.
  got = exact_variable_length_delay(phase, audio, max_length=64).numpy()
  want = np.concatenate([np.zeros((2, 16)), audio[:, :-16]], axis=1)
  np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize('max_length', [32, 512])
def test_variable_length_delay_matches_fractional_delay(max_length):
  rng = np.random.default_rng(max_length)
  n = 1000
  audio = f32(rng.uniform(-1, 1, (2, n)))
  t = np.arange(n) / n
  phase = f32(np.stack([0.5 + 0.45 * np.sin(TWO_PI * 3 * t),
                        rng.uniform(0, 1, n)]))
  got = exact_variable_length_delay(phase[..., None], audio,
                                   max_length=max_length).numpy()
  for b in range(2):
    want = ref_fractional_delay(f64(audio[b]),
                                f64(phase[b]) * max_length)
    # The implementation reads at a float32 absolute position (< 2048 here,
    # half an ulp 6e-5 samples) times sample differences of up to 2.
    np.testing.assert_allclose(got[b], want, atol=2.5e-4)


def test_variable_length_delay_is_accurate_late_in_long_audio():
  n, max_length = 4 * SR, 64
  audio = f32(np.sin(TWO_PI * 1000 * np.arange(n) / SR))
  phase = f32(0.5 + 0.45 * np.sin(TWO_PI * np.arange(n) / 4000))
  got = exact_variable_length_delay(phase[None], audio[None],
                                   max_length=max_length).numpy()[0]
  want = ref_fractional_delay(f64(audio), f64(phase) * max_length)
  # A float32 delay of <= 64 samples is exact to ~4e-6 samples; a 1 kHz sine
  # changes by <= 0.4 per sample, so 1e-4 leaves a wide margin.
  assert np.abs(got - want).max() < 1e-4


# ----------------------------------------------------------------------------
# FFT convolution.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('n_audio,ir_size', [(1000, 64), (64, 300), (257, 257)])
def test_fft_convolve_valid_matches_scipy(n_audio, ir_size):
  rng = np.random.default_rng(n_audio + ir_size)
  audio = f32(rng.uniform(-1, 1, (2, n_audio)))
  ir = f32(rng.uniform(-1, 1, (2, ir_size)))
  got = centered_fft_convolve(audio, ir, padding='valid',
                          delay_compensation=0).numpy()
  assert got.shape == (2, n_audio + ir_size - 1)
  for b in range(2):
    want = scipy.signal.fftconvolve(f64(audio[b]), f64(ir[b]), mode='full')
    np.testing.assert_allclose(got[b], want, atol=1e-4 * np.sqrt(ir_size))


@pytest.mark.parametrize('n_audio,ir_size,delay', [
    (1000, 64, 10), (1000, 64, -1), (1000, 65, -1), (100, 300, -1),
    (100, 300, 250), (500, 31, 0)])
def test_fft_convolve_same_with_delay_compensation(n_audio, ir_size, delay):
  rng = np.random.default_rng(n_audio * ir_size)
  audio = f32(rng.uniform(-1, 1, (2, n_audio)))
  ir = f32(rng.uniform(-1, 1, (2, ir_size)))
  got = centered_fft_convolve(audio, ir, padding='same',
                          delay_compensation=delay).numpy()
  assert got.shape == (2, n_audio)
  start = ir_size // 2 if delay < 0 else delay
  for b in range(2):
    full = scipy.signal.fftconvolve(f64(audio[b]), f64(ir[b]), mode='full')
    full = np.concatenate([full, np.zeros(n_audio)])
    np.testing.assert_allclose(got[b], full[start:start + n_audio],
                               atol=1e-4 * np.sqrt(ir_size))


def test_fft_convolve_batch_one_ir_is_applied_to_every_example():
  rng = np.random.default_rng(12)
  audio = f32(rng.uniform(-1, 1, (3, 700)))
  ir = f32(rng.uniform(-1, 1, (1, 50)))
  got = centered_fft_convolve(audio, ir, padding='valid',
                          delay_compensation=0).numpy()
  for b in range(3):
    np.testing.assert_allclose(
        got[b], scipy.signal.fftconvolve(f64(audio[b]), f64(ir[0])),
        atol=1e-4)


@pytest.mark.parametrize('n_audio,n_frames,ir_size,padding', [
    (1000, 10, 64, 'valid'), (1000, 10, 64, 'same'), (999, 3, 129, 'same'),
    (512, 512, 8, 'valid'), (600, 4, 300, 'same')])
def test_fft_convolve_time_varying_matches_block_overlap_add(
    n_audio, n_frames, ir_size, padding):
  rng = np.random.default_rng(n_audio + n_frames + ir_size)
  audio = f32(rng.uniform(-1, 1, (2, n_audio)))
  irs = f32(rng.uniform(-1, 1, (2, n_frames, ir_size)))
  got = centered_fft_convolve(audio, irs, padding=padding,
                          delay_compensation=-1 if padding == 'same' else 0
                          ).numpy()
  for b in range(2):
    full = ref_full_convolution_ltv(f64(audio[b]), f64(irs[b]))
    if padding == 'same':
      full = np.concatenate([full, np.zeros(n_audio)])
      want = full[ir_size // 2:ir_size // 2 + n_audio]
    else:
      want = full
    assert got[b].shape == want.shape
    np.testing.assert_allclose(got[b], want, atol=1e-4 * np.sqrt(ir_size))
  # Time variation matters: one fixed IR gives a different result.
  lti = scipy.signal.fftconvolve(f64(audio[0]), f64(irs[0, 0]))
  assert np.abs(lti[:n_audio] - ref_full_convolution_ltv(
      f64(audio[0]), f64(irs[0]))[:n_audio]).max() > 0.1


def test_fft_convolve_raises_on_batch_mismatch():
  with pytest.raises(ValueError, match=r'audio \(3\).*impulse_response \(2\)'):
    centered_fft_convolve(np.zeros((3, 100), np.float32),
                      np.zeros((2, 10), np.float32))


@pytest.mark.parametrize('padding', ['full', 'SAME', 'causal'])
def test_fft_convolve_raises_on_bad_padding(padding):
  with pytest.raises(ValueError, match=f"padding={padding!r}"):
    centered_fft_convolve(np.zeros((1, 100), np.float32),
                      np.zeros((1, 10), np.float32), padding=padding)


@pytest.mark.parametrize('n_audio,n_frames',
                         [(10, 6), (10, 11), (1000, 501)])
def test_fft_convolve_raises_when_frames_cannot_split_audio(n_audio, n_frames):
  with pytest.raises(ValueError, match=f'{n_audio} audio samples into '
                     f'n_frames={n_frames}'):
    centered_fft_convolve(np.zeros((1, n_audio), np.float32),
                      np.zeros((1, n_frames, 4), np.float32))


def test_fft_convolve_frames_that_do_not_divide_the_audio():
  """As the original: blocks of ceil(n_samples / n_frames), the last one
  zero-padded; numpy reference by block-wise np.convolve."""
  rng = np.random.default_rng(3)
  audio = rng.standard_normal((2, 1000)).astype(np.float32)
  responses = rng.standard_normal((2, 3, 5)).astype(np.float32)
  block = 334
  padded = np.pad(audio, [(0, 0), (0, 3 * block - 1000)])
  expected = np.zeros((2, 3 * block + 4))
  for b in range(2):
    for k in range(3):
      expected[b, k * block:k * block + block + 4] += np.convolve(
          padded[b, k * block:(k + 1) * block], responses[b, k])
  # The centred filter's delay, 5 // 2 samples, is removed.
  same = centered_fft_convolve(audio, responses, padding='same')
  np.testing.assert_allclose(same, expected[:, 2:1002], atol=1e-4)
  # A 1-D impulse response is one filter for every entry.
  np.testing.assert_allclose(
      centered_fft_convolve(audio, responses[0, 0], padding='same'),
      [np.convolve(x, responses[0, 0])[2:1002] for x in audio], atol=1e-4)


def _smallest_power_of_two_at_least(n):
  p = 1
  while p < n:
    p *= 2
  return p


def _smallest_5_smooth_at_least(n):
  m = n
  while True:
    r = m
    for prime in (2, 3, 5):
      while r % prime == 0:
        r //= prime
    if r == 1:
      return m
    m += 1


@pytest.mark.parametrize('frame_size,ir_size', [(1, 1), (1000, 25), (64, 65),
                                                (512, 513), (100, 29),
                                                (16000, 2049), (7, 3)])
def test_get_fft_size(frame_size, ir_size):
  n = frame_size + ir_size - 1
  assert core.get_fft_size(frame_size, ir_size) == (
      _smallest_power_of_two_at_least(n))
  fast = core.get_fft_size(frame_size, ir_size, power_of_2=False)
  assert fast == _smallest_5_smooth_at_least(n)
  assert fast == scipy.fft.next_fast_len(n, real=True)


def test_crop_and_compensate_delay():
  full = np.tile(np.arange(50, dtype=np.float32), (2, 1))  # 30 + 21 - 1.

  def crop(padding, delay):
    return centered_crop_and_compensate_delay(full, 30, 21, padding,
                                          delay).numpy()

  np.testing.assert_array_equal(crop('same', 0), full[:, :30])
  np.testing.assert_array_equal(crop('same', 5), full[:, 5:35])
  np.testing.assert_array_equal(crop('same', -1), full[:, 10:40])
  np.testing.assert_array_equal(crop('valid', 0), full)
  np.testing.assert_array_equal(
      crop('valid', 7), np.concatenate([full[:, 7:], np.zeros((2, 7))], 1))
  np.testing.assert_array_equal(
      crop('valid', -1), np.concatenate([full[:, 10:], np.zeros((2, 10))], 1))
  with pytest.raises(ValueError, match="padding='full'"):
    crop('full', 0)


# ----------------------------------------------------------------------------
# Frequency-sampled FIR filters.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('n_bins,window_size,expected', [
    (65, 0, 128), (65, 64, 63), (65, 257, 128), (1025, 257, 257),
    (1025, 22, 21), (65, 128, 128), (2, 0, 2)])
def test_frequency_impulse_response_size_and_values(n_bins, window_size,
                                                    expected):
  rng = np.random.default_rng(13)
  mags = f32(rng.uniform(0, 1, (2, 3, n_bins)))
  ir = centered_frequency_impulse_response(mags, window_size=window_size).numpy()
  assert ir.shape == (2, 3, expected)
  np.testing.assert_allclose(ir, ref_frequency_ir(f64(mags), window_size),
                             atol=1e-6)


@pytest.mark.parametrize('window_size', [64, 128, 255])
def test_apply_window_to_impulse_response_causal(window_size):
  rng = np.random.default_rng(14)
  ir = f32(rng.uniform(-1, 1, (2, 128)))  # Causal: time zero at index 64.
  got = centered_apply_window_to_impulse_response(ir, window_size,
                                              causal=True).numpy()
  size = min(window_size, 128)
  assert got.shape == (2, size)
  # Time zero stays at the centre: sample 64 + j lands on size // 2 + j.
  offsets = np.arange(size) - size // 2
  want = f64(ir)[:, (64 + offsets) % 128] * hann_centered(size)
  np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize('n_bins,window_size', [(1025, 257), (1025, 0),
                                                (65, 0), (65, 32)])
@pytest.mark.parametrize('gain', [1.0, 0.1])
def test_flat_frequency_filter_is_identity_times_gain(n_bins, window_size,
                                                      gain):
  rng = np.random.default_rng(15)
  audio = f32(rng.uniform(-1, 1, (2, 4000)))
  mags = np.full((2, n_bins), gain, np.float32)
  got = centered_frequency_filter(audio, mags, window_size=window_size).numpy()
  assert got.shape == audio.shape
  assert np.abs(got - gain * f64(audio)).max() < 1e-3


def test_frequency_filter_response_matches_designed_magnitudes():
  n_bins = 257
  f = np.linspace(0, 1, n_bins)  # Fraction of Nyquist.
  design = 0.2 + 0.8 * np.exp(-((f - 0.3) / 0.1)**2) + 0.3 * f
  impulse = np.zeros((1, 2048), np.float32)
  impulse[0, 1024] = 1.0
  # With an impulse at n, 'same' output starting at n - ir_size // 2 is the
  # causal, centred impulse response of the filter.
  out = centered_frequency_filter(impulse, f32(design)[None]).numpy()[0]
  ir_size = 2 * (n_bins - 1)
  span = np.s_[1024 - ir_size // 2:1024 - ir_size // 2 + ir_size]
  ir = out[span]
  assert np.abs(np.delete(out, span)).max() < 1e-6
  _, h = scipy.signal.freqz(ir, worN=np.pi * f)
  # The Hann taper of length 2 (F - 1) convolves the sampled response with
  # the kernel [1/4, 1/2, 1/4] in bins, so at bin k the error is at most
  # |M[k-1] - 2 M[k] + M[k+1]| / 4 (mirror-extended at the ends), plus
  # float32 rounding.
  padded = np.concatenate([[design[1]], design, [design[-2]]])
  second_diff = np.abs(padded[:-2] - 2 * design + padded[2:])
  tolerance = second_diff / 4 + 1e-5
  assert np.all(np.abs(np.abs(h) - design) <= tolerance)
  assert tolerance.max() < 1e-3  # The test is tight for this smooth curve.
  # And the smoothing is exactly that kernel (measured 6e-8).
  smoothed = 0.25 * padded[:-2] + 0.5 * design + 0.25 * padded[2:]
  np.testing.assert_allclose(np.abs(h), smoothed, atol=1e-5)
  # Linear phase with delay ir_size // 2 (centred filter).
  phase = np.unwrap(np.angle(h * np.exp(1j * np.pi * f * (ir_size // 2))))
  assert np.abs(wrap(phase)).max() < 1e-3


def test_frequency_filter_truncated_window_is_smoothed_design():
  n_bins = 513
  f = np.linspace(0, 1, n_bins)
  design = 0.5 + 0.4 * np.cos(np.pi * f)  # Very smooth: truncation is cheap.
  ir = centered_frequency_impulse_response(f32(design)[None],
                                       window_size=128).numpy()[0]
  _, h = scipy.signal.freqz(ir, worN=np.pi * f)
  assert np.abs(np.abs(h) - design).max() < 0.01


@pytest.mark.parametrize('n_audio,n_bins,window_size,padding,expected', [
    (1000, 65, 0, 'same', 1000), (1000, 65, 0, 'valid', 1127),
    (1000, 65, 32, 'valid', 1030), (100, 513, 0, 'same', 100),
    (100, 513, 0, 'valid', 1123)])
def test_frequency_filter_output_size(n_audio, n_bins, window_size, padding,
                                      expected):
  out = centered_frequency_filter(np.ones((2, n_audio), np.float32),
                              np.ones((2, n_bins), np.float32),
                              window_size=window_size, padding=padding)
  assert out.shape == (2, expected)


def test_frequency_filter_time_varying_matches_numpy():
  rng = np.random.default_rng(16)
  n_audio, n_frames, n_bins = 2000, 20, 33
  audio = f32(rng.uniform(-1, 1, (2, n_audio)))
  mags = f32(rng.uniform(0, 1, (2, n_frames, n_bins)))
  got = centered_frequency_filter(audio, mags).numpy()
  irs = ref_frequency_ir(f64(mags))
  ir_size = irs.shape[-1]
  for b in range(2):
    full = np.concatenate([ref_full_convolution_ltv(f64(audio[b]), irs[b]),
                           np.zeros(n_audio)])
    np.testing.assert_allclose(got[b], full[ir_size // 2:
                                            ir_size // 2 + n_audio],
                               atol=1e-4)


# ----------------------------------------------------------------------------
# Windowed-sinc filters.
# ----------------------------------------------------------------------------
def test_sinc_matches_numpy():
  rng = np.random.default_rng(17)
  x = f32(np.concatenate([[0.0, 1.0, -2.0, 0.5, 1e-30],
                          rng.uniform(-20, 20, 1000)]))
  np.testing.assert_allclose(core.sinc(x).numpy(), np.sinc(f64(x)),
                             atol=2e-6)


@pytest.mark.parametrize('window_size', [512, 257, 64])
@pytest.mark.parametrize('high_pass', [False, True])
def test_sinc_impulse_response_measured_response(window_size, high_pass):
  cutoff = 0.3  # Fraction of Nyquist.
  ir = core.sinc_impulse_response(np.array([cutoff], np.float32),
                                  window_size=window_size,
                                  high_pass=high_pass).numpy()
  ir_size = (window_size // 2) * 2 + 1
  assert ir.shape == (1, ir_size)
  # Definition: Hamming-windowed sinc normalized to unit DC gain; the high
  # pass is a centred delta minus the low pass.
  t = np.arange(ir_size) - ir_size // 2
  low = cutoff * np.sinc(cutoff * t) * np.hamming(ir_size)
  low /= low.sum()
  want = np.eye(ir_size)[ir_size // 2] - low if high_pass else low
  np.testing.assert_allclose(ir[0], want, atol=1e-6)
  w, h = scipy.signal.freqz(ir[0], worN=4096)
  f, mag = w / np.pi, np.abs(h)
  # A Hamming-windowed sinc has a transition ~ 6.6 / ir_size (fraction of
  # Nyquist) wide and ripple about 0.002 (-53 dB) in both bands.
  margin = 8.0 / ir_size
  low, high = f < cutoff - margin, f > cutoff + margin
  passband, stopband = (high, low) if high_pass else (low, high)
  assert np.abs(mag[passband] - 1.0).max() < 4e-3
  assert mag[stopband].max() < 4e-3
  # Half amplitude at the cutoff.
  assert abs(mag[np.argmin(np.abs(f - cutoff))] - 0.5) < 0.02


def test_sinc_impulse_response_cutoff_in_hz():
  for sample_rate, cutoff_hz in [(16000, 3000.0), (44100, 10000.0)]:
    ir = core.sinc_impulse_response(np.array([cutoff_hz], np.float32),
                                    window_size=512,
                                    sample_rate=sample_rate).numpy()[0]
    _, h = scipy.signal.freqz(
        ir, worN=[0.8 * cutoff_hz, cutoff_hz, 1.2 * cutoff_hz],
        fs=sample_rate)
    np.testing.assert_allclose(np.abs(h), [1.0, 0.5, 0.0], atol=0.02)
  # A cutoff at Nyquist is an all-pass: a centred delta.
  ir = core.sinc_impulse_response(np.array([8000.0], np.float32),
                                  window_size=512, sample_rate=16000).numpy()
  expected = np.zeros((1, 513))
  expected[0, 256] = 1.0
  np.testing.assert_allclose(ir, expected, atol=1e-6)
  # Hz and fraction-of-Nyquist forms describe the same filter.
  in_hz = core.sinc_impulse_response(np.array([4000.0], np.float32), 128,
                                     sample_rate=16000).numpy()
  fraction = core.sinc_impulse_response(np.array([0.5], np.float32), 128)
  np.testing.assert_allclose(in_hz, fraction.numpy(), atol=1e-7)


@pytest.mark.parametrize('cutoff,sample_rate,match', [
    ([9000.0], 16000, r'8000\.0.*9000\.0'), ([1.5], None, r'1\.0.*1\.5'),
    ([-0.1], None, r'-0\.1')])
def test_sinc_impulse_response_raises_on_bad_cutoff(cutoff, sample_rate,
                                                    match):
  with pytest.raises(ValueError, match=match):
    core.sinc_impulse_response(np.array(cutoff, np.float32),
                               sample_rate=sample_rate)


@pytest.mark.parametrize('high_pass', [False, True])
@pytest.mark.parametrize('padding,window_size,expected', [
    ('same', 512, 1000), ('valid', 512, 1512), ('valid', 100, 1100),
    ('same', 101, 1000)])
def test_sinc_filter_output_size(high_pass, padding, window_size, expected):
  out = centered_sinc_filter(np.ones((2, 1000), np.float32),
                         np.array([0.3, 0.5], np.float32),
                         window_size=window_size, padding=padding,
                         high_pass=high_pass)
  assert out.shape == (2, expected)


def test_sinc_filter_separates_tones():
  n = np.arange(SR) / SR
  audio = f32(np.sin(TWO_PI * 500 * n) + np.sin(TWO_PI * 5000 * n))[None]
  low = centered_sinc_filter(audio, np.array([2000.0], np.float32),
                         sample_rate=SR).numpy()[0]
  high = centered_sinc_filter(audio, np.array([2000.0], np.float32),
                          sample_rate=SR, high_pass=True).numpy()[0]
  interior = slice(1000, SR - 1000)
  np.testing.assert_allclose(low[interior], np.sin(TWO_PI * 500 * n)[interior],
                             atol=5e-3)
  np.testing.assert_allclose(high[interior],
                             np.sin(TWO_PI * 5000 * n)[interior], atol=5e-3)


# ----------------------------------------------------------------------------
# Graph mode with an unknown batch size, with and without XLA.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('jit_compile', [False, True])
def test_graph_and_xla_with_unknown_batch(jit_compile):
  rng = np.random.default_rng(18)
  n_frames, n_samples, n_harmonics = 10, 640, 4
  spec = tf.TensorSpec

  @tf.function(jit_compile=jit_compile, input_signature=[
      spec([None, n_frames, 1]), spec([None, n_frames, 1]),
      spec([None, n_frames, n_harmonics])])
  def synth(f0, amp, dist):
    return precise_harmonic_synthesis(f0, amp, harmonic_distribution=dist,
                                   n_samples=n_samples)

  @tf.function(jit_compile=jit_compile, input_signature=[
      spec([None, n_samples, 3]), spec([None, n_samples, 3])])
  def bank(freqs, amps):
    return precise_oscillator_bank(freqs, amps)

  @tf.function(jit_compile=jit_compile, input_signature=[
      spec([None, n_samples]), spec([None, 5, 33])])
  def convolve(audio, ir):
    return centered_fft_convolve(audio, ir)

  @tf.function(jit_compile=jit_compile, input_signature=[
      spec([None, n_samples]), spec([None, 17])])
  def filt(audio, mags):
    return centered_frequency_filter(audio, mags)

  @tf.function(jit_compile=jit_compile, input_signature=[
      spec([None, n_samples, 1]), spec([None, 64])])
  def lookup(phase, table):
    return core.linear_lookup(phase, table)

  @tf.function(jit_compile=jit_compile, input_signature=[
      spec([None, n_samples, 1]), spec([None, n_samples])])
  def delay(phase, audio):
    return exact_variable_length_delay(phase, audio, max_length=40)

  for batch in (1, 3):
    f0 = f32(rng.uniform(100, 500, (batch, n_frames, 1)))
    amp = f32(rng.uniform(0, 1, (batch, n_frames, 1)))
    dist = f32(rng.uniform(0, 1, (batch, n_frames, n_harmonics)))
    out = synth(f0, amp, dist).numpy()
    assert out.shape == (batch, n_samples)
    for b in range(batch):
      np.testing.assert_allclose(
          out[b], ref_harmonic_synthesis(f0[b, :, 0], amp[b, :, 0], dist[b],
                                         n_samples=n_samples), atol=2e-4)

    freqs = f32(rng.uniform(50, 7000, (batch, n_samples, 3)))
    amps = f32(rng.uniform(0, 1, (batch, n_samples, 3)))
    out = bank(freqs, amps).numpy()
    for b in range(batch):
      np.testing.assert_allclose(out[b], ref_oscillator_bank(f64(freqs[b]),
                                                             f64(amps[b])),
                                 atol=1e-4)

    audio = f32(rng.uniform(-1, 1, (batch, n_samples)))
    irs = f32(rng.uniform(-1, 1, (batch, 5, 33)))
    out = convolve(audio, irs).numpy()
    for b in range(batch):
      full = ref_full_convolution_ltv(f64(audio[b]), f64(irs[b]))
      np.testing.assert_allclose(out[b], full[16:16 + n_samples], atol=1e-4)

    mags = f32(rng.uniform(0, 1, (batch, 17)))
    out = filt(audio, mags).numpy()
    irs = ref_frequency_ir(f64(mags))
    for b in range(batch):
      full = np.convolve(f64(audio[b]), irs[b])
      np.testing.assert_allclose(out[b], full[16:16 + n_samples], atol=1e-4)

    phase = f32(rng.uniform(0, 1, (batch, n_samples, 1)))
    table = f32(rng.uniform(-1, 1, (batch, 64)))
    out = lookup(phase, table).numpy()
    for b in range(batch):
      np.testing.assert_allclose(out[b], _np_lookup(f64(phase[b, :, 0]),
                                                    table[b]), atol=1e-5)

    out = delay(phase, audio).numpy()
    for b in range(batch):
      np.testing.assert_allclose(  # Float32 positions < 1024: see above.
          out[b], ref_fractional_delay(f64(audio[b]),
                                       f64(phase[b, :, 0]) * 40), atol=1.5e-4)


# ----------------------------------------------------------------------------
# Gradients against central finite differences of the float64 references.
# ----------------------------------------------------------------------------
def _loss_np(y, weights):
  return float(np.sum(weights * y) + 0.5 * np.sum(y**2))


def _loss_tf(y, weights):
  return tf.reduce_sum(weights * y) + 0.5 * tf.reduce_sum(y**2)


def _central_difference(fn, x, index, eps):
  plus, minus = x.copy(), x.copy()
  plus[index] += eps
  minus[index] -= eps
  return (fn(plus) - fn(minus)) / (2 * eps)


@pytest.mark.parametrize('method,shifted', [('window', False),
                                            ('linear', True)])
def test_harmonic_synthesis_gradients_match_finite_differences(method,
                                                               shifted):
  rng = np.random.default_rng(19)
  n_frames, n_samples, n_harmonics = 10, 800, 4
  f0 = f32(rng.uniform(100, 400, n_frames))
  amp = f32(rng.uniform(0.2, 1.0, n_frames))
  dist = f32(rng.uniform(0.1, 1.0, (n_frames, n_harmonics)))
  shifts = (f32(rng.uniform(-0.02, 0.02, (n_frames, n_harmonics)))
            if shifted else None)
  weights = rng.normal(size=n_samples)

  amp_var = tf.Variable(amp[None, :, None])
  dist_var = tf.Variable(dist[None])
  with tf.GradientTape() as tape:
    y = precise_harmonic_synthesis(
        f0[None, :, None], amp_var, harmonic_distribution=dist_var,
        harmonic_shifts=None if shifts is None else shifts[None],
        n_samples=n_samples, amp_resample_method=method)
    loss = _loss_tf(y[0], f32(weights))
  grad_amp, grad_dist = tape.gradient(loss, [amp_var, dist_var])
  grad_amp, grad_dist = grad_amp.numpy()[0, :, 0], grad_dist.numpy()[0]

  def loss_of(a, d):
    return _loss_np(ref_harmonic_synthesis(f0, a, d, shifts,
                                           n_samples=n_samples,
                                           method=method), weights)

  # The loss is quadratic in each control, so a central difference is exact
  # up to float64 rounding (~1e-16 * loss / eps).
  eps = 1e-3
  for t in (0, 4, 9):
    fd = _central_difference(lambda a: loss_of(a, f64(dist)), f64(amp), t,
                             eps)
    assert grad_amp[t] == pytest.approx(fd, rel=2e-3, abs=2e-3)
  for index in [(0, 0), (5, 2), (9, 3)]:
    fd = _central_difference(lambda d: loss_of(f64(amp), d), f64(dist), index,
                             eps)
    assert grad_dist[index] == pytest.approx(fd, rel=2e-3, abs=2e-3)
  assert np.abs(grad_dist).max() > 1.0  # Non-trivial gradients.


def test_frequency_filter_gradients_match_finite_differences():
  rng = np.random.default_rng(20)
  n_audio, n_bins = 600, 17
  audio = f32(rng.uniform(-1, 1, n_audio))
  mags = f32(rng.uniform(0.1, 1.0, (3, n_bins)))  # 3 frames, LTV.
  weights = rng.normal(size=n_audio)
  mags_var = tf.Variable(mags[None])
  with tf.GradientTape() as tape:
    y = centered_frequency_filter(audio[None], mags_var)
    loss = _loss_tf(y[0], f32(weights))
  grad = tape.gradient(loss, mags_var).numpy()[0]

  def loss_of(m):
    irs = ref_frequency_ir(m)
    full = np.concatenate([ref_full_convolution_ltv(f64(audio), irs),
                           np.zeros(n_audio)])
    ir_size = irs.shape[-1]
    return _loss_np(full[ir_size // 2:ir_size // 2 + n_audio], weights)

  for index in [(0, 0), (1, 8), (2, 16), (2, 3)]:
    fd = _central_difference(loss_of, f64(mags), index, 1e-4)
    assert grad[index] == pytest.approx(fd, rel=2e-3, abs=2e-3)
  assert np.abs(grad).max() > 1.0


def test_variable_length_delay_gradients_match_finite_differences():
  rng = np.random.default_rng(21)
  n, max_length = 400, 50
  audio = f32(rng.uniform(-1, 1, n))
  # Keep every delay at least 0.2 samples away from an integer so that the
  # piecewise-linear interpolation is differentiable there.
  delays = np.floor(rng.uniform(1, max_length - 1, n)) + rng.uniform(0.2, 0.8,
                                                                     n)
  phase = f32(delays / max_length)
  weights = rng.normal(size=n)
  phase_var = tf.Variable(phase[None, :, None])
  with tf.GradientTape() as tape:
    y = exact_variable_length_delay(phase_var, audio[None],
                                   max_length=max_length)
    loss = _loss_tf(y[0], f32(weights))
  grad = tape.gradient(loss, phase_var).numpy()[0, :, 0]

  def loss_of(p):
    return _loss_np(ref_fractional_delay(f64(audio), p * max_length), weights)

  checked = 0
  for i in (60, 150, 399):
    fd = _central_difference(loss_of, f64(phase), i, 1e-6)
    # Delay n - d must land on real audio for a non-zero gradient.
    assert grad[i] == pytest.approx(fd, rel=2e-3, abs=2e-3)
    checked += abs(fd) > 1.0
  assert checked >= 2


# ----------------------------------------------------------------------------
# Silence and zeros never produce NaN or Inf.
# ----------------------------------------------------------------------------
def _finite(*tensors):
  for t in tensors:
    assert t is not None
    assert np.all(np.isfinite(np.asarray(t))), t


def test_no_nan_for_zero_controls_and_silence():
  zeros_frames = tf.Variable(np.zeros((2, 10, 1), np.float32))
  zero_dist = tf.Variable(np.zeros((2, 10, 5), np.float32))
  silent = tf.Variable(np.zeros((2, 640), np.float32))
  zero_mags = tf.Variable(np.zeros((2, 4, 33), np.float32))
  zero_phase = tf.Variable(np.zeros((2, 640, 1), np.float32))
  variables = [zeros_frames, zero_dist, silent, zero_mags, zero_phase]
  with tf.GradientTape(persistent=True) as tape:
    outs = [
        precise_harmonic_synthesis(zeros_frames, zeros_frames,
                                harmonic_distribution=zero_dist,
                                n_samples=640),
        precise_harmonic_synthesis(zeros_frames, zeros_frames,
                                harmonic_distribution=zero_dist,
                                harmonic_shifts=zero_dist, n_samples=640),
        precise_streaming_harmonic_synthesis(zeros_frames, zeros_frames,
                                          zero_dist, n_samples=640)[0],
        precise_oscillator_bank(zero_phase, zero_phase),
        precise_oscillator_bank(zero_phase, zero_phase, use_angular_cumsum=True),
        precise_wavetable_synthesis(zeros_frames, zeros_frames,
                                 tf.zeros((2, 64)), n_samples=640),
        centered_frequency_filter(silent, zero_mags),
        centered_fft_convolve(silent, tf.zeros((2, 33))),
        centered_sinc_filter(silent, tf.zeros((2,))),
        centered_sinc_filter(silent + 1.0, tf.zeros((2, 4))),
        exact_variable_length_delay(zero_phase, silent),
    ]
    loss = tf.add_n([tf.reduce_sum(o**2) + tf.reduce_sum(o) for o in outs])
  for out in outs:
    _finite(out.numpy())
    np.testing.assert_array_equal(out.numpy(), 0.0)
  for grad in tape.gradient(loss, variables):
    _finite(tf.convert_to_tensor(grad).numpy())
  _finite(exact_angular_cumsum(tf.zeros((1, 2500, 2))).numpy())
  _finite(core.sinc_impulse_response(tf.zeros((2,))).numpy())


# ----------------------------------------------------------------------------
# Argument validation.
# ----------------------------------------------------------------------------
def test_oscillator_bank_raises_on_wrong_rank():
  with pytest.raises(ValueError,
                     match=r'frequency_envelopes.*rank 3.*\[1, 100\]'):
    precise_oscillator_bank(np.ones((1, 100), np.float32),
                         np.ones((1, 100), np.float32))


def test_oscillator_bank_raises_on_mismatched_lengths():
  with pytest.raises(ValueError, match=r'\[1, 100, 2\].*\[1, 99, 2\]'):
    precise_oscillator_bank(np.ones((1, 100, 2), np.float32),
                         np.ones((1, 99, 2), np.float32))


@pytest.mark.parametrize('sample_rate', [0, -16000])
def test_non_positive_sample_rate_raises(sample_rate):
  frames = np.ones((1, 10, 1), np.float32)
  match = f'sample_rate={sample_rate}'
  with pytest.raises(ValueError, match=match):
    precise_harmonic_synthesis(frames, frames, n_samples=640,
                            sample_rate=sample_rate)
  with pytest.raises(ValueError, match=match):
    precise_oscillator_bank(frames, frames, sample_rate=sample_rate)
  with pytest.raises(ValueError, match=match):
    precise_harmonic_oscillator_bank(frames, frames, sample_rate=sample_rate)
  with pytest.raises(ValueError, match=match):
    precise_streaming_harmonic_synthesis(frames, frames, n_samples=640,
                                      sample_rate=sample_rate)
  with pytest.raises(ValueError, match=match):
    precise_wavetable_synthesis(frames, frames, np.ones((1, 64), np.float32),
                             n_samples=640, sample_rate=sample_rate)


def test_harmonic_synthesis_raises_on_bad_controls():
  f0 = np.ones((2, 10, 1), np.float32)
  with pytest.raises(ValueError, match=r'\[2, 10, 1\].*\[2, 11, 1\]'):
    precise_harmonic_synthesis(f0, np.ones((2, 11, 1), np.float32),
                            n_samples=640)
  with pytest.raises(ValueError, match=r'\[2, 10, 1\].*\[3, 10, 4\]'):
    precise_harmonic_synthesis(f0, f0, harmonic_distribution=np.ones(
        (3, 10, 4), np.float32), n_samples=640)
  with pytest.raises(ValueError, match=r'amplitudes.*\[2, 10\]'):
    precise_harmonic_synthesis(f0, np.ones((2, 10), np.float32), n_samples=640)
  with pytest.raises(ValueError, match=r'harmonic_shifts.*\[2, 10, 3\]'):
    precise_harmonic_synthesis(f0, f0,
                            harmonic_distribution=np.ones((2, 10, 4),
                                                          np.float32),
                            harmonic_shifts=np.ones((2, 10, 3), np.float32),
                            n_samples=640)


def test_window_resampling_needs_dividing_n_samples():
  f0 = np.ones((1, 7, 1), np.float32)
  with pytest.raises(ValueError, match=r'\(1000\).*\(7\)'):
    precise_harmonic_synthesis(f0, f0, n_samples=1000,
                            amp_resample_method='window')
  with pytest.raises(ValueError, match=r'\(1000\).*\(7\)'):
    precise_wavetable_synthesis(f0, f0, np.ones((1, 64), np.float32),
                             n_samples=1000)


@pytest.mark.parametrize('method', ['bilinear', 'Linear', ''])
def test_unknown_amp_resample_method_raises(method):
  f0 = np.ones((1, 10, 1), np.float32)
  with pytest.raises(ValueError, match=f'amp_resample_method={method!r}'):
    precise_harmonic_synthesis(f0, f0, n_samples=640,
                            amp_resample_method=method)
  with pytest.raises(ValueError, match=f'amp_resample_method={method!r}'):
    precise_streaming_harmonic_synthesis(f0, f0, n_samples=640,
                                      amp_resample_method=method)


def test_lookup_and_delay_raise_on_mismatched_shapes():
  with pytest.raises(ValueError, match=r'\[2, 100\].*\[2, 99, 16\]'):
    core.linear_lookup(np.zeros((2, 100, 1), np.float32),
                       np.zeros((2, 99, 16), np.float32))
  with pytest.raises(ValueError, match=r'\[1, 100\].*\[1, 101\]'):
    exact_variable_length_delay(np.zeros((1, 100), np.float32),
                               np.zeros((1, 101), np.float32))
  with pytest.raises(ValueError, match=r'audio.*rank 2.*\[100\]'):
    exact_variable_length_delay(np.zeros((1, 100), np.float32),
                               np.zeros((100,), np.float32))
  with pytest.raises(ValueError, match=r'phase.*rank 2 or 3.*\[100\]'):
    exact_variable_length_delay(np.zeros((100,), np.float32),
                               np.zeros((1, 100), np.float32))
  with pytest.raises(ValueError, match=r'max_length=0'):
    exact_variable_length_delay(np.zeros((1, 100), np.float32),
                               np.zeros((1, 100), np.float32), max_length=0)


def test_fft_convolve_raises_on_wrong_rank():
  with pytest.raises(ValueError, match=r'impulse_response.*\[1, 1, 2, 8\]'):
    centered_fft_convolve(np.zeros((1, 100), np.float32),
                      np.zeros((1, 1, 2, 8), np.float32))
  with pytest.raises(ValueError, match=r'audio.*\[100\]'):
    centered_fft_convolve(np.zeros((100,), np.float32),
                      np.zeros((1, 8), np.float32))


def test_batch_one_controls_broadcast_and_one_frame_wavetables():
  """The original's conventions: batch-1 harmonic shifts and distributions
  broadcast against a larger batch (numpy sines as truth), and a wavetable
  of one frame is one table."""
  n_samples, rate = 8000, 16000
  shifts = np.array([[[0.0, 0.01]]], np.float32)  # [1, 1, 2]
  distribution = np.array([[[0.7, 0.3]]], np.float32)
  frequencies = np.full([2, 1, 1], 220.0, np.float32)
  amplitudes = np.full([2, 1, 1], 0.5, np.float32)
  audio = precise_harmonic_synthesis(frequencies, amplitudes, shifts,
                                  distribution, n_samples=n_samples,
                                  sample_rate=rate)
  n = np.arange(1, n_samples + 1)
  expected = 0.5 * (0.7 * np.sin(2 * np.pi * 220.0 * n / rate) +
                    0.3 * np.sin(2 * np.pi * 440.0 * 1.01 * n / rate))
  np.testing.assert_allclose(audio, [expected, expected], atol=1e-3)
  table = np.sin(np.linspace(0, 2 * np.pi, 512, endpoint=False))[np.newaxis]
  phase = (np.arange(1000) / 100.0 % 1.0)[np.newaxis, :, np.newaxis]
  np.testing.assert_allclose(
      core.linear_lookup(phase, table[:, np.newaxis, :]),
      np.sin(2 * np.pi * phase[..., 0]), atol=1e-3)


def test_unit_midi_maps_keep_float64():
  unit = np.linspace(-1.0, 2.0, 1000)
  midi = core.unit_to_midi(unit, midi_min=20.0, midi_max=90.0)
  assert midi.dtype == tf.float64
  np.testing.assert_allclose(midi, 20.0 + 70.0 * unit, rtol=1e-12)
  np.testing.assert_allclose(core.midi_to_unit(np.asarray(midi), 20.0, 90.0),
                             unit, rtol=1e-12, atol=1e-12)
  assert core.unit_to_midi(0.5).dtype == tf.float32


@pytest.mark.parametrize('ir_size', [5, 64, 65])
def test_fft_convolve_default_delay_is_the_originals(ir_size):
  """A unit impulse at tap k moves the audio by k - ((ir_size - 1) // 2 - 1).

  That is magenta/ddsp's automatic delay compensation; with centered=True it
  is k - ir_size // 2.
  """
  audio = np.random.default_rng(3).normal(size=(1, 200)).astype(np.float32)
  k = ir_size // 2 + 1
  ir = np.zeros((1, ir_size), np.float32)
  ir[0, k] = 1.0
  for centered, removed in ((False, (ir_size - 1) // 2 - 1),
                            (True, ir_size // 2)):
    shift = k - removed
    out = core.fft_convolve(audio, ir, centered=centered).numpy()[0]
    want = np.concatenate([np.zeros(shift), audio[0, :200 - shift]])
    np.testing.assert_allclose(out, want, atol=1e-5)
