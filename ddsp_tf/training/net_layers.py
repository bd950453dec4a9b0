"""Support for encoders and decoders that run a network passed in as `net`.

The MIDI and harmonic encoders and decoders take their body as an argument
(in gin, e.g. `MidiToHarmonicDecoder.net = @dec/nn.DilatedConvStack()`) and
add only input scaling, a normalisation and an output Dense layer around it.
`NetMixin` holds that network: it checks it, runs it with a clear error when
none was given (magenta/ddsp builds such layers with `net=None` and fails
only when they are called), and saves it in the layer's Keras config.
"""

from typing import Any, Dict, Optional, Text

import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import validation


def frame_features(name: Text, x: Any) -> tf.Tensor:
  """A frame-wise feature as float32, checked to be [batch, n_frames, ch].

  Args:
    name: The input's name, for the error message.
    x: Tensor-like [batch, n_frames, channels].

  Returns:
    float32 tensor [batch, n_frames, channels].

  Raises:
    ValueError: If x does not have rank 3.
  """
  x = core.tf_float32(x)
  validation.check_rank(name, x, (3,), '[batch, n_frames, channels]')
  return x


class NetMixin:
  """Mixin for DictLayers built around a network given as `net`.

  Put it before the Keras layer class in the bases. Subclasses call
  `set_net(net)` in `__init__`, `run_net(x)` in `call`, and add
  `net_config()` to their config; `from_config` restores the network.
  """

  net: Optional[keras.layers.Layer]

  def set_net(self, net: Optional[keras.layers.Layer]) -> None:
    """Stores the network.

    Args:
      net: A callable Keras layer, or None (then calling the layer fails).

    Raises:
      ValueError: If net is neither None nor callable.
    """
    if net is not None and not callable(net):
      raise ValueError(f'net must be a Keras layer (or None), got net={net!r}.')
    self.net = net

  def run_net(self, x: Any) -> Any:
    """The network's output for x.

    Raises:
      ValueError: If the layer was built without a network.
    """
    if self.net is None:
      raise ValueError(
          f'{type(self).__name__} {self.name!r} has no network: pass a Keras '
          'layer as net (e.g. net=nn.DilatedConvStack(...), or in gin '
          f'{type(self).__name__}.net = @nn.DilatedConvStack()); got net=None.')
    return self.net(x)

  def net_config(self) -> Dict[Text, Any]:
    """{'net': the network's Keras serialization (None without one)}."""
    return {'net': keras.saving.serialize_keras_object(self.net)}

  @classmethod
  def from_config(cls, config: Dict[Text, Any]) -> Any:
    config = dict(config)
    config['net'] = keras.saving.deserialize_keras_object(config.get('net'))
    return cls(**config)
