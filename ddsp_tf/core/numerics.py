"""Safe elementwise math of ddsp_tf.core.

nan_to_num, safe_divide, safe_log, logb, log10, log_scale, soft_limit and
gradient_reversal: finite results (and gradients) for any finite input.
"""

import numpy as np
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.core.utils import tf_float32


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
               x_max: float = 1.0,
               corners_at_limits: bool = False) -> tf.Tensor:
  """Smoothly clamps into (x_min, x_max) with two softplus corners.

  By default, as in magenta/ddsp, softplus(x) + x_min -
  softplus(x - (x_max - x_min)): the corners sit at x = 0 and
  x = x_max - x_min, and the output is about x + x_min between them.
  corners_at_limits=True is ddsp_tf's form, x_min + softplus(x - x_min) -
  softplus(x - x_max), which is about x itself between x_min and x_max (the
  same when x_min = 0).

  Args:
    x: Input, any shape.
    x_min: Lower limit.
    x_max: Upper limit, more than x_min.
    corners_at_limits: ddsp_tf's form (see above).

  Returns:
    float32 tensor in (x_min, x_max), same shape as x.
  """
  if x_max <= x_min:
    raise ValueError(f'soft_limit needs x_min < x_max, got x_min={x_min}, '
                     f'x_max={x_max}.')
  x = tf_float32(x)
  if corners_at_limits:
    return x_min + tf.nn.softplus(x - x_min) - tf.nn.softplus(x - x_max)
  return tf.nn.softplus(x) + x_min - tf.nn.softplus(x - (x_max - x_min))


@tf.custom_gradient
def gradient_reversal(x: tf.Tensor) -> tf.Tensor:
  """Identity in the forward pass; negates the gradient in the backward pass."""
  def reversed_gradient(dy):
    return -dy
  return tf.identity(x), reversed_gradient
