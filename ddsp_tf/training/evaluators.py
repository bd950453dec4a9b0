"""Evaluators: what eval and sample modes compute for each batch.

An evaluator is built with the dataset's (sample_rate, frame_rate).
`evaluate(batch, outputs, losses)` accumulates metrics over batches and
`flush(step)` writes them to TensorBoard; `sample(batch, outputs, step)`
writes audio and plots. `outputs['audio_gen']` holds the model's audio.
Gin configs list evaluator classes (eval/basic.gin, eval/basic_f0_ld.gin).

Differences from magenta/ddsp on purpose: F0LdEvaluator always re-analyses
the generated audio with CREPE (when run_f0_crepe), and compares a model's
own f0 prediction only when told its key (`f0_output_key`). The original
compared outputs['f0_hz'] whenever present, which for the Autoencoder is
its input f0, so the metric was trivially perfect and CREPE never ran.
"""

from typing import Dict, Mapping, Optional

import gin
import numpy as np
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.training import metrics
from ddsp_tf.training import summaries

TensorDict = Mapping[str, tf.Tensor]


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
        results.update({f'metrics/{metric_set.name}/{metric}': value
                        for metric, value in metric_set.flush(step).items()})
    return results
