"""Differentiable DSP primitives: pure TensorFlow functions with no Keras state.

Conventions: audio is `[batch, n_samples]`, frame-wise controls are
`[batch, n_frames, channels]`, frequencies are in Hz and everything is float32
unless a docstring says otherwise. Public functions validate their arguments up
front and raise `ValueError` naming the received value.
"""

import collections.abc
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text, Tuple, TypeVar, Union

import gin
import numpy as np
import scipy.fft
import tensorflow as tf

Number = TypeVar('Number', int, float, np.ndarray, tf.Tensor)

DB_RANGE = 80.0  # Decibels below full scale represented by the dB helpers.

_RESAMPLE_METHODS = ('nearest', 'linear', 'cubic', 'window')
_CONVOLUTION_PADDINGS = ('same', 'valid')


# ----------------------------------------------------------------------------
# Argument checks shared by the public functions.
# ----------------------------------------------------------------------------
def _check_positive(name: str, value: Any) -> None:
  """Raises ValueError unless `value` is a positive number."""
  if isinstance(value, (tf.Tensor, tf.Variable)):
    return  # Dynamic values are checked by the math itself.
  if not np.all(np.asarray(value) > 0):
    raise ValueError(f'{name} must be positive, got {name}={value!r}.')


def _check_rank(name: str, x: tf.Tensor, ranks: Sequence[int],
                meaning: str = '') -> None:
  """Raises ValueError when the static rank of `x` is not one of `ranks`."""
  rank = x.shape.rank
  if rank is not None and rank not in ranks:
    expected = ' or '.join(str(r) for r in ranks)
    hint = f' ({meaning})' if meaning else ''
    raise ValueError(f'{name} must have rank {expected}{hint}, got shape '
                     f'{x.shape.as_list()} (rank {rank}).')


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
  if value not in choices:
    raise ValueError(f'{name} must be one of {list(choices)}, got '
                     f'{name}={value!r}.')


def _static_dim(x: tf.Tensor, axis: int) -> Optional[int]:
  """The static size of `x` along `axis`, or None when unknown."""
  return x.shape[axis] if x.shape.rank is not None else None


def _check_same_static_dims(names: Tuple[str, str], a: tf.Tensor, b: tf.Tensor,
                            axes: Sequence[int]) -> None:
  """Raises ValueError when known sizes of `a` and `b` differ on `axes`."""
  for axis in axes:
    size_a, size_b = _static_dim(a, axis), _static_dim(b, axis)
    if size_a is not None and size_b is not None and size_a != size_b:
      raise ValueError(
          f'{names[0]} and {names[1]} must match along axis {axis}, got shapes '
          f'{a.shape.as_list()} and {b.shape.as_list()}.')


# ----------------------------------------------------------------------------
# Utilities.
# ----------------------------------------------------------------------------
def tf_float32(x: Any) -> tf.Tensor:
  """Converts `x` (tensor, variable, array or number) to a float32 tensor."""
  if isinstance(x, (tf.Tensor, tf.Variable)):
    return tf.cast(x, dtype=tf.float32)
  return tf.convert_to_tensor(x, dtype=tf.float32)


def make_iterable(x: Any) -> List[Any]:
  """Wraps `x` in a list unless it already is a non-array iterable.

  Arrays and tensors count as single items, so a batch is never split.

  Args:
    x: Anything. None gives an empty list.

  Returns:
    A list or the original iterable.
  """
  if x is None:
    return []
  if isinstance(x, (np.ndarray, tf.Tensor, tf.Variable, str, bytes, dict)):
    return [x]
  return x if isinstance(x, collections.abc.Iterable) else [x]


def to_dict(x: Any, keys: Sequence[Text]) -> Dict[Text, Any]:
  """Returns a dict unchanged, or zips a sequence of values with `keys`.

  Args:
    x: A dict, or a list/tuple with one value per key.
    keys: Names for the values of `x`.

  Returns:
    A dict from key to value.

  Raises:
    ValueError: If `x` is a sequence whose length differs from `keys`.
  """
  if isinstance(x, dict):
    return x
  x = make_iterable(x)
  if len(x) != len(keys):
    raise ValueError(f'to_dict needs one value per key: got {len(x)} values '
                     f'for keys {list(keys)}.')
  return dict(zip(keys, x))


def copy_if_tf_function(x: Any) -> Any:
  """Shallow-copies dicts inside a tf.function, where inputs must not mutate."""
  return dict(x) if isinstance(x, dict) and not tf.executing_eagerly() else x


def nested_keys(nested_dict: Dict[Text, Any], delimiter: Text = '/',
                prefix: Text = '') -> List[Text]:
  """Lists the leaf keys of a nested dict as delimiter-joined paths.

  Args:
    nested_dict: A dict whose values may be dicts.
    delimiter: Separator between levels.
    prefix: Path prepended to every key.

  Returns:
    Keys such as ['a/b', 'a/c', 'd'].
  """
  keys = []
  for key, value in nested_dict.items():
    path = f'{prefix}{delimiter}{key}' if prefix else str(key)
    if isinstance(value, collections.abc.Mapping):
      keys.extend(nested_keys(value, delimiter=delimiter, prefix=path))
    else:
      keys.append(path)
  return keys


def nested_lookup(nested_key: Text, nested_dict: Dict[Text, Any],
                  delimiter: Text = '/') -> Any:
  """Looks up a value in a nested dict by a delimiter-joined path.

  Args:
    nested_key: Path such as 'harmonic/controls/f0_hz'.
    nested_dict: Nested dict to search.
    delimiter: Separator between levels.

  Returns:
    The value at that path (which may itself be a dict).

  Raises:
    KeyError: If the path is missing; the message lists the available keys.
  """
  value = nested_dict
  for key in nested_key.split(delimiter):
    if not isinstance(value, collections.abc.Mapping) or key not in value:
      available = (nested_keys(nested_dict, delimiter=delimiter)
                   if isinstance(nested_dict, collections.abc.Mapping) else [])
      raise KeyError(f'Key {nested_key!r} not found: no {key!r} at that level. '
                     f'Available keys: {available}')
    value = value[key]
  return value


def leaf_key(nested_key: Text, delimiter: Text = '/') -> Text:
  """The last component of a delimiter-joined path ('a/b/c' -> 'c')."""
  return nested_key.split(delimiter)[-1]


def map_shape(x: Any) -> Any:
  """The nested structure of `x` with every tensor replaced by its shape."""
  return tf.nest.map_structure(lambda t: list(tf_float32(t).shape), x)


def pad_axis(x: tf.Tensor, padding: Sequence[int] = (0, 0), axis: int = 0,
             **pad_kwargs) -> tf.Tensor:
  """Pads one axis of a tensor.

  Args:
    x: Tensor of any rank.
    padding: (before, after) amounts for that axis.
    axis: The axis to pad; negative values count from the end.
    **pad_kwargs: Passed to tf.pad (mode, constant_values).

  Returns:
    The padded tensor.
  """
  x = tf.convert_to_tensor(x)
  rank = x.shape.rank
  if axis >= rank or axis < -rank:
    raise ValueError(f'axis={axis} is out of range for a tensor of rank {rank}.')
  axis = axis % rank
  paddings = [[0, 0]] * axis + [list(padding)] + [[0, 0]] * (rank - axis - 1)
  return tf.pad(x, paddings, **pad_kwargs)


def diff(x: tf.Tensor, axis: int = -1) -> tf.Tensor:
  """First finite difference along `axis`; that axis shrinks by one.

  Args:
    x: Tensor of any rank >= 1.
    axis: Axis to differentiate along.

  Returns:
    x[1:] - x[:-1] along `axis`.
  """
  x = tf.convert_to_tensor(x)
  rank = x.shape.rank
  if axis >= rank or axis < -rank:
    raise ValueError(f'axis={axis} is out of range for a tensor of rank {rank} '
                     f'(shape {x.shape.as_list()}).')
  axis = axis % rank
  size = tf.shape(x)[axis]
  begin_next = [0] * rank
  begin_next[axis] = 1
  length = [-1] * rank
  length = tf.tensor_scatter_nd_update(
      tf.constant(length), [[axis]], [size - 1])
  return (tf.slice(x, begin_next, length) -
          tf.slice(x, [0] * rank, length))


# ----------------------------------------------------------------------------
# Math.
# ----------------------------------------------------------------------------
def nan_to_num(x: tf.Tensor, value: float = 0.0) -> tf.Tensor:
  """Replaces NaN entries of `x` with `value`."""
  x = tf.convert_to_tensor(x)
  return tf.where(tf.math.is_nan(x), tf.cast(value, x.dtype), x)


def safe_divide(numerator: tf.Tensor, denominator: tf.Tensor,
                eps: float = 1e-7) -> tf.Tensor:
  """Divides, replacing zero denominators with `eps` to avoid NaN and Inf."""
  numerator = tf_float32(numerator)
  denominator = tf_float32(denominator)
  safe_denominator = tf.where(denominator == 0.0, eps, denominator)
  return numerator / safe_denominator


def safe_log(x: tf.Tensor, eps: float = 1e-5) -> tf.Tensor:
  """Natural log with non-positive inputs replaced by `eps` (finite gradients)."""
  x = tf_float32(x)
  safe_x = tf.where(x <= 0.0, eps, x)
  return tf.math.log(safe_x)


def logb(x: tf.Tensor, base: float = 2.0, eps: float = 1e-5) -> tf.Tensor:
  """Logarithm in an arbitrary base, safe for non-positive inputs."""
  return safe_log(x, eps) / safe_log(base, eps)


def log10(x: tf.Tensor, eps: float = 1e-5) -> tf.Tensor:
  """Base-10 logarithm, safe for non-positive inputs."""
  return logb(x, base=10.0, eps=eps)


def log_scale(x: tf.Tensor, min_x: float, max_x: float) -> tf.Tensor:
  """Maps [-1, 1] logarithmically onto [min_x, max_x].

  Args:
    x: Values in [-1, 1].
    min_x: Output for x = -1; must be positive.
    max_x: Output for x = 1; must be positive.

  Returns:
    exp of the linear interpolation between log(min_x) and log(max_x).
  """
  _check_positive('min_x', min_x)
  _check_positive('max_x', max_x)
  x = (tf_float32(x) + 1.0) / 2.0
  return tf.exp((1.0 - x) * np.log(min_x) + x * np.log(max_x))


def soft_limit(x: tf.Tensor, x_min: float = 0.0,
               x_max: float = 1.0) -> tf.Tensor:
  """Smoothly clamps `x` into (x_min, x_max) with two softplus corners."""
  if x_max <= x_min:
    raise ValueError(f'soft_limit needs x_min < x_max, got x_min={x_min}, '
                     f'x_max={x_max}.')
  x = tf_float32(x)
  return x_min + tf.nn.softplus(x - x_min) - tf.nn.softplus(x - x_max)


@tf.custom_gradient
def gradient_reversal(x: tf.Tensor) -> tf.Tensor:
  """Identity in the forward pass; negates the gradient in the backward pass."""
  def reversed_gradient(dy):
    return -dy
  return tf.identity(x), reversed_gradient


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


def unit_to_midi(unit: Number, midi_min: Number = 20.0, midi_max: Number = 90.0,
                 clip: bool = False) -> tf.Tensor:
  """Maps [0, 1] linearly onto [midi_min, midi_max]; optionally clips first."""
  unit = tf_float32(unit)
  unit = tf.clip_by_value(unit, 0.0, 1.0) if clip else unit
  return midi_min + (midi_max - midi_min) * unit


def midi_to_unit(midi: Number, midi_min: Number = 20.0, midi_max: Number = 90.0,
                 clip: bool = False) -> tf.Tensor:
  """Maps [midi_min, midi_max] linearly onto [0, 1]; optionally clips after."""
  unit = (tf_float32(midi) - midi_min) / (midi_max - midi_min)
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
  """Equivalent rectangular bandwidth (Hz) around a frequency: 0.108 hz + 24.7."""
  return 0.108 * tf_float32(hz) + 24.7
