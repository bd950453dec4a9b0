"""Output nonlinearities and frequency parameterizations of ddsp_tf.core.

exp_sigmoid, sym_exp_sigmoid, frequencies_softmax, frequencies_sigmoid and
frequencies_critical_bands. All are gin-registered under the module
'ddsp_tf.core' (e.g. `@core.exp_sigmoid` in .gin files), as before the split.
"""

from typing import Text

import gin
import numpy as np
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.core.numerics import soft_limit
from ddsp_tf.core.units import Number
from ddsp_tf.core.units import bark_to_hz
from ddsp_tf.core.units import hz_to_bark
from ddsp_tf.core.units import hz_to_erb
from ddsp_tf.core.units import hz_to_mel
from ddsp_tf.core.units import mel_to_hz
from ddsp_tf.core.units import unit_to_hz
from ddsp_tf.core.utils import tf_float32


# ----------------------------------------------------------------------------
# Nonlinearities and frequency parameterizations.
# ----------------------------------------------------------------------------
@gin.register(module='ddsp_tf.core')
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


@gin.register(module='ddsp_tf.core')
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


@gin.register(module='ddsp_tf.core')
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


@gin.register(module='ddsp_tf.core')
def frequencies_sigmoid(freqs: Number, depth: int = 1, hz_min: float = 0.0,
                        hz_max: float = 8000.0,
                        geometric_ranges: bool = False) -> tf.Tensor:
  """Frequencies as a sum of `depth` sigmoid-controlled parts.

  By default this is magenta/ddsp's mapping. The range is partitioned: with
  r = hz_max - hz_min and s = r**(1 / depth), each of the first depth - 1
  sigmoids moves over [0, r (1 - 1 / s)] of what remains of r, and the last
  over [hz_min, remainder]; each part maps its sigmoid with `unit_to_hz`
  (log-scaled through MIDI, so a part starting at 0 Hz gives 0 Hz or jumps
  over it) and the parts are summed. With depth=1 this is
  unit_to_hz(sigmoid(x), hz_min, hz_max - hz_min).

  geometric_ranges=True is ddsp_tf's mapping: hz_min plus `depth` linear
  sigmoids whose ranges grow geometrically and add up to exactly
  [hz_min, hz_max].

  Args:
    freqs: Logits, [batch, time, n * depth] or [batch, time, n, depth].
    depth: Number of sigmoids per frequency.
    hz_min: Lowest output frequency.
    hz_max: Highest output frequency.
    geometric_ranges: ddsp_tf's mapping (see above).

  Returns:
    Frequencies in Hz, [batch, time, n].
  """
  if hz_max <= hz_min:
    raise ValueError(f'hz_max must exceed hz_min, got hz_min={hz_min}, '
                     f'hz_max={hz_max}.')
  freqs = _split_depth(freqs, depth)
  hz_range = hz_max - hz_min
  if geometric_ranges:
    ratio = max(hz_range, 2.0)**(1.0 / depth)
    sizes = ratio**np.arange(depth, dtype=np.float64)
    sizes = (hz_range * sizes / sizes.sum()).astype(np.float32)
    return hz_min + tf.reduce_sum(tf.nn.sigmoid(freqs) * sizes, axis=-1)
  probs = tf.nn.sigmoid(freqs)
  remainder = hz_range
  factor = remainder**(1.0 / depth)
  parts = []
  for i in range(depth):
    if i == depth - 1:
      low, high = hz_min, remainder
    else:
      low, high = 0.0, remainder * (1.0 - 1.0 / factor)
      remainder -= high
    parts.append(unit_to_hz(probs[..., i], hz_min=low, hz_max=high))
  return tf.add_n(parts)


@gin.register(module='ddsp_tf.core')
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
