"""Effects: processors that transform audio (reverbs, filters, delays)."""

from typing import Callable, Dict, Optional, Text

import gin
import keras
import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import processors
from ddsp_tf import synths
from ddsp_tf import validation

TensorDict = Dict[Text, tf.Tensor]


def _audio_tensor(audio: tf.Tensor) -> tf.Tensor:
  audio = core.tf_float32(audio)
  validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
  return audio


def _tile_over_batch(weight: tf.Tensor, audio: tf.Tensor) -> tf.Tensor:
  """Adds a batch axis to a weight and repeats it for every audio entry."""
  multiples = [tf.shape(audio)[0]] + [1] * weight.shape.rank
  return tf.tile(weight[tf.newaxis], multiples)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Reverb(processors.Processor):
  """Convolution reverb with a learned or given impulse response (IR).

  The IR's first tap is always zeroed: the direct sound is the dry signal,
  added separately when add_dry is True. The convolution is causal (no delay
  compensation), so IR tap k delays the audio by k samples.
  """

  _config_args = ('reverb_length', 'add_dry')

  def __init__(self, trainable: bool = False, reverb_length: int = 48000,
               add_dry: bool = True, name: Text = 'reverb', **kwargs):
    """Sets the reverb.

    Args:
      trainable: Learn the IR as a weight (True) or take it as an input.
      reverb_length: Samples of the learned IR.
      add_dry: Add the input to the reverberated signal.
      name: Layer name.
      **kwargs: Keras layer arguments.
    """
    super().__init__(name=name, trainable=trainable, **kwargs)
    self.reverb_length = validation.check_int('reverb_length', reverb_length)
    self.add_dry = add_dry

  def build(self, *unused_input_shapes, **unused_input_kwargs):
    if self.trainable:
      self._add_trainable_weights()
    super().build()

  def _add_trainable_weights(self) -> None:
    """Creates the weights that parameterize the IR (subclasses override)."""
    self._ir = self.add_weight(
        name='ir', shape=[self.reverb_length],
        initializer=keras.initializers.RandomNormal(stddev=1e-6, seed=0))

  def _ensure_built(self) -> None:
    """Creates the weights when get_controls is called outside __call__."""
    if not self.built:
      self.build()

  def get_controls(self, audio: tf.Tensor,
                   ir: Optional[tf.Tensor] = None) -> TensorDict:
    """Picks the IR.

    Args:
      audio: Dry audio, [batch, n_samples].
      ir: IR, [batch, ir_size] or [batch, ir_size, 1], or [ir_size] for one
        IR applied to every batch entry; required unless the layer is
        trainable, ignored if it is.

    Returns:
      Dict with audio and ir [batch, ir_size].
    """
    audio = _audio_tensor(audio)
    if self.trainable:
      self._ensure_built()
      return {'audio': audio, 'ir': _tile_over_batch(self._ir, audio)}
    if ir is None:
      raise ValueError(f'{self.name}: an ir input is required when the reverb '
                       'is not trainable (pass ir, or use trainable=True).')
    ir = core.tf_float32(ir)
    validation.check_rank(
        'ir', ir, (1, 2, 3),
        '[ir_size], [batch, ir_size] or [batch, ir_size, 1]')
    if ir.shape.rank == 1:
      ir = _tile_over_batch(ir, audio)
    if ir.shape.rank == 3:
      ir = ir[..., 0]
    return {'audio': audio, 'ir': ir}

  def get_signal(self, audio: tf.Tensor, ir: tf.Tensor) -> tf.Tensor:
    """Reverberated audio, [batch, n_samples]."""
    direct_sound_mask = np.ones(ir.shape[-1], np.float32)
    direct_sound_mask[0] = 0.0
    wet = core.fft_convolve(audio, ir * direct_sound_mask, padding='same',
                            delay_compensation=0)
    return wet + audio if self.add_dry else wet


def _exponential_decay_ir(gain: tf.Tensor, decay: tf.Tensor,
                          noise: tf.Tensor) -> tf.Tensor:
  """gain * exp(-(2 + exp(decay)) * t) * noise with t from 0 to 1.

  Args:
    gain: [batch, 1], already scaled.
    decay: [batch, 1], raw (the decay rate per IR length is 2 + exp(decay)).
    noise: [ir_size].

  Returns:
    [batch, ir_size].
  """
  time = tf.linspace(0.0, 1.0, noise.shape[-1])
  rate = 2.0 + tf.exp(decay)
  return gain * tf.exp(-rate * time) * noise


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class ExpDecayReverb(Reverb):
  """Reverb whose IR is noise under an exponentially decaying envelope.

  The envelope is scale_fn(gain) * exp(-(2 + exp(decay)) * t) with t rising
  from 0 to 1 over the IR, so the amplitude falls by a factor e every
  reverb_length / (2 + exp(decay)) samples. The noise is fixed by noise_seed,
  so the same gain and decay always give the same IR.
  """

  _config_args = Reverb._config_args + ('scale_fn', 'noise_seed',
                                         'initial_gain', 'initial_decay')
  _function_args = ('scale_fn',)

  def __init__(self, trainable: bool = False, reverb_length: int = 48000,
               scale_fn: Optional[Callable] = core.exp_sigmoid,
               add_dry: bool = True, name: Text = 'exp_decay_reverb',
               noise_seed: int = 0, initial_gain: float = 2.0,
               initial_decay: float = 4.0, **kwargs):
    """Sets the reverb.

    Args:
      trainable: Learn gain and decay as weights, or take them as inputs.
      reverb_length: Samples of the IR.
      scale_fn: Applied to the raw gain (None: no scaling).
      add_dry: Add the input to the reverberated signal.
      name: Layer name.
      noise_seed: Seed of the IR's noise.
      initial_gain: Starting raw gain of a trainable reverb.
      initial_decay: Starting raw decay of a trainable reverb. The RT60 is
        ln(1000) * reverb_length / (2 + exp(decay)) samples, so the default
        4.0 starts at 12% of the IR's length.
      **kwargs: Keras layer arguments.

    Raises:
      ValueError: For a non-finite initial value.
    """
    super().__init__(trainable=trainable, reverb_length=reverb_length,
                     add_dry=add_dry, name=name, **kwargs)
    self.scale_fn = scale_fn
    self.noise_seed = noise_seed
    for label, value in (('initial_gain', initial_gain),
                         ('initial_decay', initial_decay)):
      if (isinstance(value, bool) or not isinstance(value, (int, float)) or
          not np.isfinite(value)):
        raise ValueError(f'{label} must be a finite number, got '
                         f'{label}={value!r}.')
    self.initial_gain = float(initial_gain)
    self.initial_decay = float(initial_decay)

  def _add_trainable_weights(self) -> None:
    self._gain = self.add_weight(
        name='gain', shape=[1],
        initializer=keras.initializers.Constant(self.initial_gain))
    self._decay = self.add_weight(
        name='decay', shape=[1],
        initializer=keras.initializers.Constant(self.initial_decay))

  def get_controls(self, audio: tf.Tensor, gain: Optional[tf.Tensor] = None,
                   decay: Optional[tf.Tensor] = None) -> TensorDict:
    """Makes the IR from gain and decay.

    Args:
      audio: Dry audio, [batch, n_samples].
      gain: Raw gain, [batch, 1]; required unless trainable.
      decay: Raw decay, [batch, 1]; required unless trainable.

    Returns:
      Dict with audio and ir [batch, reverb_length].
    """
    audio = _audio_tensor(audio)
    if self.trainable:
      self._ensure_built()
      gain, decay = (_tile_over_batch(self._gain, audio),
                     _tile_over_batch(self._decay, audio))
    elif gain is None or decay is None:
      raise ValueError(f'{self.name}: gain and decay inputs are required when '
                       'the reverb is not trainable.')
    gain, decay = core.tf_float32(gain), core.tf_float32(decay)
    for label, value in (('gain', gain), ('decay', decay)):
      validation.check_rank(label, value, (2,), '[batch, 1]')
    if self.scale_fn is not None:
      gain = self.scale_fn(gain)
    noise = tf.random.stateless_uniform([self.reverb_length],
                                        seed=[self.noise_seed, 0],
                                        alg='philox',
                                        minval=-1.0, maxval=1.0)
    return {'audio': audio, 'ir': _exponential_decay_ir(gain, decay, noise)}


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class FilteredNoiseReverb(Reverb):
  """Reverb whose IR is time-varying filtered noise (a FilteredNoise synth)."""

  _config_args = Reverb._config_args + (
      'window_size', 'n_frames', 'n_filter_banks', 'scale_fn', 'initial_bias')
  _function_args = ('scale_fn',)

  def __init__(self, trainable: bool = False, reverb_length: int = 48000,
               window_size: int = 257, n_frames: int = 1000,
               n_filter_banks: int = 16,
               scale_fn: Optional[Callable] = core.exp_sigmoid,
               initial_bias: float = -3.0, add_dry: bool = True,
               name: Text = 'filtered_noise_reverb', **kwargs):
    """Sets the reverb.

    Args:
      trainable: Learn the noise magnitudes as a weight, or take them as
        input.
      reverb_length: Samples of the IR; a multiple of n_frames.
      window_size: Filter length of the noise synth.
      n_frames: Frames of the magnitudes over the IR.
      n_filter_banks: Bands of the magnitudes.
      scale_fn: Applied to magnitudes + initial_bias.
      initial_bias: Bias added before scale_fn.
      add_dry: Add the input to the reverberated signal.
      name: Layer name.
      **kwargs: Keras layer arguments.
    """
    super().__init__(trainable=trainable, reverb_length=reverb_length,
                     add_dry=add_dry, name=name, **kwargs)
    if n_frames < 1 or reverb_length % n_frames:
      raise ValueError(f'reverb_length ({reverb_length}) must be a multiple of '
                       f'n_frames ({n_frames}).')
    self.window_size = window_size
    self.n_frames = n_frames
    self.n_filter_banks = n_filter_banks
    self.scale_fn = scale_fn
    self.initial_bias = initial_bias
    self._noise_synth = synths.FilteredNoise(
        n_samples=reverb_length, window_size=window_size, scale_fn=scale_fn,
        initial_bias=initial_bias, name=f'{name}_noise')

  def _add_trainable_weights(self) -> None:
    self._magnitudes = self.add_weight(
        name='magnitudes', shape=[self.n_frames, self.n_filter_banks],
        initializer=keras.initializers.RandomNormal(stddev=1e-2, seed=0))

  def get_controls(self, audio: tf.Tensor,
                   magnitudes: Optional[tf.Tensor] = None) -> TensorDict:
    """Renders the IR.

    Args:
      audio: Dry audio, [batch, n_samples].
      magnitudes: Raw noise magnitudes, [batch, n_frames, n_filter_banks];
        required unless trainable.

    Returns:
      Dict with audio and ir [batch, reverb_length].
    """
    audio = _audio_tensor(audio)
    if self.trainable:
      self._ensure_built()
      magnitudes = _tile_over_batch(self._magnitudes, audio)
    elif magnitudes is None:
      raise ValueError(f'{self.name}: a magnitudes input is required when the '
                       'reverb is not trainable.')
    return {'audio': audio, 'ir': self._noise_synth(magnitudes)}


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class FIRFilter(processors.Processor):
  """Time-varying FIR filter from frame-wise magnitudes."""

  _config_args = ('window_size', 'scale_fn', 'centered')
  _function_args = ('scale_fn',)

  def __init__(self, window_size: int = 257,
               scale_fn: Optional[Callable] = core.exp_sigmoid,
               name: Text = 'fir_filter', centered: bool = False, **kwargs):
    """Sets the filter.

    Args:
      window_size: Filter length; 0 gives 2 * (n_bands - 1).
      scale_fn: Applied to the raw magnitudes (None: no scaling).
      name: Layer name.
      centered: ddsp_tf's symmetric linear-phase filter with exact delay
        compensation (see `core.frequency_filter`); by default the
        original's filter and delay.
      **kwargs: Keras layer arguments.
    """
    super().__init__(name=name, **kwargs)
    self.centered = centered
    self.window_size = validation.check_int('window_size', window_size,
                                            minimum=0)
    self.scale_fn = scale_fn

  def get_controls(self, audio: tf.Tensor,
                   magnitudes: tf.Tensor) -> TensorDict:
    """Scales the magnitudes.

    Args:
      audio: [batch, n_samples].
      magnitudes: Gains from 0 Hz to Nyquist, [batch, n_frames, n_bands]
        (n_frames must split the audio evenly) or [batch, n_bands].

    Returns:
      Dict with audio and magnitudes.
    """
    audio = _audio_tensor(audio)
    magnitudes = core.tf_float32(magnitudes)
    if self.scale_fn is not None:
      magnitudes = self.scale_fn(magnitudes)
    return {'audio': audio, 'magnitudes': magnitudes}

  def get_signal(self, audio: tf.Tensor, magnitudes: tf.Tensor) -> tf.Tensor:
    """Filtered audio, [batch, n_samples], delay-compensated."""
    return core.frequency_filter(audio, magnitudes,
                                 window_size=self.window_size,
                                 centered=self.centered)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class ModDelay(processors.Processor):
  """Modulated delay line: the basis of chorus, flanger and vibrato.

  The delay at each sample is center_ms + phase * depth_ms, with phase in
  [0, 1]; the delayed signal is scaled by gain and, with add_dry, added to
  the input.
  """

  _config_args = ('center_ms', 'depth_ms', 'sample_rate', 'gain_scale_fn',
                  'phase_scale_fn', 'add_dry', 'exact_delay')
  _function_args = ('gain_scale_fn', 'phase_scale_fn')

  def __init__(self, center_ms: float = 15.0, depth_ms: float = 10.0,
               sample_rate: int = 16000,
               gain_scale_fn: Optional[Callable] = core.exp_sigmoid,
               phase_scale_fn: Optional[Callable] = tf.nn.sigmoid,
               add_dry: bool = True, name: Text = 'mod_delay',
               exact_delay: bool = False, **kwargs):
    """Sets the delay line.

    Args:
      center_ms: Delay in milliseconds at phase 0.
      depth_ms: Extra delay in milliseconds at phase 1.
      sample_rate: Samples per second.
      gain_scale_fn: Applied to the raw gain (None: no scaling).
      phase_scale_fn: Maps the raw phase into [0, 1] (None: no scaling).
      add_dry: Add the input to the delayed signal.
      name: Layer name.
      exact_delay: ddsp_tf's delay line: the delay is exactly
        center_ms + phase * depth_ms (`core.variable_length_delay` with
        exact_delay=True). By default, as in magenta/ddsp, the delay line is
        int(sample_rate / 1000 * (center_ms + depth_ms)) samples long with
        its wrapping table, so the longest delays fade back towards no delay.
      **kwargs: Keras layer arguments.
    """
    super().__init__(name=name, **kwargs)
    self.exact_delay = exact_delay
    if center_ms < 0 or depth_ms < 0 or center_ms + depth_ms <= 0:
      raise ValueError('center_ms and depth_ms must be >= 0 with a positive '
                       f'sum, got center_ms={center_ms}, depth_ms={depth_ms}.')
    validation.check_positive('sample_rate', sample_rate)
    self.center_ms = center_ms
    self.depth_ms = depth_ms
    self.sample_rate = sample_rate
    self.gain_scale_fn = gain_scale_fn
    self.phase_scale_fn = phase_scale_fn
    self.add_dry = add_dry

  def get_controls(self, audio: tf.Tensor, gain: tf.Tensor,
                   phase: tf.Tensor) -> TensorDict:
    """Scales the controls.

    Args:
      audio: [batch, n_samples].
      gain: Raw wet gain, [batch, n_frames, 1].
      phase: Raw delay modulation, [batch, n_frames, 1].

    Returns:
      Dict with audio, gain and phase (in [0, 1]), frame-wise.
    """
    audio = _audio_tensor(audio)
    gain, phase = core.tf_float32(gain), core.tf_float32(phase)
    validation.check_rank('gain', gain, (3,), '[batch, n_frames, 1]')
    validation.check_rank('phase', phase, (3,), '[batch, n_frames, 1]')
    if self.gain_scale_fn is not None:
      gain = self.gain_scale_fn(gain)
    if self.phase_scale_fn is not None:
      phase = self.phase_scale_fn(phase)
    return {'audio': audio, 'gain': gain, 'phase': phase}

  def get_signal(self, audio: tf.Tensor, gain: tf.Tensor,
                 phase: tf.Tensor) -> tf.Tensor:
    """Delayed (plus dry) audio, [batch, n_samples]."""
    n_samples = audio.shape[1]
    samples_per_ms = self.sample_rate / 1000.0
    phase = core.resample(phase, n_samples)
    if self.exact_delay:
      max_length = int(np.ceil(samples_per_ms *
                               (self.center_ms + self.depth_ms)))
      delay = samples_per_ms * (self.center_ms + self.depth_ms * phase)
      wet = core.variable_length_delay(delay / max_length, audio,
                                       max_length=max_length,
                                       exact_delay=True)
    else:
      max_delay_ms = self.center_ms + self.depth_ms
      max_length = int(samples_per_ms * max_delay_ms)
      table_phase = (phase * (self.depth_ms / max_delay_ms) +
                     self.center_ms / max_delay_ms)
      wet = core.variable_length_delay(table_phase, audio,
                                       max_length=max_length)
    wet *= core.resample(gain, n_samples)[..., 0]
    return wet + audio if self.add_dry else wet
