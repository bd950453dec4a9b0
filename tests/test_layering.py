"""The package's structure: one-way imports, the original's module map, sizes.

The import contracts live in .importlinter (DESIGN.md section 2); these
tests run `lint-imports` on the tree, and on a copy with a wrong-way import
to show that the contracts catch one.
"""

import importlib
import inspect
import os
import shutil
import subprocess
import sys

import keras
import pytest

import ddsp_tf
import ddsp_tf.training

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ('ddsp_tf', 'data_prep')
MAX_MODULE_LINES = 800

# magenta/ddsp's module paths and the public names ../shared/API.md lists
# for them that ddsp_tf has today.
ORIGINAL_PATHS = {
    'ddsp_tf.training.postprocessing': [
        'detect_notes', 'fit_quantile_transform', 'QuantileTransformer',
        'compute_dataset_statistics', 'smooth'],
    'ddsp_tf.training.ddsp_run': ['main', 'console_entry_point', 'parse_gin',
                                  'GIN_PATH'],
    'ddsp_tf.training.ddsp_export': ['main', 'console_entry_point'],
    'ddsp_tf.training.data_preparation.prepare_tfrecord_lib': [
        'prepare_tfrecord', 'CREPE_SAMPLE_RATE'],
    'ddsp_tf.training.data_preparation.ddsp_prepare_tfrecord': [
        'main', 'console_entry_point'],
    'ddsp_tf.training.models': ['Model', 'Autoencoder', 'get_model',
                                'InverseSynthesis', 'MidiAutoencoder',
                                'ZMidiAutoencoder'],
    'ddsp_tf.training.models.model': ['Model'],
    'ddsp_tf.training.models.autoencoder': ['Autoencoder'],
    'ddsp_tf.training.models.inverse_synthesis': ['InverseSynthesis'],
    'ddsp_tf.training.models.midi_autoencoder': ['MidiAutoencoder',
                                                 'ZMidiAutoencoder'],
    'ddsp_tf.training.inference': [
        'parse_operative_config', 'AutoencoderInference', 'VSTBaseModule',
        'VSTExtractFeatures', 'VSTPredictControls',
        'VSTStatelessPredictControls', 'VSTSynthesize',
        'VSTSynthesizeHarmonic', 'VSTSynthesizeNoise'],
    'ddsp_tf.training.preprocessing': ['OnlineF0PowerPreprocessor'],
    'ddsp_tf.training.gin': [],
    'ddsp_tf.training.cloud': ['download_from_gstorage', 'make_file_paths_local',
                               'report_metric_to_hypertune'],
    'ddsp_tf.training.docker.task': ['get_worker_behavior_info',
                                     'parse_list_params', 'main'],
    'ddsp_tf.training.heuristics': [
        'DDSP_DEFAULT_FRAME_RATE', 'get_active_frame_indices',
        'segment_notes_batch', 'segment_notes', 'window_array', 'mean_f0',
        'median_f0', 'median_amps', 'remove_short', 'pad_for_frame',
        'amp_pooled_outliers', 'strided_freq_change', 'power_pooled_outliers',
        'midi_heuristic', 'midi_heuristic_power'],
    'ddsp_tf.training.nn': [
        'gin_register_keras_layers', 'straight_through_softmax',
        'straight_through_choice', 'straight_through_int_quantization',
        'get_note_mask', 'get_note_mask_from_onset', 'get_note_lengths',
        'get_note_moments', 'pool_over_notes', 'get_short_note_loss_mask',
        'NormReluConv', 'ResidualLayer', 'ResidualStack', 'ResNet',
        'SpectralNormalization', 'get_embedding', 'ConditionalScaleAndShift',
        'SingleGru', 'VectorQuantization', 'polyphase_resample',
        'PolyphaseResample', 'DilatedConvStack', 'ConditionalNorm'],
    'ddsp_tf.training.encoders': [
        'ZEncoder', 'MfccTimeDistributedRnnEncoder', 'ResnetSinusoidalEncoder',
        'SinusoidalToHarmonicEncoder', 'OneHotEncoder',
        'AggregateFeaturesEncoder', 'MfccEncoder', 'MfccRnnEncoder',
        'MidiEncoder', 'HarmonicToMidiEncoder', 'ExpressionEncoder'],
    'ddsp_tf.training.decoders': ['RnnFcDecoder', 'MidiDecoder',
                                  'MidiToHarmonicDecoder',
                                  'DilatedConvDecoder'],
    'ddsp_tf.training.metrics': [
        'EvalCounts', 'sequence2intervals', 'compute_note_metrics',
        'compute_frame_metrics', 'MidiMetrics'],
    'ddsp_tf.training.evaluators': [
        'BasicEvaluator', 'F0LdEvaluator', 'TWMEvaluator',
        'MidiAutoencoderEvaluator', 'MidiHeuristicEvaluator'],
    'ddsp_tf.training.summaries': [
        'midi_summary', 'midiae_f0_summary', 'midiae_ld_summary',
        'midiae_sp_summary', 'pianoroll_summary'],
    'ddsp_tf.training.plotting': ['pianoroll_plot_setup'],
    'ddsp_tf.training.data': [
        'DataProvider', 'ExperimentalDataProvider', 'TfdsProvider',
        'NSynthTfds', 'TFRecordProvider', 'LegacyTFRecordProvider',
        'BaseMultiProvider', 'ZippedProvider', 'MixedProvider',
        'SyntheticNotes', 'Urmp', 'UrmpMidi', 'UrmpMidiUnsegmented'],
    'ddsp_tf.training.data_preparation.synthetic_data': [
        'generate_notes', 'generate_notes_v2', 'flip', 'uniform_int',
        'uniform_float', 'uniform_generator', 'normal_generator', 'modulate',
        'random_blend', 'random_harm_dist'],
    'ddsp_tf.training.data_preparation.ddsp_generate_synthetic_dataset': [
        'main', 'console_entry_point', 'GIN_PATH'],
}
# What API.md lists at those paths that is still to be written (issues 18,
# 20 and 21). A name that appears must leave this list.
MISSING_NAMES = {}
MISSING_MODULES = ()
# Thin modules at the original's paths: imports and constants, no code.
ALIAS_MODULES = ('ddsp_tf/training/ddsp_run.py',
                 'ddsp_tf/training/ddsp_export.py',
                 'ddsp_tf/training/data_preparation/prepare_tfrecord_lib.py',
                 'ddsp_tf/training/data_preparation/ddsp_prepare_tfrecord.py',
                 'ddsp_tf/training/data_preparation/synthetic_data.py',
                 'ddsp_tf/training/data_preparation/'
                 'ddsp_generate_synthetic_dataset.py')


def _lint_imports(cwd: str) -> subprocess.CompletedProcess:
  """Runs lint-imports with the .importlinter of cwd on the code in cwd."""
  env = dict(os.environ, PYTHONPATH=cwd)
  return subprocess.run(
      [sys.executable, '-c',
       'import sys; from importlinter.cli import lint_imports_command; '
       'sys.exit(lint_imports_command())', '--no-cache'],
      cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
      check=False)


def test_the_import_contracts_hold():
  result = _lint_imports(ROOT)
  assert result.returncode == 0, result.stdout + result.stderr
  assert 'Contracts: 3 kept, 0 broken.' in result.stdout


@pytest.mark.parametrize('module, upward_import, contract', [
    ('ddsp_tf/formats.py', 'from ddsp_tf import core', 'Imports point down'),
    ('ddsp_tf/core/units.py', 'from ddsp_tf import synths',
     'Imports point down'),
    ('data_prep/examples.py', 'from ddsp_tf.training import data',
     'The Beam job never imports the training library'),
    ('ddsp_tf/apps/demo.py', 'from ddsp_tf.cli import run',
     'Imports point down'),
])
def test_the_contracts_catch_a_wrong_way_import(tmp_path, module,
                                                upward_import, contract):
  for name in PACKAGES:
    shutil.copytree(os.path.join(ROOT, name), tmp_path / name,
                    ignore=shutil.ignore_patterns('*.flac', '__pycache__'))
  shutil.copy(os.path.join(ROOT, '.importlinter'), tmp_path)
  with open(tmp_path / module, 'a', encoding='utf-8') as module_file:
    module_file.write(f'\n{upward_import}\n')
  result = _lint_imports(str(tmp_path))
  assert result.returncode == 1, result.stdout + result.stderr
  broken = result.stdout.split('Broken contracts')[-1]
  assert contract in broken
  assert module.replace('/', '.')[:-len('.py')] in broken


def test_the_data_prep_cli_loads_without_tensorflow():
  code = ('import sys, data_prep.cli; '
          "print(sorted(m for m in sys.modules if m.split('.')[0] in "
          "('tensorflow', 'ddsp_tf', 'keras', 'apache_beam')))")
  result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=60, check=True)
  assert result.stdout.strip() == '[]'


@pytest.mark.parametrize('path', sorted(ORIGINAL_PATHS))
def test_the_original_module_paths_import(path):
  module = importlib.import_module(path)
  for name in ORIGINAL_PATHS[path]:
    assert hasattr(module, name), f'{path} lacks {name}'
  for name in MISSING_NAMES.get(path, []):
    assert not hasattr(module, name), (
        f'{path}.{name} exists now: remove it from MISSING_NAMES')


def test_the_missing_original_modules_are_still_missing():
  for path in MISSING_MODULES:
    with pytest.raises(ImportError):
      importlib.import_module(path)


def test_the_original_path_as_ddsp_attribute():
  """`import ddsp_tf as ddsp` reaches the training modules as the original."""
  ddsp = ddsp_tf
  assert ddsp.training.postprocessing.detect_notes
  assert ddsp.training.inference.ExportModule
  assert ddsp.training.models.Autoencoder
  assert os.path.isfile(os.path.join(ddsp.training.gin.config_dir(), 'models',
                                     'solo_instrument.gin'))


@pytest.mark.parametrize('path', ALIAS_MODULES)
def test_alias_modules_only_re_export(path):
  with open(os.path.join(ROOT, path), encoding='utf-8') as module_file:
    source = module_file.read()
  assert 'def ' not in source and 'class ' not in source
  # The docstring says what it re-exports and where the code lives.
  assert 'only re-export' in source.split('"""')[1]


def _python_files():
  for package in PACKAGES:
    for folder, _, names in os.walk(os.path.join(ROOT, package)):
      for name in names:
        if name.endswith('.py'):
          yield os.path.join(folder, name)


def test_no_module_is_over_800_lines():
  sizes = {}
  for path in _python_files():
    with open(path, encoding='utf-8') as module_file:
      sizes[os.path.relpath(path, ROOT)] = sum(1 for _ in module_file)
  assert len(sizes) > 50
  assert {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def _keras_classes():
  """Every Keras layer or model class defined in ddsp_tf's modules."""
  seen = set()
  for path in _python_files():
    relative = os.path.relpath(path, ROOT)[:-len('.py')]
    name = relative.replace(os.sep, '.').removesuffix('.__init__')
    if not name.startswith('ddsp_tf') or '.cli.' in name:
      continue
    module = importlib.import_module(name)
    for value in vars(module).values():
      if (inspect.isclass(value) and issubclass(value, keras.layers.Layer)
          and value.__module__.startswith('ddsp_tf') and value not in seen):
        seen.add(value)
        yield value


def test_keras_registration_names_are_unique():
  names = {}
  for cls in _keras_classes():
    name = keras.saving.get_registered_name(cls)
    names.setdefault(name, []).append(f'{cls.__module__}.{cls.__qualname__}')
  assert len(names) > 30
  assert {name: owners for name, owners in names.items()
          if len(owners) > 1} == {}
  for name, (owner,) in names.items():
    registered = keras.saving.get_registered_object(name)
    if registered is not None:
      assert f'{registered.__module__}.{registered.__qualname__}' == owner
