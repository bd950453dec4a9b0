"""Resynthesis metrics: loudness L1, f0 L1, outlier ratio and pitch accuracy.

Metrics compare features of generated audio with the dataset's features
(or the model's predicted f0 with the dataset's), accumulate over batches,
and `flush(step)` writes the means as TensorBoard scalars
'metrics/<name>/<metric>' and resets them.

Differences from magenta/ddsp on purpose:
- Raw pitch and raw chroma accuracy are computed here in numpy (no
  mir_eval); F0Metrics names them correctly (the original swapped the
  internal names).
- F0CrepeMetrics also reports raw pitch and chroma accuracy of the CREPE
  re-analysis, and takes the CREPE size (`model_capacity`).
- The generated audio's features are framed like the dataset's: 'center'
  when the dataset has n_samples // hop + 1 frames, else 'same' (the
  original always used 'center', half a window off 'same'-framed data).

The MIDI transcription metrics (EvalCounts, sequence2intervals,
compute_note_metrics, compute_frame_metrics, MidiMetrics) live in the
sibling module `midi_metrics` and are re-exported here, at the original's
path.
"""

from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation
# Re-exported: these names are part of ddsp_tf.training.metrics.
# pylint: disable=unused-import,g-multiple-import,g-importing-member
from ddsp_tf.training.midi_metrics import (
    EvalCounts, MidiMetrics, compute_frame_metrics, compute_note_metrics,
    sequence2intervals)
# pylint: enable=unused-import,g-multiple-import,g-importing-member

# Frames whose ground-truth confidence is below this are not compared.
MIN_F0_CONFIDENCE = 0.85
# Generated pitch further than this (semitones) from the truth is an outlier.
OUTLIER_MIDI_THRESH = 12
CENTS_PER_OCTAVE = 1200.0


# ----------------------------------------------------------------------------
# Helpers.
# ----------------------------------------------------------------------------
def squeeze(x) -> np.ndarray:
  """numpy array without a trailing channel axis of size 1."""
  x = np.asarray(x)
  return x[..., 0] if x.ndim >= 2 and x.shape[-1] == 1 else x


def l1_distance(prediction, ground_truth) -> np.ndarray:
  """|prediction - ground_truth| over the frames both have.

  Args:
    prediction: [..., n] values.
    ground_truth: [..., m] values.

  Returns:
    [..., min(n, m)] absolute differences.
  """
  prediction, ground_truth = squeeze(prediction), squeeze(ground_truth)
  n_frames = min(prediction.shape[-1], ground_truth.shape[-1])
  return np.abs(prediction[..., :n_frames] - ground_truth[..., :n_frames])


def is_outlier(ground_truth_f0_conf) -> bool:
  """Whether an example has no confident pitch at all (max < threshold)."""
  return bool(np.max(squeeze(ground_truth_f0_conf)) < MIN_F0_CONFIDENCE)


def infer_padding(n_frames: int, n_samples: int, hop_size: int) -> str:
  """'center' when a feature has n_samples // hop + 1 frames, else 'same'."""
  return 'center' if n_frames == n_samples // hop_size + 1 else 'same'


def compute_audio_features(audio, frame_rate: int = 250,
                           sample_rate: int = 16000,
                           model_capacity: str = 'full',
                           padding: str = 'center') -> Dict[str, np.ndarray]:
  """Loudness and CREPE f0 of audio.

  As in magenta/ddsp, size-1 dimensions of the audio are squeezed away
  before the analysis: audio of [1, n_samples] (the timbre-transfer Colab's)
  gives features of [n_frames], and 'audio' is returned as given.

  Args:
    audio: [n_samples], [1, n_samples] or [batch, n_samples].
    frame_rate: Feature frames per second.
    sample_rate: Sample rate of the audio.
    model_capacity: CREPE size ('tiny' ... 'full').
    padding: Framing of both features ('center', 'same' or 'valid').

  Returns:
    Dict with 'audio' (the input, as float32), and 'loudness_db', 'f0_hz'
    and 'f0_confidence' of [n_frames] (or [batch, n_frames] for a batch).
  """
  given = np.asarray(audio, np.float32)
  audio = np.squeeze(given) if given.ndim > 1 else given
  loudness = spectral_ops.compute_loudness(
      audio, sample_rate=sample_rate, frame_rate=frame_rate, padding=padding)
  f0_hz, f0_confidence = spectral_ops.compute_f0(
      audio, frame_rate, viterbi=True, padding=padding,
      sample_rate=sample_rate, model_capacity=model_capacity)
  return {'audio': given, 'loudness_db': np.asarray(loudness),
          'f0_hz': f0_hz, 'f0_confidence': f0_confidence}


def _midi(f0_hz) -> np.ndarray:
  return np.asarray(core.hz_to_midi(np.asarray(f0_hz, np.float32)))


def f0_dist_conf_thresh(f0_hz, f0_hz_gen, f0_confidence,
                        f0_confidence_thresh: float = MIN_F0_CONFIDENCE
                        ) -> Optional[float]:
  """Mean |MIDI difference| over frames with confident ground-truth pitch.

  Args:
    f0_hz: Ground-truth pitch [n_frames] in Hz.
    f0_hz_gen: Generated pitch in Hz (compared over the common frames).
    f0_confidence: Ground-truth confidence [n_frames].
    f0_confidence_thresh: Frames below this confidence are ignored.

  Returns:
    The mean distance in semitones, or None when no frame is confident.
  """
  distance = l1_distance(_midi(f0_hz_gen), _midi(f0_hz))
  confident = squeeze(f0_confidence)[:distance.shape[-1]] >= (
      f0_confidence_thresh)
  return float(np.mean(distance[confident])) if np.any(confident) else None


def pitch_accuracy(f0_hz, f0_hz_est, tolerance_cents: float = 50.0,
                   chroma: bool = False) -> Optional[float]:
  """Raw pitch (or chroma) accuracy over the voiced ground-truth frames.

  A voiced frame (f0_hz > 0) counts as correct when the estimate is voiced
  and within tolerance_cents of the truth; with chroma=True octave errors
  are forgiven (the difference is taken modulo an octave).

  Args:
    f0_hz: Ground-truth pitch [n_frames] in Hz; 0 means unvoiced.
    f0_hz_est: Estimated pitch [n_frames] in Hz.
    tolerance_cents: Largest difference that counts as correct.
    chroma: Compare pitch classes instead of pitches.

  Returns:
    The fraction of voiced frames that are correct, or None without voiced
    frames.
  """
  validation.check_positive('tolerance_cents', tolerance_cents)
  f0_hz, f0_hz_est = squeeze(f0_hz), squeeze(f0_hz_est)
  n_frames = min(f0_hz.shape[-1], f0_hz_est.shape[-1])
  truth, estimate = f0_hz[..., :n_frames], f0_hz_est[..., :n_frames]
  voiced = truth > 0
  if not np.any(voiced):
    return None
  cents = 100.0 * np.abs(_midi(estimate) - _midi(truth))
  if chroma:
    cents = np.mod(cents, CENTS_PER_OCTAVE)
    cents = np.minimum(cents, CENTS_PER_OCTAVE - cents)
  correct = (cents <= tolerance_cents) & (estimate > 0)
  return float(np.mean(correct[voiced]))


# ----------------------------------------------------------------------------
# Accumulating metrics.
# ----------------------------------------------------------------------------
class Mean:
  """A running mean with the methods of tf.keras.metrics.Mean that
  magenta/ddsp's metrics objects expose (`metrics[name].result()`).

  Numpy only (no TF variables): evaluation runs eagerly on numpy arrays.
  """

  def __init__(self, name: str):
    self.name = name
    self.reset_state()

  def update_state(self, values: Any) -> None:
    """Adds every element of values (a number or an array)."""
    values = np.asarray(values, np.float64)
    self.total += float(values.sum())
    self.count += int(values.size)

  def result(self) -> np.float32:
    """The mean so far; 0.0 before any value (as Keras' Mean)."""
    return np.float32(self.total / self.count if self.count else 0.0)

  def reset_state(self) -> None:
    """Forgets every value."""
    self.total, self.count = 0.0, 0

  reset_states = reset_state  # The Keras 2 name.


class BaseMetrics:
  """Running means of named metrics, written to TensorBoard on flush.

  `metrics` maps each name to a `Mean` (`.result()`, as in magenta/ddsp);
  `means` gives them as floats, None for a metric without values.
  """

  def __init__(self, sample_rate: int, frame_rate: int, name: str,
               metric_names: Sequence[str]):
    """Creates the running means.

    Args:
      sample_rate: Audio sample rate.
      frame_rate: Feature frame rate.
      name: Prefix of the summaries, 'metrics/<name>/<metric>'.
      metric_names: The metrics this class reports.
    """
    self.sample_rate = validation.check_int('sample_rate', sample_rate)
    self.frame_rate = validation.check_int('frame_rate', frame_rate)
    self.name = name
    self.metrics = {metric: Mean(metric) for metric in metric_names}

  def _add(self, metric: str, value: Optional[float]) -> None:
    if value is not None:
      self.metrics[metric].update_state(float(value))

  @property
  def means(self) -> Dict[str, Optional[float]]:
    """Current means; None for a metric without values yet."""
    return {name: (float(mean.result()) if mean.count else None)
            for name, mean in self.metrics.items()}

  def flush(self, step: int) -> Dict[str, Optional[float]]:
    """Writes the means as scalars, logs them and resets.

    Args:
      step: Training step of the evaluated checkpoint.

    Returns:
      The means before the reset.
    """
    results = self.means
    for metric, value in results.items():
      if value is not None:
        tf.summary.scalar(f'metrics/{self.name}/{metric}', value, step=step)
    for mean in self.metrics.values():
      mean.reset_state()
    return results

  def _hop_size(self) -> int:
    hop = self.sample_rate / self.frame_rate
    if hop != int(hop):
      raise ValueError(f'frame_rate must divide sample_rate, got '
                       f'sample_rate={self.sample_rate}, '
                       f'frame_rate={self.frame_rate}.')
    return int(hop)


class LoudnessMetrics(BaseMetrics):
  """Loudness L1 (dB) between the dataset and the generated audio."""

  def __init__(self, sample_rate: int, frame_rate: int,
               name: str = 'loudness'):
    super().__init__(sample_rate, frame_rate, name, ['loudness_db'])

  def update_state(self, batch: Mapping[str, tf.Tensor], audio_gen) -> None:
    """Adds each example's mean |loudness difference|.

    Args:
      batch: Features with 'loudness_db' [batch, n_frames], or 'audio' to
        compute it from.
      audio_gen: Generated audio [batch, n_samples].
    """
    audio_gen = np.asarray(audio_gen, np.float32)
    if 'loudness_db' in batch:
      loudness = squeeze(batch['loudness_db'])
      padding = infer_padding(loudness.shape[-1], audio_gen.shape[-1],
                              self._hop_size())
    else:
      padding = 'center'
      loudness = np.asarray(spectral_ops.compute_loudness(
          np.asarray(batch['audio'], np.float32), self.sample_rate,
          self.frame_rate, padding=padding))
    loudness_gen = np.asarray(spectral_ops.compute_loudness(
        audio_gen, self.sample_rate, self.frame_rate, padding=padding))
    for distance in l1_distance(loudness_gen, loudness):
      self._add('loudness_db', np.mean(distance))


class F0CrepeMetrics(BaseMetrics):
  """f0 of the generated audio, re-analysed with CREPE, against the dataset.

  Metrics: 'f0_dist' (mean |MIDI difference| over confident frames, the
  "f0 L1"), 'outlier_ratio' (fraction of examples with confident pitch whose
  generated pitch is untrackable or more than OUTLIER_MIDI_THRESH semitones
  off), 'raw_pitch_accuracy' and 'raw_chroma_accuracy' (50 cents, over
  confident frames).
  """

  def __init__(self, sample_rate: int, frame_rate: int,
               name: str = 'f0_crepe', model_capacity: str = 'full'):
    super().__init__(sample_rate, frame_rate, name,
                     ['f0_dist', 'outlier_ratio', 'raw_pitch_accuracy',
                      'raw_chroma_accuracy'])
    self.model_capacity = model_capacity

  def compute_f0(self, audio_gen, n_frames: int) -> np.ndarray:
    """CREPE (Viterbi) f0 of generated audio, framed like the dataset.

    One compute_f0 call per example, as the original.
    """
    audio_gen = np.asarray(audio_gen, np.float32)
    audio_gen = audio_gen.reshape(-1, audio_gen.shape[-1])
    padding = infer_padding(n_frames, audio_gen.shape[-1], self._hop_size())
    return np.stack([np.asarray(spectral_ops.compute_f0(
        audio, self.frame_rate, viterbi=True, padding=padding,
        sample_rate=self.sample_rate, model_capacity=self.model_capacity)[0])
                     for audio in audio_gen])

  def update_state(self, batch: Mapping[str, tf.Tensor], audio_gen) -> None:
    """Adds the examples that have confident ground-truth pitch.

    Args:
      batch: Features with 'f0_hz' and 'f0_confidence' [batch, n_frames].
      audio_gen: Generated audio [batch, n_samples].
    """
    f0_hz = squeeze(batch['f0_hz'])
    confidence = squeeze(batch['f0_confidence'])
    f0_gen = self.compute_f0(audio_gen, f0_hz.shape[-1])
    for truth, conf, generated in zip(f0_hz, confidence, f0_gen):
      if is_outlier(conf):
        continue
      distance = f0_dist_conf_thresh(truth, generated, conf)
      if distance is None or distance > OUTLIER_MIDI_THRESH:
        self._add('outlier_ratio', 1.0)
        continue
      self._add('outlier_ratio', 0.0)
      self._add('f0_dist', distance)
      confident = conf >= MIN_F0_CONFIDENCE
      masked_truth = np.where(confident, truth, 0.0)
      self._add('raw_pitch_accuracy', pitch_accuracy(masked_truth, generated))
      self._add('raw_chroma_accuracy',
                pitch_accuracy(masked_truth, generated, chroma=True))


class F0Metrics(BaseMetrics):
  """f0 predicted by the model against the dataset's f0.

  Metrics: 'f0_dist' (mean |MIDI difference| over confident frames),
  'raw_pitch_accuracy' and 'raw_chroma_accuracy' (within rpa_tolerance
  cents, over voiced frames). A prediction with another frame count is
  compared after resampling the ground truth to its length.
  """

  def __init__(self, sample_rate: int, frame_rate: int,
               rpa_tolerance: float = 50.0, name: str = 'f0'):
    super().__init__(sample_rate, frame_rate, name,
                     ['f0_dist', 'raw_pitch_accuracy', 'raw_chroma_accuracy'])
    validation.check_positive('rpa_tolerance', rpa_tolerance)
    self.rpa_tolerance = rpa_tolerance

  def update_state(self, batch: Mapping[str, tf.Tensor], f0_hz_predict
                   ) -> None:
    """Adds each example's distances.

    Args:
      batch: Features with 'f0_hz' (and optionally 'f0_confidence').
      f0_hz_predict: Predicted pitch [batch, n_frames'] in Hz.
    """
    predict = squeeze(f0_hz_predict)
    truth = squeeze(batch['f0_hz'])
    confidence = squeeze(batch.get('f0_confidence', np.ones_like(truth)))
    if truth.shape[-1] != predict.shape[-1]:
      truth, confidence = (np.asarray(core.resample(x, predict.shape[-1]))
                           for x in (truth, confidence))
    for f0_true, conf, f0_pred in zip(truth, confidence, predict):
      self._add('f0_dist', f0_dist_conf_thresh(f0_true, f0_pred, conf))
      self._add('raw_pitch_accuracy',
                pitch_accuracy(f0_true, f0_pred, self.rpa_tolerance))
      self._add('raw_chroma_accuracy',
                pitch_accuracy(f0_true, f0_pred, self.rpa_tolerance,
                               chroma=True))
