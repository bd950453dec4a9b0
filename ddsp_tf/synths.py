"""Synthesizers: processors that render audio from frame-wise controls."""

from typing import Callable, Dict, Optional, Sequence, Text

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import processors
from ddsp_tf import validation

TensorDict = Dict[Text, tf.Tensor]


def _scale(scale_fn: Optional[Callable], x: tf.Tensor) -> tf.Tensor:
  return scale_fn(x) if scale_fn is not None else x


def _check_frames(name: Text, x: tf.Tensor, n_samples: Optional[int],
                  meaning: Text) -> None:
  """Checks a frame-wise control: rank 3 and no more frames than samples.

  Args:
    name: The control's name, for the message.
    x: The control.
    n_samples: The synth's fixed length, or None when it renders a multiple
      of the frames (see _RendersFrameMultiples).
    meaning: The expected layout, for the message.
  """
  validation.check_rank(name, x, (3,), meaning)
  n_frames = x.shape[1]
  if n_samples is not None and n_frames is not None and n_frames > n_samples:
    raise ValueError(f'{name} has {n_frames} frames, more than n_samples='
                     f'{n_samples}; check n_samples of the synth.')


def _check_same_frames(controls: Dict[Text, tf.Tensor],
                       single_channel: Sequence[Text] = ()) -> None:
  """Checks that frame-wise controls agree in batch and frame count.

  Args:
    controls: Named controls, each [batch, n_frames, ...].
    single_channel: Names of those whose last axis must be 1.
  """
  (first_name, first), *others = controls.items()
  for name, control in others:
    validation.check_same_static_dims((first_name, name), first, control,
                                      (0, 1))
  for name in single_channel:
    if controls[name].shape[-1] not in (None, 1):
      raise ValueError(f'{name} must have one channel, [batch, n_frames, 1], '
                       f'got shape {controls[name].shape.as_list()}.')


def _check_non_negative_f0(f0_hz: tf.Tensor) -> tf.Tensor:
  """Returns f0_hz after checking that it has no negative frequency.

  Eagerly this raises ValueError with the lowest value; in a graph it adds an
  assertion that fails the step with the same message. XLA drops assertions,
  so a jit-compiled call does not check.
  """
  message = 'f0_hz must be >= 0 Hz (0 Hz means silence)'
  if tf.executing_eagerly():
    lowest = float(tf.reduce_min(f0_hz)) if tf.size(f0_hz) > 0 else 0.0
    if lowest < 0.0:
      raise ValueError(f'{message}, got a minimum of {lowest} Hz.')
    return f0_hz
  check = tf.debugging.assert_greater_equal(f0_hz, 0.0, message=message)
  with tf.control_dependencies([check]):
    return tf.identity(f0_hz)


class _RendersFrameMultiples:
  """Mixin for synths with a fixed n_samples that can also render any length.

  By default the synth renders its n_samples. After
  `set_samples_per_frame(hop)` it renders n_frames * hop samples instead,
  with n_frames read from its controls when it runs, so a tf.function traced
  with an unknown number of frames (e.g. an exported SavedModel) takes any
  length. At n_frames = n_samples / hop the audio is the same as with the
  fixed length. ddsp_tf.training.inference sets hop to n_samples divided by the
  model's training frames. The setting is a run-time mode: get_config does
  not save it.
  """

  samples_per_frame: Optional[int] = None

  def set_samples_per_frame(self, samples_per_frame: Optional[int]) -> None:
    """Renders n_frames * samples_per_frame samples (None: n_samples).

    Args:
      samples_per_frame: Samples per control frame, an int >= 1, or None to
        go back to the fixed n_samples.

    Raises:
      ValueError: If samples_per_frame is neither None nor an int >= 1.
    """
    if samples_per_frame is not None:
      samples_per_frame = validation.check_int('samples_per_frame',
                                               samples_per_frame)
    self.samples_per_frame = samples_per_frame

  @property
  def _fixed_n_samples(self) -> Optional[int]:
    """n_samples, or None while rendering multiples of the frames."""
    return self.n_samples if self.samples_per_frame is None else None

  def _output_length(self, control: tf.Tensor) -> core.Length:
    """Samples to render for a [batch, n_frames, ...] control.

    Returns:
      n_samples, or n_frames * samples_per_frame (a tensor when n_frames is
      unknown while tracing).
    """
    if self.samples_per_frame is None:
      return self.n_samples
    n_frames = control.shape[1]
    if n_frames is None:
      n_frames = tf.shape(control)[1]
    return n_frames * self.samples_per_frame


class _AudioSynth(processors.Processor):
  """Shared constructor arguments of the synths: length and rate."""

  _config_args = ('n_samples', 'sample_rate')

  def __init__(self, n_samples: int, sample_rate: int, name: Text, **kwargs):
    super().__init__(name=name, **kwargs)
    n_samples = validation.check_int('n_samples', n_samples)
    validation.check_positive('sample_rate', sample_rate)
    self.n_samples = n_samples
    self.sample_rate = sample_rate


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class TensorToAudio(processors.Processor):
  """Passes through a tensor that already is audio, dropping its channel."""

  def __init__(self, name: Text = 'tensor_to_audio', **kwargs):
    super().__init__(name=name, **kwargs)

  def get_controls(self, samples: tf.Tensor) -> TensorDict:
    """Checks samples, [batch, n_samples, 1]."""
    samples = core.tf_float32(samples)
    validation.check_rank('samples', samples, (3,), '[batch, n_samples, 1]')
    if samples.shape[-1] not in (None, 1):
      raise ValueError('samples must have one channel, got shape '
                       f'{samples.shape.as_list()}.')
    return {'samples': samples}

  def get_signal(self, samples: tf.Tensor) -> tf.Tensor:
    """Audio, [batch, n_samples]."""
    return samples[..., 0]


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Harmonic(_RendersFrameMultiples, _AudioSynth):
  """A bank of harmonic sinusoids: amplitude, harmonic distribution and f0.

  Renders n_samples, or any multiple of the frames after
  set_samples_per_frame (see _RendersFrameMultiples).
  """

  _config_args = _AudioSynth._config_args + (
      'scale_fn', 'normalize_below_nyquist', 'amp_resample_method',
      'use_angular_cumsum', 'precise_phase', 'crossfade_amplitudes')
  _function_args = ('scale_fn',)

  def __init__(self, n_samples: int = 64000, sample_rate: int = 16000,
               scale_fn: Optional[Callable] = core.exp_sigmoid,
               normalize_below_nyquist: bool = True,
               amp_resample_method: Text = 'window',
               use_angular_cumsum: bool = False, name: Text = 'harmonic',
               precise_phase: bool = False,
               crossfade_amplitudes: bool = False, **kwargs):
    """Sets the synthesis parameters.

    Args:
      n_samples: Samples of audio rendered.
      sample_rate: Samples per second.
      scale_fn: Applied to raw amplitudes and distribution (None: no scaling).
      normalize_below_nyquist: Drop harmonics at or above Nyquist before
        normalizing the distribution, so the loudness is kept.
      amp_resample_method: How amplitudes are upsampled: 'window', 'linear',
        'cubic' or 'nearest'. 'window' needs n_samples to be a multiple of
        the number of frames.
      use_angular_cumsum: Accumulate phase in float32 chunks (TPU friendly).
      name: Layer name, and the key of its outputs in a ProcessorGroup.
      precise_phase: ddsp_tf's float64 phase sum instead of the original's
        float32 one (see `core.oscillator_bank`).
      crossfade_amplitudes: ddsp_tf's fast crossfade rendering (see
        `core.harmonic_synthesis`).
      **kwargs: Keras layer arguments.
    """
    super().__init__(n_samples, sample_rate, name=name, **kwargs)
    validation.check_choice('amp_resample_method', amp_resample_method,
                            core.RESAMPLE_METHODS)
    self.precise_phase = precise_phase
    self.crossfade_amplitudes = crossfade_amplitudes
    self.scale_fn = scale_fn
    self.normalize_below_nyquist = normalize_below_nyquist
    self.amp_resample_method = amp_resample_method
    self.use_angular_cumsum = use_angular_cumsum

  def get_controls(self, amplitudes: tf.Tensor,
                   harmonic_distribution: tf.Tensor,
                   f0_hz: tf.Tensor) -> TensorDict:
    """Scales the network outputs into synthesis controls.

    Args:
      amplitudes: Raw overall amplitude, [batch, n_frames, 1].
      harmonic_distribution: Raw harmonic weights,
        [batch, n_frames, n_harmonics].
      f0_hz: Fundamental in Hz, [batch, n_frames, 1]; must be >= 0.

    Returns:
      Dict with amplitudes [B, T, 1], harmonic_distribution [B, T, H]
      (normalized to sum to one) and f0_hz [B, T, 1].
    """
    amplitudes = core.tf_float32(amplitudes)
    harmonic_distribution = core.tf_float32(harmonic_distribution)
    f0_hz = core.tf_float32(f0_hz)
    _check_frames('amplitudes', amplitudes, self._fixed_n_samples,
                  '[batch, n_frames, 1]')
    _check_frames('harmonic_distribution', harmonic_distribution,
                  self._fixed_n_samples, '[batch, n_frames, n_harmonics]')
    _check_frames('f0_hz', f0_hz, self._fixed_n_samples,
                  '[batch, n_frames, 1]')
    _check_same_frames({'amplitudes': amplitudes,
                        'harmonic_distribution': harmonic_distribution,
                        'f0_hz': f0_hz},
                       single_channel=('amplitudes', 'f0_hz'))
    f0_hz = _check_non_negative_f0(f0_hz)
    amplitudes = _scale(self.scale_fn, amplitudes)
    harmonic_distribution = _scale(self.scale_fn, harmonic_distribution)
    harmonic_distribution = core.normalize_harmonics(
        harmonic_distribution, f0_hz,
        self.sample_rate if self.normalize_below_nyquist else None)
    return {'amplitudes': amplitudes,
            'harmonic_distribution': harmonic_distribution,
            'f0_hz': f0_hz}

  def get_signal(self, amplitudes: tf.Tensor, harmonic_distribution: tf.Tensor,
                 f0_hz: tf.Tensor) -> tf.Tensor:
    """Renders the harmonics, [batch, n_samples]."""
    return core.harmonic_synthesis(
        frequencies=f0_hz, amplitudes=amplitudes,
        harmonic_distribution=harmonic_distribution,
        n_samples=self._output_length(f0_hz), sample_rate=self.sample_rate,
        amp_resample_method=self.amp_resample_method,
        use_angular_cumsum=self.use_angular_cumsum,
        precise_phase=self.precise_phase,
        crossfade_amplitudes=self.crossfade_amplitudes)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class FilteredNoise(_RendersFrameMultiples, processors.Processor):
  """Uniform white noise through a time-varying linear-phase filter.

  Renders n_samples, or any multiple of the frames after
  set_samples_per_frame (see _RendersFrameMultiples).
  """

  _config_args = ('n_samples', 'window_size', 'scale_fn', 'initial_bias')
  _function_args = ('scale_fn',)

  def __init__(self, n_samples: int = 64000, window_size: int = 257,
               scale_fn: Optional[Callable] = core.exp_sigmoid,
               initial_bias: float = -5.0, name: Text = 'filtered_noise',
               **kwargs):
    """Sets the synthesis parameters.

    Args:
      n_samples: Samples of audio rendered; a multiple of the number of
        frames of the magnitudes.
      window_size: Filter length in samples; 0 gives 2 * (n_bands - 1).
      scale_fn: Applied to magnitudes + initial_bias (None: no scaling).
      initial_bias: Added before scale_fn so that a network outputting zeros
        starts out quiet.
      name: Layer name.
      **kwargs: Keras layer arguments.
    """
    super().__init__(name=name, **kwargs)
    n_samples = validation.check_int('n_samples', n_samples)
    if window_size < 0:
      raise ValueError(f'window_size must be >= 0, got {window_size}.')
    self.n_samples = n_samples
    self.window_size = window_size
    self.scale_fn = scale_fn
    self.initial_bias = initial_bias

  def get_controls(self, magnitudes: tf.Tensor) -> TensorDict:
    """Scales raw magnitudes, [batch, n_frames, n_bands], into filter gains.

    The n_bands gains are evenly spaced in frequency from 0 Hz to Nyquist.

    Args:
      magnitudes: Raw network outputs, [batch, n_frames, n_bands].

    Returns:
      Dict with magnitudes [batch, n_frames, n_bands].
    """
    magnitudes = core.tf_float32(magnitudes)
    _check_frames('magnitudes', magnitudes, self._fixed_n_samples,
                  '[batch, n_frames, n_bands]')
    if self.scale_fn is not None:
      magnitudes = self.scale_fn(magnitudes + self.initial_bias)
    return {'magnitudes': magnitudes}

  def get_signal(self, magnitudes: tf.Tensor) -> tf.Tensor:
    """Filtered noise, [batch, n_samples]."""
    batch_size = tf.shape(magnitudes)[0]
    n_samples = self._output_length(magnitudes)
    noise = tf.random.uniform([batch_size, n_samples], minval=-1.0,
                              maxval=1.0)
    noise = tf.ensure_shape(
        noise, [magnitudes.shape[0],
                n_samples if isinstance(n_samples, int) else None])
    return core.frequency_filter(noise, magnitudes,
                                 window_size=self.window_size)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Wavetable(_AudioSynth):
  """Plays (time-varying) wavetables at a frame-rate frequency."""

  _config_args = _AudioSynth._config_args + ('scale_fn', 'precise_phase')
  _function_args = ('scale_fn',)

  def __init__(self, n_samples: int = 64000, sample_rate: int = 16000,
               scale_fn: Optional[Callable] = core.exp_sigmoid,
               name: Text = 'wavetable', precise_phase: bool = False,
               **kwargs):
    """Sets the synthesis parameters.

    Args:
      n_samples: Samples of audio rendered.
      sample_rate: Samples per second.
      scale_fn: Applied to amplitudes and wavetables (None: no scaling).
      name: Layer name.
      precise_phase: ddsp_tf's float64 phase sum instead of the original's
        float32 one (see `core.wavetable_synthesis`).
      **kwargs: Keras layer arguments.
    """
    super().__init__(n_samples, sample_rate, name=name, **kwargs)
    self.scale_fn = scale_fn
    self.precise_phase = precise_phase

  def get_controls(self, amplitudes: tf.Tensor, wavetables: tf.Tensor,
                   f0_hz: tf.Tensor) -> TensorDict:
    """Scales the controls.

    Args:
      amplitudes: [batch, n_frames, 1].
      wavetables: One period per frame, [batch, n_frames, n_wavetable].
      f0_hz: [batch, n_frames, 1]; must be >= 0.

    Returns:
      Dict with the scaled amplitudes and wavetables, and f0_hz.
    """
    amplitudes = core.tf_float32(amplitudes)
    wavetables = core.tf_float32(wavetables)
    f0_hz = core.tf_float32(f0_hz)
    _check_frames('amplitudes', amplitudes, self.n_samples,
                  '[batch, n_frames, 1]')
    _check_frames('wavetables', wavetables, self.n_samples,
                  '[batch, n_frames, n_wavetable]')
    _check_frames('f0_hz', f0_hz, self.n_samples, '[batch, n_frames, 1]')
    _check_same_frames({'amplitudes': amplitudes, 'wavetables': wavetables,
                        'f0_hz': f0_hz},
                       single_channel=('amplitudes', 'f0_hz'))
    f0_hz = _check_non_negative_f0(f0_hz)
    return {'amplitudes': _scale(self.scale_fn, amplitudes),
            'wavetables': _scale(self.scale_fn, wavetables),
            'f0_hz': f0_hz}

  def get_signal(self, amplitudes: tf.Tensor, wavetables: tf.Tensor,
                 f0_hz: tf.Tensor) -> tf.Tensor:
    """Audio, [batch, n_samples]."""
    return core.wavetable_synthesis(f0_hz, amplitudes, wavetables,
                                    n_samples=self.n_samples,
                                    sample_rate=self.sample_rate,
                                    precise_phase=self.precise_phase)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Sinusoidal(_AudioSynth):
  """A bank of freely moving sinusoids."""

  _config_args = _AudioSynth._config_args + (
      'amp_scale_fn', 'amp_resample_method', 'freq_scale_fn',
      'precise_phase')
  _function_args = ('amp_scale_fn', 'freq_scale_fn')

  def __init__(self, n_samples: int = 64000, sample_rate: int = 16000,
               amp_scale_fn: Optional[Callable] = core.exp_sigmoid,
               amp_resample_method: Text = 'window',
               freq_scale_fn: Optional[Callable] = core.frequencies_sigmoid,
               name: Text = 'sinusoidal', precise_phase: bool = False,
               **kwargs):
    """Sets the synthesis parameters.

    Args:
      n_samples: Samples of audio rendered.
      sample_rate: Samples per second.
      amp_scale_fn: Applied to raw amplitudes (None: no scaling).
      amp_resample_method: How amplitudes are upsampled.
      freq_scale_fn: Maps raw outputs to Hz (None: inputs are Hz already).
      name: Layer name.
      precise_phase: ddsp_tf's float64 phase sum instead of the original's
        float32 one (see `core.oscillator_bank`).
      **kwargs: Keras layer arguments.
    """
    super().__init__(n_samples, sample_rate, name=name, **kwargs)
    self.precise_phase = precise_phase
    validation.check_choice('amp_resample_method', amp_resample_method,
                            core.RESAMPLE_METHODS)
    self.amp_scale_fn = amp_scale_fn
    self.amp_resample_method = amp_resample_method
    self.freq_scale_fn = freq_scale_fn

  def get_controls(self, amplitudes: tf.Tensor,
                   frequencies: tf.Tensor) -> TensorDict:
    """Scales the controls and silences sinusoids at or above Nyquist.

    Args:
      amplitudes: [batch, n_frames, n_sinusoids].
      frequencies: [batch, n_frames, n_sinusoids], or what freq_scale_fn
        takes: [batch, n_frames, n_sinusoids * depth] or
        [batch, n_frames, n_sinusoids, depth].

    Returns:
      Dict with amplitudes and frequencies (Hz), [batch, n_frames, n].
    """
    amplitudes = core.tf_float32(amplitudes)
    frequencies = core.tf_float32(frequencies)
    _check_frames('amplitudes', amplitudes, self.n_samples,
                  '[batch, n_frames, n_sinusoids]')
    validation.check_rank(
                          'frequencies', frequencies,
                          (3,) if self.freq_scale_fn is None else (3, 4),
                          '[batch, n_frames, n_sinusoids(, depth)]')
    _check_same_frames({'amplitudes': amplitudes, 'frequencies': frequencies})
    amplitudes = _scale(self.amp_scale_fn, amplitudes)
    frequencies = _scale(self.freq_scale_fn, frequencies)
    validation.check_same_static_dims(('amplitudes', 'frequencies'),
                                      amplitudes, frequencies, (2,))
    amplitudes = core.remove_above_nyquist(frequencies, amplitudes,
                                           self.sample_rate)
    return {'amplitudes': amplitudes, 'frequencies': frequencies}

  def get_signal(self, amplitudes: tf.Tensor,
                 frequencies: tf.Tensor) -> tf.Tensor:
    """Audio, [batch, n_samples]."""
    frequency_envelopes = core.resample(frequencies, self.n_samples)
    amplitude_envelopes = core.resample(amplitudes, self.n_samples,
                                        method=self.amp_resample_method)
    return core.oscillator_bank(frequency_envelopes, amplitude_envelopes,
                                sample_rate=self.sample_rate,
                                precise_phase=self.precise_phase)


