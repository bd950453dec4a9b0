"""Tests for ddsp_tf.training.heuristics (DDSP controls -> notes).

Expected values are worked out by hand from the definitions (pad values,
window counts, run lengths), or from synthetic controls whose notes are
placed at known frames and pitches. note_seq is optional: a small stand-in
module checks how notes are built, the real package is used when installed,
and its absence must give an ImportError that says `pip install note-seq`.
"""

import ast
import sys
import types

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import heuristics

FRAME_RATE = 250
HOP = 64  # 16 kHz audio at 250 frames/s.
N_FRAMES = 300
SILENT_AMP = 1e-4


def _midi_hz(midi):
  return 440.0 * 2.0**((np.asarray(midi, np.float64) - 69.0) / 12.0)


def _runs(mask):
  """[(start, stop)] of the runs of True in a 1-D mask, by a plain scan."""
  runs, start = [], None
  for i, on in enumerate(list(mask) + [False]):
    if on and start is None:
      start = i
    elif not on and start is not None:
      runs.append((start, i))
      start = None
  return runs


def _synthetic_controls(with_audio=False):
  """One example (300 frames at 250 Hz) with notes at known frames.

  frames   0-9    silence (f0 0 Hz)
  frames  10-209  MIDI 60 with +-0.2 semitone vibrato; the amplitude drops
                  to 1e-3 for frames 104-111 (a repeated note, same pitch)
  frames 210-269  MIDI 67, straight after (pitch change only)
  frames 270-279  silence
  frames 280-285  MIDI 72 blip, too short to be a note
  frames 286-299  silence
  """
  t = np.arange(N_FRAMES)
  midi = np.zeros(N_FRAMES)
  midi[10:210] = 60.0 + 0.2 * np.sin(2 * np.pi * t[10:210] / 23.0)
  midi[210:270] = 67.0
  midi[280:286] = 72.0
  f0 = np.where(midi > 0, _midi_hz(midi), 0.0).astype(np.float32)
  amps = np.full(N_FRAMES, SILENT_AMP)
  voiced = midi > 0
  amps[voiced] = 0.5 * (1.0 + 0.05 * np.sin(2 * np.pi * t[voiced] / 7.0))
  amps[104:112] = 1e-3
  amps = amps.astype(np.float32)
  controls = {
      'f0_hz': tf.constant(f0[:, np.newaxis]),
      'harmonic': {'controls': {
          'amplitudes': tf.constant(amps[:, np.newaxis])}},
  }
  if with_audio:
    f0_up = np.repeat(f0.astype(np.float64), HOP)
    amp_up = np.repeat(np.where(voiced, amps, 0.0), HOP)
    phase = 2 * np.pi * np.cumsum(f0_up) / 16000.0
    controls['audio'] = tf.constant((amp_up * np.sin(phase)).astype(
        np.float32))
  return controls


# The note frames those controls hold: each onset frame is a pitch jump
# (so off), the amplitude dip 104-111 splits the first note, and the blip's
# 5 frames after its onset are too short.
EXPECTED_RUNS = [(11, 104), (112, 210), (211, 270)]
EXPECTED_PITCHES = [60, 60, 67]


# ----------------------------------------------------------------------------
# Stand-in for note_seq, to check the notes without the package.
# ----------------------------------------------------------------------------
class _Note:

  def __init__(self):
    self.pitch, self.velocity = 0, 0
    self.start_time = self.end_time = 0.0


class _Notes(list):

  def add(self):
    note = _Note()
    self.append(note)
    return note


class _Sequence:

  def __init__(self):
    self.notes = _Notes()
    self.total_time = 0.0


@pytest.fixture
def fake_note_seq(monkeypatch):
  module = types.ModuleType('note_seq')
  module.NoteSequence = _Sequence
  monkeypatch.setitem(sys.modules, 'note_seq', module)
  return module


@pytest.fixture
def no_note_seq(monkeypatch):
  monkeypatch.setitem(sys.modules, 'note_seq', None)


@pytest.fixture
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def _notes(sequence):
  return [(n.pitch, n.start_time, n.end_time, n.velocity)
          for n in sequence.notes]


def _expected_notes():
  return [(p, start / FRAME_RATE, stop / FRAME_RATE, 127)
          for p, (start, stop) in zip(EXPECTED_PITCHES, EXPECTED_RUNS)]


# ----------------------------------------------------------------------------
# Module surface.
# ----------------------------------------------------------------------------
def test_default_frame_rate():
  assert heuristics.DDSP_DEFAULT_FRAME_RATE == 250


def test_module_does_not_import_note_seq_at_load_time():
  with open(heuristics.__file__, encoding='utf-8') as source_file:
    tree = ast.parse(source_file.read())
  top_level = [node for node in tree.body
               if isinstance(node, (ast.Import, ast.ImportFrom))]
  names = [alias.name for node in top_level for alias in node.names]
  names += [node.module for node in top_level
            if isinstance(node, ast.ImportFrom)]
  assert not any('note_seq' in str(name) for name in names)


def test_gin_configs_of_the_original_bind(clean_gin):
  # ddsp/training/gin/eval/heuristic.gin and heuristic_power.gin.
  gin.parse_config("""
      segment_notes_batch.binarize_f = @heuristics.midi_heuristic
      segment_notes_batch.pick_f0_f = @heuristics.mean_f0
      segment_notes_batch.pick_amps_f = @heuristics.median_amps
  """)
  assert (gin.query_parameter('segment_notes_batch.binarize_f').selector ==
          'heuristics.midi_heuristic')
  for name in ('midi_heuristic_power', 'median_f0', 'amp_pooled_outliers',
               'strided_freq_change', 'power_pooled_outliers'):
    gin.parse_config(f'segment_notes_batch.binarize_f = @heuristics.{name}')
  gin.parse_config('segment_notes_batch.frame_rate = 100')
  gin.parse_config('ddsp_tf.training.heuristics.segment_notes_batch'
                   '.frame_rate = 100')


# ----------------------------------------------------------------------------
# get_active_frame_indices.
# ----------------------------------------------------------------------------
def test_get_active_frame_indices_by_hand():
  roll = np.array([[1, 0, 1],
                   [1, 1, 0],
                   [1, 1, 0],
                   [0, 1, 1],
                   [1, 0, 1]])
  expected = np.array([[0, 0, 0],   # frame 0 is always 0
                       [1, 1, 0],
                       [2, 2, 0],
                       [0, 3, 1],
                       [1, 0, 2]])
  result = heuristics.get_active_frame_indices(roll)
  np.testing.assert_array_equal(result, expected)
  assert result.dtype == roll.dtype


def test_get_active_frame_indices_keeps_bool_and_weights():
  roll = np.array([[True], [True], [False], [True]])
  result = heuristics.get_active_frame_indices(roll)
  assert result.dtype == bool
  np.testing.assert_array_equal(result[:, 0], [False, True, False, True])
  weighted = heuristics.get_active_frame_indices(np.array([[0.5], [0.5],
                                                           [0.5]]))
  # (0 + 1) * 0.5 = 0.5, then (0.5 + 1) * 0.5 = 0.75.
  np.testing.assert_allclose(weighted[:, 0], [0.0, 0.5, 0.75])


@pytest.mark.parametrize('roll, error', [
    (np.ones(5), ValueError),
    (np.array([['a', 'b']]), TypeError),
])
def test_get_active_frame_indices_rejects(roll, error):
  with pytest.raises(error, match='piano_roll'):
    heuristics.get_active_frame_indices(roll)


# ----------------------------------------------------------------------------
# pad_for_frame.
# ----------------------------------------------------------------------------
def _edge_signal():
  signal = np.zeros(10)
  signal[0], signal[-1] = -1.0, 1.0
  return signal


@pytest.mark.parametrize('mode, width, expected', [
    ('front', 4, [-1, -1, -1] + [-1] + [0] * 8 + [1]),
    ('end', 4, [-1] + [0] * 8 + [1] + [1, 1, 1]),
    ('center', 4, [-1, -1] + [-1] + [0] * 8 + [1] + [1]),
    ('center', 3, [-1] + [-1] + [0] * 8 + [1] + [1]),
    ('front', 1, [-1] + [0] * 8 + [1]),
])
def test_pad_for_frame_edges(mode, width, expected):
  padded = heuristics.pad_for_frame(_edge_signal(), mode=mode,
                                    frame_width=width)
  np.testing.assert_array_equal(padded, expected)
  frames = np.lib.stride_tricks.sliding_window_view(padded, width)
  assert frames.shape == (10, width)  # One frame per value.


def test_pad_for_frame_frames_match_the_original_tests():
  signal = _edge_signal()
  framed = tf.signal.frame(heuristics.pad_for_frame(signal, 'front', 4), 4, 1)
  np.testing.assert_array_equal(framed[0], [-1, -1, -1, -1])
  np.testing.assert_array_equal(framed[-1], [0, 0, 0, 1])
  framed = tf.signal.frame(heuristics.pad_for_frame(signal, 'center', 4), 4,
                           1)
  np.testing.assert_array_equal(framed[0], [-1, -1, -1, 0])
  np.testing.assert_array_equal(framed[-1], [0, 0, 1, 1])
  framed = tf.signal.frame(heuristics.pad_for_frame(signal, 'center', 3), 3,
                           1)
  np.testing.assert_array_equal(framed[0], [-1, -1, 0])
  np.testing.assert_array_equal(framed[-1], [0, 1, 1])


def test_pad_for_frame_truncates_edge_values_like_the_original():
  vec = np.array([-1.7, 0.5, 2.9], np.float32)
  padded = heuristics.pad_for_frame(vec, 'center', 5, axis=-1)
  np.testing.assert_array_equal(padded, np.float32([-1, -1, -1.7, 0.5, 2.9,
                                                    2, 2]))
  assert padded.dtype == np.float32
  flags = heuristics.pad_for_frame(np.array([True, False]), 'front', 3)
  np.testing.assert_array_equal(flags, [True, True, True, False])


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(mode='middle', frame_width=3), ValueError, 'middle'),
    (dict(mode='front', frame_width=0), ValueError, 'frame_width=0'),
    (dict(mode='front', frame_width=2.5), ValueError, 'frame_width=2.5'),
    (dict(mode='front', frame_width=3, axis=1), ValueError, 'axis=1'),
])
def test_pad_for_frame_rejects_settings(kwargs, error, match):
  with pytest.raises(error, match=match):
    heuristics.pad_for_frame(_edge_signal(), **kwargs)


@pytest.mark.parametrize('vec, error', [
    (np.zeros((2, 3)), ValueError),
    (np.zeros(0), ValueError),
    (np.array([np.nan, 1.0]), ValueError),
    (np.array(['a', 'b']), TypeError),
])
def test_pad_for_frame_rejects_vectors(vec, error):
  with pytest.raises(error, match='vec'):
    heuristics.pad_for_frame(vec, 'front', 3)


# ----------------------------------------------------------------------------
# window_array.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('dur, win_len, ratio, expected_shape', [
    # pad = int(16000 * win_len * (1 - ratio)), step = int(16000 * win_len *
    # ratio), windows = ceil((160000 + pad) / step).
    (10.0, 2.0, 0.5, (11, 32000)),    # ceil(176000 / 16000)
    (10.0, 10.0, 0.5, (3, 160000)),   # ceil(240000 / 80000)
    (10.0, 1.0, 0.5, (21, 16000)),    # ceil(168000 / 8000)
    (10.0, 1.0, 0.75, (14, 16000)),   # ceil(164000 / 12000) = 13.67 -> 14
])
def test_window_array_shapes(dur, win_len, ratio, expected_shape):
  sr = 16000
  wave = np.sin(np.linspace(0.0, dur, int(sr * dur)))
  windows = heuristics.window_array(wave, sr, win_len, ratio)
  assert windows.shape == expected_shape
  assert windows.shape[-1] == int(sr * win_len)


def test_window_array_contents_by_hand():
  # 8-sample windows every 4 samples, 4 zeros in front, zeros at the end.
  windows = heuristics.window_array(np.array([1.0, 2.0, 3.0]), sr=10,
                                    win_len=0.8, frame_step_ratio=0.5)
  np.testing.assert_array_equal(windows, [[0, 0, 0, 0, 1, 2, 3, 0],
                                          [1, 2, 3, 0, 0, 0, 0, 0]])


def test_window_array_default_ratio_and_other_axis():
  wave = np.arange(1.0, 11.0)
  # Window 4, step 3, 1 zero in front: 11 samples -> ceil(11 / 3) = 4.
  windows = heuristics.window_array(wave, sr=4, win_len=1.0)
  np.testing.assert_array_equal(windows[0], [0, 1, 2, 3])
  np.testing.assert_array_equal(windows[-1], [9, 10, 0, 0])
  assert windows.shape == (4, 4)
  stacked = np.stack([wave, -wave])
  per_row = heuristics.window_array(stacked, sr=4, win_len=1.0, ax=-1)
  assert per_row.shape == (2, 4, 4)
  np.testing.assert_array_equal(per_row[0], windows)
  np.testing.assert_array_equal(per_row[1], -windows)
  per_column = heuristics.window_array(stacked.T, sr=4, win_len=1.0, ax=0)
  assert per_column.shape == (4, 4, 2)
  np.testing.assert_array_equal(per_column[..., 1], -windows)


@pytest.mark.parametrize('kwargs, match', [
    (dict(sr=0, win_len=1.0), 'sr=0'),
    (dict(sr=100, win_len=-1.0), 'win_len=-1.0'),
    (dict(sr=100, win_len=1.0, frame_step_ratio=0.0), 'frame_step_ratio'),
    (dict(sr=100, win_len=1.0, frame_step_ratio=1.5), 'frame_step_ratio=1.5'),
    (dict(sr=100, win_len=0.001), 'one sample'),
    (dict(sr=100, win_len=1.0, ax=1), 'ax'),
])
def test_window_array_rejects(kwargs, match):
  with pytest.raises(ValueError, match=match):
    heuristics.window_array(np.zeros(500), **kwargs)


def test_window_array_rejects_empty_arrays():
  with pytest.raises(ValueError, match='non-empty'):
    heuristics.window_array(np.zeros(0), 100, 1.0)


# ----------------------------------------------------------------------------
# remove_short.
# ----------------------------------------------------------------------------
def _from_runs(pattern):
  """Bool vector from [(value, length), ...]."""
  return np.concatenate([np.full(n, v, bool) for v, n in pattern])


RUNS_PATTERN = [(1, 5), (0, 2), (1, 2), (0, 1), (1, 12), (0, 3), (1, 3)]
# Frames: on 0-4, off 5-6, on 7-8, off 9, on 10-21, off 22-24, on 25-27.


def test_remove_short_drops_short_runs():
  vec = _from_runs(RUNS_PATTERN)
  before = vec.copy()
  result = heuristics.remove_short(vec, min_samples=4)
  # The 2-frame run goes; the 3-frame run at the very end stays (only runs
  # followed by an off frame are looked at).
  expected = _from_runs([(1, 5), (0, 5), (1, 12), (0, 3), (1, 3)])
  np.testing.assert_array_equal(result, expected)
  np.testing.assert_array_equal(vec, before)  # Not edited in place.
  assert result.dtype == bool


def test_remove_short_thresholds_and_dtype():
  vec = _from_runs(RUNS_PATTERN)
  np.testing.assert_array_equal(heuristics.remove_short(vec, 0), vec)
  np.testing.assert_array_equal(heuristics.remove_short(vec, 2), vec)
  # Default 20: every run followed by an off frame is shorter.
  np.testing.assert_array_equal(
      heuristics.remove_short(vec), _from_runs([(0, 25), (1, 3)]))
  as_ints = heuristics.remove_short(vec.astype(np.int32), 3)
  assert as_ints.dtype == np.int32
  np.testing.assert_array_equal(as_ints, heuristics.remove_short(vec, 3))


def test_remove_short_glue_back_joins_the_previous_note():
  vec = _from_runs([(0, 2), (1, 2), (0, 3), (1, 6), (0, 2), (1, 2), (0, 1),
                    (1, 6)])
  result = heuristics.remove_short(vec, min_samples=4, glue_back=True)
  # The first short run has no note before it and is dropped; the second is
  # joined to the 6-frame note by filling the 2-frame gap.
  expected = _from_runs([(0, 7), (1, 10), (0, 1), (1, 6)])
  np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize('vec, min_samples, error, match', [
    (np.ones((2, 2), bool), 20, ValueError, 'is_on_vec'),
    (np.ones(4, bool), -1, ValueError, 'min_samples=-1'),
    (np.ones(4, bool), 2.5, ValueError, 'min_samples=2.5'),
    (np.array(['x']), 2, TypeError, 'is_on_vec'),
])
def test_remove_short_rejects(vec, min_samples, error, match):
  with pytest.raises(error, match=match):
    heuristics.remove_short(vec, min_samples)


# ----------------------------------------------------------------------------
# Picking a note's f0 and amplitude.
# ----------------------------------------------------------------------------
def _small_controls():
  return {'f0_hz': tf.constant([[100.0], [200.0], [300.0], [1000.0]]),
          'harmonic': {'controls': {'amplitudes': np.array(
              [[0.1], [0.4], [0.2], [0.9]], np.float32)}}}


def test_pick_functions_by_hand():
  controls = _small_controls()
  assert heuristics.mean_f0(controls, start=0, stop=3) == pytest.approx(200.0)
  assert heuristics.mean_f0(controls, start=1, stop=4) == pytest.approx(500.0)
  assert heuristics.median_f0(controls, 1, 4) == pytest.approx(300.0)
  assert heuristics.median_f0(controls, 0, 4) == pytest.approx(250.0)
  assert heuristics.median_amps(controls, 0, 3) == pytest.approx(0.2)
  assert heuristics.median_amps(controls, 3, 4) == pytest.approx(0.9)
  # 1-D numpy controls work as well as [n_frames, 1] tensors.
  assert heuristics.mean_f0({'f0_hz': np.array([1.0, 3.0])}, 0, 2) == 2.0


@pytest.mark.parametrize('fn', [heuristics.mean_f0, heuristics.median_f0,
                                heuristics.median_amps])
def test_pick_functions_reject(fn):
  controls = _small_controls()
  with pytest.raises(ValueError, match='start=2, stop=2'):
    fn(controls, 2, 2)
  with pytest.raises(ValueError, match='stop=5'):
    fn(controls, 0, 5)
  with pytest.raises(ValueError, match='start=-1'):
    fn(controls, -1, 2)
  with pytest.raises(KeyError, match='found'):
    fn({'loudness_db': np.zeros(4)}, 0, 2)
  with pytest.raises(TypeError, match='list'):
    fn([1, 2, 3], 0, 2)


# ----------------------------------------------------------------------------
# Frame masks on synthetic controls.
# ----------------------------------------------------------------------------
def test_strided_freq_change_marks_onsets_and_unvoiced_frames():
  controls = _synthetic_controls()
  f0 = controls['f0_hz'].numpy()[:, 0]
  mask = heuristics.strided_freq_change(controls)
  expected = f0 > 0
  expected[[10, 210, 280]] = False  # Pitch jumps: 0->60, 60->67, 0->72.
  assert mask.dtype == bool and mask.shape == (N_FRAMES,)
  np.testing.assert_array_equal(mask, expected)


def test_strided_freq_change_marks_a_step_once():
  # A 2-semitone step at frame 20: width 2 marks frame 20; the wider windows
  # also see the step but each holds that mark, so nothing else changes.
  # (Pitches are not whole numbers: the edge padding truncates them.)
  f0 = _midi_hz(np.where(np.arange(60) < 20, 50.3, 52.3))
  mask = heuristics.strided_freq_change({'f0_hz': f0})
  np.testing.assert_array_equal(np.flatnonzero(~mask), [20])


def test_strided_freq_change_wider_window_sees_a_ramp():
  # 60.2 up to 61.2 in 0.2-semitone steps over frames 20-25. Widths 2 and 4
  # see at most 0.6; width 8 compares frame i with frame i - 7 and sees
  # 0.8 or 1.0 at frames 24-28, all marked in that pass; width 16's
  # windows all hold one of those marks.
  midi = np.full(60, 60.2)
  midi[20:26] = 60.2 + 0.2 * np.arange(6)
  midi[26:] = 61.2
  mask = heuristics.strided_freq_change({'f0_hz': _midi_hz(midi)},
                                        frame_widths=[2, 4, 8, 16])
  np.testing.assert_array_equal(np.flatnonzero(~mask), [24, 25, 26, 27, 28])
  only_short = heuristics.strided_freq_change({'f0_hz': _midi_hz(midi)},
                                              frame_widths=(2, 4))
  assert only_short.all()


def test_amp_pooled_outliers_finds_the_dip():
  controls = _synthetic_controls()
  mask = heuristics.amp_pooled_outliers(controls)
  assert mask.dtype == bool and mask.shape == (N_FRAMES,)
  assert not mask[104:112].any()
  assert mask[11:104].all() and mask[112:270].all()
  # A constant amplitude has no spread, so nothing is above its floor
  # (amplitude 1: log 0, so the truncated edge padding is 0 too).
  flat = {'harmonic': {'controls': {'amplitudes': np.ones((50, 1))}}}
  assert not heuristics.amp_pooled_outliers(flat).any()


def test_amp_pooled_outliers_against_a_loop_reference():
  rng = np.random.default_rng(3)
  amps = np.exp(rng.normal(-1.0, 0.6, 120))
  amps[[30, 31, 90]] = 1e-4
  controls = {'harmonic': {'controls': {'amplitudes': amps[:, None]}}}
  log_amps = np.log(amps)
  width, devs = 20, 2.0
  expected = []
  for i in range(len(amps)):
    # 'center': frames i - 10 .. i + 9, edges padded with int(edge value).
    window = [log_amps[j] if 0 <= j < len(amps) else
              float(int(log_amps[0] if j < 0 else log_amps[-1]))
              for j in range(i - width // 2, i + width - width // 2)]
    expected.append(np.mean(window) - devs * np.std(window) < log_amps[i])
  mask = heuristics.amp_pooled_outliers(controls, frame_width=width,
                                        num_devs=devs)
  np.testing.assert_array_equal(mask, expected)
  assert not mask[[30, 31, 90]].any()


def test_midi_heuristic_finds_the_placed_notes():
  mask = heuristics.midi_heuristic(_synthetic_controls())
  assert mask.shape == (N_FRAMES,)
  assert _runs(mask) == EXPECTED_RUNS


def test_midi_heuristic_power_finds_the_placed_notes():
  controls = _synthetic_controls(with_audio=True)
  power_mask = heuristics.power_pooled_outliers(controls)
  # Centre-padded power: 19200 // 64 + 1 frames; silence is at the floor.
  assert power_mask.shape == (N_FRAMES + 1,)
  assert not power_mask[:8].any() and not power_mask[290:].any()
  assert not power_mask[106:110].any()  # Power frames inside the dip.
  mask = heuristics.midi_heuristic_power(controls)
  assert mask.shape == (N_FRAMES,)
  runs = _runs(mask)
  assert len(runs) == len(EXPECTED_RUNS)
  for (start, stop), (want_start, want_stop) in zip(runs, EXPECTED_RUNS):
    # 256-sample power frames blur edges by up to 2 frames.
    assert abs(start - want_start) <= 2 and abs(stop - want_stop) <= 2


def test_heuristics_reject_bad_controls():
  controls = _synthetic_controls(with_audio=True)
  with pytest.raises(KeyError, match='amplitudes'):
    heuristics.midi_heuristic({'f0_hz': controls['f0_hz']})
  with pytest.raises(KeyError, match='audio'):
    heuristics.power_pooled_outliers({'f0_hz': controls['f0_hz']})
  short_f0 = dict(controls, f0_hz=controls['f0_hz'][:200])
  with pytest.raises(ValueError, match='200 frames'):
    heuristics.midi_heuristic(short_f0)
  with pytest.raises(ValueError, match='200 frames'):
    heuristics.midi_heuristic_power(short_f0)
  nan_f0 = dict(controls, f0_hz=np.full((N_FRAMES, 1), np.nan))
  with pytest.raises(ValueError, match='NaN'):
    heuristics.strided_freq_change(nan_f0)
  negative = {'harmonic': {'controls': {'amplitudes': -np.ones((9, 1))}}}
  with pytest.raises(ValueError, match='>= 0'):
    heuristics.amp_pooled_outliers(negative)
  with pytest.raises(ValueError, match='one value per frame'):
    heuristics.strided_freq_change({'f0_hz': np.ones((2, 10, 1))})
  with pytest.raises(ValueError, match="'sideways'"):
    heuristics.amp_pooled_outliers(controls, pad_mode='sideways')
  with pytest.raises(ValueError, match='num_devs=-1'):
    heuristics.power_pooled_outliers(controls, num_devs=-1)
  with pytest.raises(ValueError, match=r'frame_widths\[1\]=0'):
    heuristics.strided_freq_change(controls, frame_widths=(2, 0))
  with pytest.raises(TypeError, match='frame_widths=4'):
    heuristics.strided_freq_change(controls, frame_widths=4)


def test_zero_amplitudes_stay_finite():
  amps = np.full((40, 1), 0.5)
  amps[20] = 0.0
  mask = heuristics.amp_pooled_outliers(
      {'harmonic': {'controls': {'amplitudes': amps}}}, frame_width=10)
  assert not mask[20]


# ----------------------------------------------------------------------------
# segment_notes and segment_notes_batch.
# ----------------------------------------------------------------------------
def _binarize_never_called(controls):
  raise AssertionError('binarize_f ran although note_seq is missing')


def test_segment_notes_without_note_seq_says_how_to_install(no_note_seq):
  controls = _synthetic_controls()
  with pytest.raises(ImportError, match='pip install note-seq'):
    heuristics.segment_notes(_binarize_never_called, heuristics.mean_f0,
                             heuristics.median_amps, controls)
  batch = {'f0_hz': controls['f0_hz'][tf.newaxis]}
  with pytest.raises(ImportError, match='pip install note-seq'):
    heuristics.segment_notes_batch(_binarize_never_called,
                                   heuristics.mean_f0,
                                   heuristics.median_amps, batch)


def test_segment_notes_builds_the_placed_notes(fake_note_seq):
  amps_seen = []

  def pick_amps(controls, start, stop):
    amps_seen.append((start, stop))
    return heuristics.median_amps(controls, start, stop)

  sequence = heuristics.segment_notes(
      heuristics.midi_heuristic, heuristics.mean_f0, pick_amps,
      _synthetic_controls())
  assert isinstance(sequence, fake_note_seq.NoteSequence)
  assert _notes(sequence) == _expected_notes()
  assert sequence.total_time == pytest.approx(N_FRAMES / FRAME_RATE)
  assert amps_seen == EXPECTED_RUNS


def test_segment_notes_rounds_pitch_and_uses_frame_rate(fake_note_seq):
  # Runs [0, 2) at MIDI 61.4 and [3, 5) at MIDI 69.6 (rounded to 61, 70);
  # a run that reaches the last frame is a note too.
  f0 = np.where([1, 1, 0, 1, 1], _midi_hz([61.4, 61.4, 0.0, 69.6, 69.6]),
                0.0)
  sequence = heuristics.segment_notes(
      lambda c: c['f0_hz'] > 0, heuristics.median_f0,
      lambda c, start, stop: None, {'f0_hz': f0}, frame_rate=100)
  assert _notes(sequence) == [(61, 0.0, 0.02, 127), (70, 0.03, 0.05, 127)]
  assert sequence.total_time == pytest.approx(0.05)


def test_segment_notes_batch_splits_nested_batches(fake_note_seq):
  one = _synthetic_controls()
  silent = {'f0_hz': tf.zeros_like(one['f0_hz']),
            'harmonic': {'controls': {'amplitudes': tf.fill(
                one['f0_hz'].shape, SILENT_AMP)}}}
  batch = {
      'f0_hz': tf.stack([one['f0_hz'], silent['f0_hz']]),
      'harmonic': {'controls': {'amplitudes': np.stack([
          one['harmonic']['controls']['amplitudes'].numpy(),
          silent['harmonic']['controls']['amplitudes'].numpy()])}},
      'unused': None,
  }
  sequences = heuristics.segment_notes_batch(
      heuristics.midi_heuristic, heuristics.mean_f0, heuristics.median_amps,
      batch)
  assert len(sequences) == 2
  assert _notes(sequences[0]) == _expected_notes()
  assert _notes(sequences[1]) == []
  assert sequences[1].total_time == pytest.approx(N_FRAMES / FRAME_RATE)


def test_segment_notes_batch_from_the_original_gin_config(fake_note_seq,
                                                          clean_gin):
  gin.parse_config("""
      segment_notes_batch.binarize_f = @heuristics.midi_heuristic
      segment_notes_batch.pick_f0_f = @heuristics.mean_f0
      segment_notes_batch.pick_amps_f = @heuristics.median_amps
  """)
  one = _synthetic_controls()
  batch = {'f0_hz': one['f0_hz'][tf.newaxis],
           'harmonic': {'controls': {'amplitudes': one['harmonic'][
               'controls']['amplitudes'][tf.newaxis]}}}
  (sequence,) = heuristics.segment_notes_batch(controls_batch=batch)
  assert _notes(sequence) == _expected_notes()


def test_segment_notes_reject(fake_note_seq):
  controls = _synthetic_controls()
  with pytest.raises(TypeError, match='binarize_f'):
    heuristics.segment_notes('midi', heuristics.mean_f0,
                             heuristics.median_amps, controls)
  with pytest.raises(TypeError, match='controls'):
    heuristics.segment_notes(heuristics.midi_heuristic, heuristics.mean_f0,
                             heuristics.median_amps, [controls])
  with pytest.raises(ValueError, match='frame_rate=0'):
    heuristics.segment_notes(heuristics.midi_heuristic, heuristics.mean_f0,
                             heuristics.median_amps, controls, frame_rate=0)
  with pytest.raises(ValueError, match='one value per frame'):
    heuristics.segment_notes(lambda c: np.ones((3, 4), bool),
                             heuristics.mean_f0, heuristics.median_amps,
                             controls)
  args = (heuristics.midi_heuristic, heuristics.mean_f0,
          heuristics.median_amps)
  with pytest.raises(ValueError, match="2 examples in 'f0_hz' but 3"):
    heuristics.segment_notes_batch(*args, {
        'f0_hz': np.zeros((2, 10, 1)),
        'harmonic': {'controls': {'amplitudes': np.ones((3, 10, 1))}}})
  with pytest.raises(ValueError, match='scalar'):
    heuristics.segment_notes_batch(*args, {'loss': tf.constant(1.0)})
  with pytest.raises(TypeError, match="'name'.*str"):
    heuristics.segment_notes_batch(*args, {'name': 'piano'})


def test_segment_notes_with_real_note_seq():
  note_seq = pytest.importorskip('note_seq')
  sequence = heuristics.segment_notes(
      heuristics.midi_heuristic, heuristics.mean_f0, heuristics.median_amps,
      _synthetic_controls())
  assert isinstance(sequence, note_seq.NoteSequence)
  assert _notes(sequence) == _expected_notes()
  assert sequence.total_time == pytest.approx(N_FRAMES / FRAME_RATE)
  one = _synthetic_controls()
  batch = {'f0_hz': tf.stack([one['f0_hz']] * 2),
           'harmonic': {'controls': {'amplitudes': tf.stack(
               [one['harmonic']['controls']['amplitudes']] * 2)}}}
  sequences = heuristics.segment_notes_batch(
      heuristics.midi_heuristic, heuristics.mean_f0, heuristics.median_amps,
      batch)
  assert [len(s.notes) for s in sequences] == [3, 3]
