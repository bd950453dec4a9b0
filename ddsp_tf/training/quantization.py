"""Discrete choices with straight-through gradients, and vector quantization.

A straight-through estimator uses a discrete value (a sample, a rounded
number, a codebook vector) in the forward pass and the gradient of a
continuous stand-in in the backward pass: out = soft + stop_gradient(hard -
soft) equals hard and differentiates like soft.

- `straight_through_softmax`: a one-hot sample of softmax(logits), with the
  gradient of the sampled category's probability.
- `straight_through_choice`: picks one of `values` by such a sample.
- `straight_through_int_quantization`: rounds, with an identity gradient.
- `VectorQuantization`: snaps vectors to the nearest of k centroids, which
  follow exponential moving averages of the vectors assigned to them
  (VQ-VAE, https://arxiv.org/abs/1711.00937, with dead centroids restarted
  as in https://arxiv.org/abs/1906.00446), with an identity gradient and a
  commitment loss.

The public names are re-exported by, and documented as part of,
`ddsp_tf.training.nn`; the VectorQuantization gin name is
`ddsp_tf.training.nn.VectorQuantization`.
"""

from typing import Any, Dict, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import losses
from ddsp_tf import validation


def _straight_through(soft: tf.Tensor, hard: tf.Tensor) -> tf.Tensor:
  """`hard` in the forward pass, with the gradient of `soft`.

  Args:
    soft: The differentiable stand-in.
    hard: The value to output, same shape as soft.

  Returns:
    soft + stop_gradient(hard - soft).
  """
  return soft + tf.stop_gradient(hard - soft)


def straight_through_softmax(logits: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """A one-hot sample from softmax(logits), differentiable through its prob.

  The forward value is a one-hot vector drawn from the categorical
  distribution softmax(logits); its gradient is that of probs * sample
  (the sampled category's probability in its slot, zeros elsewhere).

  Args:
    logits: [..., n_categories].

  Returns:
    (sample, probs): the one-hot float32 sample and softmax(logits), both
    [..., n_categories].
  """
  logits = core.tf_float32(logits)
  if logits.shape.rank == 0:
    raise ValueError('logits must have a category axis [..., n_categories], '
                     f'got a scalar {logits!r}.')
  probs = tf.nn.softmax(logits)
  n_categories = tf.shape(logits)[-1]
  flat_logits = tf.reshape(logits, [-1, n_categories])
  index = tf.random.categorical(flat_logits, 1)[:, 0]
  sample = tf.reshape(tf.one_hot(index, n_categories), tf.shape(probs))
  p_sample = probs * sample
  return _straight_through(p_sample, sample), probs


def straight_through_choice(logits: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
  """One of `values`, picked by a straight_through_softmax sample of logits.

  Args:
    logits: [..., n_choices].
    values: The candidate values, broadcastable to logits' shape.

  Returns:
    The chosen value, [..., 1].
  """
  choice, _ = straight_through_softmax(logits)
  return tf.reduce_sum(choice * core.tf_float32(values), axis=-1,
                       keepdims=True)


def straight_through_int_quantization(x: tf.Tensor) -> tf.Tensor:
  """Rounds to the nearest integer, with the gradient of the identity.

  Values are rounded as they are (no rescaling): [-1, 1] gives -1, 0 or 1.
  Halves round to even, as tf.math.round does.

  Args:
    x: Tensor to quantize.

  Returns:
    round(x), same shape, whose gradient with respect to x is 1.
  """
  x = tf.convert_to_tensor(x)
  return _straight_through(x, tf.math.round(x))


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.training.nn')
class VectorQuantization(keras.layers.Layer):
  """Nearest-centroid quantization with EMA centroids (VQ-VAE).

  The last axis of x (depth) is cut into num_heads segments, each
  quantized separately against one shared codebook of k centroids of
  depth / num_heads. A centroid is sums / counts, the exponential moving
  averages (decay gamma) of the vectors assigned to it and of their number;
  both start at zero (all centroids zero). With training=True the layer
  updates them from the batch, and first restarts every centroid whose
  count is at most restart_threshold * n / k (n: vectors in the batch;
  with the default threshold 0, those never used) with a random vector of
  the batch, or uniform noise when the batch has too few vectors.

  The quantized output has the gradient of the identity (straight-through).
  The commitment loss, which pulls the encoder's vectors towards their
  centroids, is not added to the layer's losses: get it from
  `get_losses_dict(z, z_q)` as the original does.

  Input shape:
    x [..., depth], depth a multiple of num_heads.

  Output shape:
    (z_q [..., depth], float; codes [..., num_heads], int64).
  """

  def __init__(self, k: int, gamma: float = 0.99,
               restart_threshold: float = 0.0, num_heads: int = 1,
               commitment_loss_weight: float = 0.2, **kwargs):
    """Sets the codebook.

    Args:
      k: Number of centroids.
      gamma: EMA decay of the centroid statistics, in [0, 1].
      restart_threshold: Restart centroids with counts * k at most this
        times the number of vectors in the batch.
      num_heads: Segments of each vector quantized separately.
      commitment_loss_weight: Weight of the commitment loss.
      **kwargs: Keras layer arguments.
    """
    super().__init__(**kwargs)
    self.k = validation.check_int('k', k)
    self.gamma = validation.check_number('gamma', gamma)
    if self.gamma > 1.0:
      raise ValueError(f'gamma must be in [0, 1], got gamma={gamma!r}.')
    self.restart_threshold = validation.check_number('restart_threshold',
                                                     restart_threshold)
    self.num_heads = validation.check_int('num_heads', num_heads)
    self.commitment_loss_weight = validation.check_number(
        'commitment_loss_weight', commitment_loss_weight)

  def build(self, input_shape) -> None:
    """Creates the EMA statistics for x's depth."""
    depth = input_shape[-1]
    if depth is None or depth % self.num_heads:
      raise ValueError(f'{self.name}: the input depth must be a static '
                       f'multiple of num_heads={self.num_heads}, got input '
                       f'shape {list(input_shape)}.')
    self.depth = int(depth)
    self.head_depth = self.depth // self.num_heads
    self.counts = self.add_weight(
        name='counts', shape=[self.k], initializer='zeros', trainable=False,
        aggregation='mean')
    self.sums = self.add_weight(
        name='sums', shape=[self.k, self.head_depth], initializer='zeros',
        trainable=False, aggregation='mean')
    self.built = True

  def _centroids(self) -> tf.Tensor:
    """sums / counts, zero for empty centroids, [k, head_depth]."""
    counts = tf.convert_to_tensor(self.counts)
    return tf.math.divide_no_nan(tf.convert_to_tensor(self.sums),
                                 counts[:, tf.newaxis])

  def _split_heads(self, x: tf.Tensor) -> tf.Tensor:
    """[..., depth] -> [num_heads * n, head_depth], head-major."""
    x_flat = tf.reshape(x, [-1, self.depth])
    return tf.concat(tf.split(x_flat, self.num_heads, axis=1), axis=0)

  def _restarted_centroids(self, x_flat: tf.Tensor) -> tf.Tensor:
    """Centroids with the rarely used ones replaced (see the class doc)."""
    n = tf.cast(tf.shape(x_flat)[0], tf.float32)
    keep = self.counts * float(self.k) > self.restart_threshold * n
    restart_index = tf.where(tf.logical_not(keep))[:, 0]
    n_replace = tf.minimum(tf.shape(restart_index)[0], tf.shape(x_flat)[0])
    restarted = tf.tensor_scatter_nd_update(
        tf.random.uniform([self.k, self.head_depth]),
        restart_index[:n_replace, tf.newaxis],
        tf.random.shuffle(x_flat)[:n_replace])
    return tf.where(keep[:, tf.newaxis], self._centroids(), restarted)

  def call(self, x: tf.Tensor,
           training: bool = False) -> Tuple[tf.Tensor, tf.Tensor]:
    """Quantizes x (and with training=True, updates the centroids).

    Args:
      x: [..., depth] float vectors.
      training: Restart unused centroids and update the EMA statistics.

    Returns:
      (z_q, codes): x snapped to its centroids per head, [..., depth], with
      the gradient of the identity; the centroid indices, int64
      [..., num_heads].
    """
    x = tf.convert_to_tensor(x)
    x_flat = self._split_heads(x)
    centroids = (self._restarted_centroids(x_flat) if training
                 else self._centroids())
    distances = (
        tf.reduce_sum(x_flat**2, axis=1, keepdims=True)
        - 2.0 * tf.matmul(x_flat, centroids, transpose_b=True)
        + tf.reduce_sum(centroids**2, axis=1)[tf.newaxis, :])
    codes = tf.argmin(distances, axis=1)
    z_q = tf.concat(tf.split(tf.gather(centroids, codes), self.num_heads,
                             axis=0), axis=1)
    z_q = _straight_through(x, tf.reshape(z_q, tf.shape(x)))

    if training:
      one_hot = tf.one_hot(codes, self.k)
      batch_counts = tf.reduce_sum(one_hot, axis=0)
      batch_sums = tf.matmul(one_hot, x_flat, transpose_a=True)
      decay = 1.0 - self.gamma
      self.counts.assign_sub(decay * (self.counts - batch_counts))
      self.sums.assign_sub(decay * (self.sums - batch_sums))

    codes = tf.stack(tf.split(codes, self.num_heads, axis=0), axis=1)
    codes = tf.reshape(
        codes, tf.concat([tf.shape(x)[:-1], [self.num_heads]], axis=0))
    return z_q, codes

  def unquantize(self, c: tf.Tensor) -> tf.Tensor:
    """The centroid vectors of codes.

    Args:
      c: Integer codes [..., num_heads], as returned by call.

    Returns:
      [..., depth]: the centroids of each head, concatenated.
    """
    z = tf.gather(self._centroids(), c)
    return tf.reshape(z, tf.concat([tf.shape(c)[:-1], [self.depth]], axis=0))

  def committment_loss(self, z: tf.Tensor, z_q: tf.Tensor) -> tf.Tensor:
    """Weighted mean squared distance of z to its (fixed) quantization z_q.

    The spelling is the original's. Only z receives a gradient.

    Args:
      z: Vectors before quantization.
      z_q: Their quantization, same shape.

    Returns:
      commitment_loss_weight * mean((z - z_q)**2), a scalar.
    """
    loss = losses.mean_difference(z, tf.stop_gradient(z_q), loss_type='L2')
    return self.commitment_loss_weight * loss

  def get_losses_dict(self, z: tf.Tensor, z_q: tf.Tensor) -> Dict[Text, Any]:
    """{'<layer name>_commitment_loss': committment_loss(z, z_q)}."""
    return {self.name + '_commitment_loss': self.committment_loss(z, z_q)}

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(k=self.k, gamma=self.gamma,
                  restart_threshold=self.restart_threshold,
                  num_heads=self.num_heads,
                  commitment_loss_weight=self.commitment_loss_weight)
    return config
