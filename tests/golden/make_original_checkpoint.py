"""Writes checkpoints of small Autoencoders of magenta/ddsp v3.7.0.

Run with the original's environment (it imports `ddsp`, the original):

  TF_USE_LEGACY_KERAS=1 /tmp/ref/venv/bin/python \
      tests/golden/make_original_checkpoint.py [case ...]

For each case of CASES (default all: solo_instrument, vst, nsynth_ae,
dilated_conv, dilated_conv_spectral_norm, legacy_adam), a small Autoencoder of its gin file (gin bindings shrink it) is
built by one call, its variables get fixed random values, an Adam optimizer
takes one step of zero gradients (so that the checkpoint holds optimizer
slots too, as the original's Trainer writes them) and
`tf.train.Checkpoint(model=..., optimizer=...)` is saved into
`tests/golden/original_<case>/` beside the run's
`operative_config-0.gin`, as the original's training loop leaves them.
`expected.npz` holds a fixed batch and the original's outputs on it:
`in_<feature>`, the decoder's controls `out_<control>`, the encoder's
`out_z` (if any) and for solo_instrument `out_harmonic_reverb`, the
harmonic signal with the trained reverb applied, for the others
`out_harmonic`, the harmonic signal (the filtered noise and
FilteredNoiseReverb's impulse response are random).

tests/test_checkpoint_conversion.py reads only these files.
"""

import os
import shutil
import sys

import gin
import numpy as np
import tensorflow as tf

from tensorflow.core.protobuf import trackable_object_graph_pb2

import ddsp.training
from ddsp.training import models
from ddsp.training import trainers

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261206
_SMALL_DECODER = ['get_model.model = @models.Autoencoder()',
                  'RnnFcDecoder.rnn_channels = 8', 'RnnFcDecoder.ch = 4',
                  'RnnFcDecoder.output_splits = '
                  "(('amps', 1), ('harmonic_distribution', 6), "
                  "('noise_magnitudes', 5))"]
_SMALL_AE = ['MfccTimeDistributedRnnEncoder.rnn_channels = 8',
             'MfccTimeDistributedRnnEncoder.z_dims = 3',
             'MfccTimeDistributedRnnEncoder.z_time_steps = 125',
             'F0LoudnessPreprocessor.time_steps = 50',
             'Harmonic.n_samples = 3200',
             'FilteredNoise.n_samples = 3200']
# Cases whose checkpoint holds the moments of a real Adam step, with a
# second step's gradients and result in expected.npz; legacy_adam's Adam is
# Keras 2's legacy optimizer_v2, as the original's Trainer made it before
# TF 2.11 (its slots are keyed '<weight>/.OPTIMIZER_SLOT/optimizer/m').
ADAM_CASES = ('nsynth_ae', 'dilated_conv', 'legacy_adam')
# case -> (gin file, bindings, number of audio samples, number of frames).
CASES = {
    'solo_instrument': (
        'models/solo_instrument.gin',
        _SMALL_DECODER + ['Reverb.reverb_length = 100',
                          'F0LoudnessPreprocessor.time_steps = 50',
                          'Harmonic.n_samples = 3200',
                          'FilteredNoise.n_samples = 3200'],
        3200, 50),
    # 0.2 s at 50 frames/s; 'center' framing adds a frame (and vst.gin's
    # n_samples an extra hop, which the Crop removes).
    'vst': (
        'models/vst/vst.gin',
        _SMALL_DECODER + ['n_samples = 3520',
                          'FilteredNoiseReverb.reverb_length = 100',
                          'FilteredNoiseReverb.n_frames = 4',
                          'FilteredNoiseReverb.n_filter_banks = 6'],
        3520, 12),
    # papers/iclr2020/nsynth_ae.gin: an MfccTimeDistributedRnnEncoder's z
    # feeds the RnnFcDecoder (models/ae.gin), no reverb.
    'nsynth_ae': (
        'papers/iclr2020/nsynth_ae.gin',
        _SMALL_DECODER + _SMALL_AE,
        3200, 50),
    # The same Autoencoder with a DilatedConvDecoder conditioned on z
    # (layer norm: ConditionalNorm), as models/midiae/z_midiae.gin's
    # synthcoder.
    'dilated_conv': (
        'papers/iclr2020/nsynth_ae.gin',
        _SMALL_AE + [
            'get_model.model = @models.Autoencoder()',
            'Autoencoder.decoder = @decoders.DilatedConvDecoder()',
            'DilatedConvDecoder.ch = 4',
            'DilatedConvDecoder.layers_per_stack = 2',
            'DilatedConvDecoder.stacks = 2',
            "DilatedConvDecoder.norm_type = 'layer'",
            "DilatedConvDecoder.input_keys = ('ld_scaled', 'f0_scaled')",
            "DilatedConvDecoder.conditioning_keys = ('z',)",
            'DilatedConvDecoder.output_splits = '
            "(('amps', 1), ('harmonic_distribution', 6), "
            "('noise_magnitudes', 5))"],
        3200, 50),
    # A DilatedConvDecoder with spectrally normalized convolutions, no
    # encoder. (An upsampling one cannot feed the Harmonic synth, whose f0
    # stays at the preprocessor's frames.)
    'dilated_conv_spectral_norm': (
        'papers/iclr2020/nsynth_ae.gin',
        _SMALL_AE + [
            'get_model.model = @models.Autoencoder()',
            'Autoencoder.encoder = None',
            'Autoencoder.decoder = @decoders.DilatedConvDecoder()',
            'DilatedConvDecoder.ch = 4',
            'DilatedConvDecoder.layers_per_stack = 2',
            'DilatedConvDecoder.stacks = 2',
            "DilatedConvDecoder.norm_type = 'layer'",
            'DilatedConvDecoder.spectral_norm = True',
            "DilatedConvDecoder.input_keys = ('ld_scaled', 'f0_scaled')",
            'DilatedConvDecoder.conditioning_keys = None',
            'DilatedConvDecoder.output_splits = '
            "(('amps', 1), ('harmonic_distribution', 6), "
            "('noise_magnitudes', 5))"],
        3200, 50),
}
CASES['legacy_adam'] = CASES['nsynth_ae']


def _checkpoint_keys(prefix, variables):
  """The checkpoint key of each variable (by its name in the object graph)."""
  reader = tf.train.load_checkpoint(prefix)
  graph = trackable_object_graph_pb2.TrackableObjectGraph()
  graph.ParseFromString(reader.get_tensor('_CHECKPOINTABLE_OBJECT_GRAPH'))
  by_name = {a.full_name: a.checkpoint_key for node in graph.nodes
             for a in node.attributes if a.checkpoint_key.startswith('model/')}
  keys = [by_name[v.name.split(':')[0]] for v in variables]
  assert len(set(keys)) == len(keys), keys
  return keys


def f32(x):
  return np.asarray(x, np.float32)


def randomize_weights(model, rng):
  """Fixed random values for a built model's weights (norm gains near 1)."""
  for v in model.weights:
    shape = v.shape.as_list()
    if 'gamma' in v.name:
      value = 1.0 + 0.2 * rng.standard_normal(shape)
    elif '/ir' in v.name:
      value = 0.05 * rng.standard_normal(shape)
    else:
      value = 0.3 * rng.standard_normal(shape)
    v.assign(f32(value))


def zero_step_adam(model):
  """An Adam that took one step of zero gradients, so it holds slots."""
  optimizer = tf.keras.optimizers.Adam(1e-3)
  optimizer.apply_gradients(
      [(tf.zeros_like(v), v) for v in model.trainable_variables])
  return optimizer


def save_run(out_dir, model, optimizer):
  """Writes out_dir afresh as the original's trainer leaves a run.

  Returns:
    The checkpoint prefix ('<out_dir>/ckpt-1').
  """
  if os.path.exists(out_dir):
    shutil.rmtree(out_dir)
  os.makedirs(out_dir)
  prefix = tf.train.Checkpoint(model=model, optimizer=optimizer).save(
      os.path.join(out_dir, 'ckpt'))
  with open(os.path.join(out_dir, 'operative_config-0.gin'), 'w') as f:
    f.write(gin.operative_config_str())
  return prefix


def start_case(case, gin_files, bindings, **parse_kwargs):
  """Seeds, parses a case's gin config (the original's gin folder on the
  search path) and builds its model.

  Returns:
    (the case's folder tests/golden/original_<case>, a seeded numpy
    Generator, the model).
  """
  tf.keras.utils.set_random_seed(SEED)
  gin.clear_config()
  gin.add_config_file_search_path(
      os.path.join(os.path.dirname(ddsp.training.__file__), 'gin'))
  gin.parse_config_files_and_bindings(gin_files, bindings, **parse_kwargs)
  return (os.path.join(HERE, f'original_{case}'),
          np.random.default_rng(SEED), models.get_model())


def finish_case(case, out_dir, arrays):
  """Writes the case's expected.npz and clears the gin config."""
  np.savez_compressed(os.path.join(out_dir, 'expected.npz'), **arrays)
  print(case, sorted(arrays), sorted(os.listdir(out_dir)))
  gin.clear_config()


def run_cases(make_case, cases):
  """make_case(case) for the cases named on the command line, or all."""
  for case in sys.argv[1:] or cases:
    make_case(case)


def make(case):
  """Writes tests/golden/original_<case>/."""
  gin_file, bindings, n_samples, n_frames = CASES[case]
  out_dir, rng, model = start_case(case, [gin_file], bindings)
  t = np.linspace(0, 1, n_frames)
  features = {
      'audio': f32(0.1 * rng.standard_normal((2, n_samples))),
      'f0_hz': f32(np.stack([220 + 30 * np.sin(2 * np.pi * t),
                             440 - 100 * t])[..., None]),
  }
  if case == 'vst':
    features['f0_confidence'] = f32(np.ones([2, n_frames, 1]))
  else:
    features['loudness_db'] = f32(
        np.stack([-40 + 10 * t, -30 - 20 * t])[..., None])
  model(features, training=False)
  randomize_weights(model, rng)
  arrays = {}
  if case in ADAM_CASES:
    # The original Trainer's Adam (its learning-rate schedule) takes a step
    # of fixed random gradients, so the checkpoint holds non-zero moments;
    # a second step's gradients and the weights after it are the fixture's
    # truth for a converted optimizer.
    if case == 'legacy_adam':
      optimizer = tf.keras.optimizers.legacy.Adam(
          tf.keras.optimizers.schedules.ExponentialDecay(1e-3, 10000, 0.98))
    else:
      optimizer = trainers.Trainer(
          model, tf.distribute.get_strategy()).optimizer
    variables = model.trainable_variables
    optimizer.apply_gradients(
        [(f32(0.5 * rng.standard_normal(v.shape.as_list())), v)
         for v in variables])
    grads = [f32(0.5 * rng.standard_normal(v.shape.as_list()))
             for v in variables]
    for i, grad in enumerate(grads):
      arrays[f'adam_grad{i}'] = grad
  outputs = model(features, training=False)
  harmonic = outputs['harmonic']['signal']
  reverb = getattr(model.processor_group, 'reverb', None)
  wet = reverb(harmonic) if reverb is not None and case != 'vst' else None

  if case not in ADAM_CASES:
    optimizer = zero_step_adam(model)
  prefix = save_run(out_dir, model, optimizer)

  if case in ADAM_CASES:
    arrays['adam_keys'] = np.array(_checkpoint_keys(prefix, variables))
    optimizer.apply_gradients(zip(grads, variables))
    for i, v in enumerate(variables):
      arrays[f'adam_after{i}'] = f32(v.numpy())
  arrays.update({f'in_{k}': f32(v) for k, v in features.items()})
  for key in ('amps', 'harmonic_distribution', 'noise_magnitudes'):
    arrays[f'out_{key}'] = f32(outputs[key])
  if 'z' in outputs:
    arrays['out_z'] = f32(outputs['z'])
  if wet is None:
    # No reverb, or FilteredNoiseReverb, whose impulse response is random:
    # the dry harmonic signal checks the decoder end to end.
    arrays['out_harmonic'] = f32(harmonic)
  else:
    arrays['out_harmonic_reverb'] = f32(wet)
  finish_case(case, out_dir, arrays)


def main():
  run_cases(make, CASES)


if __name__ == '__main__':
  main()
