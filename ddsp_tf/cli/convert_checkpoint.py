"""ddsp_tf_convert_checkpoint: read a magenta/ddsp checkpoint into ddsp_tf.

  ddsp_tf_convert_checkpoint --original_checkpoint=~/runs/violin_original \\
      --save_dir=~/runs/violin

reads the latest checkpoint of a run trained by magenta/ddsp (or the
prefix given, e.g. ~/runs/violin_original/ckpt-20000), builds the model of
the run's operative_config-<step>.gin in ddsp_tf, and writes --save_dir as
a ddsp_tf training directory (ckpt-<step> and the operative config) that
ddsp_tf_run, ddsp_tf_export and Model.restore read, with the original's
Adam moments (--fresh_optimizer: zero moments) so training resumes where
it stopped. See ddsp_tf.training.checkpoint_conversion.
"""

import argparse
import logging
import sys
from typing import Optional, Sequence


from ddsp_tf import console_logging
from ddsp_tf.training import checkpoint_conversion

logger = logging.getLogger('ddsp_tf_convert_checkpoint')
PROG = 'ddsp_tf_convert_checkpoint'


def build_parser() -> argparse.ArgumentParser:
  """The flags of ddsp_tf_convert_checkpoint."""
  parser = argparse.ArgumentParser(
      prog=PROG,
      description=('Convert a checkpoint trained by magenta/ddsp into a '
                   'ddsp_tf training directory.'))
  add = parser.add_argument
  add('--original_checkpoint', required=True,
      help='A checkpoint prefix written by magenta/ddsp (<run>/ckpt-N) or '
      'its run directory (the latest checkpoint is used).')
  add('--save_dir', required=True,
      help='The ddsp_tf training directory to write (ckpt-<step> and '
      'operative_config-<step>.gin); written under a temporary name and '
      'renamed.')
  add('--gin_file', default=None,
      help='The run\'s operative config; default the latest '
      'operative_config-<N>.gin beside the checkpoint.')
  add('--gin_param', action='append', default=[],
      help='Extra gin binding applied after the operative config; '
      'repeatable.')
  add('--overwrite', action='store_true',
      help='Replace --save_dir if it exists and is not empty.')
  add('--fresh_optimizer', action='store_true',
      help="Drop the original's Adam moments: the checkpoint gets zero "
      "moments at the original's step.")
  console_logging.add_log_level_flag(parser)
  return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs ddsp_tf_convert_checkpoint.

  Args:
    argv: Arguments without the program name; None reads sys.argv.

  Returns:
    The exit status: 0 on success, 2 for bad usage or a checkpoint that
    cannot be converted (the message says why).
  """
  args = build_parser().parse_args(argv)
  console_logging.configure(args.log_level)
  try:
    path = checkpoint_conversion.convert_checkpoint(
        args.original_checkpoint, args.save_dir, gin_file=args.gin_file,
        gin_params=args.gin_param, overwrite=args.overwrite,
        fresh_optimizer=args.fresh_optimizer)
  except (ValueError, FileNotFoundError, FileExistsError,
          PermissionError) as error:
    logger.debug('Traceback:', exc_info=True)
    print(f'{PROG}: error: {type(error).__name__}: {error}', file=sys.stderr)
    return 2
  print(f'Converted to {path}')
  return 0


def console_entry_point() -> None:
  """The installed `ddsp_tf_convert_checkpoint` console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
