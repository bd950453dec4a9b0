"""Tests for the MIDI metrics, summaries and evaluators of ddsp_tf.training.

Expected counts are worked out by hand from hand-built notes and piano
rolls: a note matches when its onset is within 50 ms and its pitch within
50 cents (mir_eval's defaults); for the full note also its offset within
max(50 ms, a fifth of the true note's length). Precision = tp / (tp + fp),
recall = tp / (tp + fn), F1 = 2PR / (P + R). Frame counts are checked
against a direct numpy count. Summaries are read back from the event files.
"""

import glob
import os
import sys

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import evaluators
from ddsp_tf.training import heuristics
from ddsp_tf.training import metrics
from ddsp_tf.training import midi_metrics
from ddsp_tf.training import plotting
from ddsp_tf.training import summaries

note_seq = pytest.importorskip('note_seq')
pytest.importorskip('mir_eval')

FPS = 250
SAMPLE_RATE = 16000
HOP = SAMPLE_RATE // FPS


def _sequence(notes, total_time=None):
  """NoteSequence of (pitch, start, end) notes in seconds."""
  sequence = note_seq.NoteSequence()
  for pitch, start, end in notes:
    note = sequence.notes.add()
    note.pitch, note.start_time, note.end_time = pitch, start, end
    note.velocity = 100
  sequence.total_time = total_time or max([end for _, _, end in notes] + [0])
  return sequence


def _roll(n_frames, notes, value=1.0):
  """[n_frames, 128] roll with value at (pitch, start_frame, stop_frame)."""
  roll = np.zeros([n_frames, 128], np.float32)
  for pitch, start, stop in notes:
    roll[start:stop, pitch] = value
  return roll


def _hz(midi):
  return (440.0 * 2.0**((np.asarray(midi, np.float64) - 69.0) / 12.0))


def _read_events(directory):
  """{tag: value} of an event directory: floats for scalars, else PNGs."""
  tags = {}
  for path in glob.glob(os.path.join(directory, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        array = tf.make_ndarray(value.tensor)
        tags[value.tag] = (float(array) if array.dtype == np.float32
                           else array)
  return tags


def _decode_image(summary_value):
  """RGB pixels of an image summary's (width, height, png) tensor."""
  return tf.io.decode_png(summary_value[2], channels=3).numpy().astype(int)


# ----------------------------------------------------------------------------
# Counts.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('tp, fp, fn, precision, recall, f1', [
    (3, 1, 2, 0.75, 0.6, 2 * 0.75 * 0.6 / 1.35),
    # P = R = 0.4: F1 is 0.4 (the original's max(P + R, 1) gave 0.32).
    (2, 3, 3, 0.4, 0.4, 0.4),
    (0, 4, 5, 0.0, 0.0, 0.0),
    (0, 0, 0, 0.0, 0.0, 0.0),
    (5, 0, 0, 1.0, 1.0, 1.0),
])
def test_eval_counts_ratios(tp, fp, fn, precision, recall, f1):
  counts = metrics.EvalCounts(tp, fp, fn)
  assert counts.precision == pytest.approx(precision)
  assert counts.recall == pytest.approx(recall)
  assert counts.f1 == pytest.approx(f1)


def test_eval_counts_add():
  counts = metrics.EvalCounts(1, 2, 3)
  counts.add(metrics.EvalCounts(10, 20, 30))
  assert (counts.tp, counts.fp, counts.fn) == (11, 22, 33)
  with pytest.raises(TypeError, match='EvalCounts'):
    counts.add((1, 2, 3))


def test_sequence2intervals():
  intervals, pitches, velocities = metrics.sequence2intervals(
      _sequence([(60, 0.0, 0.5), (64, 0.25, 1.5)]))
  np.testing.assert_array_equal(intervals, [[0.0, 0.5], [0.25, 1.5]])
  np.testing.assert_array_equal(pitches, [60, 64])
  np.testing.assert_array_equal(velocities, [100, 100])
  intervals, pitches, _ = metrics.sequence2intervals(_sequence([]))
  assert intervals.shape == (0, 2) and pitches.shape == (0,)


# ----------------------------------------------------------------------------
# Note matching.
# ----------------------------------------------------------------------------
def test_note_metrics_on_hand_built_notes():
  truth = _sequence([(60, 0.0, 1.0), (62, 1.0, 2.0), (64, 2.0, 3.0),
                     (65, 3.0, 4.0)])
  prediction = _sequence([
      (60, 0.03, 1.1),   # Onset 30 ms late, offset within 0.2 s: full hit.
      (62, 1.02, 1.5),   # Onset hit, offset 0.5 s early: onset only.
      (63, 2.0, 3.0),    # A semitone off: no match.
      (65, 3.2, 4.0),    # Onset 200 ms late: no match.
      (70, 5.0, 6.0),    # Nothing there.
  ])
  onset, full_note = metrics.compute_note_metrics(truth, prediction)
  assert (onset.tp, onset.fp, onset.fn) == (2, 3, 2)
  assert (full_note.tp, full_note.fp, full_note.fn) == (1, 4, 3)
  assert onset.precision == pytest.approx(2 / 5)
  assert onset.recall == pytest.approx(2 / 4)
  assert onset.f1 == pytest.approx(2 * 0.4 * 0.5 / 0.9)


@pytest.mark.parametrize('delay, matched', [
    (0.049, True), (-0.049, True), (0.051, False), (-0.051, False)])
def test_onset_tolerance_is_50_ms(delay, matched):
  truth = _sequence([(60, 1.0, 2.0)])
  prediction = _sequence([(60, 1.0 + delay, 2.0)])
  onset, full_note = metrics.compute_note_metrics(truth, prediction)
  assert (onset.tp, onset.fp, onset.fn) == ((1, 0, 0) if matched
                                             else (0, 1, 1))
  assert full_note.tp == int(matched)


@pytest.mark.parametrize('end, matched', [
    (2.19, True), (1.81, True), (2.21, False), (1.79, False)])
def test_full_note_offset_tolerance_is_a_fifth_of_the_note(end, matched):
  truth = _sequence([(60, 1.0, 2.0)])  # 1 s long: 200 ms offset tolerance.
  onset, full_note = metrics.compute_note_metrics(
      truth, _sequence([(60, 1.0, end)]))
  assert onset.tp == 1
  assert full_note.tp == int(matched)


def test_note_metrics_with_empty_sequences():
  notes = _sequence([(60, 0.0, 1.0), (62, 1.0, 2.0)])
  onset, full_note = metrics.compute_note_metrics(notes, _sequence([]))
  assert (onset.tp, onset.fp, onset.fn) == (0, 0, 2)
  onset, full_note = metrics.compute_note_metrics(_sequence([]), notes)
  assert (full_note.tp, full_note.fp, full_note.fn) == (0, 2, 0)


# ----------------------------------------------------------------------------
# Frames and piano rolls.
# ----------------------------------------------------------------------------
def test_frame_metrics_against_numpy():
  rng = np.random.default_rng(0)
  truth = (rng.random([40, 128]) > 0.995) * rng.random([40, 128])
  prediction = (rng.random([40, 128]) > 0.995).astype(np.float32)
  counts = metrics.compute_frame_metrics(truth, prediction)
  true_on = truth.sum(axis=1) > 0
  predicted_on = prediction.sum(axis=1) > 0
  assert counts.tp == np.count_nonzero(true_on & predicted_on)
  assert counts.fp == np.count_nonzero(predicted_on & ~true_on)
  assert counts.fn == np.count_nonzero(true_on & ~predicted_on)
  assert counts.tp + counts.fp + counts.fn > 0


def test_frame_metrics_ignore_the_pitch():
  truth = _roll(10, [(60, 2, 6)])
  prediction = _roll(10, [(72, 4, 8)])
  counts = metrics.compute_frame_metrics(truth, prediction)
  # Frames 4-5 both sound, 6-7 only predicted, 2-3 only true.
  assert (counts.tp, counts.fp, counts.fn) == (2, 2, 2)
  with pytest.raises(ValueError, match='10 and 9'):
    metrics.compute_frame_metrics(truth, prediction[:9])


def test_pianoroll_to_sequence_and_back():
  roll = _roll(20, [(60, 2, 7), (60, 9, 12), (64, 5, 20)], value=0.5)
  sequence = midi_metrics.pianoroll_to_sequence(roll, FPS)
  got = [(n.pitch, n.start_time, n.end_time) for n in sequence.notes]
  assert got == pytest.approx([(60, 2 / FPS, 7 / FPS), (64, 5 / FPS, 20 / FPS),
                               (60, 9 / FPS, 12 / FPS)])
  assert sequence.total_time == pytest.approx(20 / FPS)
  back = midi_metrics.sequence_to_pianoroll(sequence, FPS, n_frames=20)
  np.testing.assert_array_equal(back, roll > 0)
  # note_seq's default length: int(total_time * fps + 1) frames.
  assert midi_metrics.sequence_to_pianoroll(sequence, FPS).shape == (21, 128)


def test_sequence_to_pianoroll_rounds_out_to_whole_frames():
  # 0.01 s to 0.021 s at 100 frames/s covers frames 1 and 2 (ceil of 2.1).
  roll = midi_metrics.sequence_to_pianoroll(
      _sequence([(50, 0.01, 0.021), (51, 0.05, 0.05), (200, 0.0, 0.1)]),
      100, n_frames=8)
  np.testing.assert_array_equal(np.flatnonzero(roll[:, 50]), [1, 2])
  np.testing.assert_array_equal(np.flatnonzero(roll[:, 51]), [5])
  assert roll.sum() == 3  # The out-of-range pitch is left out.


# ----------------------------------------------------------------------------
# MidiMetrics.
# ----------------------------------------------------------------------------
def _controls_batch():
  """Two 1.2 s examples at 250 frames/s with f0 that follows the notes."""
  n_frames = 300
  truth = np.stack([_roll(n_frames, [(60, 10, 100), (62, 100, 200)]),
                    _roll(n_frames, [(64, 50, 150), (67, 200, 280)])])
  pitch = np.argmax(truth, axis=-1)
  f0_hz = np.where(truth.max(axis=-1) > 0, _hz(pitch), 0.0)
  return {'note_active_velocities': truth,
          'f0_hz': f0_hz[..., np.newaxis].astype(np.float32)}


def test_midi_metrics_on_a_batch(tmp_path):
  controls = _controls_batch()
  prediction = controls['note_active_velocities'].copy()
  # Example 0: the second note starts 20 frames (80 ms) late, so it only
  # counts for the frames.
  prediction[0, 100:120, 62] = 0.0
  # Example 1: an extra note in the silence, the last note 40 frames short.
  prediction[1, 160:190, 70] = 1.0
  prediction[1, 240:280, 67] = 0.0
  midi = metrics.MidiMetrics(frames_per_second=FPS, tag='test')
  midi.update_state(controls, tf.constant(prediction))
  # Onsets: 3 of 4 true notes hit, 5 predicted notes.
  assert (midi.note_counts.tp, midi.note_counts.fp,
          midi.note_counts.fn) == (3, 2, 1)
  # Full notes: the shortened last note misses its offset (160 ms early,
  # more than 50 ms and a fifth of 320 ms).
  assert (midi.note_offset_counts.tp, midi.note_offset_counts.fp,
          midi.note_offset_counts.fn) == (2, 3, 2)
  true_on = controls['note_active_velocities'].max(axis=-1) > 0
  predicted_on = prediction.max(axis=-1) > 0
  expected_frames = (np.sum(true_on & predicted_on),
                     np.sum(predicted_on & ~true_on),
                     np.sum(true_on & ~predicted_on))
  assert (midi.frame_counts.tp, midi.frame_counts.fp,
          midi.frame_counts.fn) == expected_frames == (310, 30, 60)
  assert midi.metrics['onset/precision'].result() == pytest.approx(3 / 5)
  assert midi.metrics['onset/recall'].result() == pytest.approx(3 / 4)
  assert midi.metrics['frame/f1'].result() == pytest.approx(
      2 * 310 / (2 * 310 + 30 + 60))

  with tf.summary.create_file_writer(str(tmp_path)).as_default():
    flushed = midi.flush(step=5)
  assert flushed['full_note/recall'] == pytest.approx(0.5)
  events = _read_events(str(tmp_path))
  expected_tags = {f'metrics/midi/test/{kind}/{ratio}'
                   for kind in ('onset', 'full_note', 'frame')
                   for ratio in ('f1', 'precision', 'recall')}
  assert set(events) == expected_tags
  assert events['metrics/midi/test/onset/recall'] == pytest.approx(0.75)
  # Every count is reset, the full-note ones too.
  assert midi.note_offset_counts == metrics.EvalCounts(0, 0, 0)
  assert all(value == 0.0 for value in midi.means.values())


def test_midi_metrics_take_note_sequences():
  controls = _controls_batch()
  predictions = [
      _sequence([(60, 10 / FPS, 100 / FPS), (62, 100 / FPS, 200 / FPS)]),
      _sequence([(64, 50 / FPS, 150 / FPS)])]
  midi = metrics.MidiMetrics(FPS, 'sequences', align_midi_with_f0=False)
  midi.update_state(controls, predictions)
  assert midi.note_counts == metrics.EvalCounts(3, 0, 1)
  assert midi.note_offset_counts == metrics.EvalCounts(3, 0, 1)
  # Example 1's last note (80 frames) is missed.
  assert midi.frame_counts == metrics.EvalCounts(190 + 100, 0, 80)


def test_midi_metrics_align_the_truth_with_f0():
  # The roll says the note starts at frame 10, but f0 only reaches its pitch
  # at frame 25 (60 ms later); the prediction starts there.
  truth = _roll(100, [(60, 10, 80)])[np.newaxis]
  f0_hz = np.zeros([1, 100, 1], np.float32)
  f0_hz[0, 25:80] = _hz(60)
  prediction = _roll(100, [(60, 25, 80)])[np.newaxis]
  controls = {'note_active_velocities': truth, 'f0_hz': f0_hz}
  aligned = metrics.MidiMetrics(FPS, 'aligned')
  aligned.update_state(controls, prediction)
  assert aligned.note_counts.tp == 1
  unaligned = metrics.MidiMetrics(FPS, 'unaligned', align_midi_with_f0=False)
  unaligned.update_state(controls, prediction)
  assert unaligned.note_counts == metrics.EvalCounts(0, 1, 1)


def test_align_midi_with_f0_moves_onsets_and_offsets():
  f0_midi = np.zeros(50)
  f0_midi[5:20] = 60
  f0_midi[22:40] = 64
  gt = _sequence([(60, 0.0, 0.1), (64, 0.1, 0.3)], total_time=0.3)
  midi = metrics.MidiMetrics(100, 'x')
  aligned = midi.align_midi_with_f0(gt, _hz(f0_midi) * (f0_midi > 0))
  # Onset: first frame of the pitch in [previous end, own end); offset: last
  # frame of the pitch in (own start, next start] (or the last frame).
  got = [(n.start_time, n.end_time) for n in aligned.notes]
  assert got == pytest.approx([(0.05, 0.1), (0.22, 0.39)])
  assert gt.notes[0].start_time == 0.0  # The argument is left alone.


def test_midi_metrics_check_their_input():
  with pytest.raises(ValueError, match='tag'):
    metrics.MidiMetrics(FPS, '')
  with pytest.raises(ValueError, match='frames_per_second'):
    metrics.MidiMetrics(0, 'x')
  midi = metrics.MidiMetrics(FPS, 'x')
  controls = _controls_batch()
  with pytest.raises(KeyError, match='f0_hz'):
    midi.update_state({'note_active_velocities': controls[
        'note_active_velocities']}, controls['note_active_velocities'])
  with pytest.raises(ValueError, match='1 examples'):
    midi.update_state(controls, controls['note_active_velocities'][:1])


@pytest.mark.parametrize('module, call', [
    ('mir_eval', lambda: metrics.compute_note_metrics(_sequence([]),
                                                      _sequence([]))),
    ('note_seq', lambda: midi_metrics.pianoroll_to_sequence(
        np.zeros([4, 128]), FPS)),
])
def test_missing_optional_packages_say_how_to_install(monkeypatch, module,
                                                      call):
  monkeypatch.setitem(sys.modules, module, None)
  with pytest.raises(ImportError, match=r'pip install ddsp_tf\[midi\]'):
    call()


# ----------------------------------------------------------------------------
# Plots and summaries.
# ----------------------------------------------------------------------------
def test_pianoroll_plot_setup_aligns_the_keyboard():
  fig, ax, piano_ax = plotting.pianoroll_plot_setup(figsize=(4, 3),
                                                    xlim=(0, 50))
  assert ax.get_shared_y_axes().joined(ax, piano_ax)
  assert ax.get_xlim() == (0, 50)
  assert piano_ax.get_ylim() == (-0.5, 131.5)
  # The keyboard image has one row per MIDI pitch, black keys set.
  keys = piano_ax.images[0].get_array()
  assert keys.shape == (132, 1)
  np.testing.assert_array_equal(np.flatnonzero(keys[:12, 0]), [1, 3, 6, 8, 10])
  assert len(ax.images) == 1  # The faint keyboard.
  assert fig.get_figwidth() == 4
  _, ax, _ = plotting.pianoroll_plot_setup(faint_pr=False)
  assert not ax.images and ax.get_xlim() == (0, 1000)
  with pytest.raises(ValueError, match='side_piano_ratio'):
    plotting.pianoroll_plot_setup(side_piano_ratio=1.5)


def test_pianoroll_summary_colours_truth_prediction_and_overlap(tmp_path):
  truth = _roll(60, [(60, 0, 40)])[np.newaxis]
  prediction = _roll(60, [(60, 20, 60)])[np.newaxis]
  sequences = [_sequence([(60, 20 / FPS, 60 / FPS)], total_time=60 / FPS)]
  with tf.summary.create_file_writer(str(tmp_path)).as_default():
    summaries.pianoroll_summary({'gt': truth, 'pred': prediction}, 1, 'roll',
                                FPS, 'pred', gt_key='gt')
    summaries.pianoroll_summary(
        {'note_active_velocities': truth, 'notes': sequences}, 1, 'notes',
        FPS, 'notes', tb_name='rolls')
  events = _read_events(str(tmp_path))
  assert set(events) == {'pianoroll/roll_1', 'rolls/notes_1'}
  for tag in events:
    pixels = _decode_image(events[tag]).reshape(-1, 3)
    r, g, b = pixels.T
    # Ground truth only: green, prediction only: blue, both: cyan.
    assert np.any((g > 200) & (r < 60) & (b < 60)), tag
    assert np.any((b > 200) & (r < 60) & (g < 60)), tag
    assert np.any((g > 200) & (b > 200) & (r < 60)), tag


def _midiae_outputs(n_frames=40, batch_size=1):
  """The keys magenta/ddsp's MidiAutoencoder returns, with small shapes."""
  rng = np.random.default_rng(1)
  pitch = np.zeros([batch_size, n_frames, 1], np.float32)
  pitch[:, 5:35] = 62.0
  frames = lambda *shape: rng.random([batch_size, n_frames, *shape],
                                     dtype=np.float32)
  truth = np.stack([_roll(n_frames, [(62, 5, 35)])] * batch_size)
  f0_hz = np.where(pitch > 0, _hz(pitch), 0.0).astype(np.float32)
  return {
      'f0_hz': f0_hz, 'loudness_db': -60 * frames(1),
      'note_active_velocities': truth,
      'audio': 0.1 * rng.standard_normal([batch_size, n_frames * HOP]).astype(
          np.float32),
      'q_pitch': pitch, 'q_vel': np.zeros_like(pitch), 'z_pitch': pitch + 0.2,
      # One-hot of the quantized pitch: MIDI pitch 0 where it is silent.
      'pianoroll': tf.one_hot(pitch[..., 0].astype(int), 128),
      'f0_midi_pred': pitch + 0.1, 'f0_hz_pred': f0_hz * 1.01,
      'amps': -20 * frames(1), 'hd': frames(8), 'noise': -30 * frames(5),
      'amps_pred': -20 * frames(1), 'hd_pred': frames(8),
      'noise_pred': -30 * frames(5),
      'loudness_db_rec': -60 * frames(1), 'velocity_quant': frames(1),
      'pitch': pitch + 0.3, 'velocity': frames(1),
      'midi_audio': np.zeros([batch_size, n_frames * HOP], np.float32),
      'synth_audio': 0.1 * np.ones([batch_size, n_frames * HOP], np.float32),
      'harmonic': {'controls': {'amplitudes': frames(1) + 0.5}},
  }


def test_midi_autoencoder_summaries_write_their_tags(tmp_path):
  outputs = _midiae_outputs(batch_size=3)
  no_predictions = {key: value for key, value in outputs.items()
                    if not key.endswith('_pred')}
  notes = [_sequence([(62, 0.02, 0.14)])] * 3
  with tf.summary.create_file_writer(str(tmp_path)).as_default():
    summaries.midiae_f0_summary(outputs['f0_hz'], outputs, 2)
    summaries.midiae_ld_summary(outputs['loudness_db'], outputs, 2)
    summaries.midiae_sp_summary(no_predictions, 2)
    summaries.midi_summary(dict(outputs, notes=notes), 2, 'heur', FPS,
                           'notes')
  events = _read_events(str(tmp_path))
  # At most MAX_OUTPUTS (2) of the 3 examples are drawn.
  expected = set()
  for i in (1, 2):
    expected |= {f'midiae_decoder_pitch/ex_{i}', f'midiae_encoder_pitch/ex_{i}',
                 f'midiae_decoder_ld/loudness_db_{i}',
                 f'midiae_encoder_ld/loudness_db_{i}',
                 f'amplitudes/amplitudes_{i}',
                 f'harmonic_dist/harmonic_dist_{i}',
                 f'noise_mags/noise_mags_{i}', f'midi/heur_{i}'}
  assert set(events) == expected


# ----------------------------------------------------------------------------
# Evaluators.
# ----------------------------------------------------------------------------
def test_twm_evaluator_finds_the_fundamental(tmp_path):
  n_frames = 8
  harmonics = np.arange(1, 6, dtype=np.float32)
  freqs = np.broadcast_to(220.0 * harmonics, [1, n_frames, 5])
  outputs = {'sinusoidal': {'controls': {
      'frequencies': tf.constant(freqs),
      'amplitudes': tf.ones([1, n_frames, 5]),
      'noise_ratios': tf.fill([1, n_frames, 5], 0.5)}}}
  batch = {'f0_hz': np.full([1, n_frames, 1], 220.0, np.float32),
           'f0_confidence': np.ones([1, n_frames, 1], np.float32)}
  evaluator = evaluators.TWMEvaluator(SAMPLE_RATE, FPS)
  noisy = evaluators.TWMEvaluator(SAMPLE_RATE, FPS, noisy=True)
  with tf.summary.create_file_writer(str(tmp_path)).as_default():
    evaluator.evaluate(batch, outputs, {})
    noisy.evaluate(batch, outputs, {})
    evaluator.sample(batch, outputs, step=3)
    results = evaluator.flush(step=3)
    noisy_results = noisy.flush(step=3)
  for values in (results, noisy_results):
    assert values['metrics/f0_twm/f0_dist'] == pytest.approx(0.0, abs=1e-4)
    assert values['metrics/f0_twm/raw_pitch_accuracy'] == 1.0
  assert 'f0_midi/f0_twm' in _read_events(str(tmp_path))
  # An octave below the sinusoids' fundamental: 12 semitones off.
  evaluator.evaluate(dict(batch, f0_hz=batch['f0_hz'] / 2), outputs, {})
  assert evaluator.flush(step=4)['metrics/f0_twm/f0_dist'] == (
      pytest.approx(12.0, rel=1e-4))
  with pytest.raises(KeyError, match="processor_name='sinusoidal'"):
    evaluator.evaluate(batch, {}, {})


def test_midi_autoencoder_evaluator(tmp_path):
  outputs = _midiae_outputs()
  batch = {key: outputs[key] for key in ('audio', 'f0_hz', 'loudness_db')}
  evaluator = evaluators.MidiAutoencoderEvaluator(SAMPLE_RATE, FPS)
  with tf.summary.create_file_writer(str(tmp_path)).as_default():
    evaluator.evaluate(batch, outputs, {})
    evaluator.sample(batch, outputs, step=1)
    results = evaluator.flush(step=1)
  # The one-hot piano roll is the ground-truth note exactly, once its pitch 0
  # (silence) is left out.
  assert results['metrics/midi/learned/onset/f1'] == 1.0
  assert results['metrics/midi/learned/frame/f1'] == 1.0
  tags = set(_read_events(str(tmp_path)))
  assert {'audio_original', 'midi_audio', 'synth_audio',
          'spectrogram/midi_audio', 'waveform/synth_audio',
          'f0_midi/f0_hz_rec', 'pianoroll/pianoroll_1',
          'midiae_decoder_pitch/ex_1', 'midiae_decoder_ld/loudness_db_1',
          'amplitudes/amplitudes_1',
          'metrics/midi/learned/full_note/f1'} <= tags


def _heuristic_outputs():
  """Controls with notes MIDI 60 (frames 20-149) and 67 (150-269)."""
  n_frames = 300
  t = np.arange(n_frames)
  midi = np.zeros(n_frames)
  midi[20:150] = 60.0 + 0.2 * np.sin(2 * np.pi * t[20:150] / 23.0)
  midi[150:270] = 67.0
  amps = np.where(midi > 0, 0.5 * (1 + 0.05 * np.sin(2 * np.pi * t / 7.0)),
                  1e-4)
  f0_hz = np.where(midi > 0, _hz(midi), 0.0)
  return {
      'f0_hz': tf.constant(f0_hz[np.newaxis, :, np.newaxis], tf.float32),
      'harmonic': {'controls': {'amplitudes': tf.constant(
          amps[np.newaxis, :, np.newaxis], tf.float32)}},
      'note_active_velocities': _roll(n_frames, [(60, 20, 150),
                                                 (67, 150, 270)])[np.newaxis],
      'total_loss': tf.constant(1.0),  # Not batched: kept from heuristics.
  }


def test_midi_heuristic_evaluator_finds_the_notes(tmp_path):
  outputs = _heuristic_outputs()
  evaluator = evaluators.MidiHeuristicEvaluator(SAMPLE_RATE, FPS)
  notes = evaluator._compute_heuristic_notes(outputs)  # pylint: disable=protected-access
  found = [(n.pitch, n.start_time * FPS, n.end_time * FPS)
           for n in notes[0].notes]
  assert [pitch for pitch, _, _ in found] == [60, 67]
  for (_, start, stop), (true_start, true_stop) in zip(
      found, [(20, 150), (150, 270)]):
    assert abs(start - true_start) <= 2 and abs(stop - true_stop) <= 2
  with tf.summary.create_file_writer(str(tmp_path)).as_default():
    evaluator.evaluate({}, outputs, {})
    evaluator.sample({}, outputs, step=2)
    results = evaluator.flush(step=2)
  assert 'heuristic_notes' not in outputs
  assert results['metrics/midi/heuristic/onset/f1'] == 1.0
  assert results['metrics/midi/heuristic/full_note/f1'] == 1.0
  predicted_on = np.zeros(300, bool)
  for _, start, stop in found:
    predicted_on[int(round(start)):int(round(stop))] = True
  true_on = np.zeros(300, bool)
  true_on[20:270] = True
  expected_recall = np.sum(predicted_on & true_on) / np.sum(true_on)
  assert results['metrics/midi/heuristic/frame/recall'] == pytest.approx(
      expected_recall)
  assert results['metrics/midi/heuristic/frame/precision'] == 1.0
  tags = set(_read_events(str(tmp_path)))
  assert {'midi/heuristic_1', 'pianoroll/heuristic_1'} <= tags


def test_midi_heuristic_evaluator_follows_the_gin_config():
  gin.clear_config()
  try:
    gin.parse_config_file(os.path.join(
        os.path.dirname(heuristics.__file__), 'gin', 'eval',
        'heuristic_power.gin'))
    evaluator = evaluators.MidiHeuristicEvaluator(SAMPLE_RATE, FPS)
    # midi_heuristic_power reads the audio, which these outputs lack.
    with pytest.raises(KeyError, match='audio'):
      evaluator.evaluate({}, _heuristic_outputs(), {})
  finally:
    gin.clear_config()
