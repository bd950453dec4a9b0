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
