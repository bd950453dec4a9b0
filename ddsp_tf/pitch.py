"""CREPE pitch tracking: `compute_f0` and the in-graph `PretrainedCREPE`.

`compute_f0` takes numpy audio at any rate and runs the network in bounded
batches (for long files); `PretrainedCREPE` is a Keras model for use inside
tf.function (losses, metrics). `spectral_ops` (the original's path)
re-exports every public name here, with the constants `CREPE_SAMPLE_RATE`
and `CREPE_FRAME_SIZE`. The network itself, its weights and the Viterbi
decoding live in crepe.py.
"""

import functools
from typing import Tuple

import keras
import numpy as np
import scipy.signal
import tensorflow as tf

from ddsp_tf import crepe
from ddsp_tf import validation
from ddsp_tf.framing import _audio_np
from ddsp_tf.framing import _audio_tf
from ddsp_tf.framing import _hop_size
from ddsp_tf.framing import _pad_np
from ddsp_tf.framing import _PADDINGS
from ddsp_tf.framing import Array
from ddsp_tf.framing import pad

CREPE_SAMPLE_RATE = 16000
CREPE_FRAME_SIZE = 1024


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


def compute_f0(audio: Array, frame_rate: float, viterbi: bool = True,
               padding: str = 'center', sample_rate: int = CREPE_SAMPLE_RATE,
               model_capacity: str = 'full') -> Tuple[np.ndarray, np.ndarray]:
  """Fundamental frequency and confidence with CREPE.

  Audio at any sample rate is resampled to 16 kHz. Frames are 1024 samples
  with a hop of 16000 / frame_rate, padded like compute_loudness, so with
  'center' or 'same' padding the two give the same number of frames for the
  same frame rate ('valid' frame counts depend on the frame size, 1024 here).

  Args:
    audio: [n_samples] or [batch, n_samples] audio.
    frame_rate: Frames per second; 16000 / frame_rate must be a whole number.
    viterbi: Smooth the pitch track with CREPE's HMM (Viterbi decoding)
      instead of taking each frame's peak.
    padding: 'center', 'same' or 'valid'.
    sample_rate: Sample rate of `audio`.
    model_capacity: 'tiny', 'small', 'medium', 'large', 'full', or the path
      of a CREPE weight file.

  Returns:
    (f0_hz, f0_confidence) float32 numpy arrays, [n_frames] or
    [batch, n_frames]. Confidence is the peak activation, in [0, 1].

  Raises:
    ValueError: For empty audio, audio shorter than one CREPE frame
      (1024 samples at 16 kHz), a bad rank or a bad frame rate.
    FileNotFoundError: If the CREPE weights are not installed.
  """
  validation.check_positive('sample_rate', sample_rate)
  validation.check_choice('padding', padding, _PADDINGS)
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
  activations = _crepe_activations(audio_16k, hop_size, padding,
                                   model_capacity)
  centers = crepe.viterbi_path(activations) if viterbi else None
  f0_hz, confidence = crepe.activations_to_f0_and_confidence(activations,
                                                             centers)
  f0_hz, confidence = f0_hz.numpy(), confidence.numpy()
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
