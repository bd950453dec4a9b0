"""A Keras layer that runs a directed acyclic graph (DAG) of modules.

A DAG is a list of nodes `(module, input_keys, output_keys)`. Nodes run in
order. Each input key is a `/`-separated path into the dict of everything
computed so far, which starts as the layer's inputs. A node's result is stored
under its module's name, and the last node's result is also stored as 'out'.
`ProcessorGroup` (processors.py) and `LossGroup` (the losses package) build
on this.
"""

from typing import Any, Dict, List, Sequence, Text, Tuple, Union

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import layer_base

Module = Union[keras.layers.Layer, Any]
Node = Tuple[Union[Module, Text], Sequence[Text], Sequence[Text]]
DAG = Sequence[Node]

_KERAS_CALL_KWARGS = ('training', 'mask', 'name')


def filter_by_value(nested_dict: Dict[Text, Any], condition) -> Dict[Text, Any]:
  """The entries of a dict whose values satisfy `condition`."""
  return {key: value for key, value in nested_dict.items() if condition(value)}


def is_module(obj: Any) -> bool:
  """Whether `obj` can be a DAG node: a Keras layer or another callable."""
  return isinstance(obj, keras.layers.Layer) or callable(obj)


def is_loss(obj: Any) -> bool:
  """Whether `obj` behaves like a loss (it has get_losses_dict)."""
  return hasattr(obj, 'get_losses_dict')


def is_processor(obj: Any) -> bool:
  """Whether `obj` behaves like a processor (get_controls and get_signal)."""
  return hasattr(obj, 'get_controls') and hasattr(obj, 'get_signal')


def split_keras_kwargs(kwargs: Dict[Text, Any]
                       ) -> Tuple[Dict[Text, Any], Dict[Text, Any]]:
  """Splits Keras call arguments (training, mask, name) from the others.

  Args:
    kwargs: Keyword arguments of a call.

  Returns:
    (keras_kwargs, other_kwargs).
  """
  keras_kwargs = {k: v for k, v in kwargs.items() if k in _KERAS_CALL_KWARGS}
  other_kwargs = {k: v for k, v in kwargs.items()
                  if k not in _KERAS_CALL_KWARGS}
  return keras_kwargs, other_kwargs


def _node_parts(node: Any, index: int) -> Tuple[Any, List[Text], List[Text]]:
  """Validates one node and returns (module_or_name, inputs, outputs)."""
  if not isinstance(node, (list, tuple)) or len(node) not in (2, 3):
    raise ValueError(
        f'DAG node {index} must be (module, [input keys], [output keys]) or '
        f'(module, [input keys]), got {node!r}.')
  module, inputs = node[0], node[1]
  outputs = node[2] if len(node) == 3 else []
  for label, keys in (('input', inputs), ('output', outputs)):
    if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
      raise ValueError(f'DAG node {index}: the {label} keys must be a list of '
                       f'strings, got {keys!r}.')
  return module, list(inputs), list(outputs)


def _with_extra(variables: List[Any], extra: List[Any]) -> List[Any]:
  """variables followed by those of extra that are not among them."""
  known = {id(variable) for variable in variables}
  return list(variables) + [v for v in extra if id(v) not in known]


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class DAGLayer(layer_base.Layer):
  """Runs a DAG of modules; see the module docstring for the semantics."""

  def __init__(self, dag: DAG, **kwarg_modules):
    """Builds the graph.

    Args:
      dag: Nodes `(module, [input keys], [output keys])`. A module is either
        given inline (a layer, stored under its `.name`) or as the name of a
        keyword argument below. Output keys name the values of modules that
        return a tuple or list instead of a dict; they may be omitted.
      **kwarg_modules: Modules referenced by name from the DAG. Keyword
        arguments that are not modules (name, trainable, dtype, ...) go to
        the Keras layer.
    """
    layer_kwargs = {k: v for k, v in kwarg_modules.items()
                    if not is_module(v) or isinstance(v, type)}
    named_modules = {k: v for k, v in kwarg_modules.items()
                     if k not in layer_kwargs}
    super().__init__(**layer_kwargs)
    dag_modules = {}
    self.dag = []
    for index, node in enumerate(dag):
      module, inputs, outputs = _node_parts(node, index)
      if isinstance(module, str):
        if module not in named_modules:
          raise ValueError(
              f'DAG node {index} names module {module!r}, which is not among '
              f'the keyword modules {sorted(named_modules)}.')
        name, module = module, named_modules[module]
      elif is_module(module):
        name = getattr(module, 'name', None) or f'node_{index}'
      else:
        raise ValueError(f'DAG node {index}: {module!r} is not a module (a '
                         'Keras layer or callable) or a module name.')
      if name in ('inputs', 'out'):
        raise ValueError(f'DAG node {index}: the module name {name!r} is '
                         'reserved; give the module another name.')
      if name in dag_modules and dag_modules[name] is not module:
        raise ValueError(f'Two different DAG modules share the name {name!r}; '
                         'module names must be unique.')
      dag_modules[name] = module
      self.dag.append((name, inputs, outputs))
    # Assigned once complete, so that every module is a checkpoint dependency
    # (see layer_base.CheckpointTracked).
    self.dag_modules = dag_modules

  @property
  def modules(self) -> List[Module]:
    """The DAG's modules, in node order."""
    return [self.dag_modules[name] for name, _, _ in self.dag]

  @property
  def module_names(self) -> List[Text]:
    """The names of the DAG's modules, in node order, each once."""
    return list(dict.fromkeys(name for name, _, _ in self.dag))

  def _untracked_module_variables(self) -> List[Any]:
    """Variables of DAG modules that Keras 3 does not track itself.

    Keras 3 collects the weights of Keras 3 layers only; a module from
    elsewhere (a `tf.Module`, such as a legacy tf.keras layer when
    TF_USE_LEGACY_KERAS=1, as magenta/ddsp's configs built them) would
    otherwise be left out of the layer's (trainable) variables.
    """
    modules = self.__dict__.get('dag_modules') or {}
    return [variable for module in modules.values()
            if not isinstance(module, keras.layers.Layer)
            and isinstance(module, tf.Module)
            for variable in module.variables]

  @property
  def weights(self) -> List[Any]:
    """The layer's weights, those of its untracked tf.Module nodes too."""
    return _with_extra(super().weights, self._untracked_module_variables())

  @property
  def variables(self) -> List[Any]:
    """The layer's variables, those of its untracked tf.Module nodes too."""
    return _with_extra(super().variables, self._untracked_module_variables())

  def __getattr__(self, name: Text) -> Any:
    """A DAG module by name (`processor_group.harmonic`), as magenta/ddsp's
    DAGLayer, which sets its modules as attributes.

    Only reached when ordinary attribute lookup fails.

    Raises:
      AttributeError: If no module has that name either.
    """
    modules = self.__dict__.get('dag_modules')
    if modules is not None and name in modules:
      return modules[name]
    raise AttributeError(f'{type(self).__name__!r} object has no attribute '
                         f'{name!r}')

  @staticmethod
  def format_dag(dag: DAG) -> Text:
    """A readable listing of a DAG, one node per line."""
    lines = []
    for index, node in enumerate(dag):
      module, inputs, outputs = _node_parts(node, index)
      label = module if isinstance(module, str) else getattr(
          module, 'name', repr(module))
      lines.append(f'{label}: {inputs} -> {outputs}')
    return '\n'.join(lines)

  def call(self, inputs: Dict[Text, Any], **kwargs) -> Dict[Text, Any]:
    """Runs the DAG; returns the dict of every node's outputs."""
    return self.run_dag(inputs, **kwargs)

  def run_dag(self, inputs: Dict[Text, Any], verbose: bool = False,
              **kwargs) -> Dict[Text, Any]:
    """Runs every node in order.

    Args:
      inputs: Dict of input tensors (may be nested).
      verbose: Print each node's input and output shapes.
      **kwargs: Passed to every module call (e.g. training).

    Returns:
      {'inputs': inputs, **inputs, <module name>: <its outputs>, ...,
       'out': <the last node's outputs>}.

    Raises:
      KeyError: If an input key is missing; the message lists the available
        keys.
    """
    if not isinstance(inputs, dict):
      raise ValueError(f'{self.name} expects a dict of inputs, got '
                       f'{type(inputs).__name__}.')
    outputs = {'inputs': inputs, **inputs}
    result = None
    for name, input_keys, output_keys in self.dag:
      module = self.dag_modules[name]
      try:
        args = [core.nested_lookup(key, outputs) for key in input_keys]
      except KeyError as error:
        raise KeyError(f'DAG node {name!r} of {self.name!r}: '
                       f'{error.args[0]}') from None
      if is_processor(module):
        result = module(*args, return_outputs_dict=True, **kwargs)
      elif is_loss(module):
        _, loss_kwargs = split_keras_kwargs(kwargs)
        result = module.get_losses_dict(*args, **loss_kwargs)
      else:
        result = module(*args, **kwargs)
      if not isinstance(result, dict):
        result = core.to_dict(result, output_keys)
      if verbose:
        print(f'{name}: inputs {input_keys} {core.map_shape(args)} -> '
              f'{core.map_shape(result)}')
      outputs[name] = result
    outputs['out'] = result
    return outputs

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['dag'] = [list(node) for node in self.dag]
    config['dag_modules'] = {
        name: keras.saving.serialize_keras_object(module)
        for name, module in self.dag_modules.items()}
    return config

  @classmethod
  def from_config(cls, config: Dict[Text, Any]) -> 'DAGLayer':
    config = dict(config)
    modules = {name: keras.saving.deserialize_keras_object(module)
               for name, module in config.pop('dag_modules').items()}
    return cls(**config, **modules)
