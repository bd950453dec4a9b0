r"""Train, evaluate or sample a ddsp_tf model (the `ddsp_tf_run` script).

Train a solo-instrument model on TFRecords from ddsp_tf_prepare_tfrecord:

  ddsp_tf_run --mode=train --save_dir=~/runs/violin \
    --gin_file=models/solo_instrument.gin --gin_file=datasets/tfrecord.gin \
    --gin_param="TFRecordProvider.file_pattern='data/train.tfrecord*'" \
    --gin_param=batch_size=16

Running the same command again resumes from the latest checkpoint. Evaluate
or sample the checkpoints of a run (only the dataset config is needed; the
model comes from the run's operative config):

  ddsp_tf_run --mode=eval --save_dir=~/runs/violin \
    --gin_file=datasets/tfrecord.gin --gin_file=eval/basic_f0_ld.gin \
    --gin_param="TFRecordProvider.file_pattern='data/test.tfrecord*'"

Gin files are found by name in the package's gin folder (models/...,
datasets/..., optimization/..., eval/..., papers/...), in the working
directory and in folders given with --gin_search_path. They are parsed in
this order, later bindings winning: optimization/base.gin (base_tpu.gin with
--tpu), eval/basic.gin, the latest operative_config-<step>.gin in
restore_dir, then each --gin_file and --gin_param. An unknown configurable,
a misspelt parameter or a missing file stops the run before anything is
built, with the gin search path in the message.
"""

import argparse
import importlib.util
import logging
import os
import sys
import time
from typing import List, Optional, Sequence

from absl import logging as absl_logging
import gin
import tensorflow as tf

import ddsp_tf
# Importing the training package registers every configurable with gin.
from ddsp_tf.training import eval_util
from ddsp_tf.training import models
from ddsp_tf.training import train_util
from ddsp_tf.training import trainers

logger = logging.getLogger('ddsp_tf_run')

GIN_PACKAGE = 'ddsp_tf.gin'
MODES = ('train', 'eval', 'sample')


class StartupError(Exception):
  """A bad flag, gin config or directory, found before anything runs."""


def package_gin_dir() -> str:
  """The folder of the gin configs shipped with ddsp_tf.

  An installed package has them as the `ddsp_tf.gin` package data; a source
  checkout (or a legacy editable install) has them in gin/ beside ddsp_tf/.

  Returns:
    An absolute directory path.

  Raises:
    StartupError: If neither exists.
  """
  try:
    spec = importlib.util.find_spec(GIN_PACKAGE)
  except ModuleNotFoundError:
    spec = None
  folders = list(spec.submodule_search_locations or []) if spec else []
  folders.append(os.path.join(os.path.dirname(os.path.dirname(
      os.path.abspath(ddsp_tf.__file__))), 'gin'))
  for folder in folders:
    if os.path.isdir(folder):
      return os.path.abspath(folder)
  raise StartupError(f'The ddsp_tf gin configs are missing (looked in '
                     f'{folders}); reinstall ddsp_tf.')


def _parse_bool(text: str) -> bool:
  """'true'/'false' (any case), '1'/'0', 'yes'/'no' as a bool."""
  lowered = text.strip().lower()
  if lowered in ('true', '1', 'yes'):
    return True
  if lowered in ('false', '0', 'no'):
    return False
  raise argparse.ArgumentTypeError(f'expected true or false, got {text!r}')


def build_parser() -> argparse.ArgumentParser:
  """The ddsp_tf_run flags (magenta/ddsp's ddsp_run flags plus a few)."""
  parser = argparse.ArgumentParser(
      prog='ddsp_tf_run', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  add = parser.add_argument

  def add_switch(flag: str, help_text: str) -> None:
    """An off-by-default flag: `--flag` or `--flag=true|false`."""
    add(flag, nargs='?', const=True, default=False, type=_parse_bool,
        help=help_text)

  add('--mode', choices=MODES, default='train',
      help='Train the model, evaluate its checkpoints (metrics) or sample '
      'them (audio and plots). Default: train.')
  add('--save_dir', default='/tmp/ddsp',
      help='Run directory: checkpoints, operative gin configs and '
      'TensorBoard summaries. Default: /tmp/ddsp.')
  add('--restore_dir', default='',
      help='Directory to resume from (train) or to read checkpoints from '
      '(eval, sample); its latest operative config is parsed too. Default: '
      'save_dir.')
  add('--tpu', default='',
      help='TPU address (grpc://...) or name; selects TPUStrategy and '
      'optimization/base_tpu.gin.')
  add('--cluster_config', default='',
      help='TF_CONFIG-style JSON cluster description for '
      'MultiWorkerMirroredStrategy, e.g. \'{"cluster": {"worker": '
      '["host0:2222", "host1:2222"]}, "task": {"type": "worker", "index": '
      '0}}\'.')
  add('--strategy', choices=('',) + train_util.STRATEGIES, default='',
      help='Distribution strategy. Default: tpu with --tpu, '
      'multi_worker_mirrored with --cluster_config, else default (one '
      'device); mirrored uses all local GPUs (or CPU devices).')
  add_switch('--allow_memory_growth',
             'Let TensorFlow grow GPU memory as needed instead of taking it '
             'all up front (to share a GPU).')
  add('--early_stop_loss_value', type=float, default=None,
      help='Stop training once total_loss is at or below this value.')
  add('--nan_policy', choices=trainers.NAN_POLICIES, default=None,
      help='On a NaN or Inf loss: stop with an error naming the step, or '
      'skip the batch. Default: Trainer.nan_policy (stop).')
  add('--gin_search_path', action='append', default=[],
      help='Extra folder to look for gin files in (repeatable).')
  add('--gin_file', action='append', default=[],
      help='Gin config file, by path or by name in the search path, e.g. '
      'models/solo_instrument.gin (repeatable).')
  add('--gin_param', action='append', default=[],
      help='Gin binding, e.g. "train.num_steps=1000" (repeatable).')
  add_switch('--run_once',
             'eval/sample: process the latest checkpoint once and exit, '
             'instead of waiting for new checkpoints.')
  add('--initial_delay_secs', type=float, default=None,
      help='eval/sample: seconds to wait before starting.')
  add('--seed', type=int, default=None,
      help='Seed of TensorFlow\'s, numpy\'s and Python\'s random numbers: '
      'the weights\' initialisation, the shuffle of the data, the noise. '
      'Default: unseeded.')
  add_switch('--deterministic',
             'Run every op deterministically (needs --seed), so a rerun on '
             'the same machine and software trains the same weights bit for '
             'bit. Measured at the same speed on CPU; some GPU ops get '
             'slower.')
  add('--log_level', default='INFO',
      choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'),
      help='Logging level; DEBUG also prints tracebacks of errors.')
  return parser


def _expand(path: str) -> str:
  return os.path.abspath(os.path.expandvars(os.path.expanduser(path)))


def _set_gin_search_path(folders: Sequence[str]) -> None:
  """Makes gin search the working directory, then folders, and nothing else.

  gin.add_config_file_search_path only appends, and gin.clear_config keeps
  the list, so in a long-lived process (a notebook, a test session) the
  folders of an earlier run would be searched first and an older file of
  the same name would win. gin 0.5 has no public way to reset the list.
  """
  prefixes = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
  prefixes[:] = ['']
  for folder in folders:
    gin.add_config_file_search_path(folder)


def parse_gin(restore_dir: str, gin_search_paths: Sequence[str] = (),
              gin_files: Sequence[str] = (), gin_params: Sequence[str] = (),
              tpu: bool = False) -> List[str]:
  """Parses the gin configs of a run into a cleared gin config.

  Order (later bindings win): optimization/base.gin (base_tpu.gin if tpu),
  eval/basic.gin, the latest operative config in restore_dir (unknown
  names skipped), the gin_files, the gin_params.

  Args:
    restore_dir: Run directory whose operative config is reused, if any.
    gin_search_paths: Folders searched for gin files after the package's.
    gin_files: Config files, by path or by name in the search path.
    gin_params: Single bindings.
    tpu: Use the TPU optimisation defaults.

  Returns:
    The gin search path (package folder first).

  Raises:
    StartupError: For a missing folder or file, an unknown configurable or
      parameter, or a syntax error; the message holds the search path.
  """
  install_gin_search_noise_filter()
  search_path = [package_gin_dir()]
  for folder in gin_search_paths:
    folder = _expand(folder)
    if not os.path.isdir(folder):
      raise StartupError(f'--gin_search_path={folder!r} is not a directory.')
    search_path.append(folder)
  where = (f'gin search path: the working directory {os.getcwd()!r}, then '
           f'{search_path}')

  gin.clear_config()
  _set_gin_search_path(search_path)
  opt_file = 'optimization/base_tpu.gin' if tpu else 'optimization/base.gin'
  try:
    with gin.unlock_config():
      gin.parse_config_file(opt_file)
      gin.parse_config_file('eval/basic.gin')
      try:
        operative = train_util.get_latest_operative_config(restore_dir)
      except FileNotFoundError:
        operative = None
      if operative:
        logger.info('Using the operative config %s.', operative)
        gin.parse_config_file(operative, skip_unknown=True)
      gin.parse_config_files_and_bindings(list(gin_files), list(gin_params),
                                          skip_unknown=False)
  except OSError as error:  # gin raises IOError for missing files.
    raise StartupError(f'Gin file not found: {error}\n{where}') from None
  except (ValueError, SyntaxError, TypeError) as error:
    raise StartupError(f'Bad gin config: {error}\n{where}') from None
  return search_path


def _check_bound(function_name: str, parameter: str, hint: str) -> None:
  """Raises StartupError unless gin binds `function_name.parameter`."""
  try:
    gin.query_parameter(f'{function_name}.{parameter}')
  except ValueError:
    raise StartupError(f'No {function_name}.{parameter} is bound; {hint}') from None


def _allow_memory_growth() -> None:
  for gpu in tf.config.list_physical_devices('GPU'):
    tf.config.experimental.set_memory_growth(gpu, True)


def run(args: argparse.Namespace) -> None:
  """Parses the gin configs and trains, evaluates or samples.

  Args:
    args: Parsed flags (see build_parser).

  Raises:
    StartupError: For bad flags or configs.
  """
  if args.deterministic and args.seed is None:
    raise StartupError('--deterministic needs --seed: unseeded random ops '
                       'cannot be made deterministic.')
  if args.allow_memory_growth:
    _allow_memory_growth()
  if args.seed is not None:
    tf.keras.utils.set_random_seed(args.seed)
  if args.deterministic:
    tf.config.experimental.enable_op_determinism()
  save_dir = _expand(args.save_dir)
  restore_dir = _expand(args.restore_dir) if args.restore_dir else save_dir
  parse_gin(restore_dir, args.gin_search_path, args.gin_file, args.gin_param,
            tpu=bool(args.tpu))

  dataset_hint = ('add a dataset config, e.g. --gin_file=datasets/tfrecord.gin '
                  "--gin_param=\"TFRecordProvider.file_pattern='...'\".")
  if args.mode == 'train':
    _check_bound('train', 'data_provider', dataset_hint)
    _check_bound('get_model', 'model',
                 'add a model config, e.g. --gin_file=models/solo_instrument.gin.')
    try:
      strategy = train_util.get_strategy(args.tpu, args.cluster_config,
                                         args.strategy)
    except ValueError as error:
      raise StartupError(str(error)) from None
    trainer_kwargs = {'nan_policy': args.nan_policy} if args.nan_policy else {}
    with strategy.scope():
      model = models.get_model()
      trainer = trainers.get_trainer_class()(model, strategy, **trainer_kwargs)
    train_kwargs = {}
    if args.early_stop_loss_value is not None:
      train_kwargs['early_stop_loss_value'] = args.early_stop_loss_value
    train_util.train(data_provider=gin.REQUIRED, trainer=trainer,
                     save_dir=save_dir, restore_dir=restore_dir,
                     **train_kwargs)
    return

  function = eval_util.evaluate if args.mode == 'eval' else eval_util.sample
  name = 'evaluate' if args.mode == 'eval' else 'sample'
  _check_bound(name, 'data_provider', dataset_hint)
  _check_bound('get_model', 'model',
               'train first (restore_dir has no operative config) or add a '
               'model config.')
  if args.initial_delay_secs:
    logger.info('Waiting %.0f s before starting.', args.initial_delay_secs)
    time.sleep(args.initial_delay_secs)
  function(data_provider=gin.REQUIRED, model=models.get_model(),
           evaluator_classes=gin.REQUIRED, save_dir=save_dir,
           restore_dir=restore_dir, run_once=args.run_once)


class GinSearchNoiseFilter(logging.Filter):
  """Drops gin's per-folder 'Path not found' lines while it searches a file.

  gin's package-resource reader logs an ERROR for every search folder that
  lacks a file, even when a later folder has it.
  """

  def filter(self, record: logging.LogRecord) -> bool:
    return not record.pathname.endswith(
        os.path.join('gin', 'resource_reader.py'))


def install_gin_search_noise_filter() -> None:
  """Adds a GinSearchNoiseFilter to the root logger unless it has one."""
  root = logging.getLogger()
  if not any(isinstance(f, GinSearchNoiseFilter) for f in root.filters):
    root.addFilter(GinSearchNoiseFilter())


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs ddsp_tf_run with command-line arguments.

  Args:
    argv: Arguments without the program name; None reads sys.argv.

  Returns:
    The exit status: 0 on success, 1 for an error, 2 for bad usage.
  """
  parser = build_parser()
  args = parser.parse_args(argv)
  logging.basicConfig(
      level=getattr(logging, args.log_level),
      format='%(asctime)s %(levelname)s %(name)s: %(message)s')
  # TensorFlow's absl logging is chatty at INFO (e.g. every checkpoint).
  absl_logging.set_verbosity(absl_logging.WARNING)
  try:
    run(args)
  except StartupError as error:
    print(f'ddsp_tf_run: error: {error}', file=sys.stderr)
    return 2
  except (ValueError, FileNotFoundError, PermissionError,
          FloatingPointError, NotImplementedError) as error:
    logger.debug('Traceback:', exc_info=True)
    print(f'ddsp_tf_run: error: {type(error).__name__}: {error}',
          file=sys.stderr)
    return 1
  return 0


def console_entry_point() -> None:
  """The installed `ddsp_tf_run` console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
