"""Tests for ddsp_tf.training.data: TFRecordProvider reads what it should."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import data


def write_records(path, n_examples, audio_length, audio_16k_length, n_frames):
  """Records with the original's keys; returns the features written."""
  rng = np.random.default_rng(0)
  written = []
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(n_examples):
      features = {
          'audio': rng.uniform(-1, 1, audio_length),
          'audio_16k': rng.uniform(-1, 1, audio_16k_length),
          'f0_hz': rng.uniform(50, 1000, n_frames),
          'f0_confidence': rng.uniform(0, 1, n_frames),
          'loudness_db': rng.uniform(-80, 0, n_frames),
      }
      features = {key: value.astype(np.float32)
                  for key, value in features.items()}
      writer.write(tf.train.Example(features=tf.train.Features(feature={
          key: tf.train.Feature(float_list=tf.train.FloatList(value=value))
          for key, value in features.items()})).SerializeToString())
      written.append(features)
  return written


@pytest.mark.parametrize(
    'example_secs,sample_rate,frame_rate,centered,n_frames', [
        (4, 16000, 250, False, 1000),
        (4, 16000, 250, True, 1001),
        (4, 16000, 50, False, 200),
        (4, 16000, 50, True, 201),
        (1, 44100, 100, False, 100),
    ])
def test_round_trip_keys_shapes_and_values(tmp_path, example_secs, sample_rate,
                                           frame_rate, centered, n_frames):
  for shard in range(2):
    written = write_records(str(tmp_path / f'train.tfrecord-0000{shard}'), 3,
                            example_secs * sample_rate, example_secs * 16000,
                            n_frames)
  provider = data.TFRecordProvider(str(tmp_path / 'train.tfrecord*'),
                                   example_secs=example_secs,
                                   sample_rate=sample_rate,
                                   frame_rate=frame_rate, centered=centered)
  assert (provider.sample_rate, provider.frame_rate) == (sample_rate,
                                                          frame_rate)
  batches = list(provider.get_batch(2, shuffle=False, repeats=1))
  assert len(batches) == 3  # 6 examples.
  for batch in batches:
    assert {key: tuple(value.shape) for key, value in batch.items()} == {
        'audio': (2, example_secs * sample_rate),
        'audio_16k': (2, example_secs * 16000),
        'f0_hz': (2, n_frames), 'f0_confidence': (2, n_frames),
        'loudness_db': (2, n_frames)}
    assert all(value.dtype == tf.float32 for value in batch.values())
  # Values come back unchanged: the last shard's examples are all there.
  read = [batch['f0_hz'][i].numpy() for batch in batches for i in range(2)]
  for features in written:
    assert any(np.array_equal(features['f0_hz'], values) for values in read)


def test_get_batch_repeats_and_keeps_remainder(tmp_path):
  write_records(str(tmp_path / 'x.tfrecord'), 5, 16000, 16000, 250)
  provider = data.TFRecordProvider(str(tmp_path / 'x.tfrecord'),
                                   example_secs=1)
  sizes = [int(batch['audio'].shape[0]) for batch in provider.get_batch(
      2, shuffle=True, repeats=2, drop_remainder=False)]
  assert sizes == [2, 2, 2, 2, 2]
  sizes = [int(batch['audio'].shape[0]) for batch in provider.get_batch(
      3, shuffle=False, repeats=1, drop_remainder=False)]
  assert sizes == [3, 2]


def test_clear_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match='nothing-here'):
    data.TFRecordProvider(str(tmp_path / 'nothing-here*')).get_dataset()
  with pytest.raises(NotImplementedError, match='file_pattern'):
    data.TFRecordProvider()
  with pytest.raises(ValueError, match='frame_rate=300'):
    data.TFRecordProvider('x', frame_rate=300)
  with pytest.raises(ValueError, match='example_secs=1e-05'):
    data.TFRecordProvider('x', example_secs=0.00001)
  with pytest.raises(NotImplementedError):
    data.DataProvider(16000, 250).get_dataset()


def test_gin_configurable(tmp_path):
  write_records(str(tmp_path / 'g.tfrecord'), 1, 32000, 32000, 401)
  with gin.unlock_config():
    gin.parse_config([
        'import ddsp_tf.training.data',
        f"TFRecordProvider.file_pattern = '{tmp_path / 'g.tfrecord'}'",
        'TFRecordProvider.example_secs = 2',
        'TFRecordProvider.frame_rate = 200',
        'TFRecordProvider.centered = True',
    ])
  try:
    provider = gin.get_configurable('TFRecordProvider')()
    example = next(iter(provider.get_dataset(shuffle=False)))
    assert example['loudness_db'].shape == (401,)
  finally:
    gin.clear_config()


# ----------------------------------------------------------------------------
# TensorFlow Datasets.
# ----------------------------------------------------------------------------
def test_nsynth_tfds_maps_the_tfds_features(tmp_path):
  """With TFDS's mock data: NSynthTfds's features are TFDS's fields under
  DDSP's names, example for example."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  name = 'nsynth/gansynth_subset.f0_and_loudness:2.3.0'
  with tfds.testing.mock_data(num_examples=4):
    raw = list(data.TfdsProvider(name, 'train', str(tmp_path), 16000, 250)
               .get_dataset(shuffle=False).take(4))
    ours = list(data.NSynthTfds(data_dir=str(tmp_path))
                .get_dataset(shuffle=False).take(4))
    batch = next(iter(data.NSynthTfds(
        data_dir=str(tmp_path), include_note_labels=False).get_batch(
            2, shuffle=False)))
  assert len(ours) == 4
  for example, features in zip(raw, ours):
    np.testing.assert_array_equal(features['audio'], example['audio'])
    np.testing.assert_array_equal(features['f0_hz'], example['f0']['hz'])
    np.testing.assert_array_equal(features['f0_confidence'],
                                  example['f0']['confidence'])
    np.testing.assert_array_equal(features['loudness_db'],
                                  example['loudness']['db'])
    assert int(features['pitch']) == int(example['pitch'])
    assert int(features['instrument']) == int(example['instrument']['label'])
  assert sorted(batch) == ['audio', 'f0_confidence', 'f0_hz', 'loudness_db']
  assert batch['audio'].shape == (2, 64000)
  assert batch['f0_hz'].shape == (2, 1000)


def test_a_missing_tfds_dataset_says_how_to_build_it(tmp_path):
  provider = data.NSynthTfds(split='valid', data_dir=str(tmp_path))
  with pytest.raises(FileNotFoundError, match=(
      r"'nsynth/gansynth_subset.f0_and_loudness:2.3.0' \(split 'valid'\).*"
      r'tfds build nsynth/gansynth_subset.f0_and_loudness --data_dir=')):
    provider.get_dataset()
  with pytest.raises(ValueError, match='name must name a TFDS dataset'):
    data.TfdsProvider('', 'train', None, 16000, 250)
