"""Pitch tracking: `compute_f0` (CREPE or SwiftF0) and `PretrainedCREPE`.

`compute_f0` takes numpy audio at any rate and runs a pitch tracker on it:
CREPE (the default; its network runs in bounded batches, for long files) or
SwiftF0 (`f0_estimator='swiftf0'`, the optional swift-f0 package, see
swiftf0.py). Trackers that analyse at their own hop (SwiftF0's 16 ms, or
CREPE with `crepe_hop_ms`) are interpolated onto the requested frames in
log-frequency. `PretrainedCREPE` is a Keras model for use inside
tf.function (losses, metrics). `spectral_ops` (the original's path)
re-exports every public name here, with the constants `CREPE_SAMPLE_RATE`
and `CREPE_FRAME_SIZE`. The network itself, its weights and the Viterbi
decoding live in crepe.py.
"""

import functools
from typing import Optional, Tuple

import keras
import numpy as np
import scipy.signal
import tensorflow as tf

from ddsp_tf import crepe
from ddsp_tf import swiftf0
from ddsp_tf import validation
from ddsp_tf.framing import _audio_np
from ddsp_tf.framing import _audio_tf
from ddsp_tf.framing import _hop_size
from ddsp_tf.framing import _pad_np
from ddsp_tf.framing import _PADDINGS
from ddsp_tf.framing import Array
from ddsp_tf.framing import get_framed_lengths
from ddsp_tf.framing import pad

CREPE_SAMPLE_RATE = 16000
CREPE_FRAME_SIZE = 1024
F0_ESTIMATORS = ('crepe', 'swiftf0')
CREPE_NATIVE_HOP_MS = 10.0  # The hop CREPE was trained at.


# ----------------------------------------------------------------------------
# Pitch (CREPE).
# ----------------------------------------------------------------------------
_CREPE_BATCH_FRAMES = 512  # Frames per network call; bounds memory.


def _crepe_hop_size(frame_rate: float) -> int:
  """CREPE hop at 16 kHz for a frame rate; it must be a whole sample count."""
  return _hop_size(CREPE_SAMPLE_RATE, frame_rate)


def _resample_np(audio: np.ndarray, sample_rate: int,
                 target_rate: int) -> np.ndarray:
  """Band-limited polyphase resampling of [..., n_samples] audio."""
  if sample_rate == target_rate:
    return audio
  ratio = np.gcd(int(sample_rate), int(target_rate))
  return scipy.signal.resample_poly(audio, target_rate // ratio,
                                    sample_rate // ratio, axis=-1)


@functools.lru_cache(maxsize=None)
def _crepe_network(model_capacity_or_path: str):
  """A compiled graph of a CREPE model over any number of raw frames."""
  model = crepe.get_model(model_capacity_or_path)

  @tf.function(input_signature=[tf.TensorSpec([None, CREPE_FRAME_SIZE],
                                              tf.float32)])
  def activations(frames):
    return model(crepe.normalize_frames(frames), training=False)

  return activations


def _crepe_activations(audio_16k: np.ndarray, hop_size: int, padding: str,
                       model_capacity_or_path: str) -> np.ndarray:
  """CREPE activations of [batch, n_samples] 16 kHz audio.

  Frames are views into the padded audio, sent to the network a bounded
  number at a time, so memory does not grow with the frames' overlap.

  Returns:
    [batch, n_frames, 360] float32.
  """
  network = _crepe_network(model_capacity_or_path)
  padded = _pad_np(audio_16k, CREPE_FRAME_SIZE, hop_size, padding)
  frames = np.lib.stride_tricks.sliding_window_view(
      padded, CREPE_FRAME_SIZE, axis=-1)[:, ::hop_size, :]
  batch, n_frames = frames.shape[:2]
  flat = frames.reshape(batch * n_frames, CREPE_FRAME_SIZE) if n_frames else (
      np.zeros([0, CREPE_FRAME_SIZE]))
  outputs = [network(tf.constant(flat[start:start + _CREPE_BATCH_FRAMES],
                                 tf.float32)).numpy()
             for start in range(0, flat.shape[0], _CREPE_BATCH_FRAMES)]
  activations = (np.concatenate(outputs) if outputs else
                 np.zeros([0, crepe.N_BINS], np.float32))
  return activations.reshape(batch, n_frames, crepe.N_BINS)


def reset_crepe() -> None:
  """Forgets the loaded CREPE models, freeing their memory."""
  _crepe_network.cache_clear()
  crepe.get_model.cache_clear()


def crepe_hop_samples(crepe_hop_ms: float) -> int:
  """CREPE's analysis hop in 16 kHz samples for crepe_hop_ms milliseconds.

  Args:
    crepe_hop_ms: Milliseconds; 16 * crepe_hop_ms must be a whole number
      from 1 to 1024.

  Returns:
    The hop in samples (160 for 10 ms).

  Raises:
    ValueError: For anything else.
  """
  if isinstance(crepe_hop_ms, bool) or not isinstance(
      crepe_hop_ms, (int, float, np.integer, np.floating)):
    raise ValueError(f'crepe_hop_ms must be a number of milliseconds or None, '
                     f'got crepe_hop_ms={crepe_hop_ms!r}.')
  samples = float(crepe_hop_ms) * CREPE_SAMPLE_RATE / 1000.0
  hop = int(round(samples)) if np.isfinite(samples) else 0
  if not 1 <= hop <= CREPE_FRAME_SIZE or abs(samples - hop) > 1e-6:
    raise ValueError(
        f'crepe_hop_ms must give a whole number of 16 kHz samples between 1 '
        f'and {CREPE_FRAME_SIZE} (e.g. {CREPE_NATIVE_HOP_MS:g}, CREPE\'s '
        f'native hop), got crepe_hop_ms={crepe_hop_ms!r} ({samples:g} '
        'samples).')
  return hop


def _interpolate_frames(values: np.ndarray, source_hop: float,
                        source_offset: float, target_hop: float,
                        target_offset: float, n_frames: int) -> np.ndarray:
  """Linear interpolation of frame-wise values onto other frames.

  Source frame i sits at sample i * source_hop + source_offset and target
  frame j at j * target_hop + target_offset (16 kHz samples); targets
  outside the source frames take the nearest frame's values.

  Args:
    values: [batch, n_source, ...].
    source_hop: Samples between source frames.
    source_offset: Sample of source frame 0.
    target_hop: Samples between target frames.
    target_offset: Sample of target frame 0.
    n_frames: Number of target frames.

  Returns:
    float64 [batch, n_frames, ...].
  """
  n_source = values.shape[1]
  positions = np.clip((np.arange(n_frames) * float(target_hop) +
                       target_offset - source_offset) / float(source_hop),
                      0, n_source - 1)
  below = np.minimum(np.floor(positions).astype(np.int64), n_source - 1)
  above = np.minimum(below + 1, n_source - 1)
  weight = (positions - below).reshape((1, n_frames) +
                                       (1,) * (values.ndim - 2))
  values = np.asarray(values, np.float64)
  return values[:, below] * (1.0 - weight) + values[:, above] * weight


def swiftf0_at_frames(audio_16k: np.ndarray, first_center: float,
                      hop_size: float, n_frames: int
                      ) -> Tuple[np.ndarray, np.ndarray]:
  """SwiftF0's pitch and confidence on frames of one's choosing.

  SwiftF0 analyses the audio from its first sample (its frame i is centred
  on sample 256 i); its track is interpolated onto frames centred on
  samples first_center + j * hop_size, f0 linearly in log-frequency (so a
  glide stays on its path), confidence linearly.

  Args:
    audio_16k: [batch, n_samples] finite 16 kHz audio.
    first_center: Sample on which frame 0 is centred.
    hop_size: Samples between frames.
    n_frames: Number of frames.

  Returns:
    (f0_hz, confidence), float64 [batch, n_frames].

  Raises:
    ImportError: Without the swift-f0 package.
  """
  f0_hz, confidence = swiftf0.f0_and_confidence(audio_16k)
  track = _interpolate_frames(
      np.stack([np.log2(f0_hz), confidence], axis=-1), swiftf0.HOP_SIZE, 0,
      hop_size, first_center, n_frames)
  return np.exp2(track[..., 0]), track[..., 1]


def _crepe_f0(audio_16k: np.ndarray, hop_size: int, padding: str,
              viterbi: bool, model_capacity: str, analysis_hop: int,
              n_frames: int) -> Tuple[np.ndarray, np.ndarray]:
  """CREPE f0 and confidence of [batch, n_samples] 16 kHz audio.

  The network runs at analysis_hop. At another hop than the frames', its
  activations (a pitch salience on a 20-cent grid, so log-frequency) are
  interpolated in time onto the frames before decoding, so the Viterbi
  path keeps the per-frame dynamics it has at the frames' own hop.
  """
  activations = _crepe_activations(audio_16k, analysis_hop, padding,
                                   model_capacity)
  if analysis_hop != hop_size:
    # With the same padding, frame i sits at i * hop + frame_offset for
    # either hop.
    frame_offset = 0 if padding == 'center' else CREPE_FRAME_SIZE // 2
    activations = _interpolate_frames(activations, analysis_hop,
                                      frame_offset, hop_size, frame_offset,
                                      n_frames).astype(np.float32)
  activations = tf.constant(activations)
  centers = crepe.viterbi_path(activations) if viterbi else None
  f0_hz, confidence = crepe.activations_to_f0_and_confidence(activations,
                                                             centers)
  return f0_hz.numpy(), confidence.numpy()


def compute_f0(audio: Array, frame_rate: float, viterbi: bool = True,
               padding: str = 'center', sample_rate: int = CREPE_SAMPLE_RATE,
               model_capacity: str = 'full', f0_estimator: str = 'crepe',
               crepe_hop_ms: Optional[float] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
  """Fundamental frequency and confidence with CREPE or SwiftF0.

  Audio at any sample rate is resampled to 16 kHz. The frames are CREPE's
  whichever estimator runs: 1024 samples with a hop of 16000 / frame_rate
  (rounded down), padded like compute_loudness, so with 'center' or 'same'
  padding the two give the same number of frames for the same frame rate
  ('valid' frame counts depend on the frame size, 1024 here). Frame k is
  centred on sample k * hop ('center') or k * hop + 512 ('same', 'valid')
  of the 16 kHz audio.

  Estimators:
  * 'crepe' (default): CREPE at the frames' hop, or with crepe_hop_ms at
    that hop (10 ms is CREPE's native hop, and much cheaper than 4 ms at
    250 frames per second), interpolated onto the frames.
  * 'swiftf0': SwiftF0 (`pip install "ddsp_tf[swiftf0]"`) at its native
    16 ms hop, interpolated onto the frames; viterbi and model_capacity do
    not apply. Its confidence (voiced at >= 0.5) is f0_confidence.

  Interpolation is linear in log-frequency for f0 and linear for
  confidence; frames beyond the tracker's first or last frame take that
  frame's values. Unvoiced and silent frames are handled as CREPE handles
  them: every frame gets a finite, positive f0 inside the tracker's range
  (CREPE 31.7-1975.5 Hz, SwiftF0 46.875-2093.75 Hz), meaningless where the
  confidence is low; no frame is 0 or NaN. Silence gets a confidence near 0
  (CREPE about 0.01, SwiftF0 exactly 0 for audio peaking below 1e-3).

  Args:
    audio: [n_samples] or [batch, n_samples] audio.
    frame_rate: Frames per second; the hop is 16000 / frame_rate samples,
      rounded down.
    viterbi: Smooth CREPE's pitch track with its HMM (Viterbi decoding)
      instead of taking each frame's peak.
    padding: 'center', 'same' or 'valid'.
    sample_rate: Sample rate of `audio`.
    model_capacity: CREPE's size: 'tiny', 'small', 'medium', 'large', 'full',
      or the path of a CREPE weight file.
    f0_estimator: 'crepe' or 'swiftf0'.
    crepe_hop_ms: CREPE's analysis hop in milliseconds (a whole number of
      16 kHz samples, e.g. 10.0); None analyses at the frames' hop.

  Returns:
    (f0_hz, f0_confidence) float32 numpy arrays, [n_frames] or
    [batch, n_frames]. Confidence is in [0, 1] (CREPE: the peak activation).

  Raises:
    ValueError: For empty audio, audio shorter than one CREPE frame
      (1024 samples at 16 kHz), a bad rank or frame rate, an unknown
      f0_estimator, or crepe_hop_ms that is not a whole number of samples or
      is given with another estimator.
    ImportError: For 'swiftf0' without the swift-f0 package.
    FileNotFoundError: If the CREPE weights are not installed.
  """
  validation.check_positive('sample_rate', sample_rate)
  validation.check_choice('padding', padding, _PADDINGS)
  validation.check_choice('f0_estimator', f0_estimator, F0_ESTIMATORS)
  if crepe_hop_ms is not None and f0_estimator != 'crepe':
    raise ValueError(f'crepe_hop_ms applies to CREPE only; got crepe_hop_ms='
                     f'{crepe_hop_ms!r} with f0_estimator={f0_estimator!r}. '
                     'Leave it None.')
  analysis_hop = None if crepe_hop_ms is None else crepe_hop_samples(
      crepe_hop_ms)
  hop_size = _crepe_hop_size(frame_rate)
  audio, is_1d = _audio_np(audio)
  if audio.shape[-1] == 0:
    raise ValueError('compute_f0 got empty audio (0 samples).')
  audio_16k = _resample_np(audio, sample_rate, CREPE_SAMPLE_RATE)
  if audio_16k.shape[-1] < CREPE_FRAME_SIZE:
    raise ValueError(
        f'compute_f0 needs at least one CREPE frame ({CREPE_FRAME_SIZE} '
        f'samples at 16 kHz, {CREPE_FRAME_SIZE / CREPE_SAMPLE_RATE:.3f} s); '
        f'got {audio.shape[-1]} samples at {sample_rate} Hz.')
  if not np.all(np.isfinite(audio_16k)):
    raise ValueError('compute_f0 got audio with NaN or Inf samples.')
  n_frames = get_framed_lengths(audio_16k.shape[-1], CREPE_FRAME_SIZE,
                                hop_size, padding)[0]
  if f0_estimator == 'swiftf0':
    frame_offset = 0 if padding == 'center' else CREPE_FRAME_SIZE // 2
    f0_hz, confidence = swiftf0_at_frames(audio_16k, frame_offset, hop_size,
                                          n_frames)
  else:
    f0_hz, confidence = _crepe_f0(
        audio_16k, hop_size, padding, viterbi, model_capacity,
        analysis_hop or hop_size, n_frames)
  f0_hz = np.asarray(f0_hz, np.float32)
  confidence = np.asarray(confidence, np.float32)
  return (f0_hz[0], confidence[0]) if is_1d else (f0_hz, confidence)


@keras.saving.register_keras_serializable(package='ddsp_tf.spectral_ops')
class PretrainedCREPE(keras.Model):
  """CREPE inside the graph: audio -> activations, f0 and confidence.

  Unlike compute_f0 (numpy in, numpy out, batched for long files), this
  model runs in tf.function for losses and metrics.
  """

  def __init__(self, model_size_or_path: str = 'full', hop_size: int = 160,
               **kwargs):
    """Loads the network.

    Args:
      model_size_or_path: A CREPE capacity or the path of a weight file.
      hop_size: Samples between frames at 16 kHz.
      **kwargs: Keras model arguments.
    """
    super().__init__(**kwargs)
    self.model_size_or_path = model_size_or_path
    self.hop_size = validation.check_int('hop_size', hop_size)
    self.frame_size = CREPE_FRAME_SIZE
    self.sample_rate = CREPE_SAMPLE_RATE
    self.network = crepe.get_model(model_size_or_path)

  activations_to_f0_and_confidence = staticmethod(
      crepe.activations_to_f0_and_confidence)
  normalize_frames = staticmethod(crepe.normalize_frames)
  create_hmm = staticmethod(crepe.create_hmm)
  viterbi_decode = staticmethod(crepe.viterbi_path)

  def batch_frames(self, audio: Array, padding: str = 'center') -> tf.Tensor:
    """Frames of [batch, n_samples] 16 kHz audio, [batch, n_frames, 1024]."""
    audio, _ = _audio_tf(audio)
    padded = pad(audio, self.frame_size, self.hop_size, padding=padding)
    return tf.signal.frame(padded, self.frame_size, self.hop_size)

  def call(self, audio: Array, padding: str = 'center') -> tf.Tensor:
    """CREPE activations of 16 kHz audio, [batch, n_frames, 360]."""
    frames = self.batch_frames(audio, padding=padding)
    shape = tf.shape(frames)
    flat = tf.reshape(frames, [-1, self.frame_size])
    activations = self.network(self.normalize_frames(flat), training=False)
    return tf.reshape(activations, [shape[0], shape[1], crepe.N_BINS])

  def predict_f0_and_confidence(self, audio: Array, viterbi: bool = False,
                                padding: str = 'center'
                                ) -> Tuple[tf.Tensor, tf.Tensor]:
    """f0 and confidence of 16 kHz audio, each [batch, n_frames]."""
    activations = self(audio, padding=padding)
    centers = self.viterbi_decode(activations) if viterbi else None
    return self.activations_to_f0_and_confidence(activations, centers)

  def get_config(self):
    config = super().get_config()
    config.update(model_size_or_path=self.model_size_or_path,
                  hop_size=self.hop_size)
    return config
