"""magenta/ddsp's `ddsp.training.ddsp_export` path; the code lives elsewhere.

The `ddsp_tf_export` console script is `ddsp_tf.cli.export`; the export
itself is `ddsp_tf.apps.export.export_model`, the original's step functions
are in `ddsp_tf.apps.export_steps`, and the modules they save are in
`ddsp_tf.training.inference`. This module only re-exports their names, so
code written for the original imports.
"""

# pylint: disable=unused-import
from ddsp_tf.apps.export import export_model
from ddsp_tf.apps.export_steps import ckpt_to_saved_model
from ddsp_tf.apps.export_steps import ensure_exits
from ddsp_tf.apps.export_steps import export_impulse_response
from ddsp_tf.apps.export_steps import get_data_provider
from ddsp_tf.apps.export_steps import get_inference_model
from ddsp_tf.apps.export_steps import get_metadata_dict
from ddsp_tf.apps.export_steps import saved_model_to_tflite
from ddsp_tf.apps.export_steps import saved_model_to_tfjs
from ddsp_tf.cli.export import build_parser
from ddsp_tf.cli.export import console_entry_point
from ddsp_tf.cli.export import main
