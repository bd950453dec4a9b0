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
