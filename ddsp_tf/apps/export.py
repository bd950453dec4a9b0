"""Export a trained model as a length-polymorphic TF SavedModel.

`export_model` restores the latest (or a given) checkpoint of a training run
into the model its operative gin config describes and writes an export
directory that runs with nothing but TensorFlow:

    saved_model.pb, variables/   two signatures (below)
    metadata.json                rates, sizes, dataset statistics, versions
    operative_config.gin         the run's operative config
    reverb_ir.wav                the learned room response (models with a
                                 trainable Reverb), float32 WAV

'serving_default' maps f0_hz and loudness_db, [batch, n_frames] each, to
audio, audio_dry (the signal entering the reverb) and the synthesizer
controls, for any batch and any n_frames. 'audio_to_audio' takes audio at
the model's rate, [batch, n_frames * hop_size], computes f0 with an embedded
CREPE (peak decoding: Viterbi needs numpy and cannot live in a graph) and
A-weighted loudness, framed like the dataset ('same' padding unless the run
read centered data), and returns the same plus those features.

With tflite=True (ddsp_tf_export --tflite) the directory also holds
tflite/model.tflite, a frame-wise streaming model (StreamingModule, TFLite
builtin ops only) described by metadata['tflite']. Each call of its
'serving_default' signature takes ONE frame, f0_hz [1] and loudness_db
[1], plus the carried state (metadata['tflite']['carried_state']), and
returns hop_size samples of dry audio (harmonic + filtered noise; no
reverb: convolve with reverb_ir.wav to add it) and the new state under the
same names. Drive it with a loop over frames:

    runner = tf.lite.Interpreter(model_path=path).get_signature_runner()
    state = {spec['name']: np.zeros(spec['shape'], np.float32)
             for spec in meta['tflite']['inputs']
             if spec['name'] in meta['tflite']['carried_state']}
    for f0, loudness in zip(f0_hz, loudness_db):  # one frame at a time
      out = runner(f0_hz=np.float32([f0]),
                   loudness_db=np.float32([loudness]), **state)
      play(out['audio'])
      state = {name: out[name] for name in state}

The audio of frame t is the hop between frames t - 1 and t of the
SavedModel's audio_dry (one hop of latency; the first call fades in).

The synths of the exported model render n_frames * hop_size samples instead
of their fixed n_samples (see synths.Harmonic.set_samples_per_frame) and
the preprocessor keeps the input's frames; at the training length the
numbers are those of the trained model. The directory is written under a
temporary name beside export_dir and renamed into place, so a failed export
leaves nothing behind.
"""

import datetime
import json
import logging
import os
import re
import shutil
import tempfile
import time
from typing import Any, Dict, Optional, Sequence, Text

import gin
import numpy as np
import soundfile as sf
import tensorflow as tf

from ddsp_tf import crepe
from ddsp_tf import effects
from ddsp_tf import files
from ddsp_tf import formats
from ddsp_tf import version
from ddsp_tf.training import inference
from ddsp_tf.training import models
from ddsp_tf.training import train_util

logger = logging.getLogger(__name__)

# ----------------------------------------------------------------------------
# Files.
# ----------------------------------------------------------------------------
def default_dataset_statistics_path() -> Optional[Text]:
  """stats.json beside the shards of the bound TFRecordProvider, if any.

  Returns:
    The path when gin binds TFRecordProvider.file_pattern and the file
    exists there, else None.
  """
  try:
    pattern = gin.query_parameter('TFRecordProvider.file_pattern')
  except ValueError:
    return None
  if not isinstance(pattern, str) or not pattern:
    return None
  path = os.path.join(os.path.dirname(pattern), formats.STATS_FILE)
  return path if tf.io.gfile.exists(path) else None


def read_dataset_statistics(path: Text) -> Dict[Text, Any]:
  """The dict in a stats.json file.

  Raises:
    FileNotFoundError: If the file does not exist.
    ValueError: If it does not hold a JSON object.
  """
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'No dataset statistics file {path!r}.')
  with tf.io.gfile.GFile(path) as stats_file:
    try:
      statistics = json.load(stats_file)
    except json.JSONDecodeError as error:
      raise ValueError(f'{path!r} is not valid JSON: {error}') from None
  if not isinstance(statistics, dict):
    raise ValueError(f'{path!r} must hold a JSON object, got '
                     f'{type(statistics).__name__}.')
  return statistics


def _checkpoint_step(prefix: Text) -> int:
  """The training step of a checkpoint: N of ckpt-N, else its save counter."""
  match = re.search(r'-(\d+)$', prefix)
  if match:
    return int(match.group(1))
  reader = tf.train.load_checkpoint(prefix)
  key = 'save_counter/.ATTRIBUTES/VARIABLE_VALUE'
  return int(reader.get_tensor(key)) if reader.has_tensor(key) else 0


def reverb_room_response(reverb: effects.Reverb) -> np.ndarray:
  """The room response of a trainable Reverb, [reverb_length] float32.

  Tap 0 is the direct sound: 1 when the reverb adds the dry signal, else 0
  (the layer always zeroes its learned tap 0), so convolving the dry audio
  with it gives the reverb's output.
  """
  ir = np.array(reverb.get_controls(tf.zeros([1, 1]))['ir'][0],
                dtype=np.float32)
  ir[0] = 1.0 if reverb.add_dry else 0.0
  return ir


def _check_export_dir(export_dir: Text, overwrite: bool) -> None:
  if os.path.exists(export_dir):
    if not os.path.isdir(export_dir):
      raise FileExistsError(f'export_dir {export_dir!r} exists and is not a '
                            'directory.')
    if os.listdir(export_dir) and not overwrite:
      raise FileExistsError(
          f'export_dir {export_dir!r} exists and is not empty; pass '
          'overwrite=True (--overwrite) to replace it.')


def _parse_run_config(operative_config: Text,
                      gin_params: Sequence[Text]) -> None:
  """Replaces the global gin config with the run's (and extra bindings).

  Operative configs are flat (no includes), so no search path is needed.
  """
  gin.clear_config()
  with gin.unlock_config():
    gin.parse_config_file(operative_config, skip_unknown=True)
    gin.parse_config_files_and_bindings([], list(gin_params),
                                        skip_unknown=False)


def _build_and_restore(checkpoint: Text) -> models.Model:
  """The gin model, built at its training length and restored.

  Raises:
    ValueError: If the model has no fixed-length preprocessor, or a weight
      of the model is missing from the checkpoint.
  """
  model = models.get_model()
  preprocessor = getattr(model, 'preprocessor', None)
  n_frames = getattr(preprocessor, 'time_steps', None)
  if n_frames is None:
    raise ValueError('export needs a model whose preprocessor has a fixed '
                     f'time_steps, got preprocessor={preprocessor!r}.')
  zeros = tf.zeros([1, n_frames])
  features = {'f0_hz': zeros + 100.0, 'loudness_db': zeros - 60.0}
  if getattr(preprocessor, 'compute_loudness', False):
    hop = preprocessor.sample_rate // preprocessor.frame_rate
    features['audio'] = tf.zeros([1, n_frames * hop])
  model(features, training=False)
  status = tf.train.Checkpoint(model=model).read(checkpoint).expect_partial()
  try:
    status.assert_existing_objects_matched()
  except AssertionError as error:
    raise ValueError(
        f'The checkpoint {checkpoint!r} does not fit the model of the run\'s '
        f'operative config (check --gin_param overrides): {error}') from None
  return model


def _centered_data() -> bool:
  try:
    return bool(gin.query_parameter('TFRecordProvider.centered'))
  except ValueError:
    return False


def export_model(save_dir: Text, export_dir: Text,
                 checkpoint: Optional[Text] = None,
                 crepe_model: Text = 'tiny',
                 dataset_statistics: Optional[Text] = None,
                 overwrite: bool = False,
                 gin_params: Sequence[Text] = (),
                 tflite: bool = False) -> Text:
  """Exports a training run's checkpoint as a SavedModel directory.

  Replaces the global gin config with the run's operative config.

  Args:
    save_dir: Training directory (holds operative_config-*.gin and, unless
      checkpoint is given, the checkpoints).
    export_dir: Directory to write; an existing non-empty one is replaced
      only with overwrite.
    checkpoint: A checkpoint prefix or a directory of checkpoints; None
      takes the latest in save_dir.
    crepe_model: CREPE capacity embedded in 'audio_to_audio'.
    dataset_statistics: Path of a stats.json for the metadata; None uses
      stats.json beside the run's TFRecordProvider.file_pattern, if there.
    overwrite: Replace an existing non-empty export_dir.
    gin_params: Extra gin bindings applied after the operative config.
    tflite: Also write the frame-wise streaming model (StreamingModule) as
      tflite/model.tflite, described under metadata['tflite'].

  Returns:
    export_dir (absolute).

  Raises:
    FileNotFoundError: If save_dir has no operative config, there is no
      checkpoint, or the statistics file is missing.
    FileExistsError: If export_dir is not empty and overwrite is False.
    ValueError: For a bad crepe_model or a model the export (or, with
      tflite, the streaming model) cannot serve.
  """
  start = time.time()
  save_dir = files.expand_path(save_dir)
  export_dir = files.expand_path(export_dir)
  if crepe_model not in crepe.CAPACITIES:
    raise ValueError(f'crepe_model must be one of {list(crepe.CAPACITIES)}, '
                     f'got crepe_model={crepe_model!r}.')
  _check_export_dir(export_dir, overwrite)
  if not os.path.isdir(save_dir):
    raise FileNotFoundError(f'save_dir {save_dir!r} is not a directory.')
  try:
    operative_config = train_util.get_latest_operative_config(save_dir)
  except FileNotFoundError:
    raise FileNotFoundError(
        f'{save_dir!r} is not a training directory: it has no '
        f'{train_util.OPERATIVE_CONFIG_PREFIX}<step>.gin.') from None
  prefix = train_util.get_latest_checkpoint(checkpoint or save_dir)
  logger.info('Exporting %s with the config %s.', prefix, operative_config)

  _parse_run_config(operative_config, gin_params)
  stats_path = dataset_statistics or default_dataset_statistics_path()
  statistics = read_dataset_statistics(stats_path) if stats_path else None
  logger.info('Dataset statistics: %s.', stats_path or 'none found')
  model = _build_and_restore(prefix)
  logger.info('Restored the model; tracing the signatures.')
  module = inference.ExportModule(model, crepe_model=crepe_model,
                        centered=_centered_data())
  signatures = module.signatures()
  controls = signatures['serving_default'].structured_outputs

  def size(key: Text) -> int:
    return int(controls[key].shape[-1]) if key in controls else 0

  has_reverb = module.reverb is not None and module.reverb[2].trainable
  metadata = {
      'format_version': formats.EXPORT_FORMAT_VERSION,
      'ddsp_tf_version': version.__version__,
      'export_time': datetime.datetime.now(datetime.timezone.utc).strftime(
          '%Y-%m-%dT%H:%M:%SZ'),
      'sample_rate': module.sample_rate,
      'frame_rate': module.frame_rate,
      'hop_size': module.hop_size,
      'n_harmonics': size('harmonic_distribution'),
      'n_noise_magnitudes': size('noise_magnitudes'),
      'has_reverb': has_reverb,
      'reverb_ir_file': formats.REVERB_IR_FILE if has_reverb else None,
      'crepe_model': crepe_model,
      'feature_padding': module.padding,
      'model': type(model).__name__,
      'training_step': _checkpoint_step(prefix),
      'dataset_statistics': statistics,
  }
  streaming = None
  if tflite:
    streaming = inference.StreamingModule(module)
    metadata['tflite'] = inference.tflite_metadata(streaming)

  parent = os.path.dirname(export_dir)
  os.makedirs(parent, exist_ok=True)
  tmp_dir = tempfile.mkdtemp(prefix=os.path.basename(export_dir) + '.tmp-',
                             dir=parent)
  try:
    logger.info('Writing the SavedModel.')
    tf.saved_model.save(module, tmp_dir, signatures=signatures)
    if streaming is not None:
      logger.info('Converting the streaming model to TFLite.')
      tflite_path = os.path.join(tmp_dir, formats.TFLITE_FILE)
      os.makedirs(os.path.dirname(tflite_path))
      with open(tflite_path, 'wb') as tflite_file:
        tflite_file.write(inference.convert_to_tflite(streaming))
    with open(os.path.join(tmp_dir, formats.METADATA_FILE), 'w',
              encoding='utf-8') as metadata_file:
      json.dump(metadata, metadata_file, indent=2)
    shutil.copyfile(operative_config,
                    os.path.join(tmp_dir, formats.OPERATIVE_CONFIG_FILE))
    if has_reverb:
      sf.write(os.path.join(tmp_dir, formats.REVERB_IR_FILE),
               reverb_room_response(module.reverb[2]), module.sample_rate,
               subtype='FLOAT')
    files.replace_directory(tmp_dir, export_dir)
  except BaseException:
    shutil.rmtree(tmp_dir, ignore_errors=True)
    raise
  logger.info('Exported step %d to %s in %.1f s.', metadata['training_step'],
              export_dir, time.time() - start)
  return export_dir
