"""Tests for ddsp_tf.apps.export, ddsp_tf.training.inference and ddsp_tf_export.

A tiny solo-instrument run (models/solo_instrument.gin shrunk to 0.5-second
examples and a 32-unit GRU, as in test_run_cli.py) trains for 3 steps and
is exported once per module. The references are eager models built from the
run's operative config and restored from the same checkpoint.

Noise: FilteredNoise draws fresh uniform noise on every call, so no two
renders match. The test run sets FilteredNoise.initial_bias = -100, which
puts every noise magnitude at exp_sigmoid's floor (1e-7): the noise then
adds less than 1e-5 to the audio, and the audio comparisons at 1e-4 check
the harmonic synth, the sum and the reverb exactly as trained. The noise
magnitudes themselves are compared as controls, and the noise synth's
any-length rendering is checked in test_dynamic_lengths.py.
"""

import json
import os
import subprocess
import sys
import textwrap
import time

import gin
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from ddsp_tf import spectral_ops
from ddsp_tf import core
from ddsp_tf.apps import export
from ddsp_tf import formats
from ddsp_tf.training import inference
from ddsp_tf.apps import timbre_transfer as transfer_app
from ddsp_tf.training import models
from ddsp_tf.training import train_util
from ddsp_tf.cli import export as export_cli
import cli_checks
import test_run_cli

SAMPLE_RATE = test_run_cli.SAMPLE_RATE
HOP = SAMPLE_RATE // test_run_cli.FRAME_RATE
TRAIN_FRAMES = test_run_cli.N_FRAMES
STEPS = 3
STATS = {'mean_loudness_db': -30.0, 'mean_pitch_midi': 62.0,
         'quantile_levels': [0.0, 0.5, 1.0],
         'loudness_db': {'count': 10, 'mean': -30.0, 'std': 5.0, 'min': -40.0,
                         'max': -20.0, 'quantiles': [-40.0, -30.0, -20.0]},
         'f0_midi': {'count': 10, 'mean': 62.0, 'std': 2.0, 'min': 58.0,
                     'max': 66.0, 'quantiles': [58.0, 62.0, 66.0]}}


# The exported and eager models render with ddsp_tf's float64 phase and
# crossfade path (the defaults are the original's float32 phase sum, which
# drifts from the TFLite stream's per-hop phase by about 1e-2 of the peak
# after 1 s).
PRECISE_SYNTHESIS = ('Harmonic.precise_phase = True',
                     'Harmonic.crossfade_amplitudes = True')


def _features(n_frames, batch=1, seed=0):
  """A gliding tone's f0 and a swelling loudness, [batch, n_frames] each."""
  rng = np.random.default_rng(seed)
  t = np.arange(n_frames) / test_run_cli.FRAME_RATE
  f0 = 200.0 + 150.0 * np.sin(2 * np.pi * 0.7 * t)[None] + rng.uniform(
      0, 50, (batch, 1))
  loudness = -45.0 + 20.0 * np.sin(2 * np.pi * 0.4 * t)[None] + rng.uniform(
      0, 5, (batch, 1))
  return f0.astype(np.float32), loudness.astype(np.float32)


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
  """A 3-step training run with stats.json beside its data."""
  return test_run_cli.train_quiet_run(tmp_path_factory.mktemp('export'),
                                      STEPS, STATS)


@pytest.fixture(scope='module')
def exported(trained_run):
  try:
    return export.export_model(str(trained_run),
                               str(trained_run / 'export'), tflite=True,
                               gin_params=PRECISE_SYNTHESIS)
  finally:
    gin.clear_config()


@pytest.fixture(scope='module')
def loaded(exported):
  return tf.saved_model.load(exported)


def _eager_model(save_dir, n_frames=TRAIN_FRAMES):
  """The run's model at n_frames, restored, fed loudness_db directly."""
  n_samples = n_frames * HOP
  try:
    export._parse_run_config(  # pylint: disable=protected-access
        train_util.get_latest_operative_config(str(save_dir)),
        [f'F0LoudnessPreprocessor.time_steps = {n_frames}',
         f'Harmonic.n_samples = {n_samples}',
         f'FilteredNoise.n_samples = {n_samples}',
         'F0LoudnessPreprocessor.compute_loudness = False',
         *PRECISE_SYNTHESIS])
    model = models.get_model()
  finally:
    gin.clear_config()
  f0, loudness = _features(n_frames)
  model({'f0_hz': f0, 'loudness_db': loudness}, training=False)
  tf.train.Checkpoint(model=model).restore(
      train_util.get_latest_checkpoint(str(save_dir))).expect_partial(
      ).assert_existing_objects_matched()
  return model


# ----------------------------------------------------------------------------
# The SavedModel.
# ----------------------------------------------------------------------------
def test_parity_with_the_eager_model_at_the_training_length(trained_run,
                                                            loaded):
  model = _eager_model(trained_run)
  f0, loudness = _features(TRAIN_FRAMES, batch=2)
  expected = model({'f0_hz': f0, 'loudness_db': loudness}, training=False)
  outputs = loaded.signatures['serving_default'](
      f0_hz=tf.constant(f0), loudness_db=tf.constant(loudness))
  assert outputs['audio'].shape == (2, TRAIN_FRAMES * HOP)
  np.testing.assert_allclose(outputs['audio'], expected['audio_synth'],
                             atol=1e-4)
  np.testing.assert_allclose(outputs['audio_dry'], expected['add']['signal'],
                             atol=1e-4)
  controls = expected['harmonic']['controls']
  np.testing.assert_allclose(outputs['amps'], controls['amplitudes'],
                             rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(outputs['harmonic_distribution'],
                             controls['harmonic_distribution'],
                             rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(
      outputs['noise_magnitudes'],
      expected['filtered_noise']['controls']['magnitudes'], rtol=1e-4,
      atol=1e-9)
  # The reverb is audible, so audio and audio_dry really differ (by more
  # than 1% of the dry peak; after 3 training steps the room is faint, and
  # how faint varies from run to run).
  wet_part = np.abs(outputs['audio'] - outputs['audio_dry']).max()
  assert wet_part > 1e-2 * np.abs(outputs['audio_dry']).max()


@pytest.mark.parametrize('seconds', [1.0, 4.0, 7.3])
def test_any_length_matches_a_model_built_for_that_length(trained_run, loaded,
                                                          seconds):
  n_frames = int(round(seconds * test_run_cli.FRAME_RATE))
  f0, loudness = _features(n_frames, seed=1)
  outputs = loaded.signatures['serving_default'](
      f0_hz=tf.constant(f0), loudness_db=tf.constant(loudness))
  assert outputs['audio'].shape == (1, n_frames * HOP)
  assert outputs['harmonic_distribution'].shape[:2] == (1, n_frames)
  model = _eager_model(trained_run, n_frames)
  expected = model({'f0_hz': f0, 'loudness_db': loudness}, training=False)
  np.testing.assert_allclose(outputs['audio'], expected['audio_synth'],
                             atol=1e-4)


def test_runs_in_a_fresh_process_with_only_tensorflow(exported, loaded,
                                                      tmp_path):
  f0, loudness = _features(37, batch=2)
  np.savez(tmp_path / 'inputs.npz', f0=f0, loudness=loudness)
  script = textwrap.dedent(f"""
      import sys
      import numpy as np
      import tensorflow as tf
      module = tf.saved_model.load({exported!r})
      inputs = np.load({str(tmp_path / 'inputs.npz')!r})
      serve = module.signatures['serving_default']
      out = serve(f0_hz=tf.constant(inputs['f0']),
                  loudness_db=tf.constant(inputs['loudness']))
      a2a = module.signatures['audio_to_audio'](
          audio=tf.constant(out['audio_dry']))
      assert not any(name.startswith('ddsp_tf') for name in sys.modules)
      np.savez({str(tmp_path / 'outputs.npz')!r},
               audio=out['audio'].numpy(), a2a_audio=a2a['audio'].numpy(),
               f0=a2a['f0_hz'].numpy())
      """)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  env.pop('PYTHONPATH', None)
  result = subprocess.run([sys.executable, '-c', script], cwd=tmp_path,
                          env=env, capture_output=True, text=True,
                          timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  outputs = np.load(tmp_path / 'outputs.npz')
  expected = loaded.signatures['serving_default'](
      f0_hz=tf.constant(f0), loudness_db=tf.constant(loudness))
  np.testing.assert_allclose(outputs['audio'], expected['audio'], atol=1e-4)
  assert outputs['a2a_audio'].shape == (2, 37 * HOP)
  assert outputs['f0'].shape == (2, 37)


def test_audio_to_audio_features_match_the_dataset_features(loaded):
  n_frames = 150
  t = np.arange(n_frames * HOP) / SAMPLE_RATE
  audio = np.stack([0.3 * np.sin(2 * np.pi * 330.0 * t),
                    0.05 * np.sin(2 * np.pi * 523.25 * t)]).astype(np.float32)
  outputs = loaded.signatures['audio_to_audio'](audio=tf.constant(audio))
  f0, confidence = spectral_ops.compute_f0(
      audio, test_run_cli.FRAME_RATE, viterbi=False, padding='same',
      model_capacity='tiny')
  loudness = spectral_ops.compute_loudness(
      audio, SAMPLE_RATE, test_run_cli.FRAME_RATE, padding='same')
  assert outputs['f0_hz'].shape == (2, n_frames)
  np.testing.assert_allclose(outputs['f0_hz'], f0, rtol=1e-3)
  np.testing.assert_allclose(outputs['f0_confidence'], confidence, atol=1e-3)
  np.testing.assert_allclose(outputs['loudness_db'], loudness, atol=1e-3)
  np.testing.assert_allclose(np.median(outputs['f0_hz'], axis=1),
                             [330.0, 523.25], rtol=0.01)
  resynthesis = loaded.signatures['serving_default'](
      f0_hz=outputs['f0_hz'], loudness_db=outputs['loudness_db'])
  np.testing.assert_allclose(outputs['audio'], resynthesis['audio'],
                             atol=1e-4)
  with pytest.raises(tf.errors.InvalidArgumentError, match='hop_size'):
    loaded.signatures['audio_to_audio'](audio=tf.zeros([1, HOP * 10 + 1]))


# ----------------------------------------------------------------------------
# The other files.
# ----------------------------------------------------------------------------
def test_metadata(exported, trained_run):
  with open(os.path.join(exported, formats.METADATA_FILE)) as metadata_file:
    metadata = json.load(metadata_file)
  expected_types = {
      'format_version': int, 'ddsp_tf_version': str, 'export_time': str,
      'sample_rate': int, 'frame_rate': int, 'hop_size': int,
      'n_harmonics': int, 'n_noise_magnitudes': int, 'has_reverb': bool,
      'reverb_ir_file': str, 'crepe_model': str, 'feature_padding': str,
      'model': str, 'f0_estimator': str,
      'training_step': int, 'dataset_statistics': dict, 'tflite': dict}
  assert set(metadata) == set(expected_types)
  for key, expected_type in expected_types.items():
    # Exact types: a bool is not an acceptable int here, nor the reverse.
    assert type(metadata[key]) is expected_type, key
  assert metadata['format_version'] == formats.EXPORT_FORMAT_VERSION == 1
  assert formats.METADATA_FILE == 'metadata.json'
  assert metadata['export_time'].endswith('Z')
  assert (metadata['sample_rate'], metadata['frame_rate'],
          metadata['hop_size']) == (16000, 250, 64)
  assert (metadata['n_harmonics'], metadata['n_noise_magnitudes']) == (20, 16)
  assert metadata['has_reverb']
  assert metadata['reverb_ir_file'] == 'reverb_ir.wav'
  assert metadata['crepe_model'] == 'tiny'
  assert metadata['feature_padding'] == 'same'
  # The dataset's stats.json names no estimator: it was made with CREPE.
  assert metadata['f0_estimator'] == 'crepe'
  assert metadata['model'] == 'Autoencoder'
  assert metadata['training_step'] == STEPS
  assert metadata['dataset_statistics'] == STATS
  tflite = metadata['tflite']
  assert (tflite['file'], tflite['hop_size'], tflite['state_size'],
          tflite['n_harmonics']) == ('tflite/model.tflite', 64, 32, 20)
  assert tflite['carried_state'] == ['rnn_state', 'phase', 'prev_f0_hz',
                                     'prev_harmonic_amps', 'noise_tail']
  assert os.path.isfile(os.path.join(exported, tflite['file']))
  # format_version 1 readers ignore the extra key.
  assert transfer_app.load_model(exported).metadata['tflite'] == tflite
  with open(os.path.join(exported, 'operative_config.gin')) as copied:
    with open(train_util.get_latest_operative_config(str(trained_run))) as orig:
      assert copied.read() == orig.read()


def test_reverb_ir_wav_is_the_learned_room_response(exported, loaded,
                                                    trained_run):
  ir, rate = sf.read(os.path.join(exported, 'reverb_ir.wav'), dtype='float32')
  assert rate == SAMPLE_RATE
  assert sf.info(os.path.join(exported, 'reverb_ir.wav')).subtype == 'FLOAT'
  model = _eager_model(trained_run)
  weights, = model.processor_group.dag_modules['reverb'].get_weights()
  assert ir.shape == weights.shape == (2000,)
  assert ir[0] == 1.0  # The direct sound (add_dry).
  np.testing.assert_array_equal(ir[1:], weights[1:])
  # Convolving audio_dry with the file gives the model's audio.
  f0, loudness = _features(100)
  outputs = loaded.signatures['serving_default'](
      f0_hz=tf.constant(f0), loudness_db=tf.constant(loudness))
  dry = outputs['audio_dry'].numpy()[0]
  wet = np.convolve(dry.astype(np.float64), ir)[:dry.size]
  np.testing.assert_allclose(outputs['audio'][0], wet, atol=1e-5)


@pytest.mark.slow  # A full export (about 8 s each).
def test_failed_export_leaves_nothing_and_keeps_the_old_export(
    trained_run, exported, tmp_path, monkeypatch):
  target = tmp_path / 'failed'

  def fail(*unused_args, **unused_kwargs):
    raise OSError('disk full')

  monkeypatch.setattr(export.sf, 'write', fail)
  with pytest.raises(OSError, match='disk full'):
    export.export_model(str(trained_run), str(target))
  assert os.listdir(tmp_path) == []
  # A failed overwrite keeps the previous export in place.
  before = sorted(os.listdir(exported))
  with pytest.raises(OSError, match='disk full'):
    export.export_model(str(trained_run), exported, overwrite=True)
  assert sorted(os.listdir(exported)) == before
  assert not [name for name in os.listdir(os.path.dirname(exported))
              if name.startswith('export.')]
  gin.clear_config()


@pytest.mark.slow  # A full export (about 8 s each).
def test_existing_export_is_replaced_only_with_overwrite(trained_run,
                                                         tmp_path):
  target = tmp_path / 'model'
  target.mkdir()
  (target / 'old.txt').write_text('old')
  with pytest.raises(FileExistsError, match='overwrite'):
    export.export_model(str(trained_run), str(target))
  try:
    export.export_model(str(trained_run), str(target), overwrite=True,
                        dataset_statistics=None)
  finally:
    gin.clear_config()
  assert 'old.txt' not in os.listdir(target)
  assert 'saved_model.pb' in os.listdir(target)
  assert sorted(os.listdir(tmp_path)) == ['model']


# ----------------------------------------------------------------------------
# The TFLite streaming model.
# ----------------------------------------------------------------------------
def _run_tflite(path, f0, loudness, reset_phase_at=None):
  """Runs the .tflite stream frame by frame from zero state.

  Returns:
    (audio [n_frames * hop], prev_harmonic_amps [n_frames, n_harmonics],
    seconds per call [n_frames]).
  """
  runner = tf.lite.Interpreter(model_path=path).get_signature_runner()
  with open(os.path.join(os.path.dirname(os.path.dirname(path)),
                         formats.METADATA_FILE)) as metadata_file:
    meta = json.load(metadata_file)['tflite']
  state = {spec['name']: np.zeros(spec['shape'], np.float32)
           for spec in meta['inputs']
           if spec['name'] in meta['carried_state']}
  audio, amps, seconds = [], [], []
  for t in range(f0.size):
    if t == reset_phase_at:
      state['phase'] = np.zeros(1, np.float32)
    start = time.perf_counter()
    out = runner(f0_hz=f0[t:t + 1], loudness_db=loudness[t:t + 1], **state)
    seconds.append(time.perf_counter() - start)
    audio.append(out['audio'].copy())
    amps.append(out['prev_harmonic_amps'].copy())
    state = {name: out[name].copy() for name in state}
  return np.concatenate(audio), np.stack(amps), np.array(seconds)


def test_tflite_stream_matches_the_saved_model(exported, loaded):
  """Frame t's hop is audio_dry between frames t - 1 and t.

  f0 stays below Nyquist / n_harmonics, where the stream's Nyquist guard
  (the hop's two frames) and the batch model's (one frame further) agree.
  The batch model's phase starts at zero before sample 0, so the stream's
  phase is set to zero before its hop 0 (call 1); call 0 is the fade-in
  from silence. Tolerance: both phases are float32 sums (the batch model's
  is the original's float32 cumsum of every sample's increment since
  precise_phase became an option), which wander apart on the top harmonics;
  measured 3.4e-4 to 1.03e-3 of the peak over fresh trainings of this
  model, so atol is 2e-3 of the peak (plus the noise, at its 1e-7 floor).
  """
  n_frames = 250  # 1 s.
  f0, loudness = _features(n_frames)
  f0 = np.minimum(f0, 0.98 * SAMPLE_RATE / 2 / 20)
  expected = loaded.signatures['serving_default'](
      f0_hz=tf.constant(f0), loudness_db=tf.constant(loudness))
  path = os.path.join(exported, 'tflite', 'model.tflite')
  audio, amps, seconds = _run_tflite(path, f0[0], loudness[0],
                                     reset_phase_at=1)
  assert audio.shape == (n_frames * HOP,)
  dry = expected['audio_dry'].numpy()[0, :(n_frames - 1) * HOP]
  np.testing.assert_allclose(audio[HOP:], dry, rtol=0,
                             atol=2e-3 * np.abs(dry).max())
  assert np.abs(audio[0]) < 1e-5  # Fading in from silence.
  # The carried RNN state gives the batch model's controls frame by frame.
  np.testing.assert_allclose(
      amps, (expected['amps'] * expected['harmonic_distribution'])[0],
      rtol=1e-4, atol=1e-9)
  print(f'TFLite stream: median {np.median(seconds) * 1e6:.0f} us per '
        f'{HOP}-sample hop; real-time factor '
        f'{np.median(seconds) * SAMPLE_RATE / HOP:.4f}')


@pytest.fixture(scope='module')
def streaming(trained_run):
  model = _eager_model(trained_run)
  return inference.StreamingModule(inference.ExportModule(model))


def test_stream_noise_is_the_batch_filtered_noise(streaming):
  n_frames, n_bands = 12, 16
  rng = np.random.default_rng(3)
  noise = rng.uniform(-1, 1, n_frames * HOP).astype(np.float32)
  magnitudes = rng.uniform(0, 1, (n_frames, n_bands)).astype(np.float32)
  tail = tf.zeros([streaming.noise_tail_size])
  hops = []
  for t in range(n_frames):
    hop, tail = streaming.noise_hop(noise[t * HOP:(t + 1) * HOP],
                                    magnitudes[t], tail)
    hops.append(hop.numpy())
  expected = core.frequency_filter(noise[None], magnitudes[None],
                                   window_size=257).numpy()[0]
  # One hop of latency, as the harmonic part.
  np.testing.assert_allclose(np.concatenate(hops)[HOP:],
                             expected[:-HOP], atol=1e-5)


@pytest.mark.slow  # A full export (about 8 s).
def test_failed_tflite_conversion_leaves_no_export(trained_run, tmp_path,
                                                   monkeypatch):
  def fail(unused_streaming):
    raise ValueError('conversion failed')

  monkeypatch.setattr(inference, 'convert_to_tflite', fail)
  try:
    with pytest.raises(ValueError, match='conversion failed'):
      export.export_model(str(trained_run), str(tmp_path / 'model'),
                          tflite=True)
  finally:
    gin.clear_config()
  assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------
# Command line.
# ----------------------------------------------------------------------------
def test_help_explains_every_flag(capsys):
  cli_checks.assert_help_lists(
      export_cli.main,
      ['--save_dir', '--export_dir', '--checkpoint', '--crepe_model',
       '--dataset_stats', '--overwrite', '--tflite', '--gin_param'], capsys)


def test_console_script_is_declared():
  cli_checks.assert_console_script(
      'ddsp_tf_export', 'ddsp_tf.cli.export:console_entry_point')


@pytest.mark.slow  # A full export (about 8 s each).
def test_cli_exports_with_a_checkpoint_and_statistics(trained_run, tmp_path,
                                                      capsys):
  stats = tmp_path / 'other_stats.json'
  stats.write_text(json.dumps({'mean_pitch_midi': 40.0}))
  target = tmp_path / 'cli_export'
  try:
    status = export_cli.main([
        f'--save_dir={trained_run}', f'--export_dir={target}',
        f'--checkpoint={trained_run / f"ckpt-{STEPS}"}',
        f'--dataset_stats={stats}', '--tflite'])
  finally:
    gin.clear_config()
  assert status == 0
  assert f'Exported to {target}' in capsys.readouterr().out
  with open(target / 'metadata.json') as metadata_file:
    metadata = json.load(metadata_file)
  assert metadata['dataset_statistics'] == {'mean_pitch_midi': 40.0}
  assert metadata['tflite']['file'] == 'tflite/model.tflite'
  assert [spec['name'] for spec in metadata['tflite']['outputs']] == [
      'audio', 'noise_tail', 'phase', 'prev_f0_hz', 'prev_harmonic_amps',
      'rnn_state']
  assert (target / 'tflite' / 'model.tflite').stat().st_size > 10000


@pytest.mark.parametrize('case, message', [
    ('not_a_run', 'is not a training directory'),
    ('no_checkpoint', 'No readable checkpoint'),
    ('not_empty', 'is not empty; pass overwrite=True (--overwrite)'),
    ('missing_stats', 'No dataset statistics file'),
])
def test_cli_errors(trained_run, tmp_path, capsys, case, message):
  save_dir, extra = trained_run, []
  if case == 'not_a_run':
    save_dir = tmp_path
  elif case == 'no_checkpoint':
    save_dir = tmp_path / 'run'
    save_dir.mkdir()
    (save_dir / 'operative_config-0.gin').write_text('')
  elif case == 'not_empty':
    (tmp_path / 'export' / 'x').mkdir(parents=True)
  elif case == 'missing_stats':
    extra = [f'--dataset_stats={tmp_path / "nope.json"}']
  try:
    status = export_cli.main([f'--save_dir={save_dir}',
                              f'--export_dir={tmp_path / "export"}', *extra])
  finally:
    gin.clear_config()
  assert status != 0
  assert message in capsys.readouterr().err
  if case != 'not_empty':
    assert not (tmp_path / 'export').exists()
