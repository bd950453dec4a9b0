"""Tests for the ResNet, quantization, note-mask and other nn building blocks.

References: numpy re-implementations of the documented semantics, analytic
gradients, numpy.linalg.svd, and shapes and parameter counts measured by
running magenta/ddsp v3.7.0's own layers.
"""

import copy

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import nn


def _softmax(x):
  e = np.exp(x - x.max(axis=-1, keepdims=True))
  return e / e.sum(axis=-1, keepdims=True)


# ----------------------------------------------------------------------------
# Note masks: numpy references of the region rules.
# ----------------------------------------------------------------------------
def _np_regions_from_changes(values):
  """Region index per frame: a new region where the value changes, except
  that a change on the very last frame does not start one."""
  regions = np.zeros(len(values), dtype=int)
  for t in range(1, len(values)):
    starts = values[t] != values[t - 1] and t < len(values) - 1
    regions[t] = regions[t - 1] + int(starts)
  return regions


def _np_one_hot(regions, max_regions):
  mask = np.zeros((len(regions), max_regions), np.float32)
  for t, r in enumerate(regions):
    if r < max_regions:
      mask[t, r] = 1.0
  return mask


def _np_note_mask(q_pitch, max_regions, note_on_only):
  masks = []
  for values in q_pitch:
    mask = _np_one_hot(_np_regions_from_changes(values), max_regions)
    if note_on_only:
      for r in range(max_regions):
        frames = mask[:, r] > 0
        if frames.any() and values[frames].mean() <= 0:
          mask[:, r] = 0.0
    masks.append(mask)
  return np.stack(masks)


_PITCHES = np.array([[0, 60, 60, 62, 62, 62, 0, 0, 64, 64, 65, 65],
                     [50, 50, 50, 50, 0, 0, 0, 52, 52, 0, 0, 70]], np.float32)


@pytest.mark.parametrize('note_on_only', [True, False])
def test_get_note_mask_matches_numpy(note_on_only):
  for max_regions in (3, 10):
    expected = _np_note_mask(_PITCHES, max_regions, note_on_only)
    got = nn.get_note_mask(_PITCHES, max_regions=max_regions,
                           note_on_only=note_on_only)
    np.testing.assert_array_equal(got, expected)
    # [batch, n_frames, 1] works the same.
    np.testing.assert_array_equal(
        nn.get_note_mask(_PITCHES[..., None], max_regions, note_on_only),
        expected)


def test_get_note_mask_hand_made_case_as_the_original():
  # Measured with magenta/ddsp: the change on the last frame (0 -> 3) does
  # not start a region, so frames 5-7 (mean pitch 1) are one sounding note.
  mask = nn.get_note_mask(tf.constant([[0., 1, 1, 2, 2, 0, 0, 3]]),
                          max_regions=6)
  expected = np.zeros((8, 6), np.float32)
  expected[1:3, 1] = expected[3:5, 2] = expected[5:8, 3] = 1.0
  np.testing.assert_array_equal(mask[0], expected)


def test_get_note_mask_from_onset_matches_numpy():
  onsets = np.zeros_like(_PITCHES)
  onsets[0, [0, 1, 3, 5, 8, 10]] = 1.0
  onsets[1, [2, 7, 11]] = 1.0
  for note_on_only in (True, False):
    expected = []
    for values, onset in zip(_PITCHES, onsets):
      regions = np.cumsum(np.concatenate([[1], onset[1:]])) - 1
      mask = _np_one_hot(regions.astype(int), 8)
      if note_on_only:
        mask *= (values > 0)[:, None]
      expected.append(mask)
    got = nn.get_note_mask_from_onset(_PITCHES, onsets[..., None],
                                      max_regions=8,
                                      note_on_only=note_on_only)
    np.testing.assert_array_equal(got, np.stack(expected))


def test_note_lengths_moments_pooling_and_short_notes_match_numpy():
  rng = np.random.default_rng(0)
  mask = nn.get_note_mask(_PITCHES, max_regions=7, note_on_only=False).numpy()
  x = rng.normal(size=(2, 12, 3)).astype(np.float32)
  lengths = mask.sum(axis=1)
  np.testing.assert_array_equal(nn.get_note_lengths(mask), lengths)

  mean = np.zeros((2, 7, 3), np.float32)
  std = np.zeros((2, 7, 3), np.float32)
  for b in range(2):
    for n in range(7):
      frames = mask[b, :, n] > 0
      if frames.any():
        mean[b, n] = x[b, frames].mean(axis=0)
        std[b, n] = x[b, frames].std(axis=0)
  got_mean, got_std = nn.get_note_moments(x, mask)
  np.testing.assert_allclose(got_mean, mean, atol=1e-5)
  np.testing.assert_allclose(got_std, std, atol=1e-5)
  np.testing.assert_allclose(nn.get_note_moments(x, mask, return_std=False),
                             mean, atol=1e-5)
  # 2-D values give [batch, notes].
  mean_2d, std_2d = nn.get_note_moments(x[..., 0], mask)
  np.testing.assert_allclose(mean_2d, mean[..., 0], atol=1e-5)
  np.testing.assert_allclose(std_2d, std[..., 0], atol=1e-5)

  pooled_mean, pooled_std = nn.pool_over_notes(x, mask)
  np.testing.assert_allclose(pooled_mean, np.einsum('btn,bnd->btd', mask,
                                                    mean), atol=1e-5)
  np.testing.assert_allclose(pooled_std, np.einsum('btn,bnd->btd', mask, std),
                             atol=1e-5)
  assert nn.pool_over_notes(x, mask, return_std=False).shape == (2, 12, 3)

  pitches = nn.get_note_moments(_PITCHES, mask, return_std=False).numpy()
  short = ((lengths < 3) & (pitches > 0)).astype(np.float32)
  np.testing.assert_array_equal(
      nn.get_short_note_loss_mask(mask, lengths, pitches, min_length=3),
      (mask * short[:, None, :]).sum(-1))


def test_note_std_gradient_is_finite_on_constant_notes():
  x = tf.constant(np.repeat(_PITCHES[..., None], 2, axis=-1))
  mask = nn.get_note_mask(_PITCHES, max_regions=8)
  with tf.GradientTape() as tape:
    tape.watch(x)
    _, std = nn.get_note_moments(x, mask)
    loss = tf.reduce_sum(std)
  grad = tape.gradient(loss, x)
  assert np.all(np.isfinite(grad))


# ----------------------------------------------------------------------------
# Straight-through estimators.
# ----------------------------------------------------------------------------
def test_straight_through_int_quantization_rounds_with_identity_gradient():
  x = tf.constant([-1.7, -0.4, 0.2, 0.5, 1.5, 2.49, 3.6])
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = nn.straight_through_int_quantization(x)
    loss = tf.reduce_sum(y * tf.range(7, dtype=tf.float32))
  np.testing.assert_array_equal(y, np.round(x.numpy()))
  np.testing.assert_array_equal(tape.gradient(loss, x), np.arange(7))


def test_straight_through_softmax_is_one_hot_with_the_soft_gradient():
  logits = tf.constant(np.random.default_rng(1).normal(size=(5, 4)),
                       tf.float32)
  weights = tf.constant(np.random.default_rng(2).normal(size=(5, 4)),
                        tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(logits)
    sample, probs = nn.straight_through_softmax(logits)
    loss = tf.reduce_sum(weights * sample)
  grad = tape.gradient(loss, logits).numpy()
  sample, probs = sample.numpy(), probs.numpy()
  np.testing.assert_allclose(probs, _softmax(logits.numpy()), rtol=1e-5)
  np.testing.assert_array_equal(sample.sum(-1), np.ones(5))
  assert set(np.unique(sample)) <= {0.0, 1.0}
  # Gradient of the soft path w_j * p_j (j: the sampled category):
  # d/dlogit_i = w_j p_j (delta_ij - p_i).
  j = sample.argmax(-1)
  w_j = weights.numpy()[np.arange(5), j]
  p_j = probs[np.arange(5), j]
  expected = (w_j * p_j)[:, None] * (sample - probs)
  np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_straight_through_softmax_samples_follow_the_probabilities():
  tf.random.set_seed(3)
  logits = tf.tile(tf.math.log([[0.1, 0.2, 0.7]]), [6000, 1])
  sample, _ = nn.straight_through_softmax(logits)
  np.testing.assert_allclose(sample.numpy().mean(0), [0.1, 0.2, 0.7],
                             atol=0.025)
  # Higher-rank logits keep their shape.
  assert nn.straight_through_softmax(tf.zeros([2, 3, 5]))[0].shape == (2, 3, 5)


def test_straight_through_choice_picks_a_value():
  values = tf.constant([1.0, 2.0, 3.0, 4.0])
  logits = tf.constant([[30.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 30.0]])
  with tf.GradientTape() as tape:
    tape.watch(values)
    choice = nn.straight_through_choice(logits, values)
  np.testing.assert_allclose(choice, [[1.0], [4.0]])
  np.testing.assert_allclose(tape.gradient(choice, values), [1, 0, 0, 1],
                             atol=1e-6)


# ----------------------------------------------------------------------------
# ResNet. Shapes and parameter counts measured on magenta/ddsp's layers.
# ----------------------------------------------------------------------------
def _n_params(layer):
  return sum(int(np.prod(v.shape)) for v in layer.trainable_variables)


@pytest.mark.parametrize('size, channels, n_params, n_variables', [
    ('small', 1024, 5256320, 158),
    ('medium', 1024, 5906752, 206),
    ('large', 2048, 23522688, 206),
])
def test_resnet_sizes_shapes_and_parameters_as_the_original(
    size, channels, n_params, n_variables):
  resnet = nn.ResNet(size=size)
  assert resnet(tf.zeros([1, 2, 64, 1])).shape == (1, 2, 2, channels)
  assert _n_params(resnet) == n_params
  assert len(resnet.trainable_variables) == n_variables


def test_resnet_frequency_reduction_conditioning_and_errors():
  resnet = nn.ResNet(size='small', norm_type='instance')
  assert resnet(tf.zeros([1, 2, 229, 1])).shape == (1, 2, 8, 1024)
  x = tf.random.normal([2, 3, 20, 1], seed=1)
  conditional = nn.ResNet(size='small', conditional=True, shift_only=True)
  z = tf.random.normal([2, 3, 7], seed=2)
  y = conditional([x, z])
  assert y.shape == (2, 3, 1, 1024)
  assert not np.allclose(conditional([x, z + 1.0]), y)
  with pytest.raises(ValueError, match="size must be one of"):
    nn.ResNet(size='huge')
  with pytest.raises(ValueError, match='rank 4'):
    resnet(tf.zeros([2, 3, 1]))
  with pytest.raises(ValueError, match=r'takes \[x, z\]'):
    conditional(x)


def test_resnet_parts_shapes_as_the_original():
  x = tf.random.normal([2, 4, 10, 3], seed=3)
  assert nn.NormReluConv(8, 3, 2, 'layer')(x).shape == (2, 4, 5, 8)
  assert nn.ResidualLayer(8, 2, True, 'layer', False, False)(x).shape == (
      2, 4, 5, 32)
  assert nn.ResidualLayer(8, 1, True, 'layer', False, False)(
      x[:, :, 0, :]).shape == (2, 4, 1, 32)
  x32 = tf.random.normal([2, 4, 10, 32], seed=4)
  assert nn.ResidualLayer(8, 1, False, 'layer', False, False)(x32).shape == (
      2, 4, 10, 32)
  assert nn.ResidualStack([4, 8], [2, 1], [1, 2], 'layer')(x).shape == (
      2, 4, 5, 32)
  with pytest.raises(ValueError, match='4 \\* ch = 32 channels'):
    nn.ResidualLayer(8, 1, False, 'layer', False, False)(x)
  with pytest.raises(ValueError, match='one entry per group'):
    nn.ResidualStack([4, 8], [2], [1, 2], 'layer')


def test_residual_layer_without_shortcut_adds_its_input():
  """With zero weights in the last conv, the block is the identity."""
  x = tf.random.normal([1, 3, 6, 16], seed=5)
  layer = nn.ResidualLayer(4, 1, False, 'instance', False, False)
  layer(x)
  last_conv = layer.bottleneck[-1].conv
  last_conv.kernel.assign(tf.zeros_like(last_conv.kernel))
  last_conv.bias.assign(tf.zeros_like(last_conv.bias))
  np.testing.assert_allclose(layer(x), x, atol=1e-6)


# ----------------------------------------------------------------------------
# Conditioning, embeddings, GRU.
# ----------------------------------------------------------------------------
def test_conditional_scale_and_shift_is_film():
  x = tf.random.normal([2, 5, 1, 3], seed=6)
  z = tf.random.normal([2, 1, 1, 4], seed=7)
  film = nn.ConditionalScaleAndShift()
  y = film([x, z]).numpy()
  kernel, bias = (w.numpy() for w in film.dense.weights)
  params = z.numpy() @ kernel + bias
  np.testing.assert_allclose(
      y, x.numpy() * params[..., :3] + params[..., 3:], atol=1e-5)

  shift = nn.ConditionalScaleAndShift(shift_only=True)
  y = shift([x, z]).numpy()
  kernel, bias = (w.numpy() for w in shift.dense.weights)
  assert kernel.shape == (4, 3)
  np.testing.assert_allclose(y, x.numpy() + z.numpy() @ kernel + bias,
                             atol=1e-5)

  norm = nn.ConditionalNorm(norm_type='instance')
  y = norm([x, z[:, 0, 0, :]]).numpy()
  film = norm.conditional_scale_and_shift
  kernel, bias = (w.numpy() for w in film.dense.weights)
  params = z.numpy() @ kernel + bias
  x_norm = nn.normalize_op(x, 'instance').numpy()
  np.testing.assert_allclose(
      y, x_norm * params[..., :3] + params[..., 3:], atol=1e-5)


def test_get_embedding_looks_up_rows():
  embedding = nn.get_embedding(vocab_size=10, n_dims=6)
  ids = tf.constant([[1], [7]])
  y = embedding(ids)
  assert y.shape == (2, 1, 6)
  np.testing.assert_array_equal(y[:, 0], embedding.embeddings.numpy()[[1, 7]])
  with pytest.raises(ValueError, match='vocab_size'):
    nn.get_embedding(vocab_size=0)


def test_single_gru_is_gru_then_layer_norm():
  gru = nn.SingleGru(gru_dim=6)
  x = tf.random.normal([2, 5, 3], seed=8)
  y = gru(x).numpy()
  assert y.shape == (2, 5, 6)
  reference = keras.layers.GRU(6, return_sequences=True)
  reference(x)
  reference.set_weights(gru.gru.get_weights())
  h = reference(x).numpy()
  # LayerNormalization at initialisation (scale 1, shift 0, epsilon 1e-3).
  expected = (h - h.mean(-1, keepdims=True)) / np.sqrt(
      h.var(-1, keepdims=True) + 1e-3)
  np.testing.assert_allclose(y, expected, atol=1e-5)


# ----------------------------------------------------------------------------
# Spectral normalization.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('layer, x_shape', [
    (lambda: keras.layers.Dense(5), (2, 7)),
    (lambda: keras.layers.Conv2D(4, (3, 1)), (1, 6, 1, 2)),
])
def test_spectral_normalization_makes_the_top_singular_value_one(layer,
                                                                 x_shape):
  wrapped = nn.SpectralNormalization(layer(), power_iterations=2)
  x = tf.random.normal(x_shape, seed=9)
  wrapped(x)
  wrapped.w.assign(3.0 * wrapped.w)
  kernel = wrapped.w.numpy().copy()
  wrapped(x, training=False)
  np.testing.assert_array_equal(wrapped.w, kernel)  # Inference: untouched.
  for _ in range(20):
    y = wrapped(x, training=True)
  matrix = wrapped.w.numpy().reshape([-1, wrapped.w_shape[-1]])
  singular_values = np.linalg.svd(matrix, compute_uv=False)
  np.testing.assert_allclose(singular_values[0], 1.0, atol=1e-3)
  # The normalized kernel is the original one rescaled.
  direction = kernel / np.linalg.svd(kernel.reshape(matrix.shape),
                                     compute_uv=False)[0]
  np.testing.assert_allclose(wrapped.w, direction, atol=1e-3)
  assert y.shape == layer()(x).shape
  assert wrapped.u.shape == (1, wrapped.w_shape[-1])
  with pytest.raises(ValueError, match='power_iterations'):
    nn.SpectralNormalization(keras.layers.Dense(2), power_iterations=0)


# ----------------------------------------------------------------------------
# Vector quantization.
# ----------------------------------------------------------------------------
def _set_codebook(vq, codebook, counts):
  vq.counts.assign(counts)
  vq.sums.assign(codebook * counts[:, None])


def _np_nearest(x, codebook):
  distances = ((x[:, None, :] - codebook[None, :, :])**2).sum(-1)
  return distances.argmin(-1)


@pytest.mark.parametrize('num_heads', [1, 2])
def test_vector_quantization_picks_the_nearest_centroid(num_heads):
  rng = np.random.default_rng(10)
  depth, k = 4, 6
  head_depth = depth // num_heads
  codebook = rng.normal(size=(k, head_depth)).astype(np.float32)
  counts = rng.uniform(1.0, 5.0, size=k).astype(np.float32)
  x = rng.normal(size=(2, 5, depth)).astype(np.float32)
  vq = nn.VectorQuantization(k=k, num_heads=num_heads)
  vq.build(x.shape)
  _set_codebook(vq, codebook, counts)
  z_q, codes = vq(x)
  assert codes.shape == (2, 5, num_heads) and codes.dtype == tf.int64
  for head in range(num_heads):
    segment = x[..., head * head_depth:(head + 1) * head_depth]
    expected = _np_nearest(segment.reshape(-1, head_depth), codebook)
    np.testing.assert_array_equal(codes[..., head].numpy().ravel(), expected)
    np.testing.assert_allclose(
        z_q[..., head * head_depth:(head + 1) * head_depth].numpy().reshape(
            -1, head_depth), codebook[expected], atol=1e-6)
  np.testing.assert_allclose(vq.unquantize(codes), z_q, atol=1e-6)
  np.testing.assert_allclose(vq.counts, counts)  # Inference: no update.


def test_vector_quantization_gradient_is_straight_through():
  vq = nn.VectorQuantization(k=3)
  x = tf.random.normal([4, 2], seed=11)
  vq(x, training=True)
  weights = tf.random.normal([4, 2], seed=12)
  with tf.GradientTape() as tape:
    tape.watch(x)
    z_q, _ = vq(x)
    loss = tf.reduce_sum(weights * z_q)
  np.testing.assert_allclose(tape.gradient(loss, x), weights, atol=1e-6)


def test_vector_quantization_training_restarts_and_ema():
  rng = np.random.default_rng(13)
  gamma, k = 0.9, 3
  x = rng.normal(size=(8, 2)).astype(np.float32)
  vq = nn.VectorQuantization(k=k, gamma=gamma)
  # Empty statistics: every centroid restarts from a vector of the batch.
  z_q, codes = vq(x, training=True)
  z_q, codes = z_q.numpy(), codes.numpy()[:, 0]
  for row in z_q:
    assert np.any(np.all(np.isclose(row, x, atol=1e-6), axis=1))
  bincount = np.bincount(codes, minlength=k).astype(np.float32)
  sums = np.stack([x[codes == c].sum(0) for c in range(k)])
  np.testing.assert_allclose(vq.counts, (1 - gamma) * bincount, atol=1e-6)
  np.testing.assert_allclose(vq.sums, (1 - gamma) * sums, atol=1e-5)

  # Centroids with counts * k above restart_threshold * n are kept; the
  # update is an exponential moving average.
  codebook = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 3.0]], np.float32)
  counts = np.array([2.0, 2.0, 2.0], np.float32)
  _set_codebook(vq, codebook, counts)
  _, codes = vq(x, training=True)
  expected_codes = _np_nearest(x, codebook)
  np.testing.assert_array_equal(codes.numpy()[:, 0], expected_codes)
  one_hot = np.eye(k, dtype=np.float32)[expected_codes]
  np.testing.assert_allclose(
      vq.counts, counts - (1 - gamma) * (counts - one_hot.sum(0)), atol=1e-5)
  np.testing.assert_allclose(
      vq.sums, codebook * counts[:, None] - (1 - gamma) * (
          codebook * counts[:, None] - one_hot.T @ x), atol=1e-5)


def test_vector_quantization_commitment_loss_and_training():
  vq = nn.VectorQuantization(k=4, commitment_loss_weight=0.5, name='vq')
  encoder = keras.layers.Dense(3)
  x = tf.random.normal([6, 5], seed=14)
  vq(encoder(x), training=True)
  with tf.GradientTape() as tape:
    z = encoder(x)
    z_q, _ = vq(z, training=True)
    losses = vq.get_losses_dict(z, z_q)
    loss = losses['vq_commitment_loss'] + tf.reduce_mean((z_q - 1.0)**2)
  assert list(losses) == ['vq_commitment_loss']
  np.testing.assert_allclose(
      losses['vq_commitment_loss'],
      0.5 * np.mean((z.numpy() - z_q.numpy())**2), rtol=1e-5)
  grads = tape.gradient(loss, encoder.trainable_variables)
  assert all(np.all(np.isfinite(g)) and np.any(g != 0) for g in grads)
  # The commitment loss pulls only z: its gradient is 2 w (z - z_q) / n.
  z = tf.constant([[0.0, 1.0], [2.0, 2.0]])
  z_q = tf.constant([[1.0, 1.0], [2.0, 0.0]])
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([z, z_q])
    loss = vq.committment_loss(z, z_q)
  np.testing.assert_allclose(tape.gradient(loss, z),
                             2 * 0.5 * (z - z_q) / 4.0, atol=1e-6)
  assert tape.gradient(loss, z_q) is None
  with pytest.raises(ValueError, match='multiple of num_heads=2'):
    nn.VectorQuantization(k=2, num_heads=2)(tf.zeros([2, 3]))


# ----------------------------------------------------------------------------
# Saving, configs and gin.
# ----------------------------------------------------------------------------
def test_keras_file_round_trip_resnet_and_vector_quantization(tmp_path):
  x = tf.random.normal([2, 2, 8, 1], seed=15)
  resnet = nn.ResNet(size='small', norm_type='instance')
  dense = keras.layers.Dense(4)
  vq = nn.VectorQuantization(k=5, num_heads=2)
  inputs = keras.Input((2, 8, 1))
  model = keras.Model(inputs, vq(dense(resnet(inputs))))
  vq(dense(resnet(x)), training=True)  # Non-zero codebook statistics.
  expected = model(x)
  model.save(tmp_path / 'm.keras')
  loaded = keras.saving.load_model(tmp_path / 'm.keras')
  got = loaded(x)
  np.testing.assert_allclose(got[0], expected[0], atol=1e-5)
  np.testing.assert_array_equal(got[1], expected[1])
  np.testing.assert_allclose(loaded.layers[-1].counts, vq.counts)


def test_configs_round_trip():
  layers = [
      nn.NormReluConv(8, 3, 2, 'group'),
      nn.ResidualLayer(8, 2, True, 'layer', True, True),
      nn.ResidualStack([4], [2], [2], None, nonlinearity='tanh'),
      nn.ResNet(size='medium', norm_type='group', conditional=True),
      nn.ConditionalScaleAndShift(shift_only=True),
      nn.ConditionalNorm(norm_type='layer', shift_only=True),
      nn.SingleGru(gru_dim=7),
      nn.VectorQuantization(k=9, gamma=0.5, restart_threshold=0.1,
                            num_heads=3, commitment_loss_weight=0.3),
      nn.SpectralNormalization(keras.layers.Dense(3), power_iterations=4),
  ]
  for layer in layers:
    config = layer.get_config()
    clone = type(layer).from_config(copy.deepcopy(config))
    assert clone.get_config() == config, type(layer).__name__


@gin.configurable('test_nn_blocks_built_layer')
def _built_layer(layer=gin.REQUIRED):
  return layer


def test_gin_names_and_keras_layer_registration():
  nn.gin_register_keras_layers()
  nn.gin_register_keras_layers()  # Idempotent.
  gin.parse_config("""
      test_nn_blocks_built_layer.layer = @nn.ResNet()
      nn.ResNet.size = 'small'
      nn.ResNet.norm_type = 'instance'
  """)
  resnet = _built_layer()
  assert isinstance(resnet, nn.ResNet)
  assert (resnet.size, resnet.norm_type) == ('small', 'instance')
  gin.clear_config()
  gin.parse_config("""
      test_nn_blocks_built_layer.layer = @tf.keras.layers.Dense()
      tf.keras.layers.Dense.units = 3
  """)
  dense = _built_layer()
  assert isinstance(dense, keras.layers.Dense) and dense.units == 3
  gin.clear_config()
  for name in ('VectorQuantization', 'SingleGru', 'NormReluConv',
               'ResidualLayer', 'ResidualStack', 'Dense'):
    gin.parse_config(f'test_nn_blocks_built_layer.layer = @nn.{name}')
    assert _built_layer() is not None
    gin.clear_config()
