"""The gin configs shipped with ddsp_tf, at magenta/ddsp's path.

`.gin` files for models, datasets, optimization, evaluation and paper
reproductions live in the folders below this one, under the same names as
magenta/ddsp's (`models/solo_instrument.gin`, `datasets/tfrecord.gin`, ...).
They ship as package data, so they are found by name after a plain
`pip install`: ddsp_tf_run puts `config_dir()` first on the gin search path.
"""

import os


def config_dir() -> str:
  """The absolute folder that holds the shipped gin configs.

  Returns:
    The directory of this package; configs are found relative to it, e.g.
    os.path.join(config_dir(), 'models', 'solo_instrument.gin').
  """
  return os.path.dirname(os.path.abspath(__file__))
