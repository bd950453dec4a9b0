"""Logging of ddsp_tf's training console scripts, in one place.

`ddsp_tf_run`, `ddsp_tf_export` and `ddsp_tf_convert_checkpoint` share the
`--log_level` flag and the same log line format, and keep TensorFlow's absl
logging (chatty at INFO, e.g. a line per checkpoint) at WARNING.
"""

import argparse
import logging

from absl import logging as absl_logging

LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR')
LOG_FORMAT = '%(asctime)s %(levelname)s %(name)s: %(message)s'


def add_log_level_flag(parser: argparse.ArgumentParser) -> None:
  """Adds `--log_level` (default INFO) to a console script's parser.

  Args:
    parser: The script's argument parser.
  """
  parser.add_argument(
      '--log_level', default='INFO', choices=LOG_LEVELS,
      help='Logging level; DEBUG also prints tracebacks of errors.')


def configure(level: str) -> None:
  """Logs to stderr at `level` with timestamps; absl logs at WARNING.

  Args:
    level: One of LOG_LEVELS.

  Raises:
    ValueError: For another level name.
  """
  if level not in LOG_LEVELS:
    raise ValueError(f'level must be one of {LOG_LEVELS}, got {level!r}.')
  logging.basicConfig(level=getattr(logging, level), format=LOG_FORMAT)
  absl_logging.set_verbosity(absl_logging.WARNING)
