"""Writes golden fixtures of magenta/ddsp v3.7.0's trainable layers.

Run with the original's environment (it imports `ddsp`, the original):

  TF_USE_LEGACY_KERAS=1 /tmp/ref/venv/bin/python \
      tests/golden/make_layer_golden.py

For every case a small layer is built with a fixed seed, all its variables
are overwritten with fixed random values (so that e.g. norm scales are not
the trivial ones), and it is called on a fixed input. Each case goes to its
own `layers_<case>.npz`:

  `__spec__`  JSON: case, the original's class path, constructor kwargs,
              the number of positional inputs and the output keys.
  `in<i>`     positional inputs; a `[x, z]` pair input is stored as in0, in1
              with `__spec__['pair'] = true`.
  `out_<key>` outputs (`out_out` for a single tensor).
  `var_names` the variables' names, in `layer.weights` order;
  `var<i>`    their values.

`solo_instrument_checkpoint` and `stack_checkpoints` write checkpoint
fixtures (see their docstrings).

tests/test_layer_golden.py reads only these files.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf

from ddsp import effects
from ddsp.training import decoders
from ddsp.training import encoders
from ddsp.training import nn
from ddsp.training import preprocessing

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261206


def f32(x):
  return np.asarray(x, np.float32)


def randomize(layer, rng):
  """Overwrites every variable with a fixed random value."""
  for v in layer.weights:
    name = v.name.split('/')[-1]
    shape = v.shape.as_list()
    if 'gamma' in name or 'scale' in name:
      value = 1.0 + 0.2 * rng.standard_normal(shape)
    elif name.startswith('decay'):
      value = 2.0 + 0.2 * rng.standard_normal(shape)
    else:
      value = 0.3 * rng.standard_normal(shape)
    v.assign(f32(value))


def save(case, cls_path, kwargs, layer, inputs, outputs, pair=False):
  arrays = {}
  for i, x in enumerate(inputs):
    arrays[f'in{i}'] = f32(x)
  if not isinstance(outputs, dict):
    outputs = {'out': outputs}
  out_keys = []
  for k, v in outputs.items():
    arrays[f'out_{k}'] = f32(v)
    out_keys.append(k)
  names = [v.name for v in layer.weights]
  arrays['var_names'] = np.array(names)
  for i, v in enumerate(layer.weights):
    arrays[f'var{i}'] = f32(v.numpy())
  arrays['__spec__'] = np.array(json.dumps(dict(
      case=case, cls=cls_path, kwargs=kwargs, n_inputs=len(inputs),
      out_keys=out_keys, pair=pair)))
  path = os.path.join(HERE, f'layers_{case}.npz')
  np.savez_compressed(path, **arrays)
  print(f'{case}: {len(names)} variables, outputs '
        f'{[np.shape(v) for v in outputs.values()]}')


def run_case(case, module, cls_name, kwargs, inputs, pair=False,
             call_kwargs=None):
  """Builds, randomizes, calls and saves one layer."""
  if sys.argv[1:] and case not in sys.argv[1:]:
    return
  tf.keras.utils.set_random_seed(SEED)
  rng = np.random.default_rng(SEED + sum(map(ord, case)))
  layer = getattr(module, cls_name)(**kwargs)
  tensors = [tf.constant(f32(x)) for x in inputs]
  call_kwargs = call_kwargs or {}

  def call():
    return layer(tensors, **call_kwargs) if pair else layer(
        *tensors, **call_kwargs)

  call()  # Build.
  randomize(layer, rng)
  outputs = call()
  if isinstance(outputs, dict):
    outputs = {k: v.numpy() for k, v in outputs.items()}
  elif isinstance(outputs, (list, tuple)):
    outputs = {f'{i}': v.numpy() for i, v in enumerate(outputs)}
  else:
    outputs = outputs.numpy()
  save(case, f'{module.__name__}.{cls_name}', kwargs, layer, inputs, outputs,
       pair)


def main():
  rng = np.random.default_rng(SEED)
  b, t = 2, 9
  x5 = rng.standard_normal((b, t, 5))
  x8 = rng.standard_normal((b, t, 8))
  x64 = rng.standard_normal((b, t, 64))
  z3 = rng.standard_normal((b, t, 3))
  ld = rng.uniform(0, 1, (b, t, 1))
  f0 = rng.uniform(0, 1, (b, t, 1))
  audio = 0.5 * np.sin(2 * np.pi * 440 / 16000 * np.arange(4000))[None]
  audio = np.concatenate([audio, 0.3 * rng.standard_normal((1, 4000))], 0)

  # Stacks.
  run_case('fc', nn, 'Fc', dict(ch=6), [x5])
  run_case('fc_stack', nn, 'FcStack', dict(ch=6, layers=2), [x5])
  run_case('fc_stack_out', nn, 'FcStackOut', dict(ch=6, layers=2, n_out=4),
           [x5])
  run_case('rnn_gru', nn, 'Rnn', dict(dims=6, rnn_type='gru'), [x5])
  run_case('rnn_lstm', nn, 'Rnn', dict(dims=6, rnn_type='lstm'), [x5])
  run_case('rnn_gru_last', nn, 'Rnn',
           dict(dims=6, rnn_type='gru', return_sequences=False), [x5])
  run_case('rnn_gru_bidir', nn, 'Rnn',
           dict(dims=6, rnn_type='gru', bidir=True), [x5])
  run_case('rnn_lstm_bidir', nn, 'Rnn',
           dict(dims=6, rnn_type='lstm', bidir=True), [x5])
  run_case('stateless_rnn_gru', nn, 'StatelessRnn',
           dict(dims=6, rnn_type='gru'), [x5, rng.standard_normal((b, 6))])
  run_case('rnn_fc', nn, 'RnnFc', dict(rnn_feat=6, out_feat=4), [x5])
  run_case('rnn_sandwich', nn, 'RnnSandwich',
           dict(fc_stack_ch=6, fc_stack_layers=2, rnn_ch=5), [x5])

  # Normalization.
  x4d = x64[:, :, np.newaxis, :]
  for norm_type in ('layer', 'instance', 'group'):
    run_case(f'normalize_{norm_type}', nn, 'Normalize',
             dict(norm_type=norm_type), [x4d])
  run_case('conditional_norm', nn, 'ConditionalNorm',
           dict(norm_type='instance'), [x8[:, :, None], z3[:, :, None]],
           pair=True)
  run_case('conditional_norm_shift', nn, 'ConditionalNorm',
           dict(norm_type='layer', shift_only=True),
           [x8[:, :, None], z3[:, :, None]], pair=True)

  # Dilated convolutions.
  run_case('dilated_conv_stack', nn, 'DilatedConvStack',
           dict(ch=8, layers_per_stack=2, stacks=2, norm_type='layer'), [x5])
  run_case('dilated_conv_stack_nonorm', nn, 'DilatedConvStack',
           dict(ch=8, layers_per_stack=2, stacks=1), [x5])
  run_case('dilated_conv_stack_cond', nn, 'DilatedConvStack',
           dict(ch=8, layers_per_stack=2, stacks=1, norm_type='instance',
                conditional=True), [x5, z3], pair=True)
  run_case('dilated_conv_stack_up', nn, 'DilatedConvStack',
           dict(ch=8, layers_per_stack=1, stacks=2, norm_type='layer',
                resample_type='upsample', resample_stride=2,
                stacks_per_resample=2), [x5])
  run_case('dilated_conv_stack_cond_shift', nn, 'DilatedConvStack',
           dict(ch=8, layers_per_stack=2, stacks=1, norm_type='layer',
                conditional=True, shift_only=True), [x5, z3], pair=True)
  run_case('dilated_conv_stack_up_uneven', nn, 'DilatedConvStack',
           dict(ch=8, layers_per_stack=1, stacks=3, norm_type='layer',
                resample_type='upsample', resample_stride=2,
                stacks_per_resample=2), [x5])
  run_case('dilated_conv_stack_negative_dilation', nn, 'DilatedConvStack',
           dict(ch=8, layers_per_stack=3, stacks=1, dilation=-2,
                norm_type='instance'), [x5])
  run_case('dilated_conv_stack_spectral_norm', nn, 'DilatedConvStack',
           dict(ch=8, layers_per_stack=1, stacks=1, spectral_norm=True),
           [x5], call_kwargs=dict(training=False))
  run_case('dilated_conv_stack_down', nn, 'DilatedConvStack',
           dict(ch=8, layers_per_stack=1, stacks=2, norm_type='layer',
                resample_type='downsample', resample_stride=2,
                resample_after_convolve=False), [x5[:, :8]])

  # Decoders.
  run_case('rnn_fc_decoder', decoders, 'RnnFcDecoder',
           dict(rnn_channels=6, ch=5, layers_per_stack=2,
                output_splits=[['amps', 1], ['harmonic_distribution', 3]]),
           [ld, f0, z3])
  run_case('rnn_fc_decoder_stateless', decoders, 'RnnFcDecoder',
           dict(rnn_channels=6, ch=5, layers_per_stack=2, stateless=True,
                output_splits=[['amps', 1], ['harmonic_distribution', 3]]),
           [ld, f0, z3, rng.standard_normal((b, 6))])
  run_case('dilated_conv_decoder', decoders, 'DilatedConvDecoder',
           dict(ch=8, layers_per_stack=2, stacks=1,
                output_splits=[['amps', 1], ['harmonic_distribution', 3]]),
           [ld, f0, z3])
  run_case('dilated_conv_decoder_nocond', decoders, 'DilatedConvDecoder',
           dict(ch=8, layers_per_stack=2, stacks=1, conditioning_keys=None,
                output_splits=[['amps', 1], ['harmonic_distribution', 3]]),
           [ld, f0])

  # Encoders.
  run_case('mfcc_time_distributed_rnn_encoder', encoders,
           'MfccTimeDistributedRnnEncoder',
           dict(rnn_channels=6, z_dims=4, z_time_steps=125), [audio, f0])
  run_case('aggregate_features_encoder', encoders, 'AggregateFeaturesEncoder',
           dict(ch=6), [f0, ld, f0])
  run_case('mfcc_rnn_encoder', encoders, 'MfccRnnEncoder',
           dict(rnn_channels=6, z_dims=4, mean_aggregate=True), [audio, f0])

  # Preprocessors: loudness recomputed from 3968 samples of audio (62 'same'
  # frames of f0 at 250 Hz; the original frames loudness 'center', 63).
  f0_62 = rng.uniform(100, 800, (b, 62, 1))
  ld_62 = rng.uniform(-80, 0, (b, 62, 1))
  for steps in (62, 100):
    run_case(f'f0_loudness_preprocessor_{steps}', preprocessing,
             'F0LoudnessPreprocessor', dict(time_steps=steps),
             [ld_62, f0_62, audio[:, :62 * 64]])

  # MfccRnnEncoder(mean_aggregate=False) is left out: the original
  # concatenates the batch's sequences along channels (z of shape
  # [batch, n_frames, mfcc_frames, z_dims] here), ddsp_tf returns
  # [batch, n_frames, z_dims] (README: non-numeric differences).
  run_case('dilated_conv_stack_spectral_norm_training', nn,
           'DilatedConvStack',
           dict(ch=8, layers_per_stack=1, stacks=1, spectral_norm=True),
           [x5], call_kwargs=dict(training=True))

  # Effects with trainable variables.
  run_case('reverb', effects, 'Reverb',
           dict(trainable=True, reverb_length=40), [audio[:, :400]])
  run_case('exp_decay_reverb', effects, 'ExpDecayReverb',
           dict(trainable=True, reverb_length=40), [audio[:, :400]])
  run_case('filtered_noise_reverb', effects, 'FilteredNoiseReverb',
           dict(trainable=True, reverb_length=64, n_frames=4,
                n_filter_banks=8), [audio[:, :400]])




def solo_instrument_checkpoint():
  """The checkpoint of a small models/solo_instrument.gin Autoencoder.

  Writes `layers_solo_instrument_checkpoint.npz`: `keys` and `key<i>`, the
  variables of `tf.train.Checkpoint(model=model)` (as the original's
  Trainer writes them, without the optimizer) with fixed random values;
  `ld_scaled`, `f0_scaled` and `out_<key>`: the decoder's outputs on them.
  """
  case = 'solo_instrument_checkpoint'
  if sys.argv[1:] and case not in sys.argv[1:]:
    return
  import tempfile  # pylint: disable=g-import-not-at-top
  import gin  # pylint: disable=g-import-not-at-top
  import ddsp.training  # pylint: disable=g-import-not-at-top
  from ddsp.training import models  # pylint: disable=g-import-not-at-top
  tf.keras.utils.set_random_seed(SEED)
  rng = np.random.default_rng(SEED + 1)
  gin.clear_config()
  gin.add_config_file_search_path(
      os.path.join(os.path.dirname(ddsp.training.__file__), 'gin'))
  gin.parse_config_files_and_bindings(
      ['models/solo_instrument.gin'],
      ['RnnFcDecoder.rnn_channels = 8', 'RnnFcDecoder.ch = 4',
       'Reverb.reverb_length = 100'])
  model = models.Autoencoder()
  n_frames = 250
  model({'audio': np.zeros([1, 16000], np.float32),
         'f0_hz': np.full([1, n_frames, 1], 220.0, np.float32),
         'loudness_db': np.full([1, n_frames, 1], -40.0, np.float32)},
        training=False)
  randomize(model, rng)
  features = {'ld_scaled': f32(rng.uniform(0, 1, (2, 20, 1))),
              'f0_scaled': f32(rng.uniform(0, 1, (2, 20, 1)))}
  outputs = model.decoder(features)
  with tempfile.TemporaryDirectory() as tmp:
    path = tf.train.Checkpoint(model=model).save(os.path.join(tmp, 'ckpt'))
    arrays = {}
    keys = [k for k, _ in tf.train.list_variables(path)
            if k.startswith('model/')]
    for i, key in enumerate(keys):
      arrays[f'key{i}'] = f32(tf.train.load_variable(path, key))
  arrays['keys'] = np.array(keys)
  arrays.update(features)
  for k, v in outputs.items():
    arrays[f'out_{k}'] = f32(v)
  np.savez_compressed(os.path.join(HERE, f'layers_{case}.npz'), **arrays)
  print(f'{case}: {len(keys)} checkpoint variables')
  gin.clear_config()


# Resampling DilatedConvStacks: (case, kwargs, conditional inputs).
STACK_CHECKPOINTS = (
    ('dilated_conv_stack_down_sn_checkpoint',
     dict(ch=4, layers_per_stack=2, stacks=2, kernel_size=3, dilation=2,
          norm_type='layer', resample_type='downsample', resample_stride=2,
          spectral_norm=True)),
    ('dilated_conv_stack_up_cond_checkpoint',
     dict(ch=4, layers_per_stack=1, stacks=2, kernel_size=3, dilation=2,
          norm_type='instance', resample_type='upsample', resample_stride=2,
          stacks_per_resample=2, resample_after_convolve=False,
          conditional=True)),
)


def stack_checkpoints():
  """Checkpoints of resampling DilatedConvStacks.

  Writes `layers_<case>.npz` for each of STACK_CHECKPOINTS: `kwargs`
  (JSON), `keys` and `key<i>`, the variables of
  `tf.train.Checkpoint(model=stack)` with fixed random values (the keys
  the original's trainer writes below a model), `in<i>` and `out_out`, the
  stack's output on them.
  """
  import tempfile  # pylint: disable=g-import-not-at-top
  for case, kwargs in STACK_CHECKPOINTS:
    if sys.argv[1:] and case not in sys.argv[1:]:
      continue
    tf.keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED + 2)
    stack = nn.DilatedConvStack(**kwargs)
    inputs = [f32(rng.standard_normal((2, 8, 5)))]
    if kwargs.get('conditional'):  # z at the upsampled frame rate.
      inputs.append(f32(rng.standard_normal((2, 16, 3))))
    call = (lambda: stack(inputs)) if len(inputs) == 2 else (
        lambda: stack(inputs[0]))
    call()
    randomize(stack, rng)
    outputs = call()
    with tempfile.TemporaryDirectory() as tmp:
      path = tf.train.Checkpoint(model=stack).save(os.path.join(tmp, 'ckpt'))
      keys = [k for k, _ in tf.train.list_variables(path)
              if k.startswith('model/')]
      arrays = {f'key{i}': f32(tf.train.load_variable(path, key))
                for i, key in enumerate(keys)}
    arrays['keys'] = np.array(keys)
    arrays['kwargs'] = np.array(json.dumps(kwargs))
    for i, x in enumerate(inputs):
      arrays[f'in{i}'] = x
    arrays['out_out'] = f32(outputs)
    np.savez_compressed(os.path.join(HERE, f'layers_{case}.npz'), **arrays)
    print(f'{case}: {keys}')


if __name__ == '__main__':
  main()
  solo_instrument_checkpoint()
  stack_checkpoints()
