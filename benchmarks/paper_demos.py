"""The DDSP paper's demonstrations, measured on a model trained here.

`python -m benchmarks --suite=paper_demos` (and tests/test_paper_demos.py,
which asserts on the same functions) renders a test-made instrument with
numpy: partials at 1/k, an attack, a short release, breath noise; notes
drawn from one octave (C4 to C5) with peaks spread evenly in dB over 26
dB, half of them followed by a long rest. The audio is convolved with a
synthetic room (exponentially decaying noise, RT60 0.5 s, as much
reverberant energy as direct). A reduced solo_instrument trains on it with
ddsp_tf_run --seed --deterministic and is exported with ddsp_tf_export;
every measurement then goes through ddsp_tf.apps.timbre_transfer on held-out
melodies:

* independent control: +3 semitones and -6 dB, measured with CREPE tiny
  and A-weighted loudness on the renders;
* extrapolation: notes a fifth below and above the training octave;
* blind dereverberation: the learned room's RT60 and direct-to-reverberant
  ratio (ddsp_tf.training.acoustics) against the true ones, and how long
  the dry output takes to fall 30 dB after note-offs against the input, on
  a held-out melody whose every note is followed by a long rest;
* room transfer: the learned room applied to the dry instrument of that
  melody, its RT60 measured from the decays after note-offs.

Why the setup is as it is (the learned room, the peak range, the room's
start, 1500 steps, the framing of the analysis, crossfade_amplitudes and
determinism), with the runs that decided it: docs/paper_demos.md.
"""

import collections
import dataclasses
import inspect
import os
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import signal

from benchmarks.instrument_audio import Note

SAMPLE_RATE = 16000
FRAME_RATE = 50  # As models/solo_instrument_cpu.gin reads.
HOP = SAMPLE_RATE // FRAME_RATE
# The training notes: one octave, C4 to C5.
TRAIN_PITCHES = tuple(range(60, 73))
# Notes a fifth below and above that octave.
EXTRAPOLATION_PITCHES = (53, 79)
LONG_REST_SECS = 0.7
ROOM_RT60_SECS = 0.5
ROOM_SECS = 2.0
# Reverberant energy over direct energy of the room.
ROOM_WET_RATIO = 1.0
N_HARMONICS = 40
ATTACK_SECS, RELEASE_SECS = 0.02, 0.03
# Note peak amplitudes, drawn uniformly in dB. Training spans 26 dB so that
# the held-out melodies, also turned down by LOUDNESS_SHIFT_DB, stay inside
# the loudness range the decoder learned.
TRAIN_PEAK_RANGE = (0.025, 0.5)
EVAL_PEAK_RANGE = (0.08, 0.35)


def melody(seconds: float, seed: int,
           pitches: Sequence[int] = TRAIN_PITCHES,
           long_rest_probability: float = 0.5,
           peak_range: Tuple[float, float] = EVAL_PEAK_RANGE) -> List[Note]:
  """Random notes, some followed by a long rest, the others by a short one.

  Args:
    seconds: Length of the melody.
    seed: Random seed.
    pitches: The MIDI notes to choose from.
    long_rest_probability: The chance of a long rest after each note.
    peak_range: The lowest and highest peak amplitude, drawn uniformly in
      dB.

  Returns:
    The notes, in time order.
  """
  if not 0.0 < peak_range[0] <= peak_range[1]:
    raise ValueError('peak_range must be (low, high) with 0 < low <= high, '
                     f'got {peak_range!r}.')
  low_db, high_db = 20.0 * np.log10(peak_range)
  rng = np.random.default_rng(seed)
  notes, time = [], 0.1
  while True:
    duration = float(rng.choice([0.3, 0.5, 0.8]))
    if time + duration > seconds - LONG_REST_SECS:
      return notes
    notes.append(Note(time, duration, int(rng.choice(pitches)),
                      float(10.0 ** (rng.uniform(low_db, high_db) / 20.0))))
    long_rest = rng.uniform() < long_rest_probability
    time += duration + (LONG_REST_SECS if long_rest else 0.05)


def render_dry(notes: Sequence[Note], seconds: float, seed: int) -> np.ndarray:
  """The dry instrument, [n_samples] float64 at SAMPLE_RATE.

  Partial k at amplitude 1/k (silent above 7.6 kHz), an attack, a small
  decay to a sustain, a short release, breath noise 35 dB down.

  Args:
    notes: The melody.
    seconds: Length of the output.
    seed: Seed of the breath noise.

  Returns:
    The audio.
  """
  rng = np.random.default_rng(seed + 1)
  n_total = int(round(seconds * SAMPLE_RATE))
  audio = np.zeros(n_total)
  k = np.arange(1, N_HARMONICS + 1)
  for note in notes:
    start = int(round(note.start * SAMPLE_RATE))
    n = min(int(round(note.duration * SAMPLE_RATE)), n_total - start)
    t = np.arange(n) / SAMPLE_RATE
    f0 = 440.0 * 2.0 ** ((note.midi - 69) / 12.0)
    amplitudes = (1.0 / k) * (k * f0 < 7600.0) / np.sum(1.0 / k)
    partials = np.sin(2 * np.pi * f0 * t[:, None] * k[None, :]) @ amplitudes
    envelope = (np.minimum(t / ATTACK_SECS, 1.0) *
                (0.8 + 0.2 * np.exp(-t / 0.1)) *
                np.clip((note.duration - t) / RELEASE_SECS, 0.0, 1.0))
    breath = 10 ** (-35 / 20) * rng.standard_normal(n)
    audio[start:start + n] += note.peak * envelope * (partials + breath)
  return audio


def room_ir(rt60_secs: float = ROOM_RT60_SECS,
            wet_ratio: float = ROOM_WET_RATIO, seconds: float = ROOM_SECS,
            noise_seed: int = 0) -> np.ndarray:
  """The synthetic room: the direct sound, then decaying noise.

  The noise is that of effects.ExpDecayReverb(noise_seed=noise_seed) of the
  same length, so the learned room (an ExpDecayReverb of ROOM_SECS) can
  match the true one exactly; see docs/paper_demos.md for why it must.

  Args:
    rt60_secs: Time for the energy to fall by 60 dB, below 3.45 * seconds.
    wet_ratio: Energy of the tail over the direct sound's, exactly.
    seconds: Length.
    noise_seed: Seed of the noise.

  Returns:
    [seconds * SAMPLE_RATE] float64, tap 0 = 1 (the direct sound).
  """
  from ddsp_tf import effects  # pylint: disable=import-outside-toplevel
  n_samples = int(round(seconds * SAMPLE_RATE))
  reverb = effects.ExpDecayReverb(reverb_length=n_samples, scale_fn=None,
                                  noise_seed=noise_seed)
  decay = _raw_decay(rt60_secs, n_samples, 'rt60_secs')
  tail = np.array(reverb.get_controls(
      np.zeros((1, n_samples), np.float32), gain=[[1.0]],
      decay=[[decay]])['ir'][0], np.float64)
  tail[0] = 0.0
  ir = tail * np.sqrt(wet_ratio / np.sum(tail ** 2))
  ir[0] = 1.0
  return ir


def reverberate(audio: np.ndarray, ir: np.ndarray) -> np.ndarray:
  """Causal convolution, cut to the audio's length."""
  return signal.fftconvolve(audio, ir)[:audio.shape[-1]]


def f0_curve(notes: Sequence[Note], n_frames: int) -> np.ndarray:
  """The melody's pitch per frame; rests keep the previous note's pitch."""
  f0 = np.zeros(n_frames)
  for note in notes:
    start = int(round(note.start * FRAME_RATE))
    f0[start:] = 440.0 * 2.0 ** ((note.midi - 69) / 12.0)
  first = 440.0 * 2.0 ** ((notes[0].midi - 69) / 12.0)
  return np.where(f0 > 0.0, f0, first)


MODEL_GIN = """
include 'models/solo_instrument_cpu.gin'
include 'datasets/tfrecord.gin'

F0LoudnessPreprocessor.time_steps = {time_steps}
Harmonic.n_samples = {n_samples}
Harmonic.crossfade_amplitudes = {crossfade_amplitudes}
FilteredNoise.n_samples = {n_samples}
ProcessorGroup.dag = [
    (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
    (@synths.FilteredNoise(), ['noise_magnitudes']),
    (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
    (@effects.{reverb}(), ['add/signal']),
]
{reverb}.name = 'reverb'
{reverb}.trainable = True
{reverb}.reverb_length = {reverb_length}
{room_bindings}RnnFcDecoder.rnn_channels = {units}
RnnFcDecoder.ch = {units}
RnnFcDecoder.output_splits = (('amps', 1), ('harmonic_distribution', 40),
                              ('noise_magnitudes', 33))
TFRecordProvider.example_secs = {example_secs}
batch_size = {batch_size}
learning_rate = {learning_rate}
Trainer.lr_warmup_steps = {warmup_steps}
Trainer.lr_decay_steps = {steps}
Trainer.lr_decay_rate = {final_lr_fraction}
"""


def _float_feature(values):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def write_tfrecord(path: str, audio: np.ndarray, f0_hz: np.ndarray,
                   example_secs: float) -> int:
  """Cuts audio and its f0 into half-overlapping examples; returns the count.
  """
  # pylint: disable=import-outside-toplevel
  import tensorflow as tf
  from ddsp_tf import spectral_ops
  # pylint: enable=import-outside-toplevel
  n_samples = int(example_secs * SAMPLE_RATE)
  n_frames = n_samples // HOP
  count = 0
  with tf.io.TFRecordWriter(path) as writer:
    for start in range(0, audio.shape[0] - n_samples + 1, n_samples // 2):
      clip = audio[start:start + n_samples].astype(np.float32)
      frame = start // HOP
      features = {
          'audio': clip, 'audio_16k': clip,
          'f0_hz': f0_hz[frame:frame + n_frames].astype(np.float32),
          'f0_confidence': np.ones(n_frames, np.float32),
          'loudness_db': np.asarray(spectral_ops.compute_loudness(
              clip, SAMPLE_RATE, FRAME_RATE, padding='same', use_tf=False),
                                    np.float32)}
      example = tf.train.Example(features=tf.train.Features(feature={
          key: _float_feature(value) for key, value in features.items()}))
      writer.write(example.SerializeToString())
      count += 1
  return count


TRAIN_SECS = 40.0


@dataclasses.dataclass
class Training:
  """How the demonstration model is trained (the test's settings).

  Attributes:
    steps: Training steps.
    batch_size: Examples per step.
    example_secs: Seconds per example.
    units: GRU and dense layer width of the decoder.
    learning_rate: Adam's peak learning rate, reached after the warm-up.
    warmup_fraction: Fraction of the steps of the linear warm-up.
    final_lr_fraction: The learning rate at the last step, as a fraction of
      the peak (a smooth exponential decay after the warm-up).
    reverb: The effects class of the learned room.
    reverb_secs: Length of the learned IR.
    initial_rt60_secs: The ExpDecayReverb's RT60 before training (None: the
      class default, 12% of reverb_secs); see docs/paper_demos.md.
    initial_wet_ratio: The ExpDecayReverb's reverberant energy over direct
      energy before training (None: the class default gain, which makes it
      about 860 at an RT60 of 1 s); see docs/paper_demos.md.
    seed: Seed of TensorFlow's and numpy's random numbers for the run.
    crossfade_amplitudes: The harmonic synthesizer's ddsp_tf option (see
      docs/paper_demos.md); False renders as the original does.
  """
  steps: int = 1500
  batch_size: int = 4
  example_secs: float = 2.0
  units: int = 256
  learning_rate: float = 5e-3
  warmup_fraction: float = 0.1
  final_lr_fraction: float = 0.3
  reverb: str = 'ExpDecayReverb'
  reverb_secs: float = ROOM_SECS
  initial_rt60_secs: Optional[float] = 1.0
  initial_wet_ratio: Optional[float] = 8.0
  seed: int = 0
  crossfade_amplitudes: bool = True


def _room_bindings(training: Training) -> str:
  """Gin lines that start the ExpDecayReverb at the Training's room."""
  bindings = ''
  if training.initial_rt60_secs is not None:
    _check_exp_decay_reverb(training, 'initial_rt60_secs')
    decay = _raw_decay(training.initial_rt60_secs, _reverb_samples(training),
                       'initial_rt60_secs')
    bindings += f'ExpDecayReverb.initial_decay = {decay!r}\n'
  if training.initial_wet_ratio is not None:
    _check_exp_decay_reverb(training, 'initial_wet_ratio')
    if not training.initial_wet_ratio > 0.0:
      raise ValueError('initial_wet_ratio must be > 0, got '
                       f'{training.initial_wet_ratio!r}.')
    bindings += ('ExpDecayReverb.initial_gain = '
                 f'{_raw_gain_for_wet_ratio(training)!r}\n')
  return bindings


def _check_exp_decay_reverb(training: Training, field: str) -> None:
  if training.reverb != 'ExpDecayReverb':
    raise ValueError(f'{field} applies to ExpDecayReverb only, got '
                     f'reverb={training.reverb!r}.')


def _reverb_samples(training: Training) -> int:
  return int(training.reverb_secs * SAMPLE_RATE)


def _decay_rate(rt60_secs: float, n_samples: int) -> float:
  """ExpDecayReverb's 2 + exp(decay) for an RT60: e-folds per IR length.

  Its envelope exp(-rate * n / (n_samples - 1)) falls by a factor 1000
  (60 dB) in rt60_secs.
  """
  return np.log(1000.0) * (n_samples - 1) / (SAMPLE_RATE * rt60_secs)


def _raw_decay(rt60_secs: float, n_samples: int, name: str) -> float:
  """ExpDecayReverb's raw decay for an RT60; name is the argument's."""
  rate = _decay_rate(rt60_secs, n_samples)
  if rate <= 2.0:
    raise ValueError(f'{name} must be below ln(1000) / 2 = 3.45 times the '
                     f'IR\'s {n_samples / SAMPLE_RATE} s, got {rt60_secs}.')
  return float(np.log(rate - 2.0))


def _initial_decay_rate(training: Training) -> float:
  """2 + exp(decay) of the starting ExpDecayReverb."""
  if training.initial_rt60_secs is None:
    # pylint: disable-next=import-outside-toplevel
    from ddsp_tf import effects
    default_decay = inspect.signature(effects.ExpDecayReverb).parameters[
        'initial_decay'].default
    return 2.0 + np.exp(default_decay)
  return _decay_rate(training.initial_rt60_secs, _reverb_samples(training))


def _raw_gain_for_wet_ratio(training: Training) -> float:
  """ExpDecayReverb's raw gain whose IR tail has initial_wet_ratio's energy.

  The tail is scale * exp(-rate * n / (length - 1)) * noise at taps n >= 1
  (tap 0 is the direct sound), the noise uniform in [-1, 1] (variance
  1/3), and the scale is core.exp_sigmoid(raw) = 2 * sigmoid(raw)**ln(10).
  """
  length = _reverb_samples(training)
  rate = _initial_decay_rate(training)
  taps = np.arange(1, length)
  unit_energy = np.sum(np.exp(-2.0 * rate * taps / (length - 1))) / 3.0
  scale = np.sqrt(training.initial_wet_ratio / unit_energy)
  if scale >= 2.0:
    raise ValueError(f'initial_wet_ratio {training.initial_wet_ratio} needs '
                     'an IR scale above exp_sigmoid\'s maximum of 2; pass a '
                     'smaller ratio.')
  probability = (scale / 2.0) ** (1.0 / np.log(10.0))
  return float(np.log(probability / (1.0 - probability)))


def training_audio(seed: int = 0):
  """TRAIN_SECS of the training octave in the room: (wet, f0 per frame)."""
  notes = melody(TRAIN_SECS, seed, peak_range=TRAIN_PEAK_RANGE)
  wet = reverberate(render_dry(notes, TRAIN_SECS, seed), room_ir())
  return wet, f0_curve(notes, int(TRAIN_SECS * FRAME_RATE))


def train_and_export(workdir: str, training: Training = Training()) -> str:
  """Trains the reduced solo_instrument on `training_audio` and exports it.

  Runs ddsp_tf_run with --seed=training.seed --deterministic in a child
  process (models/solo_instrument_cpu.gin, shortened examples, the decoder
  width and learned room of `training`), echoing its log, then
  ddsp_tf_export in this process. At this budget the outcome varies a lot
  with the weights' initialisation and the order of the examples, and CPU
  training is not reproducible without op determinism; a child process
  keeps that switch (which cannot be turned off) out of the caller's
  session. The global gin config is cleared after the export.

  Args:
    workdir: An empty folder for the data, the run and the export.
    training: The settings.

  Returns:
    The export directory.

  Raises:
    RuntimeError: If ddsp_tf_run fails; the message ends with its log.
  """
  # pylint: disable=import-outside-toplevel
  import gin
  import tensorflow as tf
  from ddsp_tf.apps import export
  # pylint: enable=import-outside-toplevel
  record = os.path.join(workdir, 'train.tfrecord')
  write_tfrecord(record, *training_audio(), training.example_secs)
  n_samples = int(training.example_secs * SAMPLE_RATE)
  gin_path = os.path.join(workdir, 'paper_demos.gin')
  with open(gin_path, 'w', encoding='utf-8') as gin_file:
    gin_file.write(MODEL_GIN.format(
        time_steps=n_samples // HOP, n_samples=n_samples,
        reverb_length=_reverb_samples(training),
        room_bindings=_room_bindings(training),
        units=training.units, reverb=training.reverb,
        example_secs=training.example_secs,
        batch_size=training.batch_size,
        learning_rate=training.learning_rate,
        warmup_steps=int(training.steps * training.warmup_fraction),
        steps=training.steps,
        final_lr_fraction=training.final_lr_fraction,
        crossfade_amplitudes=bool(training.crossfade_amplitudes)))
  save_dir = os.path.join(workdir, 'run')
  steps = training.steps
  _run_logged([
      sys.executable, '-m', 'ddsp_tf.cli.run',
      f'--save_dir={save_dir}', f'--gin_file={gin_path}',
      f"--gin_param=TFRecordProvider.file_pattern='{record}'",
      f'--gin_param=train.num_steps={steps}',
      f'--gin_param=train.steps_per_save={steps}',
      f'--gin_param=train.steps_per_summary={steps}',
      f'--seed={training.seed}', '--deterministic'])
  # The export's noise ops take their seeds from this, so every load of it
  # renders the same noise for the same controls.
  tf.keras.utils.set_random_seed(training.seed)
  try:
    return export.export_model(save_dir, os.path.join(workdir, 'export'))
  finally:
    gin.clear_config()


def _run_logged(command: List[str], tail_lines: int = 30) -> None:
  """Runs command, echoing its output here (a notebook shows it too).

  Args:
    command: The program and its arguments; command[2] names it in errors
      (`python -m module ...`).
    tail_lines: How many of its last lines an error quotes.

  Raises:
    RuntimeError: For a non-zero exit status, with the last tail_lines.
  """
  tail = collections.deque(maxlen=tail_lines)
  with subprocess.Popen(command, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True) as process:
    for line in process.stdout:
      print(line, end='', flush=True)
      tail.append(line)
  if process.returncode:
    raise RuntimeError(
        f'{command[2]} failed with status {process.returncode}:\n' +
        ''.join(tail))


EVAL_SECS = 8.0
DECAY_CLIP_SECS = 14.0
PITCH_SHIFT_SEMITONES = 3.0
LOUDNESS_SHIFT_DB = -6.0
# Decays are compared by the time they take to fall this far.
DECAY_DROP_DB = 30.0
DECAY_FRAME_SECS = 0.005
CREPE_MODEL = 'tiny'


@dataclasses.dataclass
class Clip:
  """Test-made audio and what is known about it.

  Attributes:
    notes: The melody.
    dry: [n_samples] the instrument alone.
    wet: [n_samples] the instrument in the room.
    f0_hz: [n_frames] the true pitch at the model's frame rate.
    loudness_db: [n_frames] loudness of `wet` (transfer_app.compute_loudness).
    note_frames: [n_frames] bool, frames inside notes.
    seed: The seed of the melody and of the breath noise.
  """
  notes: List[Note]
  dry: np.ndarray
  wet: np.ndarray
  f0_hz: np.ndarray
  loudness_db: np.ndarray
  note_frames: np.ndarray
  seed: int

  @property
  def decay_offsets(self) -> List[float]:
    """Ends of the notes followed by a long rest."""
    return [note.end for note, following in zip(self.notes, self.notes[1:])
            if following.start - note.end >= LONG_REST_SECS - 1e-6]


def features(audio: np.ndarray, model) -> Dict[str, np.ndarray]:
  """CREPE tiny f0 and loudness of audio at the model's rates and framing.

  The framing is the one the model trained on (model.feature_padding):
  centred frames would be half a loudness window (16 ms) early for it.
  Without Viterbi decoding: its smoothing glides across the fifth-plus-
  octave leaps of the extrapolation melody, which would count as error.
  """
  # pylint: disable-next=import-outside-toplevel
  from ddsp_tf.apps import timbre_transfer as transfer_app
  return transfer_app.compute_features(
      audio, SAMPLE_RATE, model_sample_rate=model.sample_rate,
      frame_rate=model.frame_rate, model_capacity=CREPE_MODEL, viterbi=False,
      padding=model.feature_padding)


def loudness(audio: np.ndarray, model) -> np.ndarray:
  """The loudness of `features` alone (no CREPE), [n_frames]."""
  # pylint: disable-next=import-outside-toplevel
  from ddsp_tf.apps import timbre_transfer as transfer_app
  return transfer_app.compute_loudness(
      audio, SAMPLE_RATE, model_sample_rate=model.sample_rate,
      frame_rate=model.frame_rate, padding=model.feature_padding)


def make_clip(model, pitches: Sequence[int] = TRAIN_PITCHES,
              seed: int = 7, seconds: float = EVAL_SECS,
              long_rest_probability: float = 0.5) -> Clip:
  """A held-out melody in the training room, with its features.

  Args:
    model: The transfer_app.ExportedModel (for its rates).
    pitches: MIDI notes of the melody.
    seed: Melody seed (training uses 0).
    seconds: Length of the clip.
    long_rest_probability: See `melody`.

  Returns:
    The Clip.
  """
  notes = melody(seconds, seed, pitches, long_rest_probability,
                 EVAL_PEAK_RANGE)
  dry = render_dry(notes, seconds, seed)
  wet = reverberate(dry, room_ir())
  loudness_db = loudness(wet, model)
  n_frames = loudness_db.shape[0]
  mask = np.zeros(n_frames, bool)
  margin = 0.06  # Away from attacks and releases.
  for note in notes:
    mask[int(np.ceil((note.start + margin) * FRAME_RATE)):
         int(np.floor((note.end - margin) * FRAME_RATE))] = True
  return Clip(notes, dry, wet, f0_curve(notes, n_frames), loudness_db, mask,
              seed)


def make_decay_clip(model) -> Clip:
  """A held-out melody whose every note is followed by a long rest.

  Its DECAY_CLIP_SECS give about ten note-offs, enough for decay curves
  that do not depend on the fluctuations of a few notes.
  """
  return make_clip(model, seed=9, seconds=DECAY_CLIP_SECS,
                   long_rest_probability=1.0)


def _semitones(f0_hz: np.ndarray, reference_hz: np.ndarray) -> np.ndarray:
  return 12.0 * np.log2(np.maximum(f0_hz, 1.0) /
                        np.maximum(reference_hz, 1.0))


def measure_control(model, clip: Clip) -> Dict[str, float]:
  """Shifts pitch and loudness independently; measures the outputs.

  The loudness that pitch control must keep is measured on the dry output
  (the synthesizer, before the room): a room colours each pitch
  differently, so with the room in, even the true instrument played 3
  semitones higher in the true room changes its loudness curve by a mean
  2.3 dB (see true_room_pitch_shift_loudness_change_db).

  Returns:
    pitch_shift_semitones (CREPE f0 of the shifted render over the
    unshifted one's, mean over note frames);
    pitch_shift_loudness_change_db (mean |loudness difference| between the
    two dry outputs) and pitch_shift_wet_loudness_change_db (the same with
    the room);
    true_room_pitch_shift_loudness_change_db (the same for the true
    instrument in the true room, 3 semitones up against as played);
    loudness_shift_db (mean loudness difference for a LOUDNESS_SHIFT_DB
    shift); loudness_shift_f0_change_semitones (mean |f0 difference|
    there); resynthesis_f0_error_semitones (unshifted render against the
    truth).
  """
  # pylint: disable-next=import-outside-toplevel
  from ddsp_tf.training import postprocessing
  on = clip.note_frames

  def render(f0_hz, loudness_db, dry=False):
    return model.resynthesize(f0_hz, loudness_db, dry=dry)['audio']

  def mean_abs_db(a_db, b_db):
    return float(np.mean(np.abs(a_db - b_db)[on]))

  f0_up = postprocessing.shift_pitch(clip.f0_hz, PITCH_SHIFT_SEMITONES)
  base = features(render(clip.f0_hz, clip.loudness_db), model)
  up = features(render(f0_up, clip.loudness_db), model)
  down = features(render(clip.f0_hz, postprocessing.shift_loudness(
      clip.loudness_db, LOUDNESS_SHIFT_DB)), model)
  notes_up = [dataclasses.replace(note, midi=note.midi + PITCH_SHIFT_SEMITONES)
              for note in clip.notes]
  true_up = reverberate(render_dry(notes_up, EVAL_SECS, clip.seed),
                        room_ir())
  return {
      'pitch_shift_semitones': float(np.mean(
          _semitones(up['f0_hz'], base['f0_hz'])[on])),
      'pitch_shift_loudness_change_db': mean_abs_db(
          loudness(render(f0_up, clip.loudness_db, dry=True), model),
          loudness(render(clip.f0_hz, clip.loudness_db, dry=True), model)),
      'pitch_shift_wet_loudness_change_db': mean_abs_db(up['loudness_db'],
                                                        base['loudness_db']),
      'true_room_pitch_shift_loudness_change_db': mean_abs_db(
          loudness(true_up, model), clip.loudness_db),
      'loudness_shift_db': float(np.mean(
          (down['loudness_db'] - base['loudness_db'])[on])),
      'loudness_shift_f0_change_semitones': float(np.mean(np.abs(
          _semitones(down['f0_hz'], base['f0_hz']))[on])),
      'resynthesis_f0_error_semitones': float(np.mean(np.abs(
          _semitones(base['f0_hz'], clip.f0_hz))[on])),
  }


def measure_extrapolation(model, seed: int = 8) -> Dict[str, float]:
  """Renders notes a fifth outside the training octave.

  Returns:
    extrapolation_f0_error_semitones: mean |CREPE f0 - true f0| over note
    frames.
  """
  clip = make_clip(model, EXTRAPOLATION_PITCHES, seed)
  out = features(model.resynthesize(clip.f0_hz, clip.loudness_db)['audio'],
                 model)
  return {'extrapolation_f0_error_semitones': float(np.mean(np.abs(
      _semitones(out['f0_hz'], clip.f0_hz))[clip.note_frames]))}


def _decay_curve(audio: np.ndarray, clip: Clip) -> np.ndarray:
  # pylint: disable-next=import-outside-toplevel
  from ddsp_tf.training import acoustics
  return acoustics.offset_decay_curve(
      audio, SAMPLE_RATE, clip.decay_offsets, LONG_REST_SECS - 0.05,
      frame_secs=DECAY_FRAME_SECS)


def measure_dereverberation(model, clip: Clip) -> Dict[str, float]:
  """The learned room against the true one; decays of the dry output.

  Args:
    model: The transfer_app.ExportedModel.
    clip: A clip with several note-offs (`make_decay_clip`).

  Returns:
    true_rt60_secs and learned_rt60_secs (acoustics.estimate_rt60 of the
    true room and of model.reverb_ir()), true_drr_db and learned_drr_db
    (their direct-to-reverberant ratios), and the times to fall
    DECAY_DROP_DB after note-offs of the input (input_decay_secs), of the
    model's dry output for the input's features (dry_output_decay_secs)
    and of the true dry instrument (true_dry_decay_secs).
  """
  # pylint: disable-next=import-outside-toplevel
  from ddsp_tf.training import acoustics
  dry_out = model.resynthesize(clip.f0_hz, clip.loudness_db,
                               dry=True)['audio']
  rate = 1.0 / DECAY_FRAME_SECS
  true_ir, learned_ir = room_ir(), model.reverb_ir()
  results = {
      'true_rt60_secs': acoustics.estimate_rt60(true_ir, SAMPLE_RATE),
      'learned_rt60_secs': acoustics.estimate_rt60(learned_ir,
                                                   model.sample_rate),
      'true_drr_db': acoustics.direct_to_reverberant_ratio(true_ir,
                                                           SAMPLE_RATE),
      'learned_drr_db': acoustics.direct_to_reverberant_ratio(
          learned_ir, model.sample_rate)}
  for name, audio in (('input', clip.wet), ('dry_output', dry_out),
                      ('true_dry', clip.dry)):
    results[f'{name}_decay_secs'] = acoustics.decay_time(
        _decay_curve(audio, clip), rate, DECAY_DROP_DB)
  return results


def measure_room_transfer(model, clip: Clip) -> Dict[str, float]:
  """Applies the model's room to the true dry instrument.

  Args:
    model: The transfer_app.ExportedModel.
    clip: A clip with several note-offs (`make_decay_clip`).

  Returns:
    ir_rt60_secs (of model.reverb_ir()), transferred_rt60_secs (fitted to
    the decays after note-offs of the result) and, to check that fit on
    the truth, true_room_fitted_rt60_secs (the same fit on the clip in the
    true room, whose IR has true_rt60_secs).
  """
  # pylint: disable=import-outside-toplevel
  from ddsp_tf.training import acoustics
  from ddsp_tf.apps import timbre_transfer as transfer_app
  # pylint: enable=import-outside-toplevel
  ir = model.reverb_ir()
  transferred = transfer_app.apply_reverb_ir(clip.dry, ir, SAMPLE_RATE,
                                          model.sample_rate)

  def fitted_rt60(audio):
    return acoustics.fit_rt60(_decay_curve(audio, clip),
                              1.0 / DECAY_FRAME_SECS)

  return {
      'ir_rt60_secs': acoustics.estimate_rt60(ir, model.sample_rate),
      'transferred_rt60_secs': fitted_rt60(transferred),
      'true_room_fitted_rt60_secs': fitted_rt60(clip.wet)}


def measure_all(export_dir: str) -> Dict[str, float]:
  """Every measurement above on one export."""
  # pylint: disable-next=import-outside-toplevel
  from ddsp_tf.apps import timbre_transfer as transfer_app
  model = transfer_app.load_model(export_dir)
  clip, decay_clip = make_clip(model), make_decay_clip(model)
  results = {}
  for measure in (lambda: measure_control(model, clip),
                  lambda: measure_extrapolation(model),
                  lambda: measure_dereverberation(model, decay_clip),
                  lambda: measure_room_transfer(model, decay_clip)):
    try:
      results.update(measure())
    except ValueError as error:
      print(f'measurement failed: {error}')
  return results


def run(steps: int = Training.steps) -> Dict[str, float]:
  """Trains, measures and prints the paper-demonstration table.

  Args:
    steps: Training steps (the test uses Training.steps).

  Returns:
    The measurements (see measure_all).
  """
  import tempfile  # pylint: disable=import-outside-toplevel
  training = dataclasses.replace(Training(), steps=steps)
  print(f'paper_demos suite: {training} on {TRAIN_SECS:.0f} s of test-made '
        f'audio in a {ROOM_RT60_SECS} s room (load average at start: '
        '%.1f).' % os.getloadavg()[0], flush=True)
  with tempfile.TemporaryDirectory() as workdir:
    start = time.perf_counter()
    export_dir = train_and_export(workdir, training)
    train_secs = time.perf_counter() - start
    results = measure_all(export_dir)

  def row(name, value, target):
    print(f'| {name} | {value} | {target} |', flush=True)

  print('| measurement | value | target |')
  print('|---|---:|---|')
  row('training + export, wall s', f'{train_secs:.0f}', '')
  if 'pitch_shift_semitones' in results:
    row(f'pitch shift +{PITCH_SHIFT_SEMITONES:g} st: measured shift, st',
        f'{results["pitch_shift_semitones"]:.3f}', '3 +- 0.15')
    row('pitch shift: loudness change of the dry output, dB',
        f'{results["pitch_shift_loudness_change_db"]:.2f}', '< 1')
    row('pitch shift: the same with the room (true instrument in the true '
        'room), dB',
        f'{results["pitch_shift_wet_loudness_change_db"]:.2f} '
        f'({results["true_room_pitch_shift_loudness_change_db"]:.2f})', '')
    row(f'loudness shift {LOUDNESS_SHIFT_DB:g} dB: measured shift, dB',
        f'{results["loudness_shift_db"]:.2f}', '-6 +- 2')
    row('loudness shift: f0 change, st',
        f'{results["loudness_shift_f0_change_semitones"]:.3f}', '< 0.15')
  if 'extrapolation_f0_error_semitones' in results:
    row('extrapolation a fifth outside the octave: f0 error, st',
        f'{results["extrapolation_f0_error_semitones"]:.3f}', '< 0.3')
  if 'learned_rt60_secs' in results:
    row('learned RT60 / true RT60, s',
        f'{results["learned_rt60_secs"]:.3f} / '
        f'{results["true_rt60_secs"]:.3f}', 'within 30%')
    row('learned / true direct-to-reverberant ratio, dB',
        f'{results["learned_drr_db"]:.1f} / {results["true_drr_db"]:.1f}', '')
    row(f'decay after note-offs ({DECAY_DROP_DB:g} dB), input / dry output, s',
        f'{results["input_decay_secs"]:.3f} / '
        f'{results["dry_output_decay_secs"]:.3f}', 'ratio >= 3')
  if 'transferred_rt60_secs' in results:
    error = (results['transferred_rt60_secs'] / results['ir_rt60_secs'] -
             1.0)
    row('room transfer: RT60 of the result vs the IR\'s',
        f'{error:+.1%}', 'within 20%')
  return results
