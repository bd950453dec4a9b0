"""The on-disk contracts of ddsp_tf, in one place.

Every fact here is shared by a writer and a reader that live in different
modules: the TFRecord examples (written by the Beam job in data_prep, read by
`ddsp_tf.training.data`), and export directories (written by
`ddsp_tf.apps.export`, read by `ddsp_tf.apps.timbre_transfer` and the
DDSP-VST plugin). Change a value only together with a format version.
"""

from typing import Tuple

# ----------------------------------------------------------------------------
# Default rates and lengths (magenta/ddsp's).
# ----------------------------------------------------------------------------
DEFAULT_SAMPLE_RATE = 16000
DEFAULT_FRAME_RATE = 250
DEFAULT_EXAMPLE_SECS = 4

# ----------------------------------------------------------------------------
# TFRecord examples (the feature keys of magenta/ddsp's prepare_tfrecord).
# ----------------------------------------------------------------------------
# Frame features are computed on a 16 kHz copy of the audio with CREPE's
# 1024-sample frames, whatever the audio's own rate.
FEATURE_SAMPLE_RATE = 16000
FEATURE_FRAME_SIZE = 1024
AUDIO_KEYS = ('audio', 'audio_16k')
FRAME_FEATURE_KEYS = ('f0_hz', 'f0_confidence', 'loudness_db')
FEATURE_KEYS = AUDIO_KEYS + FRAME_FEATURE_KEYS
# Files the Beam job writes beside the shards.
STATS_FILE = 'stats.json'
REJECTS_FILE = 'rejects.tsv'


def feature_padding(centered: bool) -> str:
  """The spectral_ops padding of the frame features of prepared data.

  Args:
    centered: Whether the data were prepared with --center (frames centred
      on their hop, one more frame), as magenta/ddsp's prepare_tfrecord.

  Returns:
    'center' or 'same'.
  """
  return 'center' if centered else 'same'


# ----------------------------------------------------------------------------
# Export directories (ddsp_tf_export).
# ----------------------------------------------------------------------------
# The export format this ddsp_tf writes and reads; stored in metadata.json.
EXPORT_FORMAT_VERSION = 1
SAVED_MODEL_FILE = 'saved_model.pb'
METADATA_FILE = 'metadata.json'
OPERATIVE_CONFIG_FILE = 'operative_config.gin'
REVERB_IR_FILE = 'reverb_ir.wav'
TFLITE_FILE = 'tflite/model.tflite'
# The SavedModel signatures every export has.
EXPORT_SIGNATURES: Tuple[str, ...] = ('serving_default', 'audio_to_audio')
