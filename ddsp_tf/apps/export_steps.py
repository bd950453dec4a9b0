"""The steps of magenta/ddsp's ddsp_export script, one public function each.

`ddsp_tf.apps.export.export_inference_model` runs these steps as one flow
(restore, SavedModel, reverb impulse responses, metadata, TFLite); this
module exposes them under the original's names and arguments, built on the
same helpers, for code that calls the steps one by one. They are
re-exported from `ddsp_tf.training.ddsp_export`.

Where the original reads absl flags (--inference_model, --gin_param), the
functions here take keyword arguments instead.
"""

import os
from typing import Any, Dict, Optional, Sequence, Text

import gin
import tensorflow as tf

from ddsp_tf import files
from ddsp_tf.apps import export
from ddsp_tf.training import models
from ddsp_tf.training import train_util
from ddsp_tf.training import vst_inference

# The original's inference model names: the keys of export.INFERENCE_MODELS
# that name a class ('streaming_f0_pw' has none there).
INFERENCE_MODEL_NAMES = tuple(sorted(
    key for key, cls in export.INFERENCE_MODELS.items() if cls is not None))


def ensure_exits(dir_path: Text) -> None:
  """Creates dir_path (and its parents) unless it exists.

  The name keeps the original's spelling.

  Args:
    dir_path: A directory path (gfile paths work).
  """
  if not tf.io.gfile.exists(dir_path):
    tf.io.gfile.makedirs(dir_path)


def _macro(model_path: Text, macro: Text) -> int:
  """An int gin macro of the parsed run config, e.g. %sample_rate."""
  value = export._query(f'%{macro}', None)  # pylint: disable=protected-access
  if value is None:
    raise ValueError(f'The run at {model_path!r} binds no %{macro} gin '
                     'macro (as models/vst/vst.gin does).')
  return int(value)


def _run_sizes(model_path: Text) -> Dict[Text, int]:
  """Rates and sizes of the run at model_path (parses its gin config)."""
  gin.clear_config()
  vst_inference.parse_operative_config(model_path)
  model = models.get_model()
  splits = dict(getattr(getattr(model, 'decoder', None), 'output_splits',
                        None) or ())
  missing = {'harmonic_distribution', 'noise_magnitudes'} - set(splits)
  if missing:
    raise ValueError(f'The metadata needs a decoder predicting '
                     f'harmonic_distribution and noise_magnitudes; the run '
                     f'at {model_path!r} has output_splits {splits}.')
  sizes = {'n_harmonics': int(splits['harmonic_distribution']),
           'n_noise': int(splits['noise_magnitudes'])}
  for macro in ('sample_rate', 'frame_rate', 'frame_size'):
    sizes[macro] = _macro(model_path, macro)
  return sizes


def get_data_provider(dataset_path: Optional[Text], model_path: Text) -> Any:
  """The training data of a run, for the dataset statistics.

  Args:
    dataset_path: A file pattern of TFRecord shards; None uses the run's
      train.data_provider gin binding.
    model_path: The run directory or a checkpoint prefix in it (its
      operative gin config is parsed into the global config).

  Returns:
    A data provider.

  Raises:
    FileNotFoundError: If model_path holds no operative config.
    ValueError: If dataset_path is None and the run binds no
      train.data_provider.
  """
  sizes = _run_sizes(model_path)
  return export.dataset_provider(dataset_path, sizes['sample_rate'],
                                 sizes['frame_rate'])


def get_metadata_dict(data_provider: Any, model_path: Text) -> Dict[Text, Any]:
  """The plugin metadata: statistics of data_provider and the run's sizes.

  Args:
    data_provider: The training data (see get_data_provider).
    model_path: The run directory or a checkpoint prefix in it.

  Returns:
    The original's keys: mean_min/max_pitch_note(_hz),
    mean_min/max_power_note, version, export_time, num_harmonics,
    num_noise_amps, frame_rate, frame_size, sample_rate.

  Raises:
    FileNotFoundError: If model_path holds no operative config.
    ValueError: If the run lacks the sizes or the statistics fail.
  """
  sizes = _run_sizes(model_path)
  return export.statistics_metadata(
      data_provider, sizes['sample_rate'], sizes['frame_rate'],
      sizes['frame_size'], sizes['n_harmonics'], sizes['n_noise'])


def get_inference_model(ckpt: Text, inference_model: Text = 'autoencoder',
                        gin_params: Sequence[Text] = ()) -> Any:
  """An inference module of a run, restored from its checkpoint.

  Replaces the global gin config with the run's.

  Args:
    ckpt: The run directory or a checkpoint prefix in it.
    inference_model: One of INFERENCE_MODEL_NAMES: 'autoencoder',
      'vst_extract_features', 'vst_predict_controls',
      'vst_stateless_predict_controls', 'vst_synthesize',
      'vst_synthesize_harmonic', 'vst_synthesize_noise' (the original's
      --inference_model, the snake_case class name).
    gin_params: Extra gin bindings for the module (the original's
      --gin_param).

  Returns:
    The restored tf.Module (has save_model(save_dir)).

  Raises:
    ValueError: For another inference_model, or a run that does not fit it.
    FileNotFoundError: If ckpt holds no run or checkpoint.
  """
  if inference_model not in INFERENCE_MODEL_NAMES:
    raise ValueError(f'inference_model must be one of '
                     f'{list(INFERENCE_MODEL_NAMES)}, got '
                     f'{inference_model!r}.')
  gin.clear_config()
  return export.INFERENCE_MODELS[inference_model](
      files.expand_path(ckpt), gin_params=list(gin_params))


def ckpt_to_saved_model(ckpt: Text, save_dir: Text,
                        inference_model: Text = 'autoencoder',
                        gin_params: Sequence[Text] = ()) -> Text:
  """Writes a run's inference module as a SavedModel in save_dir.

  Args:
    ckpt: The run directory or a checkpoint prefix in it.
    save_dir: Directory of the SavedModel.
    inference_model: See get_inference_model.
    gin_params: See get_inference_model.

  Returns:
    save_dir.
  """
  get_inference_model(ckpt, inference_model, gin_params).save_model(save_dir)
  return save_dir


def saved_model_to_tfjs(input_dir: Text, save_dir: Text) -> None:
  """Not supported: TF.js conversion needs the tensorflowjs package.

  Args:
    input_dir: A SavedModel directory.
    save_dir: Directory of the TF.js model.

  Raises:
    NotImplementedError: Always; tensorflowjs cannot be installed beside
      TF 2.21 (the message says how to convert elsewhere).
  """
  raise NotImplementedError(
      f'Cannot convert {input_dir!r} to {save_dir!r}: {export.TFJS_UNSUPPORTED}')


def saved_model_to_tflite(input_dir: Text, save_dir: Text,
                          metadata_file: Optional[Text] = None,
                          name: Text = '') -> Text:
  """Converts a SavedModel to save_dir/<name or 'model'>.tflite.

  Builtin ops are used when they suffice, else TF (Flex) ops are added.

  Args:
    input_dir: A SavedModel directory.
    save_dir: Directory of the .tflite (created if missing).
    metadata_file: A JSON file whose object is zipped onto the end of the
      .tflite as metadata.json (as the DDSP-VST plugin reads it); None or
      '' appends nothing.
    name: File name stem; '' gives 'model'.

  Returns:
    The path written.

  Raises:
    FileNotFoundError: If input_dir holds no SavedModel, or metadata_file
      is missing.
  """
  input_dir = files.expand_path(input_dir)
  if not tf.io.gfile.exists(os.path.join(input_dir, 'saved_model.pb')):
    raise FileNotFoundError(f'input_dir {input_dir!r} holds no '
                            'saved_model.pb.')
  metadata = (export.read_dataset_statistics(files.expand_path(metadata_file))
              if metadata_file else None)
  tflite_model = export._saved_model_to_tflite(  # pylint: disable=protected-access
      input_dir, plugin=False)
  if metadata is not None:
    tflite_model = vst_inference.append_metadata(tflite_model, metadata)
  ensure_exits(save_dir)
  path = os.path.join(save_dir, f'{name or "model"}.tflite')
  with tf.io.gfile.GFile(path, 'wb') as tflite_file:
    tflite_file.write(tflite_model)
  return path


def export_impulse_response(model_path: Text, save_dir: Text,
                            target_sr: Optional[int] = None) -> Sequence[Text]:
  """Writes the trained reverb's impulse response as reverb_ir_<rate>_hz.wav.

  Args:
    model_path: The run directory or a checkpoint prefix in it.
    save_dir: Directory of the wav files (created if missing).
    target_sr: Also write the response resampled to this rate, Hz.

  Returns:
    The paths written.

  Raises:
    FileNotFoundError: If model_path holds no run or checkpoint.
    ValueError: If the run has no trainable reverb.
  """
  model_path = files.expand_path(model_path)
  prefix = train_util.get_latest_checkpoint(model_path)
  gin.clear_config()
  vst_inference.parse_operative_config(model_path)
  sample_rate = _macro(model_path, 'sample_rate')
  reverb = export._restored_reverb(prefix)  # pylint: disable=protected-access
  if reverb is None:
    raise ValueError(f'The run at {model_path!r} has no trainable Reverb, so '
                     'no impulse response to export.')
  ensure_exits(save_dir)
  return export.write_impulse_responses(reverb, sample_rate,
                                        save_dir, target_sr)
