"""magenta/ddsp's `prepare_tfrecord_lib` path; the Beam job is `data_prep`.

`prepare_tfrecord` is `data_prep.pipeline.prepare_tfrecord` (same arguments
as the original's, plus ddsp_tf's own options). This module only re-exports
names, so code written for the original imports.
"""

# pylint: disable=unused-import
from data_prep.pipeline import prepare_tfrecord
from ddsp_tf.formats import FEATURE_SAMPLE_RATE as CREPE_SAMPLE_RATE
