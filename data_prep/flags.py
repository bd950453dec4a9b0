"""Flag and exit-status helpers shared by every console script.

They live in data_prep, which imports no TensorFlow, so that
`ddsp_tf_prepare_tfrecord --help` starts at once; the ddsp_tf console
scripts (`ddsp_tf.cli`) use them too.
"""

import argparse
import os
import sys
from typing import Callable, List, Optional, Sequence, Tuple, Type


class CliError(Exception):
  """A problem with the inputs that ends a run with exit status 1."""


def check_output_dir(path: str) -> None:
  """Raises CliError unless the folder of the output file `path` exists."""
  directory = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(directory):
    raise CliError(f'The folder of {path} does not exist; create it first.')


_BOOL_FLAGS = {}  # id(parser) -> names of its add_bool_flag flags.
_TRUE = ('true', 't', '1', 'yes', 'y')
_FALSE = ('false', 'f', '0', 'no', 'n')


def parse_bool(text: str) -> bool:
  """An absl-style boolean flag value: true/false, 1/0, yes/no (any case).

  Raises:
    argparse.ArgumentTypeError: For anything else.
  """
  value = str(text).strip().lower()
  if value in _TRUE:
    return True
  if value in _FALSE:
    return False
  raise argparse.ArgumentTypeError(
      f'expected a boolean (true/false, 1/0, yes/no), got {text!r}')


def add_bool_flag(parser: argparse.ArgumentParser, name: str, default: bool,
                  help_text: str) -> None:
  """Adds --name and --noname, as absl does.

  Like absl, --name also takes a value, --name=true / --name=False (as in
  magenta/ddsp's Colabs, e.g. --center=True), when the parser's arguments
  are read with `parse_args` below.

  Args:
    parser: The parser to extend.
    name: Flag name without dashes.
    default: Value when neither flag is given.
    help_text: What --name does (a sentence); the default is appended.
  """
  group = parser.add_mutually_exclusive_group()
  group.add_argument(f'--{name}', dest=name, action='store_true',
                     help=f'{help_text} Also --{name}=true/false. Default: '
                     f'{default}.')
  group.add_argument(f'--no{name}', dest=name, action='store_false',
                     help=f'Turn --{name} off.')
  parser.set_defaults(**{name: default})
  _BOOL_FLAGS.setdefault(id(parser), set()).add(name)


def parse_args(parser: argparse.ArgumentParser,
               argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
  """parser.parse_args, with --flag=VALUE for the add_bool_flag flags.

  Args:
    parser: A parser extended by add_bool_flag.
    argv: Arguments without the program name; None reads sys.argv.

  Returns:
    The parsed namespace. Exits with status 2 (parser.error) for a value
    that is not a boolean.
  """
  return parser.parse_args(rewrite_bool_args(parser, argv))


def rewrite_bool_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None) -> List[str]:
  """argv with each --flag=VALUE of a bool flag as --flag or --noflag.

  Args:
    parser: A parser extended by add_bool_flag.
    argv: Arguments without the program name; None reads sys.argv.

  Returns:
    The arguments for parser.parse_args / parse_known_args. Exits with
    status 2 (parser.error) for a value that is not a boolean.
  """
  argv = list(sys.argv[1:] if argv is None else argv)
  names = _BOOL_FLAGS.get(id(parser), set())
  rewritten = []
  for arg in argv:
    flag, equals, value = arg.partition('=')
    if equals and flag.startswith('--') and flag[2:] in names:
      try:
        arg = flag if parse_bool(value) else f'--no{flag[2:]}'
      except argparse.ArgumentTypeError as error:
        parser.error(f'argument {flag}: {error}')
    rewritten.append(arg)
  return rewritten


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

