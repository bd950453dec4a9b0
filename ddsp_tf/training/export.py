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
from ddsp_tf import effects
from ddsp_tf import spectral_ops
from ddsp_tf import synths
from ddsp_tf import version
from ddsp_tf.training import models
from ddsp_tf.training import train_util

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
METADATA_FILE = 'metadata.json'
OPERATIVE_CONFIG_FILE = 'operative_config.gin'
REVERB_IR_FILE = 'reverb_ir.wav'
STATS_FILE = 'stats.json'
CREPE_CAPACITIES = ('tiny', 'small', 'medium', 'large', 'full')

TensorDict = Dict[Text, tf.Tensor]
_FEATURE_SPEC = tf.TensorSpec([None, None], tf.float32)


# ----------------------------------------------------------------------------
# The module that is saved.
# ----------------------------------------------------------------------------
def _first_node(processor_group, layer_type) -> Optional[Any]:
  """(name, input_keys, module) of the group's first node of a type."""
  for name, input_keys, _ in processor_group.dag:
    module = processor_group.dag_modules[name]
    if isinstance(module, layer_type):
      return name, input_keys, module
  return None


def _fft_resample(audio: tf.Tensor, n_out: tf.Tensor) -> tf.Tensor:
  """Band-limited resampling of [batch, n_in] audio to n_out samples by FFT.

  The spectrum is cut (or zero-padded) to n_out // 2 + 1 bins and scaled by
  n_out / n_in, so a sine below both Nyquists keeps its amplitude.
  """
  n_in = tf.shape(audio)[1]
  spectrum = tf.signal.rfft(audio, [n_in])
  n_bins = n_out // 2 + 1
  spectrum = spectrum[:, :n_bins]
  spectrum = tf.pad(spectrum, [[0, 0], [0, n_bins - tf.shape(spectrum)[1]]])
  scale = tf.cast(n_out, tf.float32) / tf.cast(n_in, tf.float32)
  return tf.signal.irfft(spectrum, [n_out]) * scale


class ExportModule(tf.Module):
  """A trained DDSP model with the export contract's two signatures.

  Keeps explicit lists of the Keras model's and CREPE's variables: a
  tf.Module does not track the variables of Keras 3 models it holds.
  """

  def __init__(self, model: models.Model, crepe_model: Text = 'tiny',
               centered: bool = False):
    """Makes the model length-polymorphic and loads CREPE.

    Args:
      model: A built, restored Autoencoder-like model with an
        F0LoudnessPreprocessor-like preprocessor (time_steps, frame_rate,
        sample_rate), no encoder, and a ProcessorGroup. Its preprocessor and
        synths are switched to any-length mode (changed in place).
      crepe_model: CREPE capacity for 'audio_to_audio'.
      centered: Frame features like data prepared with --center.

    Raises:
      ValueError: For a model this export cannot serve from f0 and loudness
        alone, or rates that do not fit together.
    """
    super().__init__()
    if crepe_model not in CREPE_CAPACITIES:
      raise ValueError(f'crepe_model must be one of {list(CREPE_CAPACITIES)}, '
                       f'got crepe_model={crepe_model!r}.')
    preprocessor = getattr(model, 'preprocessor', None)
    group = getattr(model, 'processor_group', None)
    if preprocessor is None or group is None or not all(
        hasattr(preprocessor, key)
        for key in ('time_steps', 'frame_rate', 'sample_rate')):
      raise ValueError(
          'export needs a model with a frame preprocessor (e.g. '
          'F0LoudnessPreprocessor) and a processor_group, got '
          f'{type(model).__name__} with preprocessor={preprocessor!r}.')
    if getattr(model, 'encoder', None) is not None:
      raise ValueError(
          'export serves models that decode from f0 and loudness alone; this '
          f'model has an encoder ({type(model.encoder).__name__}) whose z '
          'needs the audio.')
    self.sample_rate = int(preprocessor.sample_rate)
    self.frame_rate = int(preprocessor.frame_rate)
    self.hop_size = self.sample_rate // self.frame_rate
    self.crepe_model = crepe_model
    self.padding = 'center' if centered else 'same'
    self._prepare_model(model, preprocessor, group)
    self.model = model
    self.model_variables = list(model.variables)
    self.crepe = spectral_ops.PretrainedCREPE(
        crepe_model, hop_size=spectral_ops.CREPE_SAMPLE_RATE // self.frame_rate)
    self.crepe_variables = list(self.crepe.variables)
    self.serve = tf.function(self._serve,
                             input_signature=[_FEATURE_SPEC, _FEATURE_SPEC])
    self.audio_to_audio = tf.function(
        self._audio_to_audio,
        input_signature=[tf.TensorSpec([None, None], tf.float32)])

  def _prepare_model(self, model, preprocessor, group) -> None:
    """Switches the preprocessor and synths to any length; finds the nodes."""
    if spectral_ops.CREPE_SAMPLE_RATE % self.frame_rate:
      raise ValueError(f'frame_rate {self.frame_rate} must divide '
                       f'{spectral_ops.CREPE_SAMPLE_RATE} (the CREPE rate).')
    training_frames = preprocessor.time_steps
    self.harmonic = _first_node(group, synths.Harmonic)
    self.noise = _first_node(group, synths.FilteredNoise)
    self.reverb = _first_node(group, effects.Reverb)
    for node in (self.harmonic, self.noise):
      if node is None:
        continue
      synth = node[2]
      if training_frames is None or synth.n_samples % training_frames:
        raise ValueError(
            f'{synth.name}: n_samples={synth.n_samples} is not a multiple of '
            f'the preprocessor time_steps={training_frames}.')
      if synth.n_samples // training_frames != self.hop_size:
        raise ValueError(
            f'{synth.name}: n_samples / time_steps = '
            f'{synth.n_samples // training_frames} samples per frame, but '
            f'sample_rate / frame_rate = {self.hop_size}.')
      synth.set_samples_per_frame(self.hop_size)
    if (self.harmonic is not None and
        self.harmonic[2].sample_rate != self.sample_rate):
      raise ValueError(
          f'Harmonic sample_rate {self.harmonic[2].sample_rate} differs '
          f'from the preprocessor sample_rate {self.sample_rate}.')
    preprocessor.time_steps = None
    if hasattr(preprocessor, 'compute_loudness'):
      preprocessor.compute_loudness = False

  def _serve(self, f0_hz: tf.Tensor, loudness_db: tf.Tensor) -> TensorDict:
    """Features -> audio, audio_dry and controls (see the module doc)."""
    outputs = self.model({'f0_hz': f0_hz, 'loudness_db': loudness_db},
                         training=False)
    audio = outputs['audio_synth']
    result = {'audio': audio, 'audio_dry': audio}
    if self.reverb is not None:
      result['audio_dry'] = core.nested_lookup(self.reverb[1][0], outputs)
    if self.harmonic is not None:
      controls = outputs[self.harmonic[0]]['controls']
      result['amps'] = controls['amplitudes']
      result['harmonic_distribution'] = controls['harmonic_distribution']
    if self.noise is not None:
      result['noise_magnitudes'] = outputs[self.noise[0]]['controls'][
          'magnitudes']
    return result

  def _features(self, audio: tf.Tensor) -> TensorDict:
    """f0_hz, f0_confidence and loudness_db of audio, [batch, n_frames]."""
    n_frames = tf.shape(audio)[1] // self.hop_size
    audio_16k = audio
    if self.sample_rate != spectral_ops.CREPE_SAMPLE_RATE:
      audio_16k = _fft_resample(audio, n_frames * self.crepe.hop_size)
    f0_hz, confidence = self.crepe.predict_f0_and_confidence(
        audio_16k, viterbi=False, padding=self.padding)
    loudness_db = spectral_ops.compute_loudness(
        audio, sample_rate=self.sample_rate, frame_rate=self.frame_rate,
        padding=self.padding)
    features = {'f0_hz': f0_hz, 'f0_confidence': confidence,
                'loudness_db': loudness_db}
    if self.padding == 'center':
      # n_frames + 1 centred frames, resampled as the preprocessor does.
      features = {key: core.resample(value[..., tf.newaxis], n_frames)[..., 0]
                  for key, value in features.items()}
    return features

  def _audio_to_audio(self, audio: tf.Tensor) -> TensorDict:
    """Audio -> features -> everything serving_default returns."""
    check = tf.debugging.assert_equal(
        tf.math.floormod(tf.shape(audio)[1], self.hop_size), 0,
        message=f'audio_to_audio needs n_samples to be a multiple of hop_size '
        f'{self.hop_size}')
    with tf.control_dependencies([check]):
      audio = tf.identity(audio)
    features = self._features(audio)
    outputs = self._serve(features['f0_hz'], features['loudness_db'])
    outputs.update(features)
    return outputs

  def signatures(self) -> Dict[Text, Any]:
    """The concrete functions to save, by signature name."""
    return {'serving_default': self.serve.get_concrete_function(),
            'audio_to_audio': self.audio_to_audio.get_concrete_function()}


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
  path = os.path.join(os.path.dirname(pattern), STATS_FILE)
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


def _move_into_place(tmp_dir: Text, export_dir: Text) -> None:
  """Renames tmp_dir to export_dir, replacing an existing directory."""
  if not os.path.exists(export_dir):
    os.rename(tmp_dir, export_dir)
    return
  old_dir = tempfile.mkdtemp(prefix=os.path.basename(export_dir) + '.old-',
                             dir=os.path.dirname(export_dir))
  os.rename(export_dir, os.path.join(old_dir, 'export'))
  os.rename(tmp_dir, export_dir)
  shutil.rmtree(old_dir, ignore_errors=True)


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
                 gin_params: Sequence[Text] = ()) -> Text:
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

  Returns:
    export_dir (absolute).

  Raises:
    FileNotFoundError: If save_dir has no operative config, there is no
      checkpoint, or the statistics file is missing.
    FileExistsError: If export_dir is not empty and overwrite is False.
    ValueError: For a bad crepe_model or a model the export cannot serve.
  """
  start = time.time()
  save_dir = train_util.expand_path(save_dir)
  export_dir = train_util.expand_path(export_dir)
  if crepe_model not in CREPE_CAPACITIES:
    raise ValueError(f'crepe_model must be one of {list(CREPE_CAPACITIES)}, '
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
  module = ExportModule(model, crepe_model=crepe_model,
                        centered=_centered_data())
  signatures = module.signatures()
  controls = signatures['serving_default'].structured_outputs

  def size(key: Text) -> int:
    return int(controls[key].shape[-1]) if key in controls else 0

  has_reverb = module.reverb is not None and module.reverb[2].trainable
  metadata = {
      'format_version': FORMAT_VERSION,
      'ddsp_tf_version': version.__version__,
      'export_time': datetime.datetime.now(datetime.timezone.utc).strftime(
          '%Y-%m-%dT%H:%M:%SZ'),
      'sample_rate': module.sample_rate,
      'frame_rate': module.frame_rate,
      'hop_size': module.hop_size,
      'n_harmonics': size('harmonic_distribution'),
      'n_noise_magnitudes': size('noise_magnitudes'),
      'has_reverb': has_reverb,
      'reverb_ir_file': REVERB_IR_FILE if has_reverb else None,
      'crepe_model': crepe_model,
      'model': type(model).__name__,
      'training_step': _checkpoint_step(prefix),
      'dataset_statistics': statistics,
  }

  parent = os.path.dirname(export_dir)
  os.makedirs(parent, exist_ok=True)
  tmp_dir = tempfile.mkdtemp(prefix=os.path.basename(export_dir) + '.tmp-',
                             dir=parent)
  try:
    logger.info('Writing the SavedModel.')
    tf.saved_model.save(module, tmp_dir, signatures=signatures)
    with open(os.path.join(tmp_dir, METADATA_FILE), 'w',
              encoding='utf-8') as metadata_file:
      json.dump(metadata, metadata_file, indent=2)
    shutil.copyfile(operative_config,
                    os.path.join(tmp_dir, OPERATIVE_CONFIG_FILE))
    if has_reverb:
      sf.write(os.path.join(tmp_dir, REVERB_IR_FILE),
               reverb_room_response(module.reverb[2]), module.sample_rate,
               subtype='FLOAT')
    _move_into_place(tmp_dir, export_dir)
  except BaseException:
    shutil.rmtree(tmp_dir, ignore_errors=True)
    raise
  logger.info('Exported step %d to %s in %.1f s.', metadata['training_step'],
              export_dir, time.time() - start)
  return export_dir
