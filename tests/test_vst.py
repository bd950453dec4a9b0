"""The DDSP-VST path: vst.gin, OnlineF0PowerPreprocessor, the VST inference
modules and the plugin's .tflite, trained and exported with the original
Colab's flags (magenta/ddsp's Train_VST recipe) through our CLIs."""

import io
import json
import math
import os
import zipfile

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import spectral_ops
from ddsp_tf import core
from ddsp_tf import losses
from ddsp_tf.apps import export
from ddsp_tf.apps import vst_player
from ddsp_tf.cli import export as export_cli
from ddsp_tf.cli import run as run_cli
from ddsp_tf.cli import vst_play as vst_play_cli
from ddsp_tf.training import gin as ddsp_gin
from ddsp_tf.training import inference
from ddsp_tf.training import models
from ddsp_tf.training import preprocessing
from ddsp_tf.training import vst_inference

SAMPLE_RATE = 16000
FRAME_RATE = 50
N_FRAMES = 4 * FRAME_RATE + 1  # Centred frames of 4-second examples.
TONES_HZ = (220.0, 440.0)
AMPLITUDE = 0.4
# The plugin's contract (magenta/ddsp-vst src/util/Constants.h), written
# out here rather than read from ddsp_tf.formats.
PLUGIN_INPUTS = {'call_f0_scaled:0': 1, 'call_pw_scaled:0': 1,
                 'call_state:0': 512}
PLUGIN_OUTPUTS = {'StatefulPartitionedCall:0': 1,
                  'StatefulPartitionedCall:1': 60,
                  'StatefulPartitionedCall:2': 65,
                  'StatefulPartitionedCall:3': 512}


def _float_feature(values):
  return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def write_centered_tones(path):
  """4-second sines at TONES_HZ with exact f0 features, 50 frames/s, centred."""
  t = np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE
  with tf.io.TFRecordWriter(path) as writer:
    for f0 in TONES_HZ:
      audio = (AMPLITUDE * np.sin(2 * np.pi * f0 * t)).astype(np.float32)
      loudness = np.asarray(spectral_ops.compute_loudness(
          audio, SAMPLE_RATE, FRAME_RATE, padding='center'))
      features = {'audio': audio, 'audio_16k': audio,
                  'f0_hz': np.full(N_FRAMES, f0, np.float32),
                  'f0_confidence': np.ones(N_FRAMES, np.float32),
                  'loudness_db': loudness}
      example = tf.train.Example(features=tf.train.Features(feature={
          key: _float_feature(value) for key, value in features.items()}))
      writer.write(example.SerializeToString())


@pytest.fixture(scope='module')
def vst_run(tmp_path_factory):
  """A VST run trained 2 steps and exported for the plugin, by the CLIs."""
  root = tmp_path_factory.mktemp('vst')
  pattern = str(root / 'train.tfrecord')
  write_centered_tones(pattern)
  run_dir = str(root / 'run')
  status = run_cli.main([
      '--mode=train', f'--save_dir={run_dir}',
      '--gin_file=models/vst/vst.gin', '--gin_file=datasets/tfrecord.gin',
      f"--gin_param=TFRecordProvider.file_pattern='{pattern}'",
      '--gin_param=TFRecordProvider.centered=True',
      '--gin_param=TFRecordProvider.frame_rate=50',
      '--gin_param=batch_size=2', '--gin_param=train_util.train.num_steps=2',
      '--gin_param=train_util.train.steps_per_save=2',
      '--gin_param=train_util.train.steps_per_summary=2',
      '--gin_param=trainers.Trainer.checkpoints_to_keep=3',
      # Audible noise (exp_sigmoid(0) = 0.4), so the players' noise counts.
      '--gin_param=FilteredNoise.initial_bias=0.0'])
  assert status == 0
  export_dir = str(root / 'export')
  status = export_cli.main([
      '--name=violin', f'--model_path={run_dir}', f'--save_dir={export_dir}',
      '--inference_model=vst_stateless_predict_controls', '--tflite',
      '--notfjs', f'--dataset_path={pattern}'])
  assert status == 0
  gin.clear_config()
  with open(os.path.join(export_dir, 'tflite', 'violin.tflite'), 'rb') as f:
    tflite_model = f.read()
  return {'root': root, 'run_dir': run_dir, 'export_dir': export_dir,
          'pattern': pattern, 'tflite': tflite_model}


def interpreter_of(tflite_model):
  interpreter = tf.lite.Interpreter(model_content=tflite_model)
  interpreter.allocate_tensors()
  return interpreter


def test_the_vst_configs_bind_the_originals_values():
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.config_dir())
  expected = {
      'vst.gin': (16000, 64320, 60, 65, 24000, 320, -3.0),
      'vst_32k.gin': (32000, 128640, 100, 98, 48000, 640, -4.0),
      'vst_48k.gin': (48000, 192960, 100, 98, 72000, 960, -4.0)}
  for name, (rate, n_samples, n_harmonics, n_noise, reverb_length, crop,
             bias) in expected.items():
    gin.clear_config()
    gin.parse_config_file(f'models/vst/{name}')
    model = models.Autoencoder()  # Configured from the parsed bindings.
    assert isinstance(model.preprocessor,
                      preprocessing.OnlineF0PowerPreprocessor)
    assert (model.preprocessor.frame_rate, model.preprocessor.frame_size,
            model.preprocessor.padding) == (50, 1024, 'center')
    assert not model.preprocessor.compute_f0
    assert model.encoder is None
    assert dict(model.decoder.output_splits) == {
        'amps': 1, 'harmonic_distribution': n_harmonics,
        'noise_magnitudes': n_noise}
    nodes = {name: module
             for name, module in model.processor_group.dag_modules.items()}
    assert nodes['harmonic'].sample_rate == rate
    assert nodes['harmonic'].n_samples == n_samples
    assert nodes['harmonic'].amp_resample_method == 'linear'
    assert nodes['reverb'].reverb_length == reverb_length
    assert nodes['reverb'].initial_bias == bias
    assert nodes['crop'].frame_size == crop
    assert nodes['crop'].crop_location == 'back'
  gin.clear_config()


def test_online_preprocessor_power_and_frames_match_numpy():
  n_samples = 16000
  t = np.arange(n_samples) / SAMPLE_RATE
  audio = (0.5 * np.sin(2 * np.pi * 250.0 * t)).astype(np.float32)
  layer = preprocessing.OnlineF0PowerPreprocessor(
      frame_rate=50, frame_size=1024, padding='center', compute_f0=False,
      crepe_saved_model_path=None)
  f0 = np.full([1, n_samples // 320 + 1], 250.0, np.float32)
  outputs = layer({'audio': audio[np.newaxis], 'f0_hz': f0,
                   'f0_confidence': np.ones_like(f0)})
  # numpy: zero-pad 512 on each side, 1024-sample frames every 320.
  padded = np.pad(audio, 512)
  frames = np.stack([padded[i * 320:i * 320 + 1024]
                     for i in range(n_samples // 320 + 1)])
  power_db = np.maximum(10 * np.log10(np.mean(frames**2, axis=-1)), -80.0)
  assert outputs['pw_db'].shape == (1, 51, 1)
  np.testing.assert_allclose(outputs['pw_db'][0, :, 0], power_db, atol=1e-3)
  # Whole frames of a sine of amplitude 0.5: 20 log10(0.5 / sqrt(2)).
  assert abs(power_db[25] - 20 * math.log10(0.5 / math.sqrt(2))) < 0.01
  np.testing.assert_allclose(outputs['pw_scaled'], outputs['pw_db'] / 80 + 1,
                             atol=1e-6)
  midi = 69 + 12 * math.log2(250.0 / 440.0)
  np.testing.assert_allclose(outputs['f0_scaled'], midi / 127, atol=1e-5)


def test_online_preprocessor_rejects_bad_input():
  layer = preprocessing.OnlineF0PowerPreprocessor(
      frame_rate=50, compute_f0=False, crepe_saved_model_path=None)
  audio = np.zeros([1, 16000], np.float32)
  with pytest.raises(ValueError, match=r'f0_hz has 50 frames.*give 51'):
    layer({'audio': audio, 'f0_hz': np.zeros([1, 50], np.float32),
           'f0_confidence': np.zeros([1, 50], np.float32)})
  with pytest.raises(ValueError, match='compute_f0=False and needs f0_hz'):
    layer({'audio': audio})
  with pytest.raises(ValueError, match='frame_rate must divide 16000'):
    preprocessing.OnlineF0PowerPreprocessor(frame_rate=48)
  with pytest.raises(ValueError, match='no CREPE model'):
    preprocessing.OnlineF0PowerPreprocessor(crepe_saved_model_path=None)
  with pytest.raises(ValueError, match='padding'):
    preprocessing.OnlineF0PowerPreprocessor(padding='reflect',
                                            crepe_saved_model_path=None)


def test_the_plugin_model_has_exactly_the_plugins_tensors(vst_run):
  interpreter = interpreter_of(vst_run['tflite'])
  inputs = {d['name']: d for d in interpreter.get_input_details()}
  outputs = {d['name']: d for d in interpreter.get_output_details()}
  assert {name: int(np.prod(d['shape'])) for name, d in inputs.items()} == (
      PLUGIN_INPUTS)
  assert {name: int(np.prod(d['shape'])) for name, d in outputs.items()} == (
      PLUGIN_OUTPUTS)
  for detail in list(inputs.values()) + list(outputs.values()):
    assert detail['dtype'] == np.float32
    assert len(detail['shape']) == 1
  # Builtin ops only, each at a version the plugin's TFLite 2.9 has.
  versions = vst_inference.check_tflite_2_9_ops(vst_run['tflite'])
  assert 'FULLY_CONNECTED' in versions


def test_the_appended_metadata_is_strict_json_with_the_keys(vst_run):
  with zipfile.ZipFile(io.BytesIO(vst_run['tflite'])) as archive:
    text = archive.read('metadata.json').decode()

  def refuse(constant):
    raise ValueError(f'not strict JSON: {constant}')

  metadata = json.loads(text, parse_constant=refuse)
  for key in ('mean_min_pitch_note_hz', 'mean_max_pitch_note_hz',
              'mean_min_power_note', 'mean_max_power_note', 'export_time',
              'version', 'num_harmonics', 'num_noise_amps', 'frame_rate',
              'frame_size', 'sample_rate'):
    assert key in metadata, key
  assert (metadata['num_harmonics'], metadata['num_noise_amps'],
          metadata['frame_rate'], metadata['frame_size'],
          metadata['sample_rate']) == (60, 65, 50, 1024, 16000)
  # One tone per example: the mean of the per-example minimum (and maximum)
  # note pitch is the mean of the two tones' MIDI notes.
  midi = [69 + 12 * math.log2(f / 440.0) for f in TONES_HZ]
  mean_hz = 440.0 * 2**((np.mean(midi) - 69) / 12)
  assert metadata['mean_min_pitch_note_hz'] == pytest.approx(mean_hz, 1e-3)
  assert metadata['mean_max_pitch_note_hz'] == pytest.approx(mean_hz, 1e-3)
  # The loudest frames hold whole stretches of the sine.
  assert metadata['mean_max_power_note'] == pytest.approx(
      20 * math.log10(AMPLITUDE / math.sqrt(2)), abs=0.05)
  assert metadata['mean_min_power_note'] < metadata['mean_max_power_note']
  # The same metadata beside the SavedModel and the impulse responses.
  export_dir = vst_run['export_dir']
  for name in ('saved_model.pb', 'metadata.json', 'reverb_ir_16000_hz.wav',
               'reverb_ir_44100_hz.wav'):
    assert os.path.exists(os.path.join(export_dir, name)), name


def run_stream(tflite_model, f0_scaled, pw_scaled):
  """Frame by frame through the .tflite, the state fed back: [T, ...]."""
  interpreter = interpreter_of(tflite_model)
  inputs = {d['name']: d['index'] for d in interpreter.get_input_details()}
  outputs = {d['name']: d['index'] for d in interpreter.get_output_details()}
  state = np.zeros(512, np.float32)
  frames = []
  for f0, pw in zip(f0_scaled, pw_scaled):
    interpreter.set_tensor(inputs['call_f0_scaled:0'], np.float32([f0]))
    interpreter.set_tensor(inputs['call_pw_scaled:0'], np.float32([pw]))
    interpreter.set_tensor(inputs['call_state:0'], state)
    interpreter.invoke()
    frame = [interpreter.get_tensor(outputs[f'StatefulPartitionedCall:{k}'])
             for k in range(4)]
    state = frame[3]
    frames.append(frame[:3])
  return [np.stack(part) for part in zip(*frames)]


def test_the_stream_equals_the_keras_decoder_over_the_sequence(vst_run):
  rng = np.random.default_rng(0)
  n_frames = 40
  f0_hz = 440.0 * 2 ** rng.uniform(-2, 1, n_frames)
  f0_scaled = (69 + 12 * np.log2(f0_hz / 440.0)) / 127
  pw_scaled = rng.uniform(0.0, 1.0, n_frames)
  amps, harmonics, noise = run_stream(vst_run['tflite'], f0_scaled, pw_scaled)
  # The trained model, restored from the run, over the whole sequence.
  gin.clear_config()
  inference.parse_operative_config(vst_run['run_dir'])
  model = models.get_model()
  model.decoder({'f0_scaled': tf.zeros([1, 1, 1]),
                 'pw_scaled': tf.zeros([1, 1, 1])})
  model.restore(vst_run['run_dir']).assert_existing_objects_matched()
  sequence = lambda x: tf.constant(x, tf.float32)[tf.newaxis, :, tf.newaxis]
  outputs = model.decoder({'f0_scaled': sequence(f0_scaled),
                           'pw_scaled': sequence(pw_scaled)})
  harmonic = model.processor_group.dag_modules['harmonic']
  noise_synth = model.processor_group.dag_modules['filtered_noise']
  controls = harmonic.get_controls(outputs['amps'],
                                   outputs['harmonic_distribution'],
                                   sequence(f0_hz))
  expected_noise = noise_synth.get_controls(outputs['noise_magnitudes'])
  gin.clear_config()
  np.testing.assert_allclose(amps, controls['amplitudes'][0], atol=1e-4,
                             rtol=1e-4)
  np.testing.assert_allclose(harmonics,
                             controls['harmonic_distribution'][0], atol=1e-4)
  np.testing.assert_allclose(noise, expected_noise['magnitudes'][0],
                             atol=1e-4, rtol=1e-4)
  # Distributions sum to 1 over the harmonics below 8 kHz, none above.
  harmonic_hz = f0_hz[:, np.newaxis] * np.arange(1, 61)
  assert np.all(harmonics[harmonic_hz >= 8000.0] == 0.0)
  np.testing.assert_allclose(harmonics.sum(axis=-1), 1.0, atol=1e-5)


def test_the_plugin_model_stays_finite_for_silence_noise_and_zero_f0(
    vst_run):
  rng = np.random.default_rng(1)
  cases = {'silence': (np.full(20, 60 / 127), np.zeros(20)),
           'noise': (rng.uniform(0, 1, 20), rng.uniform(0, 1, 20)),
           'zero f0': (np.zeros(20), np.full(20, 0.7))}
  for name, (f0_scaled, pw_scaled) in cases.items():
    for part in run_stream(vst_run['tflite'], f0_scaled, pw_scaled):
      assert np.all(np.isfinite(part)), name


def test_the_other_vst_modules(vst_run):
  run_dir = vst_run['run_dir']
  gin.clear_config()
  extract = inference.VSTExtractFeatures(run_dir)
  t = np.arange(1024) / SAMPLE_RATE
  audio = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
  f0_hz, f0_scaled, pw_db, pw_scaled = [x.numpy() for x in extract(audio)]
  assert abs(1200 * math.log2(f0_hz[0] / 440.0)) < 30  # CREPE tiny.
  assert pw_db[0] == pytest.approx(
      10 * math.log10(np.mean(audio.astype(np.float64)**2)), abs=1e-3)
  assert pw_scaled[0] == pytest.approx(pw_db[0] / 80 + 1, abs=1e-6)
  assert f0_scaled.shape == (1,)

  gin.clear_config()
  synth = inference.VSTSynthesizeHarmonic(run_dir)
  hd = np.zeros(60, np.float32)
  hd[0] = 1.0
  f0, amp = 260.0, 0.3
  audio, phase = synth(np.float32([amp]), np.float32([amp]), hd, hd,
                       np.float32([f0]), np.float32([f0]), np.float32([0.0]))
  n = np.arange(1, 321)
  np.testing.assert_allclose(audio, amp * np.sin(2 * np.pi * f0 * n / 16000),
                             atol=1e-4)
  wrapped = (float(phase) - 2 * np.pi * f0 * 320 / 16000 + np.pi) % (
      2 * np.pi) - np.pi
  assert abs(wrapped) < 1e-4
  gin.clear_config()
  noise = inference.VSTSynthesizeNoise(run_dir)
  assert np.all(noise(np.zeros(65, np.float32)).numpy() == 0.0)
  gin.clear_config()
  controls = inference.VSTPredictControls(run_dir)
  amps, hd_out, noise_out = controls(np.float32([0.5]), np.float32([0.5]))
  assert (amps.shape, hd_out.shape, noise_out.shape) == ((1,), (60,), (65,))
  gin.clear_config()


def test_bad_models_and_runs_get_clear_errors(vst_run, tmp_path):
  gin.clear_config()
  module = inference.VSTPredictControls(vst_run['run_dir'])
  no_state = vst_inference.convert_to_tflite(module, str(tmp_path / 'sm'))
  with pytest.raises(ValueError, match=r"missing input 'call_state:0'.*"
                     r'call_f0_scaled:0 \[1\]'):
    vst_inference.check_plugin_model(no_state)
  with pytest.raises(ValueError, match='Not a TFLite model'):
    vst_inference.check_plugin_model(b'not a model')
  with pytest.raises(ValueError, match='no metadata.json'):
    vst_inference.read_metadata(no_state)
  with pytest.raises(ValueError, match='strict JSON'):
    vst_inference.append_metadata(no_state, {'mean_min_power_note': math.nan})
  with pytest.raises(ValueError, match='TF.js export is not supported'):
    export.export_inference_model(vst_run['run_dir'], tfjs=True)
  with pytest.raises(ValueError, match='inference_model must be one of'):
    export.export_inference_model(vst_run['run_dir'], inference_model='vst')
  with pytest.raises(FileNotFoundError, match='does not exist'):
    export.export_inference_model(str(tmp_path / 'nothing'))
  assert export_cli.main([f'--model_path={vst_run["run_dir"]}', '--tfjs',
                          '--inference_model=vst_predict_controls']) == 1
  gin.clear_config()


def test_a_non_vst_run_says_which_config_to_train(tmp_path):
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.config_dir())
  gin.parse_config_file('models/solo_instrument_cpu.gin')
  model = models.get_model()
  n_frames = 200
  model({'f0_hz': tf.fill([1, n_frames], 220.0),
         'loudness_db': tf.fill([1, n_frames], -30.0),
         'audio': tf.zeros([1, 64000])})
  from ddsp_tf.training import train_util  # pylint: disable=g-import-not-at-top
  train_util.write_gin_config(None, str(tmp_path), 0)
  tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
  gin.clear_config()
  with pytest.raises(ValueError, match=r'train with --gin_file=models/vst/'
                     r'vst.gin'):
    export.export_inference_model(
        str(tmp_path), inference_model='vst_stateless_predict_controls')
  gin.clear_config()
  # The original's fixed-length model works on it, without the reverb.
  autoencoder = inference.AutoencoderInference(str(tmp_path),
                                               length_seconds=1)
  assert autoencoder.n_samples == 16000
  outputs = autoencoder({'f0_hz': np.full(autoencoder.n_frames, 220.0),
                         'loudness_db': np.full(autoencoder.n_frames, -20.0)})
  assert outputs['audio_synth'].shape == (1, 16000)
  assert 'reverb' not in outputs
  gin.clear_config()


def test_plugin_synth_renders_known_sines_and_noise():
  synth = vst_player.PluginSynth(n_harmonics=60, n_noise=65)
  distribution = np.zeros(60)
  distribution[[0, 2, 40]] = [2.0, 1.0, 1.0]  # 41 * 250 Hz is above 8 kHz.
  hops = [synth.harmonic(0.6, distribution, 250.0) for _ in range(3)]
  # f0 rose from 0 Hz over the first 160 samples (79.5 samples' worth of
  # 250 Hz cycles), then held: the phase at sample n is 250 Hz * (n - 79.5).
  n = np.arange(320, 960)  # After the first hop's fade-in.
  phase = 2 * np.pi * 250 * (n - 79.5) / 16000
  expected = 0.6 * (2 / 3 * np.sin(phase) + 1 / 3 * np.sin(3 * phase))
  np.testing.assert_allclose(np.concatenate(hops)[320:], expected, atol=1e-9)
  # The first hop rises linearly over 160 samples, then holds.
  first = np.abs(hops[0][:160]).max(), np.abs(hops[0][160:]).max()
  assert first[0] < first[1]
  # Flat unit magnitudes: the windowed response is a delayed unit impulse,
  # so the noise passes with its variance, 1/3 for uniform [-1, 1].
  noise = np.concatenate([synth.noise(np.ones(65)) for _ in range(200)])
  assert np.var(noise) == pytest.approx(1 / 3, rel=0.05)
  # Zero magnitudes: silence.
  assert np.all(synth.noise(np.zeros(65)) == 0.0)


def modulated_tone(seconds=3.0):
  t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
  f0 = 220 * 2 ** (0.3 * np.sin(2 * np.pi * 0.5 * t))
  phase = np.cumsum(2 * np.pi * f0 / SAMPLE_RATE)
  amplitude = 0.3 * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
  return (amplitude * (np.sin(phase) + 0.5 * np.sin(2 * phase))).astype(
      np.float32)


def test_the_player_matches_the_full_sequence_resynthesis(vst_run, tmp_path):
  """Spectra within 5% of the distance between two full renders that differ
  only in their noise seed."""
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  audio = modulated_tone()
  input_path, output_path = str(tmp_path / 'in.wav'), str(tmp_path / 'o.wav')
  sf.write(input_path, audio, SAMPLE_RATE)
  model_path = str(tmp_path / 'model.tflite')
  with open(model_path, 'wb') as model_file:
    model_file.write(vst_run['tflite'])
  result = vst_player.play_file(input_path, model_path, output_path)
  played, rate = sf.read(output_path)
  assert rate == 16000 and len(played) == len(audio)
  assert result['latency_samples'] == 352
  # The same features through the Keras model over the whole sequence.
  player = vst_player.VSTPlayer(model_path)
  stream = np.concatenate([np.zeros(1024, np.float32), audio])
  n_frames = len(audio) // 320
  features = player.features(np.stack(
      [stream[(i + 1) * 320:(i + 1) * 320 + 1024] for i in range(n_frames)]))
  gin.clear_config()
  inference.parse_operative_config(vst_run['run_dir'])
  model = models.get_model()
  sequence = lambda x: tf.constant(x, tf.float32)[tf.newaxis, :, tf.newaxis]
  model.decoder({'f0_scaled': sequence(features['f0_scaled'][:1]),
                 'pw_scaled': sequence(features['pw_scaled'][:1])})
  model.restore(vst_run['run_dir']).assert_existing_objects_matched()
  outputs = model.decoder({'f0_scaled': sequence(features['f0_scaled']),
                           'pw_scaled': sequence(features['pw_scaled'])})
  nodes = model.processor_group.dag_modules
  harmonic = nodes['harmonic'].get_controls(
      outputs['amps'], outputs['harmonic_distribution'],
      sequence(features['f0_hz']))
  noise = nodes['filtered_noise'].get_controls(outputs['noise_magnitudes'])
  gin.clear_config()
  n_samples = n_frames * 320

  def render(seed):
    tf.random.set_seed(seed)
    harmonic_audio = core.harmonic_synthesis(
        frequencies=harmonic['f0_hz'], amplitudes=harmonic['amplitudes'],
        harmonic_distribution=harmonic['harmonic_distribution'],
        n_samples=n_samples, sample_rate=SAMPLE_RATE,
        amp_resample_method='linear')
    noise_audio = core.frequency_filter(
        tf.random.uniform([1, n_samples], -1.0, 1.0), noise['magnitudes'],
        window_size=0)
    return (harmonic_audio + noise_audio).numpy()[0]

  spectral = losses.SpectralLoss(loss_type='L1', mag_weight=0.0,
                                 logmag_weight=1.0)

  def distance(a, b):
    n = min(len(a), len(b))
    return float(spectral(tf.constant(a[np.newaxis, :n], tf.float32),
                          tf.constant(b[np.newaxis, :n], tf.float32)))

  first, second = render(1), render(2)
  noise_floor = distance(first, second)
  # Played hop i holds frame i's controls from 160 samples in, and the
  # 512-sample blocks buffer 320 more.
  lag = 480
  played_distance = distance(first[:n_samples - lag], played[lag:])
  assert played_distance < 1.05 * noise_floor, (played_distance,
                                                noise_floor)


def test_vst_play_cli(vst_run, tmp_path, capsys):
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  input_path = str(tmp_path / 'in.wav')
  sf.write(input_path, modulated_tone(44100 / 16000), 44100)  # 1 second.
  model_path = str(tmp_path / 'violin.tflite')
  with open(model_path, 'wb') as model_file:
    model_file.write(vst_run['tflite'])
  output_path = str(tmp_path / 'out.wav')
  assert vst_play_cli.main([input_path, '--model', model_path, '--output',
                            output_path]) == 0
  played, rate = sf.read(output_path)
  assert rate == 16000
  assert len(played) == 16000
  assert np.all(np.isfinite(played)) and np.abs(played).max() > 0
  assert 'real time' in capsys.readouterr().out
  # Bad input: a model without the plugin's tensors, a missing file.
  gin.clear_config()
  module = inference.VSTPredictControls(vst_run['run_dir'])
  gin.clear_config()
  wrong = str(tmp_path / 'wrong.tflite')
  with open(wrong, 'wb') as model_file:
    model_file.write(vst_inference.convert_to_tflite(
        module, str(tmp_path / 'saved')))
  assert vst_play_cli.main([input_path, '--model', wrong, '--output',
                            output_path]) == 1
  assert "missing input 'call_state:0'" in capsys.readouterr().err
  assert vst_play_cli.main([str(tmp_path / 'none.wav'), '--model',
                            model_path, '--output', output_path]) == 1
  assert 'does not exist' in capsys.readouterr().err


def test_48k_models_export_but_are_not_for_the_released_plugin(tmp_path):
  """vst_48k.gin: 100 harmonics and 98 noise bands, exported and checked
  against those sizes; the plugin's own sizes (and the player) refuse it."""
  from ddsp_tf.training import train_util  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.config_dir())
  gin.parse_config_file('models/vst/vst_48k.gin')
  model = models.get_model()
  model.decoder({'f0_scaled': tf.zeros([1, 1, 1]),
                 'pw_scaled': tf.zeros([1, 1, 1])})
  run_dir = str(tmp_path / 'run')
  train_util.write_gin_config(None, run_dir, 0)
  tf.train.Checkpoint(model=model).save(os.path.join(run_dir, 'ckpt'))
  gin.clear_config()
  export_dir = export.export_inference_model(
      run_dir, inference_model='vst_stateless_predict_controls',
      metadata_file=None, metadata=False, reverb=False)
  with open(os.path.join(export_dir, 'tflite', 'model.tflite'), 'rb') as f:
    tflite_model = f.read()
  outputs = vst_inference.check_plugin_model(
      tflite_model, n_harmonics=100, n_noise=98)['outputs']
  assert outputs['StatefulPartitionedCall:1']['shape'].tolist() == [100]
  assert outputs['StatefulPartitionedCall:2']['shape'].tolist() == [98]
  with pytest.raises(ValueError, match=r"'StatefulPartitionedCall:1' is "
                     r'float32\[100\], the plugin needs float32\[60\]'):
    vst_inference.check_plugin_model(tflite_model)
  model_path = str(tmp_path / 'm48k.tflite')
  with open(model_path, 'wb') as model_file:
    model_file.write(vst_inference.append_metadata(
        tflite_model, {'sample_rate': 48000}))
  with pytest.raises(ValueError, match='48000 Hz model'):
    vst_player.VSTPlayer(model_path)
  gin.clear_config()
