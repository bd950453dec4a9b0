"""Inference with exported models: features, adjustment, timbre transfer.

An export directory (see ddsp_tf_export and the export contract) holds a
TF SavedModel with two signatures, 'serving_default' (f0_hz, loudness_db ->
audio) and 'audio_to_audio', plus metadata.json (rates, the dataset
statistics) and, for models with a learned room, reverb_ir.wav. `load_model`
checks all of that up front and returns an `ExportedModel`.

Timbre transfer, as in the original's Colab, is: features of new audio
(`compute_features`: CREPE f0 with Viterbi decoding and A-weighted
loudness at the model's rates), adjusted towards what the model was trained
on (`adjust_features`), then resynthesized (`ExportedModel.resynthesize`).
`timbre_transfer` does all three.

Adjustment, written from the description of the original's Colab:
- `detect_notes` marks frames that are confidently pitched and loud enough.
- The pitch moves by whole octaves towards the dataset's mean pitch (the
  nearest whole number of octaves; the original rounded fractional octave
  counts in a direction that depended on the sign, e.g. +0.6 octaves became
  +1 but -0.6 became 0).
- Loudness is quantile-normalised: the input's note-on loudness distribution
  is mapped onto the dataset's (`QuantileTransform`, fitted from the
  quantiles in stats.json), and frames outside notes are lowered by up to
  `quiet_db`.
- Optional auto-tune (`get_tuning_factor`, `auto_tune`) pulls the pitch
  towards a (tuned) major scale or the chromatic grid.
- Manual octave and loudness shifts apply afterwards, with or without
  statistics; f0 is clipped to MIDI 110 like the original.

Independent control: `shift_pitch` and `shift_loudness` take a constant or a
per-frame curve, `resynthesize(..., dry=True)` returns the signal before the
model's reverb, and `apply_reverb_ir` convolves any audio with any room
response, e.g. a model's `reverb_ir()` or a measured one.
"""

import json
import logging
import math
import os
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import scipy.signal
import soundfile as sf
import tensorflow as tf

from ddsp_tf import crepe
from ddsp_tf import spectral_ops
from ddsp_tf import validation

logger = logging.getLogger(__name__)

# The export format this ddsp_tf reads (ddsp_tf.training.export.FORMAT_VERSION
# of the exporter that matches it).
FORMAT_VERSION = 1
METADATA_FILE = 'metadata.json'
SAVED_MODEL_FILE = 'saved_model.pb'
SIGNATURES = ('serving_default', 'audio_to_audio')
_REQUIRED_METADATA = ('format_version', 'sample_rate', 'frame_rate',
                      'hop_size', 'has_reverb', 'reverb_ir_file',
                      'dataset_statistics')

# Loudness frames are at least this long (samples), like the training
# preprocessor's spectral_ops.compute_loudness default.
LOUDNESS_N_FFT = 512
# The original Colab clips f0 to this MIDI note after shifting.
MAX_MIDI = 110.0
# Larger polyphase factors than this make resample_poly's filter impractical.
_MAX_RESAMPLE_FACTOR = 1000
_FEATURE_PADDINGS = ('center', 'same')
# detect_notes smooths confidence over this long (40 frames at 250 Hz, as
# the original Colab).
NOTE_SMOOTHING_SECS = 0.16

ArrayLike = Union[np.ndarray, float, list]


class ExportError(ValueError):
  """A directory that is not a usable ddsp_tf export; the message says why."""


# ----------------------------------------------------------------------------
# Small helpers.
# ----------------------------------------------------------------------------
def _hz_to_midi(f0_hz: np.ndarray) -> np.ndarray:
  """MIDI note numbers of frequencies; 0 Hz (unvoiced) maps to MIDI 0."""
  f0_hz = np.asarray(f0_hz, np.float64)
  safe = np.where(f0_hz > 0.0, f0_hz, 440.0)
  return np.where(f0_hz > 0.0, 69.0 + 12.0 * np.log2(safe / 440.0), 0.0)


def _midi_to_hz(midi: np.ndarray) -> np.ndarray:
  """Frequencies of MIDI note numbers (A4 = 69 = 440 Hz)."""
  return 440.0 * 2.0**((np.asarray(midi, np.float64) - 69.0) / 12.0)


def _finite_array(name: str, x: Any, ranks: Tuple[int, ...],
                  layout: str) -> np.ndarray:
  """`x` as a float64 array of an allowed rank, non-empty, with no NaN/Inf."""
  try:
    array = np.asarray(x, np.float64)
  except (TypeError, ValueError):
    raise TypeError(f'{name} must be an array of numbers {layout}, got '
                    f'{type(x).__name__}.') from None
  if array.ndim not in ranks:
    raise ValueError(f'{name} must have shape {layout}, got shape '
                     f'{list(array.shape)} (rank {array.ndim}).')
  if array.size == 0:
    raise ValueError(f'{name} is empty (shape {list(array.shape)}); it needs '
                     'at least one value.')
  if not np.all(np.isfinite(array)):
    bad = int(np.sum(~np.isfinite(array)))
    raise ValueError(f'{name} has {bad} NaN or Inf value(s); pass finite '
                     'values.')
  return array


def _check_rate(name: str, rate: Any) -> int:
  """A sample or frame rate, which must be a positive whole number."""
  try:
    return validation.check_int(name, rate, minimum=1)
  except ValueError:
    raise ValueError(f'{name} must be a positive whole number of samples per '
                     f'second, got {name}={rate!r}.') from None


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


def _resample(audio: np.ndarray, from_rate: int, to_rate: int,
              what: str) -> np.ndarray:
  """Band-limited polyphase resampling along the last axis."""
  if from_rate == to_rate:
    return audio
  up, down = _resample_factors(from_rate, to_rate, what)
  return scipy.signal.resample_poly(audio, up, down, axis=-1)


# ----------------------------------------------------------------------------
# Loading exports.
# ----------------------------------------------------------------------------
def _read_metadata(export_dir: str) -> Dict[str, Any]:
  """Reads and checks metadata.json; raises ExportError with the reason."""
  path = os.path.join(export_dir, METADATA_FILE)
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
        f'version {FORMAT_VERSION}. Re-export the model with ddsp_tf_export '
        'from this ddsp_tf.')
  if metadata['format_version'] != FORMAT_VERSION:
    raise ExportError(
        f'{export_dir} is export format version '
        f'{metadata["format_version"]!r}, but this ddsp_tf reads version '
        f'{FORMAT_VERSION}. Re-export the model with ddsp_tf_export from this '
        'ddsp_tf (or use the ddsp_tf that made it).')
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
  export_dir = os.path.abspath(os.path.expanduser(os.fspath(export_dir)))
  if not os.path.exists(export_dir):
    raise FileNotFoundError(f'Export directory {export_dir} does not exist; '
                            'make one with ddsp_tf_export.')
  if not os.path.isdir(export_dir):
    raise ExportError(f'{export_dir} is a file, not an export directory.')
  lacking = [name for name in (SAVED_MODEL_FILE, METADATA_FILE)
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
  missing = [name for name in SIGNATURES if name not in module.signatures]
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
    f0_hz = _finite_array('f0_hz', f0_hz, (1, 2), layout)
    loudness_db = _finite_array('loudness_db', loudness_db, (1, 2), layout)
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
  audio = _finite_array(
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
  sample_rate = _check_rate('sample_rate', sample_rate)
  model_sample_rate = _check_rate('model_sample_rate', model_sample_rate)
  frame_rate = _check_rate('frame_rate', frame_rate)
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
  audio = _resample(audio, sample_rate, model_sample_rate, 'the audio')
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
                     padding: str = 'center') -> Dict[str, np.ndarray]:
  """Pitch, confidence and loudness of audio, at a model's rates.

  The audio is mixed to mono (see `to_mono`), resampled to
  model_sample_rate and trimmed to a whole number of frames, n_frames =
  n_samples // hop_size. f0 comes from CREPE (spectral_ops.compute_f0, at
  16 kHz) and loudness from spectral_ops.compute_loudness at
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

  Returns:
    Dict of float32 arrays: 'audio' [n_frames * hop_size] at
    model_sample_rate, 'f0_hz', 'f0_confidence', 'loudness_db' [n_frames].

  Raises:
    ValueError: For bad rates, a bad rank, empty audio, audio shorter than
      one frame or one CREPE window (64 ms), or NaN/Inf samples.
  """
  audio, hop_size = _model_rate_audio(
      audio, sample_rate, model_sample_rate, frame_rate, padding,
      needs_crepe_window=True)
  n_frames = audio.shape[0] // hop_size
  f0_hz, f0_confidence = spectral_ops.compute_f0(
      audio, frame_rate, viterbi=viterbi, padding=padding,
      sample_rate=model_sample_rate, model_capacity=model_capacity)
  return {'audio': audio,
          'f0_hz': np.asarray(f0_hz[:n_frames], np.float32),
          'f0_confidence': np.asarray(f0_confidence[:n_frames], np.float32),
          'loudness_db': _loudness(audio, model_sample_rate, frame_rate,
                                   hop_size, padding)}


# ----------------------------------------------------------------------------
# Independent control.
# ----------------------------------------------------------------------------
def _curve(name: str, value: ArrayLike, n_frames: int) -> np.ndarray:
  """A scalar, or a per-frame curve whose length is n_frames."""
  value = _finite_array(name, value, (0, 1, 2),
                        '[] (constant), [n_frames] or [batch, n_frames]')
  if value.ndim and value.shape[-1] != n_frames:
    raise ValueError(f'{name} as a curve must have one value per frame '
                     f'({n_frames}), got shape {list(value.shape)}.')
  return value


def shift_pitch(f0_hz: ArrayLike, semitones: ArrayLike) -> np.ndarray:
  """Transposes a pitch curve, clipping it to MIDI 110 like the original.

  Args:
    f0_hz: Pitch in Hz, [n_frames] or [batch, n_frames]; 0 Hz stays 0.
    semitones: A constant shift, or a curve of one shift per frame
      ([n_frames], or [batch, n_frames]) for glides and vibrato.

  Returns:
    float32 f0 in Hz, the shape of f0_hz (broadcast with the curve).

  Raises:
    ValueError: For NaN/Inf, negative f0, or a curve of the wrong length.
  """
  f0_hz = _finite_array('f0_hz', f0_hz, (1, 2),
                        '[n_frames] or [batch, n_frames]')
  if np.any(f0_hz < 0.0):
    raise ValueError(f'f0_hz must be >= 0 Hz, got a minimum of '
                     f'{f0_hz.min():g} Hz.')
  semitones = _curve('semitones', semitones, f0_hz.shape[-1])
  shifted = f0_hz * 2.0**(semitones / 12.0)
  return np.clip(shifted, 0.0, _midi_to_hz(MAX_MIDI)).astype(np.float32)


def shift_loudness(loudness_db: ArrayLike, db: ArrayLike) -> np.ndarray:
  """Adds a constant or a per-frame curve (dB) to a loudness curve.

  Args:
    loudness_db: Loudness in dB, [n_frames] or [batch, n_frames].
    db: A constant, or one value per frame ([n_frames] or
      [batch, n_frames]), e.g. a fade or a tremolo.

  Returns:
    float32 loudness in dB, the shape of loudness_db.

  Raises:
    ValueError: For NaN/Inf or a curve of the wrong length.
  """
  loudness_db = _finite_array('loudness_db', loudness_db, (1, 2),
                              '[n_frames] or [batch, n_frames]')
  db = _curve('db', db, loudness_db.shape[-1])
  return (loudness_db + db).astype(np.float32)


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
  audio = _finite_array('audio', audio, (1, 2),
                        '[n_samples] or [batch, n_samples]')
  ir = _finite_array('ir', ir, (1,), '[ir_size]')
  sample_rate = _check_rate('sample_rate', sample_rate)
  ir_sample_rate = (sample_rate if ir_sample_rate is None else
                    _check_rate('ir_sample_rate', ir_sample_rate))
  if ir_sample_rate != sample_rate:
    logger.info('Resampling the reverb IR from %d Hz to %d Hz.',
                ir_sample_rate, sample_rate)
    ir = _resample(ir, ir_sample_rate, sample_rate, 'the reverb IR') * (
        ir_sample_rate / sample_rate)
  n_samples = audio.shape[-1]
  n_fft = 1 << (n_samples + ir.shape[0] - 2).bit_length()
  spectrum = np.fft.rfft(audio, n_fft, axis=-1) * np.fft.rfft(ir, n_fft)
  return np.fft.irfft(spectrum, n_fft, axis=-1)[..., :n_samples].astype(
      np.float32)


# ----------------------------------------------------------------------------
# Feature adjustment.
# ----------------------------------------------------------------------------
class QuantileTransform:
  """A monotone map between a distribution and the uniform one on [0, 1].

  Defined by quantile values at increasing levels (like stats.json's
  quantile_levels and loudness_db.quantiles); values in between are linearly
  interpolated, values outside are clipped. Runs of equal quantiles (a
  distribution with point masses) map to the middle of their levels.
  """

  def __init__(self, levels: ArrayLike, quantiles: ArrayLike):
    """Sets the quantiles.

    Args:
      levels: [n] increasing levels in [0, 1], n >= 2.
      quantiles: [n] non-decreasing values at those levels.

    Raises:
      ValueError: If the arrays differ in length, have NaN, are shorter than
        2, or are not (strictly) increasing / non-decreasing.
    """
    levels = _finite_array('levels', levels, (1,), '[n_levels]')
    quantiles = _finite_array('quantiles', quantiles, (1,), '[n_levels]')
    if levels.shape != quantiles.shape or levels.shape[0] < 2:
      raise ValueError(f'levels and quantiles need the same length >= 2, got '
                       f'{levels.shape[0]} and {quantiles.shape[0]}.')
    if np.any(np.diff(levels) <= 0) or levels[0] < 0 or levels[-1] > 1:
      raise ValueError(f'levels must increase within [0, 1], got {levels}.')
    if np.any(np.diff(quantiles) < 0):
      raise ValueError('quantiles must be non-decreasing, got '
                       f'{quantiles}.')
    self.levels = levels
    self.quantiles = quantiles

  @classmethod
  def fit(cls, values: ArrayLike, levels: ArrayLike) -> 'QuantileTransform':
    """The transform of an empirical distribution.

    Args:
      values: Samples of the distribution (any shape, at least one).
      levels: [n] increasing levels in [0, 1] to keep quantiles at.

    Returns:
      A QuantileTransform with numpy.quantile's ('linear') quantiles.
    """
    values = _finite_array('values', np.ravel(values), (1,), '[n_values]')
    levels = _finite_array('levels', levels, (1,), '[n_levels]')
    return cls(levels, np.quantile(values, levels))

  def transform(self, x: ArrayLike) -> np.ndarray:
    """Values -> levels in [levels[0], levels[-1]], the shape of x."""
    x = np.asarray(x, np.float64)
    # Interpolating up the increasing and down the reversed quantiles and
    # averaging puts a run of equal quantiles at the middle of its levels.
    upward = np.interp(x, self.quantiles, self.levels)
    downward = -np.interp(-x, -self.quantiles[::-1], -self.levels[::-1])
    return 0.5 * (upward + downward)

  def inverse_transform(self, u: ArrayLike) -> np.ndarray:
    """Levels in [0, 1] -> values, the shape of u."""
    return np.interp(np.asarray(u, np.float64), self.levels, self.quantiles)


def _statistics_transforms(dataset_statistics: Mapping[str, Any]
                           ) -> Tuple[float, QuantileTransform]:
  """(mean pitch in MIDI, loudness transform) from stats.json contents."""
  if not isinstance(dataset_statistics, Mapping):
    raise TypeError(f'dataset_statistics must be the dict of stats.json, got '
                    f'{type(dataset_statistics).__name__}.')
  try:
    mean_pitch = dataset_statistics['mean_pitch_midi']
    levels = dataset_statistics['quantile_levels']
    quantiles = dataset_statistics['loudness_db']['quantiles']
  except (KeyError, TypeError) as error:
    raise ValueError(
        f'dataset_statistics lacks {error}; it needs mean_pitch_midi, '
        'quantile_levels and loudness_db.quantiles as ddsp_tf_prepare_tfrecord '
        'writes them in stats.json.') from None
  if mean_pitch is None or not quantiles:
    raise ValueError('dataset_statistics has no voiced frames (mean_pitch_midi '
                     f'is {mean_pitch!r}); it cannot guide the adjustment. '
                     'Pass auto_adjust=False.')
  return float(mean_pitch), QuantileTransform(levels, quantiles)


def _box_smooth(x: np.ndarray, size: int) -> np.ndarray:
  """Moving average over `size` frames, zero beyond the ends, same length."""
  kernel = np.ones(size) / size
  smoothed = np.convolve(x, kernel, mode='full')
  start = (size - 1) // 2
  return smoothed[start:start + x.shape[0]]


def detect_notes(loudness_db: ArrayLike, f0_confidence: ArrayLike,
                 note_threshold: float = 1.0, exponent: float = 2.0,
                 smoothing: int = 40, f0_confidence_threshold: float = 0.7,
                 min_db: float = -spectral_ops.DB_RANGE
                 ) -> Tuple[np.ndarray, np.ndarray]:
  """Marks the frames that belong to notes.

  A frame's note-on ratio is its smoothed confidence**exponent times its
  level above min_db, relative to the same product for a frame of the clip's
  mean confident loudness and confidence f0_confidence_threshold. Frames
  whose ratio reaches note_threshold are note-on.

  Args:
    loudness_db: [n_frames] loudness in dB.
    f0_confidence: [n_frames] CREPE confidence in [0, 1].
    note_threshold: Ratio at and above which a frame is note-on; lower it
      to catch quieter notes.
    exponent: Power of the confidence (higher: stricter about pitch).
    smoothing: Frames of the moving average of the powered confidence.
    f0_confidence_threshold: Frames at or above this confidence set the
      reference loudness.
    min_db: Loudness treated as silence.

  Returns:
    (mask_on bool [n_frames], note_on_ratio float32 [n_frames]). Both are
    all False / 0 when no frame reaches f0_confidence_threshold.

  Raises:
    ValueError: For mismatched or non-finite inputs or bad parameters.
  """
  loudness_db = _finite_array('loudness_db', loudness_db, (1,), '[n_frames]')
  f0_confidence = _finite_array('f0_confidence', f0_confidence, (1,),
                                '[n_frames]')
  if loudness_db.shape != f0_confidence.shape:
    raise ValueError(f'loudness_db and f0_confidence must have the same '
                     f'shape, got {list(loudness_db.shape)} and '
                     f'{list(f0_confidence.shape)}.')
  smoothing = validation.check_int('smoothing', smoothing)
  validation.check_positive('exponent', exponent)
  validation.check_positive('f0_confidence_threshold', f0_confidence_threshold)
  confident = f0_confidence >= f0_confidence_threshold
  mean_db = np.mean(loudness_db[confident]) if np.any(confident) else min_db
  reference = (mean_db - min_db) * f0_confidence_threshold**exponent
  if reference <= 0.0:
    logger.info('No confidently pitched frames above %g dB: no notes.',
                min_db)
    zeros = np.zeros(loudness_db.shape, np.float32)
    return zeros.astype(bool), zeros
  level = _box_smooth(f0_confidence**exponent, smoothing) * (loudness_db -
                                                            min_db)
  note_on_ratio = level / reference
  return note_on_ratio >= note_threshold, note_on_ratio.astype(np.float32)


def _grid_offsets(f0_midi: np.ndarray, grid: np.ndarray) -> np.ndarray:
  """Signed distance of each pitch to the nearest note of a sorted grid."""
  index = np.clip(np.searchsorted(grid, f0_midi), 1, grid.shape[0] - 1)
  below, above = grid[index - 1], grid[index]
  nearest = np.where(f0_midi - below <= above - f0_midi, below, above)
  return f0_midi - nearest


def _chromatic_offsets(f0_midi: np.ndarray, tuning: np.ndarray) -> np.ndarray:
  """Signed distance (semitones, in [-0.5, 0.5)) to the grid n + tuning."""
  return (f0_midi - tuning + 0.5) % 1.0 - 0.5


def get_tuning_factor(f0_midi: ArrayLike, f0_confidence: ArrayLike,
                      mask_on: ArrayLike) -> float:
  """How far (semitones) a performance's tuning is from A440.

  Candidates are 101 offsets t in [-0.5, 0.5]; each defines the grid of
  notes n + t. A candidate costs the confidence-weighted mean distance of
  the note-on pitches to its grid plus the confidence-weighted rate of note
  changes when snapping to it (a grid that splits a held note between two
  neighbours is penalised); both terms are standardised over the candidates
  before they are added.

  Args:
    f0_midi: [n_frames] pitch in MIDI.
    f0_confidence: [n_frames] confidence, the weights.
    mask_on: [n_frames] bool, the frames to fit.

  Returns:
    The best offset in [-0.5, 0.5]; 0.0 when no frame is note-on.
  """
  f0_midi = _finite_array('f0_midi', f0_midi, (1,), '[n_frames]')
  f0_confidence = _finite_array('f0_confidence', f0_confidence, (1,),
                                '[n_frames]')
  mask_on = np.asarray(mask_on, bool)
  if not f0_midi.shape == f0_confidence.shape == mask_on.shape:
    raise ValueError(f'f0_midi, f0_confidence and mask_on must have the same '
                     f'shape, got {list(f0_midi.shape)}, '
                     f'{list(f0_confidence.shape)}, {list(mask_on.shape)}.')
  if not np.any(mask_on):
    return 0.0
  candidates = np.linspace(-0.5, 0.5, 101)
  pitch = f0_midi[mask_on][:, np.newaxis]
  weights = f0_confidence[mask_on][:, np.newaxis]
  offsets = _chromatic_offsets(pitch, candidates[np.newaxis, :])
  distance_cost = np.mean(weights * np.abs(offsets), axis=0)
  snapped = np.round(pitch - offsets, 6)
  changes = (np.diff(snapped, axis=0) != 0.0).astype(np.float64)
  change_cost = (np.mean(weights[1:] * changes, axis=0) if changes.shape[0]
                 else np.zeros_like(candidates))

  def standardised(cost: np.ndarray) -> np.ndarray:
    spread = np.std(cost)
    return (cost - np.mean(cost)) / spread if spread > 0 else 0.0 * cost

  cost = standardised(distance_cost) + standardised(change_cost)
  return float(candidates[np.argmin(cost)])


def auto_tune(f0_midi: ArrayLike, tuning_factor: float, mask_on: ArrayLike,
              amount: float = 0.0, chromatic: bool = False) -> np.ndarray:
  """Pulls pitch towards the notes of a scale.

  The target grid is the chromatic scale offset by tuning_factor, or (not
  chromatic) the major scale, among the 12 transpositions of that grid, whose
  notes lie closest on average to the note-on pitches. Every frame moves
  `amount` of the way to its nearest grid note.

  Args:
    f0_midi: [n_frames] pitch in MIDI.
    tuning_factor: Grid offset in semitones (see `get_tuning_factor`).
    mask_on: [n_frames] bool, the frames that choose the scale.
    amount: 0 (unchanged) to 1 (exactly on the grid).
    chromatic: Snap to every semitone rather than a major scale.

  Returns:
    float64 [n_frames] tuned pitch in MIDI.

  Raises:
    ValueError: For amount outside [0, 1] or mismatched inputs.
  """
  f0_midi = _finite_array('f0_midi', f0_midi, (1,), '[n_frames]')
  mask_on = np.asarray(mask_on, bool)
  if mask_on.shape != f0_midi.shape:
    raise ValueError(f'mask_on must have the shape of f0_midi '
                     f'{list(f0_midi.shape)}, got {list(mask_on.shape)}.')
  if not 0.0 <= amount <= 1.0:
    raise ValueError(f'amount must be in [0, 1], got amount={amount!r}.')
  tuning_factor = float(tuning_factor)
  if chromatic:
    offsets = _chromatic_offsets(f0_midi, tuning_factor)
  else:
    major = np.array([0, 2, 4, 5, 7, 9, 11], np.float64)
    octaves = 12.0 * np.arange(-1, 12)[:, np.newaxis]
    scales = [np.sort((major + key + octaves).ravel()) + tuning_factor
              for key in range(12)]
    fit_pitch = f0_midi[mask_on] if np.any(mask_on) else f0_midi
    costs = [np.mean(np.abs(_grid_offsets(fit_pitch, scale)))
             for scale in scales]
    offsets = _grid_offsets(f0_midi, scales[int(np.argmin(costs))])
  return f0_midi - amount * offsets


def adjust_features(features: Mapping[str, np.ndarray],
                    dataset_statistics: Optional[Mapping[str, Any]] = None,
                    auto_adjust: bool = True, octave_shift: float = 0.0,
                    loudness_shift_db: float = 0.0, quiet_db: float = 20.0,
                    autotune: float = 0.0, note_threshold: float = 1.0,
                    frame_rate: int = 250) -> Dict[str, np.ndarray]:
  """Adjusts features of new audio towards a model's training data.

  With auto_adjust and dataset statistics, and when notes are detected:
  the pitch moves by the whole number of octaves that brings the note-on
  mean pitch nearest the dataset's mean pitch; note-on loudness is mapped
  onto the dataset's loudness distribution (quantile normalisation, applied
  to all frames); frames outside notes are lowered by
  quiet_db * (1 - note_on_ratio); and with autotune > 0 the pitch is pulled
  that far towards a tuned major scale. Without statistics (or notes) this
  is skipped, with a log line. The manual octave_shift and
  loudness_shift_db apply afterwards in every case, and f0 is clipped to
  MIDI 110.

  Args:
    features: Dict with 'f0_hz', 'f0_confidence' and 'loudness_db'
      [n_frames] (e.g. from `compute_features`); other keys pass through.
    dataset_statistics: The stats.json dict of the training data (an
      ExportedModel's dataset_statistics), or None.
    auto_adjust: Apply the statistics-based adjustments.
    octave_shift: Manual pitch shift in octaves (may be fractional).
    loudness_shift_db: Manual loudness shift in dB.
    quiet_db: How far (dB) to turn down frames outside notes.
    autotune: Auto-tune amount in [0, 1].
    note_threshold: detect_notes threshold.
    frame_rate: Frames per second of the features; detect_notes smooths
      over NOTE_SMOOTHING_SECS whatever the rate.

  Returns:
    A new dict: the input's keys with 'f0_hz' and 'loudness_db' adjusted
    (float32), plus 'mask_on' (bool [n_frames]), 'note_on_ratio'
    [n_frames], and the 0-d arrays 'auto_octave_shift' (octaves) and
    'tuning_factor' (semitones; 0 without auto-tune).

  Raises:
    ValueError: For missing or mismatched features, bad parameters, or
      statistics without the needed entries.
  """
  missing = [key for key in ('f0_hz', 'f0_confidence', 'loudness_db')
             if key not in features]
  if missing:
    raise ValueError(f'features lacks {missing}; compute them with '
                     'compute_features.')
  f0_hz = _finite_array('f0_hz', features['f0_hz'], (1,), '[n_frames]')
  confidence = _finite_array('f0_confidence', features['f0_confidence'], (1,),
                             '[n_frames]')
  loudness_db = _finite_array('loudness_db', features['loudness_db'], (1,),
                              '[n_frames]')
  if not f0_hz.shape == confidence.shape == loudness_db.shape:
    raise ValueError(f'f0_hz, f0_confidence and loudness_db must have the '
                     f'same shape, got {list(f0_hz.shape)}, '
                     f'{list(confidence.shape)}, {list(loudness_db.shape)}.')
  for name, value in (('octave_shift', octave_shift),
                      ('loudness_shift_db', loudness_shift_db),
                      ('quiet_db', quiet_db),
                      ('note_threshold', note_threshold)):
    _finite_array(name, value, (0,), 'a number')
  if quiet_db < 0:
    raise ValueError(f'quiet_db must be >= 0, got quiet_db={quiet_db!r}.')
  if not 0.0 <= autotune <= 1.0:
    raise ValueError(f'autotune must be in [0, 1], got autotune={autotune!r}.')

  adjusted = dict(features)
  mask_on = np.zeros(f0_hz.shape, bool)
  note_on_ratio = np.zeros(f0_hz.shape, np.float32)
  auto_octaves, tuning_factor = 0.0, 0.0
  if auto_adjust and dataset_statistics is None:
    logger.info('No dataset statistics: skipping the automatic adjustment '
                '(only manual shifts apply).')
  elif auto_adjust:
    target_pitch, dataset_loudness = _statistics_transforms(dataset_statistics)
    smoothing = max(1, int(round(NOTE_SMOOTHING_SECS * _check_rate(
        'frame_rate', frame_rate))))
    mask_on, note_on_ratio = detect_notes(loudness_db, confidence,
                                          note_threshold, smoothing=smoothing)
    if not np.any(mask_on):
      logger.info('No notes detected: skipping the automatic adjustment; try '
                  'a lower note_threshold.')
    else:
      mean_pitch = np.mean(_hz_to_midi(f0_hz[mask_on]))
      auto_octaves = float(np.round((target_pitch - mean_pitch) / 12.0))
      f0_hz = f0_hz * 2.0**auto_octaves
      own_loudness = QuantileTransform.fit(loudness_db[mask_on],
                                           dataset_loudness.levels)
      loudness_db = dataset_loudness.inverse_transform(
          own_loudness.transform(loudness_db))
      loudness_db = np.where(mask_on, loudness_db,
                             loudness_db - quiet_db * (1.0 - note_on_ratio))
      if autotune > 0.0:
        f0_midi = _hz_to_midi(f0_hz)
        tuning_factor = get_tuning_factor(f0_midi, confidence, mask_on)
        tuned = auto_tune(f0_midi, tuning_factor, mask_on, amount=autotune)
        f0_hz = np.where(f0_hz > 0.0, _midi_to_hz(tuned), 0.0)
  adjusted['f0_hz'] = shift_pitch(f0_hz, 12.0 * octave_shift)
  adjusted['loudness_db'] = shift_loudness(loudness_db, loudness_shift_db)
  adjusted['mask_on'] = mask_on
  adjusted['note_on_ratio'] = note_on_ratio
  adjusted['auto_octave_shift'] = np.asarray(auto_octaves, np.float32)
  adjusted['tuning_factor'] = np.asarray(tuning_factor, np.float32)
  return adjusted


# ----------------------------------------------------------------------------
# Timbre transfer.
# ----------------------------------------------------------------------------
def timbre_transfer(audio: Any, sample_rate: int, model: ExportedModel, *,
                    crepe_model: str = 'full', pitch_shift: ArrayLike = 0.0,
                    dry: bool = False, reverb_ir: Optional[ArrayLike] = None,
                    reverb_ir_sample_rate: Optional[int] = None,
                    **adjust_kwargs) -> Tuple[np.ndarray, Dict[str, Any]]:
  """Resynthesizes audio with an exported model's instrument.

  Args:
    audio: [n_samples] mono, or 2-D multi-channel audio (mixed to mono).
    sample_rate: Rate of `audio`; it is resampled to the model's.
    model: The ExportedModel.
    crepe_model: CREPE size for the pitch ('tiny', ..., 'full').
    pitch_shift: Extra transposition in semitones, constant or per frame,
      after the adjustment.
    dry: Return the signal before the model's reverb.
    reverb_ir: A room response [ir_size] to apply to the dry signal instead
      of the model's room.
    reverb_ir_sample_rate: Rate of reverb_ir (default: the model's).
    **adjust_kwargs: `adjust_features` arguments (auto_adjust,
      octave_shift, loudness_shift_db, quiet_db, autotune, note_threshold).

  Returns:
    (audio_out float32 [n_frames * hop_size] at model.sample_rate, info)
    where info has 'features' (from compute_features), 'adjusted' (from
    adjust_features, after pitch_shift) and 'outputs' (the model's outputs).

  Raises:
    ValueError: For bad audio or arguments, or dry together with reverb_ir,
      or dry on a model without reverb.
  """
  if dry and reverb_ir is not None:
    raise ValueError('dry=True and reverb_ir ask for different rooms; pass '
                     'one of them.')
  features = compute_features(audio, sample_rate,
                              model_sample_rate=model.sample_rate,
                              frame_rate=model.frame_rate,
                              model_capacity=crepe_model,
                              padding=model.feature_padding)
  adjusted = adjust_features(features, model.dataset_statistics,
                             **{'frame_rate': model.frame_rate,
                                **adjust_kwargs})
  adjusted['f0_hz'] = shift_pitch(adjusted['f0_hz'], pitch_shift)
  outputs = model.resynthesize(adjusted['f0_hz'], adjusted['loudness_db'],
                               dry=dry)
  audio_out = outputs['audio']
  if reverb_ir is not None:
    audio_out = apply_reverb_ir(
        outputs['audio_dry'], reverb_ir, model.sample_rate,
        ir_sample_rate=reverb_ir_sample_rate or model.sample_rate)
  return audio_out, {'features': features, 'adjusted': adjusted,
                     'outputs': outputs}
