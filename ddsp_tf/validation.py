"""Argument checks shared by the public functions and layers.

Each raises ValueError with the argument's name, the received value and what
was expected, so bad input fails at the public boundary with a clear message
instead of deep inside TensorFlow.
"""

from typing import Any, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf


def check_positive(name: str, value: Any) -> None:
  """Raises unless `value` (a number or array of numbers) is positive.

  Tensors are not checked: their values are unknown while tracing.
  """
  if isinstance(value, (tf.Tensor, tf.Variable)):
    return
  if not np.all(np.asarray(value) > 0):
    raise ValueError(f'{name} must be positive, got {name}={value!r}.')


def check_int(name: str, value: Any, minimum: int = 1) -> int:
  """`value` as an int; raises unless it is a whole number >= minimum.

  Args:
    name: The argument's name, for the message.
    value: A Python or numpy number.
    minimum: The smallest allowed value.

  Returns:
    int(value).
  """
  try:
    as_int = int(value)
    whole = as_int == value and not isinstance(value, bool)
  except (TypeError, ValueError):
    whole = False
  if not whole or as_int < minimum:
    raise ValueError(f'{name} must be an integer >= {minimum}, got '
                     f'{name}={value!r}.')
  return as_int


def check_number(name: str, value: Any, minimum: float = 0.0,
                 inclusive: bool = True) -> float:
  """`value` as a float; raises unless it is a finite number above minimum.

  Args:
    name: The argument's name, for the message.
    value: A Python or numpy number (not a bool).
    minimum: The lower bound.
    inclusive: Whether minimum itself is allowed.

  Returns:
    float(value).
  """
  try:
    as_float = float(value)
  except (TypeError, ValueError):
    as_float = float('nan')
  above = as_float >= minimum if inclusive else as_float > minimum
  if isinstance(value, bool) or not np.isfinite(as_float) or not above:
    bound = f'>= {minimum:g}' if inclusive else f'> {minimum:g}'
    raise ValueError(f'{name} must be a finite number {bound}, got '
                     f'{name}={value!r}.')
  return as_float


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
  """Raises unless `value` is one of `choices`."""
  if value not in choices:
    raise ValueError(f'{name} must be one of {list(choices)}, got '
                     f'{name}={value!r}.')


def check_rank(name: str, x: tf.Tensor, ranks: Sequence[int],
               meaning: str = '') -> None:
  """Raises when the static rank of `x` is known and not one of `ranks`.

  Args:
    name: The argument's name, for the message.
    x: The tensor.
    ranks: Allowed ranks.
    meaning: The expected layout, e.g. '[batch, n_samples]'.
  """
  rank = x.shape.rank
  if rank is not None and rank not in ranks:
    expected = ' or '.join(str(r) for r in ranks)
    hint = f' ({meaning})' if meaning else ''
    raise ValueError(f'{name} must have rank {expected}{hint}, got shape '
                     f'{x.shape.as_list()} (rank {rank}).')


def check_same_shape(names: Sequence[str], a: tf.Tensor,
                     b: tf.Tensor) -> None:
  """Raises ValueError when the static shapes of `a` and `b` disagree.

  Unknown dimensions (None, inside a tf.function with dynamic shapes) are
  not checked.

  Args:
    names: The two arguments' names, for the message.
    a: The first tensor.
    b: The second tensor.
  """
  if a.shape.rank is None or b.shape.rank is None:
    return
  if not a.shape.is_compatible_with(b.shape):
    raise ValueError(f'{names[0]} and {names[1]} must have the same shape, got '
                     f'{names[0]} {a.shape.as_list()} and {names[1]} '
                     f'{b.shape.as_list()}.')


def static_dim(x: tf.Tensor, axis: int) -> Optional[int]:
  """The static size of `x` along `axis`, or None when unknown."""
  return x.shape[axis] if x.shape.rank is not None else None


def check_same_static_dims(names: Sequence[str], a: tf.Tensor, b: tf.Tensor,
                           axes: Sequence[int]) -> None:
  """Raises when the known sizes of `a` and `b` differ on any of `axes`."""
  for axis in axes:
    size_a, size_b = static_dim(a, axis), static_dim(b, axis)
    if size_a is not None and size_b is not None and size_a != size_b:
      raise ValueError(
          f'{names[0]} and {names[1]} must match along axis {axis}, got shapes '
          f'{a.shape.as_list()} and {b.shape.as_list()}.')


def check_finite_array(name: str, x: Any, ranks: Tuple[int, ...],
                       layout: str, allow_nan: bool = False,
                       keep_float32: bool = False) -> np.ndarray:
  """`x` as a float array of an allowed rank, non-empty, with no NaN/Inf.

  Args:
    name: The argument's name, for messages.
    x: Array-like of numbers.
    ranks: Allowed ranks.
    layout: The expected layout, for messages (e.g. '[n_frames]').
    allow_nan: Let NaN through (Inf is always refused).
    keep_float32: Keep float32 input float32 (other input becomes float64).

  Returns:
    The array, float64 (or float32, see keep_float32).

  Raises:
    TypeError: If x is not array-like numbers.
    ValueError: For another rank, no values, or NaN/Inf values.
  """
  try:
    array = np.asarray(x)
    if not (keep_float32 and array.dtype == np.float32):
      array = array.astype(np.float64)
  except (TypeError, ValueError):
    raise TypeError(f'{name} must be an array of numbers {layout}, got '
                    f'{type(x).__name__}.') from None
  if array.ndim not in ranks:
    raise ValueError(f'{name} must have shape {layout}, got shape '
                     f'{list(array.shape)} (rank {array.ndim}).')
  if array.size == 0:
    raise ValueError(f'{name} is empty (shape {list(array.shape)}); it needs '
                     'at least one value.')
  bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
  if np.any(bad):
    kind = 'Inf' if allow_nan else 'NaN or Inf'
    raise ValueError(f'{name} has {int(np.sum(bad))} {kind} value(s); pass '
                     'finite values.')
  return array


def check_rate(name: str, rate: Any) -> int:
  """A sample or frame rate, which must be a positive whole number."""
  try:
    return check_int(name, rate, minimum=1)
  except ValueError:
    raise ValueError(f'{name} must be a positive whole number of samples per '
                     f'second, got {name}={rate!r}.') from None
