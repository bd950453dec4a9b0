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

from ddsp_tf import validation

Number = TypeVar('Number', int, float, np.ndarray, tf.Tensor)

DB_RANGE = 80.0  # Decibels below full scale represented by the dB helpers.

RESAMPLE_METHODS = ('nearest', 'linear', 'cubic', 'window')
_CONVOLUTION_PADDINGS = ('same', 'valid')


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
    raise ValueError(f'axis={axis} is out of range for a tensor of rank '
                     f'{rank}.')
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
  """Natural log, with non-positive inputs replaced by `eps` (finite grads)."""
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
  validation.check_positive('min_x', min_x)
  validation.check_positive('max_x', max_x)
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
  """Equivalent rectangular bandwidth (Hz) at a frequency: 0.108 hz + 24.7."""
  return 0.108 * tf_float32(hz) + 24.7


# ----------------------------------------------------------------------------
# Nonlinearities and frequency parameterizations.
# ----------------------------------------------------------------------------
@gin.register
def exp_sigmoid(x: Number, exponent: float = 10.0, max_value: float = 2.0,
                threshold: float = 1e-7) -> tf.Tensor:
  """Exponentiated sigmoid: a positive output that varies like exponent**x.

  Args:
    x: Any tensor.
    exponent: Growth factor of the output per unit of x in its middle range.
    max_value: Limit as x -> inf.
    threshold: Limit as x -> -inf; keeps outputs (and their logs) finite.

  Returns:
    max_value * sigmoid(x)**ln(exponent) + threshold, same shape as x.
  """
  x = tf_float32(x)
  return max_value * tf.pow(tf.nn.sigmoid(x), np.log(exponent)) + threshold


@gin.register
def sym_exp_sigmoid(x: Number, width: float = 8.0) -> tf.Tensor:
  """A symmetric sigmoid: ~0 near x = 0, rising to 2 for large |x|.

  Args:
    x: Any tensor.
    width: Steepness of the rise, which is centred at |x| = 2.

  Returns:
    exp_sigmoid(width * (|x| / 2 - 1)), same shape as x.
  """
  x = tf_float32(x)
  return exp_sigmoid(width * (tf.abs(x) / 2.0 - 1.0))


def _split_depth(freqs: tf.Tensor, depth: int) -> tf.Tensor:
  """Reshapes [B, T, n*depth] to [B, T, n, depth]; 4-D inputs pass through."""
  freqs = tf_float32(freqs)
  validation.check_rank('freqs', freqs, (3, 4), '[batch, time, n*depth] or '
                        '[batch, time, n, depth]')
  if depth < 1:
    raise ValueError(f'depth must be >= 1, got depth={depth}.')
  if freqs.shape.rank == 4:
    if freqs.shape[-1] is not None and freqs.shape[-1] != depth:
      raise ValueError(f'freqs has last axis {freqs.shape[-1]}, but '
                       f'depth={depth}.')
    return freqs
  channels = freqs.shape[-1]
  if channels is not None and channels % depth:
    raise ValueError(f'The last axis of freqs ({channels}) must be a multiple '
                     f'of depth={depth}.')
  shape = tf.shape(freqs)
  return tf.reshape(freqs, [shape[0], shape[1], -1, depth])


@gin.register
def frequencies_softmax(freqs: Number, depth: int = 1, hz_min: float = 20.0,
                        hz_max: float = 8000.0) -> tf.Tensor:
  """Frequencies from a softmax over `depth` bins spread evenly in pitch.

  Args:
    freqs: Logits, [batch, time, n * depth] or [batch, time, n, depth].
    depth: Number of bins per frequency.
    hz_min: Frequency of the lowest bin.
    hz_max: Frequency of the highest bin.

  Returns:
    Frequencies in Hz, [batch, time, n]: the expected bin position under the
    softmax, mapped log-linearly onto [hz_min, hz_max].
  """
  freqs = _split_depth(freqs, depth)
  bin_positions = tf.linspace(0.0, 1.0, depth)
  unit = tf.reduce_sum(tf.nn.softmax(freqs, axis=-1) * bin_positions, axis=-1)
  return unit_to_hz(unit, hz_min=hz_min, hz_max=hz_max)


@gin.register
def frequencies_sigmoid(freqs: Number, depth: int = 1, hz_min: float = 0.0,
                        hz_max: float = 8000.0) -> tf.Tensor:
  """Frequencies as a sum of `depth` sigmoids with geometrically sized ranges.

  The range [hz_min, hz_max] is split into `depth` parts whose sizes grow
  geometrically, so the first sigmoid sets coarse position finely near hz_min
  and later ones reach up to hz_max. The output always lies in the range.

  Args:
    freqs: Logits, [batch, time, n * depth] or [batch, time, n, depth].
    depth: Number of sigmoids per frequency.
    hz_min: Lowest output frequency.
    hz_max: Highest output frequency.

  Returns:
    Frequencies in Hz, [batch, time, n].
  """
  if hz_max <= hz_min:
    raise ValueError(f'hz_max must exceed hz_min, got hz_min={hz_min}, '
                     f'hz_max={hz_max}.')
  freqs = _split_depth(freqs, depth)
  hz_range = hz_max - hz_min
  ratio = max(hz_range, 2.0)**(1.0 / depth)
  sizes = ratio**np.arange(depth, dtype=np.float64)
  sizes = (hz_range * sizes / sizes.sum()).astype(np.float32)
  return hz_min + tf.reduce_sum(tf.nn.sigmoid(freqs) * sizes, axis=-1)


@gin.register
def frequencies_critical_bands(freqs: Number, depth: int = 1,
                               depth_scale: float = 10.0,
                               bandwidth_scale: float = 1.0,
                               hz_min: float = 20.0, hz_max: float = 8000.0,
                               scale: Text = 'bark') -> tf.Tensor:
  """Frequencies as offsets around fixed centres spaced on a perceptual scale.

  The n centres are evenly spaced on the bark or mel scale between hz_min and
  hz_max. Each output moves away from its centre by tanh offsets scaled by the
  centre's ERB bandwidth; depth level d contributes depth_scale**-d of that.
  The result is soft-limited to [hz_min, hz_max].

  Args:
    freqs: Logits, [batch, time, n * depth] or [batch, time, n, depth].
    depth: Number of offset levels per frequency.
    depth_scale: Each level moves this many times less than the previous.
    bandwidth_scale: Multiplier on the ERB bandwidth.
    hz_min: Lowest frequency.
    hz_max: Highest frequency.
    scale: 'bark' or 'mel'.

  Returns:
    Frequencies in Hz, [batch, time, n].
  """
  validation.check_choice('scale', scale, ('bark', 'mel'))
  freqs = _split_depth(freqs, depth)
  n_bands = freqs.shape[-2]
  if n_bands is None:
    raise ValueError('frequencies_critical_bands needs a static number of '
                     f'bands, got shape {freqs.shape.as_list()}.')
  to_scale, from_scale = ((hz_to_bark, bark_to_hz) if scale == 'bark' else
                          (hz_to_mel, mel_to_hz))
  centers = from_scale(tf.linspace(to_scale(hz_min), to_scale(hz_max),
                                   n_bands))
  bandwidths = bandwidth_scale * hz_to_erb(centers)
  level_gains = depth_scale**-np.arange(depth, dtype=np.float32)
  offsets = tf.reduce_sum(tf.tanh(freqs) * level_gains, axis=-1)
  return soft_limit(centers + bandwidths * offsets, hz_min, hz_max)


# ----------------------------------------------------------------------------
# Resampling.
# ----------------------------------------------------------------------------
Length = Union[int, tf.Tensor]


def check_length(name: Text, value: Any) -> Length:
  """A length (samples or frames): an int >= 1 or a scalar integer tensor.

  Lengths may be tensors so that a tf.function traced with an unknown number
  of frames can render n_frames * hop samples. A tensor whose value is known
  while tracing becomes an int; an unknown one is checked when it runs.

  Args:
    name: The argument's name, for the message.
    value: A Python or numpy integer, or a scalar integer tensor.

  Returns:
    The length as an int, or as an int32 scalar tensor when unknown.

  Raises:
    ValueError: For a value that is not a whole number >= 1, or a tensor
      that is not a scalar integer.
  """
  if not isinstance(value, (tf.Tensor, tf.Variable)):
    return validation.check_int(name, value)
  static = tf.get_static_value(value)
  if static is not None and np.ndim(static) == 0:
    return validation.check_int(name, static.item())
  if not value.dtype.is_integer or value.shape.rank not in (None, 0):
    raise ValueError(f'{name} must be an int or a scalar integer tensor, got '
                     f'{name}={value!r}.')
  value = tf.cast(value, tf.int32)
  check = tf.debugging.assert_positive(
      value, message=f'{name} must be an integer >= 1')
  with tf.control_dependencies([check]):
    return tf.identity(value)


def _is_static(*lengths: Length) -> bool:
  return all(isinstance(length, int) for length in lengths)


def _n_frames(x: tf.Tensor, axis: int = 1) -> Length:
  """The size of axis `axis` of x: an int when static, else a tensor."""
  size = x.shape[axis]
  return size if size is not None else tf.shape(x)[axis]


def _sample_positions(n_frames: Length, n_timesteps: Length,
                      add_endpoint: bool) -> Union[np.ndarray, tf.Tensor]:
  """Fractional frame index of every output step (float64, [n_timesteps]).

  With add_endpoint, output step n sits at frame n * n_frames / n_timesteps,
  so the last frame is held until the end. Without it, the first and last
  outputs sit exactly on the first and last frames. Static lengths give a
  numpy array; tensor lengths the same float64 values as a tensor (the same
  IEEE operations in the same order).
  """
  if _is_static(n_frames, n_timesteps):
    steps = np.arange(n_timesteps, dtype=np.float64)
    if add_endpoint:
      return steps * n_frames / n_timesteps
    if n_timesteps == 1:
      return np.zeros(1)
    return steps * (n_frames - 1) / (n_timesteps - 1)
  steps = tf.range(n_timesteps, dtype=tf.float64)
  frames = tf.cast(n_frames, tf.float64)
  timesteps = tf.cast(n_timesteps, tf.float64)
  if add_endpoint:
    return steps * frames / timesteps
  return tf.math.divide_no_nan(steps * (frames - 1.0), timesteps - 1.0)


def _gather_frames(x: tf.Tensor, indices: Union[np.ndarray, tf.Tensor],
                   n_frames: Length) -> tf.Tensor:
  """Gathers frames along axis 1 with indices clamped into [0, n_frames)."""
  if isinstance(indices, np.ndarray):
    indices = np.clip(indices, 0, n_frames - 1).astype(np.int32)
  else:
    last = tf.cast(n_frames - 1, tf.float64)
    indices = tf.cast(tf.clip_by_value(indices, 0.0, last), tf.int32)
  return tf.gather(x, indices, axis=1)


def _cubic_weights(t: Union[np.ndarray, tf.Tensor]) -> List[Any]:
  """Keys cubic convolution weights (a = -0.75) for taps at -1, 0, 1, 2."""
  a = -0.75

  def near(d):  # |d| <= 1
    return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0

  def far(d):  # 1 < |d| < 2
    return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a

  return [far(1.0 + t), near(t), near(1.0 - t), far(2.0 - t)]


def _interpolate_time(x: tf.Tensor, n_timesteps: Length, method: str,
                      add_endpoint: bool) -> tf.Tensor:
  """Interpolates axis 1 of x ([batch, n_frames, ...]) to n_timesteps."""
  n_frames = _n_frames(x)
  positions = _sample_positions(n_frames, n_timesteps, add_endpoint)
  static = isinstance(positions, np.ndarray)
  floor = np.floor if static else tf.floor
  if method == 'nearest':
    # Halves round up, as image resizing with aligned corners does.
    rounded = floor(positions) if add_endpoint else floor(positions + 0.5)
    return _gather_frames(x, rounded, n_frames)
  base = floor(positions)
  frac = positions - base
  weight_shape = [1, -1] + [1] * (x.shape.rank - 2)
  if method == 'linear':
    taps, weights = [0, 1], [1.0 - frac, frac]
  else:
    taps, weights = [-1, 0, 1, 2], _cubic_weights(frac)
  result = 0.0
  for tap, weight in zip(taps, weights):
    frames = _gather_frames(x, base + tap, n_frames)
    weight = (weight.astype(np.float32) if static else
              tf.cast(weight, tf.float32))
    result += frames * tf.reshape(weight, weight_shape)
  return result


def resample(inputs: tf.Tensor, n_timesteps: Length, method: Text = 'linear',
             add_endpoint: bool = True) -> tf.Tensor:
  """Interpolates a frame-wise signal to `n_timesteps` along its time axis.

  Works with an unknown number of frames and a tensor n_timesteps inside a
  tf.function, with the same results as with static lengths.

  Args:
    inputs: [n_frames], [batch, n_frames], [batch, n_frames, channels] or
      [batch, n_frames, n_freq, channels]. Time is axis 0 for 1-D inputs and
      axis 1 otherwise.
    n_timesteps: Output length along the time axis: an int or a scalar
      integer tensor.
    method: 'nearest', 'linear', 'cubic' (Keys, a = -0.75) or 'window'
      (overlapping Hann windows; 3-D inputs and integer upsampling only).
    add_endpoint: If True, output step n samples frame n * n_frames /
      n_timesteps, holding the last frame to the end (what frame-rate
      controls need). If False, the first and last outputs land exactly on
      the first and last frames.

  Returns:
    The interpolated tensor; the time axis has n_timesteps entries.

  Raises:
    ValueError: For an unknown method, a bad rank or a bad n_timesteps.
  """
  validation.check_choice('method', method, RESAMPLE_METHODS)
  n_timesteps = check_length('n_timesteps', n_timesteps)
  inputs = tf_float32(inputs)
  validation.check_rank('inputs', inputs, (1, 2, 3, 4))
  if method == 'window':
    if inputs.shape.rank != 3:
      raise ValueError("resample(method='window') needs 3-D inputs "
                       '[batch, n_frames, channels], got shape '
                       f'{inputs.shape.as_list()}.')
    return upsample_with_windows(inputs, n_timesteps, add_endpoint)
  if inputs.shape.rank == 1:
    return _interpolate_time(inputs[tf.newaxis], n_timesteps, method,
                             add_endpoint)[0]
  return _interpolate_time(inputs, n_timesteps, method, add_endpoint)


def _window_hop(n_frames: Length, n_timesteps: Length,
                add_endpoint: bool) -> Length:
  """Samples between frame centres for window upsampling; validates ratios.

  Static lengths are checked here; tensor lengths when the graph runs.
  """
  n_intervals = n_frames if add_endpoint else n_frames - 1
  if not _is_static(n_frames, n_timesteps):
    check = tf.debugging.assert_equal(
        tf.logical_and(n_intervals >= 1,
                       tf.math.floormod(n_timesteps,
                                        tf.maximum(n_intervals, 1)) == 0),
        True, message='upsample_with_windows needs n_timesteps to be a '
        'multiple of the number of frame intervals')
    with tf.control_dependencies([check]):
      return tf.identity(n_timesteps // tf.maximum(n_intervals, 1))
  if n_timesteps < n_frames:
    raise ValueError('upsample_with_windows only upsamples: n_timesteps='
                     f'{n_timesteps} is less than n_frames={n_frames}. Use '
                     "method='linear' to downsample.")
  if n_intervals < 1 or n_timesteps % n_intervals:
    raise ValueError(
        f'upsample_with_windows needs n_timesteps ({n_timesteps}) to be a '
        f'multiple of {"n_frames" if add_endpoint else "n_frames - 1"} '
        f'({n_intervals}); choose n_samples and n_frames accordingly or use '
        "method='linear'.")
  return n_timesteps // n_intervals


def _hann_crossfade(hop: Length) -> tf.Tensor:
  """Rising half of a Hann window, [hop]: weight of the next frame.

  Computed with TensorFlow in float64 for int and tensor hops alike, so a
  model traced with unknown lengths gives the same numbers.
  """
  hop = tf.cast(hop, tf.float64)
  steps = tf.range(hop, dtype=tf.float64)
  return tf.cast(0.5 - 0.5 * tf.cos(np.pi * steps / hop), tf.float32)


def _linear_crossfade(hop: Length) -> tf.Tensor:
  """Linear ramp from 0 to (hop - 1) / hop, [hop]."""
  hop = tf.cast(hop, tf.float64)
  return tf.cast(tf.range(hop, dtype=tf.float64) / hop, tf.float32)


def _crossfade_frames(frames: tf.Tensor, rise: tf.Tensor) -> tf.Tensor:
  """Crossfades consecutive frames over `hop` samples each.

  Args:
    frames: [batch, n_frames + 1, channels]; interval i fades frame i into
      frame i + 1.
    rise: [hop] weight of the next frame at each sample of an interval.

  Returns:
    [batch, n_frames * hop, channels].
  """
  current, following = frames[:, :-1, tf.newaxis, :], frames[:, 1:, tf.newaxis,
                                                              :]
  blocks = current + (following - current) * rise[:, tf.newaxis]
  shape = tf.shape(frames)
  return tf.reshape(blocks, [shape[0], -1, shape[2]])


def upsample_with_windows(inputs: tf.Tensor, n_timesteps: Length,
                          add_endpoint: bool = True) -> tf.Tensor:
  """Upsamples frames by overlap-adding Hann windows (smooth crossfades).

  Windows are twice the hop long and overlap by half, so neighbouring frames
  crossfade along a raised cosine and the gains always sum to one.

  Args:
    inputs: [batch, n_frames, channels]; n_frames may be unknown in a graph.
    n_timesteps: Output length (int or scalar integer tensor); a multiple of
      n_frames (add_endpoint) or of n_frames - 1 (otherwise).
    add_endpoint: If True, the last frame is held for its own hop so that the
      output covers n_frames full hops.

  Returns:
    [batch, n_timesteps, channels].

  Raises:
    ValueError: For non-3-D inputs, downsampling or a non-integer ratio.
  """
  inputs = tf_float32(inputs)
  validation.check_rank('inputs', inputs, (3,), '[batch, n_frames, channels]')
  n_timesteps = check_length('n_timesteps', n_timesteps)
  hop = _window_hop(_n_frames(inputs), n_timesteps, add_endpoint)
  if add_endpoint:
    inputs = tf.concat([inputs, inputs[:, -1:, :]], axis=1)
  return _crossfade_frames(inputs, _hann_crossfade(hop))


def center_crop(audio: tf.Tensor, frame_size: int) -> tf.Tensor:
  """Removes frame_size // 2 samples from both ends of [batch, n_samples]."""
  audio = tf_float32(audio)
  crop = frame_size // 2
  if crop == 0:
    return audio
  return audio[:, crop:-crop]


# ----------------------------------------------------------------------------
# Harmonic and sinusoidal controls.
# ----------------------------------------------------------------------------
def get_harmonic_frequencies(frequencies: tf.Tensor,
                             n_harmonics: int) -> tf.Tensor:
  """Integer multiples of a fundamental.

  Args:
    frequencies: Fundamental frequency in Hz, [batch, time, 1].
    n_harmonics: Number of harmonics.

  Returns:
    [batch, time, n_harmonics]: f0 * [1, 2, ..., n_harmonics].
  """
  frequencies = tf_float32(frequencies)
  ratios = tf.range(1, n_harmonics + 1, dtype=tf.float32)
  return frequencies * ratios


def remove_above_nyquist(frequency_envelopes: tf.Tensor,
                         amplitude_envelopes: tf.Tensor,
                         sample_rate: int = 16000) -> tf.Tensor:
  """Zeroes the amplitudes of components at or above the Nyquist frequency.

  Args:
    frequency_envelopes: Frequencies in Hz, [batch, time, n].
    amplitude_envelopes: Amplitudes, same shape.
    sample_rate: Samples per second.

  Returns:
    The amplitudes with aliasing components set to zero.
  """
  validation.check_positive('sample_rate', sample_rate)
  frequency_envelopes = tf_float32(frequency_envelopes)
  amplitude_envelopes = tf_float32(amplitude_envelopes)
  return tf.where(frequency_envelopes >= sample_rate / 2.0, 0.0,
                  amplitude_envelopes)


def normalize_harmonics(harmonic_distribution: tf.Tensor,
                        f0_hz: Optional[tf.Tensor] = None,
                        sample_rate: Optional[int] = None) -> tf.Tensor:
  """Normalizes a harmonic distribution to sum to one.

  Args:
    harmonic_distribution: [batch, time, n_harmonics].
    f0_hz: Optional fundamental, [batch, time, 1]. With sample_rate, harmonics
      at or above Nyquist are removed before normalizing.
    sample_rate: Samples per second, used with f0_hz.

  Returns:
    The normalized distribution, same shape.
  """
  harmonic_distribution = tf_float32(harmonic_distribution)
  if f0_hz is not None and sample_rate is not None:
    n_harmonics = harmonic_distribution.shape[-1]
    frequencies = get_harmonic_frequencies(f0_hz, n_harmonics)
    harmonic_distribution = remove_above_nyquist(
        frequencies, harmonic_distribution, sample_rate)
  total = tf.reduce_sum(harmonic_distribution, axis=-1, keepdims=True)
  return safe_divide(harmonic_distribution, total)


def harmonic_to_sinusoidal(harm_amp: tf.Tensor, harm_dist: tf.Tensor,
                           f0_hz: tf.Tensor, sample_rate: int = 16000
                           ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Converts harmonic controls to per-sinusoid amplitudes and frequencies.

  Args:
    harm_amp: Overall amplitude, [batch, time, 1].
    harm_dist: Harmonic distribution, [batch, time, n_harmonics].
    f0_hz: Fundamental in Hz, [batch, time, 1].
    sample_rate: Samples per second; harmonics at or above Nyquist are
      silenced and the rest renormalized.

  Returns:
    (amplitudes, frequencies), each [batch, time, n_harmonics].
  """
  harm_dist = tf_float32(harm_dist)
  frequencies = get_harmonic_frequencies(f0_hz, harm_dist.shape[-1])
  harm_dist = normalize_harmonics(harm_dist, f0_hz, sample_rate)
  return tf_float32(harm_amp) * harm_dist, frequencies


def sinusoidal_to_harmonic(sin_amps: tf.Tensor, sin_freqs: tf.Tensor,
                           f0_hz: tf.Tensor, harmonic_width: float = 0.1,
                           n_harmonics: int = 100, sample_rate: int = 16000,
                           normalize: bool = False
                           ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Projects sinusoids onto the harmonics of f0 with Gaussian weights.

  Each sinusoid contributes to harmonic k with weight
  exp(-((f / f0 - k) / harmonic_width)**2 / 2), so a sinusoid exactly on a
  harmonic adds its full amplitude there and off-harmonic energy fades out.

  Args:
    sin_amps: Sinusoid amplitudes, [batch, time, n_sinusoids].
    sin_freqs: Sinusoid frequencies in Hz, [batch, time, n_sinusoids].
    f0_hz: Fundamental in Hz, [batch, time, 1].
    harmonic_width: Standard deviation of the weights, in harmonic numbers.
    n_harmonics: Number of harmonics to produce.
    sample_rate: Samples per second; harmonics at or above Nyquist get zero.
    normalize: If True, each sinusoid's weights are normalized to sum to one
      over the harmonics, so total amplitude is conserved.

  Returns:
    (harm_amp [batch, time, 1], harm_dist [batch, time, n_harmonics]).
  """
  validation.check_positive('harmonic_width', harmonic_width)
  sin_amps, sin_freqs, f0_hz = (tf_float32(t) for t in
                                (sin_amps, sin_freqs, f0_hz))
  validation.check_same_static_dims(
      ('sin_amps', 'sin_freqs'), sin_amps, sin_freqs,
      range(sin_amps.shape.rank or 0))
  ratios = safe_divide(sin_freqs, f0_hz)[..., tf.newaxis]  # [B, T, S, 1]
  harmonic_numbers = tf.range(1, n_harmonics + 1, dtype=tf.float32)
  weights = tf.exp(-0.5 * tf.square((ratios - harmonic_numbers) /
                                    harmonic_width))  # [B, T, S, H]
  if normalize:
    weights = safe_divide(weights,
                          tf.reduce_sum(weights, axis=-1, keepdims=True))
  harm_amps = tf.reduce_sum(weights * sin_amps[..., tf.newaxis], axis=-2)
  harm_amps = remove_above_nyquist(
      get_harmonic_frequencies(f0_hz, n_harmonics), harm_amps, sample_rate)
  harm_amp = tf.reduce_sum(harm_amps, axis=-1, keepdims=True)
  return harm_amp, safe_divide(harm_amps, harm_amp)


# ----------------------------------------------------------------------------
# Oscillators.
# ----------------------------------------------------------------------------
_TWO_PI = 2.0 * np.pi


# 2 pi split for exact wrapping in float32 (Cody-Waite reduction): the high
# part has 8 significant bits, so n * _TWO_PI_HIGH is exact for n < 2**16.
_TWO_PI_HIGH = 6.28125
_TWO_PI_LOW = float(np.float32(2.0 * np.pi - _TWO_PI_HIGH))
# Phase increments are split into a coarse part on a 2**-9 grid, whose sums
# over a chunk are exact in float32, and a small remainder.
_COARSE_GRID = 512.0


def _wrap_phase(phase: tf.Tensor) -> tf.Tensor:
  """phase modulo 2 pi in float32 without the error of float32(2 pi)."""
  turns = tf.floor(phase / _TWO_PI)
  return (phase - turns * _TWO_PI_HIGH) - turns * _TWO_PI_LOW


@gin.configurable
def angular_cumsum(angular_frequency: tf.Tensor,
                   chunk_size: int = 1000) -> tf.Tensor:
  """Cumulative phase wrapped to [0, 2 pi), accurate in float32 for any length.

  A plain float32 cumsum of phase increments loses precision as the phase
  grows. Here the time axis is cut into chunks. Each increment is split into
  a coarse part on a 2**-9 grid, whose running sums within a chunk are exact
  in float32, and a small remainder whose sums carry negligible rounding.
  Chunk totals are wrapped with a two-part 2 pi and carried forward one chunk
  at a time. Within a chunk the error stays near float32 resolution (about
  1e-5 rad); across chunks it grows by roughly 3e-4 rad per million samples
  (a minute at 16 kHz), against about 2e-2 rad for a plain chunked float32
  cumsum. Uses float32 only, so it also runs where float64 is unavailable
  (TPU); the default oscillators accumulate in float64 and are exact.

  Args:
    angular_frequency: Phase increments in radians per sample (|w| <= pi),
      [batch, n_samples, n_sinusoids].
    chunk_size: Samples summed per chunk; at most 4096 keeps the coarse sums
      exact.

  Returns:
    Inclusive cumulative phase modulo 2 pi, same shape as the input.
  """
  chunk_size = validation.check_int('chunk_size', chunk_size)
  if chunk_size > 4096:
    raise ValueError('chunk_size must be <= 4096 for exact chunk sums, got '
                     f'chunk_size={chunk_size}.')
  omega = tf_float32(angular_frequency)
  validation.check_rank('angular_frequency', omega, (3,),
                        '[batch, n_samples, n_sinusoids]')
  shape = tf.shape(omega)
  batch, n_samples, channels = shape[0], shape[1], shape[2]
  n_chunks = (n_samples + chunk_size - 1) // chunk_size
  omega = tf.pad(omega, [[0, 0], [0, n_chunks * chunk_size - n_samples],
                         [0, 0]])
  chunks = tf.reshape(omega, [batch, n_chunks, chunk_size, channels])
  coarse = tf.round(chunks * _COARSE_GRID) / _COARSE_GRID
  fine = chunks - coarse
  local = _wrap_phase(tf.cumsum(coarse, axis=2)) + tf.cumsum(fine, axis=2)
  totals = (_wrap_phase(tf.reduce_sum(coarse, axis=2)) +
            tf.reduce_sum(fine, axis=2))  # [B, C, K]
  carried = tf.scan(lambda carry, total: _wrap_phase(carry + total),
                    tf.transpose(totals, [1, 0, 2]),
                    initializer=tf.zeros_like(totals[:, 0]))
  offsets = tf.concat([tf.zeros_like(carried[:1]), carried[:-1]], axis=0)
  offsets = tf.transpose(offsets, [1, 0, 2])[:, :, tf.newaxis, :]
  phase = tf.math.floormod(_wrap_phase(offsets + local), _TWO_PI)
  phase = tf.reshape(phase, [batch, n_chunks * chunk_size, channels])
  return phase[:, :n_samples, :]


def _cumulative_cycles(frequencies: tf.Tensor, sample_rate: float,
                       use_angular_cumsum: bool,
                       initial_phase: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Running oscillator phase in cycles, wrapped to [0, 1).

  The default path accumulates in float64, which keeps the phase of an hour
  of audio exact to float32 precision; use_angular_cumsum keeps everything in
  float32 (for TPUs) with bounded error.

  Args:
    frequencies: Instantaneous frequencies in Hz, [batch, n_samples, n].
    sample_rate: Samples per second.
    use_angular_cumsum: Use the float32 chunked cumsum instead of float64.
    initial_phase: Optional phase in radians before the first sample,
      broadcastable to [batch, 1, n].

  Returns:
    Inclusive cumulative phase in cycles, [batch, n_samples, n], float32.
  """
  if use_angular_cumsum:
    phase = angular_cumsum(_TWO_PI * frequencies / sample_rate)
    if initial_phase is not None:
      phase += tf_float32(initial_phase)
    cycles = phase / _TWO_PI
    return cycles - tf.floor(cycles)
  cycles = tf.cumsum(tf.cast(frequencies, tf.float64) / sample_rate, axis=1)
  if initial_phase is not None:
    cycles += tf.cast(initial_phase, tf.float64) / _TWO_PI
  return tf.cast(cycles - tf.floor(cycles), tf.float32)


def _final_phase(cycles: tf.Tensor) -> tf.Tensor:
  """Phase in radians, in [0, 2 pi), after the last sample of [B, N, 1]."""
  return tf.math.floormod(_TWO_PI * cycles[:, -1:, :], _TWO_PI)


def _check_sample_envelopes(frequency_envelopes: tf.Tensor,
                            amplitude_envelopes: tf.Tensor) -> None:
  validation.check_rank('frequency_envelopes', frequency_envelopes, (3,),
                        '[batch, n_samples, n_sinusoids]')
  validation.check_rank('amplitude_envelopes', amplitude_envelopes, (3,),
                        '[batch, n_samples, n_sinusoids]')
  validation.check_same_static_dims(
      ('frequency_envelopes', 'amplitude_envelopes'), frequency_envelopes,
      amplitude_envelopes, (0, 1, 2))


@gin.configurable
def oscillator_bank(frequency_envelopes: tf.Tensor,
                    amplitude_envelopes: tf.Tensor, sample_rate: int = 16000,
                    sum_sinusoids: bool = True,
                    use_angular_cumsum: bool = False) -> tf.Tensor:
  """Synthesizes a bank of sinusoids from sample-rate frequency envelopes.

  Sinusoid k at sample n is amp[n, k] * sin(phase[n, k]) where the phase is
  the inclusive running sum of 2 pi f / sample_rate. Components at or above
  Nyquist are silenced.

  Args:
    frequency_envelopes: Frequencies in Hz, [batch, n_samples, n_sinusoids].
    amplitude_envelopes: Amplitudes, [batch, n_samples, n_sinusoids].
    sample_rate: Samples per second.
    sum_sinusoids: Sum the sinusoids (True) or return them separately.
    use_angular_cumsum: Accumulate phase in float32 chunks (TPU friendly)
      instead of float64.

  Returns:
    [batch, n_samples] audio, or [batch, n_samples, n_sinusoids] when not
    summing.
  """
  validation.check_positive('sample_rate', sample_rate)
  frequency_envelopes = tf_float32(frequency_envelopes)
  amplitude_envelopes = tf_float32(amplitude_envelopes)
  _check_sample_envelopes(frequency_envelopes, amplitude_envelopes)
  amplitude_envelopes = remove_above_nyquist(
      frequency_envelopes, amplitude_envelopes, sample_rate)
  cycles = _cumulative_cycles(frequency_envelopes, sample_rate,
                              use_angular_cumsum)
  audio = amplitude_envelopes * tf.sin(_TWO_PI * cycles)
  return tf.reduce_sum(audio, axis=-1) if sum_sinusoids else audio


@gin.configurable
def harmonic_oscillator_bank(frequency: tf.Tensor,
                             amplitude_envelopes: tf.Tensor,
                             initial_phase: Optional[tf.Tensor] = None,
                             sample_rate: int = 16000,
                             use_angular_cumsum: bool = True
                             ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Synthesizes harmonics of one fundamental, continuing from a given phase.

  Harmonic k uses k times the fundamental's phase, so harmonics stay locked
  and a stream of chunks is seamless when each chunk starts from the previous
  chunk's final phase.

  Args:
    frequency: Fundamental in Hz at the sample rate, [batch, n_samples, 1].
    amplitude_envelopes: Harmonic amplitudes, [batch, n_samples, n_harmonics].
    initial_phase: Fundamental phase in radians before the first sample,
      [batch, 1, 1]; zero when None.
    sample_rate: Samples per second.
    use_angular_cumsum: Accumulate in float32 chunks instead of float64.

  Returns:
    (audio [batch, n_samples], final_phase [batch, 1, 1] in [0, 2 pi)).
  """
  validation.check_positive('sample_rate', sample_rate)
  frequency = tf_float32(frequency)
  amplitude_envelopes = tf_float32(amplitude_envelopes)
  validation.check_rank('frequency', frequency, (3,), '[batch, n_samples, 1]')
  validation.check_rank('amplitude_envelopes', amplitude_envelopes, (3,),
                        '[batch, n_samples, n_harmonics]')
  validation.check_same_static_dims(
      ('frequency', 'amplitude_envelopes'), frequency, amplitude_envelopes,
      (0, 1))
  n_harmonics = amplitude_envelopes.shape[-1]
  amplitude_envelopes = remove_above_nyquist(
      get_harmonic_frequencies(frequency, n_harmonics), amplitude_envelopes,
      sample_rate)
  cycles = _cumulative_cycles(frequency, sample_rate, use_angular_cumsum,
                              initial_phase)
  harmonic_numbers = tf.range(1, n_harmonics + 1, dtype=tf.float32)
  audio = tf.reduce_sum(
      amplitude_envelopes * tf.sin(cycles * (_TWO_PI * harmonic_numbers)),
      axis=-1)
  return audio, _final_phase(cycles)


def _check_frame_controls(frequencies: tf.Tensor, amplitudes: tf.Tensor,
                          **per_harmonic: Optional[tf.Tensor]) -> None:
  """Validates frame-rate f0 [B, T, 1], amplitude [B, T, 1] and [B, T, H]s."""
  validation.check_rank(
      'frequencies', frequencies, (3,), '[batch, n_frames, 1]')
  validation.check_rank('amplitudes', amplitudes, (3,), '[batch, n_frames, 1]')
  validation.check_same_static_dims(('frequencies', 'amplitudes'), frequencies,
                                    amplitudes, (0, 1))
  for name, tensor in per_harmonic.items():
    if tensor is not None:
      validation.check_rank(
          name, tensor, (3,), '[batch, n_frames, n_harmonics]')
      validation.check_same_static_dims(
          ('frequencies', name), frequencies, tensor, (0, 1))


def _block_hop(n_frames: Length, n_samples: Length,
               amp_resample_method: str) -> Optional[Length]:
  """Hop of the fast crossfade path, or None when it does not apply.

  With static lengths the path applies when the frames divide the samples.
  With a tensor length it is always taken (for 'window' and 'linear'), and
  the division is checked when the graph runs.
  """
  if amp_resample_method not in ('window', 'linear'):
    return None
  if _is_static(n_frames, n_samples):
    return None if n_samples % n_frames else n_samples // n_frames
  check = tf.debugging.assert_equal(
      tf.math.floormod(n_samples, n_frames), 0,
      message='n_samples must be a multiple of the number of frames')
  with tf.control_dependencies([check]):
    return tf.identity(n_samples // n_frames)


def _neighbourhood_max(x: tf.Tensor) -> tf.Tensor:
  """Max over frames i-1, i, i+1 along axis 1 of [batch, n_frames, c]."""
  previous = tf.concat([x[:, :1], x[:, :-1]], axis=1)
  following = tf.concat([x[:, 1:], x[:, -1:]], axis=1)
  return tf.maximum(x, tf.maximum(previous, following))


def _crossfaded_harmonic_bank(f0_hz: tf.Tensor, frame_amplitudes: tf.Tensor,
                              n_samples: Length, sample_rate: float,
                              hop: Length,
                              amp_resample_method: str,
                              use_angular_cumsum: bool,
                              initial_phase: Optional[tf.Tensor] = None
                              ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Harmonic synthesis that never upsamples the per-harmonic amplitudes.

  Within the hop after frame i, every harmonic amplitude crossfades from
  frame i to frame i + 1 along a common curve r(t), so the output is
  (1 - r) * (S_i @ a_i) + r * (S_i @ a_{i+1}) where S_i holds sin(k phase) for
  the hop's samples. Two small matmuls per hop replace the
  [batch, n_samples, n_harmonics] amplitude tensor of the direct method. A
  harmonic is silenced in any frame whose neighbourhood reaches Nyquist, so
  nothing above Nyquist is ever synthesized.

  Args:
    f0_hz: Fundamental, [batch, n_frames, 1].
    frame_amplitudes: Harmonic amplitudes, [batch, n_frames, n_harmonics].
    n_samples: Output length, n_frames * hop (int or scalar int tensor).
    sample_rate: Samples per second.
    hop: Samples per frame (int or scalar int tensor).
    amp_resample_method: 'window' (Hann crossfade) or 'linear'.
    use_angular_cumsum: Accumulate phase in float32 chunks.
    initial_phase: Optional phase in radians before the first sample.

  Returns:
    (audio [batch, n_samples], final_phase [batch, 1, 1]).
  """
  n_harmonics = frame_amplitudes.shape[-1]
  f0_samples = resample(f0_hz, n_samples, method='linear')
  cycles = _cumulative_cycles(f0_samples, sample_rate, use_angular_cumsum,
                              initial_phase)
  harmonic_numbers = tf.range(1, n_harmonics + 1, dtype=tf.float32)
  reach = get_harmonic_frequencies(_neighbourhood_max(f0_hz), n_harmonics)
  frame_amplitudes = remove_above_nyquist(reach, frame_amplitudes,
                                          sample_rate)
  frames = tf.concat([frame_amplitudes, frame_amplitudes[:, -1:]], axis=1)
  endpoints = tf.stack([frames[:, :-1], frames[:, 1:]], axis=-1)  # [B,T,H,2]
  shape = tf.shape(f0_hz)
  sines = tf.reshape(tf.sin(cycles * (_TWO_PI * harmonic_numbers)),
                     [shape[0], shape[1], hop, n_harmonics])
  mixed = tf.matmul(sines, endpoints)  # [B, T, hop, 2]
  rise = (_hann_crossfade(hop) if amp_resample_method == 'window' else
          _linear_crossfade(hop))
  audio = mixed[..., 0] + (mixed[..., 1] - mixed[..., 0]) * rise
  return tf.reshape(audio, [shape[0], n_samples]), _final_phase(cycles)


def harmonic_synthesis(frequencies: tf.Tensor, amplitudes: tf.Tensor,
                       harmonic_shifts: Optional[tf.Tensor] = None,
                       harmonic_distribution: Optional[tf.Tensor] = None,
                       n_samples: Length = 64000, sample_rate: int = 16000,
                       amp_resample_method: Text = 'window',
                       use_angular_cumsum: bool = False) -> tf.Tensor:
  """Renders harmonic audio from frame-rate f0, amplitude and distribution.

  The fundamental is upsampled linearly and the amplitudes with
  amp_resample_method; harmonic k has frequency k * f0 * (1 + shift_k) and
  amplitude amplitude * distribution_k. Components at or above Nyquist are
  silent. Without shifts and with a 'window' or 'linear' method that divides
  n_samples evenly, a fast path avoids materializing per-harmonic
  sample-rate amplitudes (same result up to float rounding, except that a
  harmonic crossing Nyquist fades out one frame earlier).

  n_samples may be a scalar integer tensor, e.g. n_frames * hop inside a
  tf.function traced with an unknown number of frames; the numbers are the
  same as with the int. Such a length takes the fast path whenever it
  applies, so with 'window' or 'linear' it must be a multiple of n_frames
  (checked when the graph runs).

  Args:
    frequencies: Fundamental in Hz, [batch, n_frames, 1].
    amplitudes: Overall amplitude, [batch, n_frames, 1].
    harmonic_shifts: Optional relative detuning of each harmonic,
      [batch, n_frames, n_harmonics].
    harmonic_distribution: Optional relative harmonic amplitudes,
      [batch, n_frames, n_harmonics]; one harmonic when None.
    n_samples: Output length: an int or a scalar integer tensor.
    sample_rate: Samples per second.
    amp_resample_method: 'nearest', 'linear', 'cubic' or 'window'.
    use_angular_cumsum: Accumulate phase in float32 chunks instead of
      float64.

  Returns:
    Audio, [batch, n_samples].
  """
  validation.check_positive('sample_rate', sample_rate)
  validation.check_choice(
      'amp_resample_method', amp_resample_method, RESAMPLE_METHODS)
  n_samples = check_length('n_samples', n_samples)
  frequencies, amplitudes = tf_float32(frequencies), tf_float32(amplitudes)
  harmonic_shifts = (None if harmonic_shifts is None else
                     tf_float32(harmonic_shifts))
  harmonic_distribution = (None if harmonic_distribution is None else
                           tf_float32(harmonic_distribution))
  _check_frame_controls(frequencies, amplitudes,
                        harmonic_shifts=harmonic_shifts,
                        harmonic_distribution=harmonic_distribution)
  if harmonic_distribution is not None:
    n_harmonics = harmonic_distribution.shape[-1]
    frame_amplitudes = amplitudes * harmonic_distribution
  else:
    n_harmonics = 1 if harmonic_shifts is None else harmonic_shifts.shape[-1]
    frame_amplitudes = tf.tile(amplitudes, [1, 1, n_harmonics])
  if harmonic_shifts is not None:
    validation.check_same_static_dims(
        ('harmonic_shifts', 'harmonic_distribution'), harmonic_shifts,
        frame_amplitudes, (2,))
  hop = (None if harmonic_shifts is not None else
         _block_hop(_n_frames(frequencies), n_samples, amp_resample_method))
  if hop is not None:
    audio, _ = _crossfaded_harmonic_bank(
        frequencies, frame_amplitudes, n_samples, sample_rate, hop,
        amp_resample_method, use_angular_cumsum)
    return audio
  frame_frequencies = get_harmonic_frequencies(frequencies, n_harmonics)
  if harmonic_shifts is not None:
    frame_frequencies *= 1.0 + harmonic_shifts
  frequency_envelopes = resample(frame_frequencies, n_samples)
  amplitude_envelopes = resample(frame_amplitudes, n_samples,
                                 method=amp_resample_method)
  return oscillator_bank(frequency_envelopes, amplitude_envelopes,
                         sample_rate=sample_rate,
                         use_angular_cumsum=use_angular_cumsum)


def streaming_harmonic_synthesis(frequencies: tf.Tensor, amplitudes: tf.Tensor,
                                 harmonic_distribution: Optional[
                                     tf.Tensor] = None,
                                 initial_phase: Optional[tf.Tensor] = None,
                                 n_samples: Length = 64000,
                                 sample_rate: int = 16000,
                                 amp_resample_method: Text = 'linear'
                                 ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Harmonic synthesis for streaming: takes and returns the phase.

  The distribution is normalized after removing harmonics above Nyquist.
  Rendering consecutive chunks, each starting from the previous final phase,
  gives the same audio as one long render.

  Args:
    frequencies: Fundamental in Hz, [batch, n_frames, 1].
    amplitudes: Overall amplitude, [batch, n_frames, 1].
    harmonic_distribution: Relative harmonic amplitudes,
      [batch, n_frames, n_harmonics]; one harmonic when None.
    initial_phase: Fundamental phase in radians before the first sample,
      [batch, 1, 1]; zero when None.
    n_samples: Output length: an int or a scalar integer tensor (see
      harmonic_synthesis).
    sample_rate: Samples per second.
    amp_resample_method: 'nearest', 'linear', 'cubic' or 'window'.

  Returns:
    (audio [batch, n_samples], final_phase [batch, 1, 1]).
  """
  validation.check_positive('sample_rate', sample_rate)
  validation.check_choice(
      'amp_resample_method', amp_resample_method, RESAMPLE_METHODS)
  n_samples = check_length('n_samples', n_samples)
  frequencies, amplitudes = tf_float32(frequencies), tf_float32(amplitudes)
  if harmonic_distribution is None:
    harmonic_distribution = tf.ones_like(amplitudes)
  harmonic_distribution = tf_float32(harmonic_distribution)
  _check_frame_controls(frequencies, amplitudes,
                        harmonic_distribution=harmonic_distribution)
  harmonic_distribution = normalize_harmonics(harmonic_distribution,
                                              frequencies, sample_rate)
  frame_amplitudes = amplitudes * harmonic_distribution
  hop = _block_hop(_n_frames(frequencies), n_samples, amp_resample_method)
  if hop is not None:
    return _crossfaded_harmonic_bank(
        frequencies, frame_amplitudes, n_samples, sample_rate, hop,
        amp_resample_method, use_angular_cumsum=False,
        initial_phase=initial_phase)
  frequency = resample(frequencies, n_samples)
  amplitude_envelopes = resample(frame_amplitudes, n_samples,
                                 method=amp_resample_method)
  return harmonic_oscillator_bank(frequency, amplitude_envelopes,
                                  initial_phase=initial_phase,
                                  sample_rate=sample_rate,
                                  use_angular_cumsum=False)


# ----------------------------------------------------------------------------
# Wavetables and delays.
# ----------------------------------------------------------------------------
def _interpolated_gather(table: tf.Tensor, lower: tf.Tensor,
                         frac: tf.Tensor) -> tf.Tensor:
  """Linear interpolation between table entries lower and lower + 1.

  Args:
    table: [batch, size] (one table per batch entry) or
      [batch, n_samples, size] (one per sample); indices select along the
      last axis.
    lower: Integer indices in [0, size - 2], [batch, n_samples].
    frac: Weight of entry lower + 1, in [0, 1], [batch, n_samples].

  Returns:
    [batch, n_samples].
  """
  indices = tf.stack([lower, lower + 1], axis=-1)
  values = tf.gather(table, indices, batch_dims=table.shape.rank - 1)
  return values[..., 0] + (values[..., 1] - values[..., 0]) * frac


def _table_position(phase: tf.Tensor,
                    n_wavetable: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """Entry below a phase in a wrapped table, and the fraction past it.

  Args:
    phase: Position in the period, [batch, n_samples], clipped to [0, 1].
    n_wavetable: Samples per period (the wrapped table has one more).

  Returns:
    (lower int32 in [0, n_wavetable - 1], frac in [0, 1]).
  """
  position = tf.clip_by_value(phase, 0.0, 1.0) * tf.cast(n_wavetable,
                                                         tf.float32)
  lower = tf.minimum(tf.floor(position), tf.cast(n_wavetable - 1, tf.float32))
  return tf.cast(lower, tf.int32), position - lower


def linear_lookup(phase: tf.Tensor, wavetables: tf.Tensor) -> tf.Tensor:
  """Reads a periodic wavetable at fractional phases by linear interpolation.

  Args:
    phase: Position in the period, in [0, 1], [batch, n_samples, 1] or
      [batch, n_samples].
    wavetables: One period per sample, [batch, n_samples, n_wavetable], or a
      single table per batch entry, [batch, n_wavetable]. The table wraps:
      phase 1 reads the first sample again.

  Returns:
    [batch, n_samples].
  """
  phase, wavetables = tf_float32(phase), tf_float32(wavetables)
  validation.check_rank('phase', phase, (2, 3), '[batch, n_samples(, 1)]')
  validation.check_rank(
      'wavetables', wavetables, (2, 3),
      '[batch, n_wavetable] or [batch, n_samples, n_wavetable]')
  if phase.shape.rank == 3:
    phase = phase[..., 0]
  validation.check_same_static_dims(('phase', 'wavetables'), phase, wavetables,
                                    range(wavetables.shape.rank - 1))
  wrapped = tf.concat([wavetables, wavetables[..., :1]], axis=-1)
  lower, frac = _table_position(phase, tf.shape(wavetables)[-1])
  return _interpolated_gather(wrapped, lower, frac)


def harmonic_distribution_to_wavetable(harmonic_distribution: tf.Tensor,
                                       n_wavetable: int = 2048) -> tf.Tensor:
  """One period of a sum of harmonics (cosine phase), by inverse real FFT.

  Harmonic k of amplitude a_k contributes a_k * cos(2 pi k n / n_wavetable).

  Args:
    harmonic_distribution: Harmonic amplitudes, [..., n_harmonics].
    n_wavetable: Samples per period; must exceed 2 * n_harmonics.

  Returns:
    [..., n_wavetable].
  """
  harmonic_distribution = tf_float32(harmonic_distribution)
  n_harmonics = harmonic_distribution.shape[-1]
  n_bins = n_wavetable // 2 + 1
  if n_harmonics is None or n_harmonics >= n_bins - 1:
    raise ValueError(f'n_wavetable={n_wavetable} is too short for '
                     f'{n_harmonics} harmonics; it must exceed '
                     '2 * n_harmonics.')
  spectrum = pad_axis(harmonic_distribution,
                      (1, n_bins - n_harmonics - 1), axis=-1)
  spectrum = tf.complex(spectrum, tf.zeros_like(spectrum))
  return tf.signal.irfft(spectrum, fft_length=[n_wavetable]) * (
      n_wavetable / 2.0)


def _exclusive_cycles(frequencies: tf.Tensor, sample_rate: float) -> tf.Tensor:
  """Phase in cycles before each sample (first sample at 0), in [0, 1)."""
  cycles = tf.cumsum(tf.cast(frequencies, tf.float64) / sample_rate, axis=1,
                     exclusive=True)
  return tf.cast(cycles - tf.floor(cycles), tf.float32)


def wavetable_synthesis(frequencies: tf.Tensor, amplitudes: tf.Tensor,
                        wavetables: tf.Tensor, n_samples: int = 64000,
                        sample_rate: int = 16000) -> tf.Tensor:
  """Plays wavetables at frame-rate frequencies and amplitudes.

  The phase starts at 0 and accumulates in float64 (no drift). Frame-rate
  wavetables are crossfaded linearly between frames by reading both
  neighbouring tables, which equals reading a linearly upsampled table
  without building one per sample.

  Args:
    frequencies: Frequency in Hz, [batch, n_frames, 1].
    amplitudes: Amplitude, [batch, n_frames, 1], upsampled with 'window'.
    wavetables: [batch, n_wavetable] or [batch, n_frames, n_wavetable].
    n_samples: Output length; a multiple of n_frames.
    sample_rate: Samples per second.

  Returns:
    Audio, [batch, n_samples].
  """
  validation.check_positive('sample_rate', sample_rate)
  n_samples = validation.check_int('n_samples', n_samples)
  frequencies, amplitudes = tf_float32(frequencies), tf_float32(amplitudes)
  wavetables = tf_float32(wavetables)
  _check_frame_controls(frequencies, amplitudes)
  validation.check_rank(
      'wavetables', wavetables, (2, 3),
      '[batch, n_wavetable] or [batch, n_frames, n_wavetable]')
  amplitude = resample(amplitudes, n_samples, method='window')[..., 0]
  frequency = resample(frequencies, n_samples)
  phase = _exclusive_cycles(frequency, sample_rate)
  if wavetables.shape.rank == 2 or wavetables.shape[1] == 1:
    tables = wavetables if wavetables.shape.rank == 2 else wavetables[:, 0]
    return amplitude * linear_lookup(phase, tables)
  # Read both neighbouring frames' tables straight from the flattened
  # [batch, n_frames * (n_wavetable + 1)] wrapped tables, so no per-sample
  # copy of the tables is ever made.
  n_frames, n_wavetable = wavetables.shape[1], tf.shape(wavetables)[-1]
  wrapped = tf.concat([wavetables, wavetables[..., :1]], axis=-1)
  flat = tf.reshape(wrapped, [tf.shape(wrapped)[0], -1])
  positions = _sample_positions(n_frames, n_samples, add_endpoint=True)
  lower_frame = np.floor(positions)
  frame_frac = (positions - lower_frame).astype(np.float32)
  upper_frame = np.minimum(lower_frame + 1, n_frames - 1)
  entry, entry_frac = _table_position(phase[..., 0], n_wavetable)

  def read(frames: np.ndarray) -> tf.Tensor:
    offsets = tf.constant(frames.astype(np.int32)) * (n_wavetable + 1)
    return _interpolated_gather(flat, offsets + entry, entry_frac)

  audio_lower, audio_upper = read(lower_frame), read(upper_frame)
  return amplitude * (audio_lower + (audio_upper - audio_lower) * frame_frac)


def variable_length_delay(phase: tf.Tensor, audio: tf.Tensor,
                          max_length: int = 512) -> tf.Tensor:
  """Delays audio by a time-varying, fractional number of samples.

  The delay at sample n is phase[n] * max_length samples, read by linear
  interpolation; samples before the start of the audio are zero. This is the
  core of chorus, flanger and vibrato effects.

  Args:
    phase: Delay as a fraction of max_length, in [0, 1],
      [batch, n_samples, 1] or [batch, n_samples].
    audio: [batch, n_samples].
    max_length: Delay in samples for phase 1.

  Returns:
    Delayed audio, [batch, n_samples].
  """
  if max_length < 1:
    raise ValueError(f'max_length must be >= 1, got max_length={max_length}.')
  phase, audio = tf_float32(phase), tf_float32(audio)
  validation.check_rank('phase', phase, (2, 3), '[batch, n_samples(, 1)]')
  validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
  if phase.shape.rank == 3:
    phase = phase[..., 0]
  validation.check_same_static_dims(('phase', 'audio'), phase, audio, (0, 1))
  delay = tf.clip_by_value(phase, 0.0, 1.0) * float(max_length)
  whole_delay = tf.floor(delay)
  # Index i of the padded audio holds original sample i - max_length - 1, so
  # every read is in range and reads before the start find zeros. Sample n
  # reads between indices n + max_length - whole_delay and the one after;
  # the integer part is kept in int32 so the fraction keeps full precision
  # however long the audio.
  padded = pad_axis(audio, (max_length + 1, 1), axis=1)
  sample_index = tf.range(tf.shape(audio)[1])
  lower = sample_index + max_length - tf.cast(whole_delay, tf.int32)
  return _interpolated_gather(padded, lower, 1.0 - (delay - whole_delay))


# ----------------------------------------------------------------------------
# Filtering.
# ----------------------------------------------------------------------------
def get_fft_size(frame_size: int, ir_size: int, power_of_2: bool = True) -> int:
  """FFT length that holds a full linear convolution without wrap-around.

  Args:
    frame_size: Samples of audio per convolved frame.
    ir_size: Samples of the impulse response.
    power_of_2: Round up to a power of two (True) or to the next 5-smooth
      length, which scipy's FFT handles quickly (False).

  Returns:
    An FFT size >= frame_size + ir_size - 1.
  """
  validation.check_positive('frame_size', frame_size)
  validation.check_positive('ir_size', ir_size)
  convolved_size = int(frame_size) + int(ir_size) - 1
  if power_of_2:
    return int(2**np.ceil(np.log2(convolved_size)))
  return int(scipy.fft.next_fast_len(convolved_size, real=True))


def _next_power_of_2(n: tf.Tensor) -> tf.Tensor:
  """The smallest power of two >= n, for a positive int32 tensor (exact)."""
  n = tf.cast(n, tf.int32) - 1
  for shift in (1, 2, 4, 8, 16):
    n = tf.bitwise.bitwise_or(n, tf.bitwise.right_shift(n, shift))
  return n + 1


def crop_and_compensate_delay(audio: tf.Tensor, audio_size: Length,
                              ir_size: int,
                              padding: Text,
                              delay_compensation: int) -> tf.Tensor:
  """Crops a full convolution to the wanted length and removes filter delay.

  Args:
    audio: Full convolution output, [batch, >= audio_size + ir_size - 1].
    audio_size: Length of the audio before convolution (an int, or a scalar
      integer tensor for audio of unknown length).
    ir_size: Length of the impulse response.
    padding: 'same' keeps audio_size samples; 'valid' keeps the whole
      convolution, audio_size + ir_size - 1 samples.
    delay_compensation: Samples to drop from the start. A negative value
      drops ir_size // 2, the delay of the centred linear-phase impulse
      responses that frequency_impulse_response and sinc_impulse_response
      make, so filtering with a flat response returns the input unshifted.
      (magenta/ddsp dropped (ir_size - 1) // 2 - 1, which leaves its own
      filters one or two samples late.)

  Returns:
    [batch, audio_size] for 'same', [batch, audio_size + ir_size - 1] for
    'valid'.
  """
  validation.check_choice('padding', padding, _CONVOLUTION_PADDINGS)
  crop_size = audio_size if padding == 'same' else audio_size + ir_size - 1
  start = ir_size // 2 if delay_compensation < 0 else int(delay_compensation)
  audio = pad_axis(audio, (0, start), axis=-1)
  return audio[..., start:start + crop_size]


def fft_convolve(audio: tf.Tensor, impulse_response: tf.Tensor,
                 padding: Text = 'same',
                 delay_compensation: int = -1) -> tf.Tensor:
  """Convolves audio with a fixed or time-varying impulse response by FFT.

  A 2-D impulse response is one filter for the whole signal (LTI). A 3-D one
  holds one filter per frame (LTV): the audio is cut into n_frames equal,
  non-overlapping blocks (n_frames must divide n_samples), each block is
  convolved with its frame's filter, and the results overlap-add, tails
  included. n_samples and n_frames may be unknown inside a tf.function (the
  division is then checked when the graph runs); ir_size must be static.

  Args:
    audio: [batch, n_samples].
    impulse_response: [batch, ir_size] or [batch, n_frames, ir_size]; a batch
      of 1 applies to every audio entry.
    padding: 'same' (output as long as the input) or 'valid' (the whole
      convolution, n_samples + ir_size - 1).
    delay_compensation: Samples dropped from the start; negative means the
      delay of a centred linear-phase filter, ir_size // 2.

  Returns:
    Filtered audio, [batch, n_samples] or [batch, n_samples + ir_size - 1].

  Raises:
    ValueError: For bad ranks, mismatched batch sizes, unknown padding, or
      an n_frames that cannot split the audio into equal blocks.
  """
  validation.check_choice('padding', padding, _CONVOLUTION_PADDINGS)
  audio, impulse_response = tf_float32(audio), tf_float32(impulse_response)
  validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
  validation.check_rank('impulse_response', impulse_response, (2, 3),
                        '[batch, ir_size] or [batch, n_frames, ir_size]')
  if impulse_response.shape.rank == 2:
    impulse_response = impulse_response[:, tf.newaxis, :]
  batch_audio, batch_ir = audio.shape[0], impulse_response.shape[0]
  if (batch_audio is not None and batch_ir is not None and
      batch_ir not in (1, batch_audio)):
    raise ValueError(f'Batch size of audio ({batch_audio}) and '
                     f'impulse_response ({batch_ir}) must match, or the '
                     'impulse response must have batch size 1.')
  ir_size = impulse_response.shape[2]
  if ir_size is None:
    raise ValueError('fft_convolve needs a static ir_size, got '
                     'impulse_response shape '
                     f'{impulse_response.shape.as_list()}.')
  n_samples, n_frames = _n_frames(audio), _n_frames(impulse_response)
  if _is_static(n_samples, n_frames):
    if n_samples % n_frames:
      raise ValueError(
          f'Cannot split {n_samples} audio samples into n_frames={n_frames} '
          'equal blocks. Use a number of impulse response frames that '
          'divides the audio length.')
    frame_size = n_samples // n_frames
    fft_size = get_fft_size(frame_size, ir_size, power_of_2=True)
  else:
    check = tf.debugging.assert_equal(
        tf.math.floormod(n_samples, n_frames), 0,
        message='fft_convolve: the impulse response frames must split the '
        'audio into equal blocks')
    with tf.control_dependencies([check]):
      frame_size = tf.identity(n_samples // n_frames)
    fft_size = _next_power_of_2(frame_size + ir_size - 1)
  frames = tf.reshape(audio, [-1, n_frames, frame_size])
  spectrum = (tf.signal.rfft(frames, [fft_size]) *
              tf.signal.rfft(impulse_response, [fft_size]))
  blocks = tf.signal.irfft(spectrum, [fft_size])
  convolved = tf.signal.overlap_and_add(blocks, frame_size)
  return crop_and_compensate_delay(convolved, n_samples, ir_size, padding,
                                   delay_compensation)


def apply_window_to_impulse_response(impulse_response: tf.Tensor,
                                     window_size: int = 0,
                                     causal: bool = False) -> tf.Tensor:
  """Windows an impulse response and returns it in causal, centred form.

  Args:
    impulse_response: [..., ir_size]. Zero-phase form (time zero at index 0,
      negative times wrapped to the end, as irfft returns) unless causal.
    window_size: Length of the Hann window and of the result; 0 or more than
      ir_size means ir_size.
    causal: The input is already causal with time zero at index
      ir_size // 2.

  Returns:
    [..., window_size] impulse response whose time zero sits at index
    window_size // 2, tapered by a Hann window centred there (linear phase
    when the input is symmetric).
  """
  impulse_response = tf_float32(impulse_response)
  ir_size = impulse_response.shape[-1]
  if ir_size is None:
    raise ValueError('The impulse response needs a static length, got shape '
                     f'{impulse_response.shape.as_list()}.')
  if causal:
    impulse_response = tf.roll(impulse_response, -(ir_size // 2), axis=-1)
  if window_size <= 0 or window_size > ir_size:
    window_size = ir_size
  center = window_size // 2
  impulse_response = tf.roll(impulse_response, center,
                             axis=-1)[..., :window_size]
  offsets = np.arange(window_size) - center
  window = 0.5 + 0.5 * np.cos(2.0 * np.pi * offsets / window_size)
  return impulse_response * window.astype(np.float32)


def frequency_impulse_response(magnitudes: tf.Tensor,
                               window_size: int = 0) -> tf.Tensor:
  """Linear-phase FIR filter with the given magnitude response.

  Args:
    magnitudes: Gains at n_bins frequencies evenly spaced from 0 Hz to
      Nyquist, [batch, n_bins] or [batch, n_frames, n_bins].
    window_size: Filter length; 0 gives 2 * (n_bins - 1).

  Returns:
    Impulse responses, [batch, (n_frames,) ir_size], centred at
    ir_size // 2.
  """
  magnitudes = tf_float32(magnitudes)
  validation.check_rank('magnitudes', magnitudes, (2, 3),
                        '[batch, n_bins] or [batch, n_frames, n_bins]')
  if magnitudes.shape[-1] is not None and magnitudes.shape[-1] < 2:
    raise ValueError('magnitudes needs at least 2 frequency bins, got shape '
                     f'{magnitudes.shape.as_list()}.')
  spectrum = tf.complex(magnitudes, tf.zeros_like(magnitudes))
  impulse_response = tf.signal.irfft(spectrum)
  return apply_window_to_impulse_response(impulse_response, window_size)


def sinc(x: tf.Tensor, threshold: float = 1e-20) -> tf.Tensor:
  """Normalized sinc, sin(pi x) / (pi x), equal to 1 where |x| < threshold."""
  x = tf_float32(x)
  near_zero = tf.abs(x) < threshold
  safe_x = tf.where(near_zero, 1.0, x)
  return tf.where(near_zero, 1.0, tf.sin(np.pi * safe_x) / (np.pi * safe_x))


def sinc_impulse_response(cutoff_frequency: tf.Tensor, window_size: int = 512,
                          sample_rate: Optional[float] = None,
                          high_pass: bool = False) -> tf.Tensor:
  """Hamming-windowed sinc low-pass (or high-pass) filter, unit gain at DC.

  Args:
    cutoff_frequency: Cutoff in Hz when sample_rate is given, else as a
      fraction of Nyquist in [0, 1]. Shape [batch] or [batch, n_frames]; a
      trailing axis of 1 is dropped.
    window_size: Filter length is (window_size // 2) * 2 + 1 (always odd).
    sample_rate: Samples per second, if the cutoff is in Hz.
    high_pass: Return the complementary high-pass filter.

  Returns:
    [..., ir_size] impulse responses centred at ir_size // 2.
  """
  if window_size < 1:
    raise ValueError(
        f'window_size must be >= 1, got window_size={window_size}.')
  cutoff = tf_float32(cutoff_frequency)
  if sample_rate is not None:
    validation.check_positive('sample_rate', sample_rate)
    nyquist = sample_rate / 2.0
  else:
    nyquist = 1.0
  if not isinstance(cutoff_frequency, (tf.Tensor, tf.Variable)):
    values = np.asarray(cutoff_frequency, dtype=np.float64)
    if np.any(values < 0) or np.any(values > nyquist):
      raise ValueError(f'cutoff_frequency must lie in [0, {nyquist}] '
                       f'({"Hz" if sample_rate else "fraction of Nyquist"}), '
                       f'got {values.ravel()[:8].tolist()}.')
  cutoff = cutoff / nyquist
  if cutoff.shape.rank and cutoff.shape[-1] == 1 and cutoff.shape.rank > 1:
    cutoff = cutoff[..., 0]
  ir_size = (window_size // 2) * 2 + 1
  times = (np.arange(ir_size) - ir_size // 2).astype(np.float32)
  window = np.hamming(ir_size).astype(np.float32)
  cutoff = cutoff[..., tf.newaxis]
  impulse_response = cutoff * sinc(cutoff * times) * window
  impulse_response = safe_divide(
      impulse_response,
      tf.reduce_sum(impulse_response, axis=-1, keepdims=True))
  if high_pass:
    delta = np.zeros(ir_size, np.float32)
    delta[ir_size // 2] = 1.0
    impulse_response = delta - impulse_response
  return impulse_response


def frequency_filter(audio: tf.Tensor, magnitudes: tf.Tensor,
                     window_size: int = 0, padding: Text = 'same') -> tf.Tensor:
  """Filters audio with a (time-varying) magnitude response.

  Args:
    audio: [batch, n_samples].
    magnitudes: Gains from 0 Hz to Nyquist, [batch, n_bins] or
      [batch, n_frames, n_bins] (n_frames must split the audio evenly).
    window_size: Filter length; 0 gives 2 * (n_bins - 1).
    padding: 'same' or 'valid', as in fft_convolve.

  Returns:
    Filtered audio, delay-compensated.
  """
  impulse_response = frequency_impulse_response(magnitudes,
                                                window_size=window_size)
  return fft_convolve(audio, impulse_response, padding=padding)


def sinc_filter(audio: tf.Tensor, cutoff_frequency: tf.Tensor,
                window_size: int = 512, sample_rate: Optional[float] = None,
                padding: Text = 'same', high_pass: bool = False) -> tf.Tensor:
  """Low-pass (or high-pass) filters audio with a windowed sinc.

  Args:
    audio: [batch, n_samples].
    cutoff_frequency: See sinc_impulse_response; [batch] or
      [batch, n_frames] for a time-varying cutoff.
    window_size: Filter length is (window_size // 2) * 2 + 1.
    sample_rate: Samples per second, if the cutoff is in Hz.
    padding: 'same' or 'valid', as in fft_convolve.
    high_pass: High-pass instead of low-pass.

  Returns:
    Filtered audio, delay-compensated.
  """
  impulse_response = sinc_impulse_response(
      cutoff_frequency, window_size=window_size, sample_rate=sample_rate,
      high_pass=high_pass)
  return fft_convolve(audio, impulse_response, padding=padding)
