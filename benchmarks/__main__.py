"""Prints the ddsp_tf benchmark table: `python -m benchmarks [--repeats N]`."""

import argparse
import datetime
import os
import platform

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # pylint: disable=wrong-import-position

from benchmarks import cases as benchmark_cases  # pylint: disable=wrong-import-position
from benchmarks import inference  # pylint: disable=wrong-import-position
from benchmarks import inverse_synthesis  # pylint: disable=wrong-import-position
from benchmarks import paper_demos  # pylint: disable=wrong-import-position
from benchmarks import quality  # pylint: disable=wrong-import-position
from benchmarks import timing  # pylint: disable=wrong-import-position
from benchmarks import training  # pylint: disable=wrong-import-position
from benchmarks import vst  # pylint: disable=wrong-import-position

SUITES = ('core', 'data_prep', 'training', 'quality', 'inference',
          'paper_demos', 'vst', 'inverse_synthesis')


def _machine() -> str:
  gpus = tf.config.list_physical_devices('GPU')
  device = f'{len(gpus)} GPU(s)' if gpus else 'CPU only'
  return (f'{platform.processor() or platform.machine()}, {os.cpu_count()} '
          f'cores, {device}, TF {tf.__version__}')


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--repeats', type=int, default=10,
                      help='Timed calls per case; the median is reported.')
  parser.add_argument('--filter', default='',
                      help='Only run cases whose name contains this text.')
  parser.add_argument(
      '--suite', choices=SUITES + ('all',), default='core',
      help='core: the DSP cases (quick, the default); data_prep: the '
      'dataset-preparation pipeline (CREPE tiny and full, 1 and 2 workers, '
      'overhead, peak RSS on a one-hour file; about 40 minutes on 2 shared '
      'cores, half of it the one-hour file, see --rss_hours); training: '
      'solo_instrument steps/s at batch 16 and 1, with and without XLA, CPU '
      'use and peak memory (about 10 minutes); quality: prepare, train and '
      'measure the resynthesis of test-made audio (about 30 minutes with '
      'the default --quality_steps); inference: exported SavedModel '
      'resynthesis of 10 s from features and end to end with CREPE tiny and '
      'full, as real-time factors (about 5 minutes); paper_demos: the '
      'measured pitch and loudness control, extrapolation, learned room and '
      'room transfer of a model trained on test-made audio (about 5 '
      'minutes); vst: the DDSP-VST plugin model\'s TFLite time per 20 ms '
      'hop on one thread and the streaming player\'s real-time factor '
      '(about 1 minute); inverse_synthesis: pre-training of ICML 2020\'s '
      'InverseSynthesis at a small size, held-out f0 error every '
      '--inverse_eval_every steps (about 10 minutes per seed with the '
      'default --inverse_steps); all: every '
      'suite.')
  parser.add_argument('--rss_hours', type=float, default=1.0,
                      help='data_prep suite: length of the peak-RSS input.')
  parser.add_argument('--quality_steps', type=int, default=600,
                      help='quality suite: training steps.')
  parser.add_argument('--inverse_steps', type=int, default=1500,
                      help='inverse_synthesis suite: training steps.')
  parser.add_argument('--inverse_seeds', type=int, nargs='+', default=[0],
                      help='inverse_synthesis suite: one pre-training per '
                      'seed (initial weights, batch order and notes).')
  parser.add_argument('--inverse_size', default='small',
                      choices=tuple(inverse_synthesis.SIZES),
                      help="inverse_synthesis suite: 'small' (1 s, 64 mel "
                      "bins, the tests' size) or 'tiny' (0.5 s, 32 mel "
                      "bins, about half the time a step).")
  parser.add_argument('--inverse_eval_every', type=int, default=250,
                      help='inverse_synthesis suite: steps between held-out '
                      'evaluations.')
  args = parser.parse_args()

  print(f'ddsp_tf benchmarks, {datetime.date.today().isoformat()}, '
        f'{_machine()}')
  if args.suite in ('core', 'all'):
    _run_core(args)
  if args.suite in ('data_prep', 'all'):
    # Imported here: it needs the [data] extra (apache-beam).
    from benchmarks import data_prep  # pylint: disable=import-outside-toplevel
    data_prep.run(rss_hours=args.rss_hours, only=args.filter)
  if args.suite in ('training', 'all'):
    training.run()
  if args.suite in ('quality', 'all'):
    quality.run(steps=args.quality_steps)
  if args.suite in ('inference', 'all'):
    inference.run()
  if args.suite in ('paper_demos', 'all'):
    paper_demos.run()
  if args.suite in ('vst', 'all'):
    vst.run()
  if args.suite in ('inverse_synthesis', 'all'):
    for seed in args.inverse_seeds:
      inverse_synthesis.run(steps=args.inverse_steps, seed=seed,
                            eval_every=args.inverse_eval_every,
                            size=args.inverse_size)


def _format_factor(factor: float) -> str:
  """Whole numbers for fast cases, two decimals below ten."""
  return f'{factor:.0f}' if factor >= 10 else f'{factor:.2f}'


def _run_core(args: argparse.Namespace) -> None:
  """Times the DSP cases."""
  print(f'median of {args.repeats} calls after warm-up; RTF = audio seconds '
        'per wall second; ratio = baseline time / our time, same run, '
        'the two timed in turns.')
  selected = [case for case in benchmark_cases.all_cases()
              if args.filter in case.name]
  width = max(len(case.name) for case in selected)
  header = (f'| {"case":<{width}} | {"ms":>9} | {"RTF":>8} | {"baseline ms":>11} '
            f'| {"ratio":>6} | {"target ms":>9} |')
  print(header)
  print('|' + '|'.join('-' * (len(col)) for col in header.split('|')[1:-1])
        + '|')
  for case in selected:
    baseline_ms, ratio = '', ''
    if case.baseline is None:
      ours = timing.time_callable(case.fn, repeats=args.repeats)
    else:
      # In turns, so that the load of a shared machine hits both alike.
      ours, base = timing.time_interleaved([case.fn, case.baseline],
                                           repeats=args.repeats)
      baseline_ms = f'{base.median_ms:.1f}'
      ratio = f'{base.median_ms / ours.median_ms:.2f}x'
    real_time_factor = case.audio_seconds / (ours.median_ms / 1000.0)
    target = '' if case.target_ms is None else f'{case.target_ms:.0f}'
    print(f'| {case.name:<{width}} | {ours.median_ms:>9.1f} | '
          f'{_format_factor(real_time_factor):>7}x | {baseline_ms:>11} | {ratio:>6} | '
          f'{target:>9} |', flush=True)


if __name__ == '__main__':
  main()
