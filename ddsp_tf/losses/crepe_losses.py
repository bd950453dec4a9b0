"""Pretrained CREPE embedding loss.

`PretrainedCREPE`, a frozen CREPE network returning one layer's activations,
and `PretrainedCREPEEmbeddingLoss`, the embedding loss built on it.
"""

from typing import Any, Dict, Text

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import crepe
from ddsp_tf import layer_base
from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.losses.base import _check_weight
from ddsp_tf.losses.spectral import EmbeddingLoss


# ----------------------------------------------------------------------------
# Pretrained CREPE embedding loss.
# ----------------------------------------------------------------------------
# Multipliers that bring each CREPE layer's embedding loss to a comparable
# size (magenta/ddsp's values; the loss weight is 20 * scale * weight).
_CREPE_LAYER_SCALES = {
    'conv1-BN': 1.3, 'conv1-maxpool': 1.0,
    'conv2-BN': 1.4, 'conv2-maxpool': 1.1,
    'conv3-BN': 1.9, 'conv3-maxpool': 1.6,
    'conv4-BN': 1.5, 'conv4-maxpool': 1.4,
    'conv5-BN': 1.9, 'conv5-maxpool': 1.7,
    'conv6-BN': 30.0, 'conv6-maxpool': 25.0,
    'classifier': 130.0,
}


@keras.saving.register_keras_serializable(package='ddsp_tf.losses')
class PretrainedCREPE(layer_base.Layer):
  """A frozen CREPE network that returns the activations of one layer.

  Audio (16 kHz) is cut into 1024-sample frames, each normalized like
  CREPE's input, and the named layer's output is flattened per frame.
  """

  def __init__(self, model_capacity: Text = 'tiny',
               activation_layer: Text = 'conv5-maxpool',
               name: Text = 'pretrained_crepe', trainable: bool = False,
               **kwargs):
    """Selects the network and layer.

    Args:
      model_capacity: A CREPE capacity or the path of a weight file.
      activation_layer: Name of the layer whose activations are returned,
        e.g. 'conv5-maxpool' or 'classifier'.
      name: Layer name.
      trainable: Must stay False: the pretrained weights are frozen.
      **kwargs: Keras layer arguments.
    """
    super().__init__(name=name, trainable=False, autocast=False, **kwargs)
    if trainable:
      raise ValueError('PretrainedCREPE is frozen; got trainable=True.')
    validation.check_choice('activation_layer', activation_layer,
                            tuple(_CREPE_LAYER_SCALES))
    self.model_capacity = model_capacity
    self.activation_layer = activation_layer
    network = crepe.get_model(model_capacity)
    self._embedding_model = keras.Model(
        network.inputs, network.get_layer(activation_layer).output,
        name=f'{name}_{activation_layer}')

  @staticmethod
  def frame_audio(audio: tf.Tensor, hop_length: int = 1024,
                  center: bool = True) -> tf.Tensor:
    """Frames [batch, n_samples] audio into [batch, n_frames, 1024]."""
    audio = core.tf_float32(audio)
    validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
    padded = spectral_ops.pad(audio, crepe.FRAME_SIZE, hop_length,
                              padding='center' if center else 'valid')
    return tf.signal.frame(padded, crepe.FRAME_SIZE, hop_length)

  def call(self, audio: tf.Tensor) -> tf.Tensor:
    """Activations, [batch, n_frames, depth]."""
    frames = self.frame_audio(audio)
    shape = tf.shape(frames)
    flat = crepe.normalize_frames(tf.reshape(frames, [-1, crepe.FRAME_SIZE]))
    activations = self._embedding_model(flat, training=False)
    return tf.reshape(activations, [shape[0], shape[1], -1])

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(model_capacity=self.model_capacity,
                  activation_layer=self.activation_layer)
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register(module='ddsp_tf.losses')
class PretrainedCREPEEmbeddingLoss(EmbeddingLoss):
  """Embedding loss on the activations of a frozen CREPE layer."""

  def __init__(self, weight: float = 1.0, loss_type: Text = 'L1',
               model_capacity: Text = 'tiny',
               activation_layer: Text = 'classifier',
               name: Text = 'pretrained_crepe_embedding_loss', **kwargs):
    """Sets the network, the layer and the comparison.

    Args:
      weight: Multiplies the loss (after the per-layer scale: the effective
        weight is 20 * scale(activation_layer) * weight).
      loss_type: 'L1', 'L2' or 'COSINE'.
      model_capacity: A CREPE capacity or the path of a weight file.
      activation_layer: Layer whose activations are compared.
      name: Layer name, and the key in get_losses_dict.
      **kwargs: Keras layer arguments.
    """
    validation.check_choice('activation_layer', activation_layer,
                            tuple(_CREPE_LAYER_SCALES))
    kwargs.pop('pretrained_model', None)
    super().__init__(
        weight=20.0 * _CREPE_LAYER_SCALES[activation_layer] *
        _check_weight('weight', weight),
        loss_type=loss_type, name=name,
        pretrained_model=PretrainedCREPE(model_capacity=model_capacity,
                                         activation_layer=activation_layer),
        **kwargs)
    self.user_weight = weight
    self.model_capacity = model_capacity
    self.activation_layer = activation_layer

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.pop('pretrained_model', None)
    config.update(weight=self.user_weight, model_capacity=self.model_capacity,
                  activation_layer=self.activation_layer)
    return config
