"""Tests for the ddsp_tf_run command line (ddsp_tf.cli.run).

Runs the real Autoencoder from the shipped models/solo_instrument.gin,
shrunk by a test gin file (0.5-second examples, a 32-unit GRU) found through
--gin_search_path, on TFRecords of harmonic tones written here. Most runs
call main() in-process from another working directory; the resume test
kills a real ddsp_tf_run process with SIGKILL and starts it again.
"""

import dataclasses
import glob
import json
import logging
import os
import signal
import subprocess
import sys
import time

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import spectral_ops
from ddsp_tf.cli import run
from ddsp_tf.training import runner
import cli_checks

SAMPLE_RATE = 16000
FRAME_RATE = 250
EXAMPLE_SECS = 0.5
N_SAMPLES = int(SAMPLE_RATE * EXAMPLE_SECS)
N_FRAMES = N_SAMPLES // (SAMPLE_RATE // FRAME_RATE)

TINY_GIN = f"""
include 'models/solo_instrument.gin'
include 'datasets/tfrecord.gin'

F0LoudnessPreprocessor.time_steps = {N_FRAMES}
Harmonic.n_samples = {N_SAMPLES}
FilteredNoise.n_samples = {N_SAMPLES}
Reverb.reverb_length = 2000
RnnFcDecoder.rnn_channels = 32
RnnFcDecoder.ch = 32
RnnFcDecoder.layers_per_stack = 1
RnnFcDecoder.output_splits = (('amps', 1), ('harmonic_distribution', 20),
                              ('noise_magnitudes', 16))
TFRecordProvider.example_secs = {EXAMPLE_SECS}
batch_size = 4
learning_rate = 3e-3
train.steps_per_summary = 5
train.steps_per_save = 10
evaluate.batch_size = 4
evaluate.num_batches = 2
sample.batch_size = 2
F0LdEvaluator.model_capacity = 'tiny'
"""


def _float_feature(values):
  return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def write_tfrecord(path, n_examples=8, seed=0):
  """Harmonic tones (5 harmonics, 1/k amplitudes) with their features."""
  rng = np.random.default_rng(seed)
  t = np.arange(N_SAMPLES) / SAMPLE_RATE
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(n_examples):
      f0 = rng.uniform(200.0, 400.0)
      audio = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t)
                  for k in range(1, 6)).astype(np.float32)
      loudness = np.asarray(spectral_ops.compute_loudness(
          audio, SAMPLE_RATE, FRAME_RATE, padding='same'))
      features = {
          'audio': audio, 'audio_16k': audio,
          'f0_hz': np.full(N_FRAMES, f0, np.float32),
          'f0_confidence': np.ones(N_FRAMES, np.float32),
          'loudness_db': loudness,
      }
      example = tf.train.Example(features=tf.train.Features(feature={
          key: _float_feature(value) for key, value in features.items()}))
      writer.write(example.SerializeToString())


def read_scalars(directory):
  """{tag: {step: value}} of the scalar summaries under directory."""
  scalars = {}
  for path in glob.glob(os.path.join(directory, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        tensor = tf.make_ndarray(value.tensor) if value.HasField(
            'tensor') else None
        number = (float(tensor) if tensor is not None and tensor.ndim == 0
                  and tensor.dtype.kind == 'f' else None)
        scalars.setdefault(value.tag, {})[event.step] = number
  return scalars


def train_quiet_run(root, steps, statistics):
  """Trains TINY_GIN with the noise synth silenced, through main().

  FilteredNoise.initial_bias = -100 puts every noise magnitude at
  exp_sigmoid's floor (1e-7), so the run's renders repeat to 1e-5.

  Args:
    root: Existing pathlib.Path; gets train.tfrecord (write_tfrecord),
      stats.json and configs/tiny.gin.
    steps: Training steps, with one checkpoint at the last.
    statistics: stats.json contents (a dict), saved beside the data.

  Returns:
    The run's save_dir, root / 'run'.
  """
  write_tfrecord(str(root / 'train.tfrecord'))
  (root / 'stats.json').write_text(json.dumps(statistics))
  (root / 'configs').mkdir()
  (root / 'configs' / 'tiny.gin').write_text(
      TINY_GIN + '\nFilteredNoise.initial_bias = -100.0\n')
  save_dir = root / 'run'
  try:
    status = run.main([
        f'--save_dir={save_dir}', f'--gin_search_path={root / "configs"}',
        '--gin_file=tiny.gin',
        '--gin_param=TFRecordProvider.file_pattern='
        f"'{root / 'train.tfrecord'}'",
        f'--gin_param=train.num_steps={steps}',
        f'--gin_param=train.steps_per_save={steps}'])
  finally:
    gin.clear_config()
  assert status == 0
  return save_dir


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
  """A data file and a folder with the test gin file."""
  root = tmp_path_factory.mktemp('cli')
  write_tfrecord(str(root / 'train.tfrecord'))
  (root / 'configs').mkdir()
  (root / 'configs' / 'tiny.gin').write_text(TINY_GIN)
  (root / 'elsewhere').mkdir()
  return root


def _flags(workspace, save_dir, *extra):
  return [f'--save_dir={save_dir}',
          f'--gin_search_path={workspace / "configs"}',
          '--gin_file=tiny.gin',
          "--gin_param=TFRecordProvider.file_pattern="
          f"'{workspace / 'train.tfrecord'}'", *extra]


def _main(workspace, monkeypatch, argv):
  """main() from another working directory, with gin cleared afterwards."""
  monkeypatch.chdir(workspace / 'elsewhere')
  try:
    return run.main(argv)
  finally:
    gin.clear_config()


@pytest.fixture(scope='module')
def trained_run(workspace):
  """A 10-step training run made with main()."""
  save_dir = workspace / 'trained'
  with pytest.MonkeyPatch.context() as monkeypatch:
    status = _main(workspace, monkeypatch, _flags(
        workspace, save_dir, '--gin_param=train.num_steps=10'))
  assert status == 0
  return save_dir


# ----------------------------------------------------------------------------
# Flags and start-up errors.
# ----------------------------------------------------------------------------
def test_help_lists_every_flag(capsys):
  cli_checks.assert_help_lists(
      run.main,
      ['--mode', '--save_dir', '--restore_dir', '--tpu', '--cluster_config',
       '--strategy', '--allow_memory_growth', '--early_stop_loss_value',
       '--gin_search_path', '--gin_file', '--gin_param', '--run_once',
       '--initial_delay_secs', '--nan_policy', '--seed', '--deterministic'],
      capsys)


def test_console_script_is_declared():
  cli_checks.assert_console_script(
      'ddsp_tf_run', 'ddsp_tf.cli.run:console_entry_point')


def test_parse_gin_searches_only_the_folders_of_this_run(tmp_path):
  """An earlier parse's folder with a file of the same name is not used."""
  steps = {}
  try:
    for folder, value in (('first', 111), ('second', 222)):
      (tmp_path / folder).mkdir()
      (tmp_path / folder / 'steps.gin').write_text(
          f'train.num_steps = {value}\n')
      runner.parse_gin(restore_dir='', gin_search_paths=[str(tmp_path / folder)],
                    gin_files=['steps.gin'])
      steps[folder] = gin.query_parameter('train.num_steps')
  finally:
    gin.clear_config()
  assert steps == {'first': 111, 'second': 222}


def test_parse_gin_keeps_gin_search_noise_out_of_the_log(
    workspace, monkeypatch, caplog):
  """gin logs an ERROR per search folder without the file; none get out."""
  monkeypatch.setattr(logging.getLogger(), 'filters', [])
  monkeypatch.chdir(workspace / 'elsewhere')
  caplog.set_level(logging.INFO)
  try:
    runner.parse_gin(restore_dir='', gin_files=['models/solo_instrument_cpu.gin'])
  finally:
    gin.clear_config()
  assert 'Path not found' not in caplog.text


@pytest.mark.parametrize('extra, message', [
    (['--gin_param=Trainerr.learning_rate=1.0'],
     "No configurable matching 'Trainerr'"),
    (['--gin_param=Trainer.learning_rat=1.0'], "'learning_rat'"),
    (['--gin_file=models/solo_instrumnet.gin'],
     'Unable to open file: models/solo_instrumnet.gin'),
    (['--gin_param=get_model.model = @models.AutoEncoder()'],
     "'@models.AutoEncoder()'"),
])
def test_gin_mistakes_fail_at_start_up_with_the_search_path(
    workspace, monkeypatch, capsys, tmp_path, extra, message):
  status = _main(workspace, monkeypatch,
                 _flags(workspace, tmp_path / 'run', *extra))
  error = capsys.readouterr().err
  assert status == 2
  assert message in error
  assert 'gin search path' in error
  assert str(workspace / 'configs') in error
  assert runner.package_gin_dir() in error
  assert not (tmp_path / 'run').exists()  # Nothing ran.


def test_missing_search_folder_and_missing_dataset_fail_at_start_up(
    workspace, monkeypatch, capsys, tmp_path):
  status = _main(workspace, monkeypatch, [
      f'--save_dir={tmp_path}', f'--gin_search_path={tmp_path / "nope"}'])
  assert status == 2
  assert 'is not a directory' in capsys.readouterr().err
  status = _main(workspace, monkeypatch, [
      f'--save_dir={tmp_path}', '--gin_file=models/solo_instrument.gin'])
  assert status == 2
  assert 'No train.data_provider is bound' in capsys.readouterr().err


@pytest.mark.parametrize('extra, message', [
    (["--gin_param=TFRecordProvider.file_pattern=None"],
     'TFRecordProvider needs a file_pattern'),
    (["--gin_param=TFRecordProvider.file_pattern='/no/such/data*'"],
     "No file matches file_pattern='/no/such/data*'"),
    (['--gin_param=TFRecordProvider.frame_rate=50'],
     'Could not read a batch from TFRecordProvider'),
    (['--gin_param=Harmonic.n_samples=16000',
      '--gin_param=FilteredNoise.n_samples=16000'],
     'must have the same shape'),
])
def test_bad_data_fails_before_training(workspace, monkeypatch, capsys,
                                        tmp_path, extra, message):
  save_dir = tmp_path / 'run'
  status = _main(workspace, monkeypatch, _flags(workspace, save_dir, *extra))
  assert status == 1
  assert message in capsys.readouterr().err
  assert not glob.glob(str(save_dir / 'ckpt-*'))


def test_unwritable_save_dir_fails_before_training(workspace, monkeypatch,
                                                   capsys, tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('')
  status = _main(workspace, monkeypatch, _flags(workspace, blocker / 'run'))
  assert status == 1
  assert 'is not a writable directory' in capsys.readouterr().err


def test_run_settings_check_the_mode_and_map_every_flag():
  with pytest.raises(ValueError, match=r"mode must be one of .*mode='tune'"):
    runner.RunSettings(mode='tune')
  args = run.build_parser().parse_args(
      ['--mode=eval', '--save_dir=/x', '--gin_file=a.gin', '--gin_param=b=1',
       '--seed=3', '--deterministic', '--run_once'])
  settings = run.settings_from_flags(args)
  assert (settings.mode, settings.save_dir, list(settings.gin_files),
          list(settings.gin_params), settings.seed, settings.deterministic,
          settings.run_once) == ('eval', '/x', ['a.gin'], ['b=1'], 3, True,
                                 True)
  # Every flag reaches a field (the log level only sets up logging).
  fields = {field.name for field in dataclasses.fields(runner.RunSettings)}
  flag_names = {action.dest for action in run.build_parser()._actions
                if action.dest not in ('help', 'log_level')}
  renamed = {'gin_file': 'gin_files', 'gin_param': 'gin_params',
             'gin_search_path': 'gin_search_paths'}
  assert {renamed.get(name, name) for name in flag_names} == fields


def test_deterministic_needs_a_seed(workspace, monkeypatch, capsys,
                                    tmp_path):
  status = _main(workspace, monkeypatch,
                 _flags(workspace, tmp_path / 'run', '--deterministic'))
  assert status == 2
  assert '--deterministic needs --seed' in capsys.readouterr().err
  assert not (tmp_path / 'run').exists()


_SEEDED_RUNS = """
import sys
import gin
from tensorflow.python.framework import config
from ddsp_tf.cli import run
from ddsp_tf.training import runner
flags, runs = sys.argv[1:-3], sys.argv[-3:]
for save_dir, seed in zip(runs, (5, 5, 6)):
  assert run.main(flags + [f'--save_dir={save_dir}', f'--seed={seed}',
                           '--deterministic']) == 0
  gin.clear_config()
print('determinism enabled:', config.is_op_determinism_enabled())
"""


@pytest.mark.slow
def test_seeded_deterministic_runs_repeat_bit_for_bit(workspace, tmp_path):
  """Three 4-step runs in a fresh process: seeds 5, 5 and 6.

  A process of its own, because op determinism cannot be switched off.
  """
  runs = [str(tmp_path / name) for name in ('a', 'b', 'c')]
  flags = _flags(workspace, tmp_path / 'unused',
                 '--gin_param=train.num_steps=4',
                 '--gin_param=train.steps_per_save=4')[1:]
  result = subprocess.run(
      [sys.executable, '-c', _SEEDED_RUNS, *flags, *runs],
      cwd=workspace / 'elsewhere', capture_output=True, text=True,
      timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'determinism enabled: True' in result.stdout
  weights = []
  for save_dir in runs:
    reader = tf.train.load_checkpoint(os.path.join(save_dir, 'ckpt-4'))
    weights.append({name: reader.get_tensor(name) for name in
                    reader.get_variable_to_shape_map()
                    if name.startswith('optimizer/_trainable_variables/')})
  assert len(weights[0]) > 10
  for name, value in weights[0].items():
    np.testing.assert_array_equal(weights[1][name], value, err_msg=name)
  assert any(not np.array_equal(weights[2][name], value)
             for name, value in weights[0].items())


# ----------------------------------------------------------------------------
# Train, eval and sample.
# ----------------------------------------------------------------------------
def test_train_writes_operative_config_checkpoints_and_summaries(trained_run):
  files = os.listdir(trained_run)
  assert {'operative_config-0.gin', 'ckpt-10.index', 'checkpoint'} <= set(
      files)
  config = (trained_run / 'operative_config-0.gin').read_text()
  assert 'RnnFcDecoder.rnn_channels = 32' in config
  assert 'learning_rate = 0.003' in config
  assert 'Trainer.learning_rate = %learning_rate' in config
  scalars = read_scalars(str(trained_run / 'summaries' / 'train'))
  for tag in ['losses/spectral_loss', 'losses/total_loss', 'learning_rate',
              'steps_per_sec']:
    assert set(scalars[tag]) == {5, 10}, tag
  for tag in ['audio_generated', 'audio_original', 'spectrogram',
              'f0_midi/f0_midi', 'gin/operative_config-0']:
    assert tag in scalars, tag


def test_eval_mode_writes_losses_and_resynthesis_metrics(
    trained_run, workspace, monkeypatch):
  status = _main(workspace, monkeypatch, _flags(
      workspace, trained_run, '--mode=eval', '--run_once',
      '--gin_file=eval/basic_f0_ld.gin'))
  assert status == 0
  scalars = read_scalars(str(trained_run / 'summaries' / 'eval'))
  for tag in ['losses/spectral_loss', 'losses/total_loss',
              'metrics/loudness/loudness_db', 'metrics/f0_crepe/f0_dist',
              'metrics/f0_crepe/outlier_ratio',
              'metrics/f0_crepe/raw_pitch_accuracy']:
    assert set(scalars.get(tag, {})) == {10}, tag
  assert scalars['metrics/loudness/loudness_db'][10] > 0
  assert 0 <= scalars['metrics/f0_crepe/outlier_ratio'][10] <= 1


def test_sample_mode_writes_audio_and_plots(trained_run, workspace,
                                            monkeypatch):
  status = _main(workspace, monkeypatch, _flags(
      workspace, trained_run, '--mode=sample', '--run_once=true'))
  assert status == 0
  tags = read_scalars(str(trained_run / 'summaries' / 'eval'))
  for tag in ['audio_generated', 'audio_original', 'waveform', 'spectrogram']:
    assert 10 in tags.get(tag, {}), tag


def test_eval_without_checkpoints_fails_clearly(workspace, monkeypatch,
                                                capsys, tmp_path):
  status = _main(workspace, monkeypatch, _flags(
      workspace, tmp_path, '--mode=eval', '--run_once'))
  assert status == 1
  assert 'No readable checkpoint' in capsys.readouterr().err


_LATEST_20 = 'model_checkpoint_path: "ckpt-20"'


@pytest.mark.slow
def test_resume_after_sigkill_continues_the_run(workspace, tmp_path,
                                                monkeypatch, caplog):
  """Kill ddsp_tf_run after its step-20 checkpoint; rerun to step 40.

  The rerun is main() in this process, which saves a second TensorFlow
  start-up; it reads only what the killed process left on disk.
  """
  save_dir = tmp_path / 'run'
  command = [sys.executable, '-m', 'ddsp_tf.cli.run',
             *_flags(workspace, save_dir)]
  process = subprocess.Popen(
      command + ['--gin_param=train.num_steps=100000'],
      cwd=workspace / 'elsewhere', stdout=subprocess.DEVNULL,
      stderr=subprocess.PIPE, text=True)
  state_file = save_dir / 'checkpoint'
  deadline = time.time() + 240
  while time.time() < deadline and process.poll() is None:
    if state_file.exists() and _LATEST_20 in state_file.read_text():
      break
    time.sleep(0.2)
  process.send_signal(signal.SIGKILL)
  _, stderr = process.communicate()
  assert _LATEST_20 in state_file.read_text(), stderr[-3000:]
  first = read_scalars(str(save_dir / 'summaries' / 'train'))[
      'losses/total_loss']

  caplog.set_level(logging.INFO)
  assert _main(workspace, monkeypatch, _flags(
      workspace, save_dir, '--gin_param=train.num_steps=40')) == 0
  assert 'ckpt-20 (step 20)' in caplog.text
  assert (save_dir / 'operative_config-20.gin').exists()
  reader = tf.train.load_checkpoint(str(save_dir / 'ckpt-40'))
  assert int(reader.get_tensor(
      'optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE')) == 40

  losses = read_scalars(str(save_dir / 'summaries' / 'train'))[
      'losses/total_loss']
  resumed = {step: loss for step, loss in losses.items() if step > 20}
  assert set(resumed) >= {25, 30, 35, 40}
  # The loss continues from where the killed run was (no jump back to the
  # initial loss).
  drop = first[5] - first[20]
  assert drop > 0
  assert resumed[25] < first[5] - 0.5 * drop
  assert resumed[40] < first[20]


def test_console_logging_flag_and_levels():
  """The training CLIs share --log_level; unknown levels are refused."""
  import argparse  # pylint: disable=g-import-not-at-top
  from ddsp_tf import console_logging  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser()
  console_logging.add_log_level_flag(parser)
  assert parser.parse_args([]).log_level == 'INFO'
  assert parser.parse_args(['--log_level=DEBUG']).log_level == 'DEBUG'
  with pytest.raises(SystemExit):
    parser.parse_args(['--log_level=LOUD'])
  with pytest.raises(ValueError, match="got 'LOUD'"):
    console_logging.configure('LOUD')
