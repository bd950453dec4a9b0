"""Flag and exit-status helpers shared by every console script.

They live in data_prep, which imports no TensorFlow, so that
`ddsp_tf_prepare_tfrecord --help` starts at once; the ddsp_tf console
scripts (`ddsp_tf.cli`) use them too.
"""

import argparse
import importlib
import logging
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



# ----------------------------------------------------------------------------
# The Beam console scripts (ddsp_tf_prepare_tfrecord and
# ddsp_tf_generate_synthetic_dataset).
# ----------------------------------------------------------------------------
# Known-harmless lines that a run would print, by logger name and a piece of
# the message.
_WORKER_RELAY = 'apache_beam.runners.portability.local_job_service'
_HARMLESS = (
    # Beam's BigQuery client module, imported by every Beam program, warns
    # through the root logger when the optional GCP client is absent.
    ('root', 'apitools not found, and bigquery client libraries are not '
     'available'),
    # Start-up warnings of the DirectRunner's worker processes
    # (multi_processing), relayed to this process: no cache folder for
    # registered types (this job registers none), and options that only the
    # runner's own process knows.
    (_WORKER_RELAY, 'No semi_persistent_directory found'),
    (_WORKER_RELAY, "Discarding unparseable args: [\\'--direct_runner_use_"
     "stacked_bundle\\', \\'--pipeline_type_check\\']"),
)


class HarmlessFilter(logging.Filter):
  """Drops records by logger name and a piece of the message."""

  def __init__(self, harmless=_HARMLESS):
    super().__init__()
    self._harmless = tuple(harmless)

  def filter(self, record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return not any(record.name == name and piece in message
                   for name, piece in self._harmless)


def drop_harmless_warnings() -> None:
  """Adds HarmlessFilter to the loggers that emit the _HARMLESS lines."""
  for name in sorted({name for name, _ in _HARMLESS}):
    logger = logging.getLogger(None if name == 'root' else name)
    if not any(isinstance(existing, HarmlessFilter)
               for existing in logger.filters):
      logger.addFilter(HarmlessFilter())


def configure_logging(level: str) -> None:
  """Logs to stderr at `level` (data_prep too); Beam at WARNING or above.

  Known-harmless warnings are dropped (_HARMLESS) unless level is DEBUG.
  (TensorFlow's C++ start-up lines go through absl before it is set up and
  cannot be turned off; TF_CPP_MIN_LOG_LEVEL does not reach them.)
  """
  logging.basicConfig(level=level,
                      format='%(asctime)s %(levelname)s %(name)s: %(message)s')
  if level != 'DEBUG':
    drop_harmless_warnings()
  logging.getLogger('data_prep').setLevel(level)
  logging.getLogger('apache_beam').setLevel(
      max(logging.WARNING, logging.getLevelName(level)))


def _all_subclasses(cls: type) -> List[type]:
  found = []
  for subclass in cls.__subclasses__():
    found += [subclass] + _all_subclasses(subclass)
  return list(dict.fromkeys(found))


def unknown_beam_flags(args: Sequence[str]) -> List[str]:
  """The args that neither this script nor any Beam option class defines.

  Args:
    args: Command-line arguments left after parsing this script's flags.

  Returns:
    The unrecognised ones (Beam itself would silently drop them).
  """
  # Imported here: importing Beam logs through the root logger, which would
  # configure logging before main() does.
  from apache_beam.options import pipeline_options  # pylint: disable=import-outside-toplevel
  if any(arg.startswith('--dask_') for arg in args):
    try:
      # Registers DaskOptions (--dask_client_address, ...); needs dask.
      # Only then: registered options travel to every runner's workers.
      importlib.import_module('apache_beam.runners.dask.dask_runner')
    except ImportError:
      pass
  parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
  for options_class in _all_subclasses(pipeline_options.PipelineOptions):
    options_class._add_argparse_args(parser)  # pylint: disable=protected-access
  return parser.parse_known_args(list(args))[1]


def beam_pipeline_args(parser: argparse.ArgumentParser,
                       beam_args: Sequence[str], pipeline_options: str,
                       log_level: str) -> List[str]:
  """The Beam options of a run: the unknown flags plus --pipeline_options.

  Args:
    parser: The script's parser (for the error).
    beam_args: Arguments the script's parser left (parse_known_args).
    pipeline_options: The comma-separated --pipeline_options value.
    log_level: The script's --log_level; Beam's workers log at WARNING
      unless beam_args set --default_sdk_harness_log_level.

  Returns:
    The options for PipelineOptions. Exits with status 2 (parser.error)
    for an argument that no Beam option class defines.
  """
  beam_args = list(beam_args) + [option for option in
                                 pipeline_options.split(',') if option]
  unknown = unknown_beam_flags(beam_args)
  if unknown and all(arg.startswith('--dask_') for arg in unknown):
    parser.error(f'{" ".join(unknown)}: the DaskRunner and its options need '
                 'dask and distributed: pip install "ddsp_tf[dask]"')
  if unknown:
    parser.error(f'unrecognized arguments (neither flags of this tool nor '
                 f'Beam pipeline options): {" ".join(unknown)}')
  if not any(arg.startswith('--default_sdk_harness_log_level')
             for arg in beam_args):
    # Beam's worker processes log at INFO; keep only this tool's lines.
    beam_args += ['--default_sdk_harness_log_level=WARNING',
                  '--sdk_harness_log_level_overrides='
                  f'{{"data_prep": "{log_level}"}}']
  return beam_args


def parse_beam_script_args(parser: argparse.ArgumentParser,
                           argv: Optional[Sequence[str]]
                           ) -> Tuple[argparse.Namespace, List[str]]:
  """Parses a Beam script's command line and sets up its logging.

  The script's own flags (absl-style booleans accepted) go to the namespace;
  every other argument, plus --pipeline_options, must be a Beam pipeline
  option. The parser must define --log_level and --pipeline_options.

  Args:
    parser: The script's parser.
    argv: Arguments without the program name (default: sys.argv[1:]).

  Returns:
    (the script's flags, the Beam options). Exits with status 2
    (parser.error) for an argument neither the script nor Beam defines.
  """
  args, beam_args = parser.parse_known_args(rewrite_bool_args(parser, argv))
  configure_logging(args.log_level)
  return args, beam_pipeline_args(parser, beam_args, args.pipeline_options,
                                  args.log_level)
