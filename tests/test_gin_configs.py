"""Tests for the shipped gin configs (gin/, installed as ddsp_tf/gin).

Expected values are the ones magenta/ddsp's configs use (API.md section 4).
Every model config is built and run in a fresh process started in another
working directory, finding the configs by name as ddsp_tf_run does.
"""

import json
import os
import subprocess
import sys
import textwrap

import gin
import pytest

from ddsp_tf.training import data
from ddsp_tf.training import evaluators
from ddsp_tf.training import runner

GIN_DIR = runner.package_gin_dir()
SHIPPED = sorted(
    os.path.relpath(os.path.join(folder, name), GIN_DIR)
    for folder, _, names in os.walk(GIN_DIR) for name in names
    if name.endswith('.gin'))
MODEL_CONFIGS = [name for name in SHIPPED
                 if name.startswith(('models/', 'papers/'))]

try:
  from ddsp_tf.training import models  # pylint: disable=g-import-not-at-top
except ImportError:
  models = None
needs_models = pytest.mark.skipif(
    models is None, reason='ddsp_tf.training.models is not written yet')


@pytest.fixture(autouse=True)
def _gin_search_path():
  gin.clear_config()
  gin.add_config_file_search_path(GIN_DIR)
  yield
  gin.clear_config()


def test_the_expected_configs_are_shipped():
  assert set(SHIPPED) >= {
      'optimization/base.gin', 'optimization/base_tpu.gin',
      'datasets/base.gin', 'datasets/tfrecord.gin', 'eval/basic.gin',
      'eval/basic_f0_ld.gin', 'models/ae.gin', 'models/solo_instrument.gin',
      'papers/iclr2020/solo_instrument.gin',
      'papers/iclr2020/tiny_instrument.gin'}


@needs_models
@pytest.mark.parametrize('name', SHIPPED)
def test_every_config_parses_with_all_names_known(name):
  gin.parse_config_file(name, skip_unknown=False)


def test_optimization_defaults():
  gin.parse_config_file('optimization/base.gin')
  assert gin.query_parameter('%learning_rate') == 3e-4
  assert gin.query_parameter('%batch_size') == 32
  assert gin.query_parameter('train.num_steps') == 1000000
  assert gin.query_parameter('train.steps_per_summary') == 300
  assert gin.query_parameter('train.steps_per_save') == 300
  assert gin.query_parameter('Trainer.lr_decay_steps') == 10000
  assert gin.query_parameter('Trainer.lr_decay_rate') == 0.98
  assert gin.query_parameter('Trainer.grad_clip_norm') == 3.0
  assert gin.query_parameter('Trainer.checkpoints_to_keep') == 100
  gin.clear_config()
  gin.parse_config_file('optimization/base_tpu.gin')
  assert gin.query_parameter('%batch_size') == 64
  assert gin.query_parameter('Trainer.lr_decay_rate') == 0.98


def test_dataset_configs():
  gin.parse_config_file('datasets/tfrecord.gin')
  for function in ('train', 'evaluate', 'sample'):
    reference = gin.query_parameter(f'{function}.data_provider')
    assert reference.configurable.wrapped is data.TFRecordProvider
  assert gin.query_parameter('evaluate.batch_size') == 32
  assert gin.query_parameter('evaluate.num_batches') == 5
  assert gin.query_parameter('sample.batch_size') == 16
  assert gin.query_parameter('sample.num_batches') == 1
  assert gin.query_parameter('sample.ckpt_delay_secs') == 300


@pytest.mark.parametrize('name, expected', [
    ('eval/basic.gin', [evaluators.BasicEvaluator]),
    ('eval/basic_f0_ld.gin',
     [evaluators.BasicEvaluator, evaluators.F0LdEvaluator]),
])
def test_eval_configs_list_the_evaluators(name, expected):
  gin.parse_config_file(name)
  for function in ('evaluate', 'sample'):
    assert repr(gin.query_parameter(f'{function}.evaluator_classes')) == (
        '%evaluators')
  classes = [reference.configurable.wrapped
             for reference in gin.query_parameter('%evaluators')]
  assert classes == expected


_BUILD_SCRIPT = textwrap.dedent('''
    import json
    import sys
    import gin
    import numpy as np
    from ddsp_tf.training import models
    from ddsp_tf.training import runner

    results = {}
    for name in sys.argv[1:]:
      runner.parse_gin(restore_dir='', gin_files=[name])
      model = models.get_model()
      # The feature rate the config reads (solo_instrument_cpu and the VST
      # models: 50; the VST models frame 'center': one frame more).
      centered = 'vst' in name
      frame_rate = 250
      for binding in ('F0LoudnessPreprocessor.frame_rate',
                      'OnlineF0PowerPreprocessor.frame_rate'):
        try:
          frame_rate = gin.query_parameter(binding)
        except ValueError:
          pass
      frame_rate = gin.query_parameter('%frame_rate') if centered else (
          frame_rate)
      sample_rate = gin.query_parameter('%sample_rate') if centered else 16000
      n_frames = 4 * frame_rate + centered
      rng = np.random.default_rng(0)
      features = {
          'audio': 0.1 * rng.standard_normal(
              [1, 4 * sample_rate]).astype(np.float32),
          'audio_16k': 0.1 * rng.standard_normal([1, 64000]).astype(
              np.float32),
          'f0_hz': np.full([1, n_frames], 220.0, np.float32),
          'f0_confidence': np.ones([1, n_frames], np.float32),
          'loudness_db': np.full([1, n_frames], -30.0, np.float32),
      }
      # Eagerly: tracing each model would take four times longer, and the
      # training tests run models in graphs.
      outputs, losses = model(features, training=True, return_losses=True)
      audio = model.get_audio_from_outputs(outputs).numpy()
      results[name] = {
          'model': type(model).__name__,
          'audio_shape': list(audio.shape),
          'finite': bool(np.all(np.isfinite(audio))),
          'losses': sorted(losses),
          'weights': {
              part: [list(v.shape) for v in getattr(
                  getattr(model, part), 'trainable_variables', [])]
              for part in ('encoder', 'decoder', 'processor_group')},
      }
    print(json.dumps(results))
''')


@needs_models
@pytest.mark.slow
def test_every_model_config_builds_its_model_from_another_directory(
    tmp_path):
  """Found by name from another working directory; 4-second examples."""
  result = subprocess.run(
      [sys.executable, '-c', _BUILD_SCRIPT, *MODEL_CONFIGS], cwd=tmp_path,
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads(result.stdout.strip().splitlines()[-1])
  assert sorted(results) == MODEL_CONFIGS
  for name, built in results.items():
    assert built['model'] == 'Autoencoder', name
    rate = {'models/vst/vst_32k.gin': 32000,
            'models/vst/vst_48k.gin': 48000}.get(name, 16000)
    assert built['audio_shape'] == [1, 4 * rate], name
    assert built['finite'], name
    assert built['losses'] == ['spectral_loss', 'total_loss'], name

  def shapes(name, part):
    return results[name]['weights'][part]

  # ae.gin has a z encoder and 100 harmonics; the solo instrument has none,
  # 60 harmonics and a learned 48000-tap reverb.
  assert shapes('models/ae.gin', 'encoder')
  assert not shapes('models/solo_instrument.gin', 'encoder')
  assert [48000] in shapes('models/solo_instrument.gin', 'processor_group')
  assert not shapes('models/ae.gin', 'processor_group')
  def has_output_layer(name, n_outputs):
    return any(len(shape) == 2 and shape[1] == n_outputs
               for shape in shapes(name, 'decoder'))

  # The NSynth autoencoder of the paper is ae.gin's model.
  autoencoders = {'models/ae.gin', 'papers/iclr2020/nsynth_ae.gin'}
  for name in autoencoders:
    assert has_output_layer(name, 1 + 100 + 65), name
    assert shapes(name, 'encoder'), name
  high_rate = {'models/vst/vst_32k.gin', 'models/vst/vst_48k.gin'}
  for name in high_rate:
    assert has_output_layer(name, 1 + 100 + 98), name
  for name in set(MODEL_CONFIGS) - autoencoders - high_rate:
    assert has_output_layer(name, 1 + 60 + 65), name
  # The VST models: (power, f0) -> a 512-unit GRU between one-layer stacks
  # of 256, and a filtered-noise reverb (32 bands, 500 frames of weights).
  for name in {'models/vst/vst.gin'} | high_rate:
    assert any(shape[-1] == 3 * 512 for shape in shapes(name, 'decoder'))
    assert [500, 32] in shapes(name, 'processor_group'), name
  # The tiny model: a 256-unit GRU and no stacks before it.
  assert len(shapes('papers/iclr2020/tiny_instrument.gin', 'decoder')) < len(
      shapes('papers/iclr2020/solo_instrument.gin', 'decoder'))
  assert any(shape[-1] == 3 * 256 for shape in shapes(
      'papers/iclr2020/tiny_instrument.gin', 'decoder'))
  # The CPU model: a 256-unit GRU and a 0.5 s learned reverb.
  assert any(shape[-1] == 3 * 256 for shape in shapes(
      'models/solo_instrument_cpu.gin', 'decoder'))
  assert [8000] in shapes('models/solo_instrument_cpu.gin', 'processor_group')
