"""Tests for ddsp_tf.spectral_ops against analytic, numpy, scipy and librosa truth."""

import gin
import librosa
import numpy as np
import pytest
import scipy.fft
import scipy.signal
import tensorflow as tf

from ddsp_tf import spectral_ops

SR = 16000


def sine(freq, amp=1.0, n_samples=8000, sample_rate=SR):
  t = np.arange(n_samples) / sample_rate
  return (amp * np.sin(2.0 * np.pi * freq * t)).astype(np.float32)


def noise(shape, seed=0):
  return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def reference_stft(audio, frame_size, hop_size, fft_length):
  """Frame-by-frame periodic-Hann rfft of 1-D audio (no padding)."""
  window = scipy.signal.get_window('hann', frame_size, fftbins=True)
  starts = range(0, len(audio) - frame_size + 1, hop_size)
  return np.stack([np.fft.rfft(audio[s:s + frame_size] * window, n=fft_length)
                   for s in starts])


def same_pad(audio, frame_size, hop_size):
  """Zero-pads the end so that there are ceil(n / hop) whole frames."""
  n_frames = -(-audio.shape[-1] // hop_size)
  extra = (n_frames - 1) * hop_size + frame_size - audio.shape[-1]
  return np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(0, extra)])


def test_constants():
  assert spectral_ops.CREPE_SAMPLE_RATE == 16000
  assert spectral_ops.CREPE_FRAME_SIZE == 1024
  assert spectral_ops.F0_RANGE == 127.0
  assert spectral_ops.DB_RANGE == 80.0


# ----------------------------------------------------------------------------
# STFT.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('frame_size,overlap,fft_length,hop', [
    (512, 0.75, 512, 128),
    (256, 0.5, 256, 128),
    # Not a power of two: zero-padded FFT; 1000 * (1 - 0.9) rounds to 100.
    (1000, 0.9, 1024, 100),
])
def test_stft_matches_numpy_reference(frame_size, overlap, fft_length, hop):
  audio = noise((2, 3000))
  s = spectral_ops.stft(audio, frame_size, overlap, pad_end=False).numpy()
  for b in range(2):
    expected = reference_stft(audio[b].astype(np.float64), frame_size, hop,
                              fft_length)
    assert s[b].shape == expected.shape
    np.testing.assert_allclose(s[b], expected, atol=1e-4)


def test_stft_shapes_for_1d_2d_and_trailing_channel():
  audio = noise((3, 4000))
  s2 = spectral_ops.stft(audio, 512, 0.75)
  assert s2.shape == (3, 32, 257)  # ceil(4000 / 128) frames with pad_end.
  assert s2.dtype == tf.complex64
  s1 = spectral_ops.stft(audio[1], 512, 0.75)
  s3 = spectral_ops.stft(audio[..., np.newaxis], 512, 0.75)
  np.testing.assert_allclose(s1.numpy(), s2.numpy()[1], atol=1e-4)
  np.testing.assert_allclose(s3.numpy(), s2.numpy(), atol=1e-4)


@pytest.mark.parametrize('pad_end', [True, False])
@pytest.mark.parametrize('frame_size,overlap', [(2048, 0.75), (1000, 0.9)])
def test_stft_np_is_consistent_with_stft(pad_end, frame_size, overlap):
  audio = noise((2, 5000), seed=1)
  mag_tf = np.abs(spectral_ops.stft(audio, frame_size, overlap, pad_end))
  mag_np = np.abs(spectral_ops.stft_np(audio, frame_size, overlap, pad_end))
  assert mag_np.shape == mag_tf.shape
  np.testing.assert_allclose(mag_np, mag_tf, atol=1e-3)
  mag_np_1d = np.abs(spectral_ops.stft_np(audio[0], frame_size, overlap,
                                          pad_end))
  np.testing.assert_allclose(mag_np_1d, mag_tf[0], atol=1e-3)


def test_compute_mag_and_logmag():
  audio = noise((2, 3000), seed=2)
  expected = np.abs(reference_stft(same_pad(audio, 512, 128)[0].astype(
      np.float64), 512, 128, 512))
  mag = spectral_ops.compute_mag(audio, size=512).numpy()
  np.testing.assert_allclose(mag[0], expected, rtol=1e-4, atol=1e-3)
  logmag = spectral_ops.compute_logmag(audio, size=512).numpy()
  np.testing.assert_allclose(logmag[0], np.log(np.maximum(expected, 1e-5)),
                             atol=1e-3)


@gin.configurable
def _spectrogram_fn_holder(spectrogram_fn=None):
  return spectrogram_fn


def test_compute_mag_is_gin_registered():
  try:
    gin.parse_config([
        '_spectrogram_fn_holder.spectrogram_fn = @spectral_ops.compute_mag',
        'spectral_ops.compute_mag.size = 256',
    ])
    configured = _spectrogram_fn_holder()
    assert configured(noise((1, 1024))).shape[-1] == 129
  finally:
    gin.clear_config()
  assert spectral_ops.compute_mag(noise((1, 1024))).shape[-1] == 1025


# ----------------------------------------------------------------------------
# Mel spectra and MFCCs against librosa.
# ----------------------------------------------------------------------------
def librosa_mel(audio, lo_hz, hi_hz, bins, fft_size, hop):
  """Linear mel magnitudes, [frames, bins], with 'same' framing."""
  return librosa.feature.melspectrogram(
      y=same_pad(audio.astype(np.float64), fft_size, hop), sr=SR,
      n_fft=fft_size, hop_length=hop, center=False, power=1.0, htk=True,
      norm=None, n_mels=bins, fmin=lo_hz, fmax=hi_hz, window='hann').T


def test_compute_mel_matches_librosa():
  audio = noise(6000, seed=3)
  mel = spectral_ops.compute_mel(audio, lo_hz=0.0, hi_hz=8000.0, bins=64,
                                 fft_size=2048).numpy()
  expected = librosa_mel(audio, 0.0, 8000.0, 64, 2048, 512)
  assert mel.shape == expected.shape
  # TF's triangles are linear in mel, librosa's linear in Hz (weights differ
  # by < 0.005); on a broadband signal the band sums agree within 1 %.
  np.testing.assert_allclose(mel, expected, rtol=0.01)


def test_compute_logmel_and_mfcc_match_librosa_and_scipy_dct():
  audio = noise((2, 4000), seed=4)
  logmel = spectral_ops.compute_logmel(audio, lo_hz=80.0, hi_hz=7600.0,
                                       bins=64, fft_size=1024).numpy()
  expected_logmel = np.log(librosa_mel(audio[1], 80.0, 7600.0, 64, 1024, 256))
  np.testing.assert_allclose(logmel[1], expected_logmel, atol=0.01)

  mfcc = spectral_ops.compute_mfcc(audio, fft_size=1024, mel_bins=128,
                                   mfcc_bins=13).numpy()
  assert mfcc.shape == (2, 16, 13)
  log_mel = np.log(librosa_mel(audio[0], 20.0, 8000.0, 128, 1024, 256))
  # Unnormalised DCT-II scaled by 1/sqrt(2 * n_mels).
  expected_mfcc = scipy.fft.dct(log_mel, type=2, axis=-1)[:, :13] / np.sqrt(
      2.0 * 128)
  np.testing.assert_allclose(mfcc[0], expected_mfcc, atol=0.01)


# ----------------------------------------------------------------------------
# Framing.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('padding', ['valid', 'same', 'center'])
@pytest.mark.parametrize('hop_size', [180, 200, 64])
@pytest.mark.parametrize('n_samples', [16000, 3333])
def test_padding_shapes_match_tf_signal_frame(padding, hop_size, n_samples):
  frame_size = 1024
  audio = noise((2, n_samples))
  padded = spectral_ops.pad(audio, frame_size, hop_size, padding=padding)
  frames = tf.signal.frame(padded, frame_size, hop_size, pad_end=False)
  n_frames, padded_length = spectral_ops.get_framed_lengths(
      n_samples, frame_size, hop_size, padding)
  assert padded.shape == (2, padded_length)
  assert frames.shape[1] == n_frames


@pytest.mark.parametrize('n_samples', [0, 1, 500, 1023, 1024, 16000, 16001])
def test_get_framed_lengths_formulas(n_samples):
  frame, hop = 1024, 256
  assert spectral_ops.get_framed_lengths(n_samples, frame, hop, 'center') == (
      n_samples // hop + 1, n_samples + frame)
  same_frames = int(np.ceil(n_samples / hop))
  assert spectral_ops.get_framed_lengths(n_samples, frame, hop, 'same') == (
      same_frames, (same_frames - 1) * hop + frame)
  valid_frames = len(range(0, n_samples - frame + 1, hop))
  assert spectral_ops.get_framed_lengths(n_samples, frame, hop, 'valid') == (
      valid_frames, n_samples)


def test_pad_center_puts_zeros_on_both_sides():
  x = np.arange(1, 11, dtype=np.float32)[np.newaxis]
  padded = spectral_ops.pad(x, frame_size=7, hop_size=2, padding='center')
  np.testing.assert_array_equal(padded.numpy()[0],
                                [0, 0, 0] + list(range(1, 11)) + [0, 0, 0, 0])
  reflected = spectral_ops.pad(x, 4, 2, padding='center', mode='REFLECT')
  np.testing.assert_array_equal(reflected.numpy()[0, :3], [3, 2, 1])
  valid = spectral_ops.pad(x, 4, 2, padding='valid')
  np.testing.assert_array_equal(valid.numpy(), x)


def test_pad_end_stft_is_consistent():
  audio = noise((2, 3001), seed=5)
  padded = spectral_ops.pad(audio, 512, 128, padding='same')
  s_padded = spectral_ops.stft(padded, 512, 0.75, pad_end=False)
  s_pad_end = spectral_ops.stft(audio, 512, 0.75, pad_end=True)
  np.testing.assert_allclose(s_padded.numpy(), s_pad_end.numpy(), atol=1e-4)


def test_pad_same_with_unknown_length_in_tf_function():
  @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
  def pad_same(x):
    return spectral_ops.pad(x, 1024, 200, padding='same')

  for n in (16000, 3333):
    expected = spectral_ops.get_framed_lengths(n, 1024, 200, 'same')[1]
    assert pad_same(noise((3, n))).shape == (3, expected)


# ----------------------------------------------------------------------------
# A-weighting, loudness, RMS and power.
# ----------------------------------------------------------------------------
def test_a_weighting_matches_librosa():
  freqs = np.array([20.0, 50.0, 100.0, 440.0, 1000.0, 2500.0, 8000.0,
                    16000.0, 20000.0])
  np.testing.assert_allclose(spectral_ops._a_weighting_db(freqs),
                             librosa.A_weighting(freqs), atol=0.01)
  assert abs(spectral_ops._a_weighting_db(1000.0)) < 0.01
  assert spectral_ops._a_weighting_db(0.0) == -80.0


@pytest.mark.parametrize('use_tf', [True, False])
@pytest.mark.parametrize('amp', [1.0, 0.3, 0.01])
def test_loudness_of_1khz_sine_is_its_mean_square_in_db(use_tf, amp):
  loudness = np.asarray(spectral_ops.compute_loudness(
      sine(1000.0, amp), use_tf=use_tf, normalized=True))
  interior = loudness[5:-5]  # Edge frames hold padding zeros.
  np.testing.assert_allclose(interior, 20.0 * np.log10(amp / np.sqrt(2.0)),
                             atol=0.05)


def test_loudness_of_nyquist_tone_and_odd_frame_size():
  # x[n] = A (-1)^n sits in the Nyquist bin alone; its mean square is A^2.
  nyquist = 0.5 * (-1.0)**np.arange(4000)
  loudness = spectral_ops.compute_loudness(
      nyquist, normalized=True).numpy()[5:-5]
  expected = 20.0 * np.log10(0.5) + librosa.A_weighting(SR / 2.0)
  np.testing.assert_allclose(loudness, expected, atol=0.01)
  # A frame size that is not a power of two is zero-padded to 1024 points.
  audio = sine(1000.0, 0.5, n_samples=9600, sample_rate=48000)
  loudness = spectral_ops.compute_loudness(audio, sample_rate=48000,
                                           n_fft=1000,
                                           normalized=True).numpy()[5:-5]
  np.testing.assert_allclose(loudness, 20.0 * np.log10(0.5 / np.sqrt(2.0)),
                             atol=0.05)


@pytest.mark.parametrize('use_tf', [True, False])
@pytest.mark.parametrize('sample_rate,n_fft', [(16000, 512), (44100, 2048)])
def test_loudness_default_is_the_unnormalized_a_weighted_stft(
    use_tf, sample_rate, n_fft):
  """The default level: mean over rfft bins of |STFT|^2 * A-weighting, in dB.

  The reference is librosa's STFT (periodic Hann, no centring, on audio padded
  by n_fft // 2 on each side) and librosa's A-weighting curve.
  """
  audio = noise(sample_rate // 10, seed=31) * 0.3
  hop = sample_rate // 250
  padded = np.pad(audio.astype(np.float64), n_fft // 2)
  spectrum = librosa.stft(padded, n_fft=n_fft, hop_length=hop, center=False)
  freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
  with np.errstate(divide='ignore'):
    weighting = 10.0**(librosa.A_weighting(freqs, min_db=-80.0) / 10.0)
  power = np.mean(np.abs(spectrum.T)**2 * weighting, axis=-1)
  expected = np.maximum(10.0 * np.log10(np.maximum(power, 1e-20)), -80.0)
  loudness = np.asarray(spectral_ops.compute_loudness(
      audio, sample_rate=sample_rate, n_fft=n_fft, use_tf=use_tf))
  np.testing.assert_allclose(loudness, expected, atol=2e-3)
  # A full-scale 1 kHz sine is about +20 dB at n_fft=512 on this scale.
  if n_fft == 512:
    sine_db = np.asarray(spectral_ops.compute_loudness(sine(1000.0, 1.0)))
    assert 19.0 < np.median(sine_db) < 22.0


@pytest.mark.parametrize('frame_size', [512, 400])
def test_loudness_weights_follow_parseval(frame_size):
  """Without A-weighting, the mean over bins is the windowed mean square."""
  fft_length = 512
  frame = noise(frame_size, seed=12).astype(np.float64) + 0.3  # Has DC.
  window = scipy.signal.get_window('hann', frame_size, fftbins=True)
  power = np.abs(np.fft.rfft(frame * window, n=fft_length))**2
  freqs = np.fft.rfftfreq(fft_length, 1.0 / SR)
  weights = spectral_ops._loudness_weights(SR, frame_size)
  with np.errstate(divide='ignore'):  # 0 Hz: librosa floors it at -80 dB.
    a_weighting_db = librosa.A_weighting(freqs, min_db=-80.0)
  unweighted = weights / 10.0**(a_weighting_db / 10.0)
  np.testing.assert_allclose(np.mean(power * unweighted),
                             np.sum((frame * window)**2) / np.sum(window**2),
                             rtol=1e-9)


def test_loudness_changes_by_20_db_for_10x_amplitude():
  loud = spectral_ops.compute_loudness(sine(1000.0, 0.5)).numpy()
  quiet = spectral_ops.compute_loudness(sine(1000.0, 0.05)).numpy()
  np.testing.assert_allclose((loud - quiet)[5:-5], 20.0, atol=1e-3)


@pytest.mark.parametrize('freq', [250.0, 440.0, 4000.0])
def test_loudness_applies_a_weighting_as_power(freq):
  loudness = spectral_ops.compute_loudness(
      sine(freq, 0.5), normalized=True).numpy()[5:-5]
  expected = 20.0 * np.log10(0.5 / np.sqrt(2.0)) + librosa.A_weighting(freq)
  np.testing.assert_allclose(loudness, expected, atol=0.1)


def test_loudness_of_silence_is_minus_range():
  for use_tf in (True, False):
    loudness = np.asarray(spectral_ops.compute_loudness(
        np.zeros((2, 4000)), use_tf=use_tf))
    np.testing.assert_array_equal(loudness, -spectral_ops.DB_RANGE)
  quiet = spectral_ops.compute_loudness(np.zeros(4000), range_db=40.0)
  np.testing.assert_array_equal(quiet.numpy(), -40.0)


def test_loudness_ref_db_shifts_result():
  audio = sine(1000.0, 0.5)
  base = spectral_ops.compute_loudness(audio).numpy()
  shifted = spectral_ops.compute_loudness(audio, ref_db=-6.0).numpy()
  np.testing.assert_allclose((shifted - base)[5:-5], 6.0, atol=1e-4)


@pytest.mark.parametrize('n_fft', [512, 2048])
@pytest.mark.parametrize('padding', ['center', 'same', 'valid'])
def test_loudness_tf_and_np_are_consistent(n_fft, padding):
  audio = noise((2, 6000), seed=6) * np.array([[1.0], [1e-3]], np.float32)
  kwargs = dict(n_fft=n_fft, padding=padding)
  loudness_tf = spectral_ops.compute_loudness(audio, use_tf=True, **kwargs)
  loudness_np = spectral_ops.compute_loudness(audio, use_tf=False, **kwargs)
  assert loudness_np.dtype == np.float32
  np.testing.assert_allclose(loudness_np, loudness_tf.numpy(), atol=1e-3)
  loudness_1d = spectral_ops.compute_loudness(audio[1], use_tf=False, **kwargs)
  np.testing.assert_allclose(loudness_1d, loudness_tf.numpy()[1], atol=1e-3)


@pytest.mark.parametrize('sample_rate,frame_rate', [
    (16000, 250), (24000, 250), (48000, 250), (44100, 100)])
@pytest.mark.parametrize('padding', ['center', 'same', 'valid'])
def test_loudness_and_power_lengths(sample_rate, frame_rate, padding):
  n_samples = sample_rate // 4 + 37
  audio = noise((2, n_samples), seed=7)
  hop = sample_rate // frame_rate
  loudness = spectral_ops.compute_loudness(
      audio, sample_rate, frame_rate, n_fft=1024, padding=padding)
  power = spectral_ops.compute_power(audio, sample_rate, frame_rate,
                                     frame_size=1024, padding=padding)
  expected = spectral_ops.get_framed_lengths(n_samples, 1024, hop, padding)[0]
  assert loudness.shape == (2, expected) and power.shape == (2, expected)
  assert np.all(np.isfinite(loudness)) and np.all(np.isfinite(power))


def test_loudness_and_power_batch_rows_equal_single_examples():
  audio = np.stack([sine(440.0, 0.8), noise(8000, 8) * 0.1,
                    np.zeros(8000, np.float32)])
  for fn in (spectral_ops.compute_loudness, spectral_ops.compute_power):
    batch = fn(audio).numpy()
    assert batch.shape == (3, 8000 // 64 + 1)
    for b in range(3):
      single = fn(audio[b]).numpy()
      assert single.shape == (8000 // 64 + 1,)
      np.testing.assert_allclose(batch[b], single, atol=1e-4)


@pytest.mark.parametrize('amp', [1.0, 0.05])
def test_rms_and_power_of_a_sine(amp):
  # 500 Hz: every 512-sample frame holds exactly 16 periods.
  audio = sine(500.0, amp)
  rms = spectral_ops.compute_rms_energy(audio, frame_size=512).numpy()
  np.testing.assert_allclose(rms[5:-5], amp / np.sqrt(2.0), rtol=1e-4)
  power = spectral_ops.compute_power(audio, frame_size=512).numpy()
  np.testing.assert_allclose(power[5:-5], 20.0 * np.log10(amp / np.sqrt(2.0)),
                             atol=1e-3)
  # The first 'center' frame holds 256 zeros, then 256 signal samples.
  np.testing.assert_allclose(rms[0], amp / 2.0, rtol=1e-3)


def test_rms_of_constant_and_silence():
  rms = spectral_ops.compute_rms_energy(np.full((2, 2000), -0.25),
                                        padding='valid').numpy()
  np.testing.assert_allclose(rms, 0.25, rtol=1e-6)
  power = spectral_ops.compute_power(np.zeros(2000)).numpy()
  np.testing.assert_array_equal(power, -spectral_ops.DB_RANGE)


# ----------------------------------------------------------------------------
# Numerics, graphs and XLA.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('scale', [0.0, 1e-30, 1e-12])
def test_silence_and_tiny_inputs_are_finite_with_finite_gradients(scale):
  audio = tf.constant(noise((2, 2048), seed=9) * scale)
  fns = {
      'mag': spectral_ops.compute_mag,
      'logmag': spectral_ops.compute_logmag,
      'logmel': spectral_ops.compute_logmel,
      'mfcc': spectral_ops.compute_mfcc,
      'rms': spectral_ops.compute_rms_energy,
      'power': spectral_ops.compute_power,
      'loudness': spectral_ops.compute_loudness,
  }
  for name, fn in fns.items():
    with tf.GradientTape() as tape:
      tape.watch(audio)
      out = fn(audio)
      total = tf.reduce_sum(out)
    grad = tape.gradient(total, audio)
    assert np.all(np.isfinite(out.numpy())), name
    assert np.all(np.isfinite(grad.numpy())), name
  np_loudness = spectral_ops.compute_loudness(audio.numpy(), use_tf=False)
  assert np.all(np.isfinite(np_loudness))


def test_tf_function_with_unknown_batch_size():
  fns = {
      'stft': lambda x: tf.abs(spectral_ops.stft(x, 512, 0.75)),
      'mfcc': spectral_ops.compute_mfcc,
      'power': spectral_ops.compute_power,
      'loudness': spectral_ops.compute_loudness,
  }
  audio = noise((3, 4000), seed=10)
  for name, fn in fns.items():
    graph_fn = tf.function(
        fn, input_signature=[tf.TensorSpec([None, 4000], tf.float32)])
    np.testing.assert_allclose(graph_fn(audio).numpy(), fn(audio).numpy(),
                               atol=1e-3, err_msg=name)
    assert graph_fn(audio[:1]).shape[0] == 1, name


def test_xla_matches_eager():
  audio = noise((2, 4000), seed=11)
  fns = {
      'stft': lambda x: spectral_ops.stft(x, 512, 0.75),
      'mag': lambda x: spectral_ops.compute_mag(x, size=1024),
      'loudness': spectral_ops.compute_loudness,
  }
  for name, fn in fns.items():
    xla_fn = tf.function(fn, jit_compile=True)
    np.testing.assert_allclose(xla_fn(audio).numpy(), fn(audio).numpy(),
                               atol=1e-3, err_msg=name)


# ----------------------------------------------------------------------------
# pad_or_trim_to_expected_length.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('use_tf', [True, False])
@pytest.mark.parametrize('batched', [True, False])
def test_pad_or_trim_to_expected_length(use_tf, batched):
  vector = np.arange(1.0, 11.0, dtype=np.float32)
  vector = np.stack([vector, -vector]) if batched else vector
  fn = spectral_ops.pad_or_trim_to_expected_length

  padded = np.asarray(fn(vector, 13, pad_value=-7, use_tf=use_tf))
  assert padded.shape == vector.shape[:-1] + (13,)
  np.testing.assert_array_equal(padded[..., :10], vector)
  np.testing.assert_array_equal(padded[..., 10:], -7)

  trimmed = np.asarray(fn(vector, 6, use_tf=use_tf))
  np.testing.assert_array_equal(trimmed, vector[..., :6])
  np.testing.assert_array_equal(np.asarray(fn(vector, 10, use_tf=use_tf)),
                                vector)
  assert isinstance(fn(vector, 12, use_tf=use_tf), tf.Tensor) == use_tf

  with pytest.raises(ValueError, match='len_tolerance=3'):
    fn(vector, 14, len_tolerance=3, use_tf=use_tf)


def test_pad_or_trim_with_unknown_length_in_tf_function():
  @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
  def fit(x):
    return spectral_ops.pad_or_trim_to_expected_length(x, 8, use_tf=True)

  out = fit(np.ones((2, 5), np.float32)).numpy()
  np.testing.assert_array_equal(out, [[1] * 5 + [0] * 3] * 2)
  assert fit(np.ones((2, 11), np.float32)).shape == (2, 8)
  with pytest.raises(tf.errors.InvalidArgumentError):
    fit(np.ones((2, 40), np.float32))


# ----------------------------------------------------------------------------
# Bad input.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs,match', [
    (dict(sample_rate=0), 'sample_rate=0'),
    (dict(frame_rate=-250), 'frame_rate=-250'),
    (dict(frame_rate=20000), 'frame_rate=20000'),
    (dict(padding='full'), "padding='full'"),
    (dict(n_fft=32), 'frame_size=32'),  # Hop 64 > frame 32.
])
def test_loudness_rejects_bad_arguments(kwargs, match):
  for use_tf in (True, False):
    with pytest.raises(ValueError, match=match):
      spectral_ops.compute_loudness(np.zeros(4000), use_tf=use_tf, **kwargs)


@pytest.mark.parametrize('fn', [spectral_ops.compute_rms_energy,
                                spectral_ops.compute_power])
def test_rms_and_power_reject_bad_rates(fn):
  with pytest.raises(ValueError, match='frame_rate=20000'):
    fn(np.zeros(4000), frame_rate=20000)


@pytest.mark.parametrize('padding', ['center', 'same'])
def test_rates_that_do_not_divide_round_the_hop_down(padding):
  """As the original: 44.1 kHz at 250 frames/s frames every 176 samples."""
  n_samples = 44100 // 2
  audio = np.random.default_rng(0).standard_normal(n_samples)
  expected = n_samples // 176 + 1 if padding == 'center' else -(
      -n_samples // 176)
  for fn in (spectral_ops.compute_loudness, spectral_ops.compute_rms_energy,
             spectral_ops.compute_power):
    features = fn(audio, sample_rate=44100, frame_rate=250, padding=padding)
    assert np.asarray(features).shape == (expected,), fn.__name__
  rms = np.asarray(spectral_ops.compute_rms_energy(
      audio, sample_rate=44100, frame_rate=250, frame_size=512,
      padding='valid'))
  frames = np.stack([audio[i * 176:i * 176 + 512]
                     for i in range((n_samples - 512) // 176 + 1)])
  np.testing.assert_allclose(rms, np.sqrt(np.mean(frames**2, axis=-1)),
                             rtol=1e-4)
  with pytest.raises(ValueError, match='sample_rate=-16000'):
    fn(np.zeros(4000), sample_rate=-16000)
  with pytest.raises(ValueError, match="padding='edges'"):
    fn(np.zeros(4000), padding='edges')


@pytest.mark.parametrize('shape', [(), (2, 3, 4, 100), (2, 100, 2)])
def test_wrong_audio_rank_is_rejected(shape):
  audio = np.zeros(shape, np.float32)
  shape_text = str(list(shape)).replace('[', r'\[').replace(']', r'\]')
  for fn in (spectral_ops.stft, spectral_ops.stft_np, spectral_ops.compute_mag,
             spectral_ops.compute_rms_energy, spectral_ops.compute_loudness,
             lambda x: spectral_ops.compute_loudness(x, use_tf=False)):
    with pytest.raises(ValueError, match=shape_text):
      fn(audio)


@pytest.mark.parametrize('overlap', [1.0, -0.1, 1.5])
def test_stft_rejects_overlap_outside_unit_interval(overlap):
  with pytest.raises(ValueError, match=f'overlap={overlap}'):
    spectral_ops.stft(np.zeros(4096), overlap=overlap)
  with pytest.raises(ValueError, match=f'overlap={overlap}'):
    spectral_ops.stft_np(np.zeros(4096), overlap=overlap)


def test_stft_rejects_zero_hop_and_bad_frame_size():
  with pytest.raises(ValueError, match='frame_size=4, overlap=0.9'):
    spectral_ops.stft(np.zeros(100), frame_size=4, overlap=0.9)
  with pytest.raises(ValueError, match='frame_size=0'):
    spectral_ops.compute_mag(np.zeros(100), size=0)


def test_pad_and_framed_lengths_reject_bad_arguments():
  with pytest.raises(ValueError, match='hop_size=300'):
    spectral_ops.pad(np.zeros((1, 1000)), 256, 300)
  with pytest.raises(ValueError, match="padding='causal'"):
    spectral_ops.pad(np.zeros((1, 1000)), 256, 64, padding='causal')
  with pytest.raises(ValueError, match='axis=1'):
    spectral_ops.pad(np.zeros(1000), 256, 64, padding='same')  # 1-D.
  with pytest.raises(ValueError, match="padding='causal'"):
    spectral_ops.get_framed_lengths(1000, 256, 64, padding='causal')
  with pytest.raises(ValueError, match='input_length=-5'):
    spectral_ops.get_framed_lengths(-5, 256, 64)
  with pytest.raises(ValueError, match='hop_size=0'):
    spectral_ops.get_framed_lengths(1000, 256, 0)


def test_mel_and_mfcc_reject_bad_arguments():
  audio = np.zeros(4096)
  with pytest.raises(ValueError, match='hi_hz=9000'):
    spectral_ops.compute_mel(audio, hi_hz=9000.0)
  with pytest.raises(ValueError, match='lo_hz=500'):
    spectral_ops.compute_logmel(audio, lo_hz=500.0, hi_hz=400.0)
  with pytest.raises(ValueError, match='mfcc_bins=20, mel_bins=16'):
    spectral_ops.compute_mfcc(audio, mel_bins=16, mfcc_bins=20)


def test_pad_or_trim_rejects_bad_arguments():
  with pytest.raises(ValueError, match='expected_len=-1'):
    spectral_ops.pad_or_trim_to_expected_length(np.zeros(5), -1)
  with pytest.raises(ValueError, match=r'shape \[\]'):
    spectral_ops.pad_or_trim_to_expected_length(np.float32(3.0), 5)
