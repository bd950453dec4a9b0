"""The DDSP autoencoder: features -> (preprocessor, encoder) -> decoder -> synth."""

from typing import Any, Dict, Optional, Sequence, Text

import keras
import tensorflow as tf

from ddsp_tf import dags
from ddsp_tf import layer_base
from ddsp_tf import losses as ddsp_losses
from ddsp_tf.training.models import model as model_lib

TensorDict = Dict[Text, tf.Tensor]
_COMPONENTS = ('preprocessor', 'encoder', 'decoder', 'processor_group')


@keras.saving.register_keras_serializable(package='ddsp_tf')
class Autoencoder(model_lib.Model):
  """Resynthesizes audio from its features through a DDSP synthesizer.

  The preprocessor scales the dataset features (e.g. F0LoudnessPreprocessor
  -> f0_scaled, ld_scaled); the optional encoder adds a latent 'z'; the
  decoder maps them to synthesizer controls; the processor group renders
  audio. Each stage's output dict is merged into the features for the next.
  The losses compare the input 'audio' with the resynthesis 'audio_synth'.
  """

  def __init__(self, preprocessor: Optional[keras.layers.Layer] = None,
               encoder: Optional[keras.layers.Layer] = None,
               decoder: Optional[keras.layers.Layer] = None,
               processor_group: Optional[keras.layers.Layer] = None,
               losses: Optional[Sequence[Any]] = None, **kwargs):
    """Sets the stages.

    Args:
      preprocessor: Layer mapping the features dict to a dict of network
        inputs, or None.
      encoder: Layer mapping the features to {'z': ...}, or None.
      decoder: Layer mapping the features to synthesizer controls, or None
        (the features then hold the controls).
      processor_group: processors.ProcessorGroup rendering the controls.
      losses: Losses called as loss.get_losses_dict(audio, audio_synth), or
        LossGroups, called with the whole outputs dict.
      **kwargs: Keras model arguments (name).

    Raises:
      ValueError: If processor_group is missing or a loss has no
        get_losses_dict.
    """
    super().__init__(**kwargs)
    if processor_group is None:
      raise ValueError('Autoencoder needs a processor_group (e.g. '
                       'processors.ProcessorGroup with a Harmonic synth).')
    loss_objs = list(losses or [])
    for loss in loss_objs:
      if not dags.is_loss(loss):
        raise ValueError(f'Every loss must have get_losses_dict; got {loss!r}.')
    self.preprocessor = preprocessor
    self.encoder = encoder
    self.decoder = decoder
    self.processor_group = processor_group
    self.loss_objs = loss_objs

  def encode(self, features: TensorDict, training: bool = True) -> TensorDict:
    """Adds the preprocessor's and encoder's outputs to `features` (in place).

    Args:
      features: Dict of dataset features (e.g. audio, f0_hz, loudness_db).
      training: Keras training flag.

    Returns:
      The updated features dict.
    """
    if self.preprocessor is not None:
      features.update(self.preprocessor(features, training=training))
    if self.encoder is not None:
      features.update(self.encoder(features, training=training))
    return features

  def _decode_outputs(self, features: TensorDict,
                      training: bool) -> Dict[Text, Any]:
    """Decoder controls into `features`, then the processor group's dict."""
    if self.decoder is not None:
      features.update(self.decoder(features, training=training))
    return self.processor_group(features, return_outputs_dict=True,
                                training=training)

  def decode(self, features: TensorDict, training: bool = True) -> tf.Tensor:
    """Adds the decoder's controls to `features` and renders audio.

    Args:
      features: Dict of network inputs (output of encode).
      training: Keras training flag.

    Returns:
      The synthesized audio, [batch, n_samples].
    """
    return self._decode_outputs(features, training)['signal']

  def call(self, features: TensorDict, training: bool = True) -> TensorDict:
    """Runs every stage.

    Args:
      features: Dict of dataset features (a copy is modified).
      training: Keras training flag.

    Returns:
      The processor group's DAG outputs (the inputs under 'inputs', every
      feature and control at the top level, each processor's
      {'signal', 'controls'} under its name, 'out') plus 'audio_synth'
      [batch, n_samples].
    """
    features = self.encode(dict(features), training=training)
    group_outputs = self._decode_outputs(features, training)
    outputs = dict(group_outputs['controls'])
    outputs['audio_synth'] = group_outputs['signal']
    return outputs

  def compute_losses_dict(self, outputs: TensorDict) -> TensorDict:
    """Every loss on (outputs['audio'], outputs['audio_synth']).

    Raises:
      KeyError: If the features had no 'audio'.
      ValueError: If two losses report the same name.
    """
    if self.loss_objs and 'audio' not in outputs:
      raise KeyError("The losses compare the features' 'audio' with the "
                     "resynthesis, but the features have no 'audio'; got "
                     f"keys {sorted(k for k in outputs if k != 'inputs')}.")
    losses_dict = {}
    for loss in self.loss_objs:
      if isinstance(loss, ddsp_losses.LossGroup):
        values = loss.get_losses_dict(outputs)
      else:
        values = loss.get_losses_dict(outputs['audio'],
                                      outputs['audio_synth'])
      for name, value in values.items():
        if name in losses_dict:
          raise ValueError(f'Two losses report the name {name!r}; give the '
                           'loss layers distinct names.')
        losses_dict[name] = value
    return losses_dict

  def get_audio_from_outputs(self, outputs: TensorDict) -> tf.Tensor:
    """The resynthesis, outputs['audio_synth'] [batch, n_samples]."""
    return outputs['audio_synth']

  def get_config(self) -> Dict[Text, Any]:
    config = {'name': self.name}
    for key in _COMPONENTS:
      config[key] = keras.saving.serialize_keras_object(getattr(self, key))
    config['losses'] = [keras.saving.serialize_keras_object(loss)
                        for loss in self.loss_objs]
    return config

  @classmethod
  def from_config(cls, config: Dict[Text, Any]) -> 'Autoencoder':
    config = dict(config)
    for key in _COMPONENTS:
      config[key] = keras.saving.deserialize_keras_object(config[key])
    config['losses'] = [keras.saving.deserialize_keras_object(loss)
                        for loss in config['losses']]
    return cls(**config)


# Configurable like magenta/ddsp's: Autoencoder() picks up gin bindings.
Autoencoder = layer_base.gin_configurable(
    Autoencoder, module='ddsp_tf.training.models')
