"""A Keras GRU whose time loop is compiled with XLA, with a hand-written BPTT.

Keras's GRU on a CPU steps through time in a TensorFlow while loop that
runs about fifteen small ops per frame, and its gradient is the automatic
derivative of that loop. At DDSP's sizes (a 256-unit GRU over 200 frames)
the per-op overhead dominates: training spends more time in the GRU than in
the synthesizers. FastGRU keeps Keras's GRU (same weights, config and
checkpoints) and replaces only its inner loop:

* the input projection x @ kernel is one matmul over all frames;
* the recurrence is an XLA-compiled while loop;
* the gradient is backpropagation through time written out as a second
  XLA-compiled loop, with the weight gradients summed in one matmul after it.

Forward and gradients match Keras's GRU to float32 rounding. Anything the
fast loop does not cover (masks, dropout while training, unroll, GPUs, where
Keras uses cuDNN, and non-default activations or dtypes) falls back to
Keras's own loop.
"""

from typing import Any, List, Tuple

import keras
import tensorflow as tf


def _gates(x_projection: tf.Tensor, state: tf.Tensor,
           recurrent_kernel: tf.Tensor, recurrent_bias: tf.Tensor
           ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
  """One frame's gates (Keras's reset_after GRU, gate order z, r, h).

  Args:
    x_projection: x_t @ kernel + input bias, [batch, 3 * units].
    state: h_{t-1}, [batch, units].
    recurrent_kernel: [units, 3 * units].
    recurrent_bias: [3 * units].

  Returns:
    (update gate z, reset gate r, candidate c, recurrent part of the
    candidate's pre-activation h_{t-1} @ U_h + b_h), each [batch, units].
  """
  x_z, x_r, x_h = tf.split(x_projection, 3, axis=-1)
  recurrent = tf.matmul(state, recurrent_kernel) + recurrent_bias
  h_z, h_r, h_h = tf.split(recurrent, 3, axis=-1)
  update = tf.sigmoid(x_z + h_z)
  reset = tf.sigmoid(x_r + h_r)
  candidate = tf.tanh(x_h + reset * h_h)
  return update, reset, candidate, h_h


@tf.function(jit_compile=True, reduce_retracing=True)
def _forward(x_projection: tf.Tensor, recurrent_kernel: tf.Tensor,
             recurrent_bias: tf.Tensor, initial_state: tf.Tensor
             ) -> tf.Tensor:
  """Runs the recurrence; returns every state, [n_frames, batch, units].

  Args:
    x_projection: Time-major input projections, [n_frames, batch, 3 * units].
    recurrent_kernel: [units, 3 * units].
    recurrent_bias: [3 * units].
    initial_state: [batch, units].
  """
  n_frames = tf.shape(x_projection)[0]

  def step(t, state, states):
    update, _, candidate, _ = _gates(x_projection[t], state,
                                     recurrent_kernel, recurrent_bias)
    state = update * state + (1.0 - update) * candidate
    return t + 1, state, states.write(t, state)

  states = tf.TensorArray(tf.float32, size=n_frames,
                          element_shape=initial_state.shape)
  _, _, states = tf.while_loop(lambda t, *_: t < n_frames, step,
                               (0, initial_state, states))
  return states.stack()


@tf.function(jit_compile=True, reduce_retracing=True)
def _backward(x_projection: tf.Tensor, recurrent_kernel: tf.Tensor,
              recurrent_bias: tf.Tensor, initial_state: tf.Tensor,
              states: tf.Tensor, states_grad: tf.Tensor
              ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
  """Backpropagation through time of _forward.

  Recomputes each frame's gates from the stored states, so the forward
  pass keeps only the states.

  Args:
    x_projection: As in _forward, [n_frames, batch, 3 * units].
    recurrent_kernel: [units, 3 * units].
    recurrent_bias: [3 * units].
    initial_state: [batch, units].
    states: _forward's output, [n_frames, batch, units].
    states_grad: Gradient of the loss with respect to states.

  Returns:
    Gradients with respect to x_projection, recurrent_kernel,
    recurrent_bias and initial_state.
  """
  n_frames = tf.shape(x_projection)[0]
  previous_states = tf.concat([initial_state[None], states[:-1]], axis=0)

  def step(t, state_grad, projection_grads, recurrent_grads):
    previous = previous_states[t]
    update, reset, candidate, h_h = _gates(
        x_projection[t], previous, recurrent_kernel, recurrent_bias)
    state_grad += states_grad[t]
    candidate_grad = state_grad * (1.0 - update) * (1.0 - candidate**2)
    update_grad = state_grad * (previous - candidate) * update * (1.0 - update)
    reset_grad = candidate_grad * h_h * reset * (1.0 - reset)
    projection_grad = tf.concat([update_grad, reset_grad, candidate_grad], -1)
    recurrent_grad = tf.concat(
        [update_grad, reset_grad, candidate_grad * reset], -1)
    previous_grad = (state_grad * update +
                     tf.matmul(recurrent_grad, recurrent_kernel,
                               transpose_b=True))
    # The loop keeps the initial state's static shape (a known batch, say)
    # even when the incoming gradients' batch is unknown.
    previous_grad.set_shape(initial_state.shape)
    return (t - 1, previous_grad, projection_grads.write(t, projection_grad),
            recurrent_grads.write(t, recurrent_grad))

  projection_grads = tf.TensorArray(tf.float32, size=n_frames)
  recurrent_grads = tf.TensorArray(tf.float32, size=n_frames)
  _, initial_state_grad, projection_grads, recurrent_grads = tf.while_loop(
      lambda t, *_: t >= 0, step,
      (n_frames - 1, tf.zeros_like(initial_state), projection_grads,
       recurrent_grads))
  recurrent_grads = recurrent_grads.stack()
  kernel_grad = tf.einsum('tbu,tbj->uj', previous_states, recurrent_grads)
  bias_grad = tf.reduce_sum(recurrent_grads, axis=[0, 1])
  return (projection_grads.stack(), kernel_grad, bias_grad,
          initial_state_grad)


@tf.custom_gradient
def _recurrence(x_projection: tf.Tensor, recurrent_kernel: tf.Tensor,
                recurrent_bias: tf.Tensor, initial_state: tf.Tensor):
  """_forward with _backward as its gradient."""
  states = _forward(x_projection, recurrent_kernel, recurrent_bias,
                    initial_state)
  # The gradient reads the states through a stop_gradient: a persistent
  # GradientTape (built for higher-order gradients) also differentiates what
  # the gradient reads, and would otherwise differentiate the compiled loop
  # itself, which XLA cannot. Second-order gradients through the loop are
  # not supported (a tape recording the gradient computation, i.e. nested
  # tapes, still fails).
  saved_states = tf.stop_gradient(states)

  def gradient(states_grad):
    return _backward(x_projection, recurrent_kernel, recurrent_bias,
                     initial_state, saved_states, states_grad)

  return states, gradient


def gru_sequence(inputs: tf.Tensor, kernel: tf.Tensor,
                 recurrent_kernel: tf.Tensor, bias: tf.Tensor,
                 initial_state: tf.Tensor) -> tf.Tensor:
  """Runs a Keras-layout GRU (reset_after, tanh and sigmoid) over time.

  Args:
    inputs: [batch, n_frames, channels].
    kernel: [channels, 3 * units], gates in Keras's order z, r, h.
    recurrent_kernel: [units, 3 * units].
    bias: [2, 3 * units]: the input bias, then the recurrent bias.
    initial_state: [batch, units].

  Returns:
    Every frame's state, [batch, n_frames, units].
  """
  x_projection = tf.einsum('btc,cj->tbj', inputs, kernel) + bias[0]
  states = _recurrence(x_projection, recurrent_kernel, bias[1],
                       initial_state)
  units = recurrent_kernel.shape[0]
  return tf.ensure_shape(tf.transpose(states, [1, 0, 2]),
                         [inputs.shape[0], inputs.shape[1], units])


@keras.saving.register_keras_serializable(package='ddsp_tf')
class FastGRU(keras.layers.GRU):
  """keras.layers.GRU with an XLA-compiled loop and BPTT (see the module).

  Takes the same arguments, holds the same weights and gives the same
  outputs as keras.layers.GRU, so checkpoints and configs are
  interchangeable with it.
  """

  def _uses_fast_loop(self, mask: Any, training: bool) -> bool:
    cell = self.cell
    dropout = training and (cell.dropout or cell.recurrent_dropout)
    return (mask is None and not dropout and not self.unroll and
            cell.reset_after and cell.use_bias and
            cell.activation is keras.activations.tanh and
            cell.recurrent_activation is keras.activations.sigmoid and
            self.compute_dtype == 'float32' and
            not tf.config.list_logical_devices('GPU'))

  def inner_loop(self, sequences: tf.Tensor, initial_state: List[tf.Tensor],
                 mask: Any, training: bool = False
                 ) -> Tuple[tf.Tensor, tf.Tensor, List[tf.Tensor]]:
    """Keras's RNN.inner_loop: (last output, outputs, [final state])."""
    if not self._uses_fast_loop(mask, training):
      return super().inner_loop(sequences, initial_state, mask,
                                training=training)
    state = initial_state[0] if isinstance(initial_state,
                                           (list, tuple)) else initial_state
    if self.go_backwards:
      sequences = tf.reverse(sequences, axis=[1])
    outputs = gru_sequence(
        sequences, tf.convert_to_tensor(self.cell.kernel),
        tf.convert_to_tensor(self.cell.recurrent_kernel),
        tf.convert_to_tensor(self.cell.bias), state)
    last_output = outputs[:, -1]
    return last_output, outputs, [last_output]
