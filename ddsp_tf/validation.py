"""Argument checks shared by the public functions and layers.

Each raises ValueError with the argument's name, the received value and what
was expected, so bad input fails at the public boundary with a clear message
instead of deep inside TensorFlow.
"""

from typing import Any, Optional, Sequence

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
