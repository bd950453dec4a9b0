"""The banded numpy Viterbi decoder against TFP's HMM of the same model."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import crepe


def _peaky_activations(rng, batch, n_frames):
  """Activations whose peaks wander, with occasional large jumps."""
  steps = rng.integers(-8, 9, size=(batch, n_frames))
  jumps = rng.integers(-60, 61, size=(batch, n_frames)) * (
      rng.random((batch, n_frames)) < 0.15)
  peaks = np.clip(180 + np.cumsum(steps, axis=1) + jumps, 0, 359)
  activations = rng.random((batch, n_frames, 360)).astype(np.float32) * 0.1
  np.put_along_axis(activations, peaks[..., np.newaxis], 1.0, axis=-1)
  return activations, peaks


def _path_log_prob(path, peaks):
  transition, emission = crepe._viterbi_matrices()  # pylint: disable=protected-access
  return (np.log(1 / 360) + np.log(emission[path, peaks]).sum() +
          np.log(transition[path[:-1], path[1:]]).sum())


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_path_is_as_likely_as_tfp_posterior_mode(seed):
  activations, peaks = _peaky_activations(np.random.default_rng(seed), 2, 50)
  ours = crepe.viterbi_path(activations).numpy()
  reference = crepe.create_hmm(50).posterior_mode(
      tf.constant(peaks, tf.int32)).numpy()
  for b in range(2):
    assert _path_log_prob(ours[b], peaks[b]) == pytest.approx(
        _path_log_prob(reference[b], peaks[b]), abs=1e-6)


def test_runs_in_tf_function_and_handles_edges():
  activations, _ = _peaky_activations(np.random.default_rng(3), 1, 20)
  decode = tf.function(crepe.viterbi_path)
  assert decode(activations).shape == (1, 20)
  single = np.zeros([1, 1, 360], np.float32)
  single[0, 0, 359] = 1.0
  np.testing.assert_array_equal(crepe.viterbi_path(single).numpy(), [[359]])
  assert crepe.viterbi_path(np.zeros([2, 0, 360], np.float32)).shape == (2, 0)
