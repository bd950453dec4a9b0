"""Unit conversions of ddsp_tf.core: decibels, MIDI, Hz, unit range, Bark, mel.

power_to_db, amplitude_to_db, db_to_power, db_to_amplitude, midi_to_hz,
hz_to_midi, unit_to_midi, midi_to_unit, unit_to_hz, hz_to_unit, hz_to_bark,
bark_to_hz, hz_to_mel, mel_to_hz and hz_to_erb; also the DB_RANGE constant and
the Number type shared by the conversion and nonlinearity functions.
"""

from typing import TypeVar

import numpy as np
import tensorflow as tf

from ddsp_tf.core.utils import tf_float32

Number = TypeVar('Number', int, float, np.ndarray, tf.Tensor)

DB_RANGE = 80.0  # Decibels below full scale represented by the dB helpers.


# ----------------------------------------------------------------------------
# Unit conversions.
# ----------------------------------------------------------------------------
def power_to_db(power: Number, ref_db: float = 0.0,
                range_db: float = DB_RANGE, use_tf: bool = True) -> Number:
  """Converts power to decibels, floored at -range_db.

  Args:
    power: Power (amplitude squared); any shape.
    ref_db: Decibels subtracted from the result (0 dB = power 1).
    range_db: Dynamic range; the output never goes below -range_db.
    use_tf: Use TensorFlow (True) or numpy (False).

  Returns:
    10 * log10(power) - ref_db, floored at -range_db. Same shape as power.
  """
  if range_db <= 0:
    raise ValueError(f'range_db must be positive, got range_db={range_db}.')
  lib = tf if use_tf else np
  power = tf_float32(power) if use_tf else np.asarray(power, np.float32)
  amin = 10.0**(-range_db / 10.0)
  power = lib.maximum(power, amin)
  db = (10.0 / np.log(10.0)) * lib.math.log(power) if use_tf else (
      10.0 * np.log10(power))
  db = db - ref_db
  return lib.maximum(db, -range_db)


def amplitude_to_db(amplitude: Number, ref_db: float = 0.0,
                    range_db: float = DB_RANGE, use_tf: bool = True) -> Number:
  """Converts amplitude to decibels (20 log10), floored at -range_db.

  Args:
    amplitude: Linear amplitude; any shape.
    ref_db: Decibels subtracted from the result.
    range_db: Dynamic range; the output never goes below -range_db.
    use_tf: Use TensorFlow (True) or numpy (False).

  Returns:
    Decibels, same shape as amplitude.
  """
  power = amplitude**2.0 if not use_tf else tf.square(tf_float32(amplitude))
  return power_to_db(power, ref_db=ref_db, range_db=range_db, use_tf=use_tf)


def db_to_power(db: Number) -> tf.Tensor:
  """Converts decibels to power: 10**(db/10)."""
  return tf.pow(10.0, tf_float32(db) / 10.0)


def db_to_amplitude(db: Number) -> tf.Tensor:
  """Converts decibels to amplitude: 10**(db/20)."""
  return db_to_power(tf_float32(db) / 2.0)


def midi_to_hz(notes: Number, midi_zero_silence: bool = False) -> tf.Tensor:
  """Converts MIDI note numbers to Hz (A4 = MIDI 69 = 440 Hz).

  Args:
    notes: MIDI note numbers; any shape.
    midi_zero_silence: If True, MIDI 0 maps to 0 Hz (silence).

  Returns:
    Frequencies in Hz, same shape.
  """
  notes = tf_float32(notes)
  hz = 440.0 * tf.pow(2.0, (notes - 69.0) / 12.0)
  if midi_zero_silence:
    hz = tf.where(notes == 0.0, 0.0, hz)
  return hz


def hz_to_midi(frequencies: Number) -> tf.Tensor:
  """Converts Hz to MIDI note numbers; non-positive frequencies map to 0."""
  frequencies = tf_float32(frequencies)
  safe_hz = tf.where(frequencies <= 0.0, 1.0, frequencies)
  notes = 12.0 * (tf.math.log(safe_hz / 440.0) / np.log(2.0)) + 69.0
  return tf.where(frequencies <= 0.0, 0.0, notes)


def _float_tensor(x: Number) -> tf.Tensor:
  """x as a tensor, keeping a float64 (or other float) dtype; else float32.

  The linear maps below compute in their input's precision, as the
  original's do (float64 numpy input gives float64 results).
  """
  x = tf.convert_to_tensor(x)
  return x if x.dtype.is_floating else tf.cast(x, tf.float32)


def unit_to_midi(unit: Number, midi_min: Number = 20.0, midi_max: Number = 90.0,
                 clip: bool = False) -> tf.Tensor:
  """Maps [0, 1] linearly onto [midi_min, midi_max]; optionally clips first.

  Computed in the input's float precision (float32 for other types).
  """
  unit = _float_tensor(unit)
  low, high = (tf.cast(value, unit.dtype) for value in (midi_min, midi_max))
  unit = tf.clip_by_value(unit, 0.0, 1.0) if clip else unit
  return low + (high - low) * unit


def midi_to_unit(midi: Number, midi_min: Number = 20.0, midi_max: Number = 90.0,
                 clip: bool = False) -> tf.Tensor:
  """Maps [midi_min, midi_max] linearly onto [0, 1]; optionally clips after.

  Computed in the input's float precision (float32 for other types).
  """
  midi = _float_tensor(midi)
  low, high = (tf.cast(value, midi.dtype) for value in (midi_min, midi_max))
  unit = (midi - low) / (high - low)
  return tf.clip_by_value(unit, 0.0, 1.0) if clip else unit


def unit_to_hz(unit: Number, hz_min: Number, hz_max: Number,
               clip: bool = False) -> tf.Tensor:
  """Maps [0, 1] onto [hz_min, hz_max] linearly in pitch (log frequency)."""
  midi = unit_to_midi(unit, midi_min=hz_to_midi(hz_min),
                      midi_max=hz_to_midi(hz_max), clip=clip)
  return midi_to_hz(midi)


def hz_to_unit(hz: Number, hz_min: Number, hz_max: Number,
               clip: bool = False) -> tf.Tensor:
  """Maps [hz_min, hz_max] onto [0, 1] linearly in pitch (log frequency)."""
  return midi_to_unit(hz_to_midi(hz), midi_min=hz_to_midi(hz_min),
                      midi_max=hz_to_midi(hz_max), clip=clip)


def hz_to_bark(hz: Number) -> tf.Tensor:
  """Hz to the Bark scale, Traunmueller (1990)."""
  hz = tf_float32(hz)
  return 26.81 * hz / (1960.0 + hz) - 0.53


def bark_to_hz(bark: Number) -> tf.Tensor:
  """The exact inverse of hz_to_bark."""
  bark = tf_float32(bark)
  return 1960.0 * (bark + 0.53) / (26.28 - bark)


def hz_to_mel(hz: Number) -> tf.Tensor:
  """Hz to mel, HTK formula 2595 log10(1 + hz / 700)."""
  return 2595.0 * (tf.math.log1p(tf_float32(hz) / 700.0) / np.log(10.0))


def mel_to_hz(mel: Number) -> tf.Tensor:
  """The exact inverse of hz_to_mel."""
  return 700.0 * (tf.pow(10.0, tf_float32(mel) / 2595.0) - 1.0)


def hz_to_erb(hz: Number) -> tf.Tensor:
  """Equivalent rectangular bandwidth (Hz) at a frequency: 0.108 hz + 24.7."""
  return 0.108 * tf_float32(hz) + 24.7
