"""Data and models move between magenta/ddsp and ddsp_tf unchanged.

The fixtures in tests/golden/original_prepared/ were written by the original
v3.7.0 (tests/golden/make_original_interchange.py): a test-made tone with
known f0, the original's ddsp_prepare_tfrecord shard of it, how the
original parses a shard, and its timbre-transfer Colab's features and model
outputs on the checkpoint in tests/golden/original_solo_instrument/.

- ddsp_tf prepares the same examples from the same audio: loudness within
  0.1 dB, f0 within 1 cent, and its shards parse with the original's
  feature spec; by default the windows are laid out as the original lays
  them out across chunks (the last one zero-padded).
- The original's shard trains in ddsp_tf_run.
- The Colab's Python sequence (parse the run's operative config, build
  `models.Autoencoder()`, `restore`, call it on `compute_audio_features`)
  runs unchanged with `import ddsp_tf as ddsp`, on that ddsp_tf run and on
  the original's checkpoint, which it restores without conversion.
"""

import glob
import os

import gin
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

import ddsp_tf as ddsp
import ddsp_tf.training  # pylint: disable=unused-import
import colab_sequence as colab_sequence_lib
from data_prep import pipeline
from ddsp_tf.cli import run

pytestmark = pytest.mark.slow

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), 'golden')
PREPARED = os.path.join(GOLDEN_DIR, 'original_prepared')
ORIGINAL_RUN = os.path.join(GOLDEN_DIR, 'original_solo_instrument')
FRAME_RATE = 250
VOICED = 0.5  # f0 is compared where the original's confidence is above.


@pytest.fixture(scope='module')
def expected():
  with np.load(os.path.join(PREPARED, 'features.npz')) as data:
    return {k: data[k] for k in data.files}


def _cents(f0_hz, reference_hz):
  return 1200.0 * np.abs(np.log2(np.maximum(f0_hz, 1e-3) / reference_hz))


def _read_examples(pattern, expected):
  """Examples of the shards, parsed with the original's feature spec."""
  spec = {k[len('spec_'):]: tf.io.FixedLenFeature(list(v), tf.float32)
          for k, v in expected.items() if k.startswith('spec_')}
  files = sorted(glob.glob(pattern))
  assert files, pattern
  examples = [{k: v.numpy() for k, v in
               tf.io.parse_single_example(record, spec).items()}
              for record in tf.data.TFRecordDataset(files)]
  # Beam writes examples in any order: put them in the audio's order.
  return sorted(examples, key=lambda ex: float(np.sum(ex['audio']**2)))


def test_the_fixture_tracks_the_known_pitch(expected):
  """The original's features are right about the tone (so they mean
  something to compare with)."""
  f0_hz = expected['colab_f0_hz'][:expected['true_f0_hz'].size]
  voiced = expected['colab_f0_confidence'][:f0_hz.size] > VOICED
  assert np.mean(voiced) > 0.8
  assert np.median(_cents(f0_hz[voiced],
                          expected['true_f0_hz'][voiced])) < 10.0


def test_ddsp_tf_prepares_what_the_original_prepares(tmp_path, expected):
  pipeline.prepare_tfrecord(
      [os.path.join(PREPARED, 'tone.wav')], str(tmp_path / 'train.tfrecord'),
      num_shards=1, example_secs=1, hop_secs=1, chunk_secs=2)
  ours = _read_examples(str(tmp_path / 'train.tfrecord*'), expected)
  theirs = _read_examples(
      os.path.join(PREPARED, 'train.tfrecord-00000-of-00001'), expected)
  assert len(ours) == len(theirs) == 2
  for mine, original in zip(ours, theirs):
    assert set(mine) == set(original)
    # The original divides 16-bit samples by 32767, ddsp_tf by 32768.
    np.testing.assert_allclose(mine['audio'], original['audio'], atol=1e-4)
    np.testing.assert_allclose(mine['audio_16k'], original['audio_16k'],
                               atol=1e-4)
    np.testing.assert_allclose(mine['loudness_db'], original['loudness_db'],
                               atol=0.1)
    voiced = original['f0_confidence'] > VOICED
    assert np.mean(voiced) > 0.7
    cents = _cents(mine['f0_hz'][voiced], original['f0_hz'][voiced])
    assert np.max(cents) < 1.0, np.max(cents)
    np.testing.assert_allclose(mine['f0_confidence'],
                               original['f0_confidence'], atol=0.02)


def test_default_window_layout_is_the_originals(tmp_path, expected):
  """0.8 s chunks of the 2 s tone, the last one padded, 3 windows each: the
  same 9 examples (the last all padding) with the same features."""
  pipeline.prepare_tfrecord(
      [os.path.join(PREPARED, 'tone.wav')], str(tmp_path / 'x.tfrecord'),
      num_shards=1, chunk_secs=0.8, example_secs=0.4, hop_secs=0.2)
  files = glob.glob(str(tmp_path / 'x.tfrecord*'))
  ours = [{key: np.array(feature.float_list.value, np.float32)
           for key, feature in tf.train.Example.FromString(
               record.numpy()).features.feature.items()}
          for record in tf.data.TFRecordDataset(files)]
  ours.sort(key=lambda ex: float(np.sum(ex['audio_16k'].astype(float)**2)))
  order = np.argsort(expected['chunked_audio_energy'])
  assert len(ours) == len(order) == 9
  tone, _ = sf.read(os.path.join(PREPARED, 'tone.wav'))
  padded = np.zeros(3 * 12800)
  padded[:len(tone)] = tone
  starts = [c * 12800 + j * 3200 for c in range(3) for j in range(3)]
  found_starts = []
  for mine, index in zip(ours, order):
    energy = np.sum(mine['audio_16k'].astype(float)**2)
    # The original divides 16-bit samples by 32767, ddsp_tf by 32768.
    assert energy == pytest.approx(
        expected['chunked_audio_energy'][index] * (32767 / 32768)**2,
        rel=1e-5, abs=1e-9)
    found_starts += [start for start in starts if np.allclose(
        mine['audio_16k'], padded[start:start + 6400], atol=1e-6)][:1]
    np.testing.assert_allclose(mine['loudness_db'],
                               expected['chunked_loudness_db'][index],
                               atol=0.1)
    voiced = expected['chunked_f0_confidence'][index] > VOICED
    cents = _cents(mine['f0_hz'][voiced],
                   expected['chunked_f0_hz'][index][voiced])
    assert not cents.size or np.max(cents) < 1.0, np.max(cents)
    np.testing.assert_allclose(mine['f0_confidence'],
                               expected['chunked_f0_confidence'][index],
                               atol=0.02)
  assert sorted(found_starts) == starts


def colab_sequence(model_dir, audio):
  """The Colab's sequence (tests/colab_sequence.py) with ddsp_tf."""
  return colab_sequence_lib.run(ddsp, model_dir, audio)


def test_colab_sequence_restores_an_original_checkpoint(expected):
  audio = expected['colab_audio']
  try:
    model, features, outputs, audio_gen = colab_sequence(ORIGINAL_RUN, audio)
  finally:
    gin.clear_config()
  n_samples = audio.shape[1]
  assert audio_gen.shape == (1, n_samples)
  assert np.all(np.isfinite(audio_gen))
  # The features: the original's loudness within 0.1 dB, f0 within 1 cent.
  np.testing.assert_allclose(features['loudness_db'],
                             expected['colab_loudness_db'], atol=0.1)
  voiced = expected['colab_f0_confidence'] > VOICED
  cents = _cents(features['f0_hz'][voiced], expected['colab_f0_hz'][voiced])
  assert np.max(cents) < 1.0, np.max(cents)
  # The restored model on the original's features gives the original's
  # controls and harmonic signal (the filtered noise is random).
  original_features = {k[len('colab_'):]: v for k, v in expected.items()
                       if k.startswith('colab_')}
  outputs = model(original_features, training=False)
  for key in ('amps', 'harmonic_distribution', 'noise_magnitudes'):
    want = expected[f'solo_{key}']
    np.testing.assert_allclose(outputs[key], want, rtol=0,
                               atol=1e-4 * max(1.0, np.max(np.abs(want))),
                               err_msg=key)
  np.testing.assert_allclose(outputs['harmonic']['signal'],
                             expected['solo_harmonic'], rtol=0, atol=1e-4)
  # Its reverb holds the original's impulse response.
  np.testing.assert_array_equal(
      model.processor_group.dag_modules['reverb']._ir.numpy(),  # pylint: disable=protected-access
      tf.train.load_variable(
          ORIGINAL_RUN,
          'model/processor_group/reverb/ir/.ATTRIBUTES/VARIABLE_VALUE'))


TRAIN_GIN = """
include 'models/solo_instrument.gin'
include 'datasets/tfrecord.gin'

F0LoudnessPreprocessor.time_steps = 250
Harmonic.n_samples = 16000
FilteredNoise.n_samples = 16000
Reverb.reverb_length = 2000
RnnFcDecoder.rnn_channels = 16
RnnFcDecoder.ch = 16
RnnFcDecoder.layers_per_stack = 1
RnnFcDecoder.output_splits = (('amps', 1), ('harmonic_distribution', 8),
                              ('noise_magnitudes', 8))
TFRecordProvider.example_secs = 1
batch_size = 2
train.steps_per_summary = 3
train.steps_per_save = 3
"""


def test_original_shard_trains_and_the_colab_sequence_plays_the_run(
    tmp_path, expected):
  (tmp_path / 'tiny.gin').write_text(TRAIN_GIN)
  save_dir = tmp_path / 'run'
  pattern = os.path.join(PREPARED, 'train.tfrecord*')
  try:
    status = run.main([
        f'--save_dir={save_dir}', f'--gin_search_path={tmp_path}',
        '--gin_file=tiny.gin',
        f"--gin_param=TFRecordProvider.file_pattern='{pattern}'",
        '--gin_param=train.num_steps=3'])
  finally:
    gin.clear_config()
  assert status == 0
  assert os.path.exists(save_dir / 'ckpt-3.index')

  # The provider reads the original's shard: the tone's two seconds.
  tone, _ = sf.read(os.path.join(PREPARED, 'tone.wav'), dtype='float32')
  provider = ddsp.training.data.TFRecordProvider(pattern, example_secs=1)
  batch = next(iter(provider.get_batch(2, shuffle=False, repeats=1)))
  audio = np.sort(np.asarray(batch['audio']).reshape(-1))
  np.testing.assert_allclose(audio, np.sort(tone), atol=1e-4)
  assert batch['f0_hz'].shape == (2, FRAME_RATE)

  second = expected['colab_audio'][:, :16000]
  try:
    model, _, outputs, audio_gen = colab_sequence(str(save_dir), second)
  finally:
    gin.clear_config()
  assert audio_gen.shape == (1, 16000)
  assert np.all(np.isfinite(audio_gen)) and np.max(np.abs(audio_gen)) > 0
  assert outputs['f0_hz'].shape[1] == FRAME_RATE
  # The run's trained weights, not fresh ones: the checkpoint keeps them as
  # the Keras 3 optimizer's trainable variables, in the model's order.
  reader = tf.train.load_checkpoint(str(save_dir))
  for index, variable in enumerate(model.trainable_variables):
    np.testing.assert_array_equal(
        variable.numpy(), reader.get_tensor(
            f'optimizer/_trainable_variables/{index}/.ATTRIBUTES/'
            'VARIABLE_VALUE'), err_msg=variable.path)
