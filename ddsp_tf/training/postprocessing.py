"""Feature adjustment for timbre transfer: notes, loudness quantiles, tuning.

Features of new audio (f0 and loudness) are moved towards what a model was
trained on before it resynthesizes them, as in magenta/ddsp's timbre
transfer Colab (whose helpers live in ddsp.training.postprocessing and
colab_utils):
- `detect_notes` marks frames that are confidently pitched and loud enough.
- `adjust_features` moves the pitch by whole octaves towards the dataset's
  mean pitch (the nearest whole number of octaves; the original rounded
  fractional octave counts in a direction that depended on the sign, e.g.
  +0.6 octaves became +1 but -0.6 became 0), quantile-normalises loudness
  onto the dataset's distribution (`QuantileTransform`, fitted from the
  quantiles in the dataset's stats.json) and lowers frames outside notes
  by up to `quiet_db`.
- Optional auto-tune (`get_tuning_factor`, `auto_tune`) pulls the pitch
  towards a (tuned) major scale or the chromatic grid.
- `shift_pitch` and `shift_loudness` take a constant or a per-frame curve;
  f0 is clipped to MIDI 110 like the original.

All functions work on numpy arrays of frame features, [n_frames] (or
[batch, n_frames] where noted).

The original module's dataset-statistics names (`QuantileTransformer`,
`fit_quantile_transform`, `compute_dataset_statistics`, `smooth`) live in
`ddsp_tf.training.dataset_statistics` and are re-exported here. Unlike the
original's, `detect_notes` here takes one clip, references the mean
loudness of its confident frames, and smooths with the extra tap of an even
window on the earlier side; `compute_dataset_statistics` detects notes
exactly as the original did.
"""

import logging
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from ddsp_tf import core
from ddsp_tf import validation
# Re-exported at the original's path (see the module docstring).
# pylint: disable=unused-import
from ddsp_tf.training.dataset_statistics import compute_dataset_statistics
from ddsp_tf.training.dataset_statistics import fit_quantile_transform
from ddsp_tf.training.dataset_statistics import QuantileTransformer
from ddsp_tf.training.dataset_statistics import smooth
# pylint: enable=unused-import

logger = logging.getLogger(__name__)

# The original Colab clips f0 to this MIDI note after shifting.
MAX_MIDI = 110.0
# detect_notes smooths confidence over this long (40 frames at 250 Hz, as
# the original Colab).
NOTE_SMOOTHING_SECS = 0.16

ArrayLike = Union[np.ndarray, float, list]


def _hz_to_midi(f0_hz: np.ndarray) -> np.ndarray:
  """MIDI note numbers of frequencies; 0 Hz (unvoiced) maps to MIDI 0."""
  f0_hz = np.asarray(f0_hz, np.float64)
  safe = np.where(f0_hz > 0.0, f0_hz, 440.0)
  return np.where(f0_hz > 0.0, 69.0 + 12.0 * np.log2(safe / 440.0), 0.0)


def _midi_to_hz(midi: np.ndarray) -> np.ndarray:
  """Frequencies of MIDI note numbers (A4 = 69 = 440 Hz)."""
  return 440.0 * 2.0**((np.asarray(midi, np.float64) - 69.0) / 12.0)


def _curve(name: str, value: ArrayLike, n_frames: int) -> np.ndarray:
  """A scalar, or a per-frame curve whose length is n_frames."""
  value = validation.check_finite_array(name, value, (0, 1, 2),
                        '[] (constant), [n_frames] or [batch, n_frames]')
  if value.ndim and value.shape[-1] != n_frames:
    raise ValueError(f'{name} as a curve must have one value per frame '
                     f'({n_frames}), got shape {list(value.shape)}.')
  return value


def shift_pitch(f0_hz: ArrayLike, semitones: ArrayLike) -> np.ndarray:
  """Transposes a pitch curve, clipping it to MIDI 110 like the original.

  Args:
    f0_hz: Pitch in Hz, [n_frames] or [batch, n_frames]; 0 Hz stays 0.
    semitones: A constant shift, or a curve of one shift per frame
      ([n_frames], or [batch, n_frames]) for glides and vibrato.

  Returns:
    float32 f0 in Hz, the shape of f0_hz (broadcast with the curve).

  Raises:
    ValueError: For NaN/Inf, negative f0, or a curve of the wrong length.
  """
  f0_hz = validation.check_finite_array('f0_hz', f0_hz, (1, 2),
                        '[n_frames] or [batch, n_frames]')
  if np.any(f0_hz < 0.0):
    raise ValueError(f'f0_hz must be >= 0 Hz, got a minimum of '
                     f'{f0_hz.min():g} Hz.')
  semitones = _curve('semitones', semitones, f0_hz.shape[-1])
  shifted = f0_hz * 2.0**(semitones / 12.0)
  return np.clip(shifted, 0.0, _midi_to_hz(MAX_MIDI)).astype(np.float32)


def shift_loudness(loudness_db: ArrayLike, db: ArrayLike) -> np.ndarray:
  """Adds a constant or a per-frame curve (dB) to a loudness curve.

  Args:
    loudness_db: Loudness in dB, [n_frames] or [batch, n_frames].
    db: A constant, or one value per frame ([n_frames] or
      [batch, n_frames]), e.g. a fade or a tremolo.

  Returns:
    float32 loudness in dB, the shape of loudness_db.

  Raises:
    ValueError: For NaN/Inf or a curve of the wrong length.
  """
  loudness_db = validation.check_finite_array(
      'loudness_db', loudness_db, (1, 2), '[n_frames] or [batch, n_frames]')
  db = _curve('db', db, loudness_db.shape[-1])
  return (loudness_db + db).astype(np.float32)


# ----------------------------------------------------------------------------
# Feature adjustment.
# ----------------------------------------------------------------------------
class QuantileTransform:
  """A monotone map between a distribution and the uniform one on [0, 1].

  Defined by quantile values at increasing levels (like stats.json's
  quantile_levels and loudness_db.quantiles); values in between are linearly
  interpolated, values outside are clipped. Runs of equal quantiles (a
  distribution with point masses) map to the middle of their levels.
  """

  def __init__(self, levels: ArrayLike, quantiles: ArrayLike):
    """Sets the quantiles.

    Args:
      levels: [n] increasing levels in [0, 1], n >= 2.
      quantiles: [n] non-decreasing values at those levels.

    Raises:
      ValueError: If the arrays differ in length, have NaN, are shorter than
        2, or are not (strictly) increasing / non-decreasing.
    """
    levels = validation.check_finite_array('levels', levels, (1,), '[n_levels]')
    quantiles = validation.check_finite_array('quantiles', quantiles, (1,),
                                              '[n_levels]')
    if levels.shape != quantiles.shape or levels.shape[0] < 2:
      raise ValueError(f'levels and quantiles need the same length >= 2, got '
                       f'{levels.shape[0]} and {quantiles.shape[0]}.')
    if np.any(np.diff(levels) <= 0) or levels[0] < 0 or levels[-1] > 1:
      raise ValueError(f'levels must increase within [0, 1], got {levels}.')
    if np.any(np.diff(quantiles) < 0):
      raise ValueError('quantiles must be non-decreasing, got '
                       f'{quantiles}.')
    self.levels = levels
    self.quantiles = quantiles

  @classmethod
  def fit(cls, values: ArrayLike, levels: ArrayLike) -> 'QuantileTransform':
    """The transform of an empirical distribution.

    Args:
      values: Samples of the distribution (any shape, at least one).
      levels: [n] increasing levels in [0, 1] to keep quantiles at.

    Returns:
      A QuantileTransform with numpy.quantile's ('linear') quantiles.
    """
    values = validation.check_finite_array('values', np.ravel(values), (1,),
                                           '[n_values]')
    levels = validation.check_finite_array('levels', levels, (1,), '[n_levels]')
    return cls(levels, np.quantile(values, levels))

  def transform(self, x: ArrayLike) -> np.ndarray:
    """Values -> levels in [levels[0], levels[-1]], the shape of x."""
    x = np.asarray(x, np.float64)
    # Interpolating up the increasing and down the reversed quantiles and
    # averaging puts a run of equal quantiles at the middle of its levels.
    upward = np.interp(x, self.quantiles, self.levels)
    downward = -np.interp(-x, -self.quantiles[::-1], -self.levels[::-1])
    return 0.5 * (upward + downward)

  def inverse_transform(self, u: ArrayLike) -> np.ndarray:
    """Levels in [0, 1] -> values, the shape of u."""
    return np.interp(np.asarray(u, np.float64), self.levels, self.quantiles)


def _statistics_transforms(dataset_statistics: Mapping[str, Any]
                           ) -> Tuple[float, QuantileTransform]:
  """(mean pitch in MIDI, loudness transform) from stats.json contents."""
  if not isinstance(dataset_statistics, Mapping):
    raise TypeError(f'dataset_statistics must be the dict of stats.json, got '
                    f'{type(dataset_statistics).__name__}.')
  try:
    mean_pitch = dataset_statistics['mean_pitch_midi']
    levels = dataset_statistics['quantile_levels']
    quantiles = dataset_statistics['loudness_db']['quantiles']
  except (KeyError, TypeError) as error:
    raise ValueError(
        f'dataset_statistics lacks {error}; it needs mean_pitch_midi, '
        'quantile_levels and loudness_db.quantiles as ddsp_tf_prepare_tfrecord '
        'writes them in stats.json.') from None
  if mean_pitch is None or not quantiles:
    raise ValueError('dataset_statistics has no voiced frames (mean_pitch_midi '
                     f'is {mean_pitch!r}); it cannot guide the adjustment. '
                     'Pass auto_adjust=False.')
  return float(mean_pitch), QuantileTransform(levels, quantiles)


def _box_smooth(x: np.ndarray, size: int) -> np.ndarray:
  """Moving average over `size` frames, zero beyond the ends, same length."""
  kernel = np.ones(size) / size
  smoothed = np.convolve(x, kernel, mode='full')
  start = (size - 1) // 2
  return smoothed[start:start + x.shape[0]]


def detect_notes(loudness_db: ArrayLike, f0_confidence: ArrayLike,
                 note_threshold: float = 1.0, exponent: float = 2.0,
                 smoothing: int = 40, f0_confidence_threshold: float = 0.7,
                 min_db: float = -core.DB_RANGE
                 ) -> Tuple[np.ndarray, np.ndarray]:
  """Marks the frames that belong to notes.

  A frame's note-on ratio is its smoothed confidence**exponent times its
  level above min_db, relative to the same product for a frame of the clip's
  mean confident loudness and confidence f0_confidence_threshold. Frames
  whose ratio reaches note_threshold are note-on.

  Args:
    loudness_db: [n_frames] loudness in dB.
    f0_confidence: [n_frames] CREPE confidence in [0, 1].
    note_threshold: Ratio at and above which a frame is note-on; lower it
      to catch quieter notes.
    exponent: Power of the confidence (higher: stricter about pitch).
    smoothing: Frames of the moving average of the powered confidence.
    f0_confidence_threshold: Frames at or above this confidence set the
      reference loudness.
    min_db: Loudness treated as silence.

  Returns:
    (mask_on bool [n_frames], note_on_ratio float32 [n_frames]). Both are
    all False / 0 when no frame reaches f0_confidence_threshold.

  Raises:
    ValueError: For mismatched or non-finite inputs or bad parameters.
  """
  loudness_db = validation.check_finite_array('loudness_db', loudness_db, (1,),
                                              '[n_frames]')
  f0_confidence = validation.check_finite_array('f0_confidence', f0_confidence,
                                                (1,), '[n_frames]')
  if loudness_db.shape != f0_confidence.shape:
    raise ValueError(f'loudness_db and f0_confidence must have the same '
                     f'shape, got {list(loudness_db.shape)} and '
                     f'{list(f0_confidence.shape)}.')
  smoothing = validation.check_int('smoothing', smoothing)
  validation.check_positive('exponent', exponent)
  validation.check_positive('f0_confidence_threshold', f0_confidence_threshold)
  confident = f0_confidence >= f0_confidence_threshold
  mean_db = np.mean(loudness_db[confident]) if np.any(confident) else min_db
  reference = (mean_db - min_db) * f0_confidence_threshold**exponent
  if reference <= 0.0:
    logger.info('No confidently pitched frames above %g dB: no notes.',
                min_db)
    zeros = np.zeros(loudness_db.shape, np.float32)
    return zeros.astype(bool), zeros
  level = _box_smooth(f0_confidence**exponent, smoothing) * (loudness_db -
                                                            min_db)
  note_on_ratio = level / reference
  return note_on_ratio >= note_threshold, note_on_ratio.astype(np.float32)


def _grid_offsets(f0_midi: np.ndarray, grid: np.ndarray) -> np.ndarray:
  """Signed distance of each pitch to the nearest note of a sorted grid."""
  index = np.clip(np.searchsorted(grid, f0_midi), 1, grid.shape[0] - 1)
  below, above = grid[index - 1], grid[index]
  nearest = np.where(f0_midi - below <= above - f0_midi, below, above)
  return f0_midi - nearest


def _chromatic_offsets(f0_midi: np.ndarray, tuning: np.ndarray) -> np.ndarray:
  """Signed distance (semitones, in [-0.5, 0.5)) to the grid n + tuning."""
  return (f0_midi - tuning + 0.5) % 1.0 - 0.5


def get_tuning_factor(f0_midi: ArrayLike, f0_confidence: ArrayLike,
                      mask_on: ArrayLike) -> float:
  """How far (semitones) a performance's tuning is from A440.

  Candidates are 101 offsets t in [-0.5, 0.5]; each defines the grid of
  notes n + t. A candidate costs the confidence-weighted mean distance of
  the note-on pitches to its grid plus the confidence-weighted rate of note
  changes when snapping to it (a grid that splits a held note between two
  neighbours is penalised); both terms are standardised over the candidates
  before they are added.

  Args:
    f0_midi: [n_frames] pitch in MIDI.
    f0_confidence: [n_frames] confidence, the weights.
    mask_on: [n_frames] bool, the frames to fit.

  Returns:
    The best offset in [-0.5, 0.5]; 0.0 when no frame is note-on.
  """
  f0_midi = validation.check_finite_array('f0_midi', f0_midi, (1,),
                                          '[n_frames]')
  f0_confidence = validation.check_finite_array('f0_confidence', f0_confidence,
                                                (1,), '[n_frames]')
  mask_on = np.asarray(mask_on, bool)
  if not f0_midi.shape == f0_confidence.shape == mask_on.shape:
    raise ValueError(f'f0_midi, f0_confidence and mask_on must have the same '
                     f'shape, got {list(f0_midi.shape)}, '
                     f'{list(f0_confidence.shape)}, {list(mask_on.shape)}.')
  if not np.any(mask_on):
    return 0.0
  candidates = np.linspace(-0.5, 0.5, 101)
  pitch = f0_midi[mask_on][:, np.newaxis]
  weights = f0_confidence[mask_on][:, np.newaxis]
  offsets = _chromatic_offsets(pitch, candidates[np.newaxis, :])
  distance_cost = np.mean(weights * np.abs(offsets), axis=0)
  snapped = np.round(pitch - offsets, 6)
  changes = (np.diff(snapped, axis=0) != 0.0).astype(np.float64)
  change_cost = (np.mean(weights[1:] * changes, axis=0) if changes.shape[0]
                 else np.zeros_like(candidates))

  def standardised(cost: np.ndarray) -> np.ndarray:
    spread = np.std(cost)
    return (cost - np.mean(cost)) / spread if spread > 0 else 0.0 * cost

  cost = standardised(distance_cost) + standardised(change_cost)
  return float(candidates[np.argmin(cost)])


def auto_tune(f0_midi: ArrayLike, tuning_factor: float, mask_on: ArrayLike,
              amount: float = 0.0, chromatic: bool = False) -> np.ndarray:
  """Pulls pitch towards the notes of a scale.

  The target grid is the chromatic scale offset by tuning_factor, or (not
  chromatic) the major scale, among the 12 transpositions of that grid, whose
  notes lie closest on average to the note-on pitches. Every frame moves
  `amount` of the way to its nearest grid note.

  Args:
    f0_midi: [n_frames] pitch in MIDI.
    tuning_factor: Grid offset in semitones (see `get_tuning_factor`).
    mask_on: [n_frames] bool, the frames that choose the scale.
    amount: 0 (unchanged) to 1 (exactly on the grid).
    chromatic: Snap to every semitone rather than a major scale.

  Returns:
    float64 [n_frames] tuned pitch in MIDI.

  Raises:
    ValueError: For amount outside [0, 1] or mismatched inputs.
  """
  f0_midi = validation.check_finite_array('f0_midi', f0_midi, (1,),
                                          '[n_frames]')
  mask_on = np.asarray(mask_on, bool)
  if mask_on.shape != f0_midi.shape:
    raise ValueError(f'mask_on must have the shape of f0_midi '
                     f'{list(f0_midi.shape)}, got {list(mask_on.shape)}.')
  if not 0.0 <= amount <= 1.0:
    raise ValueError(f'amount must be in [0, 1], got amount={amount!r}.')
  tuning_factor = float(tuning_factor)
  if chromatic:
    offsets = _chromatic_offsets(f0_midi, tuning_factor)
  else:
    major = np.array([0, 2, 4, 5, 7, 9, 11], np.float64)
    octaves = 12.0 * np.arange(-1, 12)[:, np.newaxis]
    scales = [np.sort((major + key + octaves).ravel()) + tuning_factor
              for key in range(12)]
    fit_pitch = f0_midi[mask_on] if np.any(mask_on) else f0_midi
    costs = [np.mean(np.abs(_grid_offsets(fit_pitch, scale)))
             for scale in scales]
    offsets = _grid_offsets(f0_midi, scales[int(np.argmin(costs))])
  return f0_midi - amount * offsets


def adjust_features(features: Mapping[str, np.ndarray],
                    dataset_statistics: Optional[Mapping[str, Any]] = None,
                    auto_adjust: bool = True, octave_shift: float = 0.0,
                    loudness_shift_db: float = 0.0, quiet_db: float = 20.0,
                    autotune: float = 0.0, note_threshold: float = 1.0,
                    frame_rate: int = 250) -> Dict[str, np.ndarray]:
  """Adjusts features of new audio towards a model's training data.

  With auto_adjust and dataset statistics, and when notes are detected:
  the pitch moves by the whole number of octaves that brings the note-on
  mean pitch nearest the dataset's mean pitch; note-on loudness is mapped
  onto the dataset's loudness distribution (quantile normalisation, applied
  to all frames); frames outside notes are lowered by
  quiet_db * (1 - note_on_ratio); and with autotune > 0 the pitch is pulled
  that far towards a tuned major scale. Without statistics (or notes) this
  is skipped, with a log line. The manual octave_shift and
  loudness_shift_db apply afterwards in every case, and f0 is clipped to
  MIDI 110.

  Args:
    features: Dict with 'f0_hz', 'f0_confidence' and 'loudness_db'
      [n_frames] (e.g. from `compute_features`); other keys pass through.
    dataset_statistics: The stats.json dict of the training data (an
      ExportedModel's dataset_statistics), or None.
    auto_adjust: Apply the statistics-based adjustments.
    octave_shift: Manual pitch shift in octaves (may be fractional).
    loudness_shift_db: Manual loudness shift in dB.
    quiet_db: How far (dB) to turn down frames outside notes.
    autotune: Auto-tune amount in [0, 1].
    note_threshold: detect_notes threshold.
    frame_rate: Frames per second of the features; detect_notes smooths
      over NOTE_SMOOTHING_SECS whatever the rate.

  Returns:
    A new dict: the input's keys with 'f0_hz' and 'loudness_db' adjusted
    (float32), plus 'mask_on' (bool [n_frames]), 'note_on_ratio'
    [n_frames], and the 0-d arrays 'auto_octave_shift' (octaves) and
    'tuning_factor' (semitones; 0 without auto-tune).

  Raises:
    ValueError: For missing or mismatched features, bad parameters, or
      statistics without the needed entries.
  """
  missing = [key for key in ('f0_hz', 'f0_confidence', 'loudness_db')
             if key not in features]
  if missing:
    raise ValueError(f'features lacks {missing}; compute them with '
                     'compute_features.')
  f0_hz = validation.check_finite_array('f0_hz', features['f0_hz'], (1,),
                                        '[n_frames]')
  confidence = validation.check_finite_array('f0_confidence',
                                             features['f0_confidence'], (1,),
                                             '[n_frames]')
  loudness_db = validation.check_finite_array('loudness_db',
                                              features['loudness_db'], (1,),
                                              '[n_frames]')
  if not f0_hz.shape == confidence.shape == loudness_db.shape:
    raise ValueError(f'f0_hz, f0_confidence and loudness_db must have the '
                     f'same shape, got {list(f0_hz.shape)}, '
                     f'{list(confidence.shape)}, {list(loudness_db.shape)}.')
  for name, value in (('octave_shift', octave_shift),
                      ('loudness_shift_db', loudness_shift_db),
                      ('quiet_db', quiet_db),
                      ('note_threshold', note_threshold)):
    validation.check_finite_array(name, value, (0,), 'a number')
  if quiet_db < 0:
    raise ValueError(f'quiet_db must be >= 0, got quiet_db={quiet_db!r}.')
  if not 0.0 <= autotune <= 1.0:
    raise ValueError(f'autotune must be in [0, 1], got autotune={autotune!r}.')

  adjusted = dict(features)
  mask_on = np.zeros(f0_hz.shape, bool)
  note_on_ratio = np.zeros(f0_hz.shape, np.float32)
  auto_octaves, tuning_factor = 0.0, 0.0
  if auto_adjust and dataset_statistics is None:
    logger.info('No dataset statistics: skipping the automatic adjustment '
                '(only manual shifts apply).')
  elif auto_adjust:
    target_pitch, dataset_loudness = _statistics_transforms(dataset_statistics)
    smoothing = max(1, int(round(NOTE_SMOOTHING_SECS * validation.check_rate(
        'frame_rate', frame_rate))))
    mask_on, note_on_ratio = detect_notes(loudness_db, confidence,
                                          note_threshold, smoothing=smoothing)
    if not np.any(mask_on):
      logger.info('No notes detected: skipping the automatic adjustment; try '
                  'a lower note_threshold.')
    else:
      mean_pitch = np.mean(_hz_to_midi(f0_hz[mask_on]))
      auto_octaves = float(np.round((target_pitch - mean_pitch) / 12.0))
      f0_hz = f0_hz * 2.0**auto_octaves
      own_loudness = QuantileTransform.fit(loudness_db[mask_on],
                                           dataset_loudness.levels)
      loudness_db = dataset_loudness.inverse_transform(
          own_loudness.transform(loudness_db))
      loudness_db = np.where(mask_on, loudness_db,
                             loudness_db - quiet_db * (1.0 - note_on_ratio))
      if autotune > 0.0:
        f0_midi = _hz_to_midi(f0_hz)
        tuning_factor = get_tuning_factor(f0_midi, confidence, mask_on)
        tuned = auto_tune(f0_midi, tuning_factor, mask_on, amount=autotune)
        f0_hz = np.where(f0_hz > 0.0, _midi_to_hz(tuned), 0.0)
  adjusted['f0_hz'] = shift_pitch(f0_hz, 12.0 * octave_shift)
  adjusted['loudness_db'] = shift_loudness(loudness_db, loudness_shift_db)
  adjusted['mask_on'] = mask_on
  adjusted['note_on_ratio'] = note_on_ratio
  adjusted['auto_octave_shift'] = np.asarray(auto_octaves, np.float32)
  adjusted['tuning_factor'] = np.asarray(tuning_factor, np.float32)
  return adjusted
