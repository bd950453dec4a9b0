"""Tests for the synthetic notes (data_prep.synthetic_*) and their Beam job.

Expected values come from the generators' definitions: pitch ranges in
MIDI, harmonic distributions summing to 1, sinusoids equal to f0 * k and
amplitude * distribution, note boundaries every note length, and for the
job, examples equal to the generator called directly with the original's
seed scheme (np.random.seed(42); np.random.randint(2**32, size=N)).
"""

import glob
import json
import os
import subprocess
import sys

import gin
import numpy as np
import pytest

from data_prep import synthetic_cli
from data_prep import synthetic_data
from data_prep import synthetic_pipeline
from ddsp_tf import core
from ddsp_tf.training import data

KEYS = {'f0_hz', 'harm_amp', 'harm_dist', 'sin_amps', 'sin_freqs',
        'noise_magnitudes'}
V2_BINDINGS = ['generate_examples.generate_fn = @generate_notes_v2',
               'generate_notes_v2.n_timesteps = 20',
               'generate_notes_v2.n_harmonics = 6',
               'generate_notes_v2.n_mags = 4']


@pytest.fixture(autouse=True)
def _clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def numpy_dict(controls):
  return {key: np.asarray(value) for key, value in controls.items()}


def midi(f0_hz):
  return 12.0 * np.log2(np.asarray(f0_hz, np.float64) / 440.0) + 69.0


def check_controls(controls, n_batch, n_timesteps, n_harmonics, n_mags):
  """Keys, shapes and the relations every control dict satisfies."""
  assert set(controls) == KEYS
  shapes = {key: list(value.shape) for key, value in controls.items()}
  assert shapes == {
      'f0_hz': [n_batch, n_timesteps, 1], 'harm_amp': [n_batch, n_timesteps, 1],
      'harm_dist': [n_batch, n_timesteps, n_harmonics],
      'sin_amps': [n_batch, n_timesteps, n_harmonics],
      'sin_freqs': [n_batch, n_timesteps, n_harmonics],
      'noise_magnitudes': [n_batch, n_timesteps, n_mags]}
  for value in controls.values():
    assert value.dtype == np.float32 and np.all(np.isfinite(value))
  harmonics = np.arange(1, n_harmonics + 1)
  np.testing.assert_allclose(controls['sin_freqs'],
                             controls['f0_hz'] * harmonics, rtol=1e-5)
  # Sinusoids at or above Nyquist (8 kHz) are silent.
  audible = controls['sin_freqs'] < 8000.0
  np.testing.assert_allclose(
      controls['sin_amps'],
      np.where(audible, controls['harm_amp'] * controls['harm_dist'], 0.0),
      rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------
# Generators.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_generate_notes_ranges_and_normalization(seed):
  np.random.seed(seed)
  controls = numpy_dict(synthetic_data.generate_notes(
      n_batch=2, n_timesteps=50, n_harmonics=12, n_mags=7))
  check_controls(controls, 2, 50, 12, 7)
  pitches = midi(controls['f0_hz'])
  assert pitches.min() >= 24.0 - 1e-3 and pitches.max() <= 84.0 + 1e-3
  # Held pitches ('nearest'): at most 20 distinct notes per example.
  for example in pitches:
    assert len(np.unique(np.round(example, 3))) <= 20
  np.testing.assert_allclose(controls['harm_dist'].sum(-1), 1.0, rtol=1e-5)
  assert controls['harm_dist'].min() >= 0.0
  # exp_sigmoid scaling: (0, 2].
  for key in ('harm_amp', 'noise_magnitudes'):
    assert 0.0 < controls[key].min() and controls[key].max() <= 2.0


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_generate_notes_v2_ranges_and_normalization(seed):
  np.random.seed(seed)
  controls = numpy_dict(synthetic_data.generate_notes_v2(
      n_batch=2, n_timesteps=80, n_harmonics=10, n_mags=5, p_silent=0.3))
  check_controls(controls, 2, 80, 10, 5)
  pitches = midi(controls['f0_hz'])
  # Rests keep MIDI 0; notes are U(24, 84) plus vibrato (< 1 semitone) and
  # noise (0.1 * N(0, 1) at most).
  resting = np.abs(pitches) < 1e-3
  assert np.all((pitches[~resting] > 22.0) & (pitches[~resting] < 86.0))
  np.testing.assert_allclose(controls['harm_dist'].sum(-1), 1.0, rtol=1e-5)
  assert controls['harm_dist'].min() >= 0.0
  for key in ('harm_amp', 'noise_magnitudes'):
    assert 0.0 < controls[key].min() and controls[key].max() <= 2.0


def test_generate_notes_v2_note_lengths_and_rests():
  np.random.seed(7)
  length, n_timesteps = 10, 60
  controls = numpy_dict(synthetic_data.generate_notes_v2(
      n_batch=1, n_timesteps=n_timesteps, n_harmonics=4, n_mags=3,
      min_note_length=length, max_note_length=length, p_silent=0.0,
      p_vibrato=0.0))
  notes = midi(controls['f0_hz'][0, :, 0]).reshape(-1, length)
  # Steady pitch within each 10-frame note (noise only), jumps between.
  assert np.all(notes.std(axis=1) < 0.35)
  assert np.all(np.abs(np.diff(np.median(notes, axis=1))) > 0.0)
  shifted = midi(controls['f0_hz'][0, 5:55, 0]).reshape(-1, length)
  assert shifted.std(axis=1).max() > 0.5  # Windows across note boundaries.

  silent = numpy_dict(synthetic_data.generate_notes_v2(
      n_batch=1, n_timesteps=30, n_harmonics=4, n_mags=3, p_silent=1.0))
  np.testing.assert_allclose(silent['f0_hz'], core.midi_to_hz(0.0).numpy(),
                             rtol=1e-6)
  # exp_sigmoid(-10) = 2 * sigmoid(-10) ** log(10) + 1e-7, then divided.
  assert silent['harm_amp'].max() <= 2.0 * (1 / (1 + np.exp(10))) ** np.log(
      10.0) + 1e-7


@pytest.mark.parametrize('generator', ['generate_notes', 'generate_notes_v2'])
def test_seeds_reproduce_examples(generator):
  function = getattr(synthetic_data, generator)
  kwargs = dict(n_batch=1, n_timesteps=20, n_harmonics=5, n_mags=3)
  draws = []
  for seed in (11, 11, 12):
    np.random.seed(seed)
    draws.append(numpy_dict(function(**kwargs)))
  for key in KEYS:
    np.testing.assert_array_equal(draws[0][key], draws[1][key])
  assert not np.array_equal(draws[0]['harm_dist'], draws[2]['harm_dist'])


def test_raw_values_without_get_controls():
  np.random.seed(3)
  raw = numpy_dict(synthetic_data.generate_notes_v2(
      n_batch=1, n_timesteps=40, n_harmonics=6, n_mags=4, p_silent=0.5,
      get_controls=False))
  assert set(raw) == KEYS
  # Unscaled: rests at -10, magnitudes shifted down by U(1, 10).
  assert raw['harm_amp'].min() <= -9.0
  assert raw['noise_magnitudes'].mean() < 0.0


def test_helpers():
  np.random.seed(0)
  assert not any(synthetic_data.flip(0.0) for _ in range(100))
  assert all(synthetic_data.flip(1.0) for _ in range(100))
  draws = {synthetic_data.uniform_int(1, 3) for _ in range(200)}
  assert draws == {1, 2, 3}
  assert all(2.0 <= synthetic_data.uniform_float(2.0, 3.0) < 3.0
             for _ in range(100))
  blend = synthetic_data.random_blend(9, env_start=4.0, env_end=-1.0)
  assert blend.shape == (9,) and blend[0] == 4.0 and blend[-1] == -1.0
  assert np.all(np.diff(blend) <= 0)  # Monotonic from start to end.
  assert synthetic_data.random_harm_dist(17).shape == (17,)

  steps = np.asarray(synthetic_data.uniform_generator(
      [2, 4, 3], 16, -1.0, 1.0, method='nearest'))
  assert steps.shape == (2, 16, 3)
  assert np.all(np.abs(steps) <= 1.0)
  assert all(len(np.unique(steps[b, :, c])) <= 4
             for b in range(2) for c in range(3))
  assert np.asarray(synthetic_data.normal_generator(
      [1, 5, 2], 20, 0.0, 1.0)).shape == (1, 20, 2)
  for n_batch in (1, 3):
    modulated = np.asarray(synthetic_data.modulate(np.ones([n_batch, 30, 2])))
    assert modulated.shape == (n_batch, 30, 2)
    assert np.all(modulated >= 0.0)
    # One envelope per batch item, shared by its channels.
    np.testing.assert_array_equal(modulated[..., 0], modulated[..., 1])


@pytest.mark.parametrize('kwargs, match', [
    (dict(min_note_length=10, max_note_length=5), 'min_note_length'),
    (dict(n_timesteps=0), 'n_timesteps'),
    (dict(min_note_length=0), 'min_note_length'),
    (dict(p_silent=1.5), 'p_silent'),
    (dict(n_harmonics=2.5), 'n_harmonics'),
])
def test_generator_argument_errors(kwargs, match):
  with pytest.raises(ValueError, match=match):
    synthetic_data.generate_notes_v2(**kwargs)
  with pytest.raises(ValueError, match='n_batch'):
    synthetic_data.generate_notes(n_batch=0, n_timesteps=10)
  with pytest.raises(ValueError, match='minval'):
    synthetic_data.uniform_int(5, 1)


# ----------------------------------------------------------------------------
# The Beam job.
# ----------------------------------------------------------------------------
def read_examples(pattern, n_timesteps=20, n_harmonics=6, n_mags=4):
  provider = data.SyntheticNotes(n_timesteps, n_harmonics, n_mags,
                                 file_pattern=pattern)
  return [numpy_dict(example)
          for example in provider.get_dataset(shuffle=False)]


def test_cli_end_to_end_writes_what_the_generator_draws(tmp_path, capsys):
  output = str(tmp_path / 'out' / 'notes.tfrecord')
  status = synthetic_cli.main(
      [f'--output_tfrecord_path={output}', '--num_examples=20',
       '--num_shards=2', '--pipeline_options=--runner=DirectRunner',
       '--log_level=WARNING'] + [f'--gin_param={p}' for p in V2_BINDINGS])
  assert status == 0, capsys.readouterr().err
  assert '20 examples of generate_notes_v2 in 2 shard(s)' in (
      capsys.readouterr().out)
  assert sorted(os.listdir(tmp_path / 'out')) == [
      'notes.tfrecord-00000-of-00002', 'notes.tfrecord-00001-of-00002',
      'synthetic_stats.json']
  with open(tmp_path / 'out' / 'synthetic_stats.json') as summary_file:
    summary = json.load(summary_file)
  assert summary['num_examples'] == 20 and summary['random_seed'] == 42
  assert summary['feature_shapes'] == {
      'f0_hz': [20, 1], 'harm_amp': [20, 1], 'harm_dist': [20, 6],
      'sin_amps': [20, 6], 'sin_freqs': [20, 6], 'noise_magnitudes': [20, 4]}

  examples = read_examples(output + '*')
  assert len(examples) == 20
  # The truth: the generator called directly, seeded as the original does.
  np.random.seed(42)
  seeds = np.random.randint(2**32, size=20)
  expected = []
  for seed in seeds:
    np.random.seed(seed)
    expected.append(numpy_dict(synthetic_data.generate_notes_v2(
        n_batch=1, n_timesteps=20, n_harmonics=6, n_mags=4)))

  def key(example):
    return tuple(np.round(example['f0_hz'][:3, 0], 2))

  examples.sort(key=key)
  expected.sort(key=key)
  for example, truth in zip(examples, expected):
    for name in KEYS:
      np.testing.assert_allclose(example[name], truth[name][0], rtol=1e-5,
                                 atol=1e-7)


def test_rerun_replaces_shards_of_an_earlier_run(tmp_path):
  output = str(tmp_path / 'notes.tfrecord')
  gin.parse_config(V2_BINDINGS)
  for num_shards, num_examples in ((3, 6), (1, 4)):
    summary = synthetic_pipeline.generate_synthetic_dataset(
        output, num_shards=num_shards, num_examples=num_examples,
        random_seed=5, pipeline_options=['--runner=DirectRunner'])
  assert sorted(os.listdir(tmp_path)) == [
      'notes.tfrecord-00000-of-00001', 'synthetic_stats.json']
  assert summary['shards'] == [output + '-00000-of-00001']
  assert len(read_examples(output + '*')) == 4


def test_bad_settings_fail_before_any_work(tmp_path, capsys):
  output = str(tmp_path / 'out' / 'notes.tfrecord')
  base = [f'--output_tfrecord_path={output}', '--num_examples=4']
  cases = [
      ([], 'generate_examples.generate_fn'),
      (['--num_examples=0'] + [f'--gin_param={p}' for p in V2_BINDINGS],
       'num_examples'),
      ([f'--gin_param={p}' for p in V2_BINDINGS] +
       ['--gin_param=generate_notes_v2.min_note_length = 30',
        '--gin_param=generate_notes_v2.max_note_length = 3'],
       'min_note_length'),
      (['--gin_param=generate_examples.generate_fn = @generate_notes_v9'],
       'generate_notes_v9'),
      (['--gin_file=no_such_config.gin'], 'no_such_config.gin'),
  ]
  for extra, match in cases:
    assert synthetic_cli.main(base + extra) == 2
    assert match in capsys.readouterr().err
  assert not os.path.exists(tmp_path / 'out')
  with pytest.raises(SystemExit):
    synthetic_cli.main(base + ['--no_such_flag=1'])
  assert 'no_such_flag' in capsys.readouterr().err


def test_cli_loads_without_tensorflow_and_aliases_reexport():
  code = ('import sys, data_prep.synthetic_cli; '
          "print(sorted(m for m in sys.modules if m.split('.')[0] in "
          "('tensorflow', 'ddsp_tf', 'keras', 'apache_beam')))")
  result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=60, check=True)
  assert result.stdout.strip() == '[]'
  assert glob.glob(os.path.join(synthetic_cli.GIN_PATH, 'papers',
                                'icml2020', 'pretrain_dataset.gin'))
  # pylint: disable=g-import-not-at-top
  from ddsp_tf.training.data_preparation import (
      ddsp_generate_synthetic_dataset, synthetic_data as alias)
  assert alias.generate_notes_v2 is synthetic_data.generate_notes_v2
  assert ddsp_generate_synthetic_dataset.main is synthetic_cli.main
  assert ddsp_generate_synthetic_dataset.console_entry_point is (
      synthetic_cli.console_entry_point)


def test_run_reads_the_process_command_line(tmp_path, monkeypatch, capsys):
  """run() (the original's entry point name) parses sys.argv like main()."""
  monkeypatch.setattr(sys, 'argv', [
      'ddsp_generate_synthetic_dataset',
      f'--output_tfrecord_path={tmp_path}/out/notes.tfrecord',
      '--num_examples=0'] + [f'--gin_param={p}' for p in V2_BINDINGS])
  # pylint: disable-next=g-import-not-at-top
  from ddsp_tf.training.data_preparation import ddsp_generate_synthetic_dataset
  assert ddsp_generate_synthetic_dataset.run() == 2
  assert 'num_examples' in capsys.readouterr().err
