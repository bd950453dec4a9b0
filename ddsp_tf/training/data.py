"""Data providers: datasets of DDSP examples as tf.data pipelines.

A provider yields dicts of float32 tensors keyed by feature name ('audio',
'audio_16k', 'f0_hz', 'f0_confidence', 'loudness_db'). Frame features come
out as [n_frames] per example ([batch, n_frames] batched); preprocessors add
the channel axis.

This module holds the TFDS, saved-dataset and synthetic-notes providers and
re-exports the rest, which lives in sibling modules: `data_base`
(DataProvider, TFRecordProvider, LegacyTFRecordProvider), `data_multi`
(BaseMultiProvider, ZippedProvider, MixedProvider) and `data_urmp` (Urmp,
UrmpMidi, UrmpMidiUnsegmented). Every name, and every gin name
(`ddsp_tf.training.data.*`), is reachable here.
"""

from typing import Dict, Optional

import gin
import tensorflow as tf

from ddsp_tf import validation
# Re-exported: these names are part of ddsp_tf.training.data.
# pylint: disable=unused-import,g-multiple-import,g-importing-member
from ddsp_tf.pitch import CREPE_FRAME_SIZE, CREPE_SAMPLE_RATE
from ddsp_tf.training.data_base import (
    _AUTOTUNE, _GIN_MODULE, DataProvider, LegacyTFRecordProvider,
    TFRecordProvider)
from ddsp_tf.training.data_multi import (
    BaseMultiProvider, MixedProvider, ZippedProvider)
from ddsp_tf.training.data_urmp import Urmp, UrmpMidi, UrmpMidiUnsegmented
# pylint: enable=unused-import,g-multiple-import,g-importing-member


@gin.register(module=_GIN_MODULE)
class ExperimentalDataProvider(DataProvider):
  """Reads a dataset saved with tf.data.Dataset.save.

  (magenta/ddsp's name: tf.data.experimental.save/load was the interface's
  earlier name.)
  """

  def __init__(self, data_dir: str, sample_rate: int, frame_rate: int):
    """Names the saved dataset.

    Args:
      data_dir: The folder tf.data.Dataset.save wrote.
      sample_rate: Rate of the audio in the dataset.
      frame_rate: Rate of its frame features.
    """
    super().__init__(sample_rate, frame_rate)
    if not isinstance(data_dir, str) or not data_dir:
      raise ValueError(f'data_dir must be the folder of a saved dataset, got '
                       f'data_dir={data_dir!r}.')
    self.data_dir = data_dir

  def get_dataset(self, shuffle: bool = True) -> tf.data.Dataset:
    """The saved dataset, as saved.

    Args:
      shuffle: Unused: the saved order is kept.

    Returns:
      The tf.data.Dataset.

    Raises:
      FileNotFoundError: If data_dir is not a folder.
    """
    del shuffle
    if not tf.io.gfile.isdir(self.data_dir):
      raise FileNotFoundError(
          f'data_dir={self.data_dir!r} is not a folder written by '
          'tf.data.Dataset.save.')
    return tf.data.Dataset.load(self.data_dir)


@gin.register(module=_GIN_MODULE)
class SyntheticNotes(LegacyTFRecordProvider):
  """Controls of synthetic notes for ICML 2020's inverse synthesis.

  EXPERIMENTAL, as in magenta/ddsp.

  Reads the shards written by ddsp_tf_generate_synthetic_dataset
  (magenta/ddsp's ddsp_generate_synthetic_dataset). Each example holds the
  controls of n_timesteps frames: 'f0_hz' and 'harm_amp' [n_timesteps, 1],
  'harm_dist', 'sin_amps' and 'sin_freqs' [n_timesteps, n_harmonics] and
  'noise_magnitudes' [n_timesteps, n_mags]; the model renders the audio.
  """

  def __init__(self, n_timesteps: int, n_harmonics: int, n_mags: int,
               file_pattern: Optional[str] = None, sample_rate: int = 16000):
    """Describes the examples.

    Args:
      n_timesteps: Frames per example (the generator's n_timesteps).
      n_harmonics: Harmonics per frame.
      n_mags: Noise magnitudes per frame.
      file_pattern: Glob of the shards, e.g. '/data/notes.tfrecord*'.
      sample_rate: Rate of the audio rendered from the controls.
    """
    self.n_timesteps = validation.check_int('n_timesteps', n_timesteps)
    self.n_harmonics = validation.check_int('n_harmonics', n_harmonics)
    self.n_mags = validation.check_int('n_mags', n_mags)
    super().__init__(file_pattern=file_pattern, sample_rate=sample_rate)

  @property
  def features_dict(self) -> Dict[str, tf.io.FixedLenFeature]:
    """The feature spec parsed from each record."""
    widths = {'f0_hz': 1, 'harm_amp': 1, 'harm_dist': self.n_harmonics,
              'sin_amps': self.n_harmonics, 'sin_freqs': self.n_harmonics,
              'noise_magnitudes': self.n_mags}
    return {key: tf.io.FixedLenFeature([self.n_timesteps, width], tf.float32)
            for key, width in widths.items()}


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
