"""The base class of DDSP models: a Keras model that can report its losses."""

import logging
from typing import Dict, List, Optional, Sequence, Text, Tuple, Union

import keras
import tensorflow as tf

from ddsp_tf import layer_base
from ddsp_tf.training import train_util

TensorDict = Dict[Text, tf.Tensor]


def sum_losses(losses_dict: TensorDict) -> tf.Tensor:
  """The sum of a dict of scalar losses (0.0 for an empty dict)."""
  if not losses_dict:
    return tf.constant(0.0, tf.float32)
  return tf.add_n([tf.cast(loss, tf.float32) for loss in losses_dict.values()])


def _root_children(prefix: Text) -> List[Text]:
  """Names of the root's children in a checkpoint's object graph."""
  from tensorflow.core.protobuf import trackable_object_graph_pb2  # pylint: disable=g-import-not-at-top
  reader = tf.train.load_checkpoint(prefix)
  graph = trackable_object_graph_pb2.TrackableObjectGraph()
  graph.ParseFromString(reader.get_tensor('_CHECKPOINTABLE_OBJECT_GRAPH'))
  return [child.local_name for child in graph.nodes[0].children]


class Model(layer_base.RebuiltByCall, layer_base.CheckpointTracked,
            keras.Model):
  """Base class: `__call__(..., return_losses=True)` adds a losses dict.

  Subclasses implement `call` (features -> outputs dict),
  `compute_losses_dict` (outputs -> {name: scalar}) and
  `get_audio_from_outputs`. Losses are computed after `call`, only when
  asked for, from the outputs alone, so a model instance holds no per-call
  state and is safe to run on several replicas at once.

  Weights are created on the first call (shapes come from the data), and
  are tracked for `tf.train.Checkpoint(model=...)` under the attribute
  names of the sub-layers, so checkpoints restore into a fresh model, also
  before its first call. A model loaded from a `.keras` file is rebuilt by
  a call on zeros shaped like its first inputs.
  """

  def build(self, *unused_input_shapes, **unused_input_kwargs) -> None:
    """Sub-layers build themselves on the first call."""
    self.built = True

  def __call__(self, *args, return_losses: bool = False, **kwargs
               ) -> Union[TensorDict, Tuple[TensorDict, TensorDict]]:
    """Runs the model.

    Args:
      *args: Inputs of call (usually a dict of features; dicts are copied,
        so the caller's dict is never changed).
      return_losses: Also return the losses.
      **kwargs: Keyword arguments of call (e.g. training).

    Returns:
      outputs, or (outputs, losses) where losses holds every loss by name
      and 'total_loss', their sum.
    """
    args = [dict(a) if isinstance(a, dict) else a for a in args]
    outputs = super().__call__(*args, **kwargs)
    if not return_losses:
      return outputs
    losses = dict(self.compute_losses_dict(outputs))
    if 'total_loss' in losses:
      raise ValueError("A loss is named 'total_loss', which is reserved for "
                       'the sum of the losses; rename that loss.')
    losses['total_loss'] = sum_losses(losses)
    return outputs, losses

  def call(self, *args, training: bool = False, **kwargs) -> TensorDict:
    """Features -> outputs dict; subclasses implement."""
    raise NotImplementedError(f'{type(self).__name__} must implement call.')

  def compute_losses_dict(self, outputs: TensorDict) -> TensorDict:
    """{loss name: scalar} from the outputs of call; subclasses implement."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement compute_losses_dict.')

  def get_audio_from_outputs(self, outputs: TensorDict) -> tf.Tensor:
    """The model's audio, [batch, n_samples]; subclasses implement."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement get_audio_from_outputs.')

  def restore(self, checkpoint_path: Text, verbose: bool = True,
              restore_keys: Optional[Sequence[Text]] = None,
              partial: bool = False):
    """Restores the weights from a checkpoint of `tf.train.Checkpoint(model=...)`.

    Other objects in the checkpoint (the optimizer) are ignored. Weights the
    model has not created yet are restored when it first creates them.

    A checkpoint written by magenta/ddsp's trainer (for the same gin
    config) is accepted too: its keys are mapped onto this model's weights
    as ddsp_tf_convert_checkpoint maps them. Since that needs the weights,
    a model not built yet is built first by one inference call on zero
    features.

    Args:
      checkpoint_path: A directory (its latest checkpoint is used) or a
        checkpoint prefix such as '.../ckpt-300'.
      verbose: Log what is restored.
      restore_keys: Names of the sub-modules (attributes, e.g. ['decoder'])
        to restore; None restores the whole model.
      partial: Allow a checkpoint that holds only some of the model's
        (created) weights; by default that is an error.

    Returns:
      The load status (see tf.train.Checkpoint.restore); None for a
      checkpoint of magenta/ddsp, which is restored at once.

    Raises:
      FileNotFoundError: If there is no readable checkpoint at
        checkpoint_path (incomplete checkpoints are skipped).
      ValueError: If a restore key is not an attribute of the model, the
        checkpoint holds no model weights, or (unless partial) weights the
        model has created are missing from it (the message lists them), or
        a checkpoint of magenta/ddsp does not fit the model (its keys and
        the model's weights do not match one to one; listed).
    """
    prefix = train_util.get_latest_checkpoint(checkpoint_path)
    if restore_keys is None:
      model = self
    else:
      missing = [key for key in restore_keys if getattr(self, key, None) is None]
      if missing:
        raise ValueError(f'restore_keys {missing} are not sub-modules of '
                         f'{type(self).__name__}.')
      model = tf.train.Checkpoint(
          **{key: getattr(self, key) for key in restore_keys})
    if 'model' not in _root_children(prefix):
      raise ValueError(f'The checkpoint {prefix!r} holds no model (it was '
                       'not written as tf.train.Checkpoint(model=...)).')
    from ddsp_tf.training import checkpoint_conversion  # pylint: disable=g-import-not-at-top
    if checkpoint_conversion.looks_like_original(
        [key for key, _ in tf.train.list_variables(prefix)]):
      # Written by magenta/ddsp (Keras 2 keys): mapped in memory.
      checkpoint_conversion.restore_original(
          self, prefix, restore_keys=restore_keys, partial=partial)
      return None
    status = tf.train.Checkpoint(model=model).read(prefix).expect_partial()
    if not partial:
      try:
        status.assert_existing_objects_matched()
      except AssertionError as error:
        raise ValueError(
            f'The checkpoint {prefix!r} does not hold every weight of this '
            f'{type(self).__name__} (another config, or another library\'s '
            'checkpoint?); pass partial=True to restore what matches. '
            f'Unmatched: {str(error)[:1500]}') from None
    if verbose:
      what = 'the model' if restore_keys is None else list(restore_keys)
      logging.info('Restored %s from %s.', what, prefix)
    return status
