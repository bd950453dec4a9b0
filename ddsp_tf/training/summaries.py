"""TensorBoard summaries of audio, spectrograms, waveforms and pitch.

Each function writes to the default summary writer (use
`with writer.as_default():`) and takes eager tensors or numpy arrays.
Spectrogram images are coloured arrays made without matplotlib figures, so
they are cheap enough to write during training; waveform and f0 summaries
are matplotlib plots rendered headless (see plotting.py).
"""

from typing import Optional

import matplotlib
import numpy as np
import tensorflow as tf

from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.training import plotting

# Examples of a batch that each summary shows.
MAX_OUTPUTS = 2
# Spectrogram colour scale: natural-log magnitudes within this range of the
# loudest bin (80 dB).
_SPECTROGRAM_RANGE = 80.0 / (20.0 * np.log10(np.e))


def _as_audio_batch(name: str, audio) -> np.ndarray:
  """[batch, n_samples] float32 from [n], [batch, n] or [batch, n, 1]."""
  audio = np.asarray(audio, np.float32)
  if audio.ndim == 3 and audio.shape[-1] == 1:
    audio = audio[..., 0]
  if audio.ndim == 1:
    audio = audio[np.newaxis]
  if audio.ndim != 2:
    raise ValueError(f'{name} must be [n_samples], [batch, n_samples] or '
                     f'[batch, n_samples, 1], got shape {list(audio.shape)}.')
  return audio


def fig_summary(tag: str, fig, step: int) -> None:
  """Writes a matplotlib figure as an image summary.

  Args:
    tag: Summary name.
    fig: A matplotlib Figure.
    step: Training step.
  """
  image = tf.image.decode_png(plotting.figure_to_png(fig), channels=4)
  tf.summary.image(tag, image[tf.newaxis], step=step)


def audio_summary(audio, step: int, sample_rate: int = 16000,
                  name: str = 'audio') -> None:
  """Writes up to MAX_OUTPUTS examples as playable audio (clipped to +-1).

  Args:
    audio: [batch, n_samples] (or [n_samples], [batch, n_samples, 1]).
    step: Training step.
    sample_rate: Sample rate in Hz.
    name: Summary name.
  """
  sample_rate = validation.check_int('sample_rate', sample_rate)
  audio = np.clip(_as_audio_batch('audio', audio)[:MAX_OUTPUTS], -1.0, 1.0)
  tf.summary.audio(name, audio[..., np.newaxis], sample_rate, step=step,
                   max_outputs=MAX_OUTPUTS)


def get_spectrogram(audio, rotate: bool = False,
                    size: int = 1024) -> np.ndarray:
  """Log-magnitude spectrograms.

  Args:
    audio: [batch, n_samples] (or [n_samples]).
    rotate: Return [batch, n_bins, n_frames] with low frequencies last (the
      bottom row of an image) instead of [batch, n_frames, n_bins].
    size: STFT frame size.

  Returns:
    float32 natural-log magnitudes.
  """
  logmag = np.asarray(spectral_ops.compute_logmag(
      _as_audio_batch('audio', audio), size=size))
  if rotate:
    logmag = np.flip(np.swapaxes(logmag, 1, 2), axis=1)
  return logmag


def _colorize(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
  """uint8 RGB image of an array through the magma colour map."""
  unit = np.clip((values - vmin) / max(vmax - vmin, 1e-9), 0.0, 1.0)
  rgba = matplotlib.colormaps['magma'](unit, bytes=True)
  return rgba[..., :3]


def spectrogram_summary(audio, audio_gen, step: int, name: str = '',
                        tag: str = 'spectrogram') -> None:
  """Writes spectrograms of original (top) and generated (bottom) audio.

  Both halves of an image share one colour scale: 80 dB below the loudest
  bin of either.

  Args:
    audio: Original audio [batch, n_samples].
    audio_gen: Generated audio [batch, n_samples'].
    step: Training step.
    name: Appended to the tag as '<tag>/<name>' when given.
    tag: Summary name.
  """
  original = get_spectrogram(_as_audio_batch('audio', audio)[:MAX_OUTPUTS],
                             rotate=True)
  generated = get_spectrogram(
      _as_audio_batch('audio_gen', audio_gen)[:MAX_OUTPUTS], rotate=True)
  n_frames = min(original.shape[2], generated.shape[2])
  images = []
  for top, bottom in zip(original, generated):
    vmax = max(top.max(), bottom.max())
    separator = np.full([2, n_frames], vmax)
    stacked = np.concatenate(
        [top[:, :n_frames], separator, bottom[:, :n_frames]], axis=0)
    images.append(_colorize(stacked, vmax - _SPECTROGRAM_RANGE, vmax))
  tf.summary.image(f'{tag}/{name}' if name else tag, np.stack(images),
                   step=step, max_outputs=MAX_OUTPUTS)


def waveform_summary(audio, audio_gen, step: int, name: str = '') -> None:
  """Writes plots of original and generated waveforms, one per example.

  Args:
    audio: Original audio [batch, n_samples].
    audio_gen: Generated audio [batch, n_samples'].
    step: Training step.
    name: Appended to the tag as 'waveform/<name>' when given.
  """
  audio = _as_audio_batch('audio', audio)[:MAX_OUTPUTS]
  audio_gen = _as_audio_batch('audio_gen', audio_gen)[:MAX_OUTPUTS]
  fig, axes = plotting.new_figure(len(audio), 1, size=(8.0, 2.5))
  for ax, original, generated in zip(axes[:, 0], audio, audio_gen):
    ax.plot(original, label='original', linewidth=0.5)
    ax.plot(generated, label='generated', linewidth=0.5, alpha=0.8)
    ax.set_ylim(-1.0, 1.0)
    ax.legend(loc='upper right')
  fig_summary(f'waveform/{name}' if name else 'waveform', fig, step)


def f0_summary(f0_hz, f0_hz_predict: Optional[np.ndarray], step: int,
               name: str = 'f0_midi', tag: str = 'f0_midi') -> None:
  """Writes plots of pitch tracks in MIDI, one panel per example.

  Args:
    f0_hz: [batch, n_frames] (or [batch, n_frames, 1]) pitch in Hz.
    f0_hz_predict: Optional predicted pitch, same layout; drawn over f0_hz.
    step: Training step.
    name: Second part of the summary name.
    tag: First part of the summary name.
  """
  f0_hz = np.asarray(f0_hz, np.float32)
  f0_hz = f0_hz.reshape(f0_hz.shape[0], -1)[:MAX_OUTPUTS]
  predict = (None if f0_hz_predict is None else
             np.asarray(f0_hz_predict, np.float32).reshape(
                 np.shape(f0_hz_predict)[0], -1)[:MAX_OUTPUTS])
  fig, axes = plotting.new_figure(len(f0_hz), 1, size=(8.0, 2.5))
  for i, ax in enumerate(axes[:, 0]):
    plotting.f0_midi_plot(f0_hz[i], None if predict is None else predict[i],
                          ax=ax)
  fig_summary(f'{tag}/{name}', fig, step)
