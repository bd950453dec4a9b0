"""The Keras layer base of processors and DAGs, and checkpoint tracking.

Their weights (a learned reverb IR, say) never depend on input shapes, and
their calls take several tensors or dicts, which Keras cannot trace to infer
shapes. So `build` takes no shapes, and the build config only records
whether the layer was built: a reloaded `.keras` file rebuilds the layer and
then restores its weights.

Keras 3 keeps the layers of list and dict attributes in its own tracked
containers, which `tf.train.Checkpoint` does not see: a model holding its
layers in a list saves none of their weights. `CheckpointTracked` makes each
layer or variable inside such an attribute a named checkpoint dependency
(e.g. 'input_stacks/0'), so checkpoints hold every weight and restore into a
fresh model, before or after it is built.

Layers made of sub-layers whose sizes follow the data (a Dense layer's
input channels) cannot be rebuilt from a shape-free build config.
`RebuiltByCall` records the shapes of the first call's inputs in the build
config and rebuilds by calling the layer on zeros of those shapes.
"""

import collections.abc
from typing import Any, Dict, Optional

import keras
import tensorflow as tf

_Trackable = tf.__internal__.tracking.Trackable


def track_nested(owner: _Trackable, path: str, value: Any) -> None:
  """Makes every trackable inside nested lists/tuples/dicts a dependency.

  Args:
    owner: The object that gains the dependencies.
    path: Dependency name prefix, e.g. the attribute name.
    value: A trackable (layer, variable), or a list, tuple or dict of them,
      nested to any depth. Other values are ignored.
  """
  if isinstance(value, collections.abc.Mapping):
    for key, item in value.items():
      track_nested(owner, f'{path}/{key}', item)
  elif isinstance(value, (list, tuple)):
    for index, item in enumerate(value):
      track_nested(owner, f'{path}/{index}', item)
  elif isinstance(value, _Trackable):
    owner._track_trackable(value, name=path, overwrite=True)  # pylint: disable=protected-access


class CheckpointTracked:
  """Mixin for Keras layers and models: list/dict attributes checkpoint.

  A public attribute assigned a list, tuple or dict makes each trackable
  inside it a checkpoint dependency named '<attribute>/<index or key>'.
  Items added to the container after the assignment are not tracked, so
  build containers completely and then assign them.
  """

  def __setattr__(self, name: str, value: Any) -> None:
    super().__setattr__(name, value)
    if (not name.startswith('_') and
        isinstance(value, (list, tuple, collections.abc.Mapping)) and
        getattr(self, '_self_setattr_tracking', True)):
      track_nested(self, name, getattr(self, name))


class Layer(CheckpointTracked, keras.layers.Layer):
  """A Keras layer whose weights are created without input shapes."""

  def build(self, *unused_input_shapes, **unused_input_kwargs) -> None:
    """Creates the weights; subclasses with weights override this."""
    self.built = True

  def get_build_config(self) -> Dict[str, Any]:
    return {'built': self.built}

  def build_from_config(self, config: Dict[str, Any]) -> None:
    if config.get('built'):
      self.build()


_TENSOR_KEY = 'tensor_shape'


def _record_inputs(value: Any) -> Any:
  """A JSON-friendly description of call inputs: tensors become shapes."""
  if isinstance(value, collections.abc.Mapping):
    return {str(key): _record_inputs(item) for key, item in value.items()}
  if isinstance(value, (list, tuple)):
    return [_record_inputs(item) for item in value]
  if hasattr(value, 'shape') and hasattr(value, 'dtype'):
    return {_TENSOR_KEY: [None if d is None else int(d)
                          for d in tf.TensorShape(value.shape).as_list()],
            'dtype': tf.as_dtype(value.dtype).name}
  if value is None or isinstance(value, (bool, int, float, str)):
    return value
  return None


def _zeros_like_record(record: Any) -> Any:
  """Zeros shaped like recorded inputs (unknown sizes become 1)."""
  if isinstance(record, collections.abc.Mapping):
    if _TENSOR_KEY in record:
      shape = [1 if d is None else d for d in record[_TENSOR_KEY]]
      return tf.zeros(shape, dtype=record['dtype'])
    return {key: _zeros_like_record(item) for key, item in record.items()}
  if isinstance(record, list):
    return [_zeros_like_record(item) for item in record]
  return record


class RebuiltByCall:
  """Mixin: the build config holds the first call's input shapes.

  Loading a saved layer (e.g. from a `.keras` file) calls it once on zeros
  of those shapes, which creates every sub-layer's weights before they are
  loaded. Put it before the Keras layer class in the bases.
  """

  _first_call_inputs: Optional[Any] = None

  def __call__(self, *args, **kwargs):
    if not self.built and self._first_call_inputs is None:
      self._first_call_inputs = _record_inputs(list(args))
    return super().__call__(*args, **kwargs)

  def get_build_config(self) -> Dict[str, Any]:
    config = super().get_build_config() or {}
    config['call_inputs'] = self._first_call_inputs
    return config

  def build_from_config(self, config: Dict[str, Any]) -> None:
    if config.get('call_inputs') is not None:
      self(*_zeros_like_record(config['call_inputs']))
    else:
      super().build_from_config(config)


def gin_configurable(cls: type, module: Optional[str] = None) -> type:
  """gin.configurable for a Keras 3 class, as magenta/ddsp's models are.

  Calling the class then fills the arguments not passed with the parsed gin
  bindings (`gin.parse_config_file(...)`, then `Autoencoder()`), while
  explicit arguments (and Keras' from_config) win. Plain
  `gin.configurable` breaks Keras 3: its `__init__` wrapper has no named
  arguments, and Keras reads them with inspect.getfullargspec when creating
  the object. The wrapper is given the original signature.

  Args:
    cls: A Keras layer or model class (modified in place and returned).
    module: The gin module name, e.g. 'ddsp_tf.training.models'.

  Returns:
    cls, configurable.
  """
  import inspect  # pylint: disable=g-import-not-at-top
  import gin  # pylint: disable=g-import-not-at-top
  signature = inspect.signature(cls.__init__)
  cls = gin.configurable(cls, module=module)
  cls.__init__.__signature__ = signature
  return cls
