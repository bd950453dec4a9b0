"""Checks that every console script's tests make the same way."""

import importlib.metadata
from typing import Callable, Iterable

import pytest


def assert_help_lists(main: Callable[[list], int], flags: Iterable[str],
                      capsys: pytest.CaptureFixture) -> None:
  """Checks that main(['--help']) exits with status 0 and names each flag.

  Args:
    main: The command's main(argv).
    flags: Flags (with dashes) the help text must contain.
    capsys: The calling test's capsys fixture.
  """
  with pytest.raises(SystemExit) as exit_info:
    main(['--help'])
  assert exit_info.value.code == 0
  text = capsys.readouterr().out
  for flag in flags:
    assert flag in text, f'{flag} is missing from --help'


def assert_console_script(name: str, target: str) -> None:
  """Checks that the installed console script name runs target.

  Args:
    name: Script name, e.g. 'ddsp_tf_run'.
    target: Its expected 'module:function'.
  """
  scripts = importlib.metadata.entry_points(group='console_scripts')
  matches = [script for script in scripts if script.name == name]
  assert matches, f'{name} is not installed; run pip install -e .'
  assert matches[0].value == target
