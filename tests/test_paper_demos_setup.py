"""The paper demonstrations' data and starting room (fast; no training).

tests/test_paper_demos.py trains on this setup; here the melodies and the
ExpDecayReverb the run starts from are checked against what they promise.
"""

# The tests read the run's gin bindings, a private helper.
# pylint: disable=protected-access
import dataclasses
import re
import sys

import numpy as np
import pytest

from benchmarks import paper_demos
from ddsp_tf import effects
from ddsp_tf.training import acoustics


def _starting_room(training: paper_demos.Training) -> np.ndarray:
  """The IR (dry tap included) of the room the run's gin bindings build."""
  initial_values = {}
  for line in paper_demos._room_bindings(training).splitlines():
    name, value = line.split(' = ')
    initial_values[name.replace('ExpDecayReverb.', '')] = float(value)
  n_samples = int(training.reverb_secs * paper_demos.SAMPLE_RATE)
  reverb = effects.ExpDecayReverb(trainable=True, reverb_length=n_samples,
                                  **initial_values)
  impulse = np.eye(1, n_samples, dtype=np.float32)
  return np.asarray(reverb(impulse))[0]


# ExpDecayReverb's default initial_decay, 4: an RT60 of ln(1000) / (2 + e^4)
# of the IR's length (2 s).
_DEFAULT_RT60_SECS = np.log(1000.0) / (2.0 + np.exp(4.0)) * 2.0


@pytest.mark.parametrize('wet_ratio, rt60_secs, expected_rt60_secs', [
    (8.0, 1.0, 1.0), (2.0, 0.5, 0.5), (8.0, None, _DEFAULT_RT60_SECS)])
def test_the_room_starts_as_wet_and_long_as_asked(wet_ratio, rt60_secs,
                                                  expected_rt60_secs):
  training = dataclasses.replace(paper_demos.Training(),
                                 initial_wet_ratio=wet_ratio,
                                 initial_rt60_secs=rt60_secs)
  ir = _starting_room(training)
  assert ir[0] == pytest.approx(1.0)
  # The noise under the envelope is random: its energy is within a few %.
  assert np.sum(ir[1:] ** 2) == pytest.approx(wet_ratio, rel=0.03)
  assert acoustics.estimate_rt60(ir, paper_demos.SAMPLE_RATE) == (
      pytest.approx(expected_rt60_secs, rel=0.05))


@pytest.mark.parametrize('rt60_secs, wet_ratio', [(0.5, 1.0), (1.2, 0.25)])
def test_the_true_room_has_its_rt60_and_wetness(rt60_secs, wet_ratio):
  ir = paper_demos.room_ir(rt60_secs, wet_ratio)
  assert ir.shape == (int(paper_demos.ROOM_SECS * paper_demos.SAMPLE_RATE),)
  assert ir[0] == 1.0
  assert np.sum(ir[1:] ** 2) == pytest.approx(wet_ratio, rel=1e-9)
  assert acoustics.estimate_rt60(ir, paper_demos.SAMPLE_RATE) == (
      pytest.approx(rt60_secs, rel=0.05))


def test_the_learned_room_can_become_the_true_room_exactly():
  """Started at the true RT60 and wetness, the ExpDecayReverb is the room.

  Same noise, same envelope: the IRs differ by one factor, the realised
  noise energy over its expectation.
  """
  training = dataclasses.replace(
      paper_demos.Training(), initial_rt60_secs=paper_demos.ROOM_RT60_SECS,
      initial_wet_ratio=paper_demos.ROOM_WET_RATIO)
  learned = _starting_room(training)[1:]
  true = paper_demos.room_ir()[1:]
  factor = np.dot(true, learned) / np.dot(learned, learned)
  assert factor == pytest.approx(1.0, rel=0.03)
  np.testing.assert_allclose(true, factor * learned, atol=1e-6)


def test_a_true_room_longer_than_its_ir_allows_is_refused():
  with pytest.raises(ValueError, match='rt60_secs must be below .* got 7.0'):
    paper_demos.room_ir(rt60_secs=7.0)


@pytest.mark.parametrize('changes, message', [
    ({'initial_wet_ratio': 0.0}, 'initial_wet_ratio must be > 0, got 0.0'),
    ({'initial_wet_ratio': -2.0}, 'initial_wet_ratio must be > 0, got -2.0'),
    ({'initial_wet_ratio': 1e6}, 'initial_wet_ratio 1000000.0 needs an IR'),
    ({'initial_rt60_secs': 8.0},
     r'initial_rt60_secs must be below .* got 8.0'),
    ({'reverb': 'Reverb'},
     "initial_rt60_secs applies to ExpDecayReverb only, got reverb='Reverb'"),
    ({'reverb': 'Reverb', 'initial_rt60_secs': None},
     "initial_wet_ratio applies to ExpDecayReverb only, got reverb='Reverb'"),
])
def test_a_room_that_cannot_be_built_is_refused_by_name(changes, message):
  training = dataclasses.replace(paper_demos.Training(), **changes)
  with pytest.raises(ValueError, match=message):
    paper_demos._room_bindings(training)


def test_the_class_defaults_add_no_bindings():
  training = dataclasses.replace(paper_demos.Training(), initial_rt60_secs=None,
                                 initial_wet_ratio=None)
  assert paper_demos._room_bindings(training) == ''


def test_melody_peaks_span_the_range_evenly_in_db():
  low, high = paper_demos.TRAIN_PEAK_RANGE
  notes = paper_demos.melody(400.0, seed=3, peak_range=(low, high))
  peaks_db = 20.0 * np.log10([note.peak for note in notes])
  low_db, high_db = 20.0 * np.log10([low, high])
  assert low_db <= peaks_db.min() and peaks_db.max() <= high_db
  # Uniform in dB: each quarter of the range holds about a quarter.
  counts, _ = np.histogram(peaks_db, bins=4, range=(low_db, high_db))
  assert counts == pytest.approx(np.full(4, len(notes) / 4), rel=0.3)


@pytest.mark.parametrize('peak_range', [(0.0, 0.5), (0.5, 0.1), (-0.1, 0.5)])
def test_a_peak_range_that_is_not_positive_and_ordered_is_refused(
    peak_range):
  with pytest.raises(ValueError, match=re.escape(f'got {peak_range!r}')):
    paper_demos.melody(5.0, seed=0, peak_range=peak_range)


def test_held_out_melodies_turned_down_stay_inside_the_training_range():
  shift = 10.0 ** (paper_demos.LOUDNESS_SHIFT_DB / 20.0)
  train_low, train_high = paper_demos.TRAIN_PEAK_RANGE
  eval_low, eval_high = paper_demos.EVAL_PEAK_RANGE
  assert train_low <= eval_low * shift and eval_high <= train_high


def test_a_failed_training_process_is_reported_with_its_output(capsys):
  with pytest.raises(RuntimeError, match=(
      r"(?s)no_such_module failed with status 1:\n.*No module named "
      r"'?no_such_module")):
    paper_demos._run_logged([sys.executable, '-m', 'no_such_module'])
  assert 'No module named' in capsys.readouterr().out  # Echoed as it ran.
