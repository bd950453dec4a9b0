"""Note heuristics: turn DDSP controls into discrete notes.

The path and public names are magenta/ddsp's `ddsp.training.heuristics`. A
"binarize" function marks the frames where a note sounds (`midi_heuristic`:
a pitch-jump detector combined with an amplitude-dip detector, then runs
shorter than 10 frames dropped); each run of marked frames becomes one note
whose pitch is picked from the f0 of its frames (`mean_f0`, `median_f0`).
`segment_notes` and `segment_notes_batch` return note_seq `NoteSequence`
protos. note_seq is optional: it is imported when those two functions run,
and its absence raises an ImportError that says `pip install note-seq`.
Everything else needs only numpy and TensorFlow.

Controls are one example's model outputs (no batch axis): `f0_hz`
`[n_frames, 1]` or `[n_frames]`, `audio` `[n_samples]`, and
`controls['harmonic']['controls']['amplitudes']` `[n_frames, 1]`; tf
tensors and numpy arrays both work. `segment_notes_batch` splits a batch of
them (leading batch axis, nested dicts) into such examples.

Where this module knowingly differs from the original:
- `power_pooled_outliers` shifts the power by `spectral_ops.DB_RANGE`, the
  range `compute_power` floors at, so silent frames sit at 0. The original
  added `spectral_ops.LD_RANGE`, a constant that no longer exists there, so
  it (and `midi_heuristic_power`) raised AttributeError.
- `midi_heuristic_power` drops the one extra frame that center-padded power
  has (`n_samples // 64 + 1` frames) so it lines up with f0's frames; the
  original combined arrays of different lengths.
- `window_array` pads `int(sr * win_len * (1 - frame_step_ratio))` zeros in
  front along `ax`. The original always cut the zeros along axis 0, so
  arrays shorter than the pad got less padding and `ax != 0` misbehaved.
- `remove_short(..., glue_back=True)` joins a short run to the previous note
  by filling the gap between them, as its description says. The original
  also switched on every silent frame followed by another silent frame.
  The default (glue_back=False, the only use in the original) is unchanged.
- `remove_short` returns a new array instead of editing its argument.
- Controls may be numpy arrays as well as tensors, zero amplitudes give a
  floor of log(tiny) instead of -inf, and bad arguments fail up front.
"""

from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation

DDSP_DEFAULT_FRAME_RATE = 250

_GIN_MODULE = 'ddsp_tf.training.heuristics'
_PAD_MODES = ('front', 'center', 'end')
# Pitch change (semitones) between the ends of a window that counts as a
# new note in strided_freq_change.
_PITCH_JUMP_SEMITONES = 0.75
# Shortest run of frames midi_heuristic keeps as a note.
_MIN_NOTE_FRAMES = 10
# Frame size of the power curve power_pooled_outliers pools.
_POWER_FRAME_SIZE = 256
# Every note gets this velocity (the original never mapped amplitude).
_VELOCITY = 127

Controls = Mapping[str, Any]
ControlsFn = Callable[..., Any]


# ----------------------------------------------------------------------------
# Private helpers.
# ----------------------------------------------------------------------------
def _note_seq_module(caller: str) -> Any:
  """The note_seq module, or an ImportError that says how to install it."""
  try:
    import note_seq  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise ImportError(
        f'heuristics.{caller} builds note_seq.NoteSequence objects and needs '
        'the optional note-seq package, which is not installed: pip install '
        'note-seq') from error
  return note_seq


def _check_controls(controls: Any, name: str = 'controls') -> None:
  """Raises TypeError unless controls is a dict-like mapping of controls."""
  if not isinstance(controls, Mapping):
    raise TypeError(f'{name} must be a dict of controls such as f0_hz and '
                    "harmonic/controls/amplitudes, got "
                    f'{type(controls).__name__}.')


def _check_callable(name: str, fn: Any) -> None:
  if not callable(fn):
    raise TypeError(f'{name} must be callable, got {name}={fn!r}.')


def _lookup(controls: Controls, path: Sequence[str]) -> Any:
  """controls[path[0]][path[1]]...; a missing key lists the keys there."""
  _check_controls(controls)
  value = controls
  for depth, key in enumerate(path):
    if not isinstance(value, Mapping) or key not in value:
      where = "controls" + ''.join(f"['{k}']" for k in path[:depth])
      found = (sorted(map(str, value)) if isinstance(value, Mapping)
               else type(value).__name__)
      raise KeyError(f"{where} has no key '{key}' (this heuristic needs "
                     f"controls{''.join(f'[{k!r}]' for k in path)}); found "
                     f'{found}.')
    value = value[key]
  return value


def _frame_vector(name: str, value: Any) -> np.ndarray:
  """One example's per-frame values as a finite 1-D array (dtype kept).

  Accepts [n_frames], [n_frames, 1] (or any shape with one non-singleton
  axis), as tensors or arrays.
  """
  array = np.asarray(value)
  if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
    raise TypeError(f'{name} must hold numbers, got dtype {array.dtype}.')
  if sum(size != 1 for size in array.shape) > 1:
    raise ValueError(f'{name} must hold one value per frame of one example, '
                     f'[n_frames] or [n_frames, 1], got shape '
                     f'{list(array.shape)}.')
  array = array.reshape(-1)
  if array.size == 0:
    raise ValueError(f'{name} is empty; it needs at least one frame.')
  if not np.all(np.isfinite(array)):
    raise ValueError(f'{name} has {int(np.sum(~np.isfinite(array)))} NaN or '
                     'Inf value(s); pass finite values.')
  return array


def _check_span(start: Any, stop: Any, n_frames: int) -> Tuple[int, int]:
  """Validates a [start, stop) frame span inside n_frames frames."""
  start = validation.check_int('start', start, minimum=0)
  stop = validation.check_int('stop', stop, minimum=1)
  if not start < stop <= n_frames:
    raise ValueError(f'start and stop must satisfy 0 <= start < stop <= '
                     f'n_frames ({n_frames}), got start={start}, stop={stop}.')
  return start, stop


def _windows(vec: np.ndarray, width: int) -> np.ndarray:
  """[len(vec) - width + 1, width] contiguous copy of every window of vec."""
  return np.ascontiguousarray(
      np.lib.stride_tricks.sliding_window_view(vec, width))


def _low_outlier_mask(values: np.ndarray, frame_width: int, num_devs: float,
                      pad_mode: str) -> np.ndarray:
  """True where values lie above (local mean - num_devs * local std)."""
  padded = pad_for_frame(values, mode=pad_mode, frame_width=frame_width)
  windows = _windows(padded, frame_width)
  floor = np.mean(windows, axis=-1) - num_devs * np.std(windows, axis=-1)
  return floor < values


def _check_pooling(frame_width: Any, num_devs: Any, pad_mode: Any) -> Tuple[
    int, float]:
  validation.check_choice('pad_mode', pad_mode, _PAD_MODES)
  frame_width = validation.check_int('frame_width', frame_width, minimum=1)
  num_devs = validation.check_number('num_devs', num_devs, minimum=0.0)
  return frame_width, num_devs


def _runs(on: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """Starts and stops (exclusive) of the runs of True in a 1-D bool array."""
  edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
  return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _split_batch(batch: Mapping[str, Any], path: str = '') -> List[Dict]:
  """Splits a (nested) dict of batched arrays into one dict per example.

  Tensors and arrays are indexed along axis 0, dicts are split recursively
  and None values are left out.
  """
  examples: List[Dict] = []
  first_name = ''
  for key, value in batch.items():
    name = f'{path}{key}'
    if value is None:
      continue
    if isinstance(value, (tf.Tensor, np.ndarray)):
      if len(value.shape) == 0:
        raise ValueError(f'controls_batch[{name!r}] is a scalar; every array '
                         'needs a leading batch axis.')
      parts = [value[i] for i in range(value.shape[0])]
    elif isinstance(value, Mapping):
      parts = _split_batch(value, f'{name}/')
      if not parts:
        continue
    else:
      raise TypeError(f'controls_batch[{name!r}] must be a tensor, array, '
                      f'dict or None, got {type(value).__name__}.')
    if not first_name:
      examples = [{} for _ in parts]
      first_name = name
    elif len(parts) != len(examples):
      raise ValueError(f'controls_batch has {len(examples)} examples in '
                       f'{first_name!r} but {len(parts)} in {name!r}; every '
                       'value needs the same batch size on axis 0.')
    for example, part in zip(examples, parts):
      example[key] = part
  return examples


# ----------------------------------------------------------------------------
# Piano rolls and windows.
# ----------------------------------------------------------------------------
def get_active_frame_indices(piano_roll: Any) -> np.ndarray:
  """Counts, for each sounding note, the frames since it started.

  Frame i of the result is `(result[i - 1] + 1) * piano_roll[i]`, with frame
  0 always 0. For a binary roll this is the number of frames a note has been
  on, counting its onset frame as 1 (a note already on at frame 0 reads 0,
  1, 2, ...). Non-binary rolls are used as weights in the same recurrence.

  Args:
    piano_roll: [n_frames, n_pitches] (or more trailing axes), numbers or
      bools; frames on axis 0.

  Returns:
    Array of the same shape and dtype as piano_roll.

  Raises:
    TypeError: If piano_roll does not hold numbers or bools.
    ValueError: If piano_roll has fewer than 2 axes.
  """
  roll = np.asarray(piano_roll)
  if not (np.issubdtype(roll.dtype, np.number) or roll.dtype == bool):
    raise TypeError(f'piano_roll must hold numbers or bools, got dtype '
                    f'{roll.dtype}.')
  if roll.ndim < 2:
    raise ValueError(f'piano_roll must be [n_frames, n_pitches], got shape '
                     f'{list(roll.shape)}.')
  counts = np.zeros_like(roll)
  for frame in range(1, roll.shape[0]):
    counts[frame] = (counts[frame - 1] + 1) * roll[frame]
  return counts


def window_array(array: Any, sr: float, win_len: float,
                 frame_step_ratio: float = 0.75, ax: int = 0) -> np.ndarray:
  """Cuts an array into overlapping windows.

  Windows are `int(sr * win_len)` samples long and start every
  `int(sr * win_len * frame_step_ratio)` samples. `int(sr * win_len * (1 -
  frame_step_ratio))` zeros go in front, so the first window ends where the
  second would start, and the end is zero-padded so every sample lands in a
  window: `ceil((n + pad) / step)` windows.

  Args:
    array: Array of any rank >= 1 (e.g. audio [n_samples]).
    sr: Samples per second.
    win_len: Window length in seconds.
    frame_step_ratio: Step between windows as a fraction of the window,
      in (0, 1].
    ax: The axis to window.

  Returns:
    Array with `ax` replaced by [n_windows, int(sr * win_len)], e.g.
    [n_windows, window] for a 1-D array, same dtype.

  Raises:
    ValueError: For non-positive sr or win_len, a ratio outside (0, 1], a
      window or step shorter than one sample, an empty array or a bad ax.
  """
  array = np.asarray(array)
  sr = validation.check_number('sr', sr, minimum=0.0, inclusive=False)
  win_len = validation.check_number('win_len', win_len, minimum=0.0,
                                    inclusive=False)
  frame_step_ratio = validation.check_number(
      'frame_step_ratio', frame_step_ratio, minimum=0.0, inclusive=False)
  if frame_step_ratio > 1.0:
    raise ValueError(f'frame_step_ratio must be in (0, 1], got '
                     f'frame_step_ratio={frame_step_ratio!r}.')
  if array.ndim == 0 or array.size == 0:
    raise ValueError(f'array must be a non-empty array of rank >= 1, got '
                     f'shape {list(array.shape)}.')
  ax = validation.check_int('ax', ax, minimum=-array.ndim)
  if ax >= array.ndim:
    raise ValueError(f'ax must be in [{-array.ndim}, {array.ndim - 1}] for '
                     f'shape {list(array.shape)}, got ax={ax}.')
  window = int(sr * win_len)
  step = int(sr * win_len * frame_step_ratio)
  front = int(sr * win_len * (1 - frame_step_ratio))
  if window < 1 or step < 1:
    raise ValueError(f'windows of sr * win_len = {sr * win_len:g} samples '
                     f'with steps of {sr * win_len * frame_step_ratio:g} '
                     'samples: both must be at least one sample.')
  pad = [(0, 0)] * array.ndim
  pad[ax] = (front, 0)
  padded = np.pad(array, pad)
  return tf.signal.frame(padded, frame_length=window, frame_step=step,
                         pad_end=True, axis=ax).numpy()


# ----------------------------------------------------------------------------
# Controls -> notes.
# ----------------------------------------------------------------------------
@gin.configurable(module=_GIN_MODULE)
def segment_notes_batch(binarize_f: ControlsFn, pick_f0_f: ControlsFn,
                        pick_amps_f: ControlsFn,
                        controls_batch: Mapping[str, Any],
                        frame_rate: float = DDSP_DEFAULT_FRAME_RATE
                        ) -> List[Any]:
  """Splits each example of a batch of controls into notes.

  Args:
    binarize_f: `binarize_f(controls)` -> [n_frames] bools, True while a
      note sounds (e.g. `midi_heuristic`).
    pick_f0_f: `pick_f0_f(controls, start=, stop=)` -> one f0 in Hz for the
      frames [start, stop) of a note (e.g. `mean_f0`).
    pick_amps_f: `pick_amps_f(controls, start=, stop=)` -> one amplitude for
      a note (e.g. `median_amps`); called as the original does, the value is
      not stored.
    controls_batch: Model outputs with a leading batch axis: tensors or
      arrays [batch, ...], nested dicts of them, or None (skipped).
    frame_rate: Frames per second of the controls.

  Returns:
    A list of `batch` note_seq.NoteSequence objects (see `segment_notes`).

  Raises:
    ImportError: If note_seq is not installed (`pip install note-seq`).
    TypeError: For non-callable functions or a controls_batch that is not a
      dict of tensors, arrays, dicts and None.
    ValueError: If the values disagree on the batch size.
  """
  _note_seq_module('segment_notes_batch')
  for name, fn in (('binarize_f', binarize_f), ('pick_f0_f', pick_f0_f),
                   ('pick_amps_f', pick_amps_f)):
    _check_callable(name, fn)
  _check_controls(controls_batch, 'controls_batch')
  validation.check_number('frame_rate', frame_rate, minimum=0.0,
                          inclusive=False)
  return [
      segment_notes(binarize_f=binarize_f, pick_f0_f=pick_f0_f,
                    pick_amps_f=pick_amps_f, controls=controls,
                    frame_rate=frame_rate)
      for controls in _split_batch(controls_batch)
  ]


def segment_notes(binarize_f: ControlsFn, pick_f0_f: ControlsFn,
                  pick_amps_f: ControlsFn, controls: Controls,
                  frame_rate: float = DDSP_DEFAULT_FRAME_RATE) -> Any:
  """Splits one example's controls into notes.

  Each run of True frames [start, stop) of `binarize_f(controls)` becomes a
  note with pitch `round(hz_to_midi(pick_f0_f(controls, start=start,
  stop=stop)))`, times start / frame_rate to stop / frame_rate and velocity
  127.

  Args:
    binarize_f: `binarize_f(controls)` -> [n_frames] bools (or [n_frames,
      1]), True while a note sounds.
    pick_f0_f: `pick_f0_f(controls, start=, stop=)` -> f0 in Hz of a note.
    pick_amps_f: `pick_amps_f(controls, start=, stop=)` -> amplitude of a
      note; called for every note as the original does, not stored.
    controls: One example's controls (no batch axis).
    frame_rate: Frames per second of the controls.

  Returns:
    note_seq.NoteSequence with one note per run and total_time = n_frames /
    frame_rate.

  Raises:
    ImportError: If note_seq is not installed (`pip install note-seq`).
    TypeError: For non-callable functions or controls that are not a dict.
    ValueError: For a non-positive frame_rate or a binarize_f result with
      more than one non-singleton axis.
  """
  note_seq = _note_seq_module('segment_notes')
  for name, fn in (('binarize_f', binarize_f), ('pick_f0_f', pick_f0_f),
                   ('pick_amps_f', pick_amps_f)):
    _check_callable(name, fn)
  _check_controls(controls)
  validation.check_number('frame_rate', frame_rate, minimum=0.0,
                          inclusive=False)
  is_on = _frame_vector('binarize_f(controls)', binarize_f(controls))
  sequence = note_seq.NoteSequence()
  for start, stop in zip(*_runs(is_on.astype(bool))):
    start, stop = int(start), int(stop)
    f0_hz = pick_f0_f(controls, start=start, stop=stop)
    pick_amps_f(controls, start=start, stop=stop)
    note = sequence.notes.add()
    note.pitch = int(np.round(core.hz_to_midi(f0_hz).numpy()))
    note.start_time = start / frame_rate
    note.end_time = stop / frame_rate
    note.velocity = _VELOCITY
  sequence.total_time = is_on.size / frame_rate
  return sequence


# ----------------------------------------------------------------------------
# Pick one value for a note (PICK_F0_F and PICK_AMPS_F candidates).
# ----------------------------------------------------------------------------
def _f0_span(controls: Controls, start: int, stop: int) -> np.ndarray:
  """controls['f0_hz'] over frames [start, stop), checked."""
  f0_hz = _frame_vector("controls['f0_hz']", _lookup(controls, ('f0_hz',)))
  start, stop = _check_span(start, stop, f0_hz.size)
  return f0_hz[start:stop]


@gin.register(module=_GIN_MODULE)
def mean_f0(controls: Controls, start: int, stop: int) -> np.ndarray:
  """Mean of controls['f0_hz'] over frames [start, stop).

  Args:
    controls: One example's controls with 'f0_hz' [n_frames, 1] or
      [n_frames].
    start: First frame of the note.
    stop: Frame after the last one of the note.

  Returns:
    A numpy scalar in Hz (the dtype of f0_hz, e.g. float32).

  Raises:
    KeyError: If controls has no 'f0_hz'.
    ValueError: For an empty or out-of-range span, or NaN/Inf f0.
  """
  return np.mean(_f0_span(controls, start, stop))


@gin.register(module=_GIN_MODULE)
def median_f0(controls: Controls, start: int, stop: int) -> np.ndarray:
  """Median of controls['f0_hz'] over frames [start, stop).

  Args:
    controls: As for mean_f0.
    start: First frame of the note.
    stop: Frame after the last one of the note.

  Returns:
    A numpy scalar in Hz.

  Raises:
    KeyError, ValueError: As mean_f0.
  """
  return np.median(_f0_span(controls, start, stop))


@gin.register(module=_GIN_MODULE)
def median_amps(controls: Controls, start: int, stop: int) -> np.ndarray:
  """Median harmonic amplitude over frames [start, stop).

  Args:
    controls: One example's controls with
      controls['harmonic']['controls']['amplitudes'] [n_frames, 1].
    start: First frame of the note.
    stop: Frame after the last one of the note.

  Returns:
    A numpy scalar.

  Raises:
    KeyError: If the amplitudes are missing.
    ValueError: For an empty or out-of-range span, or NaN/Inf amplitudes.
  """
  amps = _frame_vector(
      "controls['harmonic']['controls']['amplitudes']",
      _lookup(controls, ('harmonic', 'controls', 'amplitudes')))
  start, stop = _check_span(start, stop, amps.size)
  return np.median(amps[start:stop])


# ----------------------------------------------------------------------------
# Frame masks (BINARIZE_F candidates and their parts).
# ----------------------------------------------------------------------------
def remove_short(is_on_vec: Any, min_samples: int = 20,
                 glue_back: bool = False) -> np.ndarray:
  """Drops runs of "on" frames shorter than min_samples.

  Only runs followed by an "off" frame are looked at: a run that reaches
  the end of the vector is kept whatever its length, as in the original.
  With glue_back, a short run is joined to the previous note instead (the
  frames between them are switched on); a short run with no note before it
  is dropped.

  Args:
    is_on_vec: [n_frames] bools (or 0/1 numbers), True while a note sounds.
    min_samples: Shortest run kept, in frames (>= 0).
    glue_back: Join short runs to the previous note instead of dropping
      them.

  Returns:
    A new [n_frames] array of is_on_vec's dtype; is_on_vec is not changed.

  Raises:
    TypeError: If is_on_vec does not hold bools or numbers.
    ValueError: If is_on_vec is not 1-D or min_samples is not an integer
      >= 0.
  """
  result = np.array(is_on_vec, copy=True)
  if not (np.issubdtype(result.dtype, np.number) or result.dtype == bool):
    raise TypeError(f'is_on_vec must hold bools or numbers, got dtype '
                    f'{result.dtype}.')
  if result.ndim != 1:
    raise ValueError(f'is_on_vec must be [n_frames], got shape '
                     f'{list(result.shape)}.')
  min_samples = validation.check_int('min_samples', min_samples, minimum=0)
  n_frames = result.shape[0]
  previous_stop = None  # End of the last note kept so far.
  for start, stop in zip(*_runs(result.astype(bool))):
    if stop < n_frames and stop - start < min_samples:
      if glue_back and previous_stop is not None:
        result[previous_stop:start] = True
      else:
        result[start:stop] = False
        continue
    previous_stop = stop
  return result


def pad_for_frame(vec: Any, mode: str, frame_width: int,
                  axis: int = 0) -> np.ndarray:
  """Pads a vector so that framing it with step 1 gives one frame per value.

  After padding, `frame(padded, frame_width, 1)` has len(vec) frames.
  'front' puts frame_width - 1 values before (frame i ends at vec[i]),
  'end' puts them after (frame i starts at vec[i]), and 'center' puts
  frame_width // 2 before and the rest after (frame i is centred on
  vec[i]). The padding repeats the first and last values converted with
  int(), i.e. truncated towards zero as the original does (-1.7 pads as
  -1, True as 1).

  Args:
    vec: [n] numbers or bools.
    mode: 'front', 'center' or 'end'.
    frame_width: Frame length (>= 1).
    axis: The axis to pad; 0 or -1 (vec is 1-D).

  Returns:
    [n + frame_width - 1] array of vec's dtype.

  Raises:
    ValueError: For another mode, frame_width < 1, a vec that is not a
      non-empty 1-D array, another axis or non-finite edge values.
    TypeError: If vec does not hold numbers or bools.
  """
  validation.check_choice('mode', mode, _PAD_MODES)
  frame_width = validation.check_int('frame_width', frame_width, minimum=1)
  vec = np.asarray(vec)
  if not (np.issubdtype(vec.dtype, np.number) or vec.dtype == bool):
    raise TypeError(f'vec must hold numbers or bools, got dtype {vec.dtype}.')
  if vec.ndim != 1 or vec.size == 0:
    raise ValueError(f'vec must be a non-empty 1-D array, got shape '
                     f'{list(vec.shape)}.')
  if axis not in (0, -1):
    raise ValueError(f'axis must be 0 or -1 for a 1-D vec, got axis={axis!r}.')
  edges = vec[[0, -1]]
  if not np.all(np.isfinite(edges)):
    raise ValueError(f'vec must have finite first and last values, got '
                     f'{edges.tolist()}.')
  before = {'front': frame_width - 1, 'center': frame_width // 2,
            'end': 0}[mode]
  after = frame_width - 1 - before
  return np.pad(vec, (before, after), mode='constant',
                constant_values=(int(edges[0]), int(edges[1])))


@gin.register(module=_GIN_MODULE)
def amp_pooled_outliers(controls: Controls, frame_width: int = 80,
                        num_devs: float = 2, pad_mode: str = 'center'
                        ) -> np.ndarray:
  """Marks frames whose amplitude is not a dip below its neighbourhood.

  A frame is True when its log amplitude is above the mean minus num_devs
  standard deviations of the log amplitudes in the frame_width frames
  around it (placed by pad_mode, edges padded by `pad_for_frame`).

  Args:
    controls: One example's controls with
      controls['harmonic']['controls']['amplitudes'] [n_frames, 1], >= 0
      (zeros count as the smallest positive float).
    frame_width: Frames pooled for each frame.
    num_devs: Standard deviations below the mean that count as a dip.
    pad_mode: 'front', 'center' or 'end' (see `pad_for_frame`).

  Returns:
    [n_frames] bool numpy array.

  Raises:
    KeyError: If the amplitudes are missing.
    ValueError: For negative or non-finite amplitudes or bad settings.
  """
  frame_width, num_devs = _check_pooling(frame_width, num_devs, pad_mode)
  amps = _frame_vector(
      "controls['harmonic']['controls']['amplitudes']",
      _lookup(controls, ('harmonic', 'controls', 'amplitudes')))
  if np.any(amps < 0):
    raise ValueError(f'amplitudes must be >= 0, got a minimum of '
                     f'{amps.min()!r}.')
  if not np.issubdtype(amps.dtype, np.floating):
    amps = amps.astype(np.float64)
  log_amps = np.log(np.maximum(amps, np.finfo(amps.dtype).tiny))
  return _low_outlier_mask(log_amps, frame_width, num_devs, pad_mode)


@gin.register(module=_GIN_MODULE)
def strided_freq_change(controls: Controls,
                        frame_widths: Sequence[int] = (2, 4, 8, 16, 32),
                        pad_mode: str = 'front') -> np.ndarray:
  """Marks voiced frames that are not a pitch change (a note boundary).

  For each width w in turn, frame i is a boundary when its pitch differs by
  more than 0.75 semitones from the pitch w - 1 frames earlier (for
  pad_mode 'front'; the window of w frames is placed by pad_mode and its
  edges padded by `pad_for_frame`), unless an earlier width already marked
  a boundary within that window. Boundaries and unvoiced frames (f0 <= 0)
  are False.

  Args:
    controls: One example's controls with 'f0_hz' [n_frames, 1] or
      [n_frames].
    frame_widths: Window lengths to compare across, each >= 1, in order.
    pad_mode: 'front', 'center' or 'end'.

  Returns:
    [n_frames] bool numpy array.

  Raises:
    KeyError: If controls has no 'f0_hz'.
    TypeError: If frame_widths is not a sequence.
    ValueError: For NaN/Inf f0, an empty frame_widths, a width < 1 or an
      unknown pad_mode.
  """
  validation.check_choice('pad_mode', pad_mode, _PAD_MODES)
  try:
    widths = list(frame_widths)
  except TypeError:
    widths = None
  if widths is None or isinstance(frame_widths, (str, bytes)):
    raise TypeError(f'frame_widths must be a sequence of integers, got '
                    f'frame_widths={frame_widths!r}.')
  if not widths:
    raise ValueError(f'frame_widths must hold at least one width, got '
                     f'frame_widths={frame_widths!r}.')
  widths = [validation.check_int(f'frame_widths[{i}]', w, minimum=1)
            for i, w in enumerate(widths)]
  f0_hz = _frame_vector("controls['f0_hz']", _lookup(controls, ('f0_hz',)))
  f0_midi = core.hz_to_midi(f0_hz).numpy()
  not_boundary = np.ones(f0_hz.size, dtype=bool)
  for width in widths:
    pitch_windows = _windows(pad_for_frame(f0_midi, pad_mode, width), width)
    jumps = np.abs(pitch_windows[:, 0] - pitch_windows[:, -1]) > (
        _PITCH_JUMP_SEMITONES)
    unmarked = _windows(pad_for_frame(not_boundary, pad_mode, width),
                        width).all(axis=-1)
    not_boundary = not_boundary & ~(jumps & unmarked)
  return not_boundary & (f0_hz > 0)


@gin.register(module=_GIN_MODULE)
def power_pooled_outliers(controls: Controls, frame_width: int = 80,
                          num_devs: float = 2.5, pad_mode: str = 'center'
                          ) -> np.ndarray:
  """Marks frames whose power is not a dip below its neighbourhood.

  The power of controls['audio'] (16 kHz audio, 250 frames/s, 256-sample
  frames, centre padded: `n_samples // 64 + 1` frames) is shifted by
  `spectral_ops.DB_RANGE` so silence is 0 dB; a frame is True when it is
  above 0 and above the mean minus num_devs standard deviations of the
  frame_width frames around it.

  Args:
    controls: One example's controls with 'audio' [n_samples] (16 kHz).
    frame_width: Frames pooled for each frame.
    num_devs: Standard deviations below the mean that count as a dip.
    pad_mode: 'front', 'center' or 'end' (see `pad_for_frame`).

  Returns:
    [n_samples // 64 + 1] bool numpy array.

  Raises:
    KeyError: If controls has no 'audio'.
    ValueError: For NaN/Inf audio or bad settings.
  """
  frame_width, num_devs = _check_pooling(frame_width, num_devs, pad_mode)
  audio = _frame_vector("controls['audio']", _lookup(controls, ('audio',)))
  power_db = spectral_ops.compute_power(
      audio.astype(np.float32), frame_size=_POWER_FRAME_SIZE).numpy()
  shifted = power_db + np.float32(spectral_ops.DB_RANGE)
  return _low_outlier_mask(shifted, frame_width, num_devs,
                           pad_mode) & (shifted > 0)


@gin.register(module=_GIN_MODULE)
def midi_heuristic(controls: Controls) -> np.ndarray:
  """Note frames from pitch changes and amplitude dips, notes >= 10 frames.

  `strided_freq_change(controls) & amp_pooled_outliers(controls)` with runs
  shorter than 10 frames removed (`remove_short`).

  Args:
    controls: One example's controls with 'f0_hz' and
      ['harmonic']['controls']['amplitudes'], both [n_frames, 1].

  Returns:
    [n_frames] bool numpy array, True while a note sounds.

  Raises:
    KeyError: If a control is missing.
    ValueError: If f0 and amplitudes have different numbers of frames.
  """
  voiced = strided_freq_change(controls)
  loud = amp_pooled_outliers(controls)
  if voiced.shape != loud.shape:
    raise ValueError(f"controls['f0_hz'] has {voiced.size} frames but the "
                     f'harmonic amplitudes have {loud.size}; they must match.')
  return remove_short(voiced & loud, min_samples=_MIN_NOTE_FRAMES)


@gin.register(module=_GIN_MODULE)
def midi_heuristic_power(controls: Controls) -> np.ndarray:
  """Like `midi_heuristic`, with dips found in the audio's power.

  Power has one frame more than f0 for 4-second 16 kHz audio at 250 Hz
  (centre padding); that last frame is dropped.

  Args:
    controls: One example's controls with 'f0_hz' [n_frames, 1] and 'audio'
      [n_samples] at 16 kHz, n_samples // 64 in {n_frames - 1, n_frames}.

  Returns:
    [n_frames] bool numpy array.

  Raises:
    KeyError: If a control is missing.
    ValueError: If the audio's power frames do not line up with f0's.
  """
  voiced = strided_freq_change(controls)
  loud = power_pooled_outliers(controls)
  if loud.size not in (voiced.size, voiced.size + 1):
    raise ValueError(
        f"controls['audio'] gives {loud.size} power frames (16 kHz audio at "
        f"250 frames/s) but controls['f0_hz'] has {voiced.size} frames; "
        f'pass 16 kHz audio of about {voiced.size * 64} samples.')
  return remove_short(voiced & loud[:voiced.size],
                      min_samples=_MIN_NOTE_FRAMES)
