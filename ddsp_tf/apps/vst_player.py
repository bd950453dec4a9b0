"""Play a DDSP-VST model file as the plugin does, without a DAW.

`VSTPlayer` runs the DDSP-VST plugin's real-time loop in Python, hop by hop
(magenta/ddsp-vst, src/audio/tflite/InferencePipeline.cpp and the synths):

1. Features. Mono 16 kHz input goes into a buffer primed with 1024 zeros;
   every 320 samples the last 1024 give one frame: power
   10 log10(mean(x^2)) floored at -80 dB, pw_scaled = pw_db / 80 + 1, and
   f0 from CREPE (ddsp_tf's, 'tiny' by default; the plugin embeds its own
   small CREPE-like model), shifted by pitch_shift semitones, clamped to
   [8.18, 12543.84] Hz, f0_scaled = MIDI / 127.
2. Controls. The .tflite (ddsp_tf_export --inference_model=
   vst_stateless_predict_controls) runs once per frame with the GRU state
   fed back.
3. Synthesis, 320 samples per frame. Harmonic: harmonics at or above 8 kHz
   are zeroed and the rest renormalised, times the amplitude; f0 and each
   harmonic amplitude move linearly from the previous frame's value over
   the first 160 samples and hold over the last 160; the phase runs on,
   wrapped to [0, 2 pi). Noise: the 65 magnitudes as a zero-phase spectrum,
   a 128-tap Hann-windowed impulse response made causal, uniform noise in
   [-1, 1] filtered by it, samples 62..381 of the result. No reverb.

Latency: each hop is rendered as soon as its input hop has arrived (output
sample n is computed when input sample n is in), from the frame that ends
there. Its controls describe audio centred 512 samples (32 ms) back and
reach their values 160 samples (10 ms) into the hop, so sound follows the
input by about 352 samples (22 ms) (`latency_samples`). The plugin reports
64 ms (one full analysis frame) to its host.
"""

import logging
import os
import time
from typing import Any, Dict, Optional, Text

import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import files
from ddsp_tf import formats
from ddsp_tf import spectral_ops
from ddsp_tf.training import vst_inference

logger = logging.getLogger(__name__)

SAMPLE_RATE = formats.VST_SAMPLE_RATE
FRAME_SIZE = formats.VST_FRAME_SIZE
HOP_SIZE = formats.VST_HOP_SIZE
MIN_F0_HZ, MAX_F0_HZ = 8.18, 12543.84  # MIDI 0 to 127.
NOISE_IR_SIZE = 128
NOISE_FFT_SIZE = 512
NOISE_OFFSET = 62
LATENCY_SAMPLES = FRAME_SIZE // 2 - HOP_SIZE // 2
DB_RANGE = 80.0  # Power floor, dB.


class PluginSynth:
  """The plugin's harmonic and noise synthesis, one 320-sample hop a call."""

  def __init__(self, n_harmonics: int, n_noise: int, seed: int = 42):
    """Sets the sizes.

    Args:
      n_harmonics: Harmonic amplitudes per frame.
      n_noise: Noise magnitudes per frame (65 for the 128-tap filter).
      seed: Seed of the noise generator (the plugin's is 42).
    """
    self.n_harmonics, self.n_noise = n_harmonics, n_noise
    self.seed = seed
    ir_size = 2 * (n_noise - 1)
    self.ir_size = ir_size
    i = np.arange(ir_size)
    # Zero-phase periodic Hann: its peak at tap 0, as the response.
    self.window = np.roll(0.5 * (1 - np.cos(2 * np.pi * i / ir_size)),
                          ir_size // 2)
    self.ramp = np.concatenate([np.arange(HOP_SIZE // 2) / (HOP_SIZE // 2),
                                np.ones(HOP_SIZE - HOP_SIZE // 2)])
    self.reset()

  def reset(self) -> None:
    """Back to silence: zero phase, previous controls and a fresh seed."""
    self.phase = 0.0
    self.previous_f0 = 0.0
    self.previous_amps = np.zeros(self.n_harmonics)
    self.rng = np.random.default_rng(self.seed)

  def harmonic(self, amplitude: float, distribution: np.ndarray,
               f0_hz: float) -> np.ndarray:
    """One hop of the harmonic oscillator bank, [HOP_SIZE] float64."""
    numbers = np.arange(1, self.n_harmonics + 1)
    distribution = np.where(numbers * f0_hz >= SAMPLE_RATE / 2, 0.0,
                            np.asarray(distribution, np.float64))
    total = distribution.sum()
    if total > 0:
      distribution = distribution / total
    amps = amplitude * distribution
    f0 = self.previous_f0 + (f0_hz - self.previous_f0) * self.ramp
    envelopes = (self.previous_amps[np.newaxis, :] +
                 (amps - self.previous_amps)[np.newaxis, :] *
                 self.ramp[:, np.newaxis])
    phases = self.phase + np.cumsum(2 * np.pi * f0 / SAMPLE_RATE)
    audio = np.sum(envelopes * np.sin(phases[:, np.newaxis] * numbers),
                   axis=-1)
    self.phase = float(np.fmod(phases[-1], 2 * np.pi))
    self.previous_f0, self.previous_amps = f0_hz, amps
    return audio

  def noise(self, magnitudes: np.ndarray) -> np.ndarray:
    """One hop of filtered noise, [HOP_SIZE] float64."""
    response = np.fft.irfft(np.asarray(magnitudes, np.float64), self.ir_size)
    response = np.roll(response * self.window, self.ir_size // 2)
    noise = self.rng.uniform(-1.0, 1.0, HOP_SIZE)
    filtered = np.fft.irfft(np.fft.rfft(noise, NOISE_FFT_SIZE) *
                            np.fft.rfft(response, NOISE_FFT_SIZE),
                            NOISE_FFT_SIZE)
    return filtered[NOISE_OFFSET:NOISE_OFFSET + HOP_SIZE]


class VSTPlayer:
  """A DDSP-VST model file played as the plugin plays it (see the module).

  Feed mono 16 kHz audio in blocks of any size to `process`; each call
  returns as many samples as it was given.
  """

  def __init__(self, model_path: Text, crepe_model: Text = 'tiny',
               pitch_shift: float = 0.0, seed: int = 42):
    """Loads and checks the model.

    Args:
      model_path: A .tflite written by ddsp_tf_export
        --inference_model=vst_stateless_predict_controls (or magenta/ddsp's
        ddsp_export).
      crepe_model: CREPE capacity for f0.
      pitch_shift: Semitones added to the input's pitch.
      seed: Seed of the noise.

    Raises:
      FileNotFoundError: If model_path does not exist.
      ValueError: If it is not a model the plugin plays (wrong tensors or
        sizes, a rate other than 16 kHz).
    """
    if not os.path.isfile(model_path):
      raise FileNotFoundError(f'No model file {model_path!r}.')
    with open(model_path, 'rb') as model_file:
      model = model_file.read()
    try:
      self.metadata: Optional[Dict[Text, Any]] = vst_inference.read_metadata(
          model)
    except ValueError:
      self.metadata = None
    rate = (self.metadata or {}).get('sample_rate', SAMPLE_RATE)
    if rate != SAMPLE_RATE:
      raise ValueError(
          f'{model_path} is a {rate} Hz model; the DDSP-VST plugin and this '
          'player play 16 kHz models (models/vst/vst.gin).')
    details = vst_inference.check_plugin_model(model)
    self.interpreter = tf.lite.Interpreter(model_content=model,
                                           num_threads=1)
    self.interpreter.allocate_tensors()
    self.inputs = {name: detail['index']
                   for name, detail in details['inputs'].items()}
    self.outputs = {name: detail['index']
                    for name, detail in details['outputs'].items()}
    self.state_size = dict(formats.VST_INPUT_TENSORS)['call_state:0']
    self.crepe = spectral_ops.PretrainedCREPE(crepe_model, hop_size=HOP_SIZE)
    # Traced once: eager CREPE costs tens of ms a call in Python overhead.
    self._frame_f0 = tf.function(
        lambda frames: self.crepe.predict_f0_and_confidence(
            frames, padding='valid')[0],
        input_signature=[tf.TensorSpec([None, FRAME_SIZE], tf.float32)])
    self.pitch_shift = float(pitch_shift)
    sizes = dict(formats.VST_OUTPUT_TENSORS)
    self.synth = PluginSynth(sizes['StatefulPartitionedCall:1'],
                             sizes['StatefulPartitionedCall:2'], seed)
    self.latency_samples = LATENCY_SAMPLES
    self.reset()

  def reset(self) -> None:
    """Silence: zero input buffer, GRU state, phase and controls."""
    self.buffer = np.zeros(FRAME_SIZE, np.float32)
    self.pending = np.zeros(0, np.float32)
    self.output = np.zeros(0, np.float64)
    self.state = np.zeros(self.state_size, np.float32)
    self.synth.reset()

  def features(self, frames: np.ndarray) -> Dict[Text, np.ndarray]:
    """f0 and power of [n, 1024] frames, as the plugin's feature stage."""
    mean_square = np.mean(np.square(frames, dtype=np.float64), axis=-1)
    power_db = np.maximum(10.0 * np.log10(np.maximum(mean_square, 1e-30)),
                          -DB_RANGE)
    # Each frame as its own batch row: one 'valid' CREPE frame per row.
    f0_hz = self._frame_f0(tf.constant(frames, tf.float32)).numpy()
    f0_hz = f0_hz[:, 0] * 2.0**(self.pitch_shift / 12.0)
    f0_hz = np.clip(f0_hz, MIN_F0_HZ, MAX_F0_HZ)
    return {'f0_hz': f0_hz, 'pw_db': power_db,
            'f0_scaled': np.asarray(core.hz_to_midi(f0_hz)) / 127.0,
            'pw_scaled': power_db / DB_RANGE + 1.0}

  def controls(self, f0_scaled: float, pw_scaled: float) -> Dict[Text, Any]:
    """One frame through the model, the state fed back."""
    interpreter = self.interpreter
    interpreter.set_tensor(self.inputs['call_f0_scaled:0'],
                           np.float32([f0_scaled]))
    interpreter.set_tensor(self.inputs['call_pw_scaled:0'],
                           np.float32([pw_scaled]))
    interpreter.set_tensor(self.inputs['call_state:0'], self.state)
    interpreter.invoke()
    out = [interpreter.get_tensor(self.outputs[f'StatefulPartitionedCall:{k}'])
           for k in range(4)]
    self.state = out[3].astype(np.float32)
    return {'amplitude': float(out[0][0]), 'harmonic_distribution': out[1],
            'noise_magnitudes': out[2]}

  def _hops(self, block: np.ndarray) -> np.ndarray:
    """Takes new input; returns the hops it completes, [n_hops * 320]."""
    self.pending = np.concatenate([self.pending, block])
    n_hops = len(self.pending) // HOP_SIZE
    if not n_hops:
      return np.zeros(0, np.float64)
    stream = np.concatenate([self.buffer, self.pending[:n_hops * HOP_SIZE]])
    # Frame i ends where hop i of the pending input ends.
    frames = np.stack([stream[(i + 1) * HOP_SIZE:
                              (i + 1) * HOP_SIZE + FRAME_SIZE]
                       for i in range(n_hops)])
    features = self.features(frames)
    hops = []
    for i in range(n_hops):
      controls = self.controls(features['f0_scaled'][i],
                               features['pw_scaled'][i])
      hops.append(self.synth.harmonic(
          controls['amplitude'], controls['harmonic_distribution'],
          features['f0_hz'][i]) + self.synth.noise(
              controls['noise_magnitudes']))
    self.buffer = stream[-FRAME_SIZE:]
    self.pending = self.pending[n_hops * HOP_SIZE:]
    return np.concatenate(hops)

  def render(self, audio: np.ndarray, compensate_latency: bool = True
             ) -> np.ndarray:
    """Plays a whole 16 kHz signal from a reset player, offline.

    Args:
      audio: [n] mono float audio at 16 kHz.
      compensate_latency: Shift the output back by latency_samples so it
        lines up with the input.

    Returns:
      [n] float32 output.
    """
    audio = np.asarray(audio, np.float32)
    self.reset()
    shift = self.latency_samples if compensate_latency else 0
    padded = np.concatenate([audio, np.zeros(shift + HOP_SIZE, np.float32)])
    out = self._hops(padded)[shift:shift + len(audio)]
    self.reset()
    return np.pad(out, (0, len(audio) - len(out))).astype(np.float32)

  def process(self, block: np.ndarray) -> np.ndarray:
    """Plays a block of mono 16 kHz input; returns as many samples.

    Args:
      block: [n] float audio at 16 kHz (any n, including 0).

    Returns:
      [n] float32 output; the first latency_samples of a stream follow the
      primed silence.

    Raises:
      ValueError: For a block that is not 1-D or not finite.
    """
    block = np.asarray(block, np.float32)
    if block.ndim != 1:
      raise ValueError(f'process takes mono [n_samples] audio, got shape '
                       f'{block.shape}.')
    if not np.all(np.isfinite(block)):
      raise ValueError('The input block holds NaN or infinite samples.')
    self.output = np.concatenate([self.output, self._hops(block)])
    # Output lags by whatever input has not completed a hop yet.
    n_out = min(len(block), len(self.output))
    out = np.zeros(len(block), np.float32)
    out[len(block) - n_out:] = self.output[:n_out]
    self.output = self.output[n_out:]
    return out


def to_model_rate(audio: np.ndarray, sample_rate: int) -> np.ndarray:
  """[n] or [n, channels] audio -> mono float at 16 kHz (polyphase)."""
  from scipy import signal  # pylint: disable=g-import-not-at-top
  audio = np.asarray(audio, np.float64)
  if audio.ndim == 2:
    audio = audio.mean(axis=1)
  if sample_rate != SAMPLE_RATE:
    divisor = np.gcd(int(sample_rate), SAMPLE_RATE)
    audio = signal.resample_poly(audio, SAMPLE_RATE // divisor,
                                 int(sample_rate) // divisor)
  return audio.astype(np.float32)


def play_file(input_path: Text, model_path: Text, output_path: Text,
              crepe_model: Text = 'tiny', pitch_shift: float = 0.0,
              block_size: int = 512, seed: int = 42) -> Dict[Text, Any]:
  """Plays an audio file through a plugin model file, block by block.

  The input is mixed to mono and resampled to 16 kHz (polyphase); the
  output is written at 16 kHz (temporary file, then renamed).

  Args:
    input_path: Any audio file soundfile reads.
    model_path: The plugin .tflite.
    output_path: Where to write the output (.wav: 32-bit float).
    crepe_model: CREPE capacity for f0.
    pitch_shift: Semitones added to the input's pitch.
    block_size: Samples per process() call (a host's buffer size).
    seed: Seed of the noise.

  Returns:
    {'seconds': audio seconds, 'wall_seconds': processing time,
     'real_time_factor': audio seconds per second of processing,
     'latency_samples': ..., 'output': output_path}.

  Raises:
    files.AudioFileError: For an unreadable or empty input.
    ValueError: For a bad block_size or model.
  """
  if int(block_size) <= 0:
    raise ValueError(f'block_size must be positive, got {block_size!r}.')
  player = VSTPlayer(model_path, crepe_model=crepe_model,
                     pitch_shift=pitch_shift, seed=seed)
  audio = to_model_rate(*files.read_audio(input_path))
  start = time.perf_counter()
  blocks = [player.process(audio[i:i + block_size])
            for i in range(0, len(audio), block_size)]
  wall = time.perf_counter() - start
  files.write_audio_atomically(output_path, np.concatenate(blocks),
                               SAMPLE_RATE)
  seconds = len(audio) / SAMPLE_RATE
  return {'seconds': seconds, 'wall_seconds': wall,
          'real_time_factor': seconds / max(wall, 1e-9),
          'latency_samples': player.latency_samples, 'output': output_path}
