"""The data providers' base classes: DataProvider and the TFRecord readers.

The other provider modules (`data`, `data_multi`, `data_urmp`) build on
these; `ddsp_tf.training.data` re-exports every name, and the gin names are
`ddsp_tf.training.data.*` as in magenta/ddsp.
"""

from typing import Dict, Optional

import gin
import tensorflow as tf

from ddsp_tf import formats
from ddsp_tf import spectral_ops
from ddsp_tf import validation

_AUTOTUNE = tf.data.AUTOTUNE
_CREPE_SAMPLE_RATE = formats.FEATURE_SAMPLE_RATE
_GIN_MODULE = 'ddsp_tf.training.data'


class DataProvider:
  """Base class: a dataset of examples at known sample and frame rates."""

  def __init__(self, sample_rate: int, frame_rate: int):
    """Records the rates.

    Args:
      sample_rate: Audio samples per second.
      frame_rate: Feature frames per second.
    """
    self._sample_rate = validation.check_int('sample_rate', sample_rate)
    self._frame_rate = validation.check_int('frame_rate', frame_rate)

  @property
  def sample_rate(self) -> int:
    """Audio samples per second."""
    return self._sample_rate

  @property
  def frame_rate(self) -> int:
    """Feature frames per second."""
    return self._frame_rate

  def get_dataset(self, shuffle: bool = True) -> tf.data.Dataset:
    """A dataset of single examples.

    Args:
      shuffle: Shuffle the order of files (and hence of examples).

    Returns:
      A tf.data.Dataset of feature dicts.
    """
    raise NotImplementedError

  def get_batch(self, batch_size: int, shuffle: bool = True, repeats: int = -1,
                drop_remainder: bool = True) -> tf.data.Dataset:
    """Batches of examples.

    Args:
      batch_size: Examples per batch.
      shuffle: Shuffle the order of files.
      repeats: Passes over the data; -1 repeats forever.
      drop_remainder: Drop a last batch smaller than batch_size.

    Returns:
      A tf.data.Dataset of batched feature dicts.
    """
    batch_size = validation.check_int('batch_size', batch_size)
    dataset = self.get_dataset(shuffle).repeat(repeats)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(_AUTOTUNE)


@gin.register(module=_GIN_MODULE)
class TFRecordProvider(DataProvider):
  """Reads the TFRecord shards that ddsp_tf_prepare_tfrecord writes.

  Each example holds fixed-length float features: 'audio'
  [example_secs * sample_rate], 'audio_16k' [example_secs * 16000] and
  'f0_hz', 'f0_confidence', 'loudness_db' [n_frames], where n_frames counts
  the frames of example_secs of 16 kHz audio at frame_rate with 'center'
  (centered) or 'same' padding: 1000 (1001 centered) for 4 s at 250 Hz.
  """

  def __init__(self, file_pattern: Optional[str] = None,
               example_secs: float = 4, sample_rate: int = 16000,
               frame_rate: int = 250, centered: bool = False):
    """Describes the files.

    Args:
      file_pattern: Glob of the shards, e.g. '/data/train.tfrecord*'; None
        uses default_file_pattern.
      example_secs: Seconds per example.
      sample_rate: Rate of the 'audio' feature.
      frame_rate: Rate of the frame features; must divide 16000.
      centered: Whether the data were prepared with --center.
    """
    super().__init__(sample_rate, frame_rate)
    validation.check_positive('example_secs', example_secs)
    self._file_pattern = file_pattern or self.default_file_pattern
    self._example_secs = example_secs
    self._centered = centered
    self._audio_length = self._samples(sample_rate)
    self._audio_16k_length = self._samples(_CREPE_SAMPLE_RATE)
    hop = _CREPE_SAMPLE_RATE / frame_rate
    if hop != int(hop):
      raise ValueError(f'frame_rate must divide {_CREPE_SAMPLE_RATE}, got '
                       f'frame_rate={frame_rate!r}.')
    self._n_frames = spectral_ops.get_framed_lengths(
        self._audio_16k_length, formats.FEATURE_FRAME_SIZE, int(hop),
        formats.feature_padding(centered))[0]

  def _samples(self, rate: int) -> int:
    samples = self._example_secs * rate
    if samples != int(samples):
      raise ValueError(
          f'example_secs * rate must be a whole number of samples, got '
          f'example_secs={self._example_secs!r} at {rate} Hz.')
    return int(samples)

  @property
  def default_file_pattern(self) -> str:
    """The pattern used when none is given; this class has none."""
    name = type(self).__name__
    raise NotImplementedError(
        f'{name} needs a file_pattern, e.g. '
        f"{name}(file_pattern='/data/train.tfrecord*') or the gin "
        f"binding {name}.file_pattern = '...'.")

  def _no_files_message(self) -> str:
    """The error message when no file matches (subclasses add context)."""
    return f'No file matches file_pattern={self._file_pattern!r}.'

  @property
  def features_dict(self) -> Dict[str, tf.io.FixedLenFeature]:
    """The feature spec parsed from each record."""
    frames = tf.io.FixedLenFeature([self._n_frames], dtype=tf.float32)
    spec = {
        'audio': tf.io.FixedLenFeature([self._audio_length], tf.float32),
        'audio_16k': tf.io.FixedLenFeature([self._audio_16k_length],
                                           tf.float32),
    }
    spec.update({key: frames for key in formats.FRAME_FEATURE_KEYS})
    return spec

  def get_dataset(self, shuffle: bool = True) -> tf.data.Dataset:
    """Parsed examples from every file that matches the pattern.

    Args:
      shuffle: Shuffle the order of files.

    Returns:
      A tf.data.Dataset of feature dicts.

    Raises:
      FileNotFoundError: If no file matches the pattern.
    """
    if not tf.io.gfile.glob(self._file_pattern):
      raise FileNotFoundError(self._no_files_message())
    features = self.features_dict

    def parse(record):
      return tf.io.parse_single_example(record, features)

    files = tf.data.Dataset.list_files(self._file_pattern, shuffle=shuffle)
    dataset = files.interleave(tf.data.TFRecordDataset, cycle_length=40,
                               num_parallel_calls=_AUTOTUNE,
                               deterministic=not shuffle)
    return dataset.map(parse, num_parallel_calls=_AUTOTUNE,
                       deterministic=not shuffle)


@gin.register(module=_GIN_MODULE)
class LegacyTFRecordProvider(TFRecordProvider):
  """TFRecordProvider for older datasets that have no 'audio_16k' feature.

  Examples hold 'audio' [example_secs * sample_rate] and 'f0_hz',
  'f0_confidence', 'loudness_db' [n_frames] (see TFRecordProvider).
  """

  @property
  def features_dict(self) -> Dict[str, tf.io.FixedLenFeature]:
    """The feature spec parsed from each record."""
    spec = super().features_dict
    del spec['audio_16k']
    return spec
