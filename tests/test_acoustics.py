"""Tests for ddsp_tf.training.acoustics against analytic and scipy rooms."""

import numpy as np
import pytest
from scipy import signal

from ddsp_tf.training import acoustics

SAMPLE_RATE = 16000


def _noise_room(rt60, seconds=1.0, seed=0):
  """White noise under an envelope that falls 60 dB in rt60 seconds."""
  t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
  noise = np.random.default_rng(seed).standard_normal(t.size)
  return noise * 10.0**(-3.0 * t / rt60)


def _comb_bank_room(rt60, delays=(557, 617, 691, 743), seconds=1.5):
  """Schroeder's parallel feedback combs, each tuned to decay 60 dB in rt60.

  Comb y[n] = x[n] + g y[n - D] falls by g every D samples, so
  g = 10**(-3 D / (rt60 * sample_rate)) gives exactly rt60.
  """
  impulse = np.zeros(int(seconds * SAMPLE_RATE))
  impulse[0] = 1.0
  room = np.zeros_like(impulse)
  for delay in delays:
    gain = 10.0**(-3.0 * delay / (rt60 * SAMPLE_RATE))
    denominator = np.zeros(delay + 1)
    denominator[0], denominator[delay] = 1.0, -gain
    room += signal.lfilter([1.0], denominator, impulse)
  return room


def test_exponential_energy_decay_is_a_line():
  """h[n] = a**n: the remaining energy is a**(2n) of the total, exactly."""
  decay = 0.999
  ir = decay**np.arange(20000)
  edc = acoustics.energy_decay_curve(ir, noise_tail=0.0)
  # Up to the cut at 20000 taps, whose share is decay**(2 * (20000 - n)).
  np.testing.assert_allclose(edc[:10000],
                             20.0 * np.log10(decay) * np.arange(10000),
                             atol=1e-6)
  expected_rt60 = -3.0 / np.log10(decay) / SAMPLE_RATE
  assert acoustics.estimate_rt60(ir, SAMPLE_RATE, noise_tail=0.0) == (
      pytest.approx(expected_rt60, rel=1e-6))


@pytest.mark.parametrize('rt60', [0.25, 0.5, 0.8])
@pytest.mark.parametrize('end_db', [-25.0, -35.0])
def test_noise_rooms(rt60, end_db):
  room = _noise_room(rt60, seconds=2.0 * rt60 + 0.2)
  assert acoustics.estimate_rt60(room, SAMPLE_RATE, end_db=end_db) == (
      pytest.approx(rt60, rel=0.05))


@pytest.mark.parametrize('rt60', [0.3, 0.6])
def test_scipy_comb_bank_rooms(rt60):
  # The combs' coherent first tap, then nothing until the first echo, makes
  # the curve's first 35 ms flat at -13.5 dB: fit the decay after it.
  assert acoustics.estimate_rt60(_comb_bank_room(rt60), SAMPLE_RATE,
                                 start_db=-15.0, end_db=-45.0) == (
                                     pytest.approx(rt60, rel=0.05))


def test_noise_floor_compensation():
  """A floor 34 dB under the start bends the raw curve; Chu's fixes it."""
  room = _noise_room(0.5)
  floor = 0.02 * np.random.default_rng(1).standard_normal(room.size)
  raw = acoustics.estimate_rt60(room + floor, SAMPLE_RATE, noise_tail=0.0)
  compensated = acoustics.estimate_rt60(room + floor, SAMPLE_RATE)
  assert raw > 0.65
  assert compensated == pytest.approx(0.5, rel=0.05)
  # The compensated curve ends where the decay sinks into the floor.
  assert np.isneginf(acoustics.energy_decay_curve(room + floor)[-1])


def test_interrupted_noise_decay_gives_the_room_rt60():
  """Noise bursts through a 0.5 s room: the decays after them fall at it."""
  rng = np.random.default_rng(2)
  source = np.zeros(8 * SAMPLE_RATE)
  offsets = [1.0, 3.0, 5.0, 7.0]
  for offset in offsets:
    start, stop = int((offset - 0.6) * SAMPLE_RATE), int(offset * SAMPLE_RATE)
    source[start:stop] = rng.standard_normal(stop - start)
  room = _noise_room(0.5)
  room[0] = 1.0
  audio = signal.fftconvolve(source, room)[:source.size]
  curve = acoustics.offset_decay_curve(audio, SAMPLE_RATE, offsets, 0.8,
                                       frame_secs=0.005)
  assert curve.shape == (160,)
  assert acoustics.fit_rt60(curve, 200.0) == pytest.approx(0.5, rel=0.1)
  # Without the room the burst stops at once.
  dry_curve = acoustics.offset_decay_curve(source + 1e-9, SAMPLE_RATE,
                                           offsets, 0.8)
  assert acoustics.decay_time(dry_curve, 200.0, 30.0) == 0.0


def test_decay_time_of_a_line():
  curve = -120.0 * np.arange(100) / 200.0  # 120 dB/s at 200 values/s.
  assert acoustics.decay_time(curve, 200.0, 30.0) == pytest.approx(0.25)
  assert acoustics.fit_rt60(curve, 200.0) == pytest.approx(0.5)


def test_direct_to_reverberant_ratio():
  # Analytic: direct energy 1, reverberant energy 2 * 0.5**2 = 0.5.
  assert acoustics.direct_to_reverberant_ratio(
      [1.0, 0.5, -0.5], SAMPLE_RATE) == pytest.approx(10 * np.log10(2.0))
  # Exponentially decaying noise scaled to a known energy.
  rng = np.random.default_rng(0)
  tail = rng.standard_normal(SAMPLE_RATE) * np.exp(
      -np.arange(SAMPLE_RATE) / 2000.0)
  ir = np.concatenate([[0.5], tail / np.sqrt(np.sum(tail**2)) * 2.0])
  assert acoustics.direct_to_reverberant_ratio(ir, SAMPLE_RATE) == (
      pytest.approx(10 * np.log10(0.25 / 4.0)))
  # A 1 ms direct sound: taps 0 to 16 at 16 kHz.
  ir = np.r_[np.ones(17), np.full(34, 0.5)]
  assert acoustics.direct_to_reverberant_ratio(
      ir, SAMPLE_RATE, direct_secs=0.001) == pytest.approx(
          10 * np.log10(17 / 8.5))


@pytest.mark.parametrize('call, message', [
    (lambda: acoustics.energy_decay_curve(np.zeros(10)), 'no energy'),
    (lambda: acoustics.energy_decay_curve(np.ones(10), noise_tail=0.7),
     'noise_tail must be in'),
    (lambda: acoustics.energy_decay_curve(np.ones((2, 5))), 'must be 1-D'),
    (lambda: acoustics.energy_decay_curve([1.0, np.nan]), 'NaN or Inf'),
    (lambda: acoustics.fit_rt60(-np.arange(10.0), 100.0), 'never falls'),
    (lambda: acoustics.fit_rt60(-np.arange(40.0), 100.0, start_db=-30.0,
                                end_db=-25.0), 'end_db < start_db'),
    (lambda: acoustics.decay_time(-np.arange(10.0), 100.0, 30.0),
     'never falls 30'),
    (lambda: acoustics.direct_to_reverberant_ratio([1.0, 0.0], SAMPLE_RATE),
     'reverberant part has no energy'),
    (lambda: acoustics.direct_to_reverberant_ratio([0.0, 1.0], SAMPLE_RATE),
     'direct sound has no energy'),
    (lambda: acoustics.direct_to_reverberant_ratio([1.0, 1.0], SAMPLE_RATE,
                                                   direct_secs=-1.0),
     'direct_secs must be >= 0, got -1.0'),
    (lambda: acoustics.offset_decay_curve(np.ones(1000), SAMPLE_RATE, [],
                                          0.01), 'offsets is empty'),
    (lambda: acoustics.offset_decay_curve(np.ones(1000), SAMPLE_RATE, [0.05],
                                          0.1), 'needs 0.05 s of audio'),
    (lambda: acoustics.offset_decay_curve(np.zeros(4000), SAMPLE_RATE,
                                          [0.1], 0.1), 'silent before'),
])
def test_errors(call, message):
  with pytest.raises(ValueError, match=message):
    call()
