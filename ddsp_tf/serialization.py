"""Saving and restoring the functions that layers take as arguments.

Processors take functions such as `scale_fn=core.exp_sigmoid`. To save a
layer to `.keras`, its config must name the function so loading can find it
again without running arbitrary code. ddsp_tf's own core functions and
TensorFlow's `tf.nn`/`tf.math` functions are stored by name; any other
function must be registered with `keras.saving.register_keras_serializable`.
"""

from typing import Any, Callable, Dict, Optional, Union

import keras
import tensorflow as tf

from ddsp_tf import core

_PREFIXES = {'ddsp_tf.core.': core, 'tf.nn.': tf.nn, 'tf.math.': tf.math}

FunctionConfig = Union[None, str, Dict[str, Any]]


def _unwrap(fn: Callable) -> Callable:
  """The plain function behind a gin-configured wrapper, if any."""
  return getattr(fn, '__wrapped__', fn)


def serialize_function(fn: Optional[Callable]) -> FunctionConfig:
  """A JSON-friendly reference to `fn` for a layer config.

  Args:
    fn: None, a ddsp_tf.core function, a tf.nn / tf.math function, or a
      function registered with keras.saving.register_keras_serializable.

  Returns:
    None, a dotted name such as 'ddsp_tf.core.exp_sigmoid', or a Keras
    serialization dict.
  """
  if fn is None:
    return None
  plain = _unwrap(fn)
  name = getattr(plain, '__name__', None)
  for prefix, namespace in _PREFIXES.items():
    candidate = getattr(namespace, name, None) if name else None
    if candidate is not None and _unwrap(candidate) is plain:
      return prefix + name
  return keras.saving.serialize_keras_object(fn)


def deserialize_function(config: FunctionConfig) -> Optional[Callable]:
  """The inverse of serialize_function.

  Args:
    config: What serialize_function returned.

  Returns:
    The function, or None.

  Raises:
    ValueError: If a dotted name refers to nothing known.
  """
  if config is None:
    return None
  if isinstance(config, str):
    for prefix, namespace in _PREFIXES.items():
      if config.startswith(prefix):
        fn = getattr(namespace, config[len(prefix):], None)
        if callable(fn):
          return fn
    raise ValueError(f'Unknown function {config!r} in a layer config. Known '
                     f'prefixes are {sorted(_PREFIXES)}; register other '
                     'functions with keras.saving.register_keras_serializable.')
  return keras.saving.deserialize_keras_object(config)
