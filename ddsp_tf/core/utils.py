"""General helpers of ddsp_tf.core: dtype conversion, nested dicts, padding.

tf_float32, make_iterable, to_dict, copy_if_tf_function, nested_keys,
nested_lookup, leaf_key, map_shape, pad_axis and diff. Everything else in the
core package builds on these.
"""

import collections.abc
from typing import Any, Dict, List, Sequence, Text

import keras
import numpy as np
import tensorflow as tf


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
  if isinstance(x, (np.ndarray, tf.Tensor, tf.Variable, keras.KerasTensor,
                    str, bytes, dict)):
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
