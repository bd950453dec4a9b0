"""magenta/ddsp's `ddsp.training.ddsp_run` path; the code lives elsewhere.

The `ddsp_tf_run` console script is `ddsp_tf.cli.run`; what it runs is
`ddsp_tf.training.runner` (`RunSettings`, `run`, `parse_gin`). This module
only re-exports their names, so code written for the original imports.
"""

# pylint: disable=unused-import
from ddsp_tf.cli.run import build_parser
from ddsp_tf.cli.run import console_entry_point
from ddsp_tf.cli.run import main
from ddsp_tf.training import gin as _gin_configs
from ddsp_tf.training.runner import allow_memory_growth
from ddsp_tf.training.runner import delay_start
from ddsp_tf.training.runner import parse_gin
from ddsp_tf.training.runner import run
from ddsp_tf.training.runner import RunSettings

# The folder of the shipped gin configs (the original's GIN_PATH).
GIN_PATH = _gin_configs.config_dir()
