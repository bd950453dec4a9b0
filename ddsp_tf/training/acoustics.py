"""Room measurements: reverberation time of an impulse response or of audio.

`estimate_rt60` measures an impulse response (IR) the ISO 3382 way:
Schroeder's backward integration of the squared IR gives the energy decay
curve (`energy_decay_curve`), a straight line is fitted to it between two
levels (by default -5 and -25 dB, the T20 range) and extrapolated to a
60 dB fall. A learned or measured IR ends in a noise floor that would bend
the curve up; by default its mean power, estimated from the IR's last
tenth, is subtracted before integrating (Chu's compensation).

`offset_decay_curve` measures audio instead: the level after each note-off
(the interrupted-source method), relative to the level just before it and
averaged over the note-offs. `decay_time` reads how long that curve takes
to fall by some dB, and `fit_rt60` fits either curve.
`direct_to_reverberant_ratio` says how wet an IR is.
"""

from typing import Sequence

import numpy as np

from ddsp_tf import validation

_TINY = 1e-30


def _signal(name: str, x, min_size: int = 2) -> np.ndarray:
  """`x` as a finite float64 [n] array of at least min_size samples."""
  array = np.asarray(x, np.float64)
  if array.ndim != 1:
    raise ValueError(f'{name} must be 1-D [n_samples], got shape '
                     f'{list(array.shape)}.')
  if array.size < min_size:
    raise ValueError(f'{name} has {array.size} sample(s); it needs at least '
                     f'{min_size}.')
  if not np.all(np.isfinite(array)):
    raise ValueError(f'{name} has NaN or Inf values; pass finite audio.')
  return array


def energy_decay_curve(ir, noise_tail: float = 0.1) -> np.ndarray:
  """Schroeder's energy decay curve of an impulse response, in dB.

  EDC[n] = sum over m >= n of (ir[m]**2 - noise), over the total, where
  noise is the mean of ir**2 over the last noise_tail of the IR (0 for no
  compensation). Where the compensated remainder is no longer positive the
  curve is -inf dB: the decay is lost in the noise there.

  Args:
    ir: [ir_size] impulse response.
    noise_tail: Fraction (0 to 0.5) of the IR at its end used to estimate
      the noise floor's power; 0 turns the compensation off.

  Returns:
    float64 [ir_size], 0 dB at tap 0, non-increasing.

  Raises:
    ValueError: For a bad IR, an IR with no energy, or noise_tail outside
      [0, 0.5].
  """
  ir = _signal('ir', ir)
  if not 0.0 <= noise_tail <= 0.5:
    raise ValueError(f'noise_tail must be in [0, 0.5], got '
                     f'noise_tail={noise_tail!r}.')
  power = ir**2
  n_tail = int(round(noise_tail * ir.size))
  if n_tail:
    power = power - np.mean(power[-n_tail:])
  remaining = np.cumsum(power[::-1])[::-1]
  if remaining[0] <= 0.0:
    raise ValueError('ir has no energy above its noise floor; pass an IR '
                     'that decays (or noise_tail=0).')
  # Once the remainder stops being positive, it stays lost.
  lost = np.cumsum(remaining <= 0.0) > 0
  with np.errstate(divide='ignore'):
    return np.where(lost, -np.inf, 10.0 * np.log10(
        np.maximum(remaining, _TINY) / remaining[0]))


def fit_rt60(level_db, rate: float, start_db: float = -5.0,
             end_db: float = -25.0) -> float:
  """RT60 from a decay curve: a line fitted between two levels.

  The fit covers the samples from the first at or below start_db to the
  last before the curve first falls below end_db (the ISO 3382 T20 range by
  default; -5 and -35 give T30).

  Args:
    level_db: [n] decay curve in dB relative to its start (e.g. from
      `energy_decay_curve` or `offset_decay_curve`).
    rate: Samples (or frames) of the curve per second.
    start_db: Upper level of the fit, < 0.
    end_db: Lower level, < start_db.

  Returns:
    Seconds for a 60 dB fall at the fitted slope.

  Raises:
    ValueError: For bad levels, or a curve that never falls below end_db
      or does not decay.
  """
  level_db = np.asarray(level_db, np.float64)
  if level_db.ndim != 1 or level_db.size < 2:
    raise ValueError(f'level_db must be 1-D with at least 2 values, got '
                     f'shape {list(level_db.shape)}.')
  validation.check_positive('rate', rate)
  if not end_db < start_db < 0.0:
    raise ValueError(f'Need end_db < start_db < 0, got start_db={start_db!r}, '
                     f'end_db={end_db!r}.')
  below_start = np.flatnonzero(level_db <= start_db)
  below_end = np.flatnonzero(level_db < end_db)
  if not below_end.size:
    raise ValueError(
        f'The decay curve never falls below {end_db} dB (its lowest level is '
        f'{np.min(level_db):.1f} dB); pass a longer curve or a higher end_db.')
  first, last = below_start[0], below_end[0]
  if last - first < 2:
    raise ValueError(f'The curve falls from {start_db} to {end_db} dB within '
                     f'{last - first} sample(s); it needs a finer rate.')
  times = np.arange(first, last) / rate
  slope = np.polyfit(times, level_db[first:last], 1)[0]
  if slope >= 0.0:
    raise ValueError('The decay curve does not decay between start_db and '
                     'end_db.')
  return -60.0 / slope


def estimate_rt60(ir, sample_rate: int, start_db: float = -5.0,
                  end_db: float = -25.0, noise_tail: float = 0.1) -> float:
  """Reverberation time of an impulse response (Schroeder, line fit).

  Args:
    ir: [ir_size] impulse response, e.g. a model's `reverb_ir()`.
    sample_rate: Its rate in Hz.
    start_db: Upper level of the fit on the energy decay curve.
    end_db: Lower level; -25 (T20) or -35 (T30).
    noise_tail: See `energy_decay_curve`.

  Returns:
    RT60 in seconds.

  Raises:
    ValueError: See `energy_decay_curve` and `fit_rt60`.
  """
  return fit_rt60(energy_decay_curve(ir, noise_tail), sample_rate, start_db,
                  end_db)


def direct_to_reverberant_ratio(ir, sample_rate: int,
                                direct_secs: float = 0.0) -> float:
  """Energy of an IR's direct sound over that of the rest (DRR), in dB.

  The direct sound is tap 0 and the taps within direct_secs after it; a
  DDSP reverb's `reverb_ir()` holds the dry signal at tap 0 alone (the
  default). 0 dB means as much reverberant energy as direct; the lower the
  ratio, the wetter the room.

  Args:
    ir: [ir_size] impulse response.
    sample_rate: Its rate in Hz.
    direct_secs: Length of the direct sound after tap 0, >= 0.

  Returns:
    10 * log10(direct energy / reverberant energy).

  Raises:
    ValueError: For a bad IR or direct_secs, or an IR whose direct sound or
      reverberant part has no energy.
  """
  ir = _signal('ir', ir)
  validation.check_positive('sample_rate', sample_rate)
  if not direct_secs >= 0.0:
    raise ValueError(f'direct_secs must be >= 0, got {direct_secs!r}.')
  n_direct = 1 + int(round(direct_secs * sample_rate))
  direct = np.sum(ir[:n_direct]**2)
  reverberant = np.sum(ir[n_direct:]**2)
  for label, energy in (('direct sound', direct),
                        ('reverberant part', reverberant)):
    if energy <= 0.0:
      raise ValueError(f'The IR\'s {label} has no energy (taps after '
                       f'{n_direct} are reverberant); the ratio is undefined.')
  return float(10.0 * np.log10(direct / reverberant))


def offset_decay_curve(audio, sample_rate: int, offsets: Sequence[float],
                       seconds: float, frame_secs: float = 0.005,
                       before_secs: float = 0.05) -> np.ndarray:
  """The level of audio after note-offs, averaged over the note-offs.

  For each offset the energy in frames of frame_secs after it is divided by
  the mean power over the before_secs before it; these ratios are averaged
  over offsets (in energy) and returned in dB.

  Args:
    audio: [n_samples] audio.
    sample_rate: Its rate in Hz.
    offsets: Times (seconds) where the source stops, each followed by at
      least `seconds` of audio without a new note.
    seconds: Length of the curve after each offset.
    frame_secs: Frame length of the curve.
    before_secs: Length of the reference before each offset.

  Returns:
    float64 [round(seconds / frame_secs)] levels in dB; frame k covers
    [k, k + 1) * frame_secs after the offsets.

  Raises:
    ValueError: For no offsets, an offset too close to either end of the
      audio, or silence before an offset.
  """
  validation.check_positive('sample_rate', sample_rate)
  for name, value in (('seconds', seconds), ('frame_secs', frame_secs),
                      ('before_secs', before_secs)):
    validation.check_positive(name, value)
  audio = _signal('audio', audio)
  if not len(offsets):
    raise ValueError('offsets is empty; pass at least one note-off time.')
  frame = max(int(round(frame_secs * sample_rate)), 1)
  n_frames = int(round(seconds / frame_secs))
  before = max(int(round(before_secs * sample_rate)), 1)
  ratios = np.zeros(n_frames)
  for offset in offsets:
    start = int(round(offset * sample_rate))
    if start - before < 0 or start + n_frames * frame > audio.size:
      raise ValueError(
          f'The offset at {offset} s needs {before_secs} s of audio before '
          f'it and {n_frames * frame / sample_rate} s after it, but the audio '
          f'is {audio.size / sample_rate} s long.')
    reference = np.mean(audio[start - before:start]**2)
    if reference <= 0.0:
      raise ValueError(f'The audio is silent before the offset at {offset} s.')
    after = audio[start:start + n_frames * frame].reshape(n_frames, frame)
    ratios += np.mean(after**2, axis=1) / reference
  return 10.0 * np.log10(np.maximum(ratios / len(offsets), _TINY))


def decay_time(level_db, rate: float, drop_db: float) -> float:
  """Seconds until a decay curve first falls drop_db below 0 dB.

  Args:
    level_db: [n] decay curve in dB (e.g. from `offset_decay_curve`).
    rate: Values of the curve per second.
    drop_db: The fall, > 0.

  Returns:
    The time of the first value at or below -drop_db.

  Raises:
    ValueError: If the curve never falls that far.
  """
  level_db = np.asarray(level_db, np.float64)
  validation.check_positive('rate', rate)
  validation.check_positive('drop_db', drop_db)
  below = np.flatnonzero(level_db <= -drop_db)
  if not below.size:
    raise ValueError(f'The decay curve never falls {drop_db} dB (its lowest '
                     f'level is {np.min(level_db):.1f} dB); pass a longer '
                     'curve.')
  return below[0] / rate
