"""magenta/ddsp's `ddsp.training.ddsp_export` path; the code lives elsewhere.

The `ddsp_tf_export` console script is `ddsp_tf.cli.export`; the export
itself is `ddsp_tf.apps.export.export_model`, and the modules it saves are
in `ddsp_tf.training.inference`. This module only re-exports their names,
so code written for the original imports.
"""

# pylint: disable=unused-import
from ddsp_tf.apps.export import export_model
from ddsp_tf.cli.export import build_parser
from ddsp_tf.cli.export import console_entry_point
from ddsp_tf.cli.export import main
