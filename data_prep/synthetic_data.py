"""Random synthetic notes for self-supervised inverse synthesis (ICML 2020).

EXPERIMENTAL, as in magenta/ddsp. The generators draw sequences of notes
and return the synthesizer controls that would play them, as dicts of
float32 tensors:

  'f0_hz', 'harm_amp'               [n_batch, n_timesteps, 1]
  'harm_dist', 'sin_amps', 'sin_freqs'  [n_batch, n_timesteps, n_harmonics]
  'noise_magnitudes'                [n_batch, n_timesteps, n_mags]

`sin_amps`/`sin_freqs` are the harmonic controls as sinusoids
(core.harmonic_to_sinusoidal). With get_controls=True (the default) the
amplitudes and magnitudes are exp_sigmoid-scaled and the harmonic
distribution sums to 1 in each frame; with False they are the raw values.

Randomness comes from NumPy's global generator (np.random.seed makes a
draw reproducible), consumed in the same order as magenta/ddsp's
generators, so a seed gives the same notes as there. The Beam job in
`synthetic_pipeline` writes them as TFRecords; gin chooses the generator
(`generate_examples.generate_fn = @generate_notes_v2`).
"""

from typing import Dict, Sequence, Union

import gin
import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import validation

# MIDI range of the notes' pitches (C1 to C6).
MIN_NOTE_MIDI = 24.0
MAX_NOTE_MIDI = 84.0
CONTROL_KEYS = ('harm_amp', 'harm_dist', 'f0_hz', 'sin_amps', 'sin_freqs',
                'noise_magnitudes')

Shape = Union[int, Sequence[int]]


# ----------------------------------------------------------------------------
# Random draws (NumPy's global generator).
# ----------------------------------------------------------------------------
def flip(p: float = 0.5) -> bool:
  """A biased coin: True with probability p."""
  return bool(np.random.uniform() <= p)


def uniform_int(minval: int = 0, maxval: int = 10) -> int:
  """A uniform integer in [minval, maxval], both ends included.

  Raises:
    ValueError: If minval > maxval.
  """
  low, high = int(minval), int(maxval)
  if low > high:
    raise ValueError(f'uniform_int needs minval <= maxval, got minval='
                     f'{minval!r}, maxval={maxval!r}.')
  return int(np.random.randint(low, high + 1))


def uniform_float(minval: float = 0.0, maxval: float = 10.0) -> float:
  """A uniform float in [minval, maxval)."""
  return float(np.random.uniform(float(minval), float(maxval)))


def uniform_generator(sample_shape: Shape, n_timesteps: int, minval: float,
                      maxval: float, method: str = 'linear') -> tf.Tensor:
  """Uniform random frames interpolated to n_timesteps.

  Args:
    sample_shape: Shape of the random draw, [batch, n_points, channels].
    n_timesteps: Output frames.
    minval: Lower bound of the draw.
    maxval: Upper bound of the draw.
    method: core.resample method: 'nearest' holds each value (steps),
      'linear' ramps between them.

  Returns:
    [batch, n_timesteps, channels] float32.
  """
  signal = np.random.uniform(minval, maxval, sample_shape)
  return core.resample(signal, n_timesteps, method=method)


def normal_generator(sample_shape: Shape, n_timesteps: int, mean: float,
                     stddev: float, method: str = 'linear') -> tf.Tensor:
  """Normal random frames interpolated to n_timesteps.

  Args:
    sample_shape: Shape of the random draw, [batch, n_points, channels].
    n_timesteps: Output frames.
    mean: Mean of the draw.
    stddev: Standard deviation of the draw.
    method: core.resample method.

  Returns:
    [batch, n_timesteps, channels] float32.
  """
  signal = np.random.normal(mean, stddev, sample_shape)
  return core.resample(signal, n_timesteps, method=method)


def modulate(signal: tf.Tensor, maxval: float = 0.5, n_t: int = 10,
             method: str = 'linear') -> tf.Tensor:
  """Multiplies a signal by a slow random envelope near 1.

  Each batch item gets its own spread s ~ U(0, maxval); the envelope is
  |N(1, s)| at n_t points, interpolated over time. (magenta/ddsp's version
  works for a batch of one only; for one item both draw the same numbers.)

  Args:
    signal: [batch, n_timesteps, channels].
    maxval: Largest spread of the envelope.
    n_t: Random points of the envelope.
    method: core.resample method.

  Returns:
    The modulated signal, [batch, n_timesteps, channels].
  """
  n_batch, n_timesteps = int(signal.shape[0]), int(signal.shape[1])
  spread = np.random.uniform(0.0, maxval, n_batch)
  envelope = np.abs(np.random.normal(1.0, spread, [1, n_t, n_batch]))
  envelope = np.transpose(envelope, [2, 1, 0])
  return signal * core.resample(envelope, n_timesteps, method=method)


def random_blend(length: int, env_start: float = 1.0, env_end: float = 0.0,
                 exp_max: float = 2.0) -> np.ndarray:
  """A curve from env_start to env_end with a random bend.

  Args:
    length: Points of the curve.
    env_start: First value.
    env_end: Last value.
    exp_max: The curve is a ramp raised to 2**e, e ~ U(-exp_max, exp_max).

  Returns:
    [length] float64.
  """
  bend = 2.0 ** uniform_float(-exp_max, exp_max)
  weight = np.linspace(1.0, 0.0, length) ** bend
  return env_start * weight + env_end * (1.0 - weight)


def random_harm_dist(n_harmonics: int = 100, low_pass: bool = True,
                     rand_phase: float = 0.0) -> np.ndarray:
  """A random smooth curve over harmonics: a sum of 1 to 20 cosines.

  Args:
    n_harmonics: Points of the curve.
    low_pass: Tilt each cosine down towards the high harmonics.
    rand_phase: Random phase offsets up to 2 pi * rand_phase.

  Returns:
    [n_harmonics] float64 (unnormalized, may be negative; the generators
    apply a softmax or exp_sigmoid).
  """
  n_components = uniform_int(1, 20)
  smoothness = uniform_float(1.0, 10.0)
  weights = np.random.rand(n_components)
  cycles = np.random.rand(n_components) * n_harmonics / smoothness
  components = []
  for weight, n_cycles in zip(weights, cycles):
    phase = np.linspace(0.0, 2.0 * np.pi * n_cycles, n_harmonics)
    offset = uniform_float(0.0, 2.0 * np.pi * rand_phase)
    components.append(weight * np.cos(phase + offset))
  if low_pass:
    for i, component in enumerate(components):
      tilt = np.linspace(1.0, uniform_float(0.0, 0.5), n_harmonics)
      components[i] = component * tilt ** uniform_float(0.5, 2.0)
  return np.sum(np.stack(components), axis=0)


# ----------------------------------------------------------------------------
# Generators.
# ----------------------------------------------------------------------------
def _check_sizes(**sizes: int) -> None:
  for name, value in sizes.items():
    validation.check_int(name, value)


def _check_probability(name: str, value: float) -> None:
  validation.check_number(name, value)
  if value > 1.0:
    raise ValueError(f'{name} must be a probability in [0, 1], got '
                     f'{name}={value!r}.')


def _normalized(harm_dist: tf.Tensor, f0_hz: tf.Tensor) -> tf.Tensor:
  """Zeroes where f0 reaches Nyquist and rescales each frame to sum to 1.

  As magenta/ddsp's generators: the check uses f0, not each harmonic's
  frequency (the harmonic synthesizer drops aliasing harmonics later).
  """
  harm_dist = core.remove_above_nyquist(f0_hz, harm_dist)
  return core.safe_divide(harm_dist,
                          tf.reduce_sum(harm_dist, axis=-1, keepdims=True))


def _controls(harm_amp, harm_dist, f0_hz, mags) -> Dict[str, tf.Tensor]:
  """The output dict, sinusoids included, all float32 tensors."""
  harm_amp, harm_dist, f0_hz, mags = (
      core.tf_float32(x) for x in (harm_amp, harm_dist, f0_hz, mags))
  sin_amps, sin_freqs = core.harmonic_to_sinusoidal(harm_amp, harm_dist,
                                                    f0_hz)
  return {'harm_amp': harm_amp, 'harm_dist': harm_dist, 'f0_hz': f0_hz,
          'sin_amps': sin_amps, 'sin_freqs': sin_freqs,
          'noise_magnitudes': mags}


def _random_method() -> str:
  return 'nearest' if flip(0.5) else 'linear'


@gin.configurable
def generate_notes(n_batch: int, n_timesteps: int, n_harmonics: int = 100,
                   n_mags: int = 65,
                   get_controls: bool = True) -> Dict[str, tf.Tensor]:
  """Random notes as steps or ramps between 1 to 20 random points.

  Pitches are uniform in MIDI [24, 84] and held ('nearest'); amplitudes,
  harmonic distributions (a blend of 10 decaying curves) and noise
  magnitudes step or ramp at random.

  Args:
    n_batch: Examples to draw.
    n_timesteps: Frames per example.
    n_harmonics: Harmonics per frame.
    n_mags: Noise magnitudes per frame.
    get_controls: Scale amplitudes and magnitudes with exp_sigmoid and
      normalize the harmonic distribution.

  Returns:
    The controls (see the module docstring for keys and shapes).

  Raises:
    ValueError: For a size that is not a positive integer.
  """
  _check_sizes(n_batch=n_batch, n_timesteps=n_timesteps,
               n_harmonics=n_harmonics, n_mags=n_mags)
  n_points = uniform_int(1, 20)

  harm_amp = uniform_generator([n_batch, n_points, 1], n_timesteps, -2.0, 2.0,
                               method=_random_method())
  if get_controls:
    harm_amp = core.exp_sigmoid(harm_amp)

  note_midi = uniform_generator([n_batch, n_points, 1], n_timesteps,
                                MIN_NOTE_MIDI, MAX_NOTE_MIDI, method='nearest')
  f0_hz = core.midi_to_hz(note_midi)

  # A random mix of 10 curves -(k / (H - 1) * i) ** e_i over harmonics k.
  method = _random_method()
  n_curves = 10
  exponents = [uniform_float(1.0, 6.0) for _ in range(n_curves)]
  curves = np.stack([-np.linspace(0.0, float(i), n_harmonics) ** exponents[i]
                     for i in range(n_curves)])
  mix = uniform_generator([n_batch, n_points, n_curves], n_timesteps, 0.0,
                          1.0, method=method)
  harm_dist = tf.einsum('btc,ch->bth', mix, tf.constant(curves, tf.float32))
  if get_controls:
    harm_dist = _normalized(core.exp_sigmoid(harm_dist), f0_hz)

  method = _random_method()
  loudest = uniform_float(-4.0, 0.0)
  mags = uniform_generator([n_batch, n_points, n_mags], n_timesteps, -6.0,
                           loudest, method=method)
  if get_controls:
    mags = core.exp_sigmoid(mags)
  return _controls(harm_amp, harm_dist, f0_hz, mags)


def _add_noise(frames: np.ndarray, max_scale: float) -> None:
  """Adds N(0, s) noise in place, s ~ U(0, max_scale)."""
  frames += uniform_float(0.0, max_scale) * np.random.randn(*frames.shape)


def _blended_curves(length: int, n_points: int) -> np.ndarray:
  """[length, n_points]: a random_harm_dist blended into another one."""
  low_pass = flip(0.8)
  rand_phase = uniform_float(0.0, 0.4)
  start = random_harm_dist(n_points, low_pass=low_pass, rand_phase=rand_phase)
  end = random_harm_dist(n_points, low_pass=low_pass, rand_phase=rand_phase)
  blend = random_blend(length, 1.0, 0.0)[:, np.newaxis]
  return start[np.newaxis] * blend + end[np.newaxis] * (1.0 - blend)


def _draw_note(harm_amp: np.ndarray, harm_dist: np.ndarray,
               f0_midi: np.ndarray, min_note_length: int,
               p_vibrato: float) -> None:
  """Writes one sounding note's raw controls in place ([length, ...])."""
  length = len(harm_amp)
  amp_start = uniform_float(-1.0, 3.0)
  amp_end = uniform_float(-1.0, 3.0)
  harm_amp += random_blend(length, amp_start, amp_end)[:, np.newaxis]
  _add_noise(harm_amp, 0.1)

  harm_dist += _blended_curves(length, harm_dist.shape[-1])
  _add_noise(harm_dist, 0.5)

  pitch = uniform_float(MIN_NOTE_MIDI, MAX_NOTE_MIDI)
  if flip(p_vibrato):
    depth_start = uniform_float(0.0, 1.0)
    depth_end = uniform_float(0.0, 1.0)
    n_cycles = uniform_float(0.0, length * 2.0 / min_note_length)
    depth = random_blend(length, depth_start, depth_end)
    pitch = pitch + depth * np.sin(
        np.linspace(0.0, 2.0 * np.pi * n_cycles, length))
  f0_midi += (pitch * np.ones([length]))[:, np.newaxis]
  _add_noise(f0_midi, 0.1)


@gin.configurable
def generate_notes_v2(n_batch: int = 1, n_timesteps: int = 125,
                      n_harmonics: int = 100, n_mags: int = 65,
                      min_note_length: int = 5, max_note_length: int = 25,
                      p_silent: float = 0.1, p_vibrato: float = 0.5,
                      get_controls: bool = True) -> Dict[str, tf.Tensor]:
  """Random expressive notes: envelopes, timbre changes, vibrato, rests.

  Each example is a run of notes of min_note_length to max_note_length
  frames (the last one cut at n_timesteps). A note is a rest with
  probability p_silent; otherwise its amplitude bends between two random
  levels, its harmonic distribution blends between two random curves, and
  its pitch (uniform in MIDI [24, 84]) has vibrato with probability
  p_vibrato. Every note has filtered noise that blends between two random
  curves. Small random noise is added to each control.

  Args:
    n_batch: Examples to draw.
    n_timesteps: Frames per example.
    n_harmonics: Harmonics per frame.
    n_mags: Noise magnitudes per frame.
    min_note_length: Shortest note, in frames.
    max_note_length: Longest note, in frames.
    p_silent: Probability that a note is a rest.
    p_vibrato: Probability that a note has vibrato.
    get_controls: Scale amplitudes (then divide them by a random factor)
      and magnitudes with exp_sigmoid, and softmax-normalize the harmonic
      distribution.

  Returns:
    The controls (see the module docstring for keys and shapes).

  Raises:
    ValueError: For a size that is not a positive integer, note lengths
      with min_note_length > max_note_length, or a probability outside
      [0, 1].
  """
  _check_sizes(n_batch=n_batch, n_timesteps=n_timesteps,
               n_harmonics=n_harmonics, n_mags=n_mags,
               min_note_length=min_note_length,
               max_note_length=max_note_length)
  if min_note_length > max_note_length:
    raise ValueError(
        'min_note_length must be <= max_note_length, got min_note_length='
        f'{min_note_length!r}, max_note_length={max_note_length!r}.')
  _check_probability('p_silent', p_silent)
  _check_probability('p_vibrato', p_vibrato)

  harm_amp = np.zeros([n_batch, n_timesteps, 1])
  harm_dist = np.zeros([n_batch, n_timesteps, n_harmonics])
  f0_midi = np.zeros([n_batch, n_timesteps, 1])
  mags = np.zeros([n_batch, n_timesteps, n_mags])
  for b in range(n_batch):
    start = 0
    while start < n_timesteps:
      end = min(start + uniform_int(min_note_length, max_note_length),
                n_timesteps)
      note = slice(start, end)
      if flip(p_silent):
        harm_amp[b, note] -= 10.0
      else:
        _draw_note(harm_amp[b, note], harm_dist[b, note], f0_midi[b, note],
                   min_note_length, p_vibrato)
      mags[b, note] += _blended_curves(end - start, n_mags)
      _add_noise(mags[b, note], 0.2)
      mags[b, note] -= uniform_float(1.0, 10.0)
      start = end

  if get_controls:
    harm_amp = core.exp_sigmoid(harm_amp)
    # Quieter at random: divided by U(1, 2), or U(1, U(2, 10)) one in five.
    wide_max = uniform_float(2.0, 10.0)
    harm_amp /= uniform_float(1.0, wide_max if flip(0.2) else 2.0)
  f0_hz = core.midi_to_hz(f0_midi)
  if get_controls:
    harm_dist = _normalized(tf.nn.softmax(core.tf_float32(harm_dist)), f0_hz)
    mags = core.exp_sigmoid(mags)
  return _controls(harm_amp, harm_dist, f0_hz, mags)
