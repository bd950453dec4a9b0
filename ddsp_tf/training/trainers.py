"""Trainer: optimizer, distributed training step and checkpoints.

A Trainer pairs a model with a tf.distribute strategy and an Adam optimizer
whose learning rate decays exponentially, after an optional linear warm-up.
Each training step runs the model on every replica's share of the batch,
averages the gradients over the whole batch, clips their global norm and
applies them, unless the loss or the gradients are NaN or Inf: then no
update is made and `nan_policy` decides whether training stops with an error
naming the step, or skips the batch.

The model must follow the ddsp_tf Model interface:
`outputs, losses = model(features, training=True, return_losses=True)`,
where `losses` is a dict of scalars that includes 'total_loss'.

Checkpoints are `<save_dir>/ckpt-<step>` (step = optimizer iterations) and
hold the model, the optimizer (Adam moments and iterations), a count of
skipped steps and a checkpoint `format_version`. TF writes each
checkpoint's files before it rewrites the `checkpoint` state file (a
temporary file renamed over the old one), so a save that is cut off leaves
the state file naming the previous, complete checkpoint.

Differences from magenta/ddsp on purpose:
- Gradients are averaged over the global batch (each replica scales its
  loss by 1 / replicas before the all-reduce) and clipped after the
  all-reduce, so any number of replicas computes the same update as one
  device. The original summed the replicas' gradients, each clipped alone.
- NaN / Inf handling (`nan_policy`), the checkpoint `format_version` and
  the learning-rate warm-up (`lr_warmup_steps`) are new.
- `train_step` applies the NaN policy in Python around the compiled step,
  and accepts a distributed batch as well as an iterator.
"""

import collections.abc
import logging
from typing import Any, Callable, Dict, Optional, Sequence

import gin
import keras
import numpy as np
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.training import train_util

logger = logging.getLogger(__name__)

TensorDict = Dict[str, tf.Tensor]

# Version of the checkpoint layout; a newer one cannot be restored.
CHECKPOINT_FORMAT_VERSION = 1
NAN_POLICIES = ('stop', 'skip')
_FORMAT_VERSION_KEY = 'format_version/.ATTRIBUTES/VARIABLE_VALUE'


def _check_positive_number(name: str, value: Any) -> float:
  """Returns a finite positive number as float, or raises ValueError."""
  return validation.check_number(name, value, minimum=0.0, inclusive=False)


@keras.saving.register_keras_serializable(package='ddsp_tf')
class WarmupExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
  """Exponential decay after an optional linear warm-up.

  lr(step) = learning_rate * min(1, (step + 1) / (warmup_steps + 1))
             * decay_rate ** (step / decay_steps)

  With warmup_steps = 0 this is Keras's smooth ExponentialDecay.
  """

  def __init__(self, learning_rate: float, decay_steps: int,
               decay_rate: float, warmup_steps: int = 0):
    """Sets the schedule.

    Args:
      learning_rate: Rate reached at the end of the warm-up.
      decay_steps: Steps over which the rate is multiplied by decay_rate.
      decay_rate: Decay factor per decay_steps.
      warmup_steps: Steps of the linear ramp up from
        learning_rate / (warmup_steps + 1); 0 for none.
    """
    self.learning_rate = learning_rate
    self.decay_steps = decay_steps
    self.decay_rate = decay_rate
    self.warmup_steps = warmup_steps

  def __call__(self, step: tf.Tensor) -> tf.Tensor:
    step = tf.cast(step, tf.float32)
    warmup = tf.minimum(1.0, (step + 1.0) / (self.warmup_steps + 1.0))
    return (self.learning_rate * warmup *
            self.decay_rate ** (step / self.decay_steps))

  def get_config(self) -> Dict[str, Any]:
    return {'learning_rate': self.learning_rate,
            'decay_steps': self.decay_steps, 'decay_rate': self.decay_rate,
            'warmup_steps': self.warmup_steps}


@gin.configurable
class Trainer:
  """Trains a model with Adam under a tf.distribute strategy."""

  def __init__(self, model: keras.Model, strategy: tf.distribute.Strategy,
               checkpoints_to_keep: int = 100, learning_rate: float = 0.001,
               lr_decay_steps: int = 10000, lr_decay_rate: float = 0.98,
               grad_clip_norm: float = 3.0,
               restore_keys: Optional[Sequence[str]] = None,
               nan_policy: str = 'stop', max_consecutive_skips: int = 100,
               jit_compile: bool = False, lr_warmup_steps: int = 0):
    """Creates the optimizer in the strategy's scope.

    Args:
      model: A ddsp_tf model (see the module docstring).
      strategy: The tf.distribute strategy the model was created under.
      checkpoints_to_keep: Most recent checkpoints kept by `save`.
      learning_rate: Initial Adam learning rate.
      lr_decay_steps: Steps over which the rate is multiplied by
        lr_decay_rate (smoothly: lr * rate**(step / steps)).
      lr_decay_rate: Decay factor per lr_decay_steps.
      grad_clip_norm: Gradients are scaled down to this global norm.
      restore_keys: Names of model attributes (sub-layers such as
        'decoder') that `restore` loads; None loads everything, the
        optimizer included.
      nan_policy: What a NaN or Inf loss or gradient does: 'stop' raises
        FloatingPointError naming the step; 'skip' drops the batch (no
        update) and counts it in `skipped_steps`. Either way the weights are
        not touched.
      max_consecutive_skips: With nan_policy='skip', raise after this many
        skipped steps in a row (the model is likely broken).
      jit_compile: Compile each replica's forward and backward pass with
        XLA. The gradient all-reduce, clipping and update stay outside XLA.
        Faster on GPU and TPU; measure on CPU (`python -m benchmarks
        --suite=training`).
      lr_warmup_steps: Steps of a linear learning-rate ramp at the start
        (see WarmupExponentialDecay); 0 for none. A warm-up lets short runs
        use a higher rate without the first, largest Adam steps knocking
        the harmonic distribution into a bad state.

    Raises:
      ValueError: For invalid arguments.
    """
    self.checkpoints_to_keep = validation.check_int('checkpoints_to_keep',
                                                    checkpoints_to_keep)
    learning_rate = _check_positive_number('learning_rate', learning_rate)
    lr_decay_steps = validation.check_int('lr_decay_steps', lr_decay_steps)
    lr_decay_rate = _check_positive_number('lr_decay_rate', lr_decay_rate)
    lr_warmup_steps = validation.check_int('lr_warmup_steps', lr_warmup_steps,
                                           minimum=0)
    self.grad_clip_norm = _check_positive_number('grad_clip_norm',
                                                 grad_clip_norm)
    validation.check_choice('nan_policy', nan_policy, NAN_POLICIES)
    self.max_consecutive_skips = validation.check_int('max_consecutive_skips',
                                                      max_consecutive_skips)
    if isinstance(restore_keys, str):
      raise ValueError('restore_keys must be a list of attribute names, got '
                       f'restore_keys={restore_keys!r}.')
    self.restore_keys = list(restore_keys) if restore_keys else None
    if not isinstance(jit_compile, bool):
      raise ValueError('jit_compile must be True or False, got '
                       f'jit_compile={jit_compile!r}.')
    self.nan_policy = nan_policy
    self.jit_compile = jit_compile
    self._losses_and_grads = (
        tf.function(self._replica_losses_and_grads, jit_compile=True)
        if jit_compile else self._replica_losses_and_grads)
    self.model = model
    self.strategy = strategy
    self._managers = {}
    self._consecutive_skips = 0

    with self.strategy.scope():
      schedule = WarmupExponentialDecay(
          learning_rate, lr_decay_steps, lr_decay_rate,
          warmup_steps=lr_warmup_steps)
      self.optimizer = keras.optimizers.Adam(learning_rate=schedule)
      self._format_version = tf.Variable(
          CHECKPOINT_FORMAT_VERSION, dtype=tf.int64, trainable=False,
          name='format_version')
      self._skipped_steps = tf.Variable(
          0, dtype=tf.int64, trainable=False, name='skipped_steps',
          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  # --------------------------------------------------------------------------
  # State.
  # --------------------------------------------------------------------------
  @property
  def step(self) -> tf.Variable:
    """Number of updates applied so far (the optimizer's iterations)."""
    return self.optimizer.iterations

  @property
  def skipped_steps(self) -> int:
    """Steps dropped so far because of a NaN or Inf (nan_policy='skip')."""
    return int(self._skipped_steps.numpy())

  @property
  def learning_rate(self) -> tf.Tensor:
    """The current (decayed) learning rate."""
    return tf.convert_to_tensor(self.optimizer.learning_rate)

  # --------------------------------------------------------------------------
  # Checkpoints.
  # --------------------------------------------------------------------------
  def get_checkpoint(self, model: Optional[keras.Model] = None
                     ) -> tf.train.Checkpoint:
    """A checkpoint of the model and the optimizer state.

    Args:
      model: The model to include; defaults to the trainer's model.

    Returns:
      A tf.train.Checkpoint with children model, optimizer, format_version
      and skipped_steps.
    """
    return tf.train.Checkpoint(model=model or self.model,
                               optimizer=self.optimizer,
                               format_version=self._format_version,
                               skipped_steps=self._skipped_steps)

  def _manager(self, save_dir: str) -> tf.train.CheckpointManager:
    if save_dir not in self._managers:
      self._managers[save_dir] = tf.train.CheckpointManager(
          self.get_checkpoint(), directory=save_dir,
          max_to_keep=self.checkpoints_to_keep, checkpoint_name='ckpt')
    return self._managers[save_dir]

  def save(self, save_dir: str) -> str:
    """Saves the checkpoint ckpt-<step>, keeping the latest few.

    Saving again at the same step does nothing.

    Args:
      save_dir: Directory of the checkpoints.

    Returns:
      The checkpoint prefix.
    """
    save_dir = train_util.expand_path(save_dir)
    manager = self._manager(save_dir)
    step = int(self.step.numpy())
    prefix = f'{train_util.CHECKPOINT_PREFIX}{step}'
    latest = manager.latest_checkpoint
    if latest and latest.endswith('/' + prefix):
      return latest
    path = manager.save(checkpoint_number=step)
    logger.info('Saved checkpoint %s.', path)
    return path

  def _check_format_version(self, checkpoint_path: str) -> None:
    """Raises for a checkpoint written by a newer, unknown layout."""
    reader = tf.train.load_checkpoint(checkpoint_path)
    if not reader.has_tensor(_FORMAT_VERSION_KEY):
      logger.warning('Checkpoint %s has no format_version; reading it as '
                     'version %d.', checkpoint_path, CHECKPOINT_FORMAT_VERSION)
      return
    version = int(reader.get_tensor(_FORMAT_VERSION_KEY))
    if version > CHECKPOINT_FORMAT_VERSION:
      raise ValueError(
          f'Checkpoint {checkpoint_path!r} has format_version {version}; this '
          f'ddsp_tf reads format_version <= {CHECKPOINT_FORMAT_VERSION}. '
          'Upgrade ddsp_tf to restore it.')

  def restore(self, checkpoint_path: str,
              restore_keys: Optional[Sequence[str]] = None) -> str:
    """Restores the model and optimizer, or only some model parts.

    Call `build` first so that the variables exist.

    Args:
      checkpoint_path: A checkpoint prefix or a directory (its latest
        checkpoint is used).
      restore_keys: Model attributes to restore (partial restore, without
        the optimizer); defaults to the trainer's restore_keys, and None
        restores everything.

    Returns:
      The restored checkpoint prefix.

    Raises:
      FileNotFoundError: If there is no checkpoint.
      ValueError: For an unknown restore key or a newer format_version.
    """
    checkpoint_path = train_util.get_latest_checkpoint(checkpoint_path)
    self._check_format_version(checkpoint_path)
    restore_keys = restore_keys or self.restore_keys
    if restore_keys:
      missing = [key for key in restore_keys if not hasattr(self.model, key)]
      if missing:
        raise ValueError(f'restore_keys {missing} are not attributes of '
                         f'{type(self.model).__name__}; got '
                         f'restore_keys={list(restore_keys)!r}.')
      parts = tf.train.Checkpoint(
          **{key: getattr(self.model, key) for key in restore_keys})
      tf.train.Checkpoint(model=parts).restore(checkpoint_path).expect_partial()
    else:
      status = self.get_checkpoint().restore(checkpoint_path)
      status.assert_existing_objects_matched()
    self._consecutive_skips = 0
    logger.info('Restored %s from %s (step %d).',
                restore_keys or 'model and optimizer', checkpoint_path,
                int(self.step.numpy()))
    return checkpoint_path

  # --------------------------------------------------------------------------
  # Distribution helpers.
  # --------------------------------------------------------------------------
  def psum(self, x: Any, axis: Optional[int] = None) -> Any:
    """Sums per-replica values over replicas (and over `axis` if given)."""
    return self.strategy.reduce(tf.distribute.ReduceOp.SUM, x, axis=axis)

  def run(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
    """Runs fn on every replica (strategy.run)."""
    return self.strategy.run(fn, args=args, kwargs=kwargs)

  def distribute_dataset(self, dataset: tf.data.Dataset
                         ) -> tf.distribute.DistributedDataset:
    """Splits each batch of a dataset across the replicas."""
    return self.strategy.experimental_distribute_dataset(dataset)

  def local_batch(self, batch: Any) -> Any:
    """The first local replica's share of a (distributed) batch."""
    return self.strategy.experimental_local_results(batch)[0]

  def build(self, batch: TensorDict) -> None:
    """Creates the model's and the optimizer's variables.

    Runs the model once (with losses) on a batch in the strategy's scope,
    then creates the Adam moments.

    Args:
      batch: A (non-distributed) batch of features.
    """
    with self.strategy.scope():
      self.model(batch, training=True, return_losses=True)
      self.optimizer.build(self.model.trainable_variables)
    n_params = sum(int(np.prod(v.shape))
                   for v in self.model.trainable_variables)
    logger.info('Built %s: %d trainable parameters in %d variables.',
                type(self.model).__name__, n_params,
                len(self.model.trainable_variables))

  # --------------------------------------------------------------------------
  # Training step.
  # --------------------------------------------------------------------------
  def _apply_if_finite(self, strategy: tf.distribute.Strategy,
                       finite: Any, grads: Sequence[Any],
                       variables: Sequence[Any]) -> None:
    """Cross-replica: applies the gradients, or counts a skipped step.

    The decision is made here, outside the replicas, because a conditional
    inside a replica cannot contain the optimizer's own cross-replica call.
    Every replica computed the same `finite` from all-reduced values.
    """
    finite = strategy.experimental_local_results(finite)[0]
    n_replicas = strategy.num_replicas_in_sync

    def apply_on_replica(replica_grads):
      # The optimizer sums the replicas' gradients; each hands it its share
      # of the already averaged gradient.
      self.optimizer.apply([g / n_replicas for g in replica_grads], variables)

    def apply():
      strategy.extended.call_for_each_replica(apply_on_replica, args=(grads,))

    def skip():
      self._skipped_steps.assign_add(1)

    tf.cond(finite, apply, skip)

  def _replica_losses_and_grads(self, batch: TensorDict) -> Any:
    """Losses, this replica's share of the total loss, and its gradients.

    Args:
      batch: This replica's features.

    Returns:
      (losses dict, total_loss / replicas, gradients of that share with
      respect to the model's trainable variables; None where a variable
      does not affect the loss).
    """
    with tf.GradientTape() as tape:
      _, losses = self.model(batch, training=True, return_losses=True)
      replica_share = losses['total_loss'] / self.strategy.num_replicas_in_sync
    grads = tape.gradient(replica_share, self.model.trainable_variables)
    return losses, replica_share, grads

  def step_fn(self, batch: TensorDict) -> TensorDict:
    """One training step on one replica's share of the batch.

    Computes the losses and gradients, averages the gradients over all
    replicas, clips their global norm to grad_clip_norm and applies them
    when the total loss and every gradient are finite.

    Args:
      batch: This replica's features.

    Returns:
      This replica's losses.
    """
    variables = self.model.trainable_variables
    losses, replica_share, grads = self._losses_and_grads(batch)
    pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
    if not pairs:
      raise ValueError('total_loss does not depend on any trainable variable '
                       f'of {type(self.model).__name__}.')
    grads, variables = [g for g, _ in pairs], [v for _, v in pairs]

    context = tf.distribute.get_replica_context()
    grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    mean_loss = context.all_reduce(tf.distribute.ReduceOp.SUM, replica_share)
    grads, global_norm = tf.clip_by_global_norm(grads, self.grad_clip_norm)
    finite = tf.logical_and(tf.math.is_finite(mean_loss),
                            tf.math.is_finite(global_norm))
    context.merge_call(self._apply_if_finite,
                       args=(finite, grads, variables))
    return losses

  @tf.function
  def _distributed_train_step(self, inputs: Any) -> TensorDict:
    """Compiled: one step on all replicas; losses averaged over replicas."""
    if isinstance(inputs, collections.abc.Iterator):
      inputs = next(inputs)
    losses = self.run(self.step_fn, inputs)
    n_replicas = self.strategy.num_replicas_in_sync
    return {name: self.psum(value) / n_replicas
            for name, value in losses.items()}

  def train_step(self, inputs: Any) -> TensorDict:
    """Runs one compiled, distributed training step.

    Args:
      inputs: A batch from `distribute_dataset`, or an iterator of them.

    Returns:
      Dict of losses, each averaged over the replicas.

    Raises:
      FloatingPointError: With nan_policy='stop', if the loss or gradients
        are NaN or Inf (no update is applied; the message names the step);
        with 'skip', after max_consecutive_skips skipped steps in a row.
    """
    step = int(self.step.numpy())
    losses = self._distributed_train_step(inputs)
    if int(self.step.numpy()) > step:
      self._consecutive_skips = 0
      return losses

    total_loss = float(losses['total_loss'])
    if self.nan_policy == 'stop':
      raise FloatingPointError(
          f'Non-finite loss or gradient at step {step} (total_loss='
          f'{total_loss}); stopped with nan_policy="stop". No update was '
          f'applied, so the weights are those after step {step}. Use '
          'nan_policy="skip" (--nan_policy=skip) to skip such batches.')
    self._consecutive_skips += 1
    logger.warning('Skipped a batch at step %d: non-finite loss or gradient '
                   '(total_loss=%s); %d skipped so far.', step, total_loss,
                   self.skipped_steps)
    if self._consecutive_skips >= self.max_consecutive_skips:
      raise FloatingPointError(
          f'{self._consecutive_skips} consecutive steps had a non-finite loss '
          f'or gradient at step {step} (max_consecutive_skips='
          f'{self.max_consecutive_skips}); the model or data produce NaN/Inf.')
    return losses


@gin.configurable
def get_trainer_class(trainer_class: type = Trainer) -> type:
  """The trainer class to build (a gin hook; defaults to Trainer).

  Args:
    trainer_class: The class.

  Returns:
    trainer_class.
  """
  return trainer_class
