"""Shared pytest setup: quiet TensorFlow's C++ logging before it is imported,
and run the slowest test file first."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# The slowest file (it trains a model for several minutes) goes first, so
# that with `-n 2 --dist loadfile` one worker trains while the other runs
# everything else, instead of the training starting near the end.
_SLOWEST_FIRST = ('test_paper_demos.py',)


def pytest_collection_modifyitems(items):
  items.sort(key=lambda item: item.path.name not in _SLOWEST_FIRST)


import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position


@pytest.fixture(autouse=True, scope='module')
def _fresh_gin_config_per_module():
  """Each test file starts with an empty gin config.

  Models are gin-configurable as in magenta/ddsp (`Autoencoder()` takes the
  parsed bindings), so bindings left by one file would change the models
  another file builds when xdist runs them in the same worker.
  """
  import gin  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  yield
