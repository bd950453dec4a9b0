"""Tests for layer_base: layers in list and dict attributes reach checkpoints."""

import keras
import numpy as np
import tensorflow as tf

from ddsp_tf import effects
from ddsp_tf import layer_base
from ddsp_tf import processors


class _Nested(layer_base.Layer):
  """Dense layers inside a list, a dict and a list of lists."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.stack = [keras.layers.Dense(3), keras.layers.Dense(2)]
    self.by_name = {'out': keras.layers.Dense(4)}
    self.grid = [[keras.layers.Dense(2)]]

  def call(self, x):
    for layer in self.stack:
      x = layer(x)
    return self.by_name['out'](x) + tf.reduce_sum(self.grid[0][0](x))


def _variable_names(checkpoint_prefix):
  return [name for name, _ in tf.train.list_variables(checkpoint_prefix)
          if 'VARIABLE_VALUE' in name and 'save_counter' not in name]


def test_list_dict_and_nested_items_are_saved_and_restored(tmp_path):
  layer = _Nested()
  x = tf.random.normal([2, 5], seed=1)
  expected = layer(x).numpy()
  prefix = tf.train.Checkpoint(layer=layer).save(str(tmp_path / 'ckpt'))
  names = _variable_names(prefix)
  # Four Dense layers, a kernel and a bias each, under their container paths.
  assert len(names) == 8
  for path in ('stack.S0', 'stack.S1', 'by_name.Sout', 'grid.S0.S0'):
    assert sum(path + '/' in name for name in names) == 2, (path, names)

  fresh = _Nested()
  # Restored before the fresh layer has any weights: deferred restoration.
  status = tf.train.Checkpoint(layer=fresh).restore(prefix)
  np.testing.assert_array_equal(fresh(x).numpy(), expected)
  status.assert_consumed()


def test_processor_group_checkpoints_a_trainable_reverb_ir(tmp_path):
  def make_group():
    return processors.ProcessorGroup(dag=[
        (effects.Reverb(trainable=True, reverb_length=32), ['audio'])])

  audio = {'audio': tf.random.normal([1, 64], seed=2)}
  group = make_group()
  group(audio)
  group.dag_modules['reverb'].trainable_variables[0].assign(
      tf.random.normal([32], seed=3))
  expected = group(audio).numpy()
  prefix = tf.train.Checkpoint(group=group).save(str(tmp_path / 'ckpt'))
  assert any('reverb' in name for name in _variable_names(prefix))

  fresh = make_group()
  tf.train.Checkpoint(group=fresh).restore(prefix).assert_existing_objects_matched()
  np.testing.assert_allclose(fresh(audio).numpy(), expected, atol=1e-6)
