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


# ----------------------------------------------------------------------------
# The DDSP-VST plugin's model files (magenta/ddsp-vst: src/util/Constants.h,
# src/audio/tflite/ModelLibrary.cpp).
# ----------------------------------------------------------------------------
# The plugin computes features from 16 kHz audio: 1024-sample frames every
# 320 samples (50 frames per second), and renders 320 samples per frame.
VST_SAMPLE_RATE = 16000
VST_FRAME_SIZE = 1024
VST_HOP_SIZE = 320
# The latency the plugin reports to the host: one 64 ms pitch frame.
VST_LATENCY_MS = 64.0
# The predict-controls model's tensors, by name, with the sizes the released
# plugin accepts (60 harmonics, 65 noise bands, a 512-unit GRU). The plugin
# matches names, not positions, and checks counts and sizes only.
VST_INPUT_TENSORS: Tuple[Tuple[str, int], ...] = (
    ('call_f0_scaled:0', 1), ('call_pw_scaled:0', 1), ('call_state:0', 512))
VST_OUTPUT_TENSORS: Tuple[Tuple[str, int], ...] = (
    ('StatefulPartitionedCall:0', 1),    # amplitude
    ('StatefulPartitionedCall:1', 60),   # harmonic distribution
    ('StatefulPartitionedCall:2', 65),   # noise magnitudes
    ('StatefulPartitionedCall:3', 512))  # GRU state
# The zip archive appended to the .tflite holds this JSON file; the plugin
# reads these keys (missing ones read as 0 or "").
VST_METADATA_FILE = 'metadata.json'
VST_METADATA_KEYS: Tuple[str, ...] = (
    'mean_min_pitch_note_hz', 'mean_max_pitch_note_hz',
    'mean_min_power_note', 'mean_max_power_note', 'version', 'export_time')
