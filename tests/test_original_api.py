"""Every public name of magenta/ddsp's modules exists at the same ddsp_tf path.

tests/golden/original_api_names.json lists, for each of the original's
modules (v3.7.0), the public classes, functions and constants it defines; it
was written by running tests/golden/list_original_api.py on the original.
The names ../shared/API.md describes are a subset of these.
"""

import importlib
import json
import os

import pytest

NAMES_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'golden', 'original_api_names.json')
with open(NAMES_PATH, encoding='utf-8') as _names_file:
  ORIGINAL_NAMES = json.load(_names_file)

# The original's names that ddsp_tf does not have yet, with the reason. A name
# that appears must leave this list (the last test checks).
KNOWN_GAPS = {
}


def test_the_names_file_covers_the_original_modules():
  assert len(ORIGINAL_NAMES) == 38
  assert sum(map(len, ORIGINAL_NAMES.values())) > 300
  assert 'MidiAutoencoder' in ORIGINAL_NAMES[
      'ddsp_tf.training.models.midi_autoencoder']


@pytest.mark.parametrize('path', sorted(ORIGINAL_NAMES))
def test_every_public_name_of_the_original_exists(path):
  module = importlib.import_module(path)
  missing = [name for name in ORIGINAL_NAMES[path]
             if not hasattr(module, name)
             and name not in KNOWN_GAPS.get(path, [])]
  assert not missing, f'{path} lacks {missing}'


def test_the_known_gaps_are_still_gaps():
  for path, names in KNOWN_GAPS.items():
    module = importlib.import_module(path)
    for name in names:
      assert name in ORIGINAL_NAMES[path]
      assert not hasattr(module, name), (
          f'{path}.{name} exists now: remove it from KNOWN_GAPS')
