"""Data providers: datasets of DDSP examples as tf.data pipelines.

A provider yields dicts of float32 tensors keyed by feature name ('audio',
'audio_16k', 'f0_hz', 'f0_confidence', 'loudness_db'). Frame features come
out as [n_frames] per example ([batch, n_frames] batched); preprocessors add
the channel axis.
"""

from typing import Dict, Optional

import gin
import tensorflow as tf

from ddsp_tf import formats
from ddsp_tf import spectral_ops
from ddsp_tf import validation

_AUTOTUNE = tf.data.AUTOTUNE
_CREPE_SAMPLE_RATE = formats.FEATURE_SAMPLE_RATE


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


@gin.register
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
    raise NotImplementedError(
        'TFRecordProvider needs a file_pattern, e.g. '
        "TFRecordProvider(file_pattern='/data/train.tfrecord*') or the gin "
        "binding TFRecordProvider.file_pattern = '...'.")

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
      raise FileNotFoundError(
          f'No file matches file_pattern={self._file_pattern!r}.')
    features = self.features_dict

    def parse(record):
      return tf.io.parse_single_example(record, features)

    files = tf.data.Dataset.list_files(self._file_pattern, shuffle=shuffle)
    dataset = files.interleave(tf.data.TFRecordDataset, cycle_length=40,
                               num_parallel_calls=_AUTOTUNE,
                               deterministic=not shuffle)
    return dataset.map(parse, num_parallel_calls=_AUTOTUNE,
                       deterministic=not shuffle)


# ----------------------------------------------------------------------------
# TensorFlow Datasets.
# ----------------------------------------------------------------------------
def _tfds_module():
  """tensorflow_datasets, imported on first use (it is slow to import).

  Raises:
    ImportError: Naming the extra that installs it.
  """
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise ImportError(
        'The TFDS providers need tensorflow-datasets: pip install '
        f'"ddsp_tf[tfds]" ({error}).') from None
  return tfds


@gin.register
class TfdsProvider(DataProvider):
  """Reads a dataset that TensorFlow Datasets has already prepared.

  Nothing is downloaded: the dataset must be built beforehand (`tfds build
  NAME --data_dir=DIR`, which downloads and prepares it once) or copied into
  data_dir.
  """

  def __init__(self, name: str, split: str, data_dir: Optional[str],
               sample_rate: int, frame_rate: int):
    """Names the dataset.

    Args:
      name: TFDS name, with optional config and version, e.g.
        'nsynth/gansynth_subset.f0_and_loudness:2.3.0'.
      split: Split to read, e.g. 'train' (TFDS split syntax works too).
      data_dir: Directory of prepared TFDS datasets; None is TFDS's default
        (~/tensorflow_datasets).
      sample_rate: Rate of the audio in the dataset.
      frame_rate: Rate of its frame features.
    """
    super().__init__(sample_rate, frame_rate)
    if not isinstance(name, str) or not name:
      raise ValueError(f'name must name a TFDS dataset, got name={name!r}.')
    self._name, self._split, self._data_dir = name, split, data_dir

  def get_dataset(self, shuffle: bool = True) -> tf.data.Dataset:
    """The split's examples as TFDS stores them.

    Args:
      shuffle: Shuffle the order of files.

    Raises:
      FileNotFoundError: If the dataset is not prepared in data_dir (the
        message gives the `tfds build` command).
    """
    tfds = _tfds_module()
    data_dir = self._data_dir or '~/tensorflow_datasets'
    try:
      builder = tfds.builder(self._name, data_dir=self._data_dir)
      return builder.as_dataset(split=self._split, shuffle_files=shuffle)
    except Exception as error:  # pylint: disable=broad-except
      # TFDS raises AssertionError or its own errors for a missing dataset.
      base_name = self._name.split(':')[0]
      raise FileNotFoundError(
          f'The TFDS dataset {self._name!r} (split {self._split!r}) cannot be '
          f'read from {data_dir}: {str(error)[:300]} Build it once with '
          f'`tfds build {base_name} --data_dir={data_dir}` (it downloads the '
          'source data), or pass the data_dir of a prepared copy '
          '(magenta/ddsp read gs://tfds-data/datasets).') from None


@gin.register
class NSynthTfds(TfdsProvider):
  """NSynth from TFDS with its f0 and loudness, as DDSP features.

  Examples hold 'audio' (4 s at 16 kHz), 'f0_hz', 'f0_confidence' and
  'loudness_db' (250 frames per second), and with include_note_labels the
  note's 'pitch', 'instrument_source', 'instrument_family' and
  'instrument'.
  """

  def __init__(self,
               name: str = 'nsynth/gansynth_subset.f0_and_loudness:2.3.0',
               split: str = 'train', data_dir: Optional[str] = None,
               sample_rate: int = 16000, frame_rate: int = 250,
               include_note_labels: bool = True):
    """Names the dataset.

    Args:
      name: TFDS name of an NSynth config with f0 and loudness.
      split: 'train', 'valid' or 'test'.
      data_dir: Directory of prepared TFDS datasets; None is TFDS's default.
        (magenta/ddsp defaulted to the public gs://tfds-data/datasets
        bucket; pass it to read from there.)
      sample_rate: Rate of the audio.
      frame_rate: Rate of the frame features.
      include_note_labels: Also return the note-level labels.
    """
    super().__init__(name, split, data_dir, sample_rate, frame_rate)
    self._include_note_labels = include_note_labels

  def get_dataset(self, shuffle: bool = True) -> tf.data.Dataset:
    """Examples with DDSP's feature names (see the class)."""
    include_labels = self._include_note_labels

    def to_features(example):
      features = {'audio': example['audio'],
                  'f0_hz': example['f0']['hz'],
                  'f0_confidence': example['f0']['confidence'],
                  'loudness_db': example['loudness']['db']}
      if include_labels:
        features.update(pitch=example['pitch'],
                        instrument_source=example['instrument']['source'],
                        instrument_family=example['instrument']['family'],
                        instrument=example['instrument']['label'])
      return features

    return super().get_dataset(shuffle).map(
        to_features, num_parallel_calls=_AUTOTUNE)
