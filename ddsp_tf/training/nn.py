"""Neural-network building blocks for DDSP models.

`DictLayer` is the base of the preprocessors, encoders and decoders: it reads
its inputs from feature dicts by key and returns a dict, with the keys taken
from the Python signature of `call` (so gin configs only name features).
The other layers are the stacks those modules are built from: fully
connected stacks, RNNs and dilated convolutions.

All layers take frame-wise tensors `[batch, n_frames, channels]`; the
convolutional ones also take `[batch, n_frames, 1, channels]`.
"""

import ast
import collections.abc
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence, Text, Tuple, Union

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import layer_base
from ddsp_tf import validation
from ddsp_tf.training import fast_gru

TensorDict = Dict[Text, tf.Tensor]
OutputSplits = Sequence[Tuple[Text, int]]

# Keyword arguments of `call` that Keras supplies; never feature keys.
_KERAS_CALL_ARGS = ('training', 'mask')
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY,
               inspect.Parameter.POSITIONAL_OR_KEYWORD)
NORM_TYPES = ('instance', 'layer', 'group')
RNN_TYPES = ('gru', 'lstm')
RESAMPLE_TYPES = ('downsample', 'upsample')
_GROUP_NORM_GROUPS = 32


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
      TypeError: If too many tensors are given, or too few with no dict to
        look the rest up in.
      KeyError: If a required key is missing from the dicts.
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
    defaults = dict(zip(self.default_input_keys, self._default_values))
    for key in keys[len(tensors):]:
      if features is not None and (key not in defaults or
                                   _has_nested_key(key, features)):
        try:
          args.append(core.nested_lookup(key, features))
        except KeyError as error:
          raise KeyError(f'{self.name} needs input {key!r}: '
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
# Small utilities.
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


@gin.register
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


def ensure_4d(x: tf.Tensor) -> tf.Tensor:
  """Adds unit axes: [B, C] -> [B, 1, 1, C]; [B, T, C] -> [B, T, 1, C]."""
  x = tf.convert_to_tensor(x)
  validation.check_rank('x', x, (2, 3, 4))
  if x.shape.rank == 2:
    return x[:, tf.newaxis, tf.newaxis, :]
  if x.shape.rank == 3:
    return x[:, :, tf.newaxis, :]
  return x


def inv_ensure_4d(x: tf.Tensor, n_dims: int) -> tf.Tensor:
  """Undoes ensure_4d for an input that had `n_dims` axes."""
  validation.check_choice('n_dims', n_dims, (2, 3, 4))
  if n_dims == 2:
    return x[:, 0, 0, :]
  if n_dims == 3:
    return x[:, :, 0, :]
  return x


def get_nonlinearity(nonlinearity: Text) -> Callable[[tf.Tensor], tf.Tensor]:
  """A Keras activation or tf.nn function by name ('relu', 'leaky_relu', ...).

  Raises:
    ValueError: If neither keras.activations nor tf.nn has that name.
  """
  if not isinstance(nonlinearity, str):
    raise ValueError(f'nonlinearity must be a name, got {nonlinearity!r}.')
  try:
    return keras.activations.get(nonlinearity)
  except ValueError:
    pass
  fn = getattr(tf.nn, nonlinearity, None)
  if not callable(fn):
    raise ValueError(f'Unknown nonlinearity {nonlinearity!r}: not a Keras '
                     'activation nor a tf.nn function.')
  return fn


# ----------------------------------------------------------------------------
# Normalization.
# ----------------------------------------------------------------------------
def _check_norm_type(norm_type: Any) -> None:
  validation.check_choice('norm_type', norm_type, NORM_TYPES)


def _n_groups(norm_type: Text, n_channels: int) -> int:
  """Channel groups normalised together; ValueError if they do not divide."""
  n_groups = {'instance': n_channels, 'layer': 1,
              'group': _GROUP_NORM_GROUPS}[norm_type]
  if n_channels % n_groups:
    raise ValueError(f"norm_type='group' needs a multiple of "
                     f'{_GROUP_NORM_GROUPS} channels, got {n_channels}.')
  return n_groups


def normalize_op(x: tf.Tensor, norm_type: Text = 'layer',
                 eps: float = 1e-5) -> tf.Tensor:
  """Zero-mean, unit-variance normalisation over time (no learned scale).

  Statistics are taken per example over time (and width), and over the
  channels of a group: 'instance' normalises each channel separately,
  'layer' all channels together, 'group' 32 groups of channels.

  Args:
    x: [batch, n_frames, channels] or [batch, n_frames, width, channels];
      the channel count must be static.
    norm_type: 'instance', 'layer' or 'group'.
    eps: Added to the variance.

  Returns:
    The normalised tensor, same shape as x.
  """
  _check_norm_type(norm_type)
  x = core.tf_float32(x)
  validation.check_rank('x', x, (3, 4), '[batch, n_frames, (width,) channels]')
  n_dims = x.shape.rank
  x = ensure_4d(x)
  n_channels = x.shape[-1]
  if n_channels is None:
    raise ValueError(f'normalize_op needs a static channel count, got shape '
                     f'{x.shape.as_list()}.')
  n_groups = _n_groups(norm_type, n_channels)
  shape = tf.shape(x)
  grouped = tf.reshape(
      x, [shape[0], shape[1], shape[2], n_groups, n_channels // n_groups])
  mean, variance = tf.nn.moments(grouped, axes=[1, 2, 4], keepdims=True)
  grouped = (grouped - mean) * tf.math.rsqrt(variance + eps)
  return inv_ensure_4d(tf.reshape(grouped, shape), n_dims)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Normalize(keras.layers.Layer):
  """normalize_op followed by a learned per-channel scale and shift."""

  def __init__(self, norm_type: Text = 'layer', **kwargs):
    """Sets the normalisation.

    Args:
      norm_type: 'instance', 'layer' or 'group' (see normalize_op).
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    _check_norm_type(norm_type)
    self.norm_type = norm_type

  def build(self, input_shape):
    n_channels = input_shape[-1]
    self.scale = self.add_weight(name='scale', shape=[n_channels],
                                 initializer='ones')
    self.shift = self.add_weight(name='shift', shape=[n_channels],
                                 initializer='zeros')

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, n_frames, (width,) channels] -> same shape."""
    return normalize_op(x, self.norm_type) * self.scale + self.shift

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['norm_type'] = self.norm_type
    return config


def get_norm(norm_type: Optional[Text]) -> keras.layers.Layer:
  """A Normalize layer, or Identity when norm_type is None."""
  return Identity() if norm_type is None else Normalize(norm_type)


# ----------------------------------------------------------------------------
# Fully connected and recurrent stacks.
# ----------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Identity(keras.layers.Layer):
  """Returns its input unchanged."""

  def call(self, x: tf.Tensor) -> tf.Tensor:
    return x


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Fc(CompositeLayer):
  """Dense -> LayerNormalization (last axis) -> nonlinearity."""

  def __init__(self, ch: int = 128, nonlinearity: Text = 'leaky_relu',
               **kwargs):
    """Sets the sizes.

    Args:
      ch: Output channels.
      nonlinearity: Name of a Keras activation or tf.nn function.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.ch = validation.check_int('ch', ch)
    self.nonlinearity = nonlinearity
    self._activation = get_nonlinearity(nonlinearity)
    self.dense = keras.layers.Dense(self.ch)
    self.norm = keras.layers.LayerNormalization()

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[..., channels_in] -> [..., ch]."""
    return self._activation(self.norm(self.dense(x)))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.ch, nonlinearity=self.nonlinearity)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class FcStack(CompositeLayer):
  """`layers` Fc layers in sequence (none: the identity)."""

  def __init__(self, ch: int = 256, layers: int = 2,
               nonlinearity: Text = 'leaky_relu', **kwargs):
    """Sets the sizes.

    Args:
      ch: Channels of every layer.
      layers: Number of Fc layers, >= 0.
      nonlinearity: Name of a Keras activation or tf.nn function.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.ch = validation.check_int('ch', ch)
    self.n_layers = validation.check_int('layers', layers, minimum=0)
    self.nonlinearity = nonlinearity
    self.fcs = [Fc(self.ch, nonlinearity) for _ in range(self.n_layers)]

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[..., channels_in] -> [..., ch] ([..., channels_in] with no layers)."""
    for fc in self.fcs:
      x = fc(x)
    return x

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.ch, layers=self.n_layers,
                  nonlinearity=self.nonlinearity)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class FcStackOut(CompositeLayer):
  """An FcStack followed by a linear Dense layer to n_out channels."""

  def __init__(self, ch: int, layers: int, n_out: int, **kwargs):
    """Sets the sizes.

    Args:
      ch: Channels of the Fc layers.
      layers: Number of Fc layers, >= 0.
      n_out: Output channels.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.stack = FcStack(ch, layers)
    self.n_out = validation.check_int('n_out', n_out)
    self.dense_out = keras.layers.Dense(self.n_out)

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[..., channels_in] -> [..., n_out]."""
    return self.dense_out(self.stack(x))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.stack.ch, layers=self.stack.n_layers,
                  n_out=self.n_out)
    return config


def _rnn_class(rnn_type: Text):
  validation.check_choice('rnn_type', rnn_type, RNN_TYPES)
  return fast_gru.FastGRU if rnn_type == 'gru' else keras.layers.LSTM


class _RnnRunner:
  """Runs a Keras RNN layer, as one graph when executing eagerly.

  Eager Keras RNNs step through time in Python, about 10 ms per frame on
  CPU (11 s for 4 s of audio at 250 frames per second); traced, the same
  loop is one graph op. Inside a tf.function the layer is called directly.
  """

  def __init__(self, layer: keras.layers.Layer):
    self.layer = layer
    self.graph_fn = tf.function(layer, reduce_retracing=True)

  def __call__(self, *args, **kwargs):
    fn = self.graph_fn if tf.executing_eagerly() else self.layer
    return fn(*args, **kwargs)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Rnn(CompositeLayer):
  """A GRU or LSTM over time, optionally bidirectional (outputs concatenated)."""

  def __init__(self, dims: int, rnn_type: Text, return_sequences: bool = True,
               bidir: bool = False, **kwargs):
    """Sets the RNN.

    Args:
      dims: Units of the RNN (of each direction when bidirectional).
      rnn_type: 'gru' or 'lstm'.
      return_sequences: Return every frame ([B, T, units]) or only the last
        ([B, units]).
      bidir: Run forward and backward RNNs and concatenate their outputs,
        giving 2 * dims channels.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.dims = validation.check_int('dims', dims)
    self.rnn_type = rnn_type
    self.return_sequences = return_sequences
    self.bidir = bidir
    rnn = _rnn_class(rnn_type)(self.dims, return_sequences=return_sequences)
    self.rnn = keras.layers.Bidirectional(rnn) if bidir else rnn
    self._run = _RnnRunner(self.rnn)

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, n_frames, channels] -> [batch, (n_frames,) units]."""
    validation.check_rank('x', x, (3,), '[batch, n_frames, channels]')
    return self._run(x)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(dims=self.dims, rnn_type=self.rnn_type,
                  return_sequences=self.return_sequences, bidir=self.bidir)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class StatelessRnn(CompositeLayer):
  """A GRU or LSTM whose state is passed in and returned (for streaming).

  The state is one tensor: [batch, dims] for a GRU, and the hidden and cell
  states concatenated, [batch, 2 * dims], for an LSTM.
  """

  def __init__(self, dims: int, rnn_type: Text, **kwargs):
    """Sets the RNN.

    Args:
      dims: Units of the RNN.
      rnn_type: 'gru' or 'lstm'.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.dims = validation.check_int('dims', dims)
    self.rnn_type = rnn_type
    self.rnn = _rnn_class(rnn_type)(self.dims, return_sequences=True,
                                    return_state=True)
    self._run = _RnnRunner(self.rnn)

  @property
  def state_size(self) -> int:
    """Channels of the state tensor."""
    return self.dims * (2 if self.rnn_type == 'lstm' else 1)

  def call(self, x: tf.Tensor, state: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """Runs the RNN from `state`.

    Args:
      x: [batch, n_frames, channels].
      state: [batch, state_size].

    Returns:
      (outputs [batch, n_frames, dims], new state [batch, state_size]).
    """
    validation.check_rank('x', x, (3,), '[batch, n_frames, channels]')
    validation.check_rank('state', state, (2,), '[batch, state_size]')
    if state.shape[-1] is not None and state.shape[-1] != self.state_size:
      raise ValueError(f'state must have {self.state_size} channels for a '
                       f'{self.rnn_type} with {self.dims} units, got shape '
                       f'{state.shape.as_list()}.')
    initial_state = (tf.split(state, 2, axis=-1) if self.rnn_type == 'lstm'
                     else [state])
    outputs, *states = self._run(x, initial_state=initial_state)
    return outputs, tf.concat(states, axis=-1)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(dims=self.dims, rnn_type=self.rnn_type)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class RnnFc(CompositeLayer):
  """n_rnn RNNs, then a Dense layer and a nonlinearity."""

  def __init__(self, rnn_feat: int, out_feat: int, rnn_type: Text = 'lstm',
               nonlinearity: Text = 'sigmoid', bidir: bool = False,
               n_rnn: int = 1, **kwargs):
    """Sets the sizes.

    Args:
      rnn_feat: Units of each RNN.
      out_feat: Output channels.
      rnn_type: 'gru' or 'lstm'.
      nonlinearity: Applied to the Dense output (a Keras activation or
        tf.nn function name).
      bidir: Bidirectional RNNs.
      n_rnn: Number of RNNs, >= 1.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.n_rnn = validation.check_int('n_rnn', n_rnn)
    self.rnns = [Rnn(rnn_feat, rnn_type, bidir=bidir)
                 for _ in range(self.n_rnn)]
    self.dense = keras.layers.Dense(validation.check_int('out_feat', out_feat))
    self.nonlinearity = nonlinearity
    self._activation = get_nonlinearity(nonlinearity)

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, n_frames, channels] -> [batch, n_frames, out_feat]."""
    for rnn in self.rnns:
      x = rnn(x)
    return self._activation(self.dense(x))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    rnn = self.rnns[0]
    config.update(rnn_feat=rnn.dims, out_feat=self.dense.units,
                  rnn_type=rnn.rnn_type, nonlinearity=self.nonlinearity,
                  bidir=rnn.bidir, n_rnn=self.n_rnn)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class RnnSandwich(CompositeLayer):
  """FcStack -> Rnn -> FcStack."""

  def __init__(self, fc_stack_ch: int = 256, fc_stack_layers: int = 2,
               rnn_ch: int = 512, rnn_type: Text = 'gru', **kwargs):
    """Sets the sizes.

    Args:
      fc_stack_ch: Channels of both Fc stacks.
      fc_stack_layers: Layers of each Fc stack.
      rnn_ch: Units of the RNN.
      rnn_type: 'gru' or 'lstm'.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.fc_in = FcStack(fc_stack_ch, fc_stack_layers)
    self.rnn = Rnn(rnn_ch, rnn_type)
    self.fc_out = FcStack(fc_stack_ch, fc_stack_layers)

  def call(self, x: tf.Tensor) -> tf.Tensor:
    """[batch, n_frames, channels] -> [batch, n_frames, fc_stack_ch]."""
    return self.fc_out(self.rnn(self.fc_in(x)))

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(fc_stack_ch=self.fc_in.ch,
                  fc_stack_layers=self.fc_in.n_layers, rnn_ch=self.rnn.dims,
                  rnn_type=self.rnn.rnn_type)
    return config


# ----------------------------------------------------------------------------
# Dilated convolutions.
# ----------------------------------------------------------------------------
def _match_time(z: tf.Tensor, n_frames: Optional[int]) -> tf.Tensor:
  """Resamples z [B, T', ...] to n_frames along time when both are static."""
  if n_frames is not None and z.shape[1] is not None and z.shape[1] != n_frames:
    return core.resample(z, n_frames)
  return z


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class ConditionalNorm(CompositeLayer):
  """normalize_op, then a scale and shift predicted from a conditioning z.

  A Dense layer maps z to a shift (and a scale) per channel, resampled to
  the time axis of x: out = norm(x) * (1 + scale) + shift. The scale is
  centred on 1, so an untrained conditioning network leaves x near
  unchanged.
  """

  def __init__(self, ch: int, norm_type: Optional[Text] = 'layer',
               shift_only: bool = False, **kwargs):
    """Sets the normalisation.

    Args:
      ch: Channels of x.
      norm_type: 'instance', 'layer', 'group' or None (no normalisation).
      shift_only: Predict only a shift.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    if norm_type is not None:
      _check_norm_type(norm_type)
    self.ch = validation.check_int('ch', ch)
    self.norm_type = norm_type
    self.shift_only = shift_only
    self.dense = keras.layers.Dense(self.ch if shift_only else 2 * self.ch)

  def call(self, x: tf.Tensor, z: tf.Tensor) -> tf.Tensor:
    """Conditions x on z.

    Args:
      x: [batch, n_frames, 1, ch].
      z: [batch, n_z_frames, z_channels] or [batch, z_channels].

    Returns:
      [batch, n_frames, 1, ch].
    """
    if self.norm_type is not None:
      x = normalize_op(x, self.norm_type)
    params = _match_time(self.dense(ensure_4d(z)), x.shape[1])
    if self.shift_only:
      return x + params
    scale, shift = tf.split(params, 2, axis=-1)
    return x * (1.0 + scale) + shift

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(ch=self.ch, norm_type=self.norm_type,
                  shift_only=self.shift_only)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class DilatedConvStack(CompositeLayer):
  """Stacks of residual dilated convolutions over time (WaveNet-like).

  An input convolution maps the channels to ch. Each stack has
  layers_per_stack residual layers x += relu(norm(conv(x))) whose dilation
  grows as dilation**layer, so one stack sees
  1 + (kernel_size - 1) * (dilation**layers_per_stack - 1) / (dilation - 1)
  frames. Optional resampling (strided or transposed convolution) changes
  the frame rate every stacks_per_resample stacks. With conditional=True
  the layer takes [x, z] and every norm is a ConditionalNorm on z.
  """

  def __init__(self, ch: int = 256, layers_per_stack: int = 5,
               stacks: int = 2, kernel_size: int = 3, dilation: int = 2,
               norm_type: Optional[Text] = None,
               resample_type: Optional[Text] = None,
               resample_stride: int = 1, stacks_per_resample: int = 1,
               resample_after_convolve: bool = True,
               spectral_norm: bool = False, ortho_init: bool = False,
               shift_only: bool = False, conditional: bool = False,
               **kwargs):
    """Sets the architecture.

    Args:
      ch: Channels of every convolution.
      layers_per_stack: Residual layers per stack.
      stacks: Number of stacks.
      kernel_size: Kernel length in frames.
      dilation: Dilation growth factor within a stack.
      norm_type: None, 'instance', 'layer' or 'group'.
      resample_type: None, 'downsample' or 'upsample'.
      resample_stride: Frame-rate factor of each resampling.
      stacks_per_resample: Resample after (or before) every this many stacks.
      resample_after_convolve: Resample after the stack's convolutions
        rather than before.
      spectral_norm: Wrap convolutions in keras.layers.SpectralNormalization.
      ortho_init: Orthogonal kernel initialisation.
      shift_only: With conditional, predict only shifts.
      conditional: Take [x, z] and condition every layer on z.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.ch = validation.check_int('ch', ch)
    self.layers_per_stack = validation.check_int('layers_per_stack',
                                                 layers_per_stack)
    self.stacks = validation.check_int('stacks', stacks)
    self.kernel_size = validation.check_int('kernel_size', kernel_size)
    self.dilation = validation.check_int('dilation', dilation)
    if norm_type is not None:
      _check_norm_type(norm_type)
    if resample_type is not None:
      validation.check_choice('resample_type', resample_type, RESAMPLE_TYPES)
    self.norm_type = norm_type
    self.resample_type = resample_type
    self.resample_stride = validation.check_int('resample_stride',
                                                resample_stride)
    self.stacks_per_resample = validation.check_int('stacks_per_resample',
                                                    stacks_per_resample)
    self.resample_after_convolve = resample_after_convolve
    self.spectral_norm = spectral_norm
    self.ortho_init = ortho_init
    self.shift_only = shift_only
    self.conditional = conditional

    self.conv_in = self._conv(self.kernel_size)
    dilations = [self.dilation**layer for layer in range(self.layers_per_stack)]
    self.convs = [self._conv(self.kernel_size, dilation=d)
                  for _ in range(self.stacks) for d in dilations]
    self.norms = [
        ConditionalNorm(self.ch, norm_type, shift_only) if conditional
        else get_norm(norm_type) for _ in self.convs]
    n_resamples = (-(-self.stacks // self.stacks_per_resample)
                   if resample_type else 0)
    self.resamplers = [self._resampler() for _ in range(n_resamples)]

  def _conv(self, kernel_size: int, dilation: int = 1, stride: int = 1,
            transpose: bool = False) -> keras.layers.Layer:
    """A 'same'-padded convolution over time ([B, T, 1, C] tensors)."""
    conv_class = keras.layers.Conv2DTranspose if transpose else (
        keras.layers.Conv2D)
    conv = conv_class(
        self.ch, (kernel_size, 1), strides=(stride, 1),
        dilation_rate=(dilation, 1), padding='same',
        kernel_initializer='orthogonal' if self.ortho_init else 'glorot_uniform')
    return keras.layers.SpectralNormalization(conv) if self.spectral_norm else conv

  def _resampler(self) -> keras.layers.Layer:
    stride = self.resample_stride
    if self.resample_type == 'downsample':
      return self._conv(stride, stride=stride)
    return self._conv(2 * stride, stride=stride, transpose=True)

  def _maybe_resample(self, x: tf.Tensor, stack: int, after: bool) -> tf.Tensor:
    if (self.resamplers and after == self.resample_after_convolve and
        stack % self.stacks_per_resample == 0):
      return self.resamplers[stack // self.stacks_per_resample](x)
    return x

  def call(self, inputs: Union[tf.Tensor, Sequence[tf.Tensor]]) -> tf.Tensor:
    """Runs the stacks.

    Args:
      inputs: x [batch, n_frames, channels] (or [batch, n_frames, 1,
        channels]); with conditional=True, [x, z] with z [batch,
        n_z_frames, z_channels] or [batch, z_channels].

    Returns:
      [batch, n_frames', ch] with n_frames' = n_frames times or divided by
      the resampling factors (same rank as x).
    """
    if self.conditional:
      if (not isinstance(inputs, (list, tuple))) or len(inputs) != 2:
        raise ValueError(f'{self.name} is conditional and takes [x, z], got '
                         f'{type(inputs).__name__}.')
      x, z = inputs
    else:
      x, z = inputs, None
    validation.check_rank('x', x, (3, 4), '[batch, n_frames, (1,) channels]')
    n_dims = x.shape.rank
    x = self.conv_in(ensure_4d(x))
    for stack in range(self.stacks):
      x = self._maybe_resample(x, stack, after=False)
      for layer in range(self.layers_per_stack):
        index = stack * self.layers_per_stack + layer
        y = self.convs[index](x)
        y = self.norms[index](y, z) if self.conditional else self.norms[index](y)
        x = x + tf.nn.relu(y)
      x = self._maybe_resample(x, stack, after=True)
    return inv_ensure_4d(x, n_dims)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(
        ch=self.ch, layers_per_stack=self.layers_per_stack,
        stacks=self.stacks, kernel_size=self.kernel_size,
        dilation=self.dilation, norm_type=self.norm_type,
        resample_type=self.resample_type,
        resample_stride=self.resample_stride,
        stacks_per_resample=self.stacks_per_resample,
        resample_after_convolve=self.resample_after_convolve,
        spectral_norm=self.spectral_norm, ortho_init=self.ortho_init,
        shift_only=self.shift_only, conditional=self.conditional)
    return config


# ----------------------------------------------------------------------------
# Output splits.
# ----------------------------------------------------------------------------
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
