"""Keras helpers shared by the layer test modules."""

import keras


def save_and_load(model, tmp_path, name='model.keras'):
  """Saves `model` to a .keras file under tmp_path and loads it back."""
  path = str(tmp_path / name)
  model.save(path)
  return keras.models.load_model(path)


def only_layer(model, cls):
  """The single layer of type `cls` in `model` (asserts there is one)."""
  found = [l for l in model.layers if isinstance(l, cls)]
  assert len(found) == 1, found
  return found[0]
