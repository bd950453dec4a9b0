r"""Train a solo-instrument model in a container (magenta/ddsp's docker task).

The original's AI Platform containers run this module as their entry point:

  python -m ddsp_tf.training.docker.task --save_dir=gs://bucket/run \
    --file_pattern='gs://bucket/data/train.tfrecord*'

It trains `models/solo_instrument.gin` on `datasets/tfrecord.gin` with the
flags below as gin bindings, through `ddsp_tf.training.runner.run` in this
process. In a multi-worker cluster (TF_CONFIG with more than one entry in
its cluster), `get_worker_behavior_info` passes TF_CONFIG on as the cluster
config, and only the chief writes to --save_dir: other workers write their
(discarded) checkpoints to a temporary folder. gs:// gin files are
downloaded first.

Not supported yet: --hypertune (ddsp_tf's training loop does not report to
AI Platform's hyperparameter tuning); it stops with an error instead.

Exit status: 0 on success, 1 for a training error, 2 for bad usage.
"""

import argparse
import json
import os
import sys
import tempfile
from typing import List, Optional, Sequence, Tuple

from ddsp_tf.training import runner

PROG = 'ddsp_tf.training.docker.task'


def get_worker_behavior_info(save_dir: str) -> Tuple[str, str]:
  """The cluster config and save_dir of this worker, from TF_CONFIG.

  Args:
    save_dir: The run directory the user asked for.

  Returns:
    (cluster_config, save_dir): TF_CONFIG and save_dir when TF_CONFIG
    describes a cluster of several jobs ('' as save_dir unless this task is
    the chief); ('', save_dir) when TF_CONFIG is unset, has no 'cluster' or
    'task', or a cluster of one job.

  Raises:
    ValueError: If TF_CONFIG is not a JSON object.
  """
  cluster_config = os.environ.get('TF_CONFIG', '')
  if not cluster_config:
    return '', save_dir
  try:
    config = json.loads(cluster_config)
  except json.JSONDecodeError as error:
    raise ValueError(f'TF_CONFIG is not valid JSON ({error}): '
                     f'{cluster_config!r}.') from None
  if not isinstance(config, dict):
    raise ValueError(
        f'TF_CONFIG must be a JSON object, got {cluster_config!r}.')
  if ('cluster' not in config or 'task' not in config or
      len(config['cluster']) <= 1):
    return '', save_dir
  if config['task'].get('type') != 'chief':
    save_dir = ''
  return cluster_config, save_dir


def parse_list_params(list_of_params: Sequence[str],
                      param_name: str) -> List[str]:
  """['--param_name=value', ...], one flag per value."""
  return [f'--{param_name}={param}' for param in list_of_params]


def build_parser() -> argparse.ArgumentParser:
  """The task's flags (the original's, same defaults)."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  add = parser.add_argument
  add('--save_dir', required=True, help='Run directory (checkpoints, '
      'summaries, operative configs).')
  add('--restore_dir', default='', help='Directory to resume from; default '
      'save_dir.')
  add('--file_pattern', required=True, help='TFRecord shards to train on.')
  add('--batch_size', type=int, default=32, help='Default: 32.')
  add('--learning_rate', type=float, default=0.003, help='Default: 0.003.')
  add('--num_steps', type=int, default=30000, help='Default: 30000.')
  add('--early_stop_loss_value', type=float, default=0.0,
      help='Stop once total_loss is at or below this. Default: 0.')
  add('--steps_per_summary', type=int, default=300, help='Default: 300.')
  add('--steps_per_save', type=int, default=300, help='Default: 300.')
  add('--hypertune', action='store_true',
      help='Report to AI Platform hyperparameter tuning (not supported yet).')
  add('--gin_search_path', action='append', default=[],
      help='Extra gin search folder (repeatable).')
  add('--gin_file', action='append', default=[],
      help='Extra gin file, local or gs:// (repeatable).')
  add('--gin_param', action='append', default=[],
      help='Extra gin binding (repeatable).')
  return parser


def run_settings(args: argparse.Namespace) -> runner.RunSettings:
  """The training run the task's flags describe, for this worker."""
  cluster_config, save_dir = get_worker_behavior_info(args.save_dir)
  restore_dir = args.restore_dir or args.save_dir
  if not save_dir:  # A non-chief worker: its checkpoints are not kept.
    save_dir = tempfile.mkdtemp(prefix='ddsp_tf_worker_')
  params = [f'batch_size={args.batch_size}',
            f'learning_rate={args.learning_rate}',
            f"TFRecordProvider.file_pattern='{args.file_pattern}'",
            f'train.num_steps={args.num_steps}',
            f'train.steps_per_save={args.steps_per_save}',
            f'train.steps_per_summary={args.steps_per_summary}',
            *args.gin_param]
  return runner.RunSettings(
      mode='train', save_dir=save_dir, restore_dir=restore_dir,
      cluster_config=cluster_config,
      gin_files=('models/solo_instrument.gin', 'datasets/tfrecord.gin',
                 *args.gin_file),
      gin_params=tuple(params), gin_search_paths=tuple(args.gin_search_path),
      early_stop_loss_value=args.early_stop_loss_value)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Trains as the flags say; returns the exit status."""
  args = build_parser().parse_args(argv)
  if args.hypertune:
    print(f'{PROG}: error: --hypertune is not supported yet: ddsp_tf\'s '
          'training loop does not report to hyperparameter tuning.',
          file=sys.stderr)
    return 2
  try:
    runner.run(run_settings(args))
  except runner.StartupError as error:
    print(f'{PROG}: error: {error}', file=sys.stderr)
    return 2
  except (ValueError, OSError, FloatingPointError) as error:
    print(f'{PROG}: error: {type(error).__name__}: {error}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())
