"""Resynthesis quality of a model trained on test-made audio, on CPU.

`python -m benchmarks --suite=quality [--quality_steps N]` runs the user's
path end to end on 2 minutes of test-made single-instrument audio
(benchmarks/instrument_audio.py, known timbre and pitch):

1. `ddsp_tf_prepare_tfrecord` (CREPE tiny, 50 frames per second) on a
   120 s training file and a 24 s held-out file made with another seed;
2. `ddsp_tf_run --mode=train` with models/solo_instrument_cpu.gin (the
   documented reduced solo_instrument) for N steps at batch 8;
3. resynthesis of the held-out examples, measured as in the paper:
   loudness L1 in dB (A-weighted loudness of the resynthesis against the
   input's), f0 L1 in semitones (CREPE full, with Viterbi, on the
   resynthesis against the input's f0, over frames whose input confidence
   is at least 0.85), and the multi-scale spectral distance (the mean L1
   distance between magnitude spectrograms at FFT sizes 2048 to 64).

The first row re-analyses the input audio itself (CREPE full against the
dataset's CREPE tiny f0, loudness against itself), which is the floor that
the measurement allows.
"""

import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

import numpy as np

from benchmarks import instrument_audio

TRAIN_SECS = 120.0
EVAL_SECS = 24.0
BATCH_SIZE = 8
MODEL_CONFIG = 'models/solo_instrument_cpu.gin'
FRAME_RATE = 50  # The feature rate that config reads.


def _write_audio(path: str, seconds: float, seed: int) -> None:
  import soundfile  # pylint: disable=import-outside-toplevel
  soundfile.write(path, instrument_audio.make_audio(seconds, seed),
                  instrument_audio.SAMPLE_RATE, subtype='FLOAT')


def _prepare(audio_path: str, output: str) -> None:
  command = [sys.executable, '-m', 'data_prep.cli',
             f'--input_audio_filepatterns={audio_path}',
             f'--output_tfrecord_path={output}', '--model_capacity=tiny',
             f'--frame_rate={FRAME_RATE}',
             # The layout the README's figures were measured with.
             '--window_layout=file', '--log_level=WARNING']
  subprocess.run(command, check=True)


def _train(tfrecord: str, save_dir: str, steps: int) -> float:
  """Trains with ddsp_tf_run; returns the wall time."""
  command = [sys.executable, '-m', 'ddsp_tf.cli.run',
             '--mode=train', f'--save_dir={save_dir}',
             f'--gin_file={MODEL_CONFIG}', '--gin_file=datasets/tfrecord.gin',
             f"--gin_param=TFRecordProvider.file_pattern='{tfrecord}*'",
             f'--gin_param=batch_size={BATCH_SIZE}',
             f'--gin_param=train.num_steps={steps}',
             f'--gin_param=train.steps_per_save={steps}',
             f'--gin_param=train.steps_per_summary={max(steps // 4, 1)}']
  start = time.perf_counter()
  subprocess.run(command, check=True)
  return time.perf_counter() - start


def _spectral_distance(audio: np.ndarray, audio_gen: np.ndarray) -> float:
  """Mean L1 distance of magnitude spectrograms over six FFT sizes."""
  from ddsp_tf import spectral_ops  # pylint: disable=import-outside-toplevel
  distances = []
  for size in (2048, 1024, 512, 256, 128, 64):
    mags = [np.asarray(spectral_ops.compute_mag(x, size)) for x in
            (audio, audio_gen)]
    distances.append(np.mean(np.abs(mags[0] - mags[1])))
  return float(np.mean(distances))


def _metrics(batch: Dict[str, np.ndarray],
             audio_gen: np.ndarray) -> Dict[str, float]:
  """Loudness L1, f0 L1 and spectral distance of one batch."""
  # pylint: disable=import-outside-toplevel
  from ddsp_tf import spectral_ops
  from ddsp_tf.training import metrics
  # pylint: enable=import-outside-toplevel
  loudness_gen = np.asarray(spectral_ops.compute_loudness(
      audio_gen, 16000, FRAME_RATE, padding='same'))
  frames = loudness_gen.shape  # [batch, n_frames]
  loudness = np.abs(loudness_gen - np.reshape(batch['loudness_db'], frames))
  f0_gen, _ = spectral_ops.compute_f0(audio_gen, FRAME_RATE, padding='same',
                                      model_capacity='full')
  f0_dists = [metrics.f0_dist_conf_thresh(f0, gen, conf) for f0, gen, conf
              in zip(np.reshape(batch['f0_hz'], frames), f0_gen,
                     np.reshape(batch['f0_confidence'], frames))]
  f0_dists = [d for d in f0_dists if d is not None]
  return {'loudness_l1_db': float(np.mean(loudness)),
          'f0_l1_semitones': float(np.mean(f0_dists)),
          'spectral_distance': _spectral_distance(batch['audio'], audio_gen)}


def _evaluate(save_dir: Optional[str], eval_tfrecord: str
              ) -> List[Dict[str, float]]:
  """Rows: input re-analysed, then the model (restored if save_dir)."""
  # pylint: disable=import-outside-toplevel
  import gin
  from ddsp_tf.training import data
  from ddsp_tf.training import models
  from ddsp_tf.training import train_util
  from ddsp_tf.training import runner
  # pylint: enable=import-outside-toplevel
  gin.clear_config()
  gin.add_config_file_search_path(runner.package_gin_dir())
  gin.parse_config_file(train_util.get_latest_operative_config(save_dir))
  provider = data.TFRecordProvider(eval_tfrecord + '*',
                                   frame_rate=FRAME_RATE)
  dataset = provider.get_batch(4, shuffle=False, repeats=1)
  model = models.get_model()
  model.restore(save_dir)
  floor, trained = [], []
  for batch in dataset:
    outputs = model(batch, training=False)
    audio_gen = model.get_audio_from_outputs(outputs).numpy()
    numpy_batch = {key: value.numpy() for key, value in batch.items()}
    floor.append(_metrics(numpy_batch, numpy_batch['audio']))
    trained.append(_metrics(numpy_batch, audio_gen))
  return [_mean(floor), _mean(trained)]


def _mean(rows: List[Dict[str, float]]) -> Dict[str, float]:
  return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def run(steps: int = 600) -> None:
  """Prepares, trains, evaluates and prints the quality table.

  Args:
    steps: Training steps.
  """
  print(f'quality suite: {MODEL_CONFIG}, {TRAIN_SECS:.0f} s of test-made '
        f'audio, batch {BATCH_SIZE}, {steps} steps (load average at start: '
        '%.1f).' % os.getloadavg()[0], flush=True)
  with tempfile.TemporaryDirectory() as directory:
    paths = {name: os.path.join(directory, f'{name}.wav')
             for name in ('train', 'eval')}
    _write_audio(paths['train'], TRAIN_SECS, seed=0)
    _write_audio(paths['eval'], EVAL_SECS, seed=1)
    records = {name: os.path.join(directory, name, f'{name}.tfrecord')
               for name in paths}
    for name, path in paths.items():
      _prepare(path, records[name])
    save_dir = os.path.join(directory, 'run')
    train_secs = _train(records['train'], save_dir, steps)
    floor, trained = _evaluate(save_dir, records['eval'])
  print('| resynthesis of held-out audio | loudness L1 dB | f0 L1 semitones '
        '| spectral distance |')
  print('|---|---:|---:|---:|')
  for name, row in (('input re-analysed (measurement floor)', floor),
                    (f'trained {steps} steps ({train_secs / 60:.1f} min)',
                     trained)):
    print(f'| {name} | {row["loudness_l1_db"]:.2f} | '
          f'{row["f0_l1_semitones"]:.3f} | {row["spectral_distance"]:.4f} |',
          flush=True)
