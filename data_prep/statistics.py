"""Dataset statistics as a Beam CombineFn with bounded memory.

Loudness (dB) and pitch (MIDI) are summarized over voiced frames, those with
f0_confidence >= confidence_threshold (default 0.7, the threshold the
original's note detection uses for dataset statistics). Each frame is counted
once even though overlapping windows repeat it: a chunk summarizes only the
frames it owns (examples.Chunk.owned).

Values go into fixed histograms of 0.01 dB / 0.01 semitone bins, so the
accumulator has the same size for one file or a million. Quantiles are read
from the histograms, interpolated between order statistics as numpy.quantile
does, and are exact to within half a bin (0.005); means, standard deviations,
minima and maxima are exact.
"""

import dataclasses
from typing import Any, Dict, Iterable, List

import apache_beam as beam
import numpy as np

from data_prep import examples
from ddsp_tf import core

FORMAT_VERSION = 1
DEFAULT_CONFIDENCE_THRESHOLD = 0.7
QUANTILE_LEVELS = tuple(np.round(np.linspace(0.0, 1.0, 101), 2).tolist())
_BIN_WIDTH = 0.01
LOUDNESS_RANGE_DB = (-80.0, 20.0)
PITCH_RANGE_MIDI = (0.0, 128.0)


class Histogram:
  """Counts of values in equal bins over [low, high), plus exact moments.

  Values outside [low, high) are counted in the first or last bin; min and
  max (the 0 and 1 quantiles) stay exact.
  """

  def __init__(self, low: float, high: float, bin_width: float = _BIN_WIDTH):
    """Creates an empty histogram.

    Args:
      low: Lower edge of the first bin.
      high: Upper edge of the last bin; > low.
      bin_width: Width of every bin; > 0.
    """
    if not high > low or not bin_width > 0:
      raise ValueError(f'Need high > low and bin_width > 0, got low={low!r}, '
                       f'high={high!r}, bin_width={bin_width!r}.')
    self.low, self.bin_width = float(low), float(bin_width)
    self.counts = np.zeros(int(round((high - low) / bin_width)), np.int64)
    self.total = 0
    self.sum = 0.0
    self.sum_squares = 0.0
    self.min = np.inf
    self.max = -np.inf

  def add(self, values: np.ndarray) -> None:
    """Counts values (any shape; NaN is not allowed)."""
    values = np.asarray(values, np.float64).ravel()
    if not values.size:
      return
    bins = np.clip(np.floor((values - self.low) / self.bin_width), 0,
                   len(self.counts) - 1).astype(np.int64)
    self.counts += np.bincount(bins, minlength=len(self.counts))
    self.total += values.size
    self.sum += float(values.sum())
    self.sum_squares += float(np.square(values).sum())
    self.min = min(self.min, float(values.min()))
    self.max = max(self.max, float(values.max()))

  def merge(self, other: 'Histogram') -> None:
    """Adds another histogram with the same bins into this one."""
    self.counts += other.counts
    self.total += other.total
    self.sum += other.sum
    self.sum_squares += other.sum_squares
    self.min = min(self.min, other.min)
    self.max = max(self.max, other.max)

  def _order_statistics(self, ranks: np.ndarray) -> np.ndarray:
    """k-th smallest values (0-based ranks): bin centres, exact at the ends."""
    bins = np.searchsorted(np.cumsum(self.counts), ranks, side='right')
    centres = np.clip(self.low + (bins + 0.5) * self.bin_width, self.min,
                      self.max)
    centres[ranks == 0] = self.min
    centres[ranks == self.total - 1] = self.max
    return centres

  def quantiles(self, levels: Iterable[float]) -> List[float]:
    """Quantiles at levels in [0, 1], as numpy.quantile's 'linear' method.

    Args:
      levels: Quantile levels.

    Returns:
      One value per level; empty if no value was added.
    """
    if not self.total:
      return []
    position = np.asarray(list(levels), np.float64) * (self.total - 1)
    below, above = np.floor(position), np.ceil(position)
    low_values = self._order_statistics(below)
    high_values = self._order_statistics(above)
    return (low_values + (position - below) * (high_values - low_values)
            ).tolist()

  def describe(self) -> Dict[str, Any]:
    """count, mean, std, min, max and quantiles (None values if empty)."""
    if not self.total:
      return {'count': 0, 'mean': None, 'std': None, 'min': None, 'max': None,
              'quantiles': []}
    mean = self.sum / self.total
    variance = max(self.sum_squares / self.total - mean**2, 0.0)
    return {'count': self.total, 'mean': mean, 'std': float(np.sqrt(variance)),
            'min': self.min, 'max': self.max,
            'quantiles': self.quantiles(QUANTILE_LEVELS)}


@dataclasses.dataclass
class ChunkSummary:
  """What one chunk contributes to the statistics.

  Attributes:
    files: 1 for a file's first chunk, else 0.
    audio_secs: Seconds of audio the chunk owns.
    examples_train: Examples written to train.
    examples_eval: Examples written to eval.
    frames: Frames the chunk owns.
    loudness_db: Loudness of the owned voiced frames.
    f0_midi: Pitch of the owned voiced frames.
  """
  files: int
  audio_secs: float
  examples_train: int
  examples_eval: int
  frames: int = 0
  loudness_db: np.ndarray = dataclasses.field(
      default_factory=lambda: np.zeros([0], np.float32))
  f0_midi: np.ndarray = dataclasses.field(
      default_factory=lambda: np.zeros([0], np.float32))


def summarize_chunk(chunk: examples.Chunk, features: Dict[str, np.ndarray],
                    examples_train: int, examples_eval: int,
                    confidence_threshold: float) -> ChunkSummary:
  """The statistics of the frames a chunk owns.

  Args:
    chunk: The chunk.
    features: From examples.chunk_features.
    examples_train: Examples it wrote to train.
    examples_eval: Examples it wrote to eval.
    confidence_threshold: Frames with f0_confidence >= this are voiced.

  Returns:
    Its ChunkSummary.
  """
  summary = ChunkSummary(files=int(chunk.index == 0),
                         audio_secs=chunk.owned_secs,
                         examples_train=examples_train,
                         examples_eval=examples_eval)
  if 'f0_hz' in features:
    span_start, _ = chunk.span('frames')
    start, stop = chunk.owned('frames')
    owned = slice(start - span_start, stop - span_start)
    voiced = features['f0_confidence'][owned] >= confidence_threshold
    summary.frames = stop - start
    summary.loudness_db = features['loudness_db'][owned][voiced]
    summary.f0_midi = np.asarray(core.hz_to_midi(
        features['f0_hz'][owned][voiced]))
  return summary


class DatasetStatisticsFn(beam.CombineFn):
  """Combines ChunkSummary elements into the dataset statistics.

  The output is a JSON-ready dict: counts of files, examples (train and eval),
  audio seconds and frames (all and voiced), and for loudness_db and f0_midi
  the count, mean, std, min, max and quantiles at QUANTILE_LEVELS.
  """

  def create_accumulator(self) -> Dict[str, Any]:
    return {'files': 0, 'audio_secs': 0.0, 'examples_train': 0,
            'examples_eval': 0, 'frames': 0,
            'loudness_db': Histogram(*LOUDNESS_RANGE_DB),
            'f0_midi': Histogram(*PITCH_RANGE_MIDI)}

  def add_input(self, accumulator: Dict[str, Any],
                summary: ChunkSummary) -> Dict[str, Any]:
    for name in ('files', 'audio_secs', 'examples_train', 'examples_eval',
                 'frames'):
      accumulator[name] += getattr(summary, name)
    accumulator['loudness_db'].add(summary.loudness_db)
    accumulator['f0_midi'].add(summary.f0_midi)
    return accumulator

  def merge_accumulators(self, accumulators: Iterable[Dict[str, Any]]
                         ) -> Dict[str, Any]:
    accumulators = iter(accumulators)
    merged = next(accumulators)
    for accumulator in accumulators:
      for name, value in accumulator.items():
        if isinstance(value, Histogram):
          merged[name].merge(value)
        else:
          merged[name] += value
    return merged

  def extract_output(self, accumulator: Dict[str, Any]) -> Dict[str, Any]:
    loudness = accumulator['loudness_db'].describe()
    pitch = accumulator['f0_midi'].describe()
    return {
        'files': accumulator['files'],
        'examples': {'train': accumulator['examples_train'],
                     'eval': accumulator['examples_eval']},
        'audio_seconds': accumulator['audio_secs'],
        'frames': {'total': accumulator['frames'],
                   'voiced': loudness['count']},
        'mean_loudness_db': loudness['mean'],
        'mean_pitch_midi': pitch['mean'],
        'quantile_levels': list(QUANTILE_LEVELS),
        'loudness_db': loudness,
        'f0_midi': pitch,
    }
