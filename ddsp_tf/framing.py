"""Audio shapes, hop sizes and framing shared by the spectral and pitch code.

Framing follows one rule everywhere (`get_framed_lengths` and `pad`):

* 'valid': no padding; only frames that fit inside the signal.
* 'same': zeros at the end so that there are ceil(n_samples / hop) frames
  (this is what `tf.signal.stft(..., pad_end=True)` does).
* 'center': frame_size zeros in total, half before and half after, so that
  frame i is centred on sample i * hop (for even frame sizes) and there are
  n_samples // hop + 1 frames.

`spectral_ops` (the original's path) re-exports the public names.
"""

from typing import Tuple, Union

import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import validation

Array = Union[np.ndarray, tf.Tensor]

_PADDINGS = ('valid', 'same', 'center')


# ----------------------------------------------------------------------------
# Private helpers.
# ----------------------------------------------------------------------------
def _hop_size(sample_rate: float, frame_rate: float) -> int:
  """Samples per frame: sample_rate // frame_rate, as the original.

  When frame_rate does not divide sample_rate (44.1 kHz at 250 frames per
  second), the hop is rounded down (176), so there are slightly more
  frames per second than frame_rate, as in magenta/ddsp.

  Args:
    sample_rate: Audio samples per second.
    frame_rate: Feature frames per second.

  Returns:
    The hop size in samples.

  Raises:
    ValueError: If either rate is not positive, or frame_rate exceeds
      sample_rate (a hop of less than one sample).
  """
  validation.check_positive('sample_rate', sample_rate)
  validation.check_positive('frame_rate', frame_rate)
  ratio = float(sample_rate) / float(frame_rate)
  hop = int(round(ratio)) if abs(ratio - round(ratio)) <= 1e-9 * ratio else (
      int(ratio))
  if hop < 1:
    raise ValueError(
        f'frame_rate must not exceed sample_rate (a hop of at least one '
        f'sample), got sample_rate={sample_rate!r}, frame_rate='
        f'{frame_rate!r}.')
  return hop


def _audio_tf(audio: Array, name: str = 'audio') -> Tuple[tf.Tensor, bool]:
  """Float32 audio as `[batch, n_samples]` plus whether the input was 1-D.

  Accepts `[n_samples]`, `[batch, n_samples]` and `[batch, n_samples, 1]`.
  """
  audio = core.tf_float32(audio)
  validation.check_rank(
      name, audio, (1, 2, 3),
      '[n_samples], [batch, n_samples] or [batch, n_samples, 1]')
  if audio.shape.rank == 3:
    if audio.shape[-1] != 1:
      raise ValueError(f'3-D {name} must have one trailing channel, got shape '
                       f'{audio.shape.as_list()}.')
    audio = audio[..., 0]
  is_1d = audio.shape.rank == 1
  return (audio[tf.newaxis, :] if is_1d else audio), is_1d


def _audio_np(audio: Array, name: str = 'audio') -> Tuple[np.ndarray, bool]:
  """numpy float64 twin of `_audio_tf`."""
  audio = np.asarray(audio, dtype=np.float64)
  if audio.ndim not in (1, 2, 3) or (audio.ndim == 3 and audio.shape[-1] != 1):
    raise ValueError(
        f'{name} must have shape [n_samples], [batch, n_samples] or '
        f'[batch, n_samples, 1], got shape {list(audio.shape)}.')
  if audio.ndim == 3:
    audio = audio[..., 0]
  is_1d = audio.ndim == 1
  return (audio[np.newaxis, :] if is_1d else audio), is_1d


def _check_framing(frame_size: int, hop_size: int,
                   padding: str) -> Tuple[int, int]:
  """Validates the framing arguments shared by `pad` and friends."""
  validation.check_choice('padding', padding, _PADDINGS)
  frame_size = validation.check_int('frame_size', frame_size)
  hop_size = validation.check_int('hop_size', hop_size)
  if hop_size > frame_size:
    raise ValueError(
        f'hop_size must not exceed frame_size (samples between frames would '
        f'be skipped), got hop_size={hop_size}, frame_size={frame_size}.')
  return frame_size, hop_size


def _padding_amounts(n_samples: int, frame_size: int, hop_size: int,
                     padding: str) -> Tuple[int, int]:
  """Zeros to add (before, after) a signal of known length."""
  if padding == 'center':
    return frame_size // 2, frame_size - frame_size // 2
  _, padded_length = get_framed_lengths(n_samples, frame_size, hop_size,
                                        padding)
  return 0, padded_length - n_samples


def _pad_np(audio: np.ndarray, frame_size: int, hop_size: int,
            padding: str) -> np.ndarray:
  """numpy version of `pad` with zeros along the last axis."""
  frame_size, hop_size = _check_framing(frame_size, hop_size, padding)
  before, after = _padding_amounts(audio.shape[-1], frame_size, hop_size,
                                   padding)
  widths = [(0, 0)] * (audio.ndim - 1) + [(before, after)]
  return np.pad(audio, widths)


# ----------------------------------------------------------------------------
# Framing.
# ----------------------------------------------------------------------------
def get_framed_lengths(input_length: int, frame_size: int, hop_size: int,
                       padding: str = 'center') -> Tuple[int, int]:
  """Number of frames and padded signal length for a framing mode.

  * 'valid': no padding; floor((L - frame_size) / hop) + 1 frames (0 when the
    signal is shorter than one frame; the original returned a negative count).
  * 'center': L + frame_size samples after padding, so L // hop + 1 frames.
  * 'same': ceil(L / hop) frames; (n_frames - 1) * hop + frame_size samples.

  Args:
    input_length: Number of samples L before padding.
    frame_size: Samples per frame.
    hop_size: Samples between the starts of consecutive frames.
    padding: 'valid', 'same' or 'center'.

  Returns:
    (n_frames, padded_length), both Python ints.
  """
  validation.check_choice('padding', padding, _PADDINGS)
  input_length = validation.check_int('input_length', input_length, minimum=0)
  frame_size = validation.check_int('frame_size', frame_size)
  hop_size = validation.check_int('hop_size', hop_size)

  def frames_in(length):
    return max(0, (length - frame_size) // hop_size + 1)

  if padding == 'valid':
    return frames_in(input_length), input_length
  if padding == 'center':
    padded_length = input_length + frame_size
    return frames_in(padded_length), padded_length
  n_frames = -(-input_length // hop_size)  # ceil
  return n_frames, (n_frames - 1) * hop_size + frame_size


def pad(x: Array, frame_size: int, hop_size: int, padding: str = 'center',
        axis: int = 1, mode: str = 'CONSTANT',
        constant_values: float = 0) -> tf.Tensor:
  """Pads one axis of `x` for framing, as described in `get_framed_lengths`.

  'center' puts frame_size // 2 values before and the rest after (the
  original put frame_size // 2 on both sides, one short for odd frame sizes).
  'same' pads the end; it works with an unknown (dynamic) length too.

  Args:
    x: Tensor or array; converted to float32.
    frame_size: Samples per frame.
    hop_size: Samples between frames; must not exceed frame_size.
    padding: 'valid' (no-op), 'same' or 'center'.
    axis: The axis to pad (1 for `[batch, n_samples]`; -1 works for any rank).
    mode: tf.pad mode: 'CONSTANT', 'REFLECT' or 'SYMMETRIC'.
    constant_values: Value used by 'CONSTANT' mode.

  Returns:
    float32 `x` padded along `axis`.

  Raises:
    ValueError: For an unknown padding, non-positive sizes, or
      hop_size > frame_size.
  """
  frame_size, hop_size = _check_framing(frame_size, hop_size, padding)
  x = core.tf_float32(x)
  if padding == 'valid':
    return x
  rank = x.shape.rank
  if rank is not None and not -rank <= axis < rank:
    raise ValueError(f'axis={axis} is out of range for x of shape '
                     f'{x.shape.as_list()}.')
  n_samples = x.shape[axis]
  if padding == 'same' and n_samples is None:
    n_samples = tf.shape(x)[axis]
    n_frames = (n_samples + hop_size - 1) // hop_size
    paddings = (0, (n_frames - 1) * hop_size + frame_size - n_samples)
  else:
    paddings = _padding_amounts(n_samples, frame_size, hop_size, padding)
  return core.pad_axis(x, paddings, axis=axis, mode=mode,
                       constant_values=constant_values)
