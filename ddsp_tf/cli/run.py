r"""Train, evaluate or sample a ddsp_tf model (the `ddsp_tf_run` script).

Train a solo-instrument model on TFRecords from ddsp_tf_prepare_tfrecord:

  ddsp_tf_run --mode=train --save_dir=~/runs/violin \
    --gin_file=models/solo_instrument.gin --gin_file=datasets/tfrecord.gin \
    --gin_param="TFRecordProvider.file_pattern='data/train.tfrecord*'" \
    --gin_param=batch_size=16

Running the same command again resumes from the latest checkpoint. Evaluate
or sample the checkpoints of a run (only the dataset config is needed; the
model comes from the run's operative config):

  ddsp_tf_run --mode=eval --save_dir=~/runs/violin \
    --gin_file=datasets/tfrecord.gin --gin_file=eval/basic_f0_ld.gin \
    --gin_param="TFRecordProvider.file_pattern='data/test.tfrecord*'"

Gin files are found by name in the package's gin folder (models/...,
datasets/..., optimization/..., eval/..., papers/...), in the working
directory and in folders given with --gin_search_path. They are parsed in
this order, later bindings winning: optimization/base.gin (base_tpu.gin with
--tpu), eval/basic.gin, the latest operative_config-<step>.gin in
restore_dir, then each --gin_file and --gin_param. An unknown configurable,
a misspelt parameter or a missing file stops the run before anything is
built, with the gin search path in the message.
"""

import argparse
import logging
import sys
from typing import Optional, Sequence

# Importing the training package registers every configurable with gin.
import ddsp_tf.training  # pylint: disable=unused-import
from ddsp_tf import console_logging
from ddsp_tf.training import distribute
from ddsp_tf.training import runner
from ddsp_tf.training import train_util
from ddsp_tf.training import trainers

logger = logging.getLogger('ddsp_tf_run')


def _parse_bool(text: str) -> bool:
  """'true'/'false' (any case), '1'/'0', 'yes'/'no' as a bool."""
  lowered = text.strip().lower()
  if lowered in ('true', '1', 'yes'):
    return True
  if lowered in ('false', '0', 'no'):
    return False
  raise argparse.ArgumentTypeError(f'expected true or false, got {text!r}')


def build_parser() -> argparse.ArgumentParser:
  """The ddsp_tf_run flags (magenta/ddsp's ddsp_run flags plus a few)."""
  parser = argparse.ArgumentParser(
      prog='ddsp_tf_run', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  add = parser.add_argument

  def add_switch(flag: str, help_text: str) -> None:
    """An off-by-default flag: `--flag` or `--flag=true|false`."""
    add(flag, nargs='?', const=True, default=False, type=_parse_bool,
        help=help_text)

  add('--mode', choices=runner.MODES, default='train',
      help='Train the model, evaluate its checkpoints (metrics) or sample '
      'them (audio and plots). Default: train.')
  add('--save_dir', default='/tmp/ddsp',
      help='Run directory: checkpoints, operative gin configs and '
      'TensorBoard summaries. Default: /tmp/ddsp.')
  add('--restore_dir', default='',
      help='Directory to resume from (train) or to read checkpoints from '
      '(eval, sample); its latest operative config is parsed too. Default: '
      'save_dir.')
  add('--tpu', default='',
      help='TPU address (grpc://...) or name; selects TPUStrategy and '
      'optimization/base_tpu.gin.')
  add('--cluster_config', default='',
      help='TF_CONFIG-style JSON cluster description for multi-worker '
      'training (overrides the TF_CONFIG environment variable), e.g. '
      '\'{"cluster": {"worker": ["host0:2222", "host1:2222"]}, "task": '
      '{"type": "worker", "index": 0}}\'. Every worker runs the same '
      'command with its own task index; the chief (worker 0, or the "chief" '
      'task) alone writes checkpoints and summaries.')
  add('--strategy', choices=('',) + train_util.STRATEGIES, default='',
      help='Distribution strategy. Default: tpu with --tpu, multi_worker '
      'with --cluster_config, else default (one device). mirrored uses all '
      'local GPUs (or CPU devices); multi_worker (alias '
      'multi_worker_mirrored) trains across processes or machines described '
      'by --cluster_config or the TF_CONFIG environment variable.')
  add('--cluster_timeout_secs', type=float,
      default=distribute.DEFAULT_CLUSTER_TIMEOUT_SECS,
      help='multi_worker: seconds a worker waits for all the others to '
      'start before it fails. Default: %(default)g.')
  add_switch('--allow_memory_growth',
             'Let TensorFlow grow GPU memory as needed instead of taking it '
             'all up front (to share a GPU).')
  add('--early_stop_loss_value', type=float, default=None,
      help='Stop training once total_loss is at or below this value.')
  add('--nan_policy', choices=trainers.NAN_POLICIES, default=None,
      help='On a NaN or Inf loss: stop with an error naming the step, or '
      'skip the batch. Default: Trainer.nan_policy (stop).')
  add('--gin_search_path', action='append', default=[],
      help='Extra folder to look for gin files in (repeatable).')
  add('--gin_file', action='append', default=[],
      help='Gin config file, by path or by name in the search path, e.g. '
      'models/solo_instrument.gin (repeatable).')
  add('--gin_param', action='append', default=[],
      help='Gin binding, e.g. "train.num_steps=1000" (repeatable).')
  add_switch('--run_once',
             'eval/sample: process the latest checkpoint once and exit, '
             'instead of waiting for new checkpoints.')
  add('--initial_delay_secs', type=float, default=None,
      help='eval/sample: seconds to wait before starting.')
  add('--seed', type=int, default=None,
      help='Seed of TensorFlow\'s, numpy\'s and Python\'s random numbers: '
      'the weights\' initialisation, the shuffle of the data, the noise. '
      'Default: unseeded.')
  add_switch('--deterministic',
             'Run every op deterministically (needs --seed), so a rerun on '
             'the same machine and software trains the same weights bit for '
             'bit. Measured at the same speed on CPU; some GPU ops get '
             'slower.')
  console_logging.add_log_level_flag(parser)
  return parser


def settings_from_flags(args: argparse.Namespace) -> runner.RunSettings:
  """The RunSettings of parsed ddsp_tf_run flags."""
  return runner.RunSettings(
      mode=args.mode, save_dir=args.save_dir, restore_dir=args.restore_dir,
      gin_files=args.gin_file, gin_params=args.gin_param,
      gin_search_paths=args.gin_search_path, tpu=args.tpu,
      cluster_config=args.cluster_config, strategy=args.strategy,
      cluster_timeout_secs=args.cluster_timeout_secs,
      allow_memory_growth=args.allow_memory_growth,
      early_stop_loss_value=args.early_stop_loss_value,
      nan_policy=args.nan_policy, run_once=args.run_once,
      initial_delay_secs=args.initial_delay_secs, seed=args.seed,
      deterministic=args.deterministic)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs ddsp_tf_run with command-line arguments.

  Args:
    argv: Arguments without the program name; None reads sys.argv.

  Returns:
    The exit status: 0 on success, 1 for an error, 2 for bad usage.
  """
  parser = build_parser()
  args = parser.parse_args(argv)
  console_logging.configure(args.log_level)
  try:
    runner.run(settings_from_flags(args))
  except runner.StartupError as error:
    print(f'ddsp_tf_run: error: {error}', file=sys.stderr)
    return 2
  except (ValueError, FileNotFoundError, PermissionError,
          FloatingPointError, NotImplementedError,
          distribute.ClusterError) as error:
    logger.debug('Traceback:', exc_info=True)
    print(f'ddsp_tf_run: error: {type(error).__name__}: {error}',
          file=sys.stderr)
    return 1
  return 0


def console_entry_point() -> None:
  """The installed `ddsp_tf_run` console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
