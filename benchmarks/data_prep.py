"""Data-preparation benchmarks: `python -m benchmarks --suite=data_prep`.

Rows:
* throughput of prepare_tfrecord (audio seconds per wall second) with CREPE
  tiny and full, on the DirectRunner in-process (1 worker) and with 2 worker
  processes, and on the DaskRunner with a local cluster of 2 worker
  processes; whole jobs, worker (and cluster) start-up included;
* the other pitch paths on the DirectRunner in-process: SwiftF0
  (`f0_estimator='swiftf0'`) on 20 minutes of audio, target >= 30 audio-s/s,
  and CREPE full at its native 10 ms hop (`crepe_hop_ms=10`), target >= 0.3
  audio-s/s; each job is timed inside an already started process (imports
  done, the model not yet loaded), next to bare compute_f0 +
  compute_loudness on the same audio (warm) for the pipeline's overhead;
* the pipeline's overhead against bare compute_f0 + compute_loudness on the
  same 16 kHz audio in chunk_secs blocks (both warm: model loaded, Viterbi
  traced), target <= 25%;
* peak RSS of the console script on a one-hour file, target <= 2 GiB.

Settings are the defaults (4 s examples, 1 s hop, 20 s chunks, 250 Hz,
Viterbi) unless a row says otherwise. Inputs are harmonic tones with vibrato
written to a temporary directory as 44.1 kHz WAV.
"""

import dataclasses
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, Iterator, List, Optional

import numpy as np
import scipy.signal
import soundfile as sf

from data_prep import pipeline
from ddsp_tf import spectral_ops

FILE_RATE = 44100
FRAME_RATE = 250
CHUNK_SECS = 20.0
TARGET_OVERHEAD = 0.25
TARGET_RSS_GIB = 2.0
_WRITE_BLOCK_SECS = 60
_NAME_WIDTH = 78
# Runs a command as a child and prints the child's peak RSS (KiB on Linux),
# so that earlier children of the benchmark do not count.
_RSS_PROBE = ('import resource, subprocess, sys; '
              'code = subprocess.run(sys.argv[1:]).returncode; '
              'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); '
              'sys.exit(code)')


@dataclasses.dataclass
class Row:
  """One line of the table.

  Attributes:
    name: What was measured.
    audio_secs: Seconds of input audio.
    wall_secs: Wall time of the measured job.
    baseline_secs: Wall time of the baseline, if any.
    target: The target, in words.
    peak_rss_gib: Peak resident memory of the job, if measured.
  """
  name: str
  audio_secs: float
  wall_secs: float
  baseline_secs: Optional[float] = None
  target: str = ''
  peak_rss_gib: Optional[float] = None


def write_tone(path: str, seconds: float, sample_rate: int = FILE_RATE,
               base_hz: float = 220.0) -> None:
  """Writes a harmonic tone with vibrato, block by block (bounded memory).

  Args:
    path: Output file (the extension picks the format).
    seconds: Duration.
    sample_rate: Sample rate in Hz.
    base_hz: Centre pitch.
  """
  n_samples = int(seconds * sample_rate)
  block = _WRITE_BLOCK_SECS * sample_rate
  phase = 0.0
  with sf.SoundFile(path, 'w', sample_rate, 1) as sound_file:
    for start in range(0, n_samples, block):
      t = np.arange(start, min(start + block, n_samples)) / sample_rate
      f0 = base_hz * 2.0**(0.5 / 12 * np.sin(2 * np.pi * 0.3 * t))
      phases = phase + 2 * np.pi * np.cumsum(f0) / sample_rate
      phase = phases[-1]
      sound_file.write(sum(0.3 / k * np.sin(k * phases) for k in (1, 2, 3)))


def _timed(fn: Callable[[], object]) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def _prepare(inputs: List[str], output: str, capacity: str,
             workers: int, **pitch_args) -> Dict[str, object]:
  options = (['--direct_num_workers=2', '--direct_running_mode=multi_processing']
             if workers > 1 else [])
  return pipeline.prepare_tfrecord(inputs, output, model_capacity=capacity,
                                   frame_rate=FRAME_RATE, chunk_secs=CHUNK_SECS,
                                   pipeline_options=options, **pitch_args)


def _bare_features(audio_16k: List[np.ndarray], capacity: str,
                   **pitch_args) -> None:
  """compute_f0 + compute_loudness on each block, as the pipeline sets them."""
  for block in audio_16k:
    spectral_ops.compute_f0(block, FRAME_RATE, viterbi=True, padding='same',
                            model_capacity=capacity, **pitch_args)
    spectral_ops.compute_loudness(block, 16000, FRAME_RATE, n_fft=512,
                                  padding='same')


def _blocks_16k(paths: List[str]) -> List[np.ndarray]:
  """Each file at 16 kHz cut into non-overlapping chunk_secs blocks."""
  blocks = []
  for path in paths:
    audio, rate = sf.read(path)
    common = math.gcd(rate, 16000)
    audio_16k = scipy.signal.resample_poly(audio, 16000 // common,
                                           rate // common)
    step = int(CHUNK_SECS * 16000)
    blocks += [audio_16k[i:i + step] for i in range(0, len(audio_16k), step)]
  return blocks


def throughput_rows(directory: str, capacity: str, n_files: int,
                    seconds_per_file: float) -> Iterator[Row]:
  """Whole-job throughput with 1 and 2 workers, and the warm overhead.

  Args:
    directory: Where inputs and outputs go.
    capacity: CREPE capacity.
    n_files: Input files.
    seconds_per_file: Length of each.

  Yields:
    The rows, each as soon as it is measured.
  """
  inputs = []
  for index in range(n_files):
    inputs.append(os.path.join(directory, f'{capacity}_{index}.wav'))
    write_tone(inputs[-1], seconds_per_file, base_hz=180.0 + 40 * index)
  audio_secs = n_files * seconds_per_file
  for workers in (1, 2):
    output = os.path.join(directory, f'out_{capacity}_{workers}', 'x.tfrecord')
    wall = _timed(lambda: _prepare(inputs, output, capacity, workers))  # pylint: disable=cell-var-from-loop
    mode = 'in-process' if workers == 1 else 'multi_processing'
    yield Row(f'prepare_tfrecord {capacity}, {workers} worker(s) ({mode}), '
              'whole job', audio_secs, wall)
  # The DaskRunner on a local cluster of 2 worker processes, started and
  # shut down by the job (included in the time).
  output = os.path.join(directory, f'out_{capacity}_dask', 'x.tfrecord')
  wall = _timed(lambda: pipeline.prepare_tfrecord(
      inputs, output, model_capacity=capacity, frame_rate=FRAME_RATE,
      chunk_secs=CHUNK_SECS, pipeline_options=['--runner=DaskRunner'],
      dask_workers=2))
  yield Row(f'prepare_tfrecord {capacity}, DaskRunner, 2 worker processes, '
            'whole job', audio_secs, wall)
  # Warm: the in-process run above loaded the model and traced Viterbi for
  # these shapes; the baseline gets one untimed call for the same.
  blocks = _blocks_16k(inputs)
  _bare_features(blocks, capacity)
  bare = _timed(lambda: _bare_features(blocks, capacity))
  output = os.path.join(directory, f'out_{capacity}_warm', 'x.tfrecord')
  warm = _timed(lambda: _prepare(inputs, output, capacity, 1))
  yield Row(f'prepare_tfrecord {capacity}, 1 worker, warm, vs bare '
            'compute_f0 + compute_loudness', audio_secs, warm,
            baseline_secs=bare, target=f'overhead <= {TARGET_OVERHEAD:.0%}')


def estimator_rows(directory: str, name: str, n_files: int,
                   seconds_per_file: float, target: str,
                   **pitch_args) -> Iterator[Row]:
  """One pitch path: the job in-process, against bare features (warm).

  Args:
    directory: Where inputs and outputs go.
    name: Row label, e.g. 'swiftf0'.
    n_files: Input files.
    seconds_per_file: Length of each.
    target: The target, in words.
    **pitch_args: prepare_tfrecord's f0_estimator, crepe_hop_ms and
      model_capacity.

  Yields:
    The row; with crepe_hop_ms, also bare features with CREPE at the frame
    hop.
  """
  capacity = pitch_args.pop('model_capacity', 'full')
  inputs = []
  for index in range(n_files):
    inputs.append(os.path.join(directory, f'{name}_{index}.wav'))
    write_tone(inputs[-1], seconds_per_file, base_hz=180.0 + 40 * index)
  audio_secs = n_files * seconds_per_file
  output = os.path.join(directory, f'out_{name}', 'x.tfrecord')
  wall = _timed(lambda: _prepare(inputs, output, capacity, 1, **pitch_args))
  blocks = _blocks_16k(inputs)
  bare = _timed(lambda: _bare_features(blocks, capacity, **pitch_args))
  yield Row(f'prepare_tfrecord {name}, 1 worker, started process, vs bare',
            audio_secs, wall, baseline_secs=bare, target=target)
  if 'crepe_hop_ms' in pitch_args:
    # The same features with CREPE at the frame hop, in the same run.
    at_frame_rate = dict(pitch_args, crepe_hop_ms=None)
    reference = _timed(lambda: _bare_features(blocks, capacity,
                                              **at_frame_rate))
    yield Row(f'bare features, crepe {capacity} at {FRAME_RATE} frames/s '
              '(no crepe_hop_ms), for comparison', audio_secs, reference)


def peak_rss_row(directory: str, hours: float, capacity: str,
                 frame_rate: int) -> Row:
  """Peak RSS of the console script on one long file.

  Args:
    directory: Where the input and output go.
    hours: Length of the file.
    capacity: CREPE capacity.
    frame_rate: Feature frame rate.

  Returns:
    The row.
  """
  path = os.path.join(directory, 'long.wav')
  write_tone(path, hours * 3600)
  output = os.path.join(directory, 'out_long', 'x.tfrecord')
  command = [sys.executable, '-m', 'data_prep.cli',
             f'--input_audio_filepatterns={path}',
             f'--output_tfrecord_path={output}',
             f'--model_capacity={capacity}', f'--frame_rate={frame_rate}',
             '--log_level=WARNING']
  start = time.perf_counter()
  result = subprocess.run([sys.executable, '-c', _RSS_PROBE, *command],
                          capture_output=True, text=True, check=True)
  wall = time.perf_counter() - start
  peak_kib = int(result.stdout.strip().splitlines()[-1])
  os.remove(path)
  return Row(f'ddsp_tf_prepare_tfrecord {capacity}, {frame_rate} Hz, '
             f'{hours:g} h file, 1 worker (process incl. start-up)',
             hours * 3600, wall, target=f'RSS <= {TARGET_RSS_GIB:g} GiB',
             peak_rss_gib=peak_kib / 2**20)


def print_header() -> None:
  """Prints the table header."""
  print(f'| {"case":<{_NAME_WIDTH}} | audio s | wall s | audio-s/s | '
        'baseline s | overhead | peak RSS GiB | target |')
  print(f'|{"-" * (_NAME_WIDTH + 2)}|---------|--------|-----------|'
        '------------|----------|--------------|--------|')


def print_row(row: Row) -> None:
  """Prints one row as soon as it is measured."""
  baseline = overhead = rss = ''
  if row.baseline_secs is not None:
    baseline = f'{row.baseline_secs:.1f}'
    overhead = f'{row.wall_secs / row.baseline_secs - 1:+.0%}'
  if row.peak_rss_gib is not None:
    rss = f'{row.peak_rss_gib:.2f}'
  print(f'| {row.name:<{_NAME_WIDTH}} | {row.audio_secs:7.0f} | '
        f'{row.wall_secs:6.1f} | {row.audio_secs / row.wall_secs:9.2f} | '
        f'{baseline:>10} | {overhead:>8} | {rss:>12} | {row.target} |',
        flush=True)


# name -> (n_files, seconds per file, target, prepare_tfrecord arguments).
ESTIMATOR_CASES = {
    'swiftf0': (4, 300.0, '>= 30 audio-s/s', {'f0_estimator': 'swiftf0'}),
    'crepe full 10 ms hop': (2, 6.0, '>= 0.3 audio-s/s',
                             {'model_capacity': 'full', 'crepe_hop_ms': 10.0}),
}


def run(rss_hours: float = 1.0, rss_frame_rate: int = 50,
        only: str = '') -> None:
  """Measures and prints the data-preparation rows.

  Args:
    rss_hours: Length of the file for the peak-RSS row.
    rss_frame_rate: Frame rate of the peak-RSS row (lower is faster).
    only: Run only the groups whose name contains this text: 'crepe tiny',
      'crepe full', 'swiftf0', 'crepe full 10 ms hop', 'peak rss'
      ('' runs all).
  """
  print('data_prep suite: whole jobs unless a row says warm; other processes '
        'on the machine slow every row (load average 1/5/15 min: %.1f %.1f '
        '%.1f at start).' % os.getloadavg())
  print_header()
  with tempfile.TemporaryDirectory() as directory:
    for capacity, n_files, seconds in (('tiny', 4, 15.0), ('full', 2, 6.0)):
      if only in f'crepe {capacity}':
        for row in throughput_rows(directory, capacity, n_files, seconds):
          print_row(row)
    for name, (n_files, seconds, target, pitch_args) in (
        ESTIMATOR_CASES.items()):
      if only in name:
        for row in estimator_rows(directory, name, n_files, seconds, target,
                                  **pitch_args):
          print_row(row)
    if only in 'peak rss':
      print_row(peak_rss_row(directory, rss_hours, 'tiny', rss_frame_rate))
  print('load average at end: %.1f %.1f %.1f' % os.getloadavg())
