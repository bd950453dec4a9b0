"""Pre-trains magenta/ddsp v3.7.0's InverseSynthesis for 200 steps.

Evidence for tests/test_inverse_synthesis.py's slow test: the original,
with the test's small settings (papers/icml2020/pretrain_model.gin, 1 s,
32 frames, 20 sinusoids, 17 noise bands, RnnSandwich 32 channels), Adam
3e-3, batch 8, trained on the shards that test writes (00000-00001, held
out 00002), prints the held-out losses every 20 steps. Run:

  TF_USE_LEGACY_KERAS=1 /tmp/ref/venv/bin/python \
      tests/golden/inverse_synthesis_original_pretraining.py SHARD_DIR \
      [LEARNING_RATE [STEPS]]

(defaults 3e-3 and 200; the held-out losses are printed every 20 steps, or
every 100 from 300 steps on).

Seen on 2026-12-06 (CPU): ss_f0_hz_loss 13.4 at step 0, 16-17.8 from step
20 to 200; kde_consistency_loss 839 -> 7-12; ss_kde_consistency_loss
1059 -> 87-115; mean predicted sin_amps 0.34-0.80 (targets ~0.03). So the
original does not learn f0 in 200 steps either. (Initialisation is not
seeded; a rerun gave 13.7 at step 0 and 15.6 at step 20.)

At 1e-3 (the Trainer's default), 500 steps on 2112 notes written by
`benchmarks.inverse_synthesis.write_notes(..., 2112, seed=3, num_shards=3)`
(2026-12-06): ss_f0_hz_loss 13.44 at step 0, 13.44 / 13.61 / 13.51 at
100 / 200 / 300, 12.01 at 400, 12.03 at 500; ss_kde_consistency_loss
1201 -> 49. ddsp_tf's `python -m benchmarks --suite=inverse_synthesis`
learns alike at 1e-3.
"""

import os
import sys

import gin
import tensorflow as tf

import ddsp.training
from ddsp.training import data
from ddsp.training import models
from ddsp.training import trainers

N_FRAMES, N_SINUSOIDS, N_MAGS = 32, 20, 17
SMALL = [
    'InverseSynthesis.n_samples = 16000',
    'f0_spectral/compute_logmel.bins = 64',
    'ResnetSinusoidalEncoder.output_splits = (("frequencies", 1280), '
    '("amplitudes", 20), ("noise_magnitudes", 17))',
    'SinusoidalToHarmonicEncoder.n_harmonics = 20',
    'RnnSandwich.fc_stack_ch = 32',
    'RnnSandwich.rnn_ch = 32',
]


def main(shard_dir, learning_rate=3e-3, steps=200):
  gin.add_config_file_search_path(
      os.path.join(os.path.dirname(ddsp.training.__file__), 'gin'))
  gin.parse_config_files_and_bindings(
      ['papers/icml2020/pretrain_model.gin'], SMALL)
  model = models.get_model()
  pattern = os.path.join(shard_dir, 'notes.tfrecord-0000{}-of-00003')
  train = data.SyntheticNotes(N_FRAMES, N_SINUSOIDS, N_MAGS,
                              file_pattern=pattern.format('[01]'))
  held = data.SyntheticNotes(N_FRAMES, N_SINUSOIDS, N_MAGS,
                             file_pattern=pattern.format('2'))
  batch = next(iter(held.get_batch(32, shuffle=False, repeats=1,
                                   drop_remainder=False)))
  strategy = tf.distribute.get_strategy()
  with strategy.scope():
    trainer = trainers.Trainer(model, strategy, learning_rate=learning_rate)
    iterator = iter(trainer.distribute_dataset(
        train.get_batch(8, shuffle=True, repeats=-1)))
    trainer.build(next(iterator))

  def show(step):
    tf.random.set_seed(0)
    outputs, losses = model(batch, training=False, return_losses=True)
    names = ('ss_f0_hz_loss', 'kde_consistency_loss',
             'ss_kde_consistency_loss')
    print(step, {k: round(float(losses[k]), 3) for k in names},
          'sin_amps mean', float(tf.reduce_mean(outputs['sin_amps'])),
          flush=True)

  show(0)
  every = 20 if steps < 300 else 100
  for step in range(1, steps + 1):
    trainer.train_step(iterator)
    if step % every == 0:
      show(step)


if __name__ == '__main__':
  main(sys.argv[1], *[float(sys.argv[2])] if sys.argv[2:] else [],
       *[int(sys.argv[3])] if sys.argv[3:] else [])
