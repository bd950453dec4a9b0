"""Tests for ddsp_tf_timbre_transfer and ddsp_tf_extract_ir.

The model is a toy export that follows the export contract
(contract_export.py: a sine at f0 plus one echo), so the pitch of the output
shows what the adjustment did. Runs call main() in-process; one slow test
runs the module as a separate process.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import cli_checks
import contract_export
from ddsp_tf.cli import extract_ir
from ddsp_tf.cli import timbre_transfer

MODEL_RATE = 16000
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def exports(tmp_path_factory):
  """Paths of a reverb+statistics export and a plain one."""
  return contract_export.write_reverb_and_plain(
      str(tmp_path_factory.mktemp('exports')))


@pytest.fixture(scope='module')
def input_wav(tmp_path_factory):
  """0.7 s of A4 (440 Hz) at 44.1 kHz in stereo."""
  path = str(tmp_path_factory.mktemp('audio') / 'a4.wav')
  t = np.arange(int(0.7 * 44100)) / 44100
  tone = 0.3 * np.sin(2 * np.pi * 440.0 * t)
  sf.write(path, np.stack([tone, 0.5 * tone], axis=1), 44100)
  return path


def _peak_hz(audio, sample_rate):
  spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
  return np.argmax(spectrum) * sample_rate / audio.size


def test_end_to_end_with_features(exports, input_wav, tmp_path, capsys):
  output = str(tmp_path / 'out.wav')
  features = str(tmp_path / 'features.npz')
  status = timbre_transfer.main([
      input_wav, '--model', exports['reverb'], '--output', output,
      '--crepe_model', 'tiny', '--features_out', features, '--dry'])
  printed = capsys.readouterr().out
  assert status == 0
  assert 'Computing features' in printed and 'Wrote' in printed
  assert 'octave shift -1' in printed
  audio, rate = sf.read(output)
  info = sf.info(output)
  assert rate == MODEL_RATE and info.subtype == 'FLOAT'
  hop = MODEL_RATE // 250
  n_frames = int(0.7 * MODEL_RATE) // hop
  assert audio.shape == (n_frames * hop,)
  # The dataset's mean pitch is MIDI 60: A4 goes down one octave.
  assert abs(_peak_hz(audio, MODEL_RATE) - 220.0) < 2.0
  with np.load(features) as saved:
    assert saved['original_f0_hz'].shape == (n_frames,)
    assert saved['adjusted_loudness_db'].shape == (n_frames,)
    assert saved['mask_on'].dtype == bool
    np.testing.assert_allclose(
        np.median(saved['adjusted_f0_hz'] / saved['original_f0_hz']), 0.5,
        rtol=1e-5)
  assert not [name for name in os.listdir(tmp_path) if '.tmp-' in name]


def test_manual_shifts_and_reverb_ir(exports, input_wav, tmp_path):
  ir_path = str(tmp_path / 'room.wav')
  ir = np.zeros(50)
  ir[0], ir[49] = 1.0, -0.25
  sf.write(ir_path, ir, MODEL_RATE, subtype='FLOAT')
  dry_path, wet_path = str(tmp_path / 'dry.wav'), str(tmp_path / 'wet.wav')
  flac_path = str(tmp_path / 'dry.flac')
  common = [input_wav, '--model', exports['reverb'], '--crepe_model', 'tiny',
            '--noauto_adjust', '--pitch_shift', '7', '--octave_shift', '-1']
  assert timbre_transfer.main(common + ['--output', dry_path, '--dry']) == 0
  assert timbre_transfer.main(common + ['--output', wet_path, '--reverb_ir',
                                        ir_path]) == 0
  assert timbre_transfer.main(common + ['--output', flac_path, '--dry']) == 0
  dry, _ = sf.read(dry_path)
  wet, _ = sf.read(wet_path)
  assert abs(_peak_hz(dry, MODEL_RATE) - 220 * 2**(7 / 12)) < 2.0
  # The room is applied by plain convolution with the IR (float WAVs).
  expected = dry + np.concatenate([np.zeros(49), -0.25 * dry[:-49]])
  np.testing.assert_allclose(wet, expected, atol=1e-5)
  # FLAC holds the same render as 16-bit samples, clipped to full scale.
  flac, _ = sf.read(flac_path)
  np.testing.assert_allclose(flac, np.clip(dry, -1.0, 1.0), atol=1.5 / 32768)


def test_no_statistics_model_notes_skip(exports, input_wav, tmp_path, capsys):
  output = str(tmp_path / 'out.wav')
  assert timbre_transfer.main([input_wav, '--model', exports['plain'],
                               '--output', output, '--crepe_model',
                               'tiny']) == 0
  assert 'no dataset statistics' in capsys.readouterr().out
  audio, _ = sf.read(output)
  assert abs(_peak_hz(audio, MODEL_RATE) - 440.0) < 2.0


@pytest.mark.parametrize('case, message', [
    ('missing_input', 'input file .* does not exist'),
    ('unreadable_input', 'Cannot read the input file'),
    ('missing_model', 'Export directory .* does not exist'),
    ('not_an_export', 'is not a ddsp_tf export'),
    ('bad_extension', "unknown audio extension 'xyz'"),
    ('missing_output_dir', 'does not exist; create it first'),
    ('dry_without_reverb', '--dry: the model .* has no reverb'),
    ('dry_and_ir', '--dry and --reverb_ir'),
    ('bad_autotune', 'autotune must be in'),
])
def test_errors(exports, input_wav, tmp_path, capsys, case, message):
  junk = tmp_path / 'junk.wav'
  junk.write_text('not audio')
  args = {'input': input_wav, 'model': exports['reverb'],
          'output': str(tmp_path / 'out.wav'), 'extra': []}
  if case == 'missing_input':
    args['input'] = str(tmp_path / 'none.wav')
  elif case == 'unreadable_input':
    args['input'] = str(junk)
  elif case == 'missing_model':
    args['model'] = str(tmp_path / 'no_model')
  elif case == 'not_an_export':
    args['model'] = str(tmp_path)
  elif case == 'bad_extension':
    args['output'] = str(tmp_path / 'out.xyz')
  elif case == 'missing_output_dir':
    args['output'] = str(tmp_path / 'sub' / 'out.wav')
  elif case == 'dry_without_reverb':
    args['model'] = exports['plain']
    args['extra'] = ['--dry']
  elif case == 'dry_and_ir':
    args['extra'] = ['--dry', '--reverb_ir', input_wav]
  elif case == 'bad_autotune':
    args['extra'] = ['--autotune', '3', '--crepe_model', 'tiny']
  status = timbre_transfer.main([args['input'], '--model', args['model'],
                                 '--output', args['output']] + args['extra'])
  assert status == 1
  error = capsys.readouterr().err
  assert error.startswith('ddsp_tf_timbre_transfer: error:')
  assert re.search(message, error), error
  assert not os.path.exists(str(tmp_path / 'out.wav'))


def test_help_explains_every_flag(capsys):
  cli_checks.assert_help_lists(
      timbre_transfer.main,
      ('--model', '--output', '--octave_shift', '--pitch_shift',
       '--loudness_shift', '--auto_adjust', '--noauto_adjust', '--quiet',
       '--autotune', '--note_threshold', '--dry', '--reverb_ir',
       '--crepe_model', '--features_out'), capsys)


def test_usage_error_exit_status(capsys):
  with pytest.raises(SystemExit) as exit_info:
    timbre_transfer.main(['input.wav'])
  assert exit_info.value.code == 2
  assert '--model' in capsys.readouterr().err


def test_extract_ir(exports, tmp_path, capsys):
  output = str(tmp_path / 'ir.wav')
  assert extract_ir.main(['--model', exports['reverb'], '--output',
                          output]) == 0
  ir, rate = sf.read(output)
  assert rate == MODEL_RATE
  expected = np.zeros(101)
  expected[0], expected[100] = 1.0, 0.5
  np.testing.assert_array_equal(ir, expected)
  assert extract_ir.main(['--model', exports['plain'], '--output',
                          str(tmp_path / 'none.wav')]) == 1
  assert 'has no reverb' in capsys.readouterr().err
  assert not os.path.exists(str(tmp_path / 'none.wav'))


def test_console_scripts_declared():
  cli_checks.assert_console_script(
      'ddsp_tf_timbre_transfer', 'ddsp_tf.cli.timbre_transfer:console_entry_point')
  cli_checks.assert_console_script(
      'ddsp_tf_extract_ir', 'ddsp_tf.cli.extract_ir:console_entry_point')


@pytest.mark.slow
def test_runs_as_a_separate_process(exports, input_wav, tmp_path):
  python_path = os.pathsep.join(
      [REPO_ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p])
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=python_path)
  output = str(tmp_path / 'out.ogg')
  result = subprocess.run(
      [sys.executable, '-m', 'ddsp_tf.cli.timbre_transfer',
       input_wav, '--model', exports['reverb'], '--output', output,
       '--crepe_model', 'tiny', '--autotune', '0.5'],
      capture_output=True, text=True, timeout=300,
      env=env, cwd=str(tmp_path))
  assert result.returncode == 0, result.stderr
  assert 'Wrote' in result.stdout
  audio, rate = sf.read(output)
  assert rate == MODEL_RATE and audio.size > 0
  missing = subprocess.run(
      [sys.executable, '-m', 'ddsp_tf.cli.timbre_transfer',
       str(tmp_path / 'none.wav'), '--model', exports['reverb'], '--output',
       output], capture_output=True, text=True, timeout=300,
      env=env, cwd=str(tmp_path))
  assert missing.returncode == 1
  assert 'does not exist' in missing.stderr
