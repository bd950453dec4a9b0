"""Tests for the main job, ddsp_tf_demo (ddsp_tf.cli.demo).

One end-to-end run per module (slow): a 4.5 s harmonic glide made here
trains the real models/solo_instrument_cpu.gin for 2 steps; a 3 s stereo
tone at 22.05 kHz is the transfer input. The outputs are checked against
what the inputs fix (rates, lengths, the input audio itself), then a rerun
reuses the finished stages and other settings need --overwrite. The error
cases fail before any slow work.
"""

import json
import math
import os

import matplotlib.image
import numpy as np
import pytest
import soundfile as sf

from ddsp_tf.apps import demo
from ddsp_tf.cli import demo as demo_cli

SAMPLE_RATE = 16000
TRAIN_SECS = 4.5
TRANSFER_RATE = 22050
TRANSFER_SECS = 3.0
STEPS = 2


def _harmonic_tone(f0_hz: np.ndarray, sample_rate: int) -> np.ndarray:
  """Five harmonics with 1/k amplitudes on the pitch curve f0_hz [n]."""
  phase = 2.0 * np.pi * np.cumsum(f0_hz) / sample_rate
  return sum(0.3 / k * np.sin(k * phase) for k in range(1, 6)).astype(
      np.float32)


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
  folder = tmp_path_factory.mktemp('demo_inputs')
  t = np.arange(int(TRAIN_SECS * SAMPLE_RATE)) / SAMPLE_RATE
  train_audio = _harmonic_tone(220.0 * 2.0**(t / TRAIN_SECS), SAMPLE_RATE)
  (folder / 'audio').mkdir()
  sf.write(folder / 'audio' / 'glide.wav', train_audio, SAMPLE_RATE,
           subtype='FLOAT')
  n_transfer = int(TRANSFER_SECS * TRANSFER_RATE)
  tone = _harmonic_tone(np.full(n_transfer, 330.0), TRANSFER_RATE)
  sf.write(folder / 'tone.flac', np.stack([tone, tone], axis=1),
           TRANSFER_RATE)
  return {'folder': folder, 'train_audio': train_audio,
          'args': [f'--input_audio_filepatterns={folder / "audio"}',
                   f'--transfer_audio={folder / "tone.flac"}',
                   f'--steps={STEPS}', '--batch_size=2']}


@pytest.fixture(scope='module')
def demo_run(inputs, tmp_path_factory):
  output_dir = tmp_path_factory.mktemp('demo') / 'out'
  args = inputs['args'] + [f'--output_dir={output_dir}']
  assert demo_cli.main(args) == 0
  with open(output_dir / demo.SUMMARY_FILE, encoding='utf-8') as summary:
    return {'dir': output_dir, 'args': args, 'summary': json.load(summary)}


@pytest.mark.slow
def test_wav_outputs_have_the_model_rate_and_input_lengths(inputs, demo_run):
  summary = demo_run['summary']
  hop = SAMPLE_RATE // summary['frame_rate']
  train_length = int(TRAIN_SECS * SAMPLE_RATE) // hop * hop
  transfer_length = int(TRANSFER_SECS * SAMPLE_RATE) // hop * hop
  lengths = {'input_train.wav': train_length,
             'resynthesis.wav': train_length,
             'input_transfer.wav': transfer_length,
             'timbre_transfer.wav': transfer_length}
  for name, length in lengths.items():
    audio, rate = sf.read(demo_run['dir'] / name, dtype='float32')
    assert rate == SAMPLE_RATE, name
    assert audio.shape == (length,), name
    assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) > 0, name
  # The listening copy of the input is the training clip itself.
  written, _ = sf.read(demo_run['dir'] / 'input_train.wav', dtype='float32')
  np.testing.assert_allclose(written, inputs['train_audio'][:train_length],
                             atol=1e-6)
  # The transfer input is the stereo 330 Hz tone, mixed and resampled.
  transfer, _ = sf.read(demo_run['dir'] / 'input_transfer.wav')
  spectrum = np.abs(np.fft.rfft(transfer * np.hanning(transfer.size)))
  peak_hz = np.argmax(spectrum) * SAMPLE_RATE / transfer.size
  assert abs(peak_hz - 330.0) < 2.0


@pytest.mark.slow
def test_png_and_summary(demo_run):
  image = matplotlib.image.imread(demo_run['dir'] / demo.PLOT_FILE)
  assert image.ndim == 3 and image.shape[0] > 400 and image.shape[1] > 400
  summary = demo_run['summary']
  assert summary['steps'] == STEPS and summary['batch_size'] == 2
  assert summary['crepe_model'] == 'tiny' and summary['reused_stages'] == []
  numbers = [summary['f0_l1_semitones'], summary['loudness_l1_db'],
             summary['voiced_fraction'], summary['total_secs'],
             *summary['stage_secs'].values(),
             *summary['stage_cpu_secs'].values()]
  assert all(isinstance(x, float) and math.isfinite(x) and x >= 0
             for x in numbers)
  assert sorted(summary['stage_secs']) == sorted(demo.STAGES)
  # The glide is voiced almost throughout.
  assert summary['voiced_fraction'] > 0.8
  assert summary['targets_met'] == {
      'f0_l1_semitones': summary['f0_l1_semitones'] < 0.5,
      'loudness_l1_db': summary['loudness_l1_db'] < 3.0}
  assert summary['all_targets_met'] == all(summary['targets_met'].values())
  assert sorted(os.path.basename(path) for path in summary['outputs']) == (
      sorted(demo.AUDIO_FILES + (demo.PLOT_FILE, demo.SUMMARY_FILE)))
  assert not [name for name in os.listdir(demo_run['dir'])
              if 'tmp' in name], 'temporary files left behind'
  umask = os.umask(0)
  os.umask(umask)
  for path in summary['outputs']:
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask, path


@pytest.mark.slow
def test_rerun_reuses_finished_stages(demo_run, capsys):
  assert demo_cli.main(demo_run['args']) == 0
  with open(demo_run['dir'] / demo.SUMMARY_FILE, encoding='utf-8') as file:
    summary = json.load(file)
  assert summary['reused_stages'] == list(demo.REUSABLE_STAGES)
  assert all(summary['stage_secs'][stage] == 0.0
             for stage in demo.REUSABLE_STAGES)
  assert 'reused' in capsys.readouterr().out


@pytest.mark.slow
def test_other_settings_need_overwrite(demo_run, capsys):
  args = [arg for arg in demo_run['args'] if not arg.startswith('--steps')]
  assert demo_cli.main(args + ['--steps=3']) == 1
  error = capsys.readouterr().err
  assert 'steps' in error and '--overwrite' in error


def test_no_audio_matched(tmp_path, capsys):
  (tmp_path / 'notes.txt').write_text('not audio')
  assert demo_cli.main([f'--input_audio_filepatterns={tmp_path}',
                        f'--output_dir={tmp_path / "out"}']) == 1
  assert 'No audio file matches' in capsys.readouterr().err
  assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('content', [None, b'not audio at all'])
def test_unreadable_transfer_file(tmp_path, capsys, content):
  path = tmp_path / 'transfer.wav'
  if content is not None:
    path.write_bytes(content)
  assert demo_cli.main([f'--transfer_audio={path}',
                        f'--output_dir={tmp_path / "out"}']) == 1
  error = capsys.readouterr().err
  assert 'transfer audio' in error and str(path) in error


def test_unwritable_output_dir(tmp_path, capsys):
  (tmp_path / 'a_file').write_text('')
  output_dir = tmp_path / 'a_file' / 'out'
  assert demo_cli.main([f'--output_dir={output_dir}']) == 1
  error = capsys.readouterr().err
  assert 'not a writable directory' in error and str(output_dir) in error


def test_occupied_output_dir_needs_overwrite(tmp_path, capsys):
  (tmp_path / 'mine.txt').write_text('keep me')
  assert demo_cli.main([f'--output_dir={tmp_path}']) == 1
  assert 'holds no ddsp_tf_demo run' in capsys.readouterr().err


def test_rerun_rule_of_prepare_output_dir(tmp_path):
  fingerprint = {'steps': 5}
  (tmp_path / 'data').mkdir()
  (tmp_path / 'data' / 'stats.json').write_text('{}')
  (tmp_path / demo.SUMMARY_FILE).write_text('{}')
  (tmp_path / 'mine.txt').write_text('keep me')
  (tmp_path / demo.STATE_FILE).write_text(json.dumps(
      {'settings': fingerprint, 'finished': ['train', 'prepare']}))
  assert demo.prepare_output_dir(str(tmp_path), fingerprint, False) == [
      'prepare', 'train']
  with pytest.raises(demo.DemoError, match='changed: steps'):
    demo.prepare_output_dir(str(tmp_path), {'steps': 6}, False)
  assert demo.prepare_output_dir(str(tmp_path), fingerprint, True) == []
  assert sorted(os.listdir(tmp_path)) == ['mine.txt']


def test_help_explains_every_flag(capsys):
  with pytest.raises(SystemExit) as exit_info:
    demo_cli.main(['--help'])
  assert exit_info.value.code == 0
  text = capsys.readouterr().out
  # pylint: disable-next=protected-access
  for action in demo_cli.build_parser()._actions:
    assert action.help, action.option_strings
    for option in action.option_strings:
      assert option in text
  with pytest.raises(SystemExit) as exit_info:
    demo_cli.main(['--steps=0'])
  assert exit_info.value.code == 2


@pytest.mark.slow
def test_vst_demo_writes_the_plugin_model(inputs, tmp_path):
  """--vst: the VST recipe end to end; its .tflite is the plugin's."""
  import zipfile  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  output_dir = tmp_path / 'vst'
  assert demo_cli.main(inputs['args'] + [f'--output_dir={output_dir}',
                                         '--vst']) == 0
  with open(output_dir / demo.SUMMARY_FILE, encoding='utf-8') as summary:
    summary = json.load(summary)
  assert summary['vst'] and summary['steps'] == STEPS
  assert (summary['sample_rate'], summary['frame_rate']) == (16000, 50)
  model_path = output_dir / demo.VST_MODEL_FILE
  assert summary['plugin_model'] == str(model_path)
  model = model_path.read_bytes()
  interpreter = tf.lite.Interpreter(model_content=model)
  assert sorted(d['name'] for d in interpreter.get_input_details()) == [
      'call_f0_scaled:0', 'call_pw_scaled:0', 'call_state:0']
  with zipfile.ZipFile(model_path) as archive:
    metadata = json.loads(archive.read('metadata.json'))
  # One 4-second example of the glide (220 Hz * 2**(t / 4.5)); the
  # statistics leave out its last 20 frames (0.4 s): 220 to about 383 Hz.
  assert 210 < metadata['mean_min_pitch_note_hz'] < 240
  assert 360 < metadata['mean_max_pitch_note_hz'] < 400
  # Outputs at 16 kHz with the inputs' durations.
  played, rate = sf.read(output_dir / 'resynthesis.wav')
  assert rate == 16000
  assert len(played) == pytest.approx(TRAIN_SECS * 16000, abs=1)
  transfer, rate = sf.read(output_dir / 'timbre_transfer.wav')
  assert len(transfer) == pytest.approx(TRANSFER_SECS * 16000, abs=1)
  assert np.all(np.isfinite(played)) and np.all(np.isfinite(transfer))
  assert summary['loudness_l1_db'] >= 0.0
