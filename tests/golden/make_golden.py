"""Writes the golden fixtures: magenta/ddsp v3.7.0's outputs on fixed inputs.

Run with the original's environment (it imports `ddsp`, the original):

  TF_USE_LEGACY_KERAS=1 /tmp/ref/venv/bin/python tests/golden/make_golden.py

Each output file `<group>.npz` holds, for every case, its array inputs
(`<case>/a<i>` positional, `<case>/k_<name>` keyword), its output(s)
(`<case>/out`, `<case>/out<i>` for tuples, `<case>/out_<key>` for dicts)
and one JSON string
`__spec__` listing the cases: the function (or Processor class) name, which
positional arguments are arrays and the scalar keyword arguments. The tests
(tests/test_golden.py) read only these files; they never import the original.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf

import ddsp
from ddsp import core
from ddsp import effects
from ddsp import losses
from ddsp import processors
from ddsp import spectral_ops
from ddsp import synths

HERE = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(20261206)


def f32(x):
  return np.asarray(x, np.float32)


def uniform(lo, hi, *shape):
  return f32(RNG.uniform(lo, hi, shape))


def normal(*shape, scale=1.0):
  return f32(RNG.standard_normal(shape) * scale)


def smooth(lo, hi, batch, n_frames, channels=None):
  """A slowly varying positive control, [batch, n_frames(, channels)]."""
  t = np.linspace(0.0, 1.0, n_frames)[None, :]
  phase = RNG.uniform(0, 2 * np.pi, (batch, 1))
  base = 0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t + phase)
  out = lo + (hi - lo) * base
  if channels is not None:
    scale = RNG.uniform(0.2, 1.0, (batch, 1, channels))
    out = out[..., None] * scale
  return f32(out)


def to_numpy(x):
  if isinstance(x, (tuple, list)):
    return [to_numpy(v) for v in x]
  if isinstance(x, dict):
    return {k: to_numpy(v) for k, v in x.items()}
  return np.asarray(x.numpy() if hasattr(x, 'numpy') else x)


class Group:
  """Collects the cases of one .npz file."""

  def __init__(self, name):
    self.name = name
    self.arrays = {}
    self.spec = []
    self._keys_by_content = {}

  def _store(self, key, value):
    """Stores an array once; identical arrays share the first key."""
    value = np.asarray(value)
    content = (value.dtype.str, value.shape, value.tobytes())
    if content in self._keys_by_content:
      return self._keys_by_content[content]
    self._keys_by_content[content] = key
    self.arrays[key] = value
    return key

  def case(self, case, fn_name, fn, *args, **kwargs):
    """Runs fn(*args, **kwargs) in the original and records it."""
    self._record(case, 'function', fn_name, fn, args, kwargs, {})

  def layer(self, case, cls_name, cls, init, *args):
    """Builds cls(**init), calls it on args and records it."""
    def run(*call_args):
      return cls(**init)(*call_args)
    self._record(case, 'layer', cls_name, run, args, {}, init)

  def _record(self, case, kind, fn_name, fn, args, kwargs, init):
    assert all(not c['case'] == case for c in self.spec), case
    # The original modifies some numpy arguments in place (e.g.
    # sinc_impulse_response's cutoff_frequency *= ...): call it on copies.
    call_args = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    call_kwargs = {k: np.copy(v) if isinstance(v, np.ndarray) else v
                   for k, v in kwargs.items()}
    try:
      out = fn(*call_args, **call_kwargs)
      out = to_numpy(out)
    except Exception as e:  # pylint: disable=broad-except
      print(f'  SKIP {self.name}/{case}: the original raised '
            f'{type(e).__name__}: {str(e)[:120]}')
      return
    entry = {'case': case, 'kind': kind, 'fn': fn_name, 'args': [],
             'kwargs': {}, 'array_kwargs': [], 'init': init}
    for i, a in enumerate(args):
      if isinstance(a, np.ndarray):
        entry['args'].append({'array': self._store(f'{case}/a{i}', a)})
      else:
        entry['args'].append({'value': a})
    for k, v in kwargs.items():
      if isinstance(v, np.ndarray):
        entry['array_kwargs'].append([k, self._store(f'{case}/k_{k}', v)])
      else:
        entry['kwargs'][k] = v
    if isinstance(out, dict):
      entry['out'] = {k: self._store(f'{case}/out_{k}', o)
                      for k, o in out.items()}
    elif isinstance(out, list):
      entry['out'] = [self._store(f'{case}/out{i}', o)
                      for i, o in enumerate(out)]
    else:
      entry['out'] = self._store(f'{case}/out', out)
    self.spec.append(entry)

  def save(self):
    path = os.path.join(HERE, f'{self.name}.npz')
    np.savez_compressed(path, __spec__=np.array(json.dumps(self.spec)),
                        **self.arrays)
    print(f'{path}: {len(self.spec)} cases, {os.path.getsize(path)} bytes')


def core_cases():
  g = Group('core')
  c = g.case
  notes = uniform(0.0, 127.0, 2, 7)
  notes[0, 0] = 0.0
  hz = uniform(20.0, 8000.0, 2, 7)
  unit = uniform(-0.2, 1.2, 2, 7)
  c('midi_to_hz', 'midi_to_hz', core.midi_to_hz, notes)
  c('midi_to_hz_silence', 'midi_to_hz', core.midi_to_hz, notes,
    midi_zero_silence=True)
  c('hz_to_midi', 'hz_to_midi', core.hz_to_midi, hz)
  c('hz_to_midi_zero', 'hz_to_midi', core.hz_to_midi, f32([0.0, 1e-3, 440.0]))
  c('unit_to_midi', 'unit_to_midi', core.unit_to_midi, unit)
  c('unit_to_midi_clip', 'unit_to_midi', core.unit_to_midi, unit,
    midi_min=30.0, midi_max=100.0, clip=True)
  c('midi_to_unit', 'midi_to_unit', core.midi_to_unit, notes, clip=True)
  c('unit_to_hz', 'unit_to_hz', core.unit_to_hz, unit, 20.0, 8000.0)
  c('unit_to_hz_clip', 'unit_to_hz', core.unit_to_hz, unit, hz_min=20.0,
    hz_max=8000.0, clip=True)
  c('hz_to_unit', 'hz_to_unit', core.hz_to_unit, hz, 20.0, 8000.0)
  c('hz_to_unit_clip', 'hz_to_unit', core.hz_to_unit, hz, hz_min=100.0,
    hz_max=4000.0, clip=True)
  for fn in ('hz_to_bark', 'hz_to_mel', 'hz_to_erb'):
    c(fn, fn, getattr(core, fn), hz)
  c('bark_to_hz', 'bark_to_hz', core.bark_to_hz, uniform(0.0, 24.0, 2, 7))
  c('mel_to_hz', 'mel_to_hz', core.mel_to_hz, uniform(0.0, 3000.0, 2, 7))
  amp = uniform(0.0, 2.0, 2, 9)
  amp[0, :3] = [0.0, 1e-6, 1e-3]
  c('amplitude_to_db', 'amplitude_to_db', core.amplitude_to_db, amp)
  c('amplitude_to_db_ref', 'amplitude_to_db', core.amplitude_to_db, amp,
    ref_db=20.0, range_db=60.0)
  c('amplitude_to_db_np', 'amplitude_to_db', core.amplitude_to_db, amp,
    use_tf=False)
  c('power_to_db', 'power_to_db', core.power_to_db, amp, ref_db=3.0)
  c('power_to_db_np', 'power_to_db', core.power_to_db, amp, use_tf=False)
  db = uniform(-90.0, 10.0, 2, 9)
  c('db_to_amplitude', 'db_to_amplitude', core.db_to_amplitude, db)
  c('db_to_power', 'db_to_power', core.db_to_power, db)
  x = normal(2, 11, scale=3.0)
  pos = uniform(0.0, 5.0, 2, 11)
  pos[0, 0] = 0.0
  c('safe_log', 'safe_log', core.safe_log, pos)
  c('logb', 'logb', core.logb, pos, base=3.0)
  c('log10', 'log10', core.log10, pos)
  c('log_scale', 'log_scale', core.log_scale, uniform(0.0, 1.0, 2, 11),
    20.0, 8000.0)
  c('soft_limit', 'soft_limit', core.soft_limit, x, x_min=-1.0, x_max=2.0)
  c('safe_divide', 'safe_divide', core.safe_divide, x, pos)
  nan_x = x.copy()
  nan_x[0, :2] = np.nan
  c('nan_to_num', 'nan_to_num', core.nan_to_num, nan_x, value=-1.0)
  c('pad_axis', 'pad_axis', core.pad_axis, x, padding=(2, 3), axis=1)
  c('exp_sigmoid', 'exp_sigmoid', core.exp_sigmoid, x)
  c('exp_sigmoid_args', 'exp_sigmoid', core.exp_sigmoid, x, exponent=4.0,
    max_value=3.0, threshold=1e-3)
  c('sym_exp_sigmoid', 'sym_exp_sigmoid', core.sym_exp_sigmoid, x, width=6.0)
  logits = normal(2, 5, 12)
  c('frequencies_softmax', 'frequencies_softmax', core.frequencies_softmax,
    logits, depth=4)
  c('frequencies_softmax_d1', 'frequencies_softmax',
    core.frequencies_softmax, logits[..., :1], hz_min=30.0, hz_max=4000.0)
  c('frequencies_sigmoid', 'frequencies_sigmoid', core.frequencies_sigmoid,
    logits[..., :4], depth=1)
  c('frequencies_sigmoid_depth', 'frequencies_sigmoid',
    core.frequencies_sigmoid, logits, depth=3, hz_min=20.0, hz_max=8000.0)
  c('frequencies_critical_bands', 'frequencies_critical_bands',
    core.frequencies_critical_bands, logits, depth=3)
  c('frequencies_critical_bands_mel', 'frequencies_critical_bands',
    core.frequencies_critical_bands, logits, depth=2, scale='mel',
    depth_scale=5.0, bandwidth_scale=2.0)
  c('frequencies_critical_bands_erb', 'frequencies_critical_bands',
    core.frequencies_critical_bands, logits, depth=4, scale='erb')

  # Resampling: odd sizes, n_frames that do not divide n_samples.
  frames = normal(2, 7, 3)
  for method in ('nearest', 'linear', 'cubic', 'window'):
    n_up = 98 if method == 'window' else 100
    c(f'resample_{method}', 'resample', core.resample, frames, n_up,
      method=method)
    c(f'resample_{method}_noend', 'resample', core.resample, frames,
      96 if method == 'window' else 97, method=method, add_endpoint=False)
  c('resample_2d', 'resample', core.resample, frames[..., 0], 50)
  c('resample_1d', 'resample', core.resample, frames[0, :, 0], 50)
  c('resample_down', 'resample', core.resample, normal(1, 40, 2), 13)
  c('upsample_with_windows', 'upsample_with_windows',
    core.upsample_with_windows, frames, 91)
  c('upsample_with_windows_noend', 'upsample_with_windows',
    core.upsample_with_windows, frames, 96, add_endpoint=False)
  c('center_crop', 'center_crop', core.center_crop, normal(2, 1000), 64)

  # Oscillators.
  # 'window' upsampling needs n_frames to divide n_samples; the 'linear'
  # cases use 1001 samples so that they do not.
  n_frames, n_samples, sr = 10, 1000, 16000
  f0 = smooth(80.0, 900.0, 2, n_frames, 1)[..., :1]
  f0_b1 = f0[:1]
  amps = smooth(0.0, 1.0, 2, n_frames, 1)[..., :1]
  hd = uniform(0.0, 1.0, 2, n_frames, 12)
  c('get_harmonic_frequencies', 'get_harmonic_frequencies',
    core.get_harmonic_frequencies, f0, n_harmonics=6)
  freq_env = uniform(50.0, 9000.0, 2, 50, 5)
  amp_env = uniform(0.0, 1.0, 2, 50, 5)
  c('remove_above_nyquist', 'remove_above_nyquist',
    core.remove_above_nyquist, freq_env, amp_env)
  c('remove_above_nyquist_sr', 'remove_above_nyquist',
    core.remove_above_nyquist, freq_env, amp_env, sample_rate=12000)
  c('normalize_harmonics', 'normalize_harmonics', core.normalize_harmonics,
    hd)
  c('normalize_harmonics_nyquist', 'normalize_harmonics',
    core.normalize_harmonics, hd, f0_hz=f0, sample_rate=8000)
  c('harmonic_to_sinusoidal', 'harmonic_to_sinusoidal',
    core.harmonic_to_sinusoidal, amps, hd, f0, sample_rate=8000)
  sin_freqs = core.get_harmonic_frequencies(f0, 6).numpy() * uniform(
      0.97, 1.03, 2, n_frames, 6)
  sin_amps = uniform(0.0, 1.0, 2, n_frames, 6)
  c('sinusoidal_to_harmonic', 'sinusoidal_to_harmonic',
    core.sinusoidal_to_harmonic, sin_amps, sin_freqs, f0, n_harmonics=8)
  c('sinusoidal_to_harmonic_norm', 'sinusoidal_to_harmonic',
    core.sinusoidal_to_harmonic, sin_amps, sin_freqs, f0, harmonic_width=0.3,
    n_harmonics=8, sample_rate=16000, normalize=True)
  ang = uniform(0.0, 0.5, 2, 3001, 2)
  c('angular_cumsum', 'angular_cumsum', core.angular_cumsum, ang)
  c('angular_cumsum_chunk', 'angular_cumsum', core.angular_cumsum, ang,
    chunk_size=500)
  c('angular_cumsum_short', 'angular_cumsum', core.angular_cumsum,
    ang[:, :700], chunk_size=100)
  fe = np.repeat(uniform(50.0, 9000.0, 2, 1, 4), 800, axis=1)
  fe = f32(fe * np.linspace(0.9, 1.1, 800)[None, :, None])
  ae = uniform(0.0, 0.5, 2, 800, 4)
  c('oscillator_bank', 'oscillator_bank', core.oscillator_bank, fe, ae)
  c('oscillator_bank_nosum', 'oscillator_bank', core.oscillator_bank, fe, ae,
    sample_rate=22050, sum_sinusoids=False)
  c('oscillator_bank_angular', 'oscillator_bank', core.oscillator_bank, fe,
    ae, use_angular_cumsum=True)
  f_s = f32(np.linspace(100.0, 3000.0, 800)[None, :, None] *
            uniform(0.8, 1.2, 2, 1, 1))
  ae6 = uniform(0.0, 0.3, 2, 800, 6)
  c('harmonic_oscillator_bank', 'harmonic_oscillator_bank',
    core.harmonic_oscillator_bank, f_s, ae6)
  c('harmonic_oscillator_bank_phase', 'harmonic_oscillator_bank',
    core.harmonic_oscillator_bank, f_s, ae6,
    initial_phase=uniform(-3.0, 3.0, 2, 1, 1), use_angular_cumsum=False)
  c('harmonic_synthesis', 'harmonic_synthesis', core.harmonic_synthesis,
    f0, amps, harmonic_distribution=hd, n_samples=n_samples, sample_rate=sr)
  c('harmonic_synthesis_linear', 'harmonic_synthesis',
    core.harmonic_synthesis, f0, amps, harmonic_distribution=hd,
    n_samples=1001, amp_resample_method='linear')
  c('harmonic_synthesis_shifts', 'harmonic_synthesis',
    core.harmonic_synthesis, f0, amps,
    harmonic_shifts=uniform(-0.05, 0.05, 2, n_frames, 12),
    harmonic_distribution=hd, n_samples=n_samples)
  c('harmonic_synthesis_noharm', 'harmonic_synthesis',
    core.harmonic_synthesis, f0, amps, n_samples=n_samples)
  c('harmonic_synthesis_angular', 'harmonic_synthesis',
    core.harmonic_synthesis, f0, amps, harmonic_distribution=hd,
    n_samples=n_samples, use_angular_cumsum=True)
  c('harmonic_synthesis_b1', 'harmonic_synthesis', core.harmonic_synthesis,
    f0_b1, amps, harmonic_distribution=hd, n_samples=n_samples)
  # 44.1 kHz at 250 frames/s, 0.4 s.
  f0_44 = smooth(100.0, 1200.0, 1, 100, 1)[..., :1]
  amps_44 = smooth(0.1, 0.8, 1, 100, 1)[..., :1]
  hd_44 = uniform(0.0, 1.0, 1, 100, 30)
  c('harmonic_synthesis_44k', 'harmonic_synthesis', core.harmonic_synthesis,
    f0_44, amps_44, harmonic_distribution=hd_44, n_samples=17600,
    sample_rate=44100)
  c('harmonic_synthesis_44k_linear', 'harmonic_synthesis',
    core.harmonic_synthesis, f0_44, amps_44, harmonic_distribution=hd_44,
    n_samples=17640, sample_rate=44100, amp_resample_method='linear')
  # A 4 s render at 16 kHz (phase accumulation over a long signal).
  f0_4s = smooth(200.0, 700.0, 1, 1000, 1)[..., :1]
  amps_4s = smooth(0.2, 0.6, 1, 1000, 1)[..., :1]
  hd_4s = uniform(0.0, 1.0, 1, 1000, 8)
  c('harmonic_synthesis_4s', 'harmonic_synthesis', core.harmonic_synthesis,
    f0_4s, amps_4s, harmonic_distribution=hd_4s, n_samples=64000)
  c('streaming_harmonic_synthesis', 'streaming_harmonic_synthesis',
    core.streaming_harmonic_synthesis, f0, amps, harmonic_distribution=hd,
    initial_phase=uniform(-3.0, 3.0, 2, 1, 1), n_samples=n_samples)
  c('streaming_harmonic_synthesis_window', 'streaming_harmonic_synthesis',
    core.streaming_harmonic_synthesis, f0, amps, harmonic_distribution=hd,
    n_samples=n_samples, amp_resample_method='window')

  # Wavetables.
  tables = normal(2, n_frames, 64)
  c('linear_lookup', 'linear_lookup', core.linear_lookup,
    uniform(0.0, 1.0, 2, 300, 1), normal(2, 300, 32))
  c('linear_lookup_single_table', 'linear_lookup', core.linear_lookup,
    uniform(0.0, 1.0, 2, 300, 1), normal(32))
  c('harmonic_distribution_to_wavetable',
    'harmonic_distribution_to_wavetable',
    core.harmonic_distribution_to_wavetable, hd, n_wavetable=128)
  c('wavetable_synthesis', 'wavetable_synthesis', core.wavetable_synthesis,
    f0, amps, tables, n_samples=n_samples)
  c('wavetable_synthesis_single', 'wavetable_synthesis',
    core.wavetable_synthesis, f0, amps, normal(2, 1, 64), n_samples=1000,
    sample_rate=22050)
  c('variable_length_delay', 'variable_length_delay',
    core.variable_length_delay, uniform(0.0, 1.0, 2, 500, 1),
    normal(2, 500), max_length=64)

  # Convolution and filters.
  c('get_fft_size', 'get_fft_size', core.get_fft_size, 1000, 301)
  c('get_fft_size_no2', 'get_fft_size', core.get_fft_size, 1000, 301,
    power_of_2=False)
  audio = normal(2, 1000)
  for padding, delay in (('same', -1), ('valid', -1), ('same', 0),
                         ('same', 5)):
    c(f'crop_and_compensate_delay_{padding}_{delay}',
      'crop_and_compensate_delay', core.crop_and_compensate_delay,
      normal(2, 1300), 1000, 301, padding, delay)
  ir_frames = normal(2, 4, 65)
  ir_single = normal(2, 1, 65)
  for padding in ('same', 'valid'):
    c(f'fft_convolve_{padding}', 'fft_convolve', core.fft_convolve, audio,
      ir_frames, padding=padding)
    c(f'fft_convolve_single_{padding}', 'fft_convolve', core.fft_convolve,
      audio, ir_single, padding=padding)
  c('fft_convolve_delay', 'fft_convolve', core.fft_convolve, audio,
    ir_frames, delay_compensation=0)
  c('fft_convolve_rank2', 'fft_convolve', core.fft_convolve, audio,
    normal(2, 65))
  c('fft_convolve_odd_frames', 'fft_convolve', core.fft_convolve,
    normal(2, 1001), normal(2, 7, 33))
  c('fft_convolve_b1', 'fft_convolve', core.fft_convolve, audio,
    normal(1, 4, 65))
  c('apply_window_to_impulse_response', 'apply_window_to_impulse_response',
    core.apply_window_to_impulse_response, normal(2, 3, 64))
  c('apply_window_to_impulse_response_win', 'apply_window_to_impulse_response',
    core.apply_window_to_impulse_response, normal(2, 3, 64), window_size=31)
  c('apply_window_to_impulse_response_causal',
    'apply_window_to_impulse_response',
    core.apply_window_to_impulse_response, normal(2, 3, 64), window_size=40,
    causal=True)
  mags = uniform(0.0, 1.0, 2, 5, 33)
  c('frequency_impulse_response', 'frequency_impulse_response',
    core.frequency_impulse_response, mags)
  c('frequency_impulse_response_win', 'frequency_impulse_response',
    core.frequency_impulse_response, mags, window_size=33)
  c('sinc', 'sinc', core.sinc, f32(np.linspace(-4.0, 4.0, 41)))
  cutoff = uniform(0.05, 0.9, 2, 5, 1)
  c('sinc_impulse_response', 'sinc_impulse_response',
    core.sinc_impulse_response, cutoff, window_size=64)
  c('sinc_impulse_response_odd', 'sinc_impulse_response',
    core.sinc_impulse_response, cutoff, window_size=33)
  c('sinc_impulse_response_hp', 'sinc_impulse_response',
    core.sinc_impulse_response, cutoff, window_size=64, high_pass=True)
  c('sinc_impulse_response_hz', 'sinc_impulse_response',
    core.sinc_impulse_response, cutoff * 8000.0, window_size=64,
    sample_rate=16000)
  c('frequency_filter', 'frequency_filter', core.frequency_filter, audio,
    mags)
  c('frequency_filter_win_valid', 'frequency_filter', core.frequency_filter,
    audio, mags, window_size=31, padding='valid')
  c('sinc_filter', 'sinc_filter', core.sinc_filter, audio, cutoff,
    window_size=64)
  c('sinc_filter_hp_valid', 'sinc_filter', core.sinc_filter, audio,
    cutoff * 8000.0, window_size=33, sample_rate=16000, padding='valid',
    high_pass=True)
  g.save()


def spectral_cases():
  g = Group('spectral_ops')
  c = g.case
  t = np.arange(4000) / 16000.0
  audio = f32(0.5 * np.sin(2 * np.pi * 440.0 * t)[None, :] *
              np.array([[1.0], [0.3]]) + normal(2, 4000, scale=0.05))
  c('stft', 'stft', spectral_ops.stft, audio, frame_size=512, overlap=0.75)
  c('stft_nopad', 'stft', spectral_ops.stft, audio, frame_size=256,
    overlap=0.5, pad_end=False)
  c('stft_np', 'stft_np', spectral_ops.stft_np, audio, frame_size=512,
    overlap=0.75)
  c('compute_mag', 'compute_mag', spectral_ops.compute_mag, audio, size=512)
  c('compute_mel', 'compute_mel', spectral_ops.compute_mel, audio, bins=32,
    fft_size=512)
  c('compute_logmag', 'compute_logmag', spectral_ops.compute_logmag, audio,
    size=256)
  c('compute_logmel', 'compute_logmel', spectral_ops.compute_logmel, audio,
    bins=40, fft_size=1024)
  c('compute_mfcc', 'compute_mfcc', spectral_ops.compute_mfcc, audio,
    fft_size=512, mel_bins=64, mfcc_bins=20)
  for padding in ('center', 'same', 'valid'):
    c(f'get_framed_lengths_{padding}', 'get_framed_lengths',
      spectral_ops.get_framed_lengths, 1001, 256, 64, padding=padding)
    c(f'pad_{padding}', 'pad', spectral_ops.pad, audio[:, :1001], 256, 64,
      padding=padding)
    c(f'compute_rms_energy_{padding}', 'compute_rms_energy',
      spectral_ops.compute_rms_energy, audio, padding=padding)
    c(f'compute_power_{padding}', 'compute_power',
      spectral_ops.compute_power, audio, padding=padding)
    c(f'compute_loudness_{padding}', 'compute_loudness',
      spectral_ops.compute_loudness, audio, padding=padding)
  c('compute_loudness', 'compute_loudness', spectral_ops.compute_loudness,
    audio)
  c('compute_loudness_np', 'compute_loudness', spectral_ops.compute_loudness,
    audio, use_tf=False)
  c('compute_loudness_1d', 'compute_loudness', spectral_ops.compute_loudness,
    audio[0])
  c('compute_loudness_1d_np', 'compute_loudness',
    spectral_ops.compute_loudness, audio[0], use_tf=False)
  c('compute_loudness_ref', 'compute_loudness', spectral_ops.compute_loudness,
    audio, n_fft=2048, frame_rate=50, ref_db=20.7, range_db=120.0)
  audio_44 = f32(0.4 * np.sin(2 * np.pi * 1000.0 * np.arange(11025) / 44100)
                 [None, :] + normal(1, 11025, scale=0.02))
  c('compute_loudness_44k', 'compute_loudness', spectral_ops.compute_loudness,
    audio_44, sample_rate=44100, frame_rate=250, n_fft=2048)
  c('compute_loudness_44k_np', 'compute_loudness',
    spectral_ops.compute_loudness, audio_44, sample_rate=44100,
    frame_rate=250, n_fft=2048, use_tf=False)
  c('compute_loudness_44k_512', 'compute_loudness',
    spectral_ops.compute_loudness, audio_44, sample_rate=44100,
    frame_rate=250)
  c('compute_power_44k', 'compute_power', spectral_ops.compute_power,
    audio_44, sample_rate=44100, frame_rate=250, frame_size=1024)
  c('compute_loudness_silence', 'compute_loudness',
    spectral_ops.compute_loudness, np.zeros((1, 1000), np.float32))
  c('pad_or_trim_pad', 'pad_or_trim_to_expected_length',
    spectral_ops.pad_or_trim_to_expected_length, normal(2, 95), 100,
    pad_value=-1.0)
  c('pad_or_trim_trim', 'pad_or_trim_to_expected_length',
    spectral_ops.pad_or_trim_to_expected_length, normal(2, 105), 100)
  c('pad_or_trim_1d_tf', 'pad_or_trim_to_expected_length',
    spectral_ops.pad_or_trim_to_expected_length, normal(95), 100,
    use_tf=True)
  g.save()


def processor_cases():
  g = Group('processors')
  lay = g.layer
  n_frames, n_samples = 10, 1000
  amps = normal(2, n_frames, 1)
  hd = normal(2, n_frames, 12)
  f0 = smooth(80.0, 900.0, 2, n_frames, 1)[..., :1]
  lay('harmonic', 'synths.Harmonic', synths.Harmonic,
      {'n_samples': n_samples, 'sample_rate': 16000}, amps, hd, f0)
  lay('harmonic_linear', 'synths.Harmonic', synths.Harmonic,
      {'n_samples': 1001, 'amp_resample_method': 'linear',
       'normalize_below_nyquist': False}, amps, hd, f0)
  lay('harmonic_noscale', 'synths.Harmonic', synths.Harmonic,
      {'n_samples': n_samples, 'scale_fn': None},
      f32(np.abs(amps)), f32(np.abs(hd)), f0)
  lay('harmonic_44k', 'synths.Harmonic', synths.Harmonic,
      {'n_samples': 17600, 'sample_rate': 44100}, normal(1, 100, 1),
      normal(1, 100, 20), smooth(100.0, 1200.0, 1, 100, 1)[..., :1])
  lay('wavetable', 'synths.Wavetable', synths.Wavetable,
      {'n_samples': n_samples}, amps, normal(2, n_frames, 64), f0)
  lay('sinusoidal', 'synths.Sinusoidal', synths.Sinusoidal,
      {'n_samples': n_samples}, normal(2, n_frames, 5),
      normal(2, n_frames, 5))
  lay('sinusoidal_noscale', 'synths.Sinusoidal', synths.Sinusoidal,
      {'n_samples': n_samples, 'amp_scale_fn': None, 'freq_scale_fn': None},
      uniform(0.0, 0.5, 2, n_frames, 5),
      uniform(50.0, 7000.0, 2, n_frames, 5))
  lay('tensor_to_audio', 'synths.TensorToAudio', synths.TensorToAudio, {},
      normal(2, 300, 1))
  audio = normal(2, 1000)
  lay('reverb', 'effects.Reverb', effects.Reverb, {'trainable': False},
      audio, normal(2, 200))
  lay('reverb_rank1', 'effects.Reverb', effects.Reverb,
      {'trainable': False}, audio, normal(200))
  lay('reverb_nodry', 'effects.Reverb', effects.Reverb,
      {'trainable': False, 'add_dry': False}, audio, normal(2, 200))
  # ExpDecayReverb and FilteredNoiseReverb draw fresh noise at every call:
  # not deterministic, so not here.
  lay('fir_filter', 'effects.FIRFilter', effects.FIRFilter,
      {}, audio, normal(2, 5, 33))
  lay('fir_filter_noscale', 'effects.FIRFilter', effects.FIRFilter,
      {'scale_fn': None, 'window_size': 31}, audio,
      uniform(0.0, 1.0, 2, 5, 33))
  lay('mod_delay', 'effects.ModDelay', effects.ModDelay,
      {'center_ms': 10.0, 'depth_ms': 5.0}, audio, normal(2, 1000, 1),
      normal(2, 1000, 1))
  lay('mod_delay_noscale', 'effects.ModDelay', effects.ModDelay,
      {'center_ms': 8.0, 'depth_ms': 4.0, 'gain_scale_fn': None,
       'phase_scale_fn': None, 'add_dry': False},
      audio, uniform(0.0, 1.0, 2, 1000, 1), uniform(0.0, 1.0, 2, 1000, 1))
  lay('add', 'processors.Add', processors.Add, {}, audio, normal(2, 1000))
  lay('mix', 'processors.Mix', processors.Mix, {}, audio[..., None],
      normal(2, 1000, 1), normal(2, 1000, 1))
  lay('mix_frames', 'processors.Mix', processors.Mix, {}, audio[..., None],
      normal(2, 1000, 1), normal(2, 10, 1))
  lay('crop', 'processors.Crop', processors.Crop,
      {'frame_size': 64, 'crop_location': 'center'}, audio)
  lay('crop_front', 'processors.Crop', processors.Crop,
      {'frame_size': 64, 'crop_location': 'front'}, audio)
  lay('crop_back', 'processors.Crop', processors.Crop,
      {'frame_size': 64, 'crop_location': 'back'}, audio)
  g.save()


def losses_cases():
  """The deterministic losses, from their own random inputs."""
  rng = np.random.default_rng(20261207)

  def rand(lo, hi, *shape):
    return f32(rng.uniform(lo, hi, shape))

  g = Group('losses')
  c, lay = g.case, g.layer
  target, value = rand(-1.0, 1.0, 2, 30, 4), rand(-1.0, 1.0, 2, 30, 4)
  weights = rand(0.0, 1.0, 2, 30, 4)
  for loss_type in ('L1', 'L2', 'COSINE'):
    c(f'mean_difference_{loss_type}', 'mean_difference',
      losses.mean_difference, target, value, loss_type=loss_type)
  c('mean_difference_weights', 'mean_difference', losses.mean_difference,
    target, value, weights=weights)
  amps, amps_target = rand(0.0, 1.0, 2, 30, 1), rand(0.0, 1.0, 2, 30, 1)
  amps[0, :3] = 0.0
  c('amp_loss', 'amp_loss', losses.amp_loss, amps, amps_target)
  c('amp_loss_log_l2', 'amp_loss', losses.amp_loss, amps, amps_target,
    loss_type='L2', log=True)
  f0, f0_target = rand(50.0, 2000.0, 2, 30, 1), rand(50.0, 2000.0, 2, 30, 1)
  c('freq_loss', 'freq_loss', losses.freq_loss, f0, f0_target)
  c('freq_loss_weights', 'freq_loss', losses.freq_loss, f0, f0_target,
    weights=weights[..., :1])

  # Two different test signals of 0.5 s: a chirp plus noise, and a tone.
  t = np.arange(8000) / 16000.0
  audio = f32(0.5 * np.sin(2 * np.pi * (200 * t + 800 * t**2))[None]
              + 0.05 * rng.standard_normal((2, 8000)))
  audio_gen = f32(0.4 * np.sin(2 * np.pi * 330 * t)[None]
                  + 0.05 * rng.standard_normal((2, 8000)))
  lay('spectral_loss', 'SpectralLoss', losses.SpectralLoss, {}, audio,
      audio_gen)
  for option in ('logmag_weight', 'delta_time_weight', 'delta_freq_weight',
                 'cumsum_freq_weight', 'loudness_weight'):
    lay(f'spectral_loss_{option}', 'SpectralLoss', losses.SpectralLoss,
        {option: 1.0, 'mag_weight': 0.0}, audio, audio_gen)
  lay('spectral_loss_l2_sizes', 'SpectralLoss', losses.SpectralLoss,
      {'loss_type': 'L2', 'logmag_weight': 1.0, 'fft_sizes': [1024, 256]},
      audio, audio_gen)
  lay('pretrained_crepe_embedding_loss', 'PretrainedCREPEEmbeddingLoss',
      losses.PretrainedCREPEEmbeddingLoss, {}, audio, audio_gen)

  n_harmonics = 6
  noise, noise_target = rand(0.0, 1.0, 2, 30, 5), rand(0.0, 1.0, 2, 30, 5)
  lay('filtered_noise_consistency', 'FilteredNoiseConsistencyLoss',
      losses.FilteredNoiseConsistencyLoss, {}, noise, noise_target)
  dist = rand(0.0, 1.0, 2, 30, n_harmonics)
  dist_target = rand(0.0, 1.0, 2, 30, n_harmonics)
  lay('harmonic_consistency', 'HarmonicConsistencyLoss',
      losses.HarmonicConsistencyLoss, {}, amps, amps_target, dist,
      dist_target, f0, f0_target)
  n_sinusoids = 5
  amps_a, amps_b = rand(0.0, 1.0, 2, 30, n_sinusoids), rand(0.0, 1.0, 2, 30,
                                                            n_sinusoids)
  freqs_a = rand(80.0, 4000.0, 2, 30, n_sinusoids)
  freqs_b = rand(80.0, 4000.0, 2, 30, n_sinusoids)
  lay('wasserstein_consistency', 'WassersteinConsistencyLoss',
      losses.WassersteinConsistencyLoss, {}, amps_a, freqs_a, amps_b,
      freqs_b)
  lay('wasserstein_consistency_hz', 'WassersteinConsistencyLoss',
      losses.WassersteinConsistencyLoss, {'midi': False}, amps_a, freqs_a,
      amps_b, freqs_b)
  u, v = rand(0.0, 10.0, 3, 7), rand(0.0, 10.0, 3, 5)
  uw, vw = rand(0.1, 1.0, 3, 7), rand(0.1, 1.0, 3, 5)
  c('wasserstein_distance', 'wasserstein_distance',
    losses.wasserstein_distance, u, v, uw, vw)
  c('wasserstein_distance_p2', 'wasserstein_distance',
    losses.wasserstein_distance, u, v, uw, vw, p=2.0)
  lay('kde_consistency', 'KDEConsistencyLoss', losses.KDEConsistencyLoss,
      {}, amps_a, freqs_a, amps_b, freqs_b)
  lay('kde_consistency_args', 'KDEConsistencyLoss',
      losses.KDEConsistencyLoss,
      {'weight_a': 0.5, 'weight_b': 2.0, 'weight_mean_amp': 0.0,
       'scale_a': 0.3, 'scale_b': 0.05}, amps_a, freqs_a, amps_b, freqs_b)
  f0_candidates = rand(80.0, 1000.0, 2, 30, 4)
  lay('twm', 'TWMLoss', losses.TWMLoss, {}, f0_candidates, freqs_a, amps_a)
  lay('twm_args', 'TWMLoss', losses.TWMLoss,
      {'sinusoids_weight': 0.5, 'harmonics_weight': 2.0,
       'sinusoids_scale': 0.3, 'harmonics_scale': 0.1,
       'n_harmonic_points': 5, 'n_harmonic_gaussians': 12,
       'softmin_temperature': 0.5}, f0_candidates, freqs_a, amps_a)
  lay('param', 'ParamLoss', losses.ParamLoss, {}, target, value)
  lay('param_l2_weights', 'ParamLoss', losses.ParamLoss,
      {'loss_type': 'L2', 'weight': 3.0}, target, value, weights)
  g.save()


def main():
  tf.random.set_seed(0)
  print('original ddsp', ddsp.__version__ if hasattr(ddsp, '__version__')
        else '?', 'TF', tf.__version__, file=sys.stderr)
  groups = {'core': core_cases, 'spectral_ops': spectral_cases,
            'processors': processor_cases, 'losses': losses_cases}
  # Without arguments every file is rewritten (the same files again). The
  # losses draw from their own random stream, so `make_golden.py losses`
  # rewrites losses.npz alone; core, spectral_ops and processors share one
  # stream and are reproduced only together.
  for name in sys.argv[1:] or groups:
    groups[name]()


if __name__ == '__main__':
  main()
