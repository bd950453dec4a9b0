"""The banded numpy Viterbi decoder against TFP's HMM of the same model, and
against a dense decoder written as hmmlearn's (which the crepe package
calls) decodes."""

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


def _hmmlearn_style_path(peaks):
  """Dense Viterbi as hmmlearn 0.3 computes it: float64 logs, each state's
  best predecessor by max, and in the backtrace the last of equally likely
  predecessors (std::max over (value, index) pairs)."""
  transition, emission = crepe._viterbi_matrices()  # pylint: disable=protected-access
  with np.errstate(divide='ignore'):
    log_transition = np.log(transition)
  log_emission = np.log(emission)
  lattice = np.zeros([len(peaks), 360])
  lattice[0] = np.log(np.ones(360) / 360) + log_emission[:, peaks[0]]
  for t in range(1, len(peaks)):
    lattice[t] = (np.max(lattice[t - 1][:, None] + log_transition, axis=0) +
                  log_emission[:, peaks[t]])
  path = [int(np.argmax(lattice[-1]))]
  for t in range(len(peaks) - 2, -1, -1):
    values = lattice[t] + log_transition[:, path[-1]]
    path.append(int(np.flatnonzero(values == values.max())[-1]))
  return path[::-1]


def test_equally_likely_paths_resolve_as_in_hmmlearn():
  """A jump of 43 bins (203 to 246) takes 4 steps, through bins 213, 224,
  235 or, exactly as likely, 214, 225, 236: hmmlearn takes the higher bins
  (a first-found choice gives the lower ones)."""
  peaks = np.array([200] * 4 + [202, 202, 203, 203, 263, 263] + [246] * 6)
  activations = np.full([1, len(peaks), 360], 0.01, np.float32)
  activations[0, np.arange(len(peaks)), peaks] = 1.0
  path = crepe.viterbi_path(activations).numpy()[0]
  expected = _hmmlearn_style_path(peaks)
  np.testing.assert_array_equal(path, expected)
  assert list(expected[7:12]) == [203, 214, 225, 236, 246]
