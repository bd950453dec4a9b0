"""Statistics of a training set, and the quantile transformer they carry.

magenta/ddsp's `ddsp.training.postprocessing` gathers these for its export
and plugin tooling (the statistics pickle of the Colabs, the metadata of
`ddsp_export --tflite`); ddsp_tf keeps them here and re-exports every name
from `ddsp_tf.training.postprocessing`, the original's path.

- `QuantileTransformer` maps each feature of an [n_samples, n_features]
  array onto a uniform or normal distribution through its empirical
  quantiles, giving the same numbers as scikit-learn's class of that name
  (dense input, the same settings), without depending on scikit-learn, so a
  pickled statistics dict does not break between scikit-learn versions.
- `fit_quantile_transform` fits one to the note-on frames of a loudness
  curve and can map that loudness onto another fitted distribution.
- `compute_dataset_statistics` runs over a DataProvider once and returns
  mean/max/min/std summaries of pitch, power and loudness, over all frames
  and over detected note frames, plus a loudness QuantileTransformer.
- `smooth` is the centred moving average (zero beyond the ends) that note
  detection uses.

Note detection here follows the original exactly (its `detect_notes` on a
[batch, n_frames] array, with its defaults); `postprocessing.detect_notes`
is ddsp_tf's own one-clip variant, which differs (see its docstring).
"""

import logging
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
from scipy import stats

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation

logger = logging.getLogger(__name__)

ArrayLike = Union[np.ndarray, float, list]
RandomState = Union[None, int, np.random.RandomState]

# Values within this distance of the fitted range are sent to its bounds
# (normal output), as scikit-learn does; it also sets the clip of the
# normal output, about +-5.2 standard deviations.
_BOUNDS_THRESHOLD = 1e-7
_OUTPUT_DISTRIBUTIONS = ('uniform', 'normal')

# compute_dataset_statistics, as the original: the last frames of each
# example are left out, and notes are detected with the original's defaults.
TRIM_FRAMES = 20
_NOTE_SMOOTHING = 40
_NOTE_EXPONENT = 2.0
_NOTE_CONFIDENCE = 0.7
_NOTE_THRESHOLD = 1.0
_FRAME_KEYS = ('f0_hz', 'f0_confidence', 'loudness_db')
_CREPE_SAMPLE_RATE = 16000


# ----------------------------------------------------------------------------
# Argument helpers.
# ----------------------------------------------------------------------------
def _float_array(name: str, x: Any, ranks: Tuple[int, ...], layout: str,
                 allow_nan: bool = False) -> np.ndarray:
  """validation.check_finite_array that keeps float32 input float32."""
  return validation.check_finite_array(name, x, ranks, layout,
                                       allow_nan=allow_nan, keep_float32=True)


def _bool_mask(name: str, mask: Any, shape: Tuple[int, ...]) -> np.ndarray:
  """A boolean mask of `shape`; 0/1 numbers are accepted as False/True."""
  array = np.asarray(mask)
  if array.dtype != bool:
    numeric = np.issubdtype(array.dtype, np.number)
    if not numeric or not np.all((array == 0) | (array == 1)):
      raise TypeError(f'{name} must be a boolean array, got dtype '
                      f'{array.dtype}.')
    array = array.astype(bool)
  if array.shape != shape:
    raise ValueError(f'{name} must have the shape of loudness_db '
                     f'{list(shape)}, got {list(array.shape)}.')
  return array


# ----------------------------------------------------------------------------
# Quantile transformer.
# ----------------------------------------------------------------------------
class QuantileTransformer:
  """Maps each feature onto a uniform or normal distribution by quantiles.

  `fit` keeps, per feature (column), the values at n_quantiles evenly
  spaced levels 0..1 (numpy's linear percentiles, NaN ignored).
  `transform` maps a value to its level by linear interpolation between
  those quantiles (a run of equal quantiles maps to the middle of its
  levels; values outside the fitted range go to 0 or 1), then, for a
  'normal' output, through the standard normal's inverse CDF, clipped to
  about +-5.2. `inverse_transform` undoes this. The numbers are those of
  sklearn.preprocessing.QuantileTransformer on dense input with the same
  n_quantiles, output_distribution, subsample and random state; the
  default subsample is the original's 1e5 (scikit-learn's is now 1e4).

  The fitted state is in the attributes `n_quantiles_`, `references_` (the
  levels, [n_quantiles_]), `quantiles_` ([n_quantiles_, n_features]) and
  `n_features_in_`, named as in scikit-learn and the original.
  """

  def __init__(self, n_quantiles: int = 1000,
               output_distribution: str = 'uniform',
               subsample: int = int(1e5), random_state: RandomState = None):
    """Sets the options.

    Args:
      n_quantiles: Quantiles kept per feature (at least 1). Fits to fewer
        samples keep one per sample.
      output_distribution: 'uniform' (levels in [0, 1]) or 'normal'.
      subsample: At most this many samples (rows, drawn without
        replacement) are used to fit.
      random_state: Draws the subsample: None uses numpy's global random
        state (as the original; `np.random.seed` makes it repeatable), an
        int seeds a fresh np.random.RandomState, or pass a RandomState.

    Raises:
      ValueError: For n_quantiles or subsample below 1 or not whole, or an
        unknown output_distribution.
      TypeError: For a random_state of another type.
    """
    self.n_quantiles = validation.check_int('n_quantiles', n_quantiles)
    validation.check_choice('output_distribution', output_distribution,
                            _OUTPUT_DISTRIBUTIONS)
    self.output_distribution = output_distribution
    self.subsample = validation.check_int('subsample', subsample)
    if not (random_state is None or
            isinstance(random_state, np.random.RandomState) or
            (isinstance(random_state, (int, np.integer)) and
             not isinstance(random_state, bool))):
      raise TypeError('random_state must be None, an int or a '
                      f'np.random.RandomState, got {random_state!r}.')
    self.random_state = random_state

  def __repr__(self) -> str:
    return (f'QuantileTransformer(n_quantiles={self.n_quantiles}, '
            f'output_distribution={self.output_distribution!r}, '
            f'subsample={self.subsample})')

  def _generator(self) -> np.random.RandomState:
    """The random state that draws the subsample."""
    if self.random_state is None:
      return np.random.mtrand._rand  # pylint: disable=protected-access
    if isinstance(self.random_state, np.random.RandomState):
      return self.random_state
    return np.random.RandomState(self.random_state)

  def _check_fitted_input(self, x: ArrayLike) -> np.ndarray:
    """A 2-D copy of x with the fitted number of features."""
    if not hasattr(self, 'quantiles_'):
      raise ValueError('This QuantileTransformer is not fitted yet; call fit '
                       'first.')
    array = _float_array('x', x, (2,), '[n_samples, n_features]',
                         allow_nan=True)
    if array.shape[1] != self.n_features_in_:
      raise ValueError(f'x has {array.shape[1]} features (columns), but the '
                       f'transformer was fitted to {self.n_features_in_}.')
    return array.copy()

  def fit(self, x: ArrayLike) -> 'QuantileTransformer':
    """Computes the quantiles of each feature.

    Args:
      x: [n_samples, n_features] data (NaN is ignored; at least one sample,
        and every feature needs a non-NaN value).

    Returns:
      self, fitted.

    Raises:
      ValueError: For a shape other than 2-D, no samples, Inf, a feature
        that is all NaN, or invalid options.
      TypeError: For non-numeric x.
    """
    # Options may have been changed since construction; check them again.
    validation.check_int('n_quantiles', self.n_quantiles)
    validation.check_int('subsample', self.subsample)
    validation.check_choice('output_distribution', self.output_distribution,
                            _OUTPUT_DISTRIBUTIONS)
    array = _float_array('x', x, (2,), '[n_samples, n_features] (use '
                         'x[:, np.newaxis] for one feature)', allow_nan=True)
    n_samples = array.shape[0]
    empty_features = np.flatnonzero(np.all(np.isnan(array), axis=0))
    if empty_features.size:
      raise ValueError(f'x has no non-NaN value in feature(s) '
                       f'{empty_features.tolist()}; cannot fit quantiles.')
    self.n_quantiles_ = min(self.n_quantiles, n_samples)
    self.references_ = np.linspace(0.0, 1.0, self.n_quantiles_, endpoint=True)
    if self.subsample < n_samples:
      # A permutation's head: the rows scikit-learn's resample and the
      # original's RandomState.choice draw from the same random state.
      rows = self._generator().permutation(n_samples)[:self.subsample]
      array = array[rows]
      if np.any(np.all(np.isnan(array), axis=0)):
        raise ValueError(f'The subsample of {self.subsample} rows has a '
                         'feature that is all NaN; raise subsample.')
    quantiles = np.nanpercentile(array, self.references_ * 100, axis=0)
    # Linear percentiles can dip by an ulp between neighbouring levels;
    # keep the quantiles non-decreasing.
    self.quantiles_ = np.maximum.accumulate(quantiles, axis=0)
    self.n_features_in_ = array.shape[1]
    return self

  def _map_feature(self, column: np.ndarray, quantiles: np.ndarray,
                   inverse: bool) -> np.ndarray:
    """Transforms (or inverts) one feature; column is modified and returned."""
    normal = self.output_distribution == 'normal'
    if inverse:
      low_in, high_in = 0.0, 1.0
      low_out, high_out = quantiles[0], quantiles[-1]
      if normal:
        column = stats.norm.cdf(column)
    else:
      low_in, high_in = quantiles[0], quantiles[-1]
      low_out, high_out = 0.0, 1.0
    with np.errstate(invalid='ignore'):
      if normal:
        at_low = column - _BOUNDS_THRESHOLD < low_in
        at_high = column + _BOUNDS_THRESHOLD > high_in
      else:
        at_low = column == low_in
        at_high = column == high_in
    present = ~np.isnan(column)
    values = column[present]
    if inverse:
      column[present] = np.interp(values, self.references_, quantiles)
    else:
      # Interpolating up the increasing quantiles and down the reversed
      # ones, then averaging, puts a run of equal quantiles at the middle
      # of its levels instead of at one end.
      upward = np.interp(values, quantiles, self.references_)
      downward = -np.interp(-values, -quantiles[::-1], -self.references_[::-1])
      column[present] = 0.5 * (upward + downward)
    column[at_high] = high_out
    column[at_low] = low_out
    if normal and not inverse:
      with np.errstate(invalid='ignore'):
        column = stats.norm.ppf(column)
        margin = _BOUNDS_THRESHOLD - np.spacing(1)
        column = np.clip(column, stats.norm.ppf(margin),
                         stats.norm.ppf(1 - margin))
    return column

  def _map(self, x: ArrayLike, inverse: bool) -> np.ndarray:
    array = self._check_fitted_input(x)
    for feature in range(array.shape[1]):
      array[:, feature] = self._map_feature(
          array[:, feature], self.quantiles_[:, feature], inverse)
    return array

  def transform(self, x: ArrayLike) -> np.ndarray:
    """Maps values to the output distribution.

    Args:
      x: [n_samples, n_features] values (NaN passes through).

    Returns:
      A new array like x (float32 stays float32, else float64): levels in
      [0, 1] for 'uniform', standard normal values for 'normal'.

    Raises:
      ValueError: If not fitted, or x is not 2-D with the fitted number of
        features, or has Inf.
    """
    return self._map(x, inverse=False)

  def inverse_transform(self, x: ArrayLike) -> np.ndarray:
    """Maps output-distribution values back to the fitted data's range.

    Args:
      x: [n_samples, n_features] levels ('uniform') or normal values.

    Returns:
      A new array like x, in the units the transformer was fitted to.

    Raises:
      ValueError: As for transform.
    """
    return self._map(x, inverse=True)

  def fit_transform(self, x: ArrayLike) -> np.ndarray:
    """`fit(x)` then `transform(x)`.

    Args:
      x: [n_samples, n_features] data.

    Returns:
      The transformed x.
    """
    return self.fit(x).transform(x)


def fit_quantile_transform(
    loudness_db: ArrayLike, mask_on: ArrayLike,
    inv_quantile: Optional[Any] = None
) -> Union[QuantileTransformer, Tuple[QuantileTransformer, np.ndarray]]:
  """Fits a QuantileTransformer to the loudness of the note-on frames.

  Args:
    loudness_db: Loudness in dB, [n_frames] or [batch, n_frames].
    mask_on: Boolean note-on mask of the same shape (0/1 numbers are
      accepted); at least one frame must be on.
    inv_quantile: Optional fitted transformer (anything with
      `inverse_transform`, e.g. a dataset's 'quantile_transform'). When
      given, the note-on loudness is mapped through the new transform and
      then back through inv_quantile, i.e. onto inv_quantile's distribution.

  Returns:
    The fitted QuantileTransformer (default options, uniform output); with
    inv_quantile, also the renormalised loudness [loudness_db.size, 1]
    (frames in row-major order): note-on frames mapped, the others
    unchanged.

  Raises:
    ValueError: For mismatched shapes, non-finite loudness or no note-on
      frame.
    TypeError: For a non-boolean mask or an inv_quantile without
      inverse_transform.
  """
  loudness = _float_array('loudness_db', loudness_db, (1, 2),
                          '[n_frames] or [batch, n_frames]')
  mask = _bool_mask('mask_on', mask_on, loudness.shape)
  if not np.any(mask):
    raise ValueError('mask_on has no note-on frame; nothing to fit (the '
                     f'mask has shape {list(mask.shape)}).')
  if inv_quantile is not None and not hasattr(inv_quantile,
                                              'inverse_transform'):
    raise TypeError('inv_quantile must be a fitted QuantileTransformer (or '
                    f'have inverse_transform), got {type(inv_quantile)}.')
  transform = QuantileTransformer()
  levels = transform.fit_transform(loudness[mask][:, np.newaxis])
  if inv_quantile is None:
    return transform
  renormalised = loudness.reshape(-1, 1).copy()
  renormalised[mask.reshape(-1)] = inv_quantile.inverse_transform(levels)
  return transform, renormalised


# ----------------------------------------------------------------------------
# Smoothing and the original's note detection.
# ----------------------------------------------------------------------------
def smooth(x: ArrayLike, filter_size: int = 3) -> np.ndarray:
  """Centred moving average over time, with zeros beyond both ends.

  Output frame t is the sum of x[t - (filter_size - 1) // 2] ..
  x[t + filter_size // 2] divided by filter_size (frames outside x count
  as 0, so the ends are pulled towards 0): a convolution with a box of
  filter_size taps and 'SAME' padding, as tf.nn.conv1d does it (for an
  even size the extra tap is on the later side).

  Args:
    x: [n_frames] or [batch, n_frames] signal; batch rows are smoothed
      separately.
    filter_size: Width of the box in frames (at least 1; may exceed
      n_frames).

  Returns:
    float32 array of x's shape.

  Raises:
    ValueError: For another rank, an empty or non-finite x, or a bad
      filter_size.
  """
  filter_size = validation.check_int('filter_size', filter_size)
  signal = validation.check_finite_array('x', x, (1, 2),
                                         '[n_frames] or [batch, n_frames]')
  before = (filter_size - 1) // 2
  after = filter_size - 1 - before
  padding = [(0, 0)] * (signal.ndim - 1) + [(before, after)]
  padded = np.pad(signal, padding)
  windows = np.lib.stride_tricks.sliding_window_view(padded, filter_size,
                                                     axis=-1)
  return (windows.sum(axis=-1) / filter_size).astype(np.float32)


def _original_note_mask(loudness_db: np.ndarray,
                        f0_confidence: np.ndarray) -> np.ndarray:
  """The original's detect_notes mask for [batch, n_frames], its defaults.

  The reference level is the mean loudness over every frame of the batch
  (not only confident ones); rows are smoothed separately. Where that mean
  is at or below -DB_RANGE (all silent) no frame is a note (the original
  divided by zero there).
  """
  min_db = -core.DB_RANGE
  reference = ((np.mean(loudness_db) - min_db) *
               _NOTE_CONFIDENCE**_NOTE_EXPONENT)
  if not reference > 0:
    return np.zeros(loudness_db.shape, bool)
  level = smooth(f0_confidence**_NOTE_EXPONENT, _NOTE_SMOOTHING) * (
      loudness_db - min_db)
  return level / reference >= _NOTE_THRESHOLD


# ----------------------------------------------------------------------------
# Dataset statistics.
# ----------------------------------------------------------------------------
def _summary(x: np.ndarray, prefix: str,
             mask: Optional[np.ndarray] = None) -> Dict[str, float]:
  """mean/max/min/std of x [batch, n_frames] (masked frames only if given),
  and the means over examples of each example's max and min."""
  if mask is None:
    values = x
    row_max, row_min = np.max(x, axis=1), np.min(x, axis=1)
  else:
    rows = [row[keep] for row, keep in zip(x, mask) if np.any(keep)]
    values = x[mask]
    row_max = np.array([np.max(row) for row in rows])
    row_min = np.array([np.min(row) for row in rows])
  return {
      f'mean_{prefix}': float(np.mean(values)),
      f'max_{prefix}': float(np.max(values)),
      f'min_{prefix}': float(np.min(values)),
      f'mean_max_{prefix}': float(np.mean(row_max)),
      f'mean_min_{prefix}': float(np.mean(row_min)),
      f'std_{prefix}': float(np.std(values)),
  }


def _frames(key: str, value: Any) -> np.ndarray:
  """A batched frame feature as a [batch, n_frames] numpy array."""
  array = np.asarray(value)
  if array.ndim == 3 and array.shape[-1] == 1:
    array = array[..., 0]
  if array.ndim != 2:
    raise ValueError(f'Batches must hold {key} as [batch, n_frames] (or '
                     f'[batch, n_frames, 1]), got shape {list(array.shape)}.')
  return array


def compute_dataset_statistics(data_provider: Any, batch_size: int = 1,
                               power_frame_size: int = 1024,
                               power_frame_rate: int = 50
                               ) -> Dict[str, Any]:
  """Summarises a dataset's pitch, power and loudness, as the original.

  One pass over `data_provider.get_batch(batch_size, shuffle=False,
  repeats=1, drop_remainder=False)` (every example once). Power is
  `spectral_ops.compute_power` of 'audio_16k' (at 16 kHz) when the
  batches have it, else of 'audio' (at the provider's sample_rate), with
  power_frame_size and power_frame_rate and centred frames. The last 20
  frames of every example are left out. Note frames are detected with the
  original's detect_notes defaults over the whole dataset (confidence**2
  smoothed over 40 frames, times the level above -80 dB, against the mean
  loudness); an example with no note frame counts all its frames as notes.

  Power and the frame features must have the same number of frames, so
  power_frame_rate must equal the dataset's frame rate and the features
  must be centred (e.g. TFRecordProvider(frame_rate=50, centered=True) for
  the defaults, as the original's plugin workflow prepares them).

  Args:
    data_provider: A DataProvider (ddsp_tf.training.data) whose batches
      hold 'f0_hz', 'f0_confidence', 'loudness_db' [batch, n_frames] and
      'audio_16k' or 'audio' [batch, n_samples].
    batch_size: Examples per batch while reading.
    power_frame_size: Samples per power frame.
    power_frame_rate: Power frames per second.

  Returns:
    A dict of floats: for each prefix in pitch (MIDI, from f0_hz; 0 Hz is
    MIDI 0), power (dB), loudness (dB) and their note-frame versions
    pitch_note, power_note, loudness_note, the keys mean_<prefix>,
    max_<prefix>, min_<prefix>, std_<prefix> (population std), and
    mean_max_<prefix>, mean_min_<prefix> (per-example max and min, averaged
    over examples); and 'quantile_transform', a QuantileTransformer fitted
    to the note-frame loudness.

  Raises:
    ValueError: For bad arguments, a dataset with no examples, missing
      features, examples of 20 frames or fewer, or power frames that do not
      line up with the frame features.
    TypeError: If data_provider has no get_batch.
  """
  if not callable(getattr(data_provider, 'get_batch', None)):
    raise TypeError('data_provider must be a DataProvider with get_batch, got '
                    f'{type(data_provider).__name__}.')
  batch_size = validation.check_int('batch_size', batch_size)
  power_frame_size = validation.check_int('power_frame_size', power_frame_size)
  power_frame_rate = validation.check_rate('power_frame_rate',
                                           power_frame_rate)
  logger.info('Computing dataset statistics of %s.', data_provider)
  dataset = data_provider.get_batch(batch_size, shuffle=False, repeats=1,
                                    drop_remainder=False)

  collected: Dict[str, List[np.ndarray]] = {
      key: [] for key in _FRAME_KEYS + ('power_db',)}
  audio_key, sample_rate, n_frames = None, None, None
  for batch in dataset:
    if audio_key is None:
      missing = [key for key in _FRAME_KEYS if key not in batch]
      if 'audio_16k' not in batch and 'audio' not in batch:
        missing.append('audio_16k or audio')
      if missing:
        raise ValueError(f'The batches lack {missing}; they have '
                         f'{sorted(batch.keys())}.')
      audio_key = 'audio_16k' if 'audio_16k' in batch else 'audio'
      sample_rate = (_CREPE_SAMPLE_RATE if audio_key == 'audio_16k' else
                     getattr(data_provider, 'sample_rate', _CREPE_SAMPLE_RATE))
    features = {key: _frames(key, batch[key]) for key in _FRAME_KEYS}
    shapes = {key: list(value.shape) for key, value in features.items()}
    if len({tuple(shape) for shape in shapes.values()}) != 1:
      raise ValueError(f'The frame features differ in shape: {shapes}.')
    power = spectral_ops.compute_power(
        batch[audio_key], sample_rate=sample_rate, frame_rate=power_frame_rate,
        frame_size=power_frame_size).numpy()
    frames = features['loudness_db'].shape[1]
    if power.shape[-1] != frames:
      raise ValueError(
          f'Power at power_frame_rate={power_frame_rate} has '
          f'{power.shape[-1]} frames per example, the frame features '
          f'{frames}; the note mask of the frame features must line up with '
          'power. Pass the dataset\'s frame rate as power_frame_rate and use '
          'centred features (e.g. TFRecordProvider(centered=True)).')
    if n_frames is not None and frames != n_frames:
      raise ValueError(f'Examples differ in length: {n_frames} and {frames} '
                       'frames.')
    n_frames = frames
    for key, value in features.items():
      collected[key].append(value)
    collected['power_db'].append(power)
  if audio_key is None:
    raise ValueError(f'data_provider {data_provider} yielded no examples.')
  if n_frames <= TRIM_FRAMES:
    raise ValueError(f'Examples need more than {TRIM_FRAMES} frames (the last '
                     f'{TRIM_FRAMES} are left out), got {n_frames}.')

  keep = slice(0, n_frames - TRIM_FRAMES)
  data = {key: np.concatenate(value, axis=0)[:, keep]
          for key, value in collected.items()}
  for key, value in data.items():
    if not np.all(np.isfinite(value)):
      raise ValueError(f'{key} has NaN or Inf values; cannot summarise it.')
  logger.info('Computing statistics of %d examples.', data['f0_hz'].shape[0])
  pitch = core.hz_to_midi(data['f0_hz']).numpy()
  loudness = data['loudness_db']
  mask_on = _original_note_mask(loudness, data['f0_confidence'])
  # An example without notes contributes all of its frames.
  mask_on |= ~np.any(mask_on, axis=1, keepdims=True)

  statistics: Dict[str, Any] = {}
  for prefix, values in (('pitch', pitch), ('power', data['power_db']),
                         ('loudness', loudness)):
    statistics.update(_summary(values, prefix))
  for prefix, values in (('pitch', pitch), ('power', data['power_db']),
                         ('loudness', loudness)):
    statistics.update(_summary(values, f'{prefix}_note', mask_on))
  statistics['quantile_transform'] = fit_quantile_transform(loudness, mask_on)
  return statistics
