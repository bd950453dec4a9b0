"""MIDI transcription metrics: note and frame precision, recall and F1.

These are magenta/ddsp's MIDI metrics (`ddsp.training.metrics.EvalCounts`,
`sequence2intervals`, `compute_note_metrics`, `compute_frame_metrics`,
`MidiMetrics`); `ddsp_tf.training.metrics` re-exports every public name
here, so they are reached at the original's path.

Notes are note_seq `NoteSequence` protos (the notes of
`heuristics.segment_notes`) or piano rolls `[n_frames, n_pitches]` (a
pitch is sounding where the roll is not 0, e.g. the datasets'
'note_active_velocities' or a MIDI autoencoder's 'pianoroll'). Notes are
matched with `mir_eval.transcription.match_notes`: onset within 50 ms and
pitch within 50 cents ("onset" counts), plus an offset within 50 ms or a
fifth of the reference note's length ("full_note" counts). Frame counts
assume one note at a time: a frame counts as a hit when both rolls have any
pitch sounding, whatever the pitch.

note_seq and mir_eval are optional (`pip install ddsp_tf[midi]`); they are
imported when a function needs them and their absence raises an ImportError
that says so. Conversions between notes and piano rolls
(`pianoroll_to_sequence`, `sequence_to_pianoroll`) are written here with
numpy and follow note_seq's frame conventions; only the NoteSequence type
comes from note_seq (its `pianoroll_to_note_sequence` loops over every
frame and pitch in Python, and its piano-roll code has been fragile across
numpy releases).

Differences from magenta/ddsp on purpose:
- `EvalCounts.f1` is the harmonic mean 2PR / (P + R) (0 when P + R = 0).
  The original divided by max(P + R, 1), which understates F1 whenever
  P + R < 1 (e.g. P = R = 0.4 gave 0.32 instead of 0.4).
- `MidiMetrics.flush` resets all three counts; the original never reset
  the full-note counts, so they kept accumulating across checkpoints.
  `flush` also returns the values it wrote.
- `MidiMetrics.align_midi_with_f0` returns an aligned copy and leaves its
  argument alone, and keeps its searches inside the f0 track.
- A predicted piano roll that is shorter than the ground truth is padded
  with silent frames for the frame counts (the original failed on an
  assert); note times are turned into frames with a 1e-6 frame tolerance,
  so a time of exactly k / frames_per_second is frame k despite rounding.
"""

import dataclasses
import importlib
import logging
import sys
from typing import Any, Dict, Optional, Tuple

import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import validation

logger = logging.getLogger(__name__)

# MIDI pitches a 128-key piano roll covers (note_seq's MIN/MAX_MIDI_PITCH).
MIN_MIDI_PITCH = 0
MAX_MIDI_PITCH = 127
# Velocity of the notes read from a piano roll (note_seq's default).
PIANOROLL_VELOCITY = 70
# Slack when a time in seconds is turned into a frame index.
_FRAME_TOLERANCE = 1e-6
# The optional packages of the midi extra and the modules they are used by.
_OPTIONAL_MODULES = {'note_seq': ('note_seq',),
                     'mir_eval': ('mir_eval', 'mir_eval.transcription')}


# ----------------------------------------------------------------------------
# Optional packages.
# ----------------------------------------------------------------------------
def optional_module(name: str, caller: str) -> Any:
  """Imports an optional package of the `midi` extra.

  Args:
    name: 'note_seq' or 'mir_eval'.
    caller: What needs it, for the message.

  Returns:
    The module.

  Raises:
    ImportError: If it is not installed; the message says
      `pip install ddsp_tf[midi]`.
  """
  if name not in _OPTIONAL_MODULES:
    raise ValueError(f'name must be one of {list(_OPTIONAL_MODULES)}, got '
                     f'name={name!r}.')
  try:
    for module_name in _OPTIONAL_MODULES[name]:
      importlib.import_module(module_name)
  except ImportError as error:
    raise ImportError(
        f'{caller} needs the optional package {name}, which is not '
        'installed: pip install ddsp_tf[midi]') from error
  return sys.modules[name]


def is_note_sequence(value: Any) -> bool:
  """Whether value looks like a NoteSequence (has `notes` and `total_time`).

  Checked by duck typing, so telling a piano roll from notes needs no
  note_seq import.
  """
  return hasattr(value, 'notes') and hasattr(value, 'total_time')


# ----------------------------------------------------------------------------
# Piano rolls <-> notes.
# ----------------------------------------------------------------------------
def _as_pianoroll(name: str, pianoroll: Any) -> np.ndarray:
  """A [n_frames, n_pitches] numpy array; trailing size-1 axes dropped."""
  roll = np.asarray(pianoroll)
  while roll.ndim > 2 and roll.shape[-1] == 1:
    roll = roll[..., 0]
  if roll.ndim != 2:
    raise ValueError(f'{name} must be a piano roll [n_frames, n_pitches], got '
                     f'shape {list(np.shape(pianoroll))}.')
  return roll


def time_to_frame(seconds: float, frames_per_second: float,
                  round_up: bool = False) -> int:
  """Frame index of a time: floor (or ceil) of seconds * frames_per_second.

  A product within 1e-6 of a whole number counts as that number.
  """
  position = seconds * frames_per_second
  if round_up:
    return int(np.ceil(position - _FRAME_TOLERANCE))
  return int(np.floor(position + _FRAME_TOLERANCE))


def pianoroll_to_sequence(pianoroll: Any, frames_per_second: float,
                          min_pitch: int = MIN_MIDI_PITCH) -> Any:
  """Notes of a piano roll, one per run of sounding frames of a pitch.

  A run of frames [start, stop) where column p is not 0 becomes a note of
  pitch min_pitch + p from start / frames_per_second to stop /
  frames_per_second: the notes note_seq's
  `pianoroll_to_note_sequence(min_duration_ms=0)` finds, in a vectorized
  scan. Every note gets velocity PIANOROLL_VELOCITY (velocities are not
  scored). Notes are ordered by start time, then pitch.

  Args:
    pianoroll: [n_frames, n_pitches] numbers or bools.
    frames_per_second: Frame rate of the roll.
    min_pitch: MIDI pitch of column 0.

  Returns:
    note_seq.NoteSequence with total_time = n_frames / frames_per_second.

  Raises:
    ImportError: If note_seq is not installed.
    ValueError: For a roll that is not 2-D or a non-positive rate.
  """
  note_seq = optional_module('note_seq', 'pianoroll_to_sequence')
  roll = _as_pianoroll('pianoroll', pianoroll)
  fps = validation.check_number('frames_per_second', frames_per_second,
                                inclusive=False)
  on = (roll != 0).astype(np.int8)
  silence = np.zeros([1, on.shape[1]], np.int8)
  # Edges per pitch, pitch-major so that starts and stops pair up in order.
  edges = np.diff(np.concatenate([silence, on, silence]), axis=0).T
  start_pitches, starts = np.nonzero(edges == 1)
  _, stops = np.nonzero(edges == -1)
  sequence = note_seq.NoteSequence()
  for index in np.lexsort((start_pitches, starts)):
    note = sequence.notes.add()
    note.pitch = int(min_pitch + start_pitches[index])
    note.start_time = starts[index] / fps
    note.end_time = stops[index] / fps
    note.velocity = PIANOROLL_VELOCITY
  sequence.total_time = roll.shape[0] / fps
  return sequence


def sequence_to_pianoroll(sequence: Any, frames_per_second: float,
                          n_frames: Optional[int] = None,
                          min_pitch: int = MIN_MIDI_PITCH,
                          max_pitch: int = MAX_MIDI_PITCH) -> np.ndarray:
  """Binary piano roll of a NoteSequence (note_seq's `.active` roll).

  A note covers frames floor(start * fps) to ceil(end * fps), exclusive,
  and at least one frame. Notes outside [min_pitch, max_pitch] are left
  out.

  Args:
    sequence: A NoteSequence (anything with `notes` and `total_time`).
    frames_per_second: Frame rate of the roll.
    n_frames: Frames of the roll; None gives note_seq's
      int(total_time * fps + 1). Notes past the end are cut off.
    min_pitch: MIDI pitch of column 0.
    max_pitch: MIDI pitch of the last column.

  Returns:
    float32 [n_frames, max_pitch - min_pitch + 1], 1 where a note sounds.

  Raises:
    TypeError: If sequence is not a NoteSequence.
    ValueError: For a non-positive rate, negative n_frames or an empty pitch
      range.
  """
  if not is_note_sequence(sequence):
    raise TypeError(f'sequence must be a NoteSequence, got '
                    f'{type(sequence).__name__}.')
  fps = validation.check_number('frames_per_second', frames_per_second,
                                inclusive=False)
  if max_pitch < min_pitch:
    raise ValueError(f'max_pitch must be >= min_pitch, got '
                     f'min_pitch={min_pitch}, max_pitch={max_pitch}.')
  if n_frames is None:
    n_frames = int(sequence.total_time * fps + 1)
  n_frames = validation.check_int('n_frames', n_frames, minimum=0)
  roll = np.zeros([n_frames, max_pitch - min_pitch + 1], np.float32)
  for note in sequence.notes:
    if not min_pitch <= note.pitch <= max_pitch:
      continue
    start = time_to_frame(note.start_time, fps)
    stop = max(start + 1, time_to_frame(note.end_time, fps, round_up=True))
    roll[max(start, 0):stop, note.pitch - min_pitch] = 1.0
  return roll


# ----------------------------------------------------------------------------
# Counts and matching.
# ----------------------------------------------------------------------------
@dataclasses.dataclass
class EvalCounts:
  """True positives, false positives and false negatives, with the ratios.

  Attributes:
    tp: Hits (matched notes or frames).
    fp: Predictions without a match.
    fn: Ground truth without a match.
  """
  tp: int
  fp: int
  fn: int

  def add(self, other: 'EvalCounts') -> None:
    """Adds other's counts to these."""
    if not isinstance(other, EvalCounts):
      raise TypeError(f'other must be an EvalCounts, got '
                      f'{type(other).__name__}.')
    self.tp += other.tp
    self.fp += other.fp
    self.fn += other.fn

  @property
  def precision(self) -> float:
    """tp / (tp + fp); 0 without predictions."""
    return self.tp / max(self.tp + self.fp, 1)

  @property
  def recall(self) -> float:
    """tp / (tp + fn); 0 without ground truth."""
    return self.tp / max(self.tp + self.fn, 1)

  @property
  def f1(self) -> float:
    """Harmonic mean of precision and recall; 0 when both are 0."""
    precision, recall = self.precision, self.recall
    total = precision + recall
    return 2.0 * precision * recall / total if total > 0 else 0.0


def sequence2intervals(sequence: Any
                       ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """A NoteSequence's notes as mir_eval arrays.

  Args:
    sequence: A NoteSequence.

  Returns:
    (intervals [n_notes, 2] start and end times in seconds, pitches
    [n_notes] MIDI numbers, velocities [n_notes]), float64, in the order of
    sequence.notes.
  """
  if not is_note_sequence(sequence):
    raise TypeError(f'sequence must be a NoteSequence, got '
                    f'{type(sequence).__name__}.')
  notes = list(sequence.notes)
  intervals = np.array([[n.start_time, n.end_time] for n in notes],
                       np.float64).reshape(len(notes), 2)
  pitches = np.array([n.pitch for n in notes], np.float64)
  velocities = np.array([n.velocity for n in notes], np.float64)
  return intervals, pitches, velocities


def _midi_to_hz(pitches: np.ndarray) -> np.ndarray:
  return np.asarray(core.midi_to_hz(pitches.astype(np.float32)), np.float64)


def compute_note_metrics(gt_sequence: Any, pred_sequence: Any
                         ) -> Tuple[EvalCounts, EvalCounts]:
  """Note-level counts of a predicted NoteSequence against the truth.

  Uses mir_eval.transcription.match_notes with its defaults (onset within
  50 ms, pitch within 50 cents; offset within max(50 ms, 0.2 * reference
  duration)), a one-to-one matching.

  Args:
    gt_sequence: Ground-truth NoteSequence.
    pred_sequence: Predicted NoteSequence.

  Returns:
    (onset counts, ignoring offsets; full-note counts, offsets too).

  Raises:
    ImportError: If mir_eval is not installed.
  """
  mir_eval = optional_module('mir_eval', 'compute_note_metrics')
  gt_intervals, gt_pitches, _ = sequence2intervals(gt_sequence)
  pred_intervals, pred_pitches, _ = sequence2intervals(pred_sequence)
  gt_hz, pred_hz = _midi_to_hz(gt_pitches), _midi_to_hz(pred_pitches)

  def counts(offset_ratio: Optional[float]) -> EvalCounts:
    if len(gt_pitches) and len(pred_pitches):
      n_matched = len(mir_eval.transcription.match_notes(
          gt_intervals, gt_hz, pred_intervals, pred_hz,
          offset_ratio=offset_ratio))
    else:
      n_matched = 0
    return EvalCounts(tp=n_matched, fp=len(pred_pitches) - n_matched,
                      fn=len(gt_pitches) - n_matched)

  return counts(None), counts(0.2)


def compute_frame_metrics(gt_pianoroll: Any, pred_pianoroll: Any
                          ) -> EvalCounts:
  """Frame counts of note activity, for one note at a time.

  A frame is active when any pitch of the roll is above 0; pitches are not
  compared.

  Args:
    gt_pianoroll: [n_frames, n_pitches] ground truth.
    pred_pianoroll: [n_frames, n_pitches'] prediction, same n_frames.

  Returns:
    EvalCounts of frames: tp both active, fp only predicted, fn only true.

  Raises:
    ValueError: If the rolls are not 2-D or differ in frames.
  """
  gt_active = _as_pianoroll('gt_pianoroll', gt_pianoroll).max(axis=1) > 0
  pred_active = _as_pianoroll('pred_pianoroll', pred_pianoroll).max(
      axis=1) > 0
  if gt_active.shape != pred_active.shape:
    raise ValueError(f'gt_pianoroll and pred_pianoroll must have the same '
                     f'number of frames, got {gt_active.size} and '
                     f'{pred_active.size}.')
  return EvalCounts(tp=int(np.sum(gt_active & pred_active)),
                    fp=int(np.sum(pred_active & ~gt_active)),
                    fn=int(np.sum(gt_active & ~pred_active)))


# ----------------------------------------------------------------------------
# Accumulating MIDI metrics.
# ----------------------------------------------------------------------------
_KINDS = (('onset', 'note_counts'), ('full_note', 'note_offset_counts'),
          ('frame', 'frame_counts'))
_RATIOS = ('f1', 'precision', 'recall')


class CountsRatio:
  """One ratio of a MidiMetrics' counts, read with `.result()` like a Mean."""

  def __init__(self, owner: 'MidiMetrics', counts_attr: str, ratio: str):
    self.owner = owner
    self.counts_attr = counts_attr
    self.ratio = ratio
    self.name = ratio

  def result(self) -> np.float32:
    """The current value of the ratio."""
    return np.float32(getattr(getattr(self.owner, self.counts_attr),
                              self.ratio))


class MidiMetrics:
  """Note and frame precision, recall and F1 of predicted MIDI.

  `update_state(controls_batch, pred_seq_batch)` adds a batch,
  `flush(step)` writes 'metrics/midi/<tag>/{onset,full_note,frame}/
  {f1,precision,recall}' scalars and resets. `metrics['onset/f1']` etc.
  give the running values with `.result()`; the counts are `note_counts`
  (onset), `note_offset_counts` (full note) and `frame_counts`.
  """

  def __init__(self, frames_per_second: float, tag: str,
               align_midi_with_f0: bool = True):
    """Sets up empty counts.

    Args:
      frames_per_second: Frame rate of the piano rolls and f0.
      tag: Part of the summary names, e.g. 'learned' or 'heuristic'.
      align_midi_with_f0: Move the ground-truth notes' onsets and offsets
        to where the rounded f0 first and last plays their pitch.
    """
    self._frames_per_second = validation.check_number(
        'frames_per_second', frames_per_second, inclusive=False)
    if not isinstance(tag, str) or not tag:
      raise ValueError(f'tag must be a non-empty string, got tag={tag!r}.')
    self.tag = tag
    self.name = f'midi/{tag}'
    self._align_midi_with_f0 = bool(align_midi_with_f0)
    self.reset_state()

  def reset_state(self) -> None:
    """Zeroes every count."""
    self.note_counts = EvalCounts(0, 0, 0)
    self.note_offset_counts = EvalCounts(0, 0, 0)
    self.frame_counts = EvalCounts(0, 0, 0)

  @property
  def metrics(self) -> Dict[str, CountsRatio]:
    """'<kind>/<ratio>' -> its running value, kind onset / full_note /
    frame, ratio f1 / precision / recall."""
    return {f'{kind}/{ratio}': CountsRatio(self, attr, ratio)
            for kind, attr in _KINDS for ratio in _RATIOS}

  @property
  def means(self) -> Dict[str, float]:
    """The current values of `metrics` as floats."""
    return {name: float(metric.result())
            for name, metric in self.metrics.items()}

  def result(self) -> Dict[str, float]:
    """Same as `means`."""
    return self.means

  def _to_sequence(self, representation: Any) -> Any:
    if is_note_sequence(representation):
      return representation
    return pianoroll_to_sequence(representation, self._frames_per_second)

  def align_midi_with_f0(self, gt_sequence: Any, f0: Any) -> Any:
    """Moves notes' start and end times to where f0 plays their pitch.

    With f0 rounded to MIDI: a note starts at the first frame, from the end
    of the previous note up to its own end, where f0 has its pitch, and
    ends at the last such frame after its start and up to the start of the
    next note (up to the last frame for the last note). Notes without
    such a frame keep their time. Notes are taken in sequence order.

    Args:
      gt_sequence: NoteSequence, notes in time order.
      f0: [n_frames] or [n_frames, 1] pitch in Hz at frames_per_second.

    Returns:
      An aligned copy of gt_sequence.
    """
    if not is_note_sequence(gt_sequence):
      raise TypeError(f'gt_sequence must be a NoteSequence, got '
                      f'{type(gt_sequence).__name__}.')
    f0_midi = np.round(np.asarray(core.hz_to_midi(
        np.ravel(np.asarray(f0, np.float32))))).astype(np.int64)
    last = f0_midi.size - 1
    fps = self._frames_per_second
    aligned = type(gt_sequence)()
    aligned.CopyFrom(gt_sequence)
    notes = aligned.notes
    for i, note in enumerate(notes):
      low = time_to_frame(notes[i - 1].end_time, fps) if i > 0 else 0
      high = min(time_to_frame(note.end_time, fps), last + 1)
      matches = np.flatnonzero(f0_midi[low:high] == note.pitch)
      if matches.size:
        note.start_time = (low + matches[0]) / fps
      low = time_to_frame(note.start_time, fps)
      high = (min(time_to_frame(notes[i + 1].start_time, fps), last)
              if i + 1 < len(notes) else last)
      matches = np.flatnonzero(f0_midi[low + 1:high + 1] == note.pitch)
      if matches.size:
        note.end_time = (low + 1 + matches[-1]) / fps
    return aligned

  def update_state(self, controls_batch: Dict[str, Any], pred_seq_batch: Any,
                   gt_key: str = 'note_active_velocities',
                   ch: Optional[int] = None) -> None:
    """Adds the counts of a batch.

    Args:
      controls_batch: Dict with the ground-truth piano rolls at gt_key
        [batch, n_frames, n_pitches] (and 'f0_hz' [batch, n_frames(, 1)]
        when aligning).
      pred_seq_batch: Predictions: a sequence of NoteSequences or a piano
        roll batch [batch, n_frames', n_pitches].
      gt_key: Key of the ground-truth piano rolls.
      ch: For rolls with a trailing channel axis, the channel to score.

    Raises:
      ImportError: If note_seq or mir_eval is missing.
      KeyError: If a needed key is missing.
      ValueError: If the batch sizes differ.
    """
    for key in (gt_key, 'f0_hz') if self._align_midi_with_f0 else (gt_key,):
      if key not in controls_batch:
        raise KeyError(f'MidiMetrics needs controls_batch[{key!r}]; it has '
                       f'{sorted(controls_batch)}.')
    gt_batch = np.asarray(controls_batch[gt_key])
    if isinstance(pred_seq_batch, (tf.Tensor, tf.Variable)):
      pred_seq_batch = pred_seq_batch.numpy()
    if len(pred_seq_batch) != len(gt_batch):
      raise ValueError(f'pred_seq_batch has {len(pred_seq_batch)} examples '
                       f'but controls_batch[{gt_key!r}] has {len(gt_batch)}.')
    for i in range(len(gt_batch)):
      if ch is None:
        pred, gt_roll = pred_seq_batch[i], gt_batch[i]
      else:
        pred, gt_roll = pred_seq_batch[i][..., ch], gt_batch[i][..., ch]
      gt_roll = _as_pianoroll(f'controls_batch[{gt_key!r}][{i}]', gt_roll)
      gt_sequence = self._to_sequence(gt_roll)
      pred_sequence = self._to_sequence(pred)
      if self._align_midi_with_f0:
        gt_sequence = self.align_midi_with_f0(
            gt_sequence, np.asarray(controls_batch['f0_hz'][i]))
      onset_counts, full_note_counts = compute_note_metrics(gt_sequence,
                                                            pred_sequence)
      self.note_counts.add(onset_counts)
      self.note_offset_counts.add(full_note_counts)

      n_frames = gt_roll.shape[0]
      if is_note_sequence(pred):
        pred_roll = sequence_to_pianoroll(pred, self._frames_per_second,
                                          n_frames=n_frames)
      else:
        pred_roll = _as_pianoroll(f'pred_seq_batch[{i}]', pred)[:n_frames]
        missing = n_frames - pred_roll.shape[0]
        pred_roll = np.pad(pred_roll, [(0, missing), (0, 0)])
      self.frame_counts.add(compute_frame_metrics(gt_roll, pred_roll))

  def flush(self, step: int) -> Dict[str, float]:
    """Writes the values as scalars, logs them and resets the counts.

    Args:
      step: Training step of the evaluated checkpoint.

    Returns:
      The values written, by '<kind>/<ratio>' (see `metrics`).
    """
    results = self.means
    for metric, value in results.items():
      tf.summary.scalar(f'metrics/{self.name}/{metric}', value, step=step)
    logger.info('metrics/%s: %s', self.name, ' | '.join(
        f'{metric} {value:.3f}' for metric, value in results.items()))
    self.reset_state()
    return results
