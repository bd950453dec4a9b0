"""Processors: Keras layers that turn controls into signals, and their DAG.

A Processor's call runs `get_controls` (network outputs -> synthesis
parameters) and then `get_signal` (parameters -> audio). `ProcessorGroup`
wires processors into a DAG (see dags.py), and `Add`, `Mix` and `Crop` are
small processors for combining signals.
"""

from typing import Any, Dict, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import dags
from ddsp_tf import layer_base
from ddsp_tf import serialization
from ddsp_tf import validation

TensorDict = Dict[Text, tf.Tensor]


@keras.saving.register_keras_serializable(package='ddsp_tf')
class Processor(layer_base.Layer):
  """Base class: `call` = `get_signal(**get_controls(...))`.

  Subclasses implement `get_controls`, which maps raw inputs (for example
  network outputs) to a dict of synthesis parameters, and `get_signal`, which
  renders those parameters. Autocasting is off: processors work in float32
  even under a mixed-precision policy.

  Subclasses list the constructor arguments that get_config saves in
  `_config_args` (each stored as the attribute of the same name), and those
  that are functions in `_function_args`.
  """

  _config_args: Tuple[Text, ...] = ()
  _function_args: Tuple[Text, ...] = ()

  def __init__(self, name: Text = None, trainable: bool = False, **kwargs):
    super().__init__(name=name, trainable=trainable, autocast=False, **kwargs)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    for key in self._config_args:
      value = getattr(self, key)
      if key in self._function_args:
        value = serialization.serialize_function(value)
      config[key] = value
    return config

  @classmethod
  def from_config(cls, config: Dict[Text, Any]) -> 'Processor':
    config = dict(config)
    for key in cls._function_args:
      config[key] = serialization.deserialize_function(config[key])
    return cls(**config)

  def call(self, *args, return_outputs_dict: bool = False, **kwargs):
    """Computes the controls, then the signal.

    Args:
      *args: Inputs of get_controls.
      return_outputs_dict: Return {'signal': ..., 'controls': {...}} instead
        of the signal alone.
      **kwargs: Keyword inputs of get_controls; Keras's training and mask are
        dropped.

    Returns:
      The signal, or the dict of signal and controls.
    """
    _, kwargs = dags.split_keras_kwargs(kwargs)
    controls = self.get_controls(*args, **kwargs)
    signal = self.get_signal(**controls)
    if return_outputs_dict:
      return {'signal': signal, 'controls': controls}
    return signal

  def get_controls(self, *args, **kwargs) -> TensorDict:
    """Maps inputs to the keyword arguments of get_signal."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement get_controls.')

  def get_signal(self, *args, **kwargs) -> tf.Tensor:
    """Renders controls into a signal."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement get_signal.')


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class ProcessorGroup(dags.DAGLayer):
  """A DAG of processors whose output is the last node's signal.

  Example gin binding (magenta/ddsp's solo-instrument layout):
    ProcessorGroup.dag = [
        (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
        (@synths.FilteredNoise(), ['noise_magnitudes']),
        (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
        (@effects.Reverb(), ['add/signal']),
    ]
  """

  @property
  def processors(self):
    """The processors of the DAG, in node order."""
    return [module for module in self.modules if dags.is_processor(module)]

  def call(self, inputs: TensorDict, return_outputs_dict: bool = False,
           **kwargs):
    """Runs the DAG.

    Args:
      inputs: Dict of controls, e.g. {'amps', 'harmonic_distribution',
        'f0_hz', 'noise_magnitudes'}.
      return_outputs_dict: Return {'signal', 'controls'} where controls is
        the dict of every node's outputs.
      **kwargs: Passed to every processor.

    Returns:
      The last node's signal, or the dict of signal and controls.
    """
    controls = self.get_controls(inputs, **kwargs)
    signal = self.get_signal(controls)
    if return_outputs_dict:
      return {'signal': signal, 'controls': controls}
    return signal

  def get_controls(self, inputs: TensorDict, **kwargs) -> Dict[Text, Any]:
    """Runs the DAG and returns every node's outputs (see DAGLayer.run_dag)."""
    return self.run_dag(inputs, **kwargs)

  def get_signal(self, outputs: Dict[Text, Any]) -> tf.Tensor:
    """The signal of the last node."""
    return core.nested_lookup('out/signal', outputs)


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Add(Processor):
  """Sums two signals of the same shape."""

  def __init__(self, name: Text = 'add', **kwargs):
    super().__init__(name=name, **kwargs)

  def get_controls(self, signal_one: tf.Tensor,
                   signal_two: tf.Tensor) -> TensorDict:
    """Checks and passes on the signals, each [batch, n_samples]."""
    signal_one, signal_two = core.tf_float32(signal_one), core.tf_float32(
        signal_two)
    validation.check_same_shape(('signal_one', 'signal_two'), signal_one,
                                signal_two)
    return {'signal_one': signal_one, 'signal_two': signal_two}

  def get_signal(self, signal_one: tf.Tensor,
                 signal_two: tf.Tensor) -> tf.Tensor:
    """signal_one + signal_two."""
    return signal_one + signal_two


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Mix(Processor):
  """Crossfade between two signals, set by a network.

  By default magenta/ddsp's curves: sqrt(m) * one + (1 - sqrt(1 - m)) * two.
  constant_power=True is ddsp_tf's true constant-power crossfade,
  sqrt(m) * one + sqrt(1 - m) * two.
  """

  _config_args = ('constant_power',)

  def __init__(self, name: Text = 'mix', constant_power: bool = False,
               **kwargs):
    """Sets the crossfade.

    Args:
      name: Layer name.
      constant_power: ddsp_tf's constant-power crossfade (see above).
      **kwargs: Keras layer arguments.
    """
    super().__init__(name=name, **kwargs)
    self.constant_power = constant_power

  def get_controls(self, signal_one: tf.Tensor, signal_two: tf.Tensor,
                   nn_out_mix_level: tf.Tensor) -> TensorDict:
    """Maps the network output to a mix level in [0, 1] per sample.

    Args:
      signal_one: [batch, n_samples] or [batch, n_samples, channels].
      signal_two: Same shape.
      nn_out_mix_level: Logits, [batch, n_frames, 1]; a sigmoid maps them to
        [0, 1] and they are upsampled to n_samples.

    Returns:
      Dict of the signals and mix_level [batch, n_samples, 1].
    """
    signal_one, signal_two = core.tf_float32(signal_one), core.tf_float32(
        signal_two)
    validation.check_same_shape(('signal_one', 'signal_two'), signal_one,
                                signal_two)
    mix_level = core.tf_float32(nn_out_mix_level)
    validation.check_rank('nn_out_mix_level', mix_level, (3,),
                          '[batch, n_frames, 1]')
    n_samples = signal_one.shape[1]
    mix_level = core.resample(tf.nn.sigmoid(mix_level), n_samples)
    return {'signal_one': signal_one, 'signal_two': signal_two,
            'mix_level': mix_level}

  def get_signal(self, signal_one: tf.Tensor, signal_two: tf.Tensor,
                 mix_level: tf.Tensor) -> tf.Tensor:
    """Mixes the signals with the level m of signal_one.

    By default, as magenta/ddsp, sqrt|m| * one + (1 - sqrt|m - 1|) * two
    (not constant-power: the middle is 3 dB quieter for uncorrelated
    signals); with constant_power, sqrt(m) * one + sqrt(1 - m) * two, which
    keeps the power of uncorrelated signals constant.

    Args:
      signal_one: [batch, n_samples] or [batch, n_samples, channels].
      signal_two: Same shape.
      mix_level: Weight of signal_one in [0, 1], [batch, n_samples, 1].

    Returns:
      Same shape as the signals.
    """
    if signal_one.shape.rank == 2:
      mix_level = mix_level[..., 0]
    if not self.constant_power:
      return (tf.sqrt(tf.abs(mix_level)) * signal_one +
              (1.0 - tf.sqrt(tf.abs(mix_level - 1.0))) * signal_two)
    mix_level = tf.clip_by_value(mix_level, 0.0, 1.0)
    return (tf.sqrt(mix_level) * signal_one +
            tf.sqrt(1.0 - mix_level) * signal_two)


_CROP_LOCATIONS = ('front', 'back', 'center')


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class Crop(Processor):
  """Removes frame_size // 2 * 2 samples from the front, back or both ends."""

  _config_args = ('frame_size', 'crop_location')

  def __init__(self, frame_size: int, crop_location: Text = 'back',
               name: Text = 'crop', **kwargs):
    """Sets the crop.

    Args:
      frame_size: Total samples removed are 2 * (frame_size // 2).
      crop_location: 'front', 'back' or 'center' (half from each end).
      name: Layer name.
      **kwargs: Keras layer arguments.
    """
    super().__init__(name=name, **kwargs)
    validation.check_choice('crop_location', crop_location, _CROP_LOCATIONS)
    if frame_size < 0:
      raise ValueError(f'frame_size must be >= 0, got frame_size={frame_size}.')
    self.frame_size = frame_size
    self.crop_location = crop_location

  def get_controls(self, audio: tf.Tensor) -> TensorDict:
    """Passes on audio, [batch, n_samples]."""
    return {'audio': core.tf_float32(audio)}

  def get_signal(self, audio: tf.Tensor) -> tf.Tensor:
    """The cropped audio, [batch, n_samples - 2 * (frame_size // 2)]."""
    half = self.frame_size // 2
    if half == 0:
      return audio
    if self.crop_location == 'front':
      return audio[:, 2 * half:]
    if self.crop_location == 'back':
      return audio[:, :-2 * half]
    return audio[:, half:-half]
