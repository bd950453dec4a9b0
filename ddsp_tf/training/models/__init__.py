"""DDSP models, and `get_model` for gin (`get_model.model = @models.Autoencoder()`)."""

import gin

from ddsp_tf.training.models.autoencoder import Autoencoder
from ddsp_tf.training.models.inverse_synthesis import InverseSynthesis
from ddsp_tf.training.models.midi_autoencoder import MidiAutoencoder
from ddsp_tf.training.models.midi_autoencoder import ZMidiAutoencoder
from ddsp_tf.training.models.model import Model
from ddsp_tf.training.models.model import sum_losses


@gin.configurable
def get_model(model: Model = gin.REQUIRED) -> Model:
  """The model bound in gin, e.g. `get_model.model = @models.Autoencoder()`."""
  return model
