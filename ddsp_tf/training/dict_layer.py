"""DictLayer: layers that read inputs from feature dicts by key.

`DictLayer` is the base of the preprocessors, encoders and decoders: it reads
its inputs from feature dicts by key and returns a dict, with the keys taken
from the Python signature of `call` (so gin configs only name features).
This module holds it with the signature introspection it relies on
(`get_argument_names`, `get_return_annotations`, ...), `CompositeLayer` (the
base of the layers made of sub-layers), `split_to_dict` and
`OutputSplitsLayer`.

The public names are re-exported by, and documented as part of,
`ddsp_tf.training.nn`; gin names stay `ddsp_tf.training.nn.*`.
"""

import ast
import collections.abc
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import layer_base
from ddsp_tf import validation

TensorDict = Dict[Text, tf.Tensor]
OutputSplits = Sequence[Tuple[Text, int]]

# Keyword arguments of `call` that Keras supplies; never feature keys.
_KERAS_CALL_ARGS = ('training', 'mask')
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY,
               inspect.Parameter.POSITIONAL_OR_KEYWORD)


# ----------------------------------------------------------------------------
# Signature introspection.
# ----------------------------------------------------------------------------
def _positional_parameters(fn: Callable) -> List[inspect.Parameter]:
  """Positional parameters of fn (bound methods exclude self)."""
  return [p for p in inspect.signature(fn).parameters.values()
          if p.kind in _POSITIONAL and p.name not in _KERAS_CALL_ARGS]


def get_argument_names(fn: Callable) -> List[Text]:
  """Names of the positional arguments of `fn` that have no default.

  Args:
    fn: A function or bound method (`self` is not listed).

  Returns:
    Names in signature order; *args, **kwargs, training and mask excluded.
  """
  return [p.name for p in _positional_parameters(fn)
          if p.default is inspect.Parameter.empty]


def get_default_argument_names(fn: Callable) -> List[Text]:
  """Names of the positional arguments of `fn` that have a default."""
  return [p.name for p in _positional_parameters(fn)
          if p.default is not inspect.Parameter.empty]


def get_default_argument_values(fn: Callable) -> List[Any]:
  """Defaults of the arguments listed by `get_default_argument_names`."""
  return [p.default for p in _positional_parameters(fn)
          if p.default is not inspect.Parameter.empty]


def get_return_annotations(fn: Callable) -> List[Text]:
  """The output keys declared by a return annotation such as `-> ['x', 'y']`.

  Args:
    fn: A function or bound method.

  Returns:
    The list of keys; [] when there is no annotation.

  Raises:
    ValueError: If the annotation is not a list or tuple of strings.
  """
  annotation = inspect.signature(fn).return_annotation
  if annotation is inspect.Signature.empty:
    return []
  if isinstance(annotation, str):  # Postponed evaluation of annotations.
    try:
      annotation = ast.literal_eval(annotation)
    except (ValueError, SyntaxError):
      pass
  if (not isinstance(annotation, (list, tuple)) or
      not all(isinstance(key, str) for key in annotation)):
    raise ValueError(f'The return annotation of {fn.__qualname__} must be a '
                     f'list of output keys such as ["x", "y"], got '
                     f'{annotation!r}.')
  return list(annotation)


def check_keys(name: Text, keys: Any) -> Optional[List[Text]]:
  """Validates feature keys.

  Args:
    name: The argument's name, for the message.
    keys: None or a sequence of strings.

  Returns:
    None, or the keys as a list.

  Raises:
    ValueError: If keys is a single string or holds non-strings.
  """
  if keys is None:
    return None
  if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
    raise ValueError(f'{name} must be a list of strings, got {name}={keys!r}.')
  return list(keys)


# ----------------------------------------------------------------------------
# DictLayer.
# ----------------------------------------------------------------------------
class CompositeLayer(layer_base.RebuiltByCall, layer_base.Layer):
  """Base of the layers made of sub-layers, which build on the first call.

  Checkpoints track sub-layers held in lists and dicts, and a saved layer
  is rebuilt on load by a call on zeros shaped like its first inputs (see
  layer_base).
  """


class MissingInputError(KeyError, TypeError):
  """A required input key is missing from the dicts given to a DictLayer.

  A KeyError (what the lookup failed on) and a TypeError (too few arguments
  for `call`, what magenta/ddsp raised).
  """

  def __str__(self) -> str:
    return str(self.args[0]) if self.args else ''


@keras.saving.register_keras_serializable(package='ddsp_tf')
class DictLayer(CompositeLayer):
  """A layer that reads inputs from dicts by key and returns a dict.

  Subclasses implement `call` with one argument per input, e.g.

    def call(self, loudness_db, f0_hz, audio=None) -> ['f0_scaled', 'ld']:

  The required arguments become `input_keys`, the defaulted ones
  `default_input_keys` (read when present, else their default), and the
  return annotation lists `output_keys`. `call` may also return a dict.

  The layer can then be called with tensors in argument order, with one or
  more dicts (merged; keys may be '/'-separated paths into nested dicts),
  with tensors followed by dicts (the tensors fill the first keys), or with
  inputs passed by key name as keywords. It always returns a dict.
  """

  def __init__(self, input_keys: Optional[Sequence[Text]] = None,
               output_keys: Optional[Sequence[Text]] = None, **kwargs):
    """Sets the keys.

    Args:
      input_keys: Keys of the inputs, in `call`'s argument order. Default:
        the names of `call`'s required arguments (its defaulted arguments
        become optional inputs). Given keys replace all of them, so there
        are no optional inputs.
      output_keys: Keys of the outputs when `call` returns a tensor or a
        tuple. Default: `call`'s return annotation.
      **kwargs: Keras layer arguments (name, trainable, dtype).
    """
    super().__init__(**kwargs)
    # Optional inputs may be None or Python numbers, passed positionally.
    self._allow_non_tensor_positional_args = True
    self._given_input_keys = check_keys('input_keys', input_keys) or None
    self._given_output_keys = check_keys('output_keys', output_keys) or None
    if self._given_input_keys:
      self.input_keys = self._given_input_keys
      self.default_input_keys = []
      self._default_values = []
    else:
      self.input_keys = get_argument_names(self.call)
      self.default_input_keys = get_default_argument_names(self.call)
      self._default_values = get_default_argument_values(self.call)
    self.output_keys = (self._given_output_keys or
                        get_return_annotations(self.call))

  @property
  def all_input_keys(self) -> List[Text]:
    """Required input keys followed by the optional ones."""
    return list(self.input_keys) + list(self.default_input_keys)

  @property
  def n_inputs(self) -> int:
    """The largest number of inputs `call` takes."""
    return len(self.all_input_keys)

  def _gather_inputs(self, tensors: List[Any],
                     features: Optional[Dict[Text, Any]]) -> List[Any]:
    """The arguments of `call`: tensors first, then looked up by key.

    Args:
      tensors: Positional non-dict inputs.
      features: Merged dict inputs, or None when none were given.

    Returns:
      One value per key of all_input_keys.

    Raises:
      TypeError: If too many tensors are given, too few with no dict to
        look the rest up in, or an input both as a tensor and in a dict.
      MissingInputError: (a KeyError and a TypeError, as the original
        raised) If a required key is missing from the dicts.
    """
    keys = self.all_input_keys
    n_required = len(self.input_keys)
    if len(tensors) > len(keys) or (features is None and
                                    len(tensors) < n_required):
      raise TypeError(
          f'{self.name} takes {n_required} to {len(keys)} input tensors (keys '
          f'{keys}), or dicts holding the keys {list(self.input_keys)}; got '
          f'{len(tensors)} tensors{" and dicts" if features else ""}.')
    args = list(tensors)
    if features is not None:
      duplicates = [key for key in keys[:len(tensors)]
                    if _has_nested_key(key, features)]
      if duplicates:
        raise TypeError(
            f'{self.name} got the inputs {duplicates} twice: as positional '
            'tensors and in the dicts. Pass each input once.')
    defaults = dict(zip(self.default_input_keys, self._default_values))
    for key in keys[len(tensors):]:
      if features is not None and (key not in defaults or
                                   _has_nested_key(key, features)):
        try:
          args.append(core.nested_lookup(key, features))
        except KeyError as error:
          raise MissingInputError(f'{self.name} needs input {key!r}: '
                                  f'{error.args[0]}') from None
      else:
        args.append(defaults[key])
    return args

  def __call__(self, *inputs, **kwargs) -> TensorDict:
    """Runs the layer on tensors and/or dicts of features.

    Args:
      *inputs: Tensors (in input-key order) and/or dicts of features.
      **kwargs: Inputs by key name, and Keras call arguments (training).

    Returns:
      Dict of outputs.

    Raises:
      TypeError: For a wrong number of input tensors.
      KeyError: For a required key missing from the dicts (the message
        lists the available keys).
      ValueError: If `call` returns a different number of values than there
        are output keys.
    """
    by_name = {key: kwargs.pop(key) for key in self.all_input_keys
               if key in kwargs}
    dicts = [x for x in inputs if isinstance(x, collections.abc.Mapping)]
    tensors = [x for x in inputs
               if not isinstance(x, collections.abc.Mapping)]
    if by_name:
      dicts.append(by_name)
    features = None
    if dicts:
      features = {}
      for d in dicts:
        features.update(d)
    args = self._gather_inputs(tensors, features)
    outputs = super().__call__(*args, **kwargs)
    if isinstance(outputs, collections.abc.Mapping):
      return dict(outputs)
    values = core.make_iterable(outputs)
    if len(values) != len(self.output_keys):
      raise ValueError(
          f'{self.name} returned {len(values)} outputs, but its output keys '
          f'are {list(self.output_keys)}; annotate call with the output keys '
          '(def call(...) -> ["key", ...]) or pass output_keys.')
    return dict(zip(self.output_keys, values))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(input_keys=self._given_input_keys,
                  output_keys=self._given_output_keys)
    return config


def _has_nested_key(nested_key: Text, nested_dict: Dict[Text, Any]) -> bool:
  """Whether a '/'-separated path exists in a nested dict."""
  try:
    core.nested_lookup(nested_key, nested_dict)
  except KeyError:
    return False
  return True


# ----------------------------------------------------------------------------
# Output splits.
# ----------------------------------------------------------------------------
def _check_output_splits(output_splits: Any) -> Tuple[Tuple[Text, int], ...]:
  """output_splits as a tuple of (key, positive int) pairs."""
  message = ('output_splits must be a non-empty sequence of (key, size) '
             f'pairs with distinct string keys and positive sizes, got '
             f'output_splits={output_splits!r}.')
  try:
    splits = tuple((key, size) for key, size in output_splits)
  except (TypeError, ValueError):
    raise ValueError(message) from None
  keys = [key for key, _ in splits]
  if (not splits or not all(isinstance(key, str) for key in keys) or
      len(set(keys)) != len(keys)):
    raise ValueError(message)
  return tuple((key, validation.check_int(f'output_splits[{key!r}]', size))
               for key, size in splits)


@gin.register(module='ddsp_tf.training.nn')
def split_to_dict(tensor: tf.Tensor,
                  tensor_splits: OutputSplits) -> TensorDict:
  """Splits the last axis of a tensor into named pieces.

  Args:
    tensor: [..., n_channels].
    tensor_splits: ((key, size), ...) with sizes summing to n_channels.

  Returns:
    {key: tensor[..., start:start + size]} in order.

  Raises:
    ValueError: If the sizes do not sum to the (static) channel count.
  """
  splits = _check_output_splits(tensor_splits)
  tensor = tf.convert_to_tensor(tensor)
  sizes = [size for _, size in splits]
  n_channels = tensor.shape[-1]
  if n_channels is not None and n_channels != sum(sizes):
    raise ValueError(f'The split sizes {sizes} sum to {sum(sizes)}, but the '
                     f'tensor has {n_channels} channels (shape '
                     f'{tensor.shape.as_list()}).')
  pieces = tf.split(tensor, sizes, axis=-1)
  return {key: piece for (key, _), piece in zip(splits, pieces)}


@keras.saving.register_keras_serializable(package='ddsp_tf')
class OutputSplitsLayer(DictLayer):
  """A DictLayer whose network output is split into named controls.

  Subclasses implement `compute_output(*inputs)` returning
  [batch, n_frames, channels]; a Dense layer maps it to the sum of the split
  sizes and `split_to_dict` names the pieces. The input keys default to the
  argument names of compute_output.
  """

  def __init__(self, input_keys: Optional[Sequence[Text]] = None,
               output_splits: OutputSplits = (('amps', 1),
                                              ('harmonic_distribution', 40)),
               **kwargs):
    """Sets the keys and splits.

    Args:
      input_keys: Feature keys in compute_output's argument order.
      output_splits: ((key, size), ...) of the outputs.
      **kwargs: Keras layer arguments.
    """
    output_splits = _check_output_splits(output_splits)
    input_keys = (check_keys('input_keys', input_keys) or
                  get_argument_names(self.compute_output))
    super().__init__(input_keys=input_keys,
                     output_keys=[key for key, _ in output_splits], **kwargs)
    self.output_splits = output_splits
    self.n_out = sum(size for _, size in output_splits)
    self.dense_out = keras.layers.Dense(self.n_out)

  def compute_output(self, *inputs) -> tf.Tensor:
    """The features before the output Dense layer; subclasses implement."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement compute_output.')

  def call(self, *inputs) -> TensorDict:
    """compute_output -> Dense -> split into the output keys."""
    return split_to_dict(self.dense_out(self.compute_output(*inputs)),
                         self.output_splits)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    del config['output_keys']
    config['output_splits'] = [list(split) for split in self.output_splits]
    return config
