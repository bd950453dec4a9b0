"""Writes a checkpoint of magenta/ddsp v3.7.0's solo_instrument Autoencoder.

Run with the original's environment (it imports `ddsp`, the original):

  TF_USE_LEGACY_KERAS=1 /tmp/ref/venv/bin/python \
      tests/golden/make_original_checkpoint.py

A small models/solo_instrument.gin Autoencoder (gin bindings shrink it) is
built by one call, its variables get fixed random values, an Adam optimizer
takes one step of zero gradients (so that the checkpoint holds optimizer
slots too, as the original's Trainer writes them) and
`tf.train.Checkpoint(model=..., optimizer=...)` is saved into
`tests/golden/original_solo_instrument/` beside the run's
`operative_config-0.gin`, as the original's training loop leaves them.
`expected.npz` holds a fixed batch and the original's outputs on it:
`in_<feature>`, the decoder's controls `out_<control>` and
`out_harmonic_reverb`, the harmonic signal with the trained reverb
applied (the filtered noise is random, so it is left out).

tests/test_checkpoint_conversion.py reads only these files.
"""

import os
import shutil

import gin
import numpy as np
import tensorflow as tf

import ddsp.training
from ddsp.training import models

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'original_solo_instrument')
SEED = 20261206
BINDINGS = ['get_model.model = @models.Autoencoder()',
            'RnnFcDecoder.rnn_channels = 8', 'RnnFcDecoder.ch = 4',
            'RnnFcDecoder.output_splits = '
            "(('amps', 1), ('harmonic_distribution', 6), "
            "('noise_magnitudes', 5))",
            'Reverb.reverb_length = 100',
            'F0LoudnessPreprocessor.time_steps = 50',
            'Harmonic.n_samples = 3200',
            'FilteredNoise.n_samples = 3200']


def f32(x):
  return np.asarray(x, np.float32)


def main():
  tf.keras.utils.set_random_seed(SEED)
  rng = np.random.default_rng(SEED)
  gin.clear_config()
  gin.add_config_file_search_path(
      os.path.join(os.path.dirname(ddsp.training.__file__), 'gin'))
  gin.parse_config_files_and_bindings(['models/solo_instrument.gin'],
                                      BINDINGS)
  model = models.get_model()
  n_frames = 50
  t = np.linspace(0, 1, n_frames)
  features = {
      'audio': f32(0.1 * rng.standard_normal((2, 3200))),
      'f0_hz': f32(np.stack([220 + 30 * np.sin(2 * np.pi * t),
                             440 - 100 * t])[..., None]),
      'loudness_db': f32(np.stack([-40 + 10 * t, -30 - 20 * t])[..., None]),
  }
  model(features, training=False)
  for v in model.weights:
    shape = v.shape.as_list()
    if 'gamma' in v.name:
      value = 1.0 + 0.2 * rng.standard_normal(shape)
    elif '/ir' in v.name:
      value = 0.05 * rng.standard_normal(shape)
    else:
      value = 0.3 * rng.standard_normal(shape)
    v.assign(f32(value))
  outputs = model(features, training=False)
  harmonic = outputs['harmonic']['signal']
  wet = model.processor_group.reverb(harmonic)

  optimizer = tf.keras.optimizers.Adam(1e-3)
  optimizer.apply_gradients(
      [(tf.zeros_like(v), v) for v in model.trainable_variables])

  if os.path.exists(OUT):
    shutil.rmtree(OUT)
  os.makedirs(OUT)
  tf.train.Checkpoint(model=model, optimizer=optimizer).save(
      os.path.join(OUT, 'ckpt'))
  with open(os.path.join(OUT, 'operative_config-0.gin'), 'w') as f:
    f.write(gin.operative_config_str())

  arrays = {f'in_{k}': f32(v) for k, v in features.items()}
  for key in ('amps', 'harmonic_distribution', 'noise_magnitudes'):
    arrays[f'out_{key}'] = f32(outputs[key])
  arrays['out_harmonic_reverb'] = f32(wet)
  np.savez_compressed(os.path.join(OUT, 'expected.npz'), **arrays)
  print(sorted(os.listdir(OUT)))
  for k, shape in tf.train.list_variables(tf.train.latest_checkpoint(OUT)):
    print(k, shape)
  gin.clear_config()


if __name__ == '__main__':
  main()
