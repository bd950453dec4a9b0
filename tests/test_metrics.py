"""Tests for ddsp_tf.training.metrics and evaluators.

Pitch references are analytic: MIDI = 69 + 12 log2(f / 440), a cent is a
hundredth of a semitone. Test audio is made here with known pitch.
"""

import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import evaluators
from ddsp_tf.training import metrics

SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE


def _cents_up(hz, cents):
  return hz * 2.0**(cents / 1200.0)


def _sine(hz, seconds=0.5, amplitude=0.5):
  t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
  return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize('estimate_cents, rpa, rca', [
    (0.0, 1.0, 1.0),       # Exact.
    (1200.0, 0.0, 1.0),    # Octave error: only chroma is right.
    (40.0, 1.0, 1.0),      # Within 50 cents.
    (70.0, 0.0, 0.0),      # Outside.
    (-1270.0, 0.0, 0.0),   # An octave and 70 cents below.
])
def test_pitch_accuracy(estimate_cents, rpa, rca):
  truth = np.array([220.0, 330.0, 440.0, 0.0])  # The last frame is unvoiced.
  estimate = _cents_up(truth, estimate_cents)
  estimate[-1] = 999.0  # Ignored: unvoiced in the truth.
  assert metrics.pitch_accuracy(truth, estimate) == pytest.approx(rpa)
  assert metrics.pitch_accuracy(truth, estimate, chroma=True) == (
      pytest.approx(rca))


def test_pitch_accuracy_counts_unvoiced_estimates_as_wrong():
  truth = np.array([220.0, 220.0, 220.0, 220.0])
  estimate = np.array([220.0, 0.0, 220.0, 0.0])
  assert metrics.pitch_accuracy(truth, estimate) == 0.5
  assert metrics.pitch_accuracy(np.zeros(3), np.ones(3)) is None


def test_f0_dist_conf_thresh_uses_confident_frames_only():
  truth = np.full(4, 440.0)
  generated = np.array([440.0, _cents_up(440.0, 200), 880.0, 220.0])
  confidence = np.array([0.9, 0.9, 0.1, 0.86])
  # |0| + |2| + |-12| semitones over the three confident frames.
  assert metrics.f0_dist_conf_thresh(truth, generated, confidence) == (
      pytest.approx(14.0 / 3.0, rel=1e-5))
  assert metrics.f0_dist_conf_thresh(truth, generated, np.zeros(4)) is None


def test_l1_distance_and_helpers():
  np.testing.assert_allclose(
      metrics.l1_distance([[1.0, 2.0, 3.0]], [[2.0, 0.0]]), [[1.0, 2.0]])
  assert metrics.squeeze(np.zeros([2, 5, 1])).shape == (2, 5)
  assert metrics.is_outlier([0.1, 0.84])
  assert not metrics.is_outlier([0.1, 0.86])
  assert metrics.infer_padding(1001, 64000, 64) == 'center'
  assert metrics.infer_padding(1000, 64000, 64) == 'same'


def test_loudness_metrics_zero_for_identical_audio_and_level_difference():
  audio = np.stack([_sine(440.0), _sine(440.0)])
  loudness_metrics = metrics.LoudnessMetrics(SAMPLE_RATE, FRAME_RATE)
  loudness_metrics.update_state({'audio': audio}, audio)
  assert loudness_metrics.means['loudness_db'] == pytest.approx(0.0)
  loudness_metrics.flush(step=0)
  # Half the amplitude is 6.02 dB quieter in every frame.
  loudness_metrics.update_state({'audio': audio}, audio / 2.0)
  result = loudness_metrics.flush(step=1)
  assert result['loudness_db'] == pytest.approx(20 * np.log10(2), abs=0.05)
  assert loudness_metrics.means['loudness_db'] is None  # Reset.
  # The original's API: Keras-like Mean objects, 0.0 when empty.
  mean = loudness_metrics.metrics['loudness_db']
  assert mean.result() == 0.0 and mean.count == 0
  loudness_metrics.update_state({'audio': audio}, audio / 2.0)
  assert float(mean.result()) == pytest.approx(20 * np.log10(2), abs=0.05)
  mean.reset_states()
  assert mean.count == 0


def test_f0_crepe_metrics_on_known_pitch():
  truth_hz = 330.0
  n_frames = SAMPLE_RATE // 2 // HOP
  batch = {
      'f0_hz': np.full([2, n_frames], truth_hz, np.float32),
      'f0_confidence': np.stack([np.ones(n_frames), np.zeros(n_frames)]),
  }
  crepe_metrics = metrics.F0CrepeMetrics(SAMPLE_RATE, FRAME_RATE,
                                         model_capacity='tiny')
  # Generated: the right pitch 30 cents sharp; the second example has no
  # confident ground truth and is left out.
  audio_gen = np.stack([_sine(_cents_up(truth_hz, 30)), _sine(100.0)])
  crepe_metrics.update_state(batch, audio_gen)
  result = crepe_metrics.means
  assert result['f0_dist'] == pytest.approx(0.3, abs=0.15)
  assert result['outlier_ratio'] == 0.0
  assert result['raw_pitch_accuracy'] > 0.9

  # A fifth too low: 7 semitones off and no frame within 50 cents.
  crepe_metrics.flush(step=0)
  crepe_metrics.update_state(batch, np.stack([_sine(truth_hz / 1.5)] * 2))
  result = crepe_metrics.means
  assert result['f0_dist'] == pytest.approx(7.02, abs=0.3)
  assert result['raw_pitch_accuracy'] < 0.1
  assert result['outlier_ratio'] == 0.0

  # Two octaves too low is an outlier, so it adds no distance.
  crepe_metrics.flush(step=1)
  crepe_metrics.update_state(batch, np.stack([_sine(truth_hz / 4)] * 2))
  assert crepe_metrics.means['outlier_ratio'] == 1.0
  assert crepe_metrics.means['f0_dist'] is None


def test_f0_metrics_resample_the_ground_truth():
  f0_metrics = metrics.F0Metrics(SAMPLE_RATE, FRAME_RATE)
  batch = {'f0_hz': np.full([1, 100], 220.0, np.float32)}
  f0_metrics.update_state(batch, np.full([1, 50, 1], 440.0, np.float32))
  assert f0_metrics.means == {'f0_dist': pytest.approx(12.0, rel=1e-5),
                                'raw_pitch_accuracy': 0.0,
                                'raw_chroma_accuracy': 1.0}


def test_evaluators_write_their_metrics(tmp_path):
  audio = np.stack([_sine(330.0), _sine(330.0)])
  n_frames = SAMPLE_RATE // 2 // HOP
  batch = {'audio': audio,
           'f0_hz': np.full([2, n_frames], 330.0, np.float32),
           'f0_confidence': np.ones([2, n_frames], np.float32)}
  outputs = {'audio_gen': audio}
  basic = evaluators.BasicEvaluator(SAMPLE_RATE, FRAME_RATE)
  f0_ld = evaluators.F0LdEvaluator(SAMPLE_RATE, FRAME_RATE,
                                   model_capacity='tiny')
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    for losses in ({'total_loss': 1.0}, {'total_loss': 3.0}):
      basic.evaluate(batch, outputs, losses)
      f0_ld.evaluate(batch, outputs, losses)
    basic.sample(batch, outputs, step=7)
    f0_ld.sample(batch, outputs, step=7)
    assert basic.flush(step=7) == {'losses/total_loss': 2.0}
    results = f0_ld.flush(step=7)
  assert results['metrics/loudness/loudness_db'] == pytest.approx(0.0,
                                                                  abs=1e-4)
  assert results['metrics/f0_crepe/f0_dist'] < 0.2
  assert results['metrics/f0_crepe/raw_pitch_accuracy'] > 0.9


def test_f0_ld_evaluator_compares_a_predicted_f0_when_told_its_key():
  n_frames = 20
  batch = {'audio': np.zeros([1, n_frames * HOP], np.float32),
           'f0_hz': np.full([1, n_frames], 220.0, np.float32)}
  outputs = {'audio_gen': batch['audio'],
             'f0_pred': np.full([1, n_frames, 1], 220.0, np.float32)}
  evaluator = evaluators.F0LdEvaluator(SAMPLE_RATE, FRAME_RATE,
                                       run_f0_crepe=False,
                                       f0_output_key='f0_pred')
  evaluator.evaluate(batch, outputs, {})
  results = evaluator.flush(step=0)
  assert results['metrics/f0/f0_dist'] == 0.0
  assert results['metrics/f0/raw_pitch_accuracy'] == 1.0
  missing = evaluators.F0LdEvaluator(SAMPLE_RATE, FRAME_RATE,
                                     run_f0_crepe=False, f0_output_key='nope')
  with pytest.raises(KeyError, match="f0_output_key='nope'"):
    missing.evaluate(batch, outputs, {})
