"""FastGRU against keras.layers.GRU with the same weights."""

from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import fast_gru
from ddsp_tf.training import nn

BATCH, FRAMES, CHANNELS, UNITS = 3, 17, 5, 8


def _share_random_weights(first, second, seed=0):
  """Gives two built layers the same random (non-trivial) weights."""
  rng = np.random.default_rng(seed)
  weights = [rng.normal(scale=0.5, size=w.shape).astype(np.float32)
             for w in first.get_weights()]
  first.set_weights(weights)
  second.set_weights(weights)


def _pair(**kwargs):
  """A Keras GRU and a FastGRU with identical weights."""
  reference = keras.layers.GRU(UNITS, **kwargs)
  fast = fast_gru.FastGRU(UNITS, **kwargs)
  inputs = tf.zeros([BATCH, FRAMES, CHANNELS])
  reference(inputs)
  fast(inputs)
  _share_random_weights(reference, fast)
  return reference, fast


def _inputs(seed=1):
  rng = np.random.default_rng(seed)
  return tf.constant(rng.normal(size=(BATCH, FRAMES, CHANNELS)), tf.float32)


def _spy():
  return mock.patch.object(fast_gru, 'gru_sequence',
                           wraps=fast_gru.gru_sequence)


def _loss_and_gradients(layer, inputs, initial_state=None):
  """A loss that weights every output differently, and its gradients."""
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    watched = [inputs]
    if initial_state is not None:
      tape.watch(initial_state)
      watched.append(initial_state)
      outputs = layer(inputs, initial_state=[initial_state])
    else:
      outputs = layer(inputs)
    flat = tf.concat([tf.reshape(o, [-1]) for o in tf.nest.flatten(outputs)],
                     axis=0)
    weights = tf.sin(tf.range(tf.size(flat), dtype=tf.float32))
    loss = tf.reduce_sum(flat * weights)
  return outputs, tape.gradient(loss, watched + layer.trainable_variables)


@pytest.mark.parametrize('kwargs', [
    {'return_sequences': True},
    {'return_sequences': False},
    {'return_sequences': True, 'go_backwards': True, 'return_state': True},
])
def test_outputs_and_gradients_match_keras(kwargs):
  reference, fast = _pair(**kwargs)
  inputs = _inputs()
  initial_state = (tf.constant(np.random.default_rng(2).normal(
      size=(BATCH, UNITS)), tf.float32) if kwargs.get('return_state')
                   else None)
  expected, expected_grads = _loss_and_gradients(reference, inputs,
                                                 initial_state)
  with _spy() as spy:
    got, got_grads = tf.function(_loss_and_gradients)(fast, inputs,
                                                       initial_state)
  assert spy.called  # The fast loop ran, not Keras's fallback.
  for e, g in zip(tf.nest.flatten(expected), tf.nest.flatten(got)):
    np.testing.assert_allclose(g, e, atol=1e-5)
  for e, g in zip(expected_grads, got_grads):
    np.testing.assert_allclose(g, e, atol=1e-4 * float(np.max(np.abs(e))))


def test_eager_call_matches_keras():
  reference, fast = _pair(return_sequences=True)
  inputs = _inputs()
  np.testing.assert_allclose(fast(inputs), reference(inputs), atol=1e-5)


@pytest.mark.parametrize('kwargs, call_kwargs', [
    ({'return_sequences': True, 'unroll': True}, {}),
    ({'return_sequences': True}, {'mask': 'mask'}),
    ({'return_sequences': True, 'dropout': 0.5}, {'training': True}),
])
def test_unsupported_settings_fall_back_to_keras(kwargs, call_kwargs):
  reference, fast = _pair(**kwargs)
  inputs = _inputs()
  if call_kwargs.get('mask'):
    call_kwargs = {'mask': tf.sequence_mask([FRAMES, 9, 4], FRAMES)}
  with _spy() as spy:
    got = fast(inputs, **call_kwargs)
  assert not spy.called
  if not call_kwargs.get('training'):
    np.testing.assert_allclose(got, reference(inputs, **call_kwargs),
                               atol=1e-5)


def test_bidirectional_rnn_matches_keras():
  layer = nn.Rnn(UNITS, 'gru', bidir=True)
  inputs = _inputs()
  with _spy() as spy:  # The first call traces Rnn's graph.
    layer(inputs)
  assert spy.call_count >= 2  # Both directions (traced more than once).
  reference = keras.layers.Bidirectional(
      keras.layers.GRU(UNITS, return_sequences=True))
  reference(inputs)
  _share_random_weights(reference, layer, seed=3)
  np.testing.assert_allclose(layer(inputs), reference(inputs), atol=1e-5)


def test_config_round_trip_and_keras_weight_layout():
  reference, fast = _pair(return_sequences=True)
  assert ([(w.name, tuple(w.shape)) for w in fast.weights] ==
          [(w.name, tuple(w.shape)) for w in reference.weights])
  restored = fast_gru.FastGRU.from_config(fast.get_config())
  restored(_inputs())
  restored.set_weights(fast.get_weights())
  np.testing.assert_allclose(restored(_inputs()), fast(_inputs()), atol=1e-6)


def test_persistent_tape_gets_keras_gradients():
  """A persistent tape (which also differentiates what the gradient reads)
  gives Keras's gradients, through nn.Rnn (traced) as in the models."""
  reference = keras.layers.GRU(UNITS, return_sequences=True)
  rnn = nn.Rnn(UNITS, 'gru')
  inputs = _inputs()
  reference(inputs)
  rnn(inputs)
  _share_random_weights(reference, rnn.rnn)
  weights = tf.sin(tf.range(BATCH * FRAMES * UNITS, dtype=tf.float32))

  def loss(layer):
    return tf.reduce_sum(tf.reshape(layer(inputs), [-1]) * weights)

  with tf.GradientTape() as tape:
    value = loss(reference)
  expected = tape.gradient(value, reference.trainable_variables)
  with tf.GradientTape(persistent=True) as tape:
    value = loss(rnn)
  for _ in range(2):
    got = tape.gradient(value, rnn.trainable_variables)
    for g, e in zip(got, expected):
      np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)
