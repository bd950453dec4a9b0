"""Tests for the data providers beyond TFRecordProvider (training.data).

Each provider reads small TFRecord files written here with known values;
the expected features (shapes, URMP's derived midi/onsets/offsets, zipped
batch sizes, mixing ratios) are worked out by hand from what was written.
"""

import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import data
from ddsp_tf.training import runner


def float_feature(values):
  return tf.train.Feature(float_list=tf.train.FloatList(
      value=np.asarray(values, np.float32).ravel()))


def bytes_feature(value):
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def write_records(path, records):
  """Writes dicts of float arrays (or bytes) as tf.train.Examples."""
  with tf.io.TFRecordWriter(str(path)) as writer:
    for record in records:
      features = {key: bytes_feature(value) if isinstance(value, bytes)
                  else float_feature(value) for key, value in record.items()}
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=features)).SerializeToString())


def legacy_records(n_examples, n_samples, n_frames, offset=0.0):
  """Examples whose values tell them apart: example i holds offset + i."""
  return [{'audio': np.full(n_samples, offset + i),
           'f0_hz': np.arange(n_frames) + 100.0 * (offset + i),
           'f0_confidence': np.full(n_frames, 0.5),
           'loudness_db': np.full(n_frames, -(offset + i))}
          for i in range(n_examples)]


@pytest.fixture(autouse=True)
def _clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()


# ----------------------------------------------------------------------------
# Single-file providers.
# ----------------------------------------------------------------------------
def test_legacy_provider_reads_files_without_audio_16k(tmp_path):
  # 1 s at 8 kHz, features at 50 frames/s of 16 kHz audio ('same'): 50.
  written = legacy_records(3, 8000, 50)
  write_records(tmp_path / 'old.tfrecord', written)
  provider = data.LegacyTFRecordProvider(
      str(tmp_path / 'old.tfrecord*'), example_secs=1, sample_rate=8000,
      frame_rate=50)
  examples = list(provider.get_dataset(shuffle=False))
  assert len(examples) == 3
  for example, expected in zip(examples, written):
    assert sorted(example) == ['audio', 'f0_confidence', 'f0_hz',
                               'loudness_db']
    for key, value in expected.items():
      np.testing.assert_array_equal(example[key].numpy(), value)
  # TFRecordProvider, which also wants 'audio_16k', cannot parse them.
  with pytest.raises(tf.errors.InvalidArgumentError):
    list(data.TFRecordProvider(str(tmp_path / 'old.tfrecord*'),
                               example_secs=1, sample_rate=8000,
                               frame_rate=50).get_dataset())


def test_experimental_provider_loads_a_saved_dataset(tmp_path):
  values = {'audio': np.arange(12, dtype=np.float32).reshape(3, 4)}
  tf.data.Dataset.from_tensor_slices(values).save(str(tmp_path / 'saved'))
  provider = data.ExperimentalDataProvider(str(tmp_path / 'saved'), 16000,
                                           250)
  assert (provider.sample_rate, provider.frame_rate) == (16000, 250)
  loaded = [example['audio'].numpy() for example in provider.get_dataset()]
  np.testing.assert_array_equal(np.stack(loaded), values['audio'])
  with pytest.raises(FileNotFoundError, match='missing'):
    data.ExperimentalDataProvider(str(tmp_path / 'missing'), 16000,
                                  250).get_dataset()


def test_synthetic_notes_reshapes_the_controls(tmp_path):
  n_timesteps, n_harmonics, n_mags = 5, 3, 2
  widths = {'f0_hz': 1, 'harm_amp': 1, 'harm_dist': n_harmonics,
            'sin_amps': n_harmonics, 'sin_freqs': n_harmonics,
            'noise_magnitudes': n_mags}
  rng = np.random.default_rng(0)
  written = [{key: rng.uniform(0, 1, [n_timesteps, width]).astype(np.float32)
              for key, width in widths.items()} for _ in range(2)]
  write_records(tmp_path / 'notes.tfrecord-00000-of-00001', written)
  provider = data.SyntheticNotes(n_timesteps, n_harmonics, n_mags,
                                 file_pattern=str(tmp_path / 'notes*'))
  batch = next(iter(provider.get_batch(2, shuffle=False, repeats=1)))
  assert {key: value.shape.as_list() for key, value in batch.items()} == {
      key: [2, n_timesteps, width] for key, width in widths.items()}
  for key in widths:
    np.testing.assert_array_equal(batch[key].numpy(),
                                  np.stack([w[key] for w in written]))


def test_synthetic_notes_needs_a_file_pattern_and_sizes():
  with pytest.raises(NotImplementedError, match='SyntheticNotes'):
    data.SyntheticNotes(125, 100, 65)
  with pytest.raises(ValueError, match='n_harmonics'):
    data.SyntheticNotes(125, 0, 65, file_pattern='x*')


# ----------------------------------------------------------------------------
# URMP.
# ----------------------------------------------------------------------------
N_FRAMES = 1000  # 4 s at 250 frames/s, 'same' padding.
N_SAMPLES = 64000


def urmp_legacy_record(value):
  return {'audio': np.full(N_SAMPLES, value),
          'f0_hz': np.full(N_FRAMES, 100.0 * value),
          'f0_confidence': np.full(N_FRAMES, 0.25 * value),
          'loudness_db': np.full(N_FRAMES, -value)}


@pytest.mark.parametrize('instrument_key, split, suffix, file_name', [
    ('vn', 'train', None, 'urmp_vn_solo_ddsp_conditioning_train.tfrecord'),
    ('sax', 'test', 'batched',
     'urmp_sax_solo_ddsp_conditioning_test_batched.tfrecord-00000'),
    ('all', 'train', None, 'all_instruments_train.tfrecord-00003-of-00010'),
    ('all', 'test', 'unbatched', 'all_instruments_test_unbatched.tfrecord'),
])
def test_urmp_reads_its_instrument_files(tmp_path, instrument_key, split,
                                         suffix, file_name):
  write_records(tmp_path / file_name, [urmp_legacy_record(1.0)])
  # A file of another instrument or split must not be read.
  write_records(tmp_path / 'urmp_tpt_solo_ddsp_conditioning_valid.tfrecord',
                [urmp_legacy_record(7.0)])
  provider = data.Urmp(str(tmp_path), instrument_key, split, suffix)
  examples = list(provider.get_dataset(shuffle=False))
  assert len(examples) == 1
  for key, value in urmp_legacy_record(1.0).items():
    np.testing.assert_array_equal(examples[0][key].numpy(), value)
  assert 'audio_16k' not in examples[0]
  assert (provider.sample_rate, provider.frame_rate) == (16000, 250)


def test_urmp_errors_name_the_key_and_the_pattern(tmp_path):
  with pytest.raises(ValueError, match="instrument_key.*'violin'"):
    data.Urmp(str(tmp_path), 'violin')
  provider = data.Urmp(str(tmp_path), 'hn', 'test')
  with pytest.raises(FileNotFoundError) as error:
    provider.get_dataset()
  message = str(error.value)
  assert "instrument_key='hn'" in message
  assert os.path.join(str(tmp_path), 'urmp_hn_solo_ddsp_conditioning_test'
                      '.tfrecord*') in message


def note_rows(spans, value):
  """[N_FRAMES, 128] with `value` at (frame, pitch) for frames in spans."""
  rows = np.zeros([N_FRAMES, 128], np.float32)
  for start, end, pitch in spans:
    rows[start:end, pitch] = value
  return rows


# Two notes: C4 (60) over frames 100-399, G4 (67) over 400-999.
NOTES = [(100, 400, 60), (400, 1000, 67)]


def urmp_midi_record(instrument, recording, n_frames=N_FRAMES):
  indices = note_rows(NOTES, 1.0)[:n_frames]
  velocities = note_rows(NOTES, 0.75)[:n_frames]
  onsets = np.zeros([n_frames, 128], np.float32)
  offsets = np.zeros([n_frames, 128], np.float32)
  for start, end, pitch in NOTES:
    if start < n_frames:
      onsets[start, pitch] = 1.0
    if end - 1 < n_frames:
      offsets[end - 1, pitch] = 1.0
  record = urmp_legacy_record(2.0)
  record['audio'] = record['audio'][:n_frames * 64]
  for key in ('f0_hz', 'f0_confidence', 'loudness_db'):
    record[key] = record[key][:n_frames]
  record.update({
      'note_active_frame_indices': indices,
      'note_active_velocities': velocities,
      'note_onsets': onsets, 'note_offsets': offsets,
      'power_db': np.linspace(-60.0, 0.0, n_frames),
      'instrument_id': instrument, 'recording_id': recording})
  return record


def expected_notes(n_frames=N_FRAMES):
  """midi, onsets, offsets worked out from NOTES."""
  midi = np.zeros(N_FRAMES, np.int64)
  midi[100:400], midi[400:] = 60, 67
  onsets = np.zeros(N_FRAMES, np.int64)
  offsets = np.zeros(N_FRAMES, np.int64)
  onsets[[100, 400]] = 1
  offsets[[399, 999]] = 1
  return midi[:n_frames], onsets[:n_frames], offsets[:n_frames]


def test_urmp_midi_derives_midi_onsets_offsets_and_ids(tmp_path):
  records = [urmp_midi_record(b'vn', b'01_Jupiter_vn'),
             urmp_midi_record(b'tpt', b'02_Sonata_tpt'),
             urmp_midi_record(b'kazoo', b'03_x')]
  write_records(tmp_path / 'all_instruments_train.tfrecord', records)
  provider = data.UrmpMidi(str(tmp_path), 'all')
  examples = list(provider.get_dataset(shuffle=False))
  midi, onsets, offsets = expected_notes()
  # The instruments' ids are their index in the original's list.
  assert [int(e['instrument_id']) for e in examples] == [0, 9, -1]
  assert [e['recording_id'].numpy() for e in examples] == [
      b'01_Jupiter_vn', b'02_Sonata_tpt', b'03_x']
  example = examples[0]
  assert {key: value.shape.as_list() for key, value in example.items()} == {
      'audio': [N_SAMPLES], 'f0_hz': [N_FRAMES, 1],
      'f0_confidence': [N_FRAMES], 'loudness_db': [N_FRAMES, 1],
      'power_db': [N_FRAMES], 'note_active_frame_indices': [N_FRAMES, 128],
      'note_active_velocities': [N_FRAMES, 128],
      'note_onsets': [N_FRAMES * 128], 'note_offsets': [N_FRAMES * 128],
      'instrument_id': [], 'recording_id': [], 'midi': [N_FRAMES],
      'onsets': [N_FRAMES], 'offsets': [N_FRAMES]}
  assert example['midi'].dtype == tf.int64
  np.testing.assert_array_equal(example['midi'].numpy(), midi)
  np.testing.assert_array_equal(example['onsets'].numpy(), onsets)
  np.testing.assert_array_equal(example['offsets'].numpy(), offsets)
  np.testing.assert_array_equal(example['note_active_velocities'].numpy(),
                                note_rows(NOTES, 0.75))
  np.testing.assert_array_equal(example['f0_hz'].numpy()[:, 0],
                                np.full(N_FRAMES, 200.0))
  np.testing.assert_allclose(example['power_db'].numpy(),
                             np.linspace(-60.0, 0.0, N_FRAMES), rtol=1e-6)


def test_urmp_midi_unsegmented_reads_whole_recordings(tmp_path):
  n_frames = 450  # Any length: a whole recording.
  write_records(tmp_path / 'urmp_fl_solo_ddsp_conditioning_test_unbatched'
                '.tfrecord', [urmp_midi_record(b'fl', b'04_fl', n_frames)])
  provider = data.UrmpMidiUnsegmented(str(tmp_path), 'fl', 'test',
                                      'unbatched')
  (example,) = list(provider.get_dataset(shuffle=False))
  midi, onsets, offsets = expected_notes(n_frames)
  assert example['audio'].shape.as_list() == [n_frames * 64]
  assert example['f0_hz'].shape.as_list() == [n_frames, 1]
  assert example['loudness_db'].shape.as_list() == [n_frames, 1]
  assert example['note_active_frame_indices'].shape.as_list() == [
      n_frames, 128]
  np.testing.assert_array_equal(example['midi'].numpy(), midi)
  np.testing.assert_array_equal(example['onsets'].numpy(), onsets)
  np.testing.assert_array_equal(example['offsets'].numpy(), offsets)
  assert int(example['instrument_id']) == 4  # 'fl'.
  # As in the original, these stay sparse.
  for key in ('f0_confidence', 'power_db', 'note_onsets', 'note_offsets'):
    assert isinstance(example[key], tf.SparseTensor), key
  np.testing.assert_array_equal(
      tf.sparse.to_dense(example['f0_confidence']).numpy(),
      np.full(n_frames, 0.5))


# ----------------------------------------------------------------------------
# Combined providers.
# ----------------------------------------------------------------------------
def legacy_provider(tmp_path, name, n_examples, offset, sample_rate=8000,
                    frame_rate=50):
  n_frames = frame_rate  # 1-second examples.
  write_records(tmp_path / f'{name}.tfrecord',
                legacy_records(n_examples, sample_rate, n_frames, offset))
  return data.LegacyTFRecordProvider(
      str(tmp_path / f'{name}.tfrecord*'), example_secs=1,
      sample_rate=sample_rate, frame_rate=frame_rate)


def test_zipped_provider_pairs_examples_and_shares_batches(tmp_path):
  first = legacy_provider(tmp_path, 'first', 6, offset=0.0)
  second = legacy_provider(tmp_path, 'second', 6, offset=10.0)
  zipped = data.ZippedProvider([first, second])
  pairs = list(zipped.get_dataset(shuffle=False))
  assert len(pairs) == 6
  assert [(float(a['loudness_db'][0]), float(b['loudness_db'][0]))
          for a, b in pairs] == [(-i, -10.0 - i) for i in range(6)]

  # Ratios 2:1 of a batch of 3: 2 examples of the first, 1 of the second.
  zipped = data.ZippedProvider([first, second], batch_size_ratios=[2, 1])
  assert zipped.batch_size_ratios == pytest.approx([2 / 3, 1 / 3])
  batches = list(zipped.get_batch(3, shuffle=False, repeats=1))
  assert [(len(a['audio']), len(b['audio'])) for a, b in batches] == [
      (2, 1), (2, 1), (2, 1)]
  a, b = batches[1]
  np.testing.assert_array_equal(a['loudness_db'][:, 0], [-2.0, -3.0])
  np.testing.assert_array_equal(b['loudness_db'][:, 0], [-11.0])
  spec = zipped.get_batch(3).element_spec  # drop_remainder=False.
  assert [part['f0_hz'].shape.as_list() for part in spec] == [[None, 50]] * 2

  # Without ratios every provider gives a whole batch (as the original).
  a, b = next(iter(data.ZippedProvider([first, second]).get_batch(
      4, shuffle=False, drop_remainder=True)))
  assert (a['audio'].shape.as_list(), b['audio'].shape.as_list()) == (
      [4, 8000], [4, 8000])


def test_multi_providers_check_rates_and_ratios(tmp_path):
  first = legacy_provider(tmp_path, 'first', 2, 0.0)
  other_rate = legacy_provider(tmp_path, 'other_rate', 2, 0.0,
                               sample_rate=16000)
  other_frames = legacy_provider(tmp_path, 'other_frames', 2, 0.0,
                                 frame_rate=100)
  with pytest.raises(ValueError, match='sample_rate.*8000.*16000'):
    data.MixedProvider([first, other_rate])
  with pytest.raises(ValueError, match='frame_rate.*50.*100'):
    data.ZippedProvider([first, other_frames])
  with pytest.raises(ValueError, match='one ratio per data provider'):
    data.ZippedProvider([first, first], batch_size_ratios=[1, 2, 3])
  with pytest.raises(ValueError, match='positive'):
    data.MixedProvider([first, first], batch_size_ratios=[1, 0])
  with pytest.raises(ValueError, match='at least one'):
    data.ZippedProvider([])
  with pytest.raises(ValueError, match=r'batch sizes \[3, 0\]'):
    data.ZippedProvider([first, first], batch_size_ratios=[9, 1]).get_batch(4)


class ConstantProvider(data.DataProvider):
  """Endless examples {'source': value}."""

  def __init__(self, value, key='source'):
    super().__init__(16000, 250)
    self._value, self._key = value, key

  def get_dataset(self, shuffle=True):
    return tf.data.Dataset.from_tensors(
        {self._key: tf.constant(self._value)}).repeat()


def test_mixed_provider_samples_by_the_ratios():
  tf.random.set_seed(0)
  mixed = data.MixedProvider([ConstantProvider(0.0), ConstantProvider(1.0)],
                             batch_size_ratios=[3, 1])
  n = 4000
  batch = next(iter(mixed.get_batch(n)))
  share = float(np.mean(batch['source'].numpy()))
  # Binomial(4000, 1/4): standard deviation 0.0068 of the share.
  assert share == pytest.approx(0.25, abs=0.03)
  even = data.MixedProvider([ConstantProvider(0.0), ConstantProvider(1.0)])
  share = float(np.mean(next(iter(even.get_batch(n)))['source'].numpy()))
  assert share == pytest.approx(0.5, abs=0.03)
  with pytest.raises(ValueError, match='same features'):
    data.MixedProvider([ConstantProvider(0.0),
                        ConstantProvider(1.0, key='other')]).get_dataset()


def test_finetune_config_zips_synthetic_notes_with_recordings(tmp_path):
  """papers/icml2020/finetune_dataset.gin, patterns pointed at tmp files."""
  notes = {key: np.full([125, width], 0.5) for key, width in (
      ('f0_hz', 1), ('harm_amp', 1), ('harm_dist', 100), ('sin_amps', 100),
      ('sin_freqs', 100), ('noise_magnitudes', 65))}
  write_records(tmp_path / 'notes.tfrecord', [notes] * 2)
  recording = {'audio': np.zeros(64000), 'audio_16k': np.zeros(64000),
               'f0_hz': np.full(1000, 440.0),
               'f0_confidence': np.ones(1000), 'loudness_db': np.zeros(1000)}
  write_records(tmp_path / 'train.tfrecord', [recording] * 2)
  gin.add_config_file_search_path(runner.package_gin_dir())
  gin.parse_config_files_and_bindings(
      ['papers/icml2020/finetune_dataset.gin'],
      [f"SyntheticNotes.file_pattern = '{tmp_path}/notes.tfrecord*'",
       "train_data/TFRecordProvider.file_pattern = "
       f"'{tmp_path}/train.tfrecord*'"])
  provider = gin.query_parameter('train.data_provider').scoped_configurable_fn()
  assert isinstance(provider, data.ZippedProvider)
  synthetic, real = next(iter(provider.get_batch(2, shuffle=False)))
  assert synthetic['harm_dist'].shape.as_list() == [2, 125, 100]
  assert synthetic['noise_magnitudes'].shape.as_list() == [2, 125, 65]
  assert real['audio'].shape.as_list() == [2, 64000]
  np.testing.assert_array_equal(real['f0_hz'].numpy(),
                                np.full([2, 1000], 440.0))
  assert gin.query_parameter('test_data/TFRecordProvider.file_pattern') == (
      'gs://ddsp-inv/datasets/all_instruments_test.tfrecord*')


@pytest.mark.parametrize('config, provider_class, instrument', [
    ('datasets/urmp/base.gin', data.Urmp, None),
    ('datasets/urmp/all.gin', data.Urmp, 'all'),
    ('datasets/urmp/midi_base.gin', data.UrmpMidi, None),
    ('datasets/urmp/all_midi.gin', data.UrmpMidi, 'all'),
])
def test_urmp_configs_bind_the_splits(config, provider_class, instrument):
  gin.add_config_file_search_path(runner.package_gin_dir())
  gin.parse_config_file(config)
  name = provider_class.__name__
  for function, scope, split in (('train', 'train_data', 'train'),
                                 ('evaluate', 'test_data', 'test'),
                                 ('sample', 'test_data', 'test')):
    reference = gin.query_parameter(f'{function}.data_provider')
    assert reference.configurable.wrapped is provider_class
    assert reference.scopes == [scope]
    assert gin.query_parameter(f'{scope}/data.{name}.split') == split
  if instrument:
    assert gin.query_parameter(f'{name}.instrument_key') == instrument
