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
# Mixins (models/midiae/mixins/) add to a model config and the papers'
# *_dataset.gin files bind data only: neither builds a model alone.
MIXINS = [name for name in SHIPPED
          if name.startswith('models/midiae/mixins/')]
MODEL_CONFIGS = [name for name in SHIPPED
                 if name.startswith(('models/', 'papers/'))
                 and name not in MIXINS
                 and not name.endswith('_dataset.gin')]
MIDIAE_CONFIGS = [name for name in MODEL_CONFIGS
                  if name.startswith('models/midiae/')]
ICML2020_CONFIGS = [name for name in MODEL_CONFIGS
                    if name.startswith('papers/icml2020/')]
AUTOENCODER_CONFIGS = [name for name in MODEL_CONFIGS
                       if name not in MIDIAE_CONFIGS + ICML2020_CONFIGS]
# Built as well: a model config with a mixin ('+' joins the files).
MIDI_ENCODER_BUILD = ('models/midiae/midiae.gin+'
                      'models/midiae/mixins/midi_encoder.gin')
BUILDS = MODEL_CONFIGS + [MIDI_ENCODER_BUILD]
RECON_LOSSES = sorted([
    'amplitude_reconstruction', 'f0_reconstruction',
    'harmonic_distribution_reconstruction', 'noise_reconstruction',
    'spectral_loss_synth', 'total_loss'])

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
      'papers/iclr2020/tiny_instrument.gin', 'models/midiae/midiae.gin',
      'models/midiae/z_midiae.gin', 'models/midiae/mixins/_.gin',
      'models/midiae/mixins/hmm_prior.gin',
      'models/midiae/mixins/midi_encoder.gin',
      'models/midiae/mixins/recon_lossgroup.gin',
      'papers/icml2020/pretrain_model.gin',
      'papers/icml2020/finetune_model.gin'}
  # Each folder of configs is a package, as in magenta/ddsp.
  for name in SHIPPED:
    assert os.path.isfile(os.path.join(GIN_DIR, os.path.dirname(name),
                                       '__init__.py')), name


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


def _configurable(binding):
  return gin.query_parameter(binding).configurable.wrapped


@needs_models
def test_midiae_configs():
  gin.parse_config_file('models/midiae/midiae.gin')
  assert _configurable('get_model.model') is models.MidiAutoencoder
  assert gin.query_parameter('train.num_steps') == 500000
  assert gin.query_parameter('MidiAutoencoder.midi_encoder') is None
  assert gin.query_parameter('MidiAutoencoder.sg_before_midiae') is True
  assert gin.query_parameter('DilatedConvDecoder.output_splits') == (
      ('amplitudes', 1), ('harmonic_distribution', 60), ('magnitudes', 65))
  assert gin.query_parameter('dec/DilatedConvStack.stacks') == 4
  # recon_lossgroup.gin: the reconstruction losses and their weights.
  dag = gin.query_parameter('recon_lossgroup/LossGroup.dag')
  assert [node[0] for node in dag] == [
      'synth_spectral_loss', 'f0_loss', 'amps_loss', 'hd_loss', 'noise_loss']
  assert dag[1][1] == ['f0_midi', 'f0_midi_pred', 'f0_loss_weights']
  assert gin.query_parameter('f0_loss/ParamLoss.weight') == 50.0
  assert gin.query_parameter('f0_loss/ParamLoss.loss_type') == 'L2'
  assert gin.query_parameter('hd_loss/ParamLoss.weight') == 500.0
  assert repr(gin.query_parameter('evaluate.evaluator_classes')) == (
      '%evaluators')
  assert [r.configurable.wrapped.__name__
          for r in gin.query_parameter('%evaluators')] == [
              'BasicEvaluator', 'MidiAutoencoderEvaluator']

  gin.clear_config()
  gin.parse_config_file('models/midiae/z_midiae.gin')
  assert _configurable('get_model.model') is models.ZMidiAutoencoder
  assert [r.configurable.wrapped.__name__ for r in gin.query_parameter(
      'ZMidiAutoencoder.z_synth_encoders')] == [
          'OneHotEncoder', 'MfccTimeDistributedRnnEncoder']
  assert gin.query_parameter('ee/ExpressionEncoder.pool_time') is True
  assert gin.query_parameter('zn/ExpressionEncoder.pool_time') is False
  assert gin.query_parameter('dec/DilatedConvStack.conditional') is True
  assert gin.query_parameter('nn.FcStackOut.n_out') == 256


@needs_models
def test_midiae_mixins():
  gin.parse_config_file('models/midiae/midiae.gin')
  alone = gin.config_str()
  for mixin in ('models/midiae/mixins/_.gin',
                'models/midiae/mixins/hmm_prior.gin'):
    gin.parse_config_file(mixin, skip_unknown=False)
    # Both are documented no-ops (hmm_prior.gin's names no longer exist).
    assert gin.config_str() == alone, mixin
  gin.parse_config_file('models/midiae/mixins/midi_encoder.gin')
  for model in ('MidiAutoencoder', 'ZMidiAutoencoder'):
    assert _configurable(f'{model}.midi_encoder').__name__ == (
        'HarmonicToMidiEncoder')
  assert gin.query_parameter('enc/DilatedConvStack.stacks') == 4


@needs_models
def test_icml2020_model_configs():
  gin.parse_config_file('papers/icml2020/pretrain_model.gin')
  assert _configurable('get_model.model') is models.InverseSynthesis
  assert gin.query_parameter('InverseSynthesis.reverb') is False
  assert gin.query_parameter('ResnetSinusoidalEncoder.output_splits') == (
      ('frequencies', 6400), ('amplitudes', 100), ('noise_magnitudes', 65))
  assert gin.query_parameter('f0_spectral/compute_logmel.bins') == 229
  assert gin.query_parameter('SpectralLoss.mag_weight') == 0.0
  assert gin.query_parameter('FilteredNoiseConsistencyLoss.weight') == 1.0
  assert [r.configurable.wrapped.__name__
          for r in gin.query_parameter('%evaluators')] == [
              'BasicEvaluator', 'F0LdEvaluator', 'TWMEvaluator']
  gin.clear_config()
  gin.parse_config_file('papers/icml2020/finetune_model.gin')
  assert _configurable('get_model.model') is models.InverseSynthesis
  assert gin.query_parameter('SpectralLoss.mag_weight') == 1.0
  assert gin.query_parameter('KDEConsistencyLoss.weight_mean_amp') == 0.1
  assert gin.query_parameter('FilteredNoiseConsistencyLoss.weight') == 100.0
  assert gin.query_parameter('HarmonicConsistencyLoss.dist_weight') == 100.0


_BUILD_SCRIPT = textwrap.dedent('''
    import json
    import sys
    import gin
    import numpy as np
    from ddsp_tf.training import models
    from ddsp_tf.training import runner

    def summary(model, outputs, losses):
      audio = model.get_audio_from_outputs(outputs).numpy()
      return {
          'audio_shape': list(audio.shape),
          'finite': bool(np.all(np.isfinite(audio))),
          'losses': sorted(losses),
          'loss_values': {k: float(v) for k, v in losses.items()},
      }

    results = {}
    for name in sys.argv[1:]:
      runner.parse_gin(restore_dir='', gin_files=name.split('+'))
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
      model_name = type(model).__name__
      if 'MidiAutoencoder' in model_name:
        # The MIDI models read the piano roll (and the z model the
        # instrument): MIDI 57 (220 Hz) for the first half.
        pianoroll = np.zeros([1, n_frames, 128], np.float32)
        pianoroll[:, :n_frames // 2, 57] = 1.0
        features.update(note_active_velocities=pianoroll,
                        instrument_id=np.array([2]))
      # Eagerly: tracing each model would take four times longer, and the
      # training tests run models in graphs.
      outputs, losses = model(features, training=True, return_losses=True)
      results[name] = dict(summary(model, outputs, losses), model=model_name)
      results[name]['weights'] = {
          part: [list(v.shape) for v in getattr(
              getattr(model, part, None), 'trainable_variables', [])]
          for part in ('encoder', 'decoder', 'processor_group')}
      results[name]['outputs'] = sorted(outputs)
      if model_name == 'InverseSynthesis':
        # Synthetic notes as pretrain_dataset.gin reads them: 125 frames,
        # 100 harmonics, 65 noise bands.
        shapes = {'f0_hz': 1, 'harm_amp': 1, 'harm_dist': 100,
                  'sin_amps': 100, 'sin_freqs': 100, 'noise_magnitudes': 65}
        controls = {k: rng.uniform(0.01, 0.1, [1, 125, n]).astype(np.float32)
                    for k, n in shapes.items()}
        controls['f0_hz'] *= 4000.0
        controls['sin_freqs'] *= 40000.0
        outputs, losses = model(controls, training=True, return_losses=True)
        results[name]['synthetic'] = summary(model, outputs, losses)
    print(json.dumps(results))
''')


@needs_models
@pytest.mark.slow
def test_every_model_config_builds_its_model_from_another_directory(
    tmp_path):
  """Found by name from another working directory; 4-second examples."""
  result = subprocess.run(
      [sys.executable, '-c', _BUILD_SCRIPT, *BUILDS], cwd=tmp_path,
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads(result.stdout.strip().splitlines()[-1])
  assert sorted(results) == sorted(BUILDS)
  for name, built in results.items():
    rate = {'models/vst/vst_32k.gin': 32000,
            'models/vst/vst_48k.gin': 48000}.get(name, 16000)
    assert built['audio_shape'] == [1, 4 * rate], name
    assert built['finite'], name
  for name in AUTOENCODER_CONFIGS:
    assert results[name]['model'] == 'Autoencoder', name
    assert results[name]['losses'] == ['spectral_loss', 'total_loss'], name

  # The MIDI autoencoders: both audio outputs and the reconstruction losses.
  expected_midi = {'models/midiae/midiae.gin': 'MidiAutoencoder',
                   'models/midiae/z_midiae.gin': 'ZMidiAutoencoder',
                   MIDI_ENCODER_BUILD: 'MidiAutoencoder'}
  assert set(MIDIAE_CONFIGS) | {MIDI_ENCODER_BUILD} == set(expected_midi)
  for name, model_name in expected_midi.items():
    built = results[name]
    assert built['model'] == model_name, name
    assert built['losses'] == RECON_LOSSES, name
    assert {'synth_audio', 'midi_audio', 'q_pitch', 'f0_midi_pred',
            'pianoroll'} <= set(built['outputs']), name
  assert 'z_pitch' in results[MIDI_ENCODER_BUILD]['outputs']
  assert 'z_pitch' not in results['models/midiae/midiae.gin']['outputs']
  assert {'z', 'z_global', 'z_notes'} <= set(
      results['models/midiae/z_midiae.gin']['outputs'])

  # DDSP-inv: unsupervised losses on audio, self-supervised ones on
  # synthetic notes; the audio losses weigh 0 until fine-tuning.
  unsupervised = ['harm_spectral_loss', 'kde_consistency_loss',
                  'sin_spectral_loss', 'total_loss']
  self_supervised = sorted(unsupervised + [
      'ss_f0_hz_loss', 'ss_filtered_noise_consistency_loss',
      'ss_harm_amp_loss', 'ss_harm_dist_loss', 'ss_kde_consistency_loss'])
  assert sorted(ICML2020_CONFIGS) == ['papers/icml2020/finetune_model.gin',
                                      'papers/icml2020/pretrain_model.gin']
  for name in ICML2020_CONFIGS:
    built = results[name]
    assert built['model'] == 'InverseSynthesis', name
    assert built['losses'] == unsupervised, name
    assert built['synthetic']['losses'] == self_supervised, name
    assert built['synthetic']['audio_shape'] == [1, 64000], name
  pretrain = results['papers/icml2020/pretrain_model.gin']['loss_values']
  finetune = results['papers/icml2020/finetune_model.gin']['loss_values']
  assert pretrain['sin_spectral_loss'] == 0.0
  assert finetune['sin_spectral_loss'] > 0.0

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
  for name in set(AUTOENCODER_CONFIGS) - autoencoders - high_rate:
    assert has_output_layer(name, 1 + 60 + 65), name
  # The MIDI autoencoders' learned reverb: 500 frames of 32 bands.
  for name in expected_midi:
    assert [500, 32] in shapes(name, 'processor_group'), name
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
