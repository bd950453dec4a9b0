"""Training benchmarks: steps/s, CPU use and peak memory of solo_instrument.

`python -m benchmarks --suite=training` trains models/solo_instrument.gin
(4-second examples at 16 kHz, 250 frames per second, the full-size decoder
and the 3-second learned reverb) on an in-memory batch of test-made audio,
so the data pipeline costs nothing. Each row runs in its own process, so its
peak RSS is its own, and reports:

* steps/s over the timed steps (after warm-up steps that trace and, with
  XLA, compile);
* CPU use: process CPU time / wall time over the timed steps, in percent
  (200% = both cores of a 2-core machine busy); target >= 180%;
* peak RSS of the process, TensorFlow's own footprint included;
* for the XLA rows, the speed-up against tf.function at the same batch
  size, measured in the same run; target >= 1.5x.

A second table compares the step with the step as it was before the
speed-ups of issue 19, i.e. with SpectralLoss's term-by-term path
(`cases.TermByTermSpectralLoss`) instead of its fused magnitude terms and
with tf.cumsum summing the oscillators' phase instead of
`core.time_cumsum`'s XLA loop (the same numbers). Both
trainers share one model in one process and their steps alternate, so load
changes on a shared machine hit both alike; target >= 1.3x.
"""

import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np

TARGET_CPU_PERCENT = 180.0
TARGET_XLA_SPEEDUP = 1.5
TARGET_BEFORE_SPEEDUP = 1.3
# (batch size, jit_compile, timed steps per trainer) against before.
BEFORE_CASES = ((16, False, 5),)
MODEL_CONFIG = 'models/solo_instrument.gin'
SAMPLE_RATE = 16000
N_SAMPLES = 64000
N_FRAMES = 1000
# (batch size, jit_compile, timed steps).
CASES = ((16, False, 6), (16, True, 6), (1, False, 30), (1, True, 30))
WARMUP_STEPS = 2
# ddsp_tf's named speed options that change the numbers (README's
# differences table), compared with the defaults in their own table.
SPEED_OPTIONS = ('Harmonic.crossfade_amplitudes = True',)


@dataclasses.dataclass
class Result:
  """One measured training configuration."""
  batch_size: int
  jit_compile: bool
  steps_per_sec: float
  cpu_percent: float
  peak_rss_gib: float


def make_batch(batch_size: int) -> Dict[str, np.ndarray]:
  """A batch of 4-second harmonic tones with their f0 and loudness.

  Args:
    batch_size: Number of examples.

  Returns:
    {'audio': [batch, 64000], 'f0_hz': [batch, 1000, 1],
    'loudness_db': [batch, 1000, 1]}, float32.
  """
  # Imported here so the parent process that prints the table stays light.
  from ddsp_tf import spectral_ops  # pylint: disable=import-outside-toplevel
  t = np.arange(N_SAMPLES) / SAMPLE_RATE
  f0 = 220.0 * 2.0 ** (np.arange(batch_size)[:, None] / 12.0)
  envelope = np.minimum(1.0, 4.0 * t) * np.exp(-0.3 * t)
  audio = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 9))
  audio = (audio * envelope).astype(np.float32)
  loudness = spectral_ops.compute_loudness(audio, SAMPLE_RATE, 250,
                                           padding='same')
  f0_frames = np.broadcast_to(f0[:, :, None], (batch_size, N_FRAMES, 1))
  return {'audio': audio,
          'f0_hz': f0_frames.astype(np.float32),
          'loudness_db': np.asarray(loudness, np.float32)[:, :, None]}


def _cpu_seconds() -> float:
  usage = resource.getrusage(resource.RUSAGE_SELF)
  return usage.ru_utime + usage.ru_stime


def measure(batch_size: int, jit_compile: bool, steps: int) -> Result:
  """Trains solo_instrument for `steps` timed steps in this process.

  Args:
    batch_size: Examples per step.
    jit_compile: Compile the forward and backward pass with XLA.
    steps: Timed steps (after WARMUP_STEPS untimed ones).

  Returns:
    The measurement.
  """
  # pylint: disable=import-outside-toplevel
  import gin
  import tensorflow as tf
  from ddsp_tf.training import models
  from ddsp_tf.training import trainers
  from ddsp_tf.training import runner
  # pylint: enable=import-outside-toplevel
  gin.add_config_file_search_path(runner.package_gin_dir())
  gin.parse_config_file(MODEL_CONFIG)
  strategy = tf.distribute.get_strategy()
  model = models.get_model()
  trainer = trainers.Trainer(model, strategy, jit_compile=jit_compile)
  batch = {key: tf.constant(value)
           for key, value in make_batch(batch_size).items()}
  trainer.build(batch)
  for _ in range(WARMUP_STEPS):
    trainer.train_step(batch)['total_loss'].numpy()
  cpu_start, wall_start = _cpu_seconds(), time.perf_counter()
  for _ in range(steps):
    trainer.train_step(batch)['total_loss'].numpy()
  wall = time.perf_counter() - wall_start
  cpu = _cpu_seconds() - cpu_start
  peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return Result(batch_size, jit_compile, steps / wall, 100.0 * cpu / wall,
                peak_kib / 2**20)


@dataclasses.dataclass
class StepComparison:
  """Median step times now and with the computation paths of before."""
  batch_size: int
  jit_compile: bool
  step_s: float
  before_s: float


def _alternate_steps(trainer_list, batch, steps: int,
                     jit_compile: bool) -> StepComparison:
  """Median step times of two trainers whose timed steps alternate."""
  import statistics  # pylint: disable=import-outside-toplevel
  durations = ([], [])
  for _ in range(steps):
    for trainer, times in zip(trainer_list, durations):
      start = time.perf_counter()
      trainer.train_step(batch)['total_loss'].numpy()
      times.append(time.perf_counter() - start)
  batch_size = int(next(iter(batch.values())).shape[0])
  return StepComparison(batch_size, jit_compile,
                        statistics.median(durations[0]),
                        statistics.median(durations[1]))


def compare_with_before(batch_size: int, jit_compile: bool,
                        steps: int) -> StepComparison:
  """Alternates steps of today's trainer and one with the old loss path.

  Args:
    batch_size: Examples per step.
    jit_compile: Compile the forward and backward pass with XLA.
    steps: Timed steps of each trainer (after WARMUP_STEPS untimed ones).

  Returns:
    The median step times.
  """
  # pylint: disable=import-outside-toplevel
  import gin
  import tensorflow as tf
  from benchmarks import cases
  from ddsp_tf.core import numerics
  from ddsp_tf.training import models
  from ddsp_tf.training import trainers
  from ddsp_tf.training import runner
  # pylint: enable=import-outside-toplevel
  gin.add_config_file_search_path(runner.package_gin_dir())
  gin.parse_config_file(MODEL_CONFIG)
  strategy = tf.distribute.get_strategy()
  model = models.get_model()
  batch = {key: tf.constant(value)
           for key, value in make_batch(batch_size).items()}
  fused_losses = list(model.loss_objs)
  term_by_term_losses = [
      cases.TermByTermSpectralLoss.from_config(loss.get_config())
      for loss in fused_losses]
  trainer_list = []
  # Each trainer traces its step with the losses the model holds then (set
  # past Keras's attribute tracking, which refuses new layers once built).
  # The old trainer's step is traced with tf.cumsum for the phase (the
  # loop's size threshold out of reach while it traces).
  loop_threshold = numerics._SEQUENTIAL_MIN_ELEMENTS  # pylint: disable=protected-access
  for loss_objs, threshold in ((fused_losses, loop_threshold),
                               (term_by_term_losses, np.inf)):
    object.__setattr__(model, 'loss_objs', loss_objs)
    numerics._SEQUENTIAL_MIN_ELEMENTS = threshold  # pylint: disable=protected-access
    trainer = trainers.Trainer(model, strategy, jit_compile=jit_compile)
    trainer.build(batch)
    for _ in range(WARMUP_STEPS):
      trainer.train_step(batch)['total_loss'].numpy()
    trainer_list.append(trainer)
  numerics._SEQUENTIAL_MIN_ELEMENTS = loop_threshold  # pylint: disable=protected-access
  object.__setattr__(model, 'loss_objs', fused_losses)
  return _alternate_steps(trainer_list, batch, steps, jit_compile)


def compare_with_options(batch_size: int, jit_compile: bool,
                         steps: int) -> StepComparison:
  """Alternates steps of the default model and one with speed options.

  The options are ddsp_tf's named, non-default ones that change the numbers
  (the README's differences table): the harmonic synthesizer's
  crossfade_amplitudes. Both models start from the same weights.

  Args:
    batch_size: Examples per step.
    jit_compile: Compile the forward and backward pass with XLA.
    steps: Timed steps of each trainer (after WARMUP_STEPS untimed ones).

  Returns:
    The median step times: step_s with the options, before_s without.
  """
  # pylint: disable=import-outside-toplevel
  import gin
  import tensorflow as tf
  from ddsp_tf.training import models
  from ddsp_tf.training import trainers
  from ddsp_tf.training import runner
  # pylint: enable=import-outside-toplevel
  gin.add_config_file_search_path(runner.package_gin_dir())
  strategy = tf.distribute.get_strategy()
  batch = {key: tf.constant(value)
           for key, value in make_batch(batch_size).items()}
  trainer_list = []
  for options in (SPEED_OPTIONS, ()):
    gin.clear_config()
    gin.parse_config_files_and_bindings([MODEL_CONFIG], list(options))
    model = models.get_model()
    trainer = trainers.Trainer(model, strategy, jit_compile=jit_compile)
    trainer.build(batch)
    if trainer_list:
      for mine, theirs in zip(model.weights, trainer_list[0].model.weights):
        mine.assign(theirs)
    for _ in range(WARMUP_STEPS):
      trainer.train_step(batch)['total_loss'].numpy()
    trainer_list.append(trainer)
  return _alternate_steps(trainer_list, batch, steps, jit_compile)


def _measure_in_child(batch_size: int, jit_compile: bool,
                      steps: int) -> Result:
  """Runs `measure` in a fresh process, so peak RSS is per row."""
  command = [sys.executable, '-m', 'benchmarks.training', str(batch_size),
             str(int(jit_compile)), str(steps)]
  output = subprocess.run(command, capture_output=True, text=True,
                          check=True).stdout
  return Result(**json.loads(output.strip().splitlines()[-1]))


def run() -> List[Result]:
  """Measures every case and prints the table.

  Returns:
    The results, in CASES order.
  """
  print(f'training suite: {MODEL_CONFIG}, 4 s examples at 16 kHz, in-memory '
        'batch, each row in its own process (load average at start: '
        '%.1f).' % os.getloadavg()[0])
  print('| batch | compile | steps/s | examples/s | CPU % | peak RSS GiB | '
        'XLA speed-up |')
  print('|------:|---------|--------:|-----------:|------:|-------------:|'
        '-------------:|')
  results = []
  plain_rate = {}
  for batch_size, jit_compile, steps in CASES:
    result = _measure_in_child(batch_size, jit_compile, steps)
    results.append(result)
    speedup = ''
    if jit_compile:
      speedup = f'{result.steps_per_sec / plain_rate[batch_size]:.2f}x'
    else:
      plain_rate[batch_size] = result.steps_per_sec
    compile_name = 'XLA' if jit_compile else 'tf.function'
    print(f'| {batch_size:5d} | {compile_name:<11} | '
          f'{result.steps_per_sec:7.2f} | '
          f'{result.steps_per_sec * batch_size:10.1f} | '
          f'{result.cpu_percent:5.0f} | {result.peak_rss_gib:12.2f} | '
          f'{speedup:>12} |', flush=True)
  print(f'targets: CPU >= {TARGET_CPU_PERCENT:.0f}% on 2 cores; XLA >= '
        f'{TARGET_XLA_SPEEDUP:g}x tf.function.')
  run_comparison_with_before()
  run_comparison_with_options()
  return results


def _run_comparisons(mode: str, title: str,
                     other: str) -> List[StepComparison]:
  """Runs `python -m benchmarks.training <mode> ...` per BEFORE_CASES.

  Args:
    mode: 'before' or 'options' (compare_with_before, compare_with_options).
    title: The table's title line.
    other: The heading of the other step's column.

  Returns:
    The comparisons, in BEFORE_CASES order.
  """
  print(title)
  print(f'| batch | compile | step s | {other} | speed-up |')
  print(f'|------:|---------|-------:|{"-" * (len(other) + 1)}:|---------:|')
  comparisons = []
  for batch_size, jit_compile, steps in BEFORE_CASES:
    command = [sys.executable, '-m', 'benchmarks.training', mode,
               str(batch_size), str(int(jit_compile)), str(steps)]
    output = subprocess.run(command, capture_output=True, text=True,
                            check=True).stdout
    comparison = StepComparison(**json.loads(output.strip().splitlines()[-1]))
    comparisons.append(comparison)
    compile_name = 'XLA' if jit_compile else 'tf.function'
    print(f'| {batch_size:5d} | {compile_name:<11} | '
          f'{comparison.step_s:6.2f} | {comparison.before_s:{len(other)}.2f} | '
          f'{comparison.before_s / comparison.step_s:7.2f}x |', flush=True)
  return comparisons


def run_comparison_with_options() -> List[StepComparison]:
  """Prints the table of step times with SPEED_OPTIONS against without."""
  return _run_comparisons(
      'options', f'Training step with the speed options {list(SPEED_OPTIONS)} '
      'against the defaults (alternating steps, median):', 'step s default')


def run_comparison_with_before() -> List[StepComparison]:
  """Prints the table of step times now against before."""
  comparisons = _run_comparisons(
      'before', 'Training step now against before (term-by-term '
      'SpectralLoss, tf.cumsum phase; same model, alternating steps, '
      'median):',
      'step s before')
  print(f'target: >= {TARGET_BEFORE_SPEEDUP:g}x.')
  return comparisons


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  if sys.argv[1] in ('before', 'options'):
    compare = (compare_with_before if sys.argv[1] == 'before'
               else compare_with_options)
    print(json.dumps(dataclasses.asdict(compare(
        int(sys.argv[2]), bool(int(sys.argv[3])), int(sys.argv[4])))))
  else:
    print(json.dumps(dataclasses.asdict(measure(
        int(sys.argv[1]), bool(int(sys.argv[2])), int(sys.argv[3])))))
