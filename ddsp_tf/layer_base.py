"""The Keras layer base of processors and DAGs.

Their weights (a learned reverb IR, say) never depend on input shapes, and
their calls take several tensors or dicts, which Keras cannot trace to infer
shapes. So `build` takes no shapes, and the build config only records
whether the layer was built: a reloaded `.keras` file rebuilds the layer and
then restores its weights.
"""

from typing import Any, Dict

import keras


class Layer(keras.layers.Layer):
  """A Keras layer whose weights are created without input shapes."""

  def build(self, *unused_input_shapes, **unused_input_kwargs) -> None:
    """Creates the weights; subclasses with weights override this."""
    self.built = True

  def get_build_config(self) -> Dict[str, Any]:
    return {'built': self.built}

  def build_from_config(self, config: Dict[str, Any]) -> None:
    if config.get('built'):
      self.build()
