"""Loss base classes, argument checks and the elementary comparisons.

`Loss` (a Keras layer with `get_losses_dict`) and `LossGroup` (a DAG of
losses returning one flat dict), the argument checks every loss shares,
the helpers of the sinusoid losses, and `mean_difference` with its
amplitude and frequency variants `amp_loss` and `freq_loss`.
"""

import re
from typing import Any, Dict, List, Optional, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import dags
from ddsp_tf import layer_base
from ddsp_tf import validation

TensorDict = Dict[Text, tf.Tensor]

LOSS_TYPES = ('L1', 'L2', 'COSINE')


# ----------------------------------------------------------------------------
# Argument checks.
# ----------------------------------------------------------------------------
def _check_loss_type(loss_type: Any) -> Text:
  """Returns the upper-cased loss type, or raises ValueError naming it."""
  if not isinstance(loss_type, str) or loss_type.upper() not in LOSS_TYPES:
    raise ValueError(f'loss_type must be one of {list(LOSS_TYPES)} (any case), '
                     f'got loss_type={loss_type!r}.')
  return loss_type.upper()


def _check_weight(name: Text, value: Any) -> float:
  """Returns a loss weight as a float; it must be finite and >= 0."""
  return validation.check_number(name, value, minimum=0.0)


def _check_broadcastable(name: Text, weights: tf.Tensor,
                         shape: tf.TensorShape) -> None:
  """Raises unless `weights` broadcasts to `shape` without enlarging it."""
  if weights.shape.rank is None or shape.rank is None:
    return
  try:
    broadcast = tf.broadcast_static_shape(weights.shape, shape)
  except ValueError:
    broadcast = None
  if broadcast is None or (broadcast.is_fully_defined() and
                           shape.is_fully_defined() and broadcast != shape):
    raise ValueError(f'{name} of shape {weights.shape.as_list()} does not '
                     f'broadcast to the compared shape {shape.as_list()}.')


# ----------------------------------------------------------------------------
# Helpers shared by the sinusoid losses.
# ----------------------------------------------------------------------------
def _check_sinusoids(prefix: Text, amps: tf.Tensor,
                     freqs: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """float32 amplitudes and frequencies, [batch, n_frames, n_sinusoids]."""
  amps, freqs = core.tf_float32(amps), core.tf_float32(freqs)
  meaning = '[batch, n_frames, n_sinusoids]'
  validation.check_rank(f'amps{prefix}', amps, (3,), meaning)
  validation.check_rank(f'freqs{prefix}', freqs, (3,), meaning)
  validation.check_same_shape((f'amps{prefix}', f'freqs{prefix}'), amps, freqs)
  return amps, freqs


def _normalized_amps(amps: tf.Tensor) -> tf.Tensor:
  """Amplitudes as mixture weights; zeros get a tiny weight so all-zero
  frames still define a (uniform) distribution."""
  amps = tf.where(amps == 0.0, 1e-7, amps)
  return core.safe_divide(amps, tf.reduce_sum(amps, axis=-1, keepdims=True))


# ----------------------------------------------------------------------------
# Base classes.
# ----------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package='ddsp_tf')
class Loss(layer_base.Layer):
  """Base class of the losses: a Keras layer with `get_losses_dict`.

  Anything with a `get_losses_dict` method counts as a loss in a DAG (duck
  typing, see dags.is_loss); this base adds the common plumbing. Autocasting
  is off, so losses compute in float32 under a mixed-precision policy.

  The default name is the class name in snake case ('ParamLoss' ->
  'param_loss'), without the numeric suffix Keras would add to repeated
  names, so the keys of get_losses_dict do not depend on how many losses
  were built before. (Two unnamed losses of one class in a LossGroup are
  therefore reported as a name clash; name them.)

  Subclasses list the constructor arguments that get_config saves in
  `_config_args` (each stored as the attribute of the same name).
  """

  _config_args: Tuple[Text, ...] = ()

  def __init__(self, name: Optional[Text] = None, trainable: bool = False,
               **kwargs):
    if name is None:
      name = re.sub(r'(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])',
                    r'_\1\2', type(self).__name__).lower()
    super().__init__(name=name, trainable=trainable, autocast=False, **kwargs)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    for key in self._config_args:
      config[key] = getattr(self, key)
    return config

  def get_losses_dict(self, *args, **kwargs) -> TensorDict:
    """Calls the loss and returns its value(s) as a flat dict.

    Args:
      *args: Inputs of call.
      **kwargs: Keyword inputs of call.

    Returns:
      {self.name: scalar} for a loss returning a scalar; a loss returning a
      dict of named scalars gives that dict (a copy).
    """
    result = self(*args, **kwargs)
    if isinstance(result, dict):
      return dict(result)
    return {self.name: result}


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.losses')
class LossGroup(dags.DAGLayer):
  """A DAG of losses that returns one flat dict {loss name: scalar}.

  Each node names the keys of the model's outputs dict that are passed to a
  loss, e.g. in gin:

    LossGroup.dag = [
        (@losses.SpectralLoss(), ['audio', 'audio_synth']),
        (@losses.ParamLoss(name='f0_loss'), ['f0_hz_pred', 'f0_hz']),
    ]

  Nodes that are not losses (modules without get_losses_dict) may compute
  intermediate values for later nodes; only the losses' dicts are merged.
  """

  @property
  def losses(self) -> list:
    """The loss modules of the DAG, in node order.

    (This replaces Keras's `Layer.losses`, which lists add_loss terms; a
    LossGroup never calls add_loss.)
    """
    return [module for module in self.modules if dags.is_loss(module)]

  @property
  def loss_names(self) -> List[Text]:
    """The names of the DAG's loss modules, in node order."""
    return [name for name in self.module_names
            if dags.is_loss(self.dag_modules[name])]

  def call(self, outputs: TensorDict, **kwargs) -> TensorDict:
    """Runs every loss on the outputs and merges their dicts.

    Args:
      outputs: Dict (possibly nested) of model outputs and targets.
      **kwargs: Passed to every module of the DAG.

    Returns:
      Flat dict {loss name: scalar}.

    Raises:
      KeyError: If a node's input key is missing (the message lists the
        available keys).
      ValueError: If two losses report the same name.
    """
    dag_outputs = self.run_dag(outputs, **kwargs)
    merged = {}
    seen = set()
    for name, _, _ in self.dag:
      module = self.dag_modules[name]
      if name in seen or not dags.is_loss(module):
        continue
      seen.add(name)
      for key, value in dag_outputs[name].items():
        if key in merged:
          raise ValueError(f'Two losses of {self.name!r} report the name '
                           f'{key!r}; give the loss layers distinct names.')
        merged[key] = value
    return merged

  def get_losses_dict(self, outputs: TensorDict, **kwargs) -> TensorDict:
    """Same as calling the group."""
    return self(outputs, **kwargs)


# ----------------------------------------------------------------------------
# Elementary comparisons.
# ----------------------------------------------------------------------------
def mean_difference(target: tf.Tensor, value: tf.Tensor,
                    loss_type: Text = 'L1',
                    weights: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Mean L1, L2 or cosine difference between two tensors of one shape.

  - 'L1': mean(|target - value| * weights).
  - 'L2': mean((target - value)**2 * weights).
  - 'COSINE': cosine distance along the last axis, d = 1 - <t/|t|, v/|v|>,
    one per vector; the result is mean(d * weights) with d broadcast along
    the last axis, i.e. each vector's distance times the mean of its
    weights, averaged over vectors. Both inputs are normalised here (the TF1
    `tf.losses.cosine_distance` used by the original expected unit vectors
    and divided by the number of non-zero weights). A zero vector counts as
    orthogonal to everything (d = 1). Unlike L1/L2 this is not symmetric in
    magnitude: scaling one input does not change it.

  Args:
    target: Target tensor.
    value: Tensor of the same shape as target.
    loss_type: 'L1', 'L2' or 'COSINE', in any case.
    weights: Optional non-negative weights broadcastable to target's shape.

  Returns:
    float32 scalar.

  Raises:
    ValueError: For an unknown loss_type, target and value of different
      shapes, weights that do not broadcast, or COSINE on a scalar.
  """
  loss_type = _check_loss_type(loss_type)
  target, value = core.tf_float32(target), core.tf_float32(value)
  validation.check_same_shape(('target', 'value'), target, value)
  if weights is not None:
    weights = core.tf_float32(weights)
    _check_broadcastable('weights', weights, target.shape)

  if loss_type == 'L1':
    per_element = tf.abs(target - value)
  elif loss_type == 'L2':
    per_element = tf.square(target - value)
  else:
    if target.shape.rank == 0:
      raise ValueError('COSINE needs tensors with at least one axis, got '
                       'scalars.')
    unit_target = tf.math.l2_normalize(target, axis=-1)
    unit_value = tf.math.l2_normalize(value, axis=-1)
    per_element = 1.0 - tf.reduce_sum(unit_target * unit_value, axis=-1,
                                      keepdims=True)
  if weights is not None:
    per_element = per_element * weights
  return tf.reduce_mean(per_element)


def amp_loss(amp: tf.Tensor, amp_target: tf.Tensor, loss_type: Text = 'L1',
             weights: Optional[tf.Tensor] = None, log: bool = False,
             amin: float = 1e-5) -> tf.Tensor:
  """Compares amplitudes, optionally on a log10 scale.

  Args:
    amp: Amplitudes.
    amp_target: Target amplitudes, same shape.
    loss_type: 'L1', 'L2' or 'COSINE'.
    weights: Optional weights (see mean_difference).
    log: Compare log10(max(amp, amin)) instead of amplitudes.
    amin: Floor applied before the log.

  Returns:
    float32 scalar.
  """
  amp, amp_target = core.tf_float32(amp), core.tf_float32(amp_target)
  if log:
    validation.check_positive('amin', amin)
    amp = core.log10(tf.maximum(amp, amin))
    amp_target = core.log10(tf.maximum(amp_target, amin))
  return mean_difference(amp, amp_target, loss_type, weights)


def freq_loss(f_hz: tf.Tensor, f_hz_target: tf.Tensor, loss_type: Text = 'L1',
              weights: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Compares frequencies in MIDI units (semitones), so errors are relative.

  Args:
    f_hz: Frequencies in Hz (0 Hz maps to MIDI 0).
    f_hz_target: Target frequencies in Hz, same shape.
    loss_type: 'L1', 'L2' or 'COSINE'.
    weights: Optional weights (see mean_difference).

  Returns:
    float32 scalar.
  """
  return mean_difference(core.hz_to_midi(f_hz), core.hz_to_midi(f_hz_target),
                         loss_type, weights)
