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

from ddsp_tf import core
from ddsp_tf import crepe
from ddsp_tf import effects
from ddsp_tf import files
from ddsp_tf import formats
from ddsp_tf import version
from ddsp_tf.training import inference
from ddsp_tf.training import models
from ddsp_tf.training import train_util
from ddsp_tf.training import vst_inference

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


def checkpoint_step(prefix: Text) -> int:
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
  try:
    # Strict; a checkpoint of magenta/ddsp is mapped onto the model.
    model.restore(checkpoint, verbose=False)
  except ValueError as error:
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
      # The pitch tracker that made the training data (stats.json records
      # it; datasets without the key were made with CREPE), which
      # timbre_transfer uses for new audio unless told otherwise.
      'f0_estimator': (statistics or {}).get('f0_estimator', 'crepe'),
      'feature_padding': module.padding,
      'model': type(model).__name__,
      'training_step': checkpoint_step(prefix),
      'dataset_statistics': statistics,
  }
  if (statistics or {}).get('crepe_hop_ms') is not None:
    metadata['crepe_hop_ms'] = statistics['crepe_hop_ms']
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


# ----------------------------------------------------------------------------
# magenta/ddsp's ddsp_export: --model_path and --inference_model.
# ----------------------------------------------------------------------------
# --inference_model choices: the class each builds ('streaming_f0_pw' is
# ddsp_tf's own export: magenta/ddsp lists it but has no class for it).
INFERENCE_MODELS = {
    'autoencoder': inference.AutoencoderInference,
    'streaming_f0_pw': None,
    'vst_extract_features': inference.VSTExtractFeatures,
    'vst_predict_controls': inference.VSTPredictControls,
    'vst_stateless_predict_controls': inference.VSTStatelessPredictControls,
    'vst_synthesize': inference.VSTSynthesize,
    'vst_synthesize_harmonic': inference.VSTSynthesizeHarmonic,
    'vst_synthesize_noise': inference.VSTSynthesizeNoise,
}
PLUGIN_MODEL = 'vst_stateless_predict_controls'
TFJS_UNSUPPORTED = (
    'TF.js export is not supported: the tensorflowjs converter pins '
    'TensorFlow and JAX versions that cannot be installed beside TF 2.21. '
    'Export the SavedModel (--notfjs) and run tensorflowjs_converter '
    '--input_format=tf_saved_model --signature_name=call on it in a '
    'separate environment.')


def default_save_dir(model_path: Text, name: Text = '') -> Text:
  """Where ddsp_export writes when --save_dir is not given.

  A SavedModel directory is converted in place; a checkpoint prefix writes
  <its directory>/<name or 'export'>; a run directory writes
  <model_path>/<name or 'export'>.
  """
  export_name = name or 'export'
  if tf.io.gfile.exists(os.path.join(model_path, formats.SAVED_MODEL_FILE)):
    return model_path
  if not tf.io.gfile.isdir(model_path):
    return os.path.join(os.path.dirname(model_path), export_name)
  return os.path.join(model_path, export_name)


def _restored_reverb(prefix: Text) -> Optional[effects.Reverb]:
  """The trained Reverb of the run whose gin config is parsed, restored."""
  model = models.get_model()
  node = inference.streaming.first_node(model.processor_group, effects.Reverb)
  if node is None or not node[2].trainable:
    return None
  reverb = node[2]
  reverb(tf.zeros([1, 16]))
  try:
    model.restore(prefix, verbose=False, restore_keys=['processor_group'])
  except ValueError as error:
    raise ValueError(f'The checkpoint {prefix!r} does not hold the trained '
                     f'reverb of the run\'s config: {error}') from None
  return reverb


def write_impulse_responses(reverb: effects.Reverb, sample_rate: int,
                            save_dir: Text,
                            target_sample_rate: Optional[int] = None
                            ) -> Sequence[Text]:
  """Writes reverb_ir_<rate>_hz.wav at the model's rate (and another).

  Unlike magenta/ddsp, whose second file holds the same samples labelled
  with the other rate, the second file is resampled (polyphase, scipy).

  Returns:
    The paths written.
  """
  from scipy import signal  # pylint: disable=g-import-not-at-top
  ir = np.array(reverb.get_controls(tf.zeros([1, 1]))['ir'][0], np.float32)
  paths = []
  rates = [sample_rate]
  if target_sample_rate and int(target_sample_rate) != sample_rate:
    rates.append(int(target_sample_rate))
  for rate in rates:
    samples = ir
    if rate != sample_rate:
      divisor = np.gcd(rate, sample_rate)
      samples = signal.resample_poly(ir, rate // divisor,
                                     sample_rate // divisor).astype(np.float32)
    path = os.path.join(save_dir, f'reverb_ir_{rate}_hz.wav')
    files.write_audio_atomically(path, samples, rate)
    paths.append(path)
  return paths


def _query(binding: Text, default: Any) -> Any:
  try:
    return gin.query_parameter(binding)
  except ValueError:
    return default


def dataset_provider(dataset_path: Optional[Text], sample_rate: int,
                     frame_rate: int) -> Any:
  """The training data of the run whose gin config is parsed.

  Args:
    dataset_path: A file pattern of TFRecord shards, read with the run's
      TFRecordProvider settings at sample_rate; None uses the run's
      train.data_provider binding.
    sample_rate: The model's audio rate, Hz.
    frame_rate: The default feature rate, frames per second.

  Returns:
    A data provider.

  Raises:
    ValueError: If dataset_path is None and the run binds no
      train.data_provider.
  """
  from ddsp_tf.training import data  # pylint: disable=g-import-not-at-top
  if dataset_path:
    return data.TFRecordProvider(
        files.expand_path(dataset_path),
        example_secs=_query('TFRecordProvider.example_secs', 4),
        sample_rate=sample_rate,
        frame_rate=_query('TFRecordProvider.frame_rate', frame_rate),
        centered=_query('TFRecordProvider.centered', True))
  binding = _query('train.data_provider', None)
  if binding is None:
    raise ValueError(
        'The plugin metadata needs the training data: pass --dataset_path '
        '(the TFRecord file pattern) or --nometadata; the run binds no '
        'train.data_provider.')
  return binding.scoped_configurable_fn()


def statistics_metadata(provider: Any, sample_rate: int, frame_rate: int,
                        frame_size: int, n_harmonics: int,
                        n_noise: int) -> Dict[Text, Any]:
  """The plugin's metadata: dataset statistics of provider and model sizes.

  Args:
    provider: The training data (features framed 'center' at frame_rate).
    sample_rate: The model's audio rate, Hz.
    frame_rate: Feature frames per second.
    frame_size: Window of the power feature, samples.
    n_harmonics: Harmonic amplitudes the decoder predicts.
    n_noise: Noise magnitudes the decoder predicts.

  Returns:
    The keys mean_min/max_pitch_note(_hz), mean_min/max_power_note,
    version, export_time, num_harmonics, num_noise_amps, frame_rate,
    frame_size, sample_rate; plain floats (strict JSON).

  Raises:
    ValueError: If the statistics cannot be computed.
  """
  from ddsp_tf.training import postprocessing  # pylint: disable=g-import-not-at-top
  statistics = postprocessing.compute_dataset_statistics(
      provider, power_frame_size=frame_size, power_frame_rate=frame_rate)
  midi_to_hz = lambda note: float(core.midi_to_hz(note))
  return {
      'mean_min_pitch_note': float(statistics['mean_min_pitch_note']),
      'mean_max_pitch_note': float(statistics['mean_max_pitch_note']),
      'mean_min_pitch_note_hz': midi_to_hz(statistics['mean_min_pitch_note']),
      'mean_max_pitch_note_hz': midi_to_hz(statistics['mean_max_pitch_note']),
      'mean_min_power_note': float(statistics['mean_min_power_note']),
      'mean_max_power_note': float(statistics['mean_max_power_note']),
      'version': version.__version__,
      'export_time': datetime.datetime.now().isoformat(),
      'num_harmonics': int(n_harmonics),
      'num_noise_amps': int(n_noise),
      'frame_rate': int(frame_rate),
      'frame_size': int(frame_size),
      'sample_rate': int(sample_rate),
  }


def plugin_metadata(run: Any, dataset_path: Optional[Text] = None
                    ) -> Dict[Text, Any]:
  """The metadata magenta/ddsp's export computes for the DDSP-VST plugin.

  Args:
    run: A VST inference module of the run (sizes and rates).
    dataset_path: A file pattern of TFRecord shards, or None (see
      dataset_provider).

  Returns:
    The dict of statistics_metadata.

  Raises:
    ValueError: If no dataset is found, or its statistics cannot be
      computed (e.g. features not framed 'center' at the model's rate).
  """
  frame_rate = run.sample_rate // run.hop_size
  provider = dataset_provider(dataset_path, run.sample_rate, frame_rate)
  return statistics_metadata(provider, run.sample_rate, frame_rate,
                             run.frame_size, run.n_harmonics, run.n_noise)


def _saved_model_to_tflite(saved_model_dir: Text, plugin: bool) -> bytes:
  """Converts the 'call' signature (builtin ops; Flex ops only if needed)."""
  converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  try:
    return converter.convert()
  except Exception as error:  # pylint: disable=broad-except
    if plugin:
      raise ValueError(f'The plugin model does not convert to TFLite '
                       f'builtin ops: {error}') from None
    logger.warning('Builtin ops are not enough (%s); adding TF (Flex) ops: '
                   'the .tflite then needs the Flex delegate.', error)
  converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                         tf.lite.OpsSet.SELECT_TF_OPS]
  return converter.convert()


def _move_into(tmp_dir: Text, save_dir: Text) -> None:
  """Moves each entry of tmp_dir into save_dir, replacing what is there."""
  os.makedirs(save_dir, exist_ok=True)
  for entry in sorted(os.listdir(tmp_dir)):
    source, target = (os.path.join(tmp_dir, entry),
                      os.path.join(save_dir, entry))
    if os.path.isdir(source):
      files.replace_directory(source, target)
    else:
      os.replace(source, target)


def export_inference_model(model_path: Text, save_dir: Text = '',
                           name: Text = '',
                           inference_model: Text = 'streaming_f0_pw',
                           tflite: bool = True, tfjs: bool = False,
                           metadata: bool = True,
                           dataset_path: Optional[Text] = None,
                           metadata_file: Optional[Text] = None,
                           reverb: bool = True,
                           reverb_sample_rate: Optional[int] = 44100,
                           gin_params: Sequence[Text] = (),
                           debug: bool = False) -> Text:
  """magenta/ddsp's ddsp_export: a run -> SavedModel, metadata, TFLite.

  For inference_model 'vst_stateless_predict_controls' (the DDSP-VST
  plugin's model) save_dir gets the SavedModel, metadata.json,
  reverb_ir_<rate>_hz.wav and tflite/<name or 'model'>.tflite: exactly the
  plugin's tensors (formats.VST_INPUT_TENSORS / VST_OUTPUT_TENSORS),
  builtin ops of TFLite 2.9, with metadata.json zipped onto its end. Copy
  that file into the plugin's model folder. 'streaming_f0_pw' writes
  ddsp_tf's own export (export_model) instead.

  Args:
    model_path: A run directory, a checkpoint prefix in one, or a SavedModel
      directory written by an earlier export (then only converted).
    save_dir: Output directory; '' uses default_save_dir.
    name: File name of the .tflite (and the default export folder).
    inference_model: A key of INFERENCE_MODELS.
    tflite: Also write tflite/<name>.tflite.
    tfjs: Refused: TF.js conversion is not supported (ValueError).
    metadata: Compute the dataset statistics and write metadata.json (and
      append it to the plugin's .tflite).
    dataset_path: TFRecord file pattern for the statistics; None uses the
      run's train.data_provider.
    metadata_file: A JSON file to append to the .tflite instead.
    reverb: Write the trained reverb's impulse response(s).
    reverb_sample_rate: Also write the impulse response at this rate.
    gin_params: Extra gin bindings applied after the run's config.
    debug: Build and check everything but write nothing.

  Returns:
    save_dir (absolute).

  Raises:
    ValueError: For an unknown inference_model, tfjs, a run that does not
      fit the inference model, or a model the plugin could not load.
    FileNotFoundError: If model_path has no run or checkpoint.
  """
  if inference_model not in INFERENCE_MODELS:
    raise ValueError(f'inference_model must be one of '
                     f'{sorted(INFERENCE_MODELS)}, got {inference_model!r}.')
  if tfjs:
    raise ValueError(TFJS_UNSUPPORTED)
  model_path = files.expand_path(model_path)
  if not tf.io.gfile.exists(model_path) and not tf.io.gfile.exists(
      model_path + '.index'):
    raise FileNotFoundError(f'model_path {model_path!r} does not exist: give '
                            'a run directory, a checkpoint prefix or a '
                            'SavedModel directory.')
  save_dir = files.expand_path(save_dir or default_save_dir(model_path, name))
  is_saved_model = tf.io.gfile.exists(
      os.path.join(model_path, formats.SAVED_MODEL_FILE))
  if inference_model == 'streaming_f0_pw':
    if is_saved_model:
      raise ValueError(f'{model_path!r} is a SavedModel; ddsp_tf\'s own '
                       'export (streaming_f0_pw) needs the training run.')
    run_dir = (model_path if tf.io.gfile.isdir(model_path) else
               os.path.dirname(model_path))
    return export_model(run_dir, save_dir, checkpoint=model_path,
                        overwrite=True, gin_params=gin_params, tflite=tflite)
  plugin = inference_model == PLUGIN_MODEL
  parent = os.path.dirname(save_dir.rstrip('/')) or '.'
  os.makedirs(parent, exist_ok=True)
  tmp_dir = tempfile.mkdtemp(prefix=os.path.basename(save_dir) + '.tmp-',
                             dir=parent)
  try:
    saved_model_dir, meta = model_path, None
    if not is_saved_model:
      gin.clear_config()
      module = INFERENCE_MODELS[inference_model](model_path,
                                                 gin_params=gin_params)
      saved_model_dir = tmp_dir
      module.save_model(tmp_dir)
      logger.info('Wrote the %s SavedModel.', inference_model)
      if reverb:
        trained_reverb = _restored_reverb(
            train_util.get_latest_checkpoint(model_path))
        if trained_reverb is None:
          logger.info('The run has no trained reverb; no impulse response.')
        else:
          write_impulse_responses(trained_reverb, module.sample_rate, tmp_dir,
                                  reverb_sample_rate)
      if metadata and hasattr(module, 'frame_size'):
        meta = plugin_metadata(module, dataset_path)
        files.write_text_atomically(
            os.path.join(tmp_dir, formats.METADATA_FILE),
            json.dumps(meta, indent=2, allow_nan=False))
    if metadata_file:
      meta = read_dataset_statistics(files.expand_path(metadata_file))
    if tflite:
      tflite_model = _saved_model_to_tflite(saved_model_dir, plugin)
      if plugin:
        vst_inference.check_plugin_model(
            tflite_model, n_harmonics=getattr(module, 'n_harmonics', None)
            if not is_saved_model else None,
            n_noise=getattr(module, 'n_noise', None)
            if not is_saved_model else None)
        vst_inference.check_tflite_2_9_ops(tflite_model)
      if meta is not None:
        tflite_model = vst_inference.append_metadata(tflite_model, meta)
      path = os.path.join(tmp_dir, 'tflite', f'{name or "model"}.tflite')
      os.makedirs(os.path.dirname(path), exist_ok=True)
      with open(path, 'wb') as tflite_file:
        tflite_file.write(tflite_model)
      logger.info('Wrote %s (%d bytes).', path, len(tflite_model))
    if not debug:
      _move_into(tmp_dir, save_dir)
  finally:
    shutil.rmtree(tmp_dir, ignore_errors=True)
  return save_dir
