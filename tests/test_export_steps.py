"""The original's ddsp_export step functions (ddsp_tf.training.ddsp_export)."""

import json
import math
import os

import gin
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf
from scipy import signal

from ddsp_tf.cli import run as run_cli
from ddsp_tf.training import ddsp_export
from ddsp_tf.training import vst_inference
import test_vst

ORIGINAL_METADATA_KEYS = {
    'mean_min_pitch_note', 'mean_max_pitch_note', 'mean_min_pitch_note_hz',
    'mean_max_pitch_note_hz', 'mean_min_power_note', 'mean_max_power_note',
    'version', 'export_time', 'num_harmonics', 'num_noise_amps',
    'frame_rate', 'frame_size', 'sample_rate'}


@pytest.fixture(scope='module')
def vst_run(tmp_path_factory):
  """A VST run trained 2 steps on two constant tones (no export)."""
  root = tmp_path_factory.mktemp('steps')
  pattern = str(root / 'train.tfrecord')
  test_vst.write_centered_tones(pattern)
  run_dir = str(root / 'run')
  status = run_cli.main([
      '--mode=train', f'--save_dir={run_dir}',
      '--gin_file=models/vst/vst.gin', '--gin_file=datasets/tfrecord.gin',
      f"--gin_param=TFRecordProvider.file_pattern='{pattern}'",
      '--gin_param=TFRecordProvider.centered=True',
      '--gin_param=TFRecordProvider.frame_rate=50',
      '--gin_param=batch_size=2', '--gin_param=train_util.train.num_steps=2',
      '--gin_param=train_util.train.steps_per_save=2',
      '--gin_param=train_util.train.steps_per_summary=2'])
  assert status == 0
  gin.clear_config()
  yield {'root': root, 'run_dir': run_dir, 'pattern': pattern}
  gin.clear_config()


def test_ensure_exits_makes_nested_directories(tmp_path):
  path = str(tmp_path / 'a' / 'b')
  ddsp_export.ensure_exits(path)
  assert os.path.isdir(path)
  ddsp_export.ensure_exits(path)  # Existing: no error.
  assert os.path.isdir(path)


def test_tfjs_is_refused_with_the_reason(tmp_path):
  with pytest.raises(NotImplementedError, match='tensorflowjs.*TF 2.21'):
    ddsp_export.saved_model_to_tfjs(str(tmp_path), str(tmp_path / 'tfjs'))


def test_bad_inputs_get_clear_errors(tmp_path, vst_run):
  with pytest.raises(ValueError, match="got 'streaming_f0_pw'"):
    ddsp_export.get_inference_model(vst_run['run_dir'], 'streaming_f0_pw')
  missing = str(tmp_path / 'no_run')
  with pytest.raises(FileNotFoundError, match='no_run'):
    ddsp_export.ckpt_to_saved_model(missing, str(tmp_path / 'out'))
  with pytest.raises(FileNotFoundError, match='no_run'):
    ddsp_export.export_impulse_response(missing, str(tmp_path / 'out'))
  with pytest.raises(FileNotFoundError, match='saved_model.pb'):
    ddsp_export.saved_model_to_tflite(str(tmp_path), str(tmp_path / 'out'))
  gin.clear_config()


def test_export_impulse_response_is_the_checkpoints_reverb(vst_run, tmp_path):
  save_dir = str(tmp_path / 'ir')
  paths = ddsp_export.export_impulse_response(vst_run['run_dir'], save_dir,
                                              target_sr=44100)
  gin.clear_config()
  assert sorted(os.path.basename(p) for p in paths) == [
      'reverb_ir_16000_hz.wav', 'reverb_ir_44100_hz.wav']
  # FilteredNoiseReverb renders its IR from fresh noise, so the samples
  # differ per call; check the size (reverb_length = 24000 in vst.gin), that
  # it is a real signal, and that the 44.1 kHz file is this IR resampled.
  ir, rate = sf.read(os.path.join(save_dir, 'reverb_ir_16000_hz.wav'),
                     dtype='float32')
  assert rate == 16000 and ir.shape == (24000,)
  assert np.all(np.isfinite(ir)) and np.max(np.abs(ir)) > 0
  resampled, rate = sf.read(os.path.join(save_dir, 'reverb_ir_44100_hz.wav'),
                            dtype='float32')
  assert rate == 44100 and len(resampled) == 24000 * 441 // 160
  np.testing.assert_allclose(
      resampled, signal.resample_poly(ir.astype(np.float64), 441, 160),
      atol=1e-4 * np.max(np.abs(ir)) + 1e-6)
  # Without target_sr only the model's rate is written.
  only = ddsp_export.export_impulse_response(vst_run['run_dir'],
                                             str(tmp_path / 'one'))
  gin.clear_config()
  assert [os.path.basename(p) for p in only] == ['reverb_ir_16000_hz.wav']


def test_metadata_dict_has_the_originals_keys(vst_run):
  provider = ddsp_export.get_data_provider(vst_run['pattern'],
                                           vst_run['run_dir'])
  metadata = ddsp_export.get_metadata_dict(provider, vst_run['run_dir'])
  gin.clear_config()
  assert set(metadata) == ORIGINAL_METADATA_KEYS
  assert (metadata['num_harmonics'], metadata['num_noise_amps'],
          metadata['frame_rate'], metadata['frame_size'],
          metadata['sample_rate']) == (60, 65, 50, 1024, 16000)
  # One constant tone per example: min and max note are both the mean of
  # the two tones' MIDI notes.
  mean_note = np.mean([69 + 12 * math.log2(f / 440.0)
                       for f in test_vst.TONES_HZ])
  assert metadata['mean_min_pitch_note'] == pytest.approx(mean_note, abs=1e-3)
  assert metadata['mean_max_pitch_note'] == pytest.approx(mean_note, abs=1e-3)
  json.dumps(metadata, allow_nan=False)


def test_saved_model_then_tflite_with_metadata(vst_run, tmp_path):
  saved_dir = str(tmp_path / 'saved')
  ddsp_export.ckpt_to_saved_model(
      vst_run['run_dir'], saved_dir,
      inference_model='vst_stateless_predict_controls')
  gin.clear_config()
  loaded = tf.saved_model.load(saved_dir)
  assert loaded.signatures  # Loadable, with a serving signature.
  metadata_file = str(tmp_path / 'metadata.json')
  with open(metadata_file, 'w', encoding='utf-8') as f:
    json.dump({'sample_rate': 16000, 'note': 'x'}, f)
  path = ddsp_export.saved_model_to_tflite(
      saved_dir, str(tmp_path / 'tflite'), metadata_file=metadata_file)
  assert path == os.path.join(str(tmp_path / 'tflite'), 'model.tflite')
  with open(path, 'rb') as f:
    tflite_model = f.read()
  interpreter = tf.lite.Interpreter(model_content=tflite_model)
  interpreter.allocate_tensors()
  names = {d['name'] for d in interpreter.get_input_details()}
  assert names == set(test_vst.PLUGIN_INPUTS)
  assert vst_inference.read_metadata(tflite_model) == {
      'sample_rate': 16000, 'note': 'x'}
