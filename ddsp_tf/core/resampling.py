"""Lengths and time-axis resampling of ddsp_tf.core.

check_length and the Length type, resample (nearest, linear, cubic, window),
upsample_with_windows and center_crop, plus the private length and crossfade
helpers (_is_static, _n_frames, _sample_positions, _hann_crossfade,
_linear_crossfade, ...) that the oscillators, wavetables and filters reuse.
"""

from typing import Any, List, Text, Union

import numpy as np
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.core.utils import tf_float32

RESAMPLE_METHODS = ('nearest', 'linear', 'cubic', 'window')


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


_IMAGE_RESIZE_METHODS = {
    'nearest': tf.compat.v1.image.ResizeMethod.NEAREST_NEIGHBOR,
    'linear': tf.compat.v1.image.ResizeMethod.BILINEAR,
    'cubic': tf.compat.v1.image.ResizeMethod.BICUBIC,
}


def _legacy_positions(n_frames: Length, n_timesteps: Length,
                      add_endpoint: bool) -> tf.Tensor:
  """float32 source position of every output step, as TF's legacy resize.

  The scale is n_frames / n_timesteps (or (n_frames - 1) / (n_timesteps - 1)
  with aligned corners), rounded to float32, times the float32 step index.
  """
  frames = tf.cast(n_frames, tf.float32)
  steps = tf.cast(n_timesteps, tf.float32)
  if add_endpoint:
    scale = frames / steps
  else:
    scale = tf.where(steps > 1.0, (frames - 1.0) / tf.maximum(steps - 1.0, 1.0),
                     frames / steps)
  return tf.range(n_timesteps, dtype=tf.float32) * scale


def _image_resize_time(x: tf.Tensor, n_timesteps: Length, method: str,
                       add_endpoint: bool) -> tf.Tensor:
  """Resizes axis 1 of [batch, n_frames, channels] like TF's image kernels.

  The same arithmetic as magenta/ddsp's resample (tf.compat.v1.image.resize
  with align_corners = not add_endpoint), so the numbers agree to the last
  bit. 'nearest' and 'linear' are written out with gathers, which also
  compile under XLA; 'cubic' calls the image op.
  """
  if method in ('nearest', 'linear'):
    n_frames = _n_frames(x)
    positions = _legacy_positions(n_frames, n_timesteps, add_endpoint)
    last = tf.cast(n_frames, tf.int32) - 1
    if method == 'nearest':
      # Aligned corners round halves up (C's roundf on non-negatives).
      index = (tf.floor(positions + 0.5) if not add_endpoint else
               tf.floor(positions))
      index = tf.minimum(tf.cast(index, tf.int32), last)
      return tf.gather(x, index, axis=1)
    top = tf.floor(positions)
    lerp = (positions - top)[tf.newaxis, :, tf.newaxis]
    top_index = tf.minimum(tf.cast(top, tf.int32), last)
    bottom_index = tf.minimum(top_index + 1, last)
    top_value = tf.gather(x, top_index, axis=1)
    bottom_value = tf.gather(x, bottom_index, axis=1)
    return top_value + (bottom_value - top_value) * lerp
  image = x[:, :, tf.newaxis, :]
  resized = tf.compat.v1.image.resize(
      image, tf.stack([n_timesteps, 1]) if not _is_static(n_timesteps)
      else [n_timesteps, 1], method=_IMAGE_RESIZE_METHODS[method],
      align_corners=not add_endpoint)
  return resized[:, :, 0, :]


def resample(inputs: tf.Tensor, n_timesteps: Length, method: Text = 'linear',
             add_endpoint: bool = True,
             float64_positions: bool = False) -> tf.Tensor:
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
    float64_positions: ddsp_tf's interpolation, which places every output
      step with float64 arithmetic (and pads 'cubic' by repeating the edge
      frames). By default 'nearest', 'linear' and 'cubic' use TensorFlow's
      image-resize kernels in float32, as magenta/ddsp does, which agree
      with it to the last bit.

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
  if float64_positions:
    if inputs.shape.rank == 1:
      return _interpolate_time(inputs[tf.newaxis], n_timesteps, method,
                               add_endpoint)[0]
    return _interpolate_time(inputs, n_timesteps, method, add_endpoint)
  rank = inputs.shape.rank
  if rank == 4:
    batch, n_frames = tf.shape(inputs)[0], tf.shape(inputs)[1]
    n_freq, channels = inputs.shape[2], inputs.shape[3]
    flat = tf.reshape(tf.transpose(inputs, [0, 2, 1, 3]),
                      [batch * n_freq, n_frames, channels])
    out = _image_resize_time(flat, n_timesteps, method, add_endpoint)
    out = tf.reshape(out, [batch, n_freq, -1, channels])
    return tf.transpose(out, [0, 2, 1, 3])
  x = (inputs[tf.newaxis, :, tf.newaxis] if rank == 1 else
       inputs[..., tf.newaxis] if rank == 2 else inputs)
  out = _image_resize_time(x, n_timesteps, method, add_endpoint)
  return out[0, :, 0] if rank == 1 else out[..., 0] if rank == 2 else out


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
