"""Pre-training of InverseSynthesis (ICML 2020), measured on held-out notes.

`python -m benchmarks --suite=inverse_synthesis` writes synthetic notes with
ddsp_tf_generate_synthetic_dataset's main (generate_notes_v2), pre-trains
papers/icml2020/pretrain_model.gin at the small size of
tests/test_inverse_synthesis.py (1 s, 32 frames, 20 sinusoids, 17 noise
bands, RnnSandwich of 32 channels; Adam 1e-3, batch 8) and prints, every
`eval_every` steps, the held-out losses: the f0 error in semitones on
sounding frames (HarmonicConsistencyLoss's f0 term), the sinusoidal and
noise consistency losses, and the f0 error of the best constant (the
held-out median f0), which a model that has not learned pitch cannot beat.

The paper pre-trains for 1.2M steps; the test trains 20 steps and checks
that the sinusoidal and noise losses fall. This suite measures how many
steps the held-out f0 error needs to fall below the constant's, for one or
more seeds (`--inverse_seeds`; a seed sets the initial weights, the batch
order and the notes) and at two sizes (`--inverse_size`).
"""

import glob
import os
import tempfile
import time
from typing import Dict, List, Tuple

import numpy as np

N_FRAMES = 32  # 16000 samples / hop 512 (2048-point FFT, overlap 0.75).
N_SINUSOIDS = 20
N_MAGS = 17
HOP_SIZE = 512


def settings(n_samples: int, mel_bins: int) -> Tuple[str, ...]:
  """Gin bindings that shrink papers/icml2020/pretrain_model.gin.

  Args:
    n_samples: Samples of audio per example (ceil(n_samples / 512) frames).
    mel_bins: Bins of the ResNet's log-mel spectrogram (the paper's: 229).

  Returns:
    The bindings, for runner.parse_gin's gin_params.
  """
  return (
      f'InverseSynthesis.n_samples = {n_samples}',
      f'f0_spectral/compute_logmel.bins = {mel_bins}',
      'ResnetSinusoidalEncoder.output_splits = ('
      f'("frequencies", {64 * N_SINUSOIDS}), ("amplitudes", {N_SINUSOIDS}), '
      f'("noise_magnitudes", {N_MAGS}))',
      f'SinusoidalToHarmonicEncoder.n_harmonics = {N_SINUSOIDS}',
      'RnnSandwich.fc_stack_ch = 32',
      'RnnSandwich.rnn_ch = 32',
  )


# 1 s of audio, 64 mel bins: the size the benchmark trains by default.
SMALL_SETTINGS = settings(16000, 64)
# Half a second, 32 mel bins: about 0.18 s a step instead of 0.38, for runs
# over several seeds (--inverse_size=tiny).
TINY_FRAMES = 16
TINY_MEL_BINS = 32
TINY_SETTINGS = settings(TINY_FRAMES * HOP_SIZE, TINY_MEL_BINS)
# run's sizes: (frames per example, gin bindings).
SIZES = {'small': (N_FRAMES, SMALL_SETTINGS),
         'tiny': (TINY_FRAMES, TINY_SETTINGS)}
LEARNING_RATE = 1e-3  # The Trainer's default (and the original's).
BATCH_SIZE = 8
HELD_OUT_EXAMPLES = 64


def _midi(hz: np.ndarray) -> np.ndarray:
  return 69.0 + 12.0 * np.log2(np.maximum(hz, 1e-3) / 440.0)


def write_notes(prefix: str, n_examples: int, seed: int,
                num_shards: int = 1, n_frames: int = N_FRAMES) -> List[str]:
  """Synthetic-note shards written by the console script's main.

  Args:
    prefix: Shard prefix.
    n_examples: Examples in all.
    seed: The script's --random_seed.
    num_shards: Shards to write.
    n_frames: Frames per example.

  Returns:
    The shard paths, sorted.
  """
  # pylint: disable=import-outside-toplevel
  import gin
  from data_prep import synthetic_cli
  # pylint: enable=import-outside-toplevel
  try:
    status = synthetic_cli.main(
        [f'--output_tfrecord_path={prefix}', f'--num_shards={num_shards}',
         f'--num_examples={n_examples}', f'--random_seed={seed}',
         '--gin_param=generate_examples.generate_fn = @generate_notes_v2',
         f'--gin_param=generate_notes_v2.n_timesteps = {n_frames}',
         f'--gin_param=generate_notes_v2.n_harmonics = {N_SINUSOIDS}',
         f'--gin_param=generate_notes_v2.n_mags = {N_MAGS}'])
  finally:
    gin.clear_config()
  if status:
    raise RuntimeError(f'ddsp_tf_generate_synthetic_dataset exited {status}.')
  return sorted(glob.glob(f'{prefix}-*'))


def _held_out_losses(model, batch) -> Dict[str, float]:
  """Held-out losses, with the f0 errors of the model and of a constant.

  Besides the model's losses: 'constant_f0_error' (the loss's f0 term for
  the median f0 everywhere), and on sounding frames 'raw_pitch_accuracy'
  (the share within half a semitone) and 'octave_error_share' (the share
  within half a semitone of one or two octaves off).
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tf.random.set_seed(0)  # The same filtered noise in the rendered audio.
  outputs, losses = model(batch, training=False, return_losses=True)
  result = {k: float(v) for k, v in losses.items()}
  sounding = batch['harm_amp'].numpy() >= 1e-4
  truth = _midi(batch['f0_hz'].numpy())
  constant = np.median(truth[sounding])
  result['constant_f0_error'] = float(np.mean(np.abs(constant - truth) *
                                              sounding))
  error = (_midi(outputs['f0_hz'].numpy()) - truth)[sounding]
  result['raw_pitch_accuracy'] = float(np.mean(np.abs(error) < 0.5))
  octaves = np.abs(error[:, np.newaxis] - [[-24.0, -12.0, 12.0, 24.0]])
  result['octave_error_share'] = float(np.mean(np.min(octaves, axis=1) < 0.5))
  return result


def run(steps: int = 1500, eval_every: int = 250,
        train_examples: int = 2048, seed: int = 0,
        size: str = 'small') -> List[Dict[str, float]]:
  """Pre-trains and prints the held-out losses every eval_every steps.

  Args:
    steps: Training steps.
    eval_every: Steps between held-out evaluations.
    train_examples: Synthetic training examples (held out: 64 more).
    seed: Seeds the model's initial weights and the order of the batches;
      the training notes are written with seed + 1, the held-out ones with
      seed + 2.
    size: 'small' (1 s, 64 mel bins) or 'tiny' (0.5 s, 32 mel bins).

  Returns:
    One dict of held-out losses per evaluation, with 'step'.
  """
  # pylint: disable=import-outside-toplevel
  import gin
  import tensorflow as tf
  from ddsp_tf.training import data
  from ddsp_tf.training import models
  from ddsp_tf.training import runner
  from ddsp_tf.training import trainers
  # pylint: enable=import-outside-toplevel
  if size not in SIZES:
    raise ValueError(f'size must be one of {sorted(SIZES)}, got '
                     f'size={size!r}.')
  n_frames, size_settings = SIZES[size]
  print(f'inverse_synthesis suite: papers/icml2020/pretrain_model.gin, '
        f'{size} ({size_settings[0]}, {size_settings[1]}), {n_frames} '
        f'frames, {N_SINUSOIDS} sinusoids; Adam {LEARNING_RATE:g}, '
        f'batch {BATCH_SIZE}, {train_examples} training notes, '
        f'{HELD_OUT_EXAMPLES} held out, seed {seed} (load average at start: '
        f'{os.getloadavg()[0]:.1f}).', flush=True)
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    train_files = write_notes(os.path.join(tmp, 'train.tfrecord'),
                               train_examples, seed=seed + 1,
                               n_frames=n_frames)
    held_out_files = write_notes(os.path.join(tmp, 'held_out.tfrecord'),
                                  HELD_OUT_EXAMPLES, seed=seed + 2,
                                  n_frames=n_frames)
    runner.parse_gin(restore_dir='',
                     gin_files=['papers/icml2020/pretrain_model.gin'],
                     gin_params=list(size_settings))
    try:
      tf.keras.utils.set_random_seed(seed)
      model = models.get_model()
    finally:
      gin.clear_config()
    provider = data.SyntheticNotes(n_frames, N_SINUSOIDS, N_MAGS,
                                   file_pattern=train_files[0])
    held_out = next(iter(data.SyntheticNotes(
        n_frames, N_SINUSOIDS, N_MAGS, file_pattern=held_out_files[0]
    ).get_batch(HELD_OUT_EXAMPLES, shuffle=False, repeats=1,
                drop_remainder=False)))
    trainer = trainers.Trainer(model, tf.distribute.get_strategy(),
                               learning_rate=LEARNING_RATE)
    batches = iter(provider.get_batch(BATCH_SIZE, shuffle=True))
    trainer.build(next(batches))
    print('| step | held-out f0 error (semitones) | constant f0 error | '
          'raw pitch accuracy | octave errors | ss_kde_consistency_loss | '
          'ss_filtered_noise_consistency_loss | s/step |\n'
          '|---|---|---|---|---|---|---|---|', flush=True)
    start, step = time.perf_counter(), 0
    while True:
      if step % eval_every == 0 or step == steps:
        losses = _held_out_losses(model, held_out)
        seconds = (time.perf_counter() - start) / max(step, 1)
        rows.append(dict(step=step, **losses))
        print(f"| {step} | {losses['ss_f0_hz_loss']:.2f} | "
              f"{losses['constant_f0_error']:.2f} | "
              f"{losses['raw_pitch_accuracy']:.3f} | "
              f"{losses['octave_error_share']:.3f} | "
              f"{losses['ss_kde_consistency_loss']:.1f} | "
              f"{losses['ss_filtered_noise_consistency_loss']:.3f} | "
              f'{seconds:.2f} |', flush=True)
      if step == steps:
        break
      trainer.train_step(next(batches))
      step += 1
  best = min(rows, key=lambda row: row['ss_f0_hz_loss'])
  print(f"lowest held-out f0 error {best['ss_f0_hz_loss']:.2f} semitones at "
        f"step {best['step']} (step 0: {rows[0]['ss_f0_hz_loss']:.2f}; the "
        f"constant's: {rows[0]['constant_f0_error']:.2f}).", flush=True)
  return rows
