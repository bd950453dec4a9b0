"""Inference benchmarks: an exported SavedModel resynthesizing 10 s of audio.

`python -m benchmarks --suite=inference` exports an untrained checkpoint of
each model config (speed does not depend on the weights) and reports real-
time factors (wall seconds per audio second; 0.02 = 50x faster than real
time) for:

* `serving_default` from features (f0 and loudness), warm; target <= 0.02;
* end to end from audio: `transfer_app.compute_features` (CREPE tiny or full,
  with Viterbi, and loudness) followed by the same resynthesis.
"""

import os
import tempfile
import time
from typing import Callable, Dict, List, Tuple

import numpy as np

TARGET_RTF = 0.02
SECONDS = 10.0
SAMPLE_RATE = 16000
REPEATS = 5
# (config, the feature frame rate it reads).
CONFIGS = (('models/solo_instrument_cpu.gin', 50),
           ('models/solo_instrument.gin', 250))


def _make_run(config: str, frame_rate: int, save_dir: str) -> None:
  """Writes an operative config and a step-0 checkpoint of `config`."""
  # pylint: disable=import-outside-toplevel
  import gin
  import tensorflow as tf
  from ddsp_tf.training import models
  from ddsp_tf.training import train_util
  from ddsp_tf.training import runner
  # pylint: enable=import-outside-toplevel
  gin.clear_config()
  gin.add_config_file_search_path(runner.package_gin_dir())
  gin.parse_config_file(config)
  model = models.get_model()
  n_frames = int(4 * frame_rate)
  zeros = tf.zeros([1, n_frames])
  model({'audio': tf.zeros([1, 4 * SAMPLE_RATE]), 'f0_hz': zeros + 220.0,
         'loudness_db': zeros - 30.0}, training=False)
  train_util.write_gin_config(None, save_dir, 0)
  tf.train.Checkpoint(model=model).write(os.path.join(save_dir, 'ckpt-0'))
  gin.clear_config()


def _median_secs(fn: Callable[[], object]) -> float:
  fn()
  durations = []
  for _ in range(REPEATS):
    start = time.perf_counter()
    fn()
    durations.append(time.perf_counter() - start)
  return float(np.median(durations))


def _test_audio() -> np.ndarray:
  """10 s of a harmonic tone gliding over an octave, [n_samples]."""
  t = np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
  f0 = 220.0 * 2.0 ** (t / SECONDS)
  phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
  return (0.3 * sum(np.sin(k * phase) / k for k in range(1, 6))).astype(
      np.float32)


def measure(config: str, frame_rate: int) -> List[Tuple[str, float]]:
  """(case, real-time factor) rows of one config."""
  # pylint: disable=import-outside-toplevel
  from ddsp_tf.apps import export
  from ddsp_tf.apps import timbre_transfer as transfer_app
  # pylint: enable=import-outside-toplevel
  rows = []
  with tempfile.TemporaryDirectory() as directory:
    save_dir = os.path.join(directory, 'run')
    _make_run(config, frame_rate, save_dir)
    export_dir = export.export_model(save_dir,
                                     os.path.join(directory, 'export'))
    model = transfer_app.load_model(export_dir)
    audio = _test_audio()
    n_frames = int(SECONDS * frame_rate)
    f0 = np.full([n_frames], 330.0, np.float32)
    loudness = np.full([n_frames], -25.0, np.float32)
    seconds = _median_secs(lambda: model.resynthesize(f0, loudness))
    rows.append((f'{config}: SavedModel resynthesis from features',
                 seconds / SECONDS))
    for capacity in ('tiny', 'full'):
      def end_to_end(capacity=capacity):
        features = transfer_app.compute_features(
            audio, SAMPLE_RATE, model.sample_rate, model.frame_rate,
            model_capacity=capacity)
        return model.resynthesize(features['f0_hz'], features['loudness_db'])
      start = time.perf_counter()
      end_to_end()
      rows.append((f'{config}: end to end, CREPE {capacity} + resynthesis',
                   (time.perf_counter() - start) / SECONDS))
  return rows


def run() -> Dict[str, float]:
  """Measures and prints every row.

  Returns:
    {case: real-time factor}.
  """
  print(f'inference suite: {SECONDS:g} s of audio, untrained exports; RTF = '
        'wall s per audio s (lower is faster); resynthesis is the median of '
        f'{REPEATS} warm calls, end to end one call after warm-up of the '
        'model (load average at start: %.1f).' % os.getloadavg()[0])
  print('| case | RTF | x real time | target |')
  print('|---|---:|---:|---|')
  results = {}
  for config, frame_rate in CONFIGS:
    for name, rtf in measure(config, frame_rate):
      target = (f'RTF <= {TARGET_RTF:g}' if 'from features' in name else '')
      print(f'| {name} | {rtf:.3f} | {1 / rtf:.1f}x | {target} |',
            flush=True)
      results[name] = rtf
  return results
