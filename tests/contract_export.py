"""A small export directory that follows the export contract, for tests.

Its 'serving_default' signature does known math instead of running a trained
network: audio_dry is a sine at f0 (held over each frame) whose amplitude is
10**(loudness_db / 20), and audio adds one echo, echo_gain * audio_dry delayed
by echo_delay samples, so the room response in reverb_ir.wav is
[1, 0, ..., 0, echo_gain]. 'audio_to_audio' reports the frame RMS in dB as
loudness and zero pitch.
"""

import json
import os
from typing import Any, Dict, Optional

import numpy as np
import soundfile as sf
import tensorflow as tf

N_HARMONICS = 3
N_NOISE = 2
# Pass as a metadata override to leave the key out of metadata.json.
DROP = object()


class ToySynth(tf.Module):
  """Sine synthesizer with an echo, with the contract's two signatures."""

  def __init__(self, sample_rate: int, hop_size: int, echo_delay: int,
               echo_gain: float):
    super().__init__()
    self.sample_rate = sample_rate
    self.hop_size = hop_size
    self.echo_delay = echo_delay
    self.echo_gain = tf.Variable(echo_gain, dtype=tf.float32, trainable=False)
    spec = tf.TensorSpec([None, None], tf.float32)
    self.serve = tf.function(self._serve, input_signature=[spec, spec])
    self.audio_to_audio = tf.function(self._audio_to_audio,
                                      input_signature=[spec])

  def _serve(self, f0_hz, loudness_db):
    amps = tf.pow(10.0, loudness_db / 20.0)
    f0_up = tf.repeat(f0_hz, self.hop_size, axis=1)
    amps_up = tf.repeat(amps, self.hop_size, axis=1)
    phase = tf.cumsum(2.0 * np.pi * tf.cast(f0_up, tf.float64) /
                      self.sample_rate, axis=1)
    dry = amps_up * tf.cast(tf.sin(phase), tf.float32)
    delayed = tf.pad(dry, [[0, 0], [self.echo_delay, 0]])[:, :tf.shape(dry)[1]]
    shape = tf.shape(f0_hz)
    return {
        'audio': dry + self.echo_gain * delayed,
        'audio_dry': dry,
        'amps': amps[..., tf.newaxis],
        'harmonic_distribution': tf.ones(
            tf.concat([shape, [N_HARMONICS]], 0)) / N_HARMONICS,
        'noise_magnitudes': tf.zeros(tf.concat([shape, [N_NOISE]], 0)),
    }

  def _audio_to_audio(self, audio):
    frames = tf.reshape(audio, [tf.shape(audio)[0], -1, self.hop_size])
    rms = tf.sqrt(tf.reduce_mean(tf.square(frames), axis=-1) + 1e-10)
    loudness_db = 20.0 * tf.math.log(rms) / np.log(10.0)
    f0_hz = tf.zeros_like(loudness_db)
    outputs = self._serve(f0_hz, loudness_db)
    outputs.update(f0_hz=f0_hz, f0_confidence=tf.zeros_like(loudness_db),
                   loudness_db=loudness_db)
    return outputs


def dataset_statistics(mean_pitch_midi: float = 60.0,
                       loudness_low: float = -60.0,
                       loudness_high: float = -20.0) -> Dict[str, Any]:
  """stats.json contents of a dataset with uniformly distributed loudness."""
  levels = np.round(np.linspace(0.0, 1.0, 101), 2)
  loudness = loudness_low + levels * (loudness_high - loudness_low)
  pitch = mean_pitch_midi - 6.0 + 12.0 * levels
  return {
      'mean_loudness_db': float(np.mean(loudness)),
      'mean_pitch_midi': float(mean_pitch_midi),
      'quantile_levels': levels.tolist(),
      'loudness_db': {'count': 1000, 'mean': float(np.mean(loudness)),
                      'std': float(np.std(loudness)),
                      'min': loudness_low, 'max': loudness_high,
                      'quantiles': loudness.tolist()},
      'f0_midi': {'count': 1000, 'mean': float(mean_pitch_midi),
                  'std': float(np.std(pitch)), 'min': float(pitch[0]),
                  'max': float(pitch[-1]), 'quantiles': pitch.tolist()},
  }


def write_export(export_dir: str, sample_rate: int = 16000,
                 frame_rate: int = 250, has_reverb: bool = True,
                 echo_delay: int = 100, echo_gain: float = 0.5,
                 statistics: Optional[Dict[str, Any]] = None,
                 signatures: Optional[tuple] = None,
                 **metadata_overrides) -> str:
  """Saves a ToySynth export directory.

  Args:
    export_dir: Directory to create.
    sample_rate: Model sample rate.
    frame_rate: Model frame rate.
    has_reverb: Add the echo and write reverb_ir.wav (else audio = dry).
    echo_delay: Echo delay in samples.
    echo_gain: Echo gain.
    statistics: dataset_statistics for the metadata (None: null).
    signatures: Names of the signatures to save (default: both).
    **metadata_overrides: metadata.json entries to replace or add.

  Returns:
    export_dir.
  """
  module = ToySynth(sample_rate, sample_rate // frame_rate, echo_delay,
                    echo_gain if has_reverb else 0.0)
  functions = {'serving_default': module.serve,
               'audio_to_audio': module.audio_to_audio}
  names = signatures or tuple(functions)
  tf.saved_model.save(module, export_dir,
                      signatures={name: functions[name] for name in names})
  metadata = {
      'format_version': 1, 'ddsp_tf_version': 'test',
      'export_time': '2025-01-01T00:00:00Z', 'sample_rate': sample_rate,
      'frame_rate': frame_rate, 'hop_size': sample_rate // frame_rate,
      'n_harmonics': N_HARMONICS, 'n_noise_magnitudes': N_NOISE,
      'has_reverb': has_reverb,
      'reverb_ir_file': 'reverb_ir.wav' if has_reverb else None,
      'crepe_model': 'tiny', 'model': 'ToySynth', 'training_step': 0,
      'dataset_statistics': statistics,
  }
  metadata.update(metadata_overrides)
  metadata = {key: value for key, value in metadata.items()
              if value is not DROP}
  with open(os.path.join(export_dir, 'metadata.json'), 'w') as file:
    json.dump(metadata, file)
  if has_reverb:
    ir = np.zeros(echo_delay + 1, np.float32)
    ir[0], ir[-1] = 1.0, echo_gain
    sf.write(os.path.join(export_dir, 'reverb_ir.wav'), ir, sample_rate,
             subtype='FLOAT')
  return export_dir


def write_reverb_and_plain(root: str) -> Dict[str, str]:
  """Saves the two exports most tests use, under root.

  Args:
    root: Existing directory for the two export directories.

  Returns:
    {'reverb': an export with the echo and dataset_statistics centred on
    MIDI 60, 'plain': one without reverb or statistics}, paths each.
  """
  return {
      'reverb': write_export(
          os.path.join(root, 'reverb'),
          statistics=dataset_statistics(mean_pitch_midi=60.0)),
      'plain': write_export(os.path.join(root, 'plain'), has_reverb=False),
  }
