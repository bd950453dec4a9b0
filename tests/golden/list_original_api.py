"""Writes original_api_names.json: the public names of magenta/ddsp's modules.

Run it where `import ddsp` is the original v3.7.0 (see README.md here):

    TF_USE_LEGACY_KERAS=1 /tmp/ref/venv/bin/python \
        tests/golden/list_original_api.py

A name is public when it does not start with '_', is not a module, and is
defined by the module itself (classes and functions whose __module__ is that
module; constants). Each module is imported in its own process, since some of
the original's scripts define the same absl flags; `tensorflowjs`,
`tflite_support` and `google.colab`, which cannot be installed here, are replaced by empty
stand-ins so that the modules that import them load. The result is keyed by
the ddsp_tf module path (`ddsp.` -> `ddsp_tf.`).
"""

import inspect
import json
import os
import subprocess
import sys
import types

MODULES = (
    'ddsp.core', 'ddsp.spectral_ops', 'ddsp.processors', 'ddsp.synths',
    'ddsp.effects', 'ddsp.losses', 'ddsp.dags', 'ddsp.test_util',
    'ddsp.version', 'ddsp.colab.colab_utils', 'ddsp.training.data',
    'ddsp.training.data_preparation.prepare_tfrecord_lib',
    'ddsp.training.data_preparation.synthetic_data',
    'ddsp.training.data_preparation.ddsp_prepare_tfrecord',
    'ddsp.training.data_preparation.ddsp_generate_synthetic_dataset',
    'ddsp.training.preprocessing', 'ddsp.training.nn',
    'ddsp.training.encoders', 'ddsp.training.decoders',
    'ddsp.training.models', 'ddsp.training.models.model',
    'ddsp.training.models.autoencoder',
    'ddsp.training.models.inverse_synthesis',
    'ddsp.training.models.midi_autoencoder', 'ddsp.training.trainers',
    'ddsp.training.train_util', 'ddsp.training.ddsp_run',
    'ddsp.training.ddsp_export', 'ddsp.training.inference',
    'ddsp.training.eval_util', 'ddsp.training.evaluators',
    'ddsp.training.metrics', 'ddsp.training.summaries',
    'ddsp.training.plotting', 'ddsp.training.postprocessing',
    'ddsp.training.heuristics', 'ddsp.training.cloud',
    'ddsp.training.docker.task')
# Names bound to imported libraries, not the module's own API.
LIBRARY_ALIASES = ('FLAGS', 'tfkl', 'tfd', 'tfp', 'tfb')


def _stub_uninstallable_modules() -> None:
  for name in ('tensorflowjs', 'tensorflowjs.converters', 'tflite_support',
               'tflite_support.metadata', 'google.colab',
               'google.colab.files', 'google.colab.output'):
    sys.modules.setdefault(name, types.ModuleType(name))
  sys.modules['tensorflowjs.converters'].converter = types.SimpleNamespace()
  sys.modules['tflite_support'].metadata = sys.modules[
      'tflite_support.metadata']
  sys.modules['google.colab'].files = sys.modules['google.colab.files']
  sys.modules['google.colab'].output = sys.modules['google.colab.output']
  sys.modules['google.colab.files'].download = None


def public_names(module_name: str) -> list:
  """The public names module_name defines (imports it)."""
  import importlib  # pylint: disable=g-import-not-at-top
  _stub_uninstallable_modules()
  module = importlib.import_module(module_name)
  names = []
  for name, value in vars(module).items():
    if (name.startswith('_') and name != '__version__') or isinstance(
        value, types.ModuleType) or name in LIBRARY_ALIASES:
      continue
    if inspect.isclass(value) or inspect.isfunction(value):
      if value.__module__ != module_name:
        continue
    elif not isinstance(value, (int, float, str, tuple, list, dict)):
      continue
    names.append(name)
  return sorted(names)


def main() -> None:
  if len(sys.argv) == 2:  # One module, in a child process.
    print(json.dumps(public_names(sys.argv[1])))
    return
  result = {}
  for module_name in MODULES:
    output = subprocess.run([sys.executable, __file__, module_name],
                            capture_output=True, text=True, check=True)
    result[module_name.replace('ddsp.', 'ddsp_tf.', 1)] = json.loads(
        output.stdout.strip().splitlines()[-1])
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'original_api_names.json')
  with open(path, 'w', encoding='utf-8') as names_file:
    json.dump(result, names_file, indent=1, sort_keys=True)
    names_file.write('\n')
  print(f'{sum(map(len, result.values()))} names of {len(result)} modules '
        f'-> {path}')


if __name__ == '__main__':
  main()
