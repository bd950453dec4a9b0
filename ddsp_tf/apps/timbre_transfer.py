"""Timbre transfer with exported models: load, analyse, adjust, resynthesize.

An export directory (see ddsp_tf_export and `ddsp_tf.apps.export`) holds a
TF SavedModel with two signatures, 'serving_default' (f0_hz, loudness_db ->
audio) and 'audio_to_audio', plus metadata.json (rates, the dataset
statistics) and, for models with a learned room, reverb_ir.wav. `load_model`
checks all of that up front and returns an `ExportedModel`.

Timbre transfer, as in the original's Colab, is: features of new audio
(`compute_features`: CREPE f0 with Viterbi decoding and A-weighted loudness
at the model's rates), adjusted towards what the model was trained on
(`ddsp_tf.training.postprocessing.adjust_features`: note detection,
octave shift, loudness quantile normalisation, auto-tune), then
resynthesized (`ExportedModel.resynthesize`). `timbre_transfer` does all
three.

Independent control: `postprocessing.shift_pitch` and
`postprocessing.shift_loudness` take a constant or a per-frame curve,
`resynthesize(..., dry=True)` returns the signal before the model's reverb,
and `apply_reverb_ir` convolves any audio with any room response, e.g. a
model's `reverb_ir()` or a measured one.
"""

import json
import logging
import math
import os
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import scipy.signal
import soundfile as sf
import tensorflow as tf

from ddsp_tf import crepe
from ddsp_tf import files
from ddsp_tf import formats
from ddsp_tf import pitch
from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.training import postprocessing

logger = logging.getLogger(__name__)

_REQUIRED_METADATA = ('format_version', 'sample_rate', 'frame_rate',
                      'hop_size', 'has_reverb', 'reverb_ir_file',
                      'dataset_statistics')

# Loudness frames are at least this long (samples), like the training
# preprocessor's spectral_ops.compute_loudness default.
LOUDNESS_N_FFT = 512
# Larger polyphase factors than this make resample_poly's filter impractical.
_MAX_RESAMPLE_FACTOR = 1000
_FEATURE_PADDINGS = ('center', 'same')

ArrayLike = Union[np.ndarray, float, list]


class ExportError(ValueError):
  """A directory that is not a usable ddsp_tf export; the message says why."""


# ----------------------------------------------------------------------------
# Small helpers.
# ----------------------------------------------------------------------------
def _resample_factors(from_rate: int, to_rate: int, what: str) -> Tuple[int,
                                                                        int]:
  """Polyphase (up, down) factors; raises when they are impractically large."""
  divisor = math.gcd(from_rate, to_rate)
  up, down = to_rate // divisor, from_rate // divisor
  if max(up, down) > _MAX_RESAMPLE_FACTOR:
    raise ValueError(
        f'Cannot resample {what} from {from_rate} Hz to {to_rate} Hz: the '
        f'rates reduce to the ratio {up}/{down}, too fine for a polyphase '
        f'filter (factors up to {_MAX_RESAMPLE_FACTOR} are supported). '
        f'Convert it to {to_rate} Hz (or a nearby common rate) first, e.g. '
        'with sox.')
  return up, down


def resample_audio(audio: np.ndarray, from_rate: int, to_rate: int,
                   what: str = 'the audio') -> np.ndarray:
  """Band-limited polyphase resampling along the last axis.

  Args:
    audio: Samples at from_rate, time on the last axis.
    from_rate: Their sample rate in Hz.
    to_rate: The wanted sample rate in Hz.
    what: What the audio is, for the error message.

  Returns:
    The audio at to_rate (the same array if the rates are equal).

  Raises:
    ValueError: If the rates reduce to an impractically fine ratio.
  """
  if from_rate == to_rate:
    return audio
  up, down = _resample_factors(from_rate, to_rate, what)
  return scipy.signal.resample_poly(audio, up, down, axis=-1)


# ----------------------------------------------------------------------------
# Loading exports.
# ----------------------------------------------------------------------------
def _read_metadata(export_dir: str) -> Dict[str, Any]:
  """Reads and checks metadata.json; raises ExportError with the reason."""
  path = os.path.join(export_dir, formats.METADATA_FILE)
  try:
    with open(path, encoding='utf-8') as metadata_file:
      metadata = json.load(metadata_file)
  except json.JSONDecodeError as error:
    raise ExportError(f'{path} is not valid JSON ({error}); re-export the '
                      'model with ddsp_tf_export.') from None
  if not isinstance(metadata, dict):
    raise ExportError(f'{path} must hold a JSON object, got '
                      f'{type(metadata).__name__}; re-export the model with '
                      'ddsp_tf_export.')
  if 'format_version' not in metadata:
    raise ExportError(
        f'{path} has no format_version; this ddsp_tf reads export format '
        f'version {formats.EXPORT_FORMAT_VERSION}. Re-export the model with '
        'ddsp_tf_export from this ddsp_tf.')
  if metadata['format_version'] != formats.EXPORT_FORMAT_VERSION:
    raise ExportError(
        f'{export_dir} is export format version '
        f'{metadata["format_version"]!r}, but this ddsp_tf reads version '
        f'{formats.EXPORT_FORMAT_VERSION}. Re-export the model with '
        'ddsp_tf_export from this ddsp_tf (or use the ddsp_tf that made it).')
  missing = [key for key in _REQUIRED_METADATA if key not in metadata]
  if missing:
    raise ExportError(f'{path} lacks the key(s) {missing}; re-export the '
                      'model with ddsp_tf_export.')
  for key in ('sample_rate', 'frame_rate', 'hop_size'):
    value = metadata[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ExportError(f'{path}: {key} must be a positive integer, got '
                        f'{value!r}.')
  if metadata['hop_size'] * metadata['frame_rate'] != metadata['sample_rate']:
    raise ExportError(
        f'{path}: hop_size {metadata["hop_size"]} times frame_rate '
        f'{metadata["frame_rate"]} must equal sample_rate '
        f'{metadata["sample_rate"]}.')
  if metadata['has_reverb'] and not metadata['reverb_ir_file']:
    raise ExportError(f'{path}: has_reverb is true but reverb_ir_file is '
                      f'{metadata["reverb_ir_file"]!r}.')
  return metadata


def load_model(export_dir: str) -> 'ExportedModel':
  """Loads an export directory written by ddsp_tf_export.

  Args:
    export_dir: The directory holding saved_model.pb, variables/ and
      metadata.json.

  Returns:
    The ExportedModel.

  Raises:
    FileNotFoundError: If export_dir does not exist.
    ExportError: If it is not an export (no saved_model.pb or metadata.json),
      its format_version is missing or not the one this ddsp_tf reads, its
      metadata is incomplete, or a signature is missing.
  """
  export_dir = files.expand_path(export_dir)
  if not os.path.exists(export_dir):
    raise FileNotFoundError(f'Export directory {export_dir} does not exist; '
                            'make one with ddsp_tf_export.')
  if not os.path.isdir(export_dir):
    raise ExportError(f'{export_dir} is a file, not an export directory.')
  lacking = [name for name in (formats.SAVED_MODEL_FILE, formats.METADATA_FILE)
             if not os.path.isfile(os.path.join(export_dir, name))]
  if lacking:
    raise ExportError(
        f'{export_dir} is not a ddsp_tf export: it has no '
        f'{" or ".join(lacking)}. Point to the directory ddsp_tf_export '
        'wrote (not the training run directory), or export the run with '
        'ddsp_tf_export.')
  metadata = _read_metadata(export_dir)
  try:
    module = tf.saved_model.load(export_dir)
  except (OSError, ValueError, tf.errors.OpError) as error:
    raise ExportError(f'{export_dir}: the SavedModel does not load '
                      f'({type(error).__name__}: {error}); re-export the '
                      'model with ddsp_tf_export.') from None
  missing = [
      name for name in formats.EXPORT_SIGNATURES
      if name not in module.signatures
  ]
  if missing:
    raise ExportError(
        f'{export_dir}: the SavedModel lacks the signature(s) {missing} (it '
        f'has {sorted(module.signatures)}); re-export the model with '
        'ddsp_tf_export.')
  return ExportedModel(export_dir, module, metadata)


class ExportedModel:
  """A loaded export: its metadata and resynthesis from f0 and loudness.

  Use `load_model` to make one.
  """

  def __init__(self, export_dir: str, module: Any, metadata: Dict[str, Any]):
    """Wraps a loaded SavedModel.

    Args:
      export_dir: Where it was loaded from.
      module: The tf.saved_model.load result, with the contract signatures.
      metadata: The checked metadata.json contents.
    """
    self.export_dir = export_dir
    self.metadata = metadata
    # The raw SavedModel; module.signatures['audio_to_audio'] computes
    # features in the graph (no Viterbi) and resynthesizes.
    self.module = module
    self._serve = module.signatures['serving_default']

  @property
  def sample_rate(self) -> int:
    """Audio samples per second of the model's output."""
    return int(self.metadata['sample_rate'])

  @property
  def frame_rate(self) -> int:
    """Feature frames per second of the model's inputs."""
    return int(self.metadata['frame_rate'])

  @property
  def hop_size(self) -> int:
    """Audio samples per feature frame."""
    return int(self.metadata['hop_size'])

  @property
  def dataset_statistics(self) -> Optional[Dict[str, Any]]:
    """The training set's stats.json contents, or None when unknown."""
    return self.metadata['dataset_statistics']

  @property
  def feature_padding(self) -> str:
    """Framing of the training features, 'same' or 'center'.

    Exports that predate the metadata key read 'same', the default of
    ddsp_tf_prepare_tfrecord.
    """
    padding = self.metadata.get('feature_padding', 'same')
    if padding not in _FEATURE_PADDINGS:
      raise ExportError(
          f'{self.export_dir}: metadata feature_padding must be one of '
          f'{list(_FEATURE_PADDINGS)}, got {padding!r}; re-export the model '
          'with ddsp_tf_export.')
    return padding

  @property
  def f0_estimator(self) -> str:
    """The pitch tracker that made the training features.

    Read from the metadata's 'f0_estimator', else from its dataset
    statistics (stats.json records it), else 'crepe' (exports and datasets
    that predate the choice).
    """
    statistics = self.dataset_statistics or {}
    estimator = self.metadata.get('f0_estimator') or statistics.get(
        'f0_estimator') or 'crepe'
    if estimator not in pitch.F0_ESTIMATORS:
      raise ExportError(
          f'{self.export_dir}: metadata f0_estimator must be one of '
          f'{list(pitch.F0_ESTIMATORS)}, got {estimator!r}; re-export the '
          'model with ddsp_tf_export.')
    return estimator

  @property
  def crepe_hop_ms(self) -> Optional[float]:
    """CREPE's analysis hop (ms) for the training features; None = frame hop."""
    if 'crepe_hop_ms' in self.metadata:
      return self.metadata['crepe_hop_ms']
    return (self.dataset_statistics or {}).get('crepe_hop_ms')

  @property
  def has_reverb(self) -> bool:
    """Whether the model has a learned room (and a reverb_ir.wav)."""
    return bool(self.metadata['has_reverb'])

  def resynthesize(self, f0_hz: ArrayLike, loudness_db: ArrayLike,
                   dry: bool = False) -> Dict[str, np.ndarray]:
    """Runs the model on pitch and loudness curves.

    Args:
      f0_hz: Pitch in Hz, [n_frames] or [batch, n_frames], at frame_rate.
      loudness_db: Loudness in dB (compute_loudness's scale), same shape.
      dry: Make 'audio' the signal before the model's reverb.

    Returns:
      The signature's outputs as float32 numpy arrays, without the batch axis
      for 1-D inputs: 'audio' and 'audio_dry' [batch, n_frames * hop_size],
      and the synth controls (e.g. 'amps' [batch, n_frames, 1]). With dry,
      'audio' equals 'audio_dry'.

    Raises:
      ValueError: For a bad rank, empty input, shapes that differ, NaN or
        Inf values, or dry=True on a model without reverb.
    """
    if dry and not self.has_reverb:
      raise ValueError(
          f'dry=True asks for the signal before the reverb, but the model in '
          f'{self.export_dir} has no reverb; its output is already dry. Pass '
          'dry=False.')
    layout = '[n_frames] or [batch, n_frames]'
    f0_hz = validation.check_finite_array('f0_hz', f0_hz, (1, 2), layout)
    loudness_db = validation.check_finite_array('loudness_db', loudness_db,
                                                (1, 2), layout)
    if f0_hz.shape != loudness_db.shape:
      raise ValueError(f'f0_hz and loudness_db must have the same shape, got '
                       f'{list(f0_hz.shape)} and {list(loudness_db.shape)}.')
    is_1d = f0_hz.ndim == 1
    outputs = self._serve(
        f0_hz=tf.constant(np.atleast_2d(f0_hz), tf.float32),
        loudness_db=tf.constant(np.atleast_2d(loudness_db), tf.float32))
    outputs = {key: value.numpy() for key, value in outputs.items()}
    if dry:
      outputs['audio'] = outputs['audio_dry']
    if is_1d:
      outputs = {key: value[0] for key, value in outputs.items()}
    return outputs

  def reverb_ir(self) -> np.ndarray:
    """The model's room response, read from its reverb IR file.

    Returns:
      float32 [ir_size] at the model's sample_rate; `apply_reverb_ir` applies
      it to any audio.

    Raises:
      ValueError: If the model has no reverb, or the file's rate is not the
        model's.
      FileNotFoundError: If the file is missing from the export.
    """
    if not self.has_reverb:
      raise ValueError(f'The model in {self.export_dir} has no reverb, so it '
                       'has no room response to read.')
    path = os.path.join(self.export_dir, self.metadata['reverb_ir_file'])
    if not os.path.isfile(path):
      raise FileNotFoundError(f'{path} is missing from the export; re-export '
                              'the model with ddsp_tf_export.')
    ir, rate = sf.read(path, dtype='float32', always_2d=True)
    if rate != self.sample_rate:
      raise ValueError(f'{path} is at {rate} Hz, but the model runs at '
                       f'{self.sample_rate} Hz; re-export the model.')
    return ir[:, 0]


# ----------------------------------------------------------------------------
# Features.
# ----------------------------------------------------------------------------
def to_mono(audio: Any, name: str = 'audio') -> np.ndarray:
  """Float64 mono audio from [n_samples] or a 2-D multi-channel array.

  A 2-D array is one multi-channel recording, [n_samples, channels] (as
  soundfile reads it) or [channels, n_samples]: the shorter axis is taken as
  the channels, which are averaged (logged). Batches of separate clips are
  not accepted; process them one at a time.

  Args:
    audio: [n_samples], [n_samples, channels] or [channels, n_samples].
    name: The argument's name, for messages.

  Returns:
    float64 [n_samples].

  Raises:
    ValueError: For rank 0 or > 2, empty audio, a square 2-D array (the
      channel axis is ambiguous), or NaN/Inf samples.
  """
  audio = validation.check_finite_array(
      name, audio, (1, 2),
      '[n_samples] (mono), [n_samples, channels] or [channels, n_samples]')
  if audio.ndim == 2:
    n_rows, n_columns = audio.shape
    if n_rows == n_columns:
      raise ValueError(
          f'{name} has shape {list(audio.shape)}: cannot tell the channel '
          'axis from the time axis; pass mono [n_samples] audio.')
    channel_axis = 0 if n_rows < n_columns else 1
    logger.info('Mixing %d channels of %s to mono.', audio.shape[channel_axis],
                name)
    audio = np.mean(audio, axis=channel_axis)
  return audio


def _model_rate_audio(audio: Any, sample_rate: int, model_sample_rate: int,
                      frame_rate: int, padding: str,
                      needs_crepe_window: bool) -> Tuple[np.ndarray, int]:
  """Checks the arguments of a feature function; returns (audio, hop_size).

  The audio comes back mono, at model_sample_rate, float32 and trimmed to a
  whole number of frames.
  """
  sample_rate = validation.check_rate('sample_rate', sample_rate)
  model_sample_rate = validation.check_rate('model_sample_rate',
                                            model_sample_rate)
  frame_rate = validation.check_rate('frame_rate', frame_rate)
  validation.check_choice('padding', padding, _FEATURE_PADDINGS)
  if model_sample_rate % frame_rate or (spectral_ops.CREPE_SAMPLE_RATE %
                                        frame_rate):
    raise ValueError(
        f'frame_rate must divide both model_sample_rate and CREPE\'s 16000 Hz '
        f'so that hops are whole samples, got frame_rate={frame_rate}, '
        f'model_sample_rate={model_sample_rate}.')
  hop_size = model_sample_rate // frame_rate
  audio = to_mono(audio)
  min_seconds, needed = 1.0 / frame_rate, 'one frame'
  if needs_crepe_window:
    min_seconds = max(min_seconds,
                      crepe.FRAME_SIZE / spectral_ops.CREPE_SAMPLE_RATE)
    needed = 'one frame and one CREPE window'
  if audio.shape[0] < min_seconds * sample_rate:
    raise ValueError(
        f'audio is too short: {audio.shape[0]} samples at {sample_rate} Hz '
        f'({audio.shape[0] / sample_rate:.4f} s); features need at least '
        f'{min_seconds:.4f} s ({needed}).')
  audio = resample_audio(audio, sample_rate, model_sample_rate, 'the audio')
  n_frames = audio.shape[0] // hop_size
  return audio[:n_frames * hop_size].astype(np.float32), hop_size


def _loudness(audio: np.ndarray, model_sample_rate: int, frame_rate: int,
              hop_size: int, padding: str) -> np.ndarray:
  """Loudness as the training preprocessor computes it, [n_frames]."""
  loudness_db = spectral_ops.compute_loudness(
      audio, sample_rate=model_sample_rate, frame_rate=frame_rate,
      n_fft=max(LOUDNESS_N_FFT, hop_size), padding=padding, use_tf=False)
  return np.asarray(loudness_db[:audio.shape[0] // hop_size], np.float32)


def compute_loudness(audio: Any, sample_rate: int,
                     model_sample_rate: int = 16000, frame_rate: int = 250,
                     padding: str = 'center') -> np.ndarray:
  """The loudness feature of `compute_features` alone, without CREPE.

  For analysing audio whose pitch is known or not needed; it is much faster
  than `compute_features`. Same arguments, framing and errors.

  Args:
    audio: [n_samples] mono audio, or a 2-D multi-channel array.
    sample_rate: Rate of `audio` in Hz.
    model_sample_rate: The model's sample rate.
    frame_rate: The model's frame rate; it must divide model_sample_rate and
      16000.
    padding: 'center' or 'same' framing.

  Returns:
    float32 [n_frames] A-weighted loudness in dB, n_frames = (samples at
    model_sample_rate) // hop_size.

  Raises:
    ValueError: As `compute_features`, except that audio shorter than one
      CREPE window is accepted.
  """
  audio, hop_size = _model_rate_audio(audio, sample_rate, model_sample_rate,
                                      frame_rate, padding,
                                      needs_crepe_window=False)
  return _loudness(audio, model_sample_rate, frame_rate, hop_size, padding)


def compute_features(audio: Any, sample_rate: int,
                     model_sample_rate: int = 16000, frame_rate: int = 250,
                     model_capacity: str = 'full', viterbi: bool = True,
                     padding: str = 'center', f0_estimator: str = 'crepe',
                     crepe_hop_ms: Optional[float] = None
                     ) -> Dict[str, np.ndarray]:
  """Pitch, confidence and loudness of audio, at a model's rates.

  The audio is mixed to mono (see `to_mono`), resampled to
  model_sample_rate and trimmed to a whole number of frames, n_frames =
  n_samples // hop_size. f0 comes from CREPE or SwiftF0
  (spectral_ops.compute_f0, at 16 kHz) and loudness from spectral_ops.compute_loudness at
  model_sample_rate with n_fft = max(512, hop_size), which is what the
  training preprocessor computes. With 'center' padding (the default, like
  the original Colab) frame k is centred on sample k * hop_size; with
  'same' it starts there, like ddsp_tf_prepare_tfrecord's default framing.

  Args:
    audio: [n_samples] mono audio in [-1, 1], or a 2-D multi-channel array.
    sample_rate: Rate of `audio` in Hz (a positive whole number).
    model_sample_rate: The model's sample rate.
    frame_rate: The model's frame rate; it must divide model_sample_rate and
      16000 (CREPE's rate).
    model_capacity: CREPE size ('tiny', ..., 'full') or a weight file path.
    viterbi: Decode CREPE's pitch with Viterbi smoothing.
    padding: 'center' or 'same' framing of both features.
    f0_estimator: 'crepe' or 'swiftf0' (use the one that made the model's
      training data: ExportedModel.f0_estimator).
    crepe_hop_ms: CREPE's analysis hop in ms (e.g. 10.0), interpolated to
      frame_rate; None analyses at the frame rate.

  Returns:
    Dict of float32 arrays: 'audio' [n_frames * hop_size] at
    model_sample_rate, 'f0_hz', 'f0_confidence', 'loudness_db' [n_frames].

  Raises:
    ValueError: For bad rates, a bad rank, empty audio, audio shorter than
      one frame or one CREPE window (64 ms), NaN/Inf samples, or an
      unknown f0_estimator.
    ImportError: For 'swiftf0' without the swift-f0 package.
  """
  audio, hop_size = _model_rate_audio(
      audio, sample_rate, model_sample_rate, frame_rate, padding,
      needs_crepe_window=True)
  n_frames = audio.shape[0] // hop_size
  f0_hz, f0_confidence = spectral_ops.compute_f0(
      audio, frame_rate, viterbi=viterbi, padding=padding,
      sample_rate=model_sample_rate, model_capacity=model_capacity,
      f0_estimator=f0_estimator, crepe_hop_ms=crepe_hop_ms)
  return {'audio': audio,
          'f0_hz': np.asarray(f0_hz[:n_frames], np.float32),
          'f0_confidence': np.asarray(f0_confidence[:n_frames], np.float32),
          'loudness_db': _loudness(audio, model_sample_rate, frame_rate,
                                   hop_size, padding)}


# ----------------------------------------------------------------------------
# Independent control.
# ----------------------------------------------------------------------------
def apply_reverb_ir(audio: ArrayLike, ir: ArrayLike, sample_rate: int,
                    ir_sample_rate: Optional[int] = None) -> np.ndarray:
  """Convolves audio with a room response, keeping the audio's length.

  The output is the causal convolution sum_k ir[k] audio[n - k] over the
  first n_samples samples, so ir[0] is the direct sound (1 for an IR that
  keeps the dry signal, as a model's `reverb_ir()` does). An IR at another
  rate is resampled to sample_rate (logged) and scaled by
  ir_sample_rate / sample_rate, which keeps its frequency response (e.g.
  its DC gain, the sum of its taps).

  Args:
    audio: [n_samples] or [batch, n_samples].
    ir: [ir_size] impulse response.
    sample_rate: Rate of the audio in Hz.
    ir_sample_rate: Rate of the IR; None means sample_rate.

  Returns:
    float32 audio, the shape of `audio`.

  Raises:
    ValueError: For bad shapes, empty inputs, NaN/Inf, bad rates, or rates
      whose ratio is too fine to resample.
  """
  audio = validation.check_finite_array('audio', audio, (1, 2),
                        '[n_samples] or [batch, n_samples]')
  ir = validation.check_finite_array('ir', ir, (1,), '[ir_size]')
  sample_rate = validation.check_rate('sample_rate', sample_rate)
  ir_sample_rate = (sample_rate if ir_sample_rate is None else
                    validation.check_rate('ir_sample_rate', ir_sample_rate))
  if ir_sample_rate != sample_rate:
    logger.info('Resampling the reverb IR from %d Hz to %d Hz.',
                ir_sample_rate, sample_rate)
    ir = resample_audio(ir, ir_sample_rate, sample_rate, 'the reverb IR') * (
        ir_sample_rate / sample_rate)
  n_samples = audio.shape[-1]
  n_fft = 1 << (n_samples + ir.shape[0] - 2).bit_length()
  spectrum = np.fft.rfft(audio, n_fft, axis=-1) * np.fft.rfft(ir, n_fft)
  return np.fft.irfft(spectrum, n_fft, axis=-1)[..., :n_samples].astype(
      np.float32)


# ----------------------------------------------------------------------------
# Timbre transfer.
# ----------------------------------------------------------------------------
def timbre_transfer(audio: Any, sample_rate: int, model: ExportedModel, *,
                    crepe_model: str = 'full',
                    f0_estimator: Optional[str] = None,
                    crepe_hop_ms: Optional[float] = None,
                    pitch_shift: ArrayLike = 0.0,
                    dry: bool = False, reverb_ir: Optional[ArrayLike] = None,
                    reverb_ir_sample_rate: Optional[int] = None,
                    **adjust_kwargs) -> Tuple[np.ndarray, Dict[str, Any]]:
  """Resynthesizes audio with an exported model's instrument.

  Args:
    audio: [n_samples] mono, or 2-D multi-channel audio (mixed to mono).
    sample_rate: Rate of `audio`; it is resampled to the model's.
    model: The ExportedModel.
    crepe_model: CREPE size for the pitch ('tiny', ..., 'full').
    f0_estimator: 'crepe' or 'swiftf0'; None uses the one that made the
      model's training data (model.f0_estimator) and, for CREPE, its
      analysis hop (model.crepe_hop_ms).
    crepe_hop_ms: CREPE's analysis hop in ms; None takes the model's when
      f0_estimator is None, else analyses at the frame rate.
    pitch_shift: Extra transposition in semitones, constant or per frame,
      after the adjustment.
    dry: Return the signal before the model's reverb.
    reverb_ir: A room response [ir_size] to apply to the dry signal instead
      of the model's room.
    reverb_ir_sample_rate: Rate of reverb_ir (default: the model's).
    **adjust_kwargs: `postprocessing.adjust_features` arguments (auto_adjust,
      octave_shift, loudness_shift_db, quiet_db, autotune, note_threshold).

  Returns:
    (audio_out float32 [n_frames * hop_size] at model.sample_rate, info)
    where info has 'features' (from compute_features), 'adjusted' (from
    postprocessing.adjust_features, after pitch_shift) and 'outputs' (the
    model's outputs).

  Raises:
    ValueError: For bad audio or arguments, or dry together with reverb_ir,
      or dry on a model without reverb.
  """
  if dry and reverb_ir is not None:
    raise ValueError('dry=True and reverb_ir ask for different rooms; pass '
                     'one of them.')
  if f0_estimator is None:
    f0_estimator = model.f0_estimator
    if crepe_hop_ms is None and f0_estimator == 'crepe':
      crepe_hop_ms = model.crepe_hop_ms
  features = compute_features(audio, sample_rate,
                              model_sample_rate=model.sample_rate,
                              frame_rate=model.frame_rate,
                              model_capacity=crepe_model,
                              padding=model.feature_padding,
                              f0_estimator=f0_estimator,
                              crepe_hop_ms=crepe_hop_ms)
  adjusted = postprocessing.adjust_features(features, model.dataset_statistics,
                             **{'frame_rate': model.frame_rate,
                                **adjust_kwargs})
  adjusted['f0_hz'] = postprocessing.shift_pitch(adjusted['f0_hz'], pitch_shift)
  outputs = model.resynthesize(adjusted['f0_hz'], adjusted['loudness_db'],
                               dry=dry)
  audio_out = outputs['audio']
  if reverb_ir is not None:
    audio_out = apply_reverb_ir(
        outputs['audio_dry'], reverb_ir, model.sample_rate,
        ir_sample_rate=reverb_ir_sample_rate or model.sample_rate)
  return audio_out, {'features': features, 'adjusted': adjusted,
                     'outputs': outputs}
