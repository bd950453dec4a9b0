"""Plots of audio and DDSP controls with matplotlib.

Figures are made with `matplotlib.figure.Figure` and the Agg canvas, not
pyplot, so plotting works headless and leaves the user's matplotlib backend
alone. Each function draws into a given Axes, or into a new figure that it
returns (notebooks display a returned Figure).
"""

import io
from typing import Optional, Sequence, Tuple

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


# Pitch classes of the black keys (C = 0).
_BLACK_KEYS = (1, 3, 6, 8, 10)
# Octaves of the piano drawn by pianoroll_plot_setup (MIDI 0 to 131).
_PIANO_OCTAVES = 11


def _black_key_column(n_octaves: int) -> np.ndarray:
  """[12 * n_octaves, 1]: 1 on the rows of black keys, row index = MIDI."""
  is_black = np.isin(np.arange(12 * n_octaves) % 12, _BLACK_KEYS)
  return is_black.astype(np.float32)[:, np.newaxis]


def pianoroll_plot_setup(figsize: Optional[Tuple[float, float]] = None,
                         side_piano_ratio: float = 0.025,
                         faint_pr: bool = True,
                         xlim: Optional[Sequence[float]] = None):
  """A figure for piano rolls: a small keyboard left of a main axes.

  The keyboard's y axis is MIDI pitch (y = 0 is C-1, y = 60 middle C),
  shared with the main axes, so drawing at y = pitch lines up with its key.
  11 octaves are drawn; narrow the view with `ax.set_ylim`. With faint_pr,
  the main axes get faint bands on the black-key rows and lines between
  octaves (B|C) and between E and F, from xlim[0] to xlim[1]. Draw piano
  rolls with `ax.imshow(roll.T, origin='lower', aspect='auto')`; masked or
  transparent cells show the bands behind.

  Args:
    figsize: Figure size in inches (width, height); None for matplotlib's
      default.
    side_piano_ratio: Width of the keyboard as a fraction of the figure,
      in (0, 1).
    faint_pr: Draw the faint keyboard behind the main axes.
    xlim: (min, max) x range of the main axes; (0, 1000) when None.

  Returns:
    (figure, main_axes, piano_axes): an Agg figure (see new_figure), the
    axes to plot into and the keyboard's axes (label its y axis).
  """
  side_piano_ratio = validation.check_number(
      'side_piano_ratio', side_piano_ratio, inclusive=False)
  if side_piano_ratio >= 1.0:
    raise ValueError(f'side_piano_ratio must be in (0, 1), got '
                     f'side_piano_ratio={side_piano_ratio!r}.')
  x_min, x_max = (0.0, 1000.0) if xlim is None else (float(xlim[0]),
                                                    float(xlim[1]))
  if not x_max > x_min:
    raise ValueError(f'xlim must be (min, max) with max > min, got '
                     f'xlim={xlim!r}.')
  fig = mpl_figure.Figure(figsize=figsize)
  backend_agg.FigureCanvasAgg(fig)
  grid = fig.add_gridspec(
      1, 2, width_ratios=[1, max(int(round(1 / side_piano_ratio)) - 1, 1)])
  keys = _black_key_column(_PIANO_OCTAVES)
  top = 12 * _PIANO_OCTAVES - 0.5

  piano_ax = fig.add_subplot(grid[0])
  piano_ax.imshow(keys, cmap='binary', origin='lower', aspect='auto',
                  extent=[0.0, 0.625, -0.5, top], vmin=0.0, vmax=1.0)
  # White-key borders: B|C and E|F, plus the middles of the black keys.
  borders = [octave * 12 + offset for octave in range(_PIANO_OCTAVES)
             for offset in (-0.5, 1.0, 3.0, 4.5, 6.0, 8.0, 10.0)]
  piano_ax.hlines(borders, 0.0, 1.0, colors='black', linewidth=0.5)
  piano_ax.set_xlim(0.0, 1.0)
  piano_ax.set_ylim(-0.5, top)
  piano_ax.set_xticks([])

  main_ax = fig.add_subplot(grid[1], sharey=piano_ax)
  if faint_pr:
    main_ax.imshow(keys, cmap='binary', origin='lower', aspect='auto',
                   alpha=0.05, extent=[x_min, x_max, -0.5, top], vmin=0.0,
                   vmax=1.0)
    octave_lines = [octave * 12 + offset for octave in range(_PIANO_OCTAVES)
                    for offset in (-0.5, 4.5)]
    main_ax.hlines(octave_lines, x_min, x_max, colors='black', linewidth=0.5,
                   alpha=0.25)
  main_ax.set_xlim(x_min, x_max)
  main_ax.tick_params(axis='y', labelleft=False)
  fig.subplots_adjust(wspace=0.02)
  return fig, main_ax, piano_ax
