"""Runs every notebook in colab/ headless, top to bottom, with nbclient.

Each notebook runs on a copy in a temporary folder (the committed file stays
without outputs), in a `python3` kernel that imports this checkout and sees
DDSP_TF_NOTEBOOK_SMALL=1, which notebooks read to shrink their clips, models
and step counts. A notebook whose metadata has `"ddsp_tf": {"slow_test":
true}` (one that needs more than about a minute even when small) is marked
slow.
"""

import glob
import os

import nbclient
from nbclient import exceptions as nbclient_exceptions
import nbformat
import pytest

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NOTEBOOKS = sorted(glob.glob(os.path.join(_REPO_ROOT, 'colab', '*.ipynb')))
_CELL_TIMEOUT_S = 600


def _read(path: str) -> nbformat.NotebookNode:
  return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def _notebook_param(path: str):
  """A pytest param of a notebook, marked slow where its metadata says so."""
  slow = _read(path).metadata.get('ddsp_tf', {}).get('slow_test', False)
  return pytest.param(path, id=os.path.basename(path),
                      marks=[pytest.mark.slow] if slow else [])


def test_there_are_notebooks():
  assert _NOTEBOOKS, f'no notebooks in {os.path.join(_REPO_ROOT, "colab")}'


@pytest.mark.parametrize('path', _NOTEBOOKS,
                         ids=[os.path.basename(path) for path in _NOTEBOOKS])
def test_notebook_is_committed_valid_and_without_outputs(path):
  notebook = _read(path)
  nbformat.validate(notebook)
  assert notebook.metadata.kernelspec.name == 'python3'
  for index, cell in enumerate(notebook.cells):
    if cell.cell_type == 'code':
      assert not cell.outputs and cell.execution_count is None, (
          f'{os.path.basename(path)} cell {index} has outputs; clear them '
          'before committing.')


@pytest.mark.parametrize('path', [_notebook_param(path)
                                  for path in _NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
  # The kernel inherits this environment.
  monkeypatch.setenv('DDSP_TF_NOTEBOOK_SMALL', '1')
  monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '3')
  monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
      [_REPO_ROOT] + [part for part in
                      os.environ.get('PYTHONPATH', '').split(os.pathsep)
                      if part]))
  notebook = _read(path)
  client = nbclient.NotebookClient(
      notebook, kernel_name='python3', timeout=_CELL_TIMEOUT_S,
      resources={'metadata': {'path': str(tmp_path)}})
  try:
    client.execute()
  except nbclient_exceptions.CellExecutionError as error:
    pytest.fail(f'{os.path.basename(path)} failed:\n{error}', pytrace=False)
  finally:
    # The executed copy, outputs included, for a look after a failure.
    nbformat.write(notebook, str(tmp_path / os.path.basename(path)))
