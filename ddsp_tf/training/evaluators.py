"""Evaluators: what eval and sample modes compute for each batch.

An evaluator is built with the dataset's (sample_rate, frame_rate).
`evaluate(batch, outputs, losses)` accumulates metrics over batches and
`flush(step)` writes them to TensorBoard; `sample(batch, outputs, step)`
writes audio and plots. `outputs['audio_gen']` holds the model's audio.
Gin configs list evaluator classes (eval/basic.gin, eval/basic_f0_ld.gin,
eval/basic_f0_ld_twm.gin, eval/midi_ae.gin).

BasicEvaluator and F0LdEvaluator fit every model; TWMEvaluator fits models
with a sinusoidal synthesizer; MidiAutoencoderEvaluator and
MidiHeuristicEvaluator score MIDI transcription against a dataset with
piano rolls ('note_active_velocities', data.UrmpMidi) and need the `midi`
extra (note_seq, mir_eval).

Differences from magenta/ddsp on purpose: F0LdEvaluator always re-analyses
the generated audio with CREPE (when run_f0_crepe), and compares a model's
own f0 prediction only when told its key (`f0_output_key`). The original
compared outputs['f0_hz'] whenever present, which for the Autoencoder is
its input f0, so the metric was trivially perfect and CREPE never ran.
"""

from typing import Any, Dict, List, Mapping, Optional

import gin
import numpy as np
import tensorflow as tf

from ddsp_tf import losses as ddsp_losses
from ddsp_tf import validation
from ddsp_tf.training import heuristics
from ddsp_tf.training import metrics
from ddsp_tf.training import summaries

TensorDict = Mapping[str, tf.Tensor]


def _flush_metrics(metric_set: Any, step: int) -> Dict[str, Optional[float]]:
  """Flushes a metrics object; its values by summary name."""
  return {f'metrics/{metric_set.name}/{metric}': value
          for metric, value in metric_set.flush(step).items()}


class BaseEvaluator:
  """Base class: holds the rates; subclasses compute and write results."""

  def __init__(self, sample_rate: int, frame_rate: int):
    """Records the dataset's rates.

    Args:
      sample_rate: Audio sample rate in Hz.
      frame_rate: Feature frame rate in Hz.
    """
    self.set_rates(sample_rate, frame_rate)

  def set_rates(self, sample_rate: int, frame_rate: int) -> None:
    """Sets the audio sample rate and the feature frame rate (Hz)."""
    self.sample_rate = validation.check_int('sample_rate', sample_rate)
    self.frame_rate = validation.check_int('frame_rate', frame_rate)

  def evaluate(self, batch: TensorDict, outputs: TensorDict,
               losses: TensorDict) -> None:
    """Accumulates metrics of one batch.

    Args:
      batch: The dataset's features.
      outputs: The model's outputs, with 'audio_gen'.
      losses: The model's losses.
    """
    raise NotImplementedError

  def sample(self, batch: TensorDict, outputs: TensorDict, step: int) -> None:
    """Writes audio and plots of one batch.

    Args:
      batch: The dataset's features.
      outputs: The model's outputs, with 'audio_gen'.
      step: Training step of the checkpoint.
    """
    raise NotImplementedError

  def flush(self, step: int) -> Dict[str, Optional[float]]:
    """Writes the accumulated metrics and resets them.

    Args:
      step: Training step of the checkpoint.

    Returns:
      The metrics written, by summary name.
    """
    raise NotImplementedError


@gin.register
class BasicEvaluator(BaseEvaluator):
  """Mean of each loss; samples as audio, waveform and spectrogram summaries."""

  def __init__(self, sample_rate: int, frame_rate: int):
    super().__init__(sample_rate, frame_rate)
    self._loss_sums = {}
    self._n_batches = 0

  def evaluate(self, batch, outputs, losses) -> None:
    for name, value in losses.items():
      self._loss_sums[name] = self._loss_sums.get(name, 0.0) + float(value)
    self._n_batches += 1

  def sample(self, batch, outputs, step) -> None:
    audio_gen = outputs['audio_gen']
    summaries.audio_summary(audio_gen, step, self.sample_rate,
                            name='audio_generated')
    summaries.audio_summary(batch['audio'], step, self.sample_rate,
                            name='audio_original')
    summaries.waveform_summary(batch['audio'], audio_gen, step)
    summaries.spectrogram_summary(batch['audio'], audio_gen, step)

  def flush(self, step) -> Dict[str, Optional[float]]:
    results = {f'losses/{name}': total / max(self._n_batches, 1)
               for name, total in self._loss_sums.items()}
    for tag, value in results.items():
      tf.summary.scalar(tag, value, step=step)
    self._loss_sums, self._n_batches = {}, 0
    return results


@gin.register
class F0LdEvaluator(BaseEvaluator):
  """The DDSP paper's resynthesis metrics: loudness and pitch of the output.

  Loudness L1 in dB ('metrics/loudness/loudness_db') always; with
  run_f0_crepe, CREPE re-analysis of the generated audio gives f0 L1 in
  semitones, the outlier ratio and raw pitch / chroma accuracy
  ('metrics/f0_crepe/...'); with f0_output_key, the model's own f0
  prediction is compared too ('metrics/f0/...'). Samples plot the dataset
  f0 against CREPE's f0 of the generated audio.
  """

  def __init__(self, sample_rate: int, frame_rate: int,
               run_f0_crepe: bool = True, model_capacity: str = 'full',
               f0_output_key: Optional[str] = None):
    """Creates the metrics.

    Args:
      sample_rate: Audio sample rate in Hz.
      frame_rate: Feature frame rate in Hz; 16000 / frame_rate must be whole
        for CREPE.
      run_f0_crepe: Re-analyse the generated audio's pitch with CREPE.
      model_capacity: CREPE size: 'tiny', 'small', 'medium', 'large' or
        'full' (the paper's; about 6 s per audio second on 2 CPU cores).
      f0_output_key: Key of a pitch prediction in the model outputs (Hz),
        or None when the model does not predict pitch.
    """
    super().__init__(sample_rate, frame_rate)
    self._loudness_metrics = metrics.LoudnessMetrics(sample_rate, frame_rate)
    self._f0_crepe_metrics = (
        metrics.F0CrepeMetrics(sample_rate, frame_rate,
                               model_capacity=model_capacity)
        if run_f0_crepe else None)
    self._f0_output_key = f0_output_key
    self._f0_metrics = (metrics.F0Metrics(sample_rate, frame_rate)
                        if f0_output_key else None)

  def evaluate(self, batch, outputs, losses) -> None:
    del losses
    audio_gen = outputs['audio_gen']
    self._loudness_metrics.update_state(batch, audio_gen)
    if self._f0_crepe_metrics is not None:
      self._f0_crepe_metrics.update_state(batch, audio_gen)
    if self._f0_metrics is not None:
      if self._f0_output_key not in outputs:
        raise KeyError(f'f0_output_key={self._f0_output_key!r} is not in the '
                       f'model outputs {sorted(outputs)}.')
      self._f0_metrics.update_state(batch, outputs[self._f0_output_key])

  def sample(self, batch, outputs, step) -> None:
    if self._f0_crepe_metrics is None:
      return
    f0_hz = np.asarray(batch['f0_hz'])[:summaries.MAX_OUTPUTS]
    audio_gen = np.asarray(outputs['audio_gen'])[:summaries.MAX_OUTPUTS]
    f0_gen = self._f0_crepe_metrics.compute_f0(
        audio_gen, metrics.squeeze(f0_hz).shape[-1])
    summaries.f0_summary(f0_hz, f0_gen, step, name='f0_crepe')

  def flush(self, step) -> Dict[str, Optional[float]]:
    results = {}
    for metric_set in (self._loudness_metrics, self._f0_crepe_metrics,
                       self._f0_metrics):
      if metric_set is not None:
        results.update(_flush_metrics(metric_set, step))
    return results



@gin.register
class TWMEvaluator(BaseEvaluator):
  """Pitch of a sinusoidal model, read off its sinusoids by two-way mismatch.

  Every sinusoid's frequency is an f0 candidate; `losses.TWMLoss.predict_f0`
  picks the one whose harmonics best explain the sinusoids (weighted by
  amplitude), and F0Metrics compares it with the dataset's f0
  ('metrics/f0_twm/f0_dist', '.../raw_pitch_accuracy',
  '.../raw_chroma_accuracy'). Samples plot the dataset f0 against it.
  """

  def __init__(self, sample_rate: int, frame_rate: int,
               processor_name: str = 'sinusoidal', noisy: bool = False):
    """Creates the metrics.

    Args:
      sample_rate: Audio sample rate in Hz.
      frame_rate: Feature frame rate in Hz.
      processor_name: Key of the sinusoidal processor in the model outputs;
        outputs[processor_name]['controls'] has 'frequencies' and
        'amplitudes' [batch, n_frames, n_sinusoids].
      noisy: Scale the amplitudes by 1 - controls['noise_ratios'] first.
    """
    super().__init__(sample_rate, frame_rate)
    self._processor_name = processor_name
    self._noisy = bool(noisy)
    self._f0_twm_metrics = metrics.F0Metrics(sample_rate, frame_rate,
                                             name='f0_twm')

  def _compute_twm_f0(self, outputs: TensorDict) -> np.ndarray:
    """TWM f0 [batch, n_frames, 1] in Hz of the sinusoids in outputs."""
    if self._processor_name not in outputs:
      raise KeyError(f'processor_name={self._processor_name!r} is not in the '
                     f'model outputs {sorted(outputs)}.')
    controls = outputs[self._processor_name]['controls']
    freqs = tf.convert_to_tensor(controls['frequencies'], tf.float32)
    amps = tf.convert_to_tensor(controls['amplitudes'], tf.float32)
    if self._noisy:
      amps *= 1.0 - tf.convert_to_tensor(controls['noise_ratios'],
                                         tf.float32)
    twm = ddsp_losses.TWMLoss(sample_rate=self.sample_rate)
    return twm.predict_f0(freqs, freqs, amps)

  def evaluate(self, batch, outputs, losses) -> None:
    del losses
    self._f0_twm_metrics.update_state(batch, self._compute_twm_f0(outputs))

  def sample(self, batch, outputs, step) -> None:
    summaries.f0_summary(batch['f0_hz'], self._compute_twm_f0(outputs), step,
                         name='f0_twm')

  def flush(self, step) -> Dict[str, Optional[float]]:
    return _flush_metrics(self._f0_twm_metrics, step)


@gin.register
class MidiAutoencoderEvaluator(BaseEvaluator):
  """Transcription metrics and plots of a MIDI autoencoder.

  Scores outputs['pianoroll'] against outputs['note_active_velocities']
  (the dataset's piano roll, which the model passes through) with
  MidiMetrics(tag='learned'): 'metrics/midi/learned/{onset,full_note,
  frame}/{f1,precision,recall}'. Samples write the original audio, each
  of outputs 'midi_audio', 'synth_audio', 'midi_audio2' and 'synth_audio2'
  present (audio, spectrogram, waveform), the f0 reconstruction, the piano
  rolls and the autoencoder's pitch, loudness and synthesizer plots.

  Difference from magenta/ddsp on purpose: the model's piano roll is
  one-hot with MIDI pitch 0 on in silent frames (q_pitch 0); that column
  is cleared before scoring and plotting. The original scored it as notes,
  so every silent stretch counted as a false positive.
  """

  def __init__(self, sample_rate: int, frame_rate: int,
               db_key: str = 'loudness_db', f0_key: str = 'f0_hz'):
    """Creates the metrics.

    Args:
      sample_rate: Audio sample rate in Hz.
      frame_rate: Feature frame rate in Hz (of the piano rolls too).
      db_key: Loudness feature of the model ('loudness_db' or 'power_db').
      f0_key: Pitch feature of the model; outputs['<f0_key>_pred'] is its
        reconstruction.
    """
    super().__init__(sample_rate, frame_rate)
    self._midi_metrics = metrics.MidiMetrics(frames_per_second=frame_rate,
                                             tag='learned')
    self._db_key = db_key
    self._f0_key = f0_key

  @staticmethod
  def _pianoroll(outputs: TensorDict) -> np.ndarray:
    """outputs['pianoroll'] without MIDI pitch 0, the model's silence."""
    roll = np.array(outputs['pianoroll'], np.float32)
    roll[..., 0] = 0.0
    return roll

  def evaluate(self, batch, outputs, losses) -> None:
    del batch, losses
    self._midi_metrics.update_state(outputs, self._pianoroll(outputs))

  def sample(self, batch, outputs, step) -> None:
    audio = batch['audio']
    summaries.audio_summary(audio, step, self.sample_rate,
                            name='audio_original')
    for key in ('midi_audio', 'synth_audio', 'midi_audio2', 'synth_audio2'):
      if outputs.get(key) is not None:
        summaries.audio_summary(outputs[key], step, self.sample_rate,
                                name=key)
        summaries.spectrogram_summary(audio, outputs[key], step, name=key)
        summaries.waveform_summary(audio, outputs[key], step, name=key)
    summaries.f0_summary(batch[self._f0_key], outputs[f'{self._f0_key}_pred'],
                         step, name='f0_hz_rec')
    summaries.pianoroll_summary(dict(outputs, pianoroll=self._pianoroll(
        outputs)), step, 'pianoroll', self.frame_rate, 'pianoroll')
    summaries.midiae_f0_summary(batch[self._f0_key], outputs, step)
    if f'{self._db_key}_rec' in outputs:
      summaries.midiae_ld_summary(batch[self._db_key], outputs, step,
                                  self._db_key)
    summaries.midiae_sp_summary(outputs, step)

  def flush(self, step) -> Dict[str, Optional[float]]:
    return _flush_metrics(self._midi_metrics, step)


def _batched_arrays(values: Mapping[str, Any], batch_size: int
                    ) -> Dict[str, Any]:
  """The tensors and arrays of a (nested) dict with batch_size examples."""
  kept = {}
  for key, value in values.items():
    if isinstance(value, Mapping):
      nested = _batched_arrays(value, batch_size)
      if nested:
        kept[key] = nested
    elif (isinstance(value, (tf.Tensor, np.ndarray)) and len(value.shape)
          and value.shape[0] == batch_size):
      kept[key] = value
  return kept


@gin.register
class MidiHeuristicEvaluator(BaseEvaluator):
  """Transcription metrics of notes found by the heuristics in the controls.

  `heuristics.segment_notes_batch` turns the model's controls into notes
  (`midi_heuristic`, `mean_f0` and `median_amps` unless gin binds
  `segment_notes_batch.binarize_f`, `.pick_f0_f` or `.pick_amps_f`, as
  eval/heuristic.gin and eval/heuristic_power.gin do), scored against
  outputs['note_active_velocities'] with MidiMetrics(tag='heuristic'):
  'metrics/midi/heuristic/...'. Samples plot the notes over the controls
  and against the ground-truth piano roll.

  Differences from magenta/ddsp on purpose: the original always passed its
  three functions, so the gin configs had no effect on it; notes are found
  at the evaluator's frame rate (the original assumed 250); only the
  outputs' tensors with the batch's size reach the heuristics; and samples
  leave the outputs dict unchanged.
  """

  _DEFAULT_FUNCTIONS = (('binarize_f', heuristics.midi_heuristic),
                        ('pick_f0_f', heuristics.mean_f0),
                        ('pick_amps_f', heuristics.median_amps))

  def __init__(self, sample_rate: int, frame_rate: int):
    super().__init__(sample_rate, frame_rate)
    self._midi_metrics = metrics.MidiMetrics(frames_per_second=frame_rate,
                                             tag='heuristic')

  def _compute_heuristic_notes(self, outputs: TensorDict) -> List[Any]:
    """One NoteSequence per example of outputs."""
    functions = {}
    for argument, default in self._DEFAULT_FUNCTIONS:
      try:
        gin.query_parameter(f'segment_notes_batch.{argument}')
      except ValueError:
        functions[argument] = default
    batch_size = int(np.shape(outputs['f0_hz'])[0])
    return heuristics.segment_notes_batch(
        controls_batch=_batched_arrays(outputs, batch_size),
        frame_rate=self.frame_rate, **functions)

  def evaluate(self, batch, outputs, losses) -> None:
    del batch, losses
    self._midi_metrics.update_state(outputs,
                                    self._compute_heuristic_notes(outputs))

  def sample(self, batch, outputs, step) -> None:
    del batch
    controls = dict(outputs)
    controls['heuristic_notes'] = self._compute_heuristic_notes(outputs)
    summaries.midi_summary(controls, step, 'heuristic', self.frame_rate,
                           'heuristic_notes')
    summaries.pianoroll_summary(controls, step, 'heuristic', self.frame_rate,
                                'heuristic_notes')

  def flush(self, step) -> Dict[str, Optional[float]]:
    return _flush_metrics(self._midi_metrics, step)
