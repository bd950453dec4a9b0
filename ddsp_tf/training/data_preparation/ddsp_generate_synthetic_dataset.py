"""The original's synthetic dataset script; the code is data_prep.synthetic_cli.

This module only re-exports the `ddsp_tf_generate_synthetic_dataset`
console script's names (the Beam job is `data_prep.synthetic_pipeline`), so
code written for the original imports.
"""

# pylint: disable=unused-import
from data_prep.synthetic_cli import GIN_PATH
from data_prep.synthetic_cli import console_entry_point
from data_prep.synthetic_cli import main
# The original's run() ran the job from the command line: main() with no
# arguments does (it parses sys.argv).
from data_prep.synthetic_cli import main as run
from data_prep.synthetic_pipeline import GenerateExampleFn
