"""Helpers shared by the MIDI autoencoders and the inverse-synthesis model.

magenta/ddsp's models add losses to a `_losses_dict` attribute while they
run. ddsp_tf's models compute their losses after `call`, from the outputs
alone (see model.Model), so these helpers build and return loss dicts
instead, and convert the optional sub-layers to and from Keras configs.
"""

from typing import Any, Dict, List, Optional, Sequence, Text

import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import dags

TensorDict = Dict[Text, tf.Tensor]


def check_losses(name: Text, loss_objs: Any) -> List[Any]:
  """The loss objects of an argument as a list, each checked.

  Args:
    name: The argument's name, for errors.
    loss_objs: None, a loss, or a list of losses.

  Returns:
    A (possibly empty) list of the losses.

  Raises:
    ValueError: If an item has no get_losses_dict method.
  """
  losses = core.make_iterable(loss_objs)
  for loss in losses:
    if not dags.is_loss(loss):
      raise ValueError(f'Every {name} must be a loss with get_losses_dict '
                       f'(e.g. losses.SpectralLoss()); got {loss!r}.')
  return losses


def losses_dict(loss_objs: Any, *args, **kwargs) -> TensorDict:
  """Runs loss objects on the same arguments and merges their dicts.

  The counterpart of magenta/ddsp's `Model._update_losses_dict`.

  Args:
    loss_objs: None, a loss, or a list of losses; items without
      get_losses_dict are skipped, as in the original.
    *args: Arguments of each loss.
    **kwargs: Keyword arguments of each loss.

  Returns:
    {loss name: scalar}, empty when there are no losses.
  """
  merged = {}
  for loss in core.make_iterable(loss_objs):
    if dags.is_loss(loss):
      merged.update(loss.get_losses_dict(*args, **kwargs))
  return merged


def serialize(value: Any) -> Any:
  """A Keras config of a layer, a list of layers, or None."""
  if isinstance(value, (list, tuple)):
    return [keras.saving.serialize_keras_object(item) for item in value]
  return keras.saving.serialize_keras_object(value)


def _is_layer_config(value: Any) -> bool:
  return isinstance(value, dict) and 'class_name' in value


def deserialize_layers(config: Dict[Text, Any]) -> Dict[Text, Any]:
  """A model config with its layer configs (and lists of them) rebuilt."""
  config = dict(config)
  for key, value in config.items():
    if _is_layer_config(value):
      config[key] = keras.saving.deserialize_keras_object(value)
    elif (isinstance(value, list) and value and
          all(_is_layer_config(item) for item in value)):
      config[key] = [keras.saving.deserialize_keras_object(item)
                     for item in value]
  return config


def layer_keys(layer: Any, attribute: Text) -> List[Text]:
  """A DictLayer's `input_keys` or `output_keys` (top level), else []."""
  keys = getattr(layer, attribute, None) or []
  return [str(key).split('/')[0] for key in keys]


def required_features(preprocessor: Any, readers: Sequence[Any],
                      loss_group: Any,
                      internal_keys: Sequence[Text]) -> Dict[Text, Text]:
  """The dataset features a model reads: {key: why it is needed}.

  Args:
    preprocessor: The model's preprocessor (a DictLayer): its required
      input keys, and 'audio' when it recomputes loudness.
    readers: Other layers reading the features (e.g. latent encoders).
    loss_group: A LossGroup (or None) reading the outputs.
    internal_keys: Keys the model makes itself; these are not required.

  Returns:
    {feature key: reason}.
  """
  required = {key: 'an input of the preprocessor'
              for key in layer_keys(preprocessor, 'input_keys')}
  if getattr(preprocessor, 'compute_loudness', False):
    required['audio'] = 'the preprocessor recomputes loudness from it'
  internal = set(internal_keys) | set(layer_keys(preprocessor, 'output_keys'))
  for layer in readers:
    for key in layer_keys(layer, 'input_keys'):
      if key not in internal:
        required.setdefault(key, f'an input of {layer.name}')
  for key in nested_names(getattr(loss_group, 'dag', None) or []):
    if key not in internal:
      required.setdefault(key, 'read by the reconstruction losses')
  return required


def check_required_features(model_name: Text, features: Dict[Text, Any],
                            required: Dict[Text, Text]) -> None:
  """Raises a ValueError naming every required feature that is missing.

  Args:
    model_name: The model's class name, for the message.
    features: The dataset batch (a dict).
    required: {feature key: why the model needs it}.

  Raises:
    ValueError: If some keys are not in features.
  """
  missing = {key: why for key, why in required.items() if key not in features}
  if not missing:
    return
  reasons = '; '.join(f"'{key}' ({why})" for key, why in missing.items())
  raise ValueError(
      f'{model_name} needs the features {sorted(missing)}, which the batch '
      f'lacks: {reasons}. The batch has {sorted(features)}; use a data '
      'provider that yields them.')


def frame_count(x: tf.Tensor) -> Optional[int]:
  """The static size of axis 1 of a tensor, or None."""
  shape = tf.TensorShape(getattr(x, 'shape', None))
  if shape.rank is None or shape.rank < 2:
    return None
  return shape[1]


def nested_names(dag: Sequence[Any]) -> List[Text]:
  """The top-level feature keys read by the nodes of a DAG."""
  keys = []
  for node in dag:
    for key in node[1]:
      keys.append(str(key).split('/')[0])
  return keys
