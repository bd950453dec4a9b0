"""TensorBoard summaries of audio, spectrograms, waveforms and pitch.

Each function writes to the default summary writer (use
`with writer.as_default():`) and takes eager tensors or numpy arrays.
Spectrogram images are coloured arrays made without matplotlib figures, so
they are cheap enough to write during training; waveform and f0 summaries
are matplotlib plots rendered headless (see plotting.py).

The MIDI summaries (midi_summary, midiae_*_summary, pianoroll_summary) draw
one figure per example, tagged '<tag>/<name>_<i>' with i from 1 as in
magenta/ddsp. Differences from the original on purpose: they show at most
MAX_OUTPUTS examples; midiae_f0_summary draws the second decoder's pitch
when outputs has 'f0_midi_pred2' (the original tested a key,
'f0_midi_rec2', that no model writes); midiae_sp_summary works without the
'*_pred' outputs (the original indexed a single Axes there); and
pianoroll_summary fits a prediction of another length to the ground truth's
frames and sets the y range from the sounding pitches.
"""

from typing import Optional, Tuple

import matplotlib
from matplotlib import patches
from matplotlib import ticker
import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.training import midi_metrics
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


# ----------------------------------------------------------------------------
# MIDI summaries (notes, piano rolls and the MIDI autoencoder's outputs).
# ----------------------------------------------------------------------------
def _example(values, i: int) -> np.ndarray:
  """Example i of a batch as a numpy array, trailing size-1 axes dropped."""
  value = np.asarray(values[i], np.float32)
  while value.ndim > 1 and value.shape[-1] == 1:
    value = value[..., 0]
  return value


def _n_examples(values) -> int:
  return min(int(np.shape(values)[0]), MAX_OUTPUTS)


def _to_midi(f0_hz) -> np.ndarray:
  return np.asarray(core.hz_to_midi(np.ravel(np.asarray(f0_hz, np.float32))))


def midi_summary(controls, step: int, name: str, frame_rate: int,
                 notes_key: str) -> None:
  """Writes plots of notes over the controls they were found in.

  One figure per example (up to MAX_OUTPUTS), tag 'midi/<name>_<i>' (i from
  1): the harmonic amplitudes (log scale) with the notes' velocities / 1000,
  and the f0 in MIDI with the notes' pitches; diamonds mark note onsets.

  Args:
    controls: Dict with 'f0_hz' [batch, n_frames(, 1)],
      ['harmonic']['controls']['amplitudes'] [batch, n_frames(, 1)] and a
      list of NoteSequences at notes_key (e.g. from
      heuristics.segment_notes_batch).
    step: Training step.
    name: Second part of the summary name.
    frame_rate: Frames per second of the controls and notes.
    notes_key: Key of the NoteSequences in controls.
  """
  frame_rate = validation.check_int('frame_rate', frame_rate)
  amplitudes = controls['harmonic']['controls']['amplitudes']
  for i in range(_n_examples(controls['f0_hz'])):
    amps = _example(amplitudes, i)
    f0_midi = _to_midi(controls['f0_hz'][i])
    notes_amps = np.zeros_like(amps)
    notes_pitch = np.zeros_like(f0_midi)
    onsets = []
    for note in controls[notes_key][i].notes:
      start = midi_metrics.time_to_frame(note.start_time, frame_rate)
      stop = midi_metrics.time_to_frame(note.end_time, frame_rate,
                                        round_up=True)
      notes_amps[start:stop] = note.velocity / 1e3
      notes_pitch[start:stop] = note.pitch
      if start < f0_midi.size:
        onsets.append(start)
    fig, axes = plotting.new_figure(2, 1, size=(6.0, 2.0))
    amp_ax, f0_ax = axes[:, 0]
    amp_ax.semilogy(amps, label='controls')
    amp_ax.plot(notes_amps, '-d', label='notes', markevery=onsets)
    amp_ax.set_title('Amplitudes')
    f0_ax.plot(f0_midi, label='controls')
    f0_ax.plot(notes_pitch, '-d', label='notes', markevery=onsets)
    f0_ax.set_title('f0 (MIDI)')
    for ax in (amp_ax, f0_ax):
      ax.legend(loc='upper right')
    fig.tight_layout()
    fig_summary(f'midi/{name}_{i + 1}', fig, step)


def _f0_plot_range(f0_midi: np.ndarray, max_spike: float = 5.0,
                   min_midi_value: float = 5.0,
                   pad: float = 6.0) -> Tuple[float, float]:
  """y limits for an f0 plot that skip glitches and near-silent frames.

  Frames that jump more than max_spike semitones from the previous one, or
  lie below min_midi_value, are left out; the rest's range is widened by
  pad semitones and rounded outwards. (0, 127) when no frame is left.
  """
  f0_midi = np.ravel(np.asarray(f0_midi, np.float64))
  jumps = np.abs(np.diff(f0_midi, prepend=f0_midi[:1]))
  kept = f0_midi[(jumps <= max_spike) & (f0_midi >= min_midi_value)
                 & np.isfinite(f0_midi)]
  if not kept.size:
    return 0.0, 127.0
  return float(np.floor(kept.min() - pad)), float(np.ceil(kept.max() + pad))


def _midiae_f0_plot(q_pitch, f0_midi, curve, step: int, label: str,
                    tag: str) -> None:
  """Quantized pitch, input f0 and another pitch curve over a keyboard."""
  fig, ax, piano_ax = plotting.pianoroll_plot_setup(
      figsize=(6.0, 4.0), xlim=(0, max(len(f0_midi), 1)))
  piano_ax.set_ylabel('MIDI note')
  ax.step(np.arange(len(q_pitch)), q_pitch, 'r', linewidth=1.0,
          label='q_pitch', where='post')
  ax.plot(f0_midi, 'dodgerblue', linewidth=1.5, label='input f0')
  ax.plot(curve, 'darkgreen', linewidth=1.25, label=label)
  ax.set_ylim(*_f0_plot_range(f0_midi))
  ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
  ax.legend(loc='upper right')
  fig_summary(tag, fig, step)


def midiae_f0_summary(f0_hz, outputs, step: int) -> None:
  """Writes plots of a MIDI autoencoder's pitch: input, quantized, decoded.

  Per example (up to MAX_OUTPUTS), tags 'midiae_decoder_pitch/ex_<i>'
  (outputs['f0_midi_pred']), 'midiae_decoder_pitch2/ex_<i>' (when outputs
  has 'f0_midi_pred2') and 'midiae_encoder_pitch/ex_<i>' (when it has
  'pitch'), each over outputs['q_pitch'] and the input f0.

  Args:
    f0_hz: The model's input f0 [batch, n_frames(, 1)] in Hz.
    outputs: Model outputs with 'q_pitch' and 'f0_midi_pred' [batch,
      n_frames(, 1)] in MIDI.
    step: Training step.
  """
  curves = [('f0_midi_pred', 'rec_f0', 'midiae_decoder_pitch'),
            ('f0_midi_pred2', 'rec_f0_2', 'midiae_decoder_pitch2'),
            ('pitch', 'z_pitch', 'midiae_encoder_pitch')]
  for i in range(_n_examples(f0_hz)):
    f0_midi = _to_midi(f0_hz[i])
    q_pitch = _example(outputs['q_pitch'], i)
    for key, label, tag in curves:
      if key in outputs and outputs[key] is not None:
        _midiae_f0_plot(q_pitch, f0_midi, _example(outputs[key], i), step,
                        label, f'{tag}/ex_{i + 1}')


def _midiae_ld_plot(ld_input, ld_rec, curve, step: int, label: str,
                    tag: str) -> None:
  """Input and reconstructed loudness with a velocity curve."""
  fig, axes = plotting.new_figure(size=(6.0, 4.0))
  ax = axes[0, 0]
  ax.plot(ld_input, linewidth=1.5, label='input ld')
  ax.plot(ld_rec, 'g', linewidth=1.25, label='rec ld')
  ax.step(np.arange(len(curve)), curve, 'r', linewidth=0.75, label=label,
          where='post')
  ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
  ax.legend(loc='upper right')
  fig_summary(tag, fig, step)


def midiae_ld_summary(ld_feat, outputs, step: int,
                      db_key: str = 'loudness_db') -> None:
  """Writes plots of a MIDI autoencoder's loudness and velocity.

  Per example (up to MAX_OUTPUTS), tags 'midiae_decoder_ld/<db_key>_<i>'
  (outputs['<db_key>_rec'] with outputs['velocity_quant']),
  'midiae_decoder_ld2/<db_key>_<i>' (when outputs has '<db_key>_rec2') and
  'midiae_encoder_ld/<db_key>_<i>' (with outputs['velocity'], when
  present).

  Args:
    ld_feat: The model's input loudness [batch, n_frames(, 1)].
    outputs: Model outputs with '<db_key>_rec' and 'velocity_quant'.
    step: Training step.
    db_key: Name of the loudness feature ('loudness_db' or 'power_db').
  """
  rec_key = f'{db_key}_rec'
  for i in range(_n_examples(ld_feat)):
    ld_input = _example(ld_feat, i)
    ld_rec = _example(outputs[rec_key], i)
    vel_quant = _example(outputs['velocity_quant'], i)
    _midiae_ld_plot(ld_input, ld_rec, vel_quant, step, 'q_vel',
                    f'midiae_decoder_ld/{db_key}_{i + 1}')
    if outputs.get(f'{rec_key}2') is not None:
      _midiae_ld_plot(ld_input, _example(outputs[f'{rec_key}2'], i),
                      vel_quant, step, 'q_vel',
                      f'midiae_decoder_ld2/{db_key}_{i + 1}')
    if outputs.get('velocity') is not None:
      _midiae_ld_plot(ld_input, ld_rec, _example(outputs['velocity'], i),
                      step, 'vel', f'midiae_encoder_ld/{db_key}_{i + 1}')


def _synth_params_figure(panels, step: int, tag: str) -> None:
  """One row per (title, values); 1-D values as lines, 2-D as images."""
  fig, axes = plotting.new_figure(len(panels), 1, size=(8.0, 4.0))
  for ax, (title, values) in zip(axes[:, 0], panels):
    if values.ndim == 1:
      ax.plot(values)
    else:
      image = ax.imshow(values.T, aspect='auto', origin='lower')
      fig.colorbar(image, ax=ax)
    ax.set_title(title)
    ax.label_outer()
  fig_summary(tag, fig, step)


def midiae_sp_summary(outputs, step: int) -> None:
  """Writes plots of a MIDI autoencoder's synthesizer parameters.

  Per example (up to MAX_OUTPUTS): 'amplitudes/amplitudes_<i>' (outputs
  'amps'), 'harmonic_dist/harmonic_dist_<i>' (log of 'hd') and
  'noise_mags/noise_mags_<i>' ('noise'), each the synthesizer branch's
  values and, when outputs has the '<name>_pred' of the MIDI branch, those
  and the difference below.

  Args:
    outputs: Model outputs with 'f0_hz' (for the batch size), 'amps'
      [batch, n_frames(, 1)], 'hd' [batch, n_frames, n_harmonics] and
      'noise' [batch, n_frames, n_bands]; optionally 'amps_pred', 'hd_pred'
      and 'noise_pred'.
    step: Training step.
  """
  params = [('amps', 'Amplitudes', 'amplitudes/amplitudes', False),
            ('hd', 'Harmonic distribution (log)',
             'harmonic_dist/harmonic_dist', True),
            ('noise', 'Noise magnitudes', 'noise_mags/noise_mags', False)]
  for i in range(_n_examples(outputs['f0_hz'])):
    for key, title, tag, take_log in params:
      values = _example(outputs[key], i)
      if take_log:
        values = np.log(values + 1e-8)
      panels = [(f'{title} - synth_params', values)]
      if outputs.get(f'{key}_pred') is not None:
        predicted = _example(outputs[f'{key}_pred'], i)
        if take_log:
          predicted = np.log(predicted + 1e-8)
        panels += [(f'{title} - pred', predicted),
                   (f'{title} - diff', values - predicted)]
      _synth_params_figure(panels, step, f'{tag}_{i + 1}')


def pianoroll_summary(batch, step: int, name: str, frame_rate: int,
                      pred_key: str, gt_key: str = 'note_active_velocities',
                      ch: Optional[int] = None, threshold: float = 0.0,
                      tb_name: str = 'pianoroll') -> None:
  """Writes ground-truth and predicted piano rolls, overlaid.

  One image per example (up to MAX_OUTPUTS), tag '<tb_name>/<name>_<i>':
  ground truth in green, prediction in blue (cyan where both sound), over a
  keyboard; cells where neither is above threshold are transparent. The y
  range is the sounding pitches +- 5.

  Args:
    batch: Dict with ground-truth rolls [batch, n_frames, n_pitches] at
      gt_key and predictions at pred_key: rolls of the same layout or a
      list of NoteSequences.
    step: Training step.
    name: Second part of the summary name.
    frame_rate: Frames per second of the rolls (for NoteSequences).
    pred_key: Key of the predictions.
    gt_key: Key of the ground truth.
    ch: For rolls with a trailing channel axis, the channel to show.
    threshold: Values above it count as sounding.
    tb_name: First part of the summary name.
  """
  frame_rate = validation.check_int('frame_rate', frame_rate)
  gt_batch, pred_batch = batch[gt_key], batch[pred_key]
  green, blue = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
  for i in range(_n_examples(gt_batch)):
    gt_roll = np.asarray(gt_batch[i], np.float32)
    pred = pred_batch[i]
    if ch is not None:
      gt_roll = gt_roll[..., ch]
    n_frames, n_pitches = gt_roll.shape
    if midi_metrics.is_note_sequence(pred):
      pred_roll = midi_metrics.sequence_to_pianoroll(
          pred, frame_rate, n_frames=n_frames, max_pitch=n_pitches - 1)
    else:
      pred_roll = np.asarray(pred, np.float32)
      pred_roll = pred_roll[..., ch] if ch is not None else pred_roll
      pred_roll = pred_roll[:n_frames]
      pred_roll = np.pad(pred_roll, [(0, n_frames - pred_roll.shape[0]),
                                     (0, 0)])
    gt_on, pred_on = gt_roll > threshold, pred_roll > threshold
    image = np.zeros([n_pitches, n_frames, 4], np.float32)
    image[..., 1] = np.clip(gt_roll.T, 0.0, 1.0) * gt_on.T
    image[..., 2] = np.clip(pred_roll.T, 0.0, 1.0) * pred_on.T
    image[..., 3] = (gt_on | pred_on).T
    sounding = np.flatnonzero(np.any(gt_on | pred_on, axis=0))
    low, high = ((sounding.min(), sounding.max()) if sounding.size
                 else (0, n_pitches - 1))
    fig, ax, _ = plotting.pianoroll_plot_setup(figsize=(6.0, 4.0),
                                               xlim=(0, n_frames))
    ax.imshow(image, origin='lower', aspect='auto', interpolation='nearest',
              extent=[0, n_frames, -0.5, n_pitches - 0.5])
    ax.set_ylim(max(low - 5, 0) - 0.5, min(high + 5, n_pitches - 1) + 0.5)
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    fig.legend(handles=[
        patches.Patch(label='GT MIDI', color=green),
        patches.Patch(label='Pred MIDI', color=blue),
        patches.Patch(label='Overlap', color=green + blue)])
    fig_summary(f'{tb_name}/{name}_{i + 1}', fig, step)
