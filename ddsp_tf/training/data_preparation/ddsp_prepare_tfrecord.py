"""magenta/ddsp's `ddsp_prepare_tfrecord` path; the script is `data_prep.cli`.

This module only re-exports the `ddsp_tf_prepare_tfrecord` console script's
names, so code written for the original imports.
"""

# pylint: disable=unused-import
from data_prep.cli import console_entry_point
from data_prep.cli import main
# The original's run() ran the job from the command line: main() with no
# arguments does (it parses sys.argv).
from data_prep.cli import main as run
