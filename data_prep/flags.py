"""Flag and exit-status helpers shared by every console script.

They live in data_prep, which imports no TensorFlow, so that
`ddsp_tf_prepare_tfrecord --help` starts at once; the ddsp_tf console
scripts (`ddsp_tf.cli`) use them too.
"""

import argparse
import os
import sys
from typing import Callable, Tuple, Type


class CliError(Exception):
  """A problem with the inputs that ends a run with exit status 1."""


def check_output_dir(path: str) -> None:
  """Raises CliError unless the folder of the output file `path` exists."""
  directory = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(directory):
    raise CliError(f'The folder of {path} does not exist; create it first.')


def add_bool_flag(parser: argparse.ArgumentParser, name: str, default: bool,
                  help_text: str) -> None:
  """Adds --name and --noname, as absl does.

  Args:
    parser: The parser to extend.
    name: Flag name without dashes.
    default: Value when neither flag is given.
    help_text: What --name does (a sentence); the default is appended.
  """
  group = parser.add_mutually_exclusive_group()
  group.add_argument(f'--{name}', dest=name, action='store_true',
                     help=f'{help_text} Default: {default}.')
  group.add_argument(f'--no{name}', dest=name, action='store_false',
                     help=f'Turn --{name} off.')
  parser.set_defaults(**{name: default})


def exit_status(prog: str, run: Callable[[], None],
                plain_errors: Tuple[Type[BaseException], ...],
                typed_errors: Tuple[Type[BaseException], ...]) -> int:
  """Runs a command and turns the expected errors into exit status 1.

  Args:
    prog: Program name for the message.
    run: The command.
    plain_errors: Errors whose message is shown as is (the command's own,
      already worded for the user).
    typed_errors: Errors shown with their type name (e.g. OSError).

  Returns:
    0 on success, 1 after printing 'prog: error: ...' to stderr. Other
    errors propagate.
  """
  try:
    run()
  except plain_errors as error:
    print(f'{prog}: error: {error}', file=sys.stderr)
    return 1
  except typed_errors as error:
    print(f'{prog}: error: {type(error).__name__}: {error}', file=sys.stderr)
    return 1
  return 0

