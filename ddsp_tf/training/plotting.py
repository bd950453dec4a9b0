"""Plots of audio and DDSP controls with matplotlib.

Figures are made with `matplotlib.figure.Figure` and the Agg canvas, not
pyplot, so plotting works headless and leaves the user's matplotlib backend
alone. Each function draws into a given Axes, or into a new figure that it
returns (notebooks display a returned Figure).
"""

import io
from typing import Sequence, Tuple

from matplotlib.backends import backend_agg
from matplotlib import figure as mpl_figure
import numpy as np

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation

DEFAULT_SAMPLE_RATE = 16000


def new_figure(n_rows: int = 1, n_cols: int = 1,
               size: Tuple[float, float] = (6.0, 3.0)
               ) -> Tuple[mpl_figure.Figure, np.ndarray]:
  """A figure with an Agg canvas and a grid of axes.

  Args:
    n_rows: Rows of axes.
    n_cols: Columns of axes.
    size: Size of one panel in inches (width, height).

  Returns:
    (figure, axes) with axes a [n_rows, n_cols] object array.
  """
  n_rows = validation.check_int('n_rows', n_rows)
  n_cols = validation.check_int('n_cols', n_cols)
  fig = mpl_figure.Figure(figsize=(size[0] * n_cols, size[1] * n_rows))
  backend_agg.FigureCanvasAgg(fig)
  axes = fig.subplots(n_rows, n_cols, squeeze=False)
  return fig, axes


def figure_to_png(fig: mpl_figure.Figure) -> bytes:
  """Renders a figure to PNG bytes."""
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png')
  return buffer.getvalue()


def _first_example(audio) -> np.ndarray:
  """[n_samples] from [n_samples] or [batch, n_samples] (first example)."""
  audio = np.asarray(audio, np.float32)
  if audio.ndim == 2:
    audio = audio[0]
  if audio.ndim != 1:
    raise ValueError(f'audio must be [n_samples] or [batch, n_samples], got '
                     f'shape {list(np.shape(audio))}.')
  return audio


def specplot(audio, vmin: float = -5.0, vmax: float = 1.0, rotate: bool = True,
             size: int = 512 + 256, ax=None, **matshow_kwargs):
  """Plots the log-magnitude spectrogram of one example.

  Args:
    audio: [n_samples] or [batch, n_samples] (the first example is shown).
    vmin: Lowest log magnitude of the colour scale.
    vmax: Highest log magnitude of the colour scale.
    rotate: Time on the x axis and low frequencies at the bottom.
    size: STFT frame size.
    ax: Axes to draw into; None makes a new figure.
    **matshow_kwargs: Passed to Axes.matshow.

  Returns:
    The figure drawn into.
  """
  logmag = spectral_ops.compute_logmag(_first_example(audio), size=size)
  logmag = np.asarray(logmag)
  if rotate:
    logmag = np.flipud(logmag.T)
  if ax is None:
    fig, axes = new_figure(size=(8.0, 4.0))
    ax = axes[0, 0]
  ax.matshow(logmag, vmin=vmin, vmax=vmax, cmap='magma', aspect='auto',
             **matshow_kwargs)
  ax.set_xticks([])
  ax.set_yticks([])
  ax.set_xlabel('Time')
  ax.set_ylabel('Frequency')
  return ax.figure


def transfer_function(ir, sample_rate: int = DEFAULT_SAMPLE_RATE
                      ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Frequency response of impulse responses.

  Args:
    ir: [..., ir_size] impulse responses.
    sample_rate: Sample rate of the responses.

  Returns:
    (frequencies [n_bins] in Hz, magnitudes [..., n_bins], phase
    [..., n_bins] in radians, unwrapped).
  """
  validation.check_positive('sample_rate', sample_rate)
  ir = np.asarray(ir, np.float64)
  spectrum = np.fft.rfft(ir, axis=-1)
  frequencies = np.fft.rfftfreq(ir.shape[-1], d=1.0 / sample_rate)
  return frequencies, np.abs(spectrum), np.unwrap(np.angle(spectrum), axis=-1)


def plot_impulse_responses(impulse_response, desired_magnitudes,
                           sample_rate: int = DEFAULT_SAMPLE_RATE):
  """Plots an impulse response, its magnitude response and the target.

  Args:
    impulse_response: [ir_size] (or [1, ir_size]) filter taps.
    desired_magnitudes: [n_bins] target magnitudes from 0 Hz to Nyquist.
    sample_rate: Sample rate of the filter.

  Returns:
    The figure.
  """
  taps = _first_example(impulse_response)
  desired = np.ravel(np.asarray(desired_magnitudes, np.float64))
  frequencies, magnitudes, _ = transfer_function(taps, sample_rate)
  fig, axes = new_figure(1, 3, size=(4.0, 3.0))
  axes[0, 0].plot(taps)
  axes[0, 0].set_title('Impulse response')
  axes[0, 1].plot(np.linspace(0, sample_rate / 2, desired.size), desired)
  axes[0, 1].set_title('Desired magnitudes')
  axes[0, 2].plot(frequencies, magnitudes)
  axes[0, 2].set_title('Magnitude response')
  for ax in axes[0, 1:]:
    ax.set_xlabel('Hz')
  return fig


def f0_midi_plot(f0_hz, f0_hz_predict=None, ax=None,
                 labels: Sequence[str] = ('f0', 'predicted f0')):
  """Plots one or two pitch tracks in MIDI note numbers.

  Args:
    f0_hz: [n_frames] (or [n_frames, 1]) pitch in Hz.
    f0_hz_predict: Optional second track in Hz, any number of frames.
    ax: Axes to draw into; None makes a new figure.
    labels: Legend labels of the two tracks.

  Returns:
    The figure drawn into.
  """
  if ax is None:
    _, axes = new_figure()
    ax = axes[0, 0]
  tracks = [f0_hz] if f0_hz_predict is None else [f0_hz, f0_hz_predict]
  for track, label in zip(tracks, labels):
    midi = np.asarray(core.hz_to_midi(np.ravel(np.asarray(track, np.float32))))
    ax.plot(midi, label=label)
  ax.set_xlabel('Frame')
  ax.set_ylabel('MIDI')
  ax.legend(loc='upper right')
  return ax.figure
