"""Running gin-configured training, evaluation and sampling.

`parse_gin` reads a run's gin configs in magenta/ddsp's order, and `run`
trains, evaluates or samples what they describe, from typed `RunSettings`.
The `ddsp_tf_run` console script (`ddsp_tf.cli.run`) only parses flags into
RunSettings and calls `run`; applications such as the demo call it
directly.
"""

import dataclasses
import logging
import os
import tempfile
import time
from typing import List, Optional, Sequence

import gin
import tensorflow as tf

from ddsp_tf import files
from ddsp_tf import validation
from ddsp_tf.training import cloud
from ddsp_tf.training import distribute
from ddsp_tf.training import eval_util
from ddsp_tf.training import gin as gin_configs
from ddsp_tf.training import models
from ddsp_tf.training import train_util
from ddsp_tf.training import trainers

logger = logging.getLogger('ddsp_tf_run')

MODES = ('train', 'eval', 'sample')


class StartupError(Exception):
  """A bad flag, gin config or directory, found before anything runs."""


def package_gin_dir() -> str:
  """The folder of the gin configs shipped with ddsp_tf (first on the path)."""
  return gin_configs.config_dir()


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
    gin_files: Config files, by path or by name in the search path;
      gs:// files are first downloaded to a temporary folder.
    gin_params: Single bindings.
    tpu: Use the TPU optimisation defaults.

  Returns:
    The gin search path (package folder first).

  Raises:
    StartupError: For a missing folder or file, an unknown configurable or
      parameter, or a syntax error; the message holds the search path.
  """
  install_gin_search_noise_filter()
  search_path = [gin_configs.config_dir()]
  for folder in gin_search_paths:
    folder = files.expand_path(folder)
    if not os.path.isdir(folder):
      raise StartupError(f'--gin_search_path={folder!r} is not a directory.')
    search_path.append(folder)
  where = (f'gin search path: the working directory {os.getcwd()!r}, then '
           f'{search_path}')
  if any(path.startswith('gs://') for path in gin_files):
    download_dir = tempfile.mkdtemp(prefix='ddsp_tf_gin_')
    try:
      gin_files = [
          os.path.join(download_dir, local) if path.startswith('gs://')
          else local for path, local in zip(
              gin_files, cloud.make_file_paths_local(list(gin_files),
                                                     download_dir))]
    except OSError as error:
      raise StartupError(str(error)) from None

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
    raise StartupError(
        f'No {function_name}.{parameter} is bound; {hint}') from None


def allow_memory_growth() -> None:
  """Lets TensorFlow grow each GPU's memory as needed, not take it all.

  Must run before TensorFlow initializes the GPUs; a RuntimeError from a
  later call is logged and ignored, as in magenta/ddsp.
  """
  for gpu in tf.config.list_physical_devices('GPU'):
    try:
      tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError as error:
      logger.warning('Cannot set GPU memory growth: %s', error)


def delay_start(initial_delay_secs: Optional[float]) -> None:
  """Waits initial_delay_secs seconds (none for None or 0).

  Args:
    initial_delay_secs: The delay; must be >= 0 or None.

  Raises:
    ValueError: For a negative delay.
  """
  if not initial_delay_secs:
    return
  if initial_delay_secs < 0:
    raise ValueError(f'initial_delay_secs must be >= 0, got '
                     f'{initial_delay_secs!r}.')
  logger.info('Waiting %.0f s before starting.', initial_delay_secs)
  time.sleep(initial_delay_secs)


@dataclasses.dataclass
class RunSettings:
  """What `run` does: ddsp_tf_run's flags as typed fields.

  Attributes:
    mode: 'train', 'eval' or 'sample'.
    save_dir: Run directory: checkpoints, operative configs, summaries.
    restore_dir: Directory to resume from (train) or read checkpoints from
      (eval, sample); '' means save_dir.
    gin_files: Gin config files, by path or by name in the search path.
    gin_params: Single gin bindings, e.g. 'train.num_steps=1000'.
    gin_search_paths: Extra folders searched for gin files.
    tpu: TPU address or name ('' for none).
    cluster_config: TF_CONFIG-style JSON for multi-worker training
      (overrides the TF_CONFIG environment variable).
    strategy: A train_util.STRATEGIES name, or '' to choose from tpu and
      cluster_config.
    cluster_timeout_secs: multi_worker: seconds to wait for every worker
      to start.
    allow_memory_growth: Let TensorFlow grow GPU memory as needed.
    early_stop_loss_value: Stop training once total_loss is at or below it.
    nan_policy: A trainers.NAN_POLICIES name, or None for the Trainer's.
    run_once: eval/sample: the latest checkpoint once, then return.
    initial_delay_secs: eval/sample: seconds to wait before starting.
    seed: Seed of TensorFlow's, numpy's and Python's random numbers.
    deterministic: Run every op deterministically (needs seed).
  """
  mode: str = 'train'
  save_dir: str = '/tmp/ddsp'
  restore_dir: str = ''
  gin_files: Sequence[str] = ()
  gin_params: Sequence[str] = ()
  gin_search_paths: Sequence[str] = ()
  tpu: str = ''
  cluster_config: str = ''
  strategy: str = ''
  cluster_timeout_secs: float = distribute.DEFAULT_CLUSTER_TIMEOUT_SECS
  allow_memory_growth: bool = False
  early_stop_loss_value: Optional[float] = None
  nan_policy: Optional[str] = None
  run_once: bool = False
  initial_delay_secs: Optional[float] = None
  seed: Optional[int] = None
  deterministic: bool = False

  def __post_init__(self):
    validation.check_choice('mode', self.mode, MODES)


def run(settings: RunSettings) -> None:
  """Parses the gin configs and trains, evaluates or samples.

  Args:
    settings: What to run (ddsp_tf_run's flags, typed).

  Raises:
    StartupError: For bad flags or configs.
  """
  if settings.deterministic and settings.seed is None:
    raise StartupError('--deterministic needs --seed: unseeded random ops '
                       'cannot be made deterministic.')
  if settings.allow_memory_growth:
    allow_memory_growth()
  if settings.seed is not None:
    tf.keras.utils.set_random_seed(settings.seed)
  if settings.deterministic:
    tf.config.experimental.enable_op_determinism()
  save_dir = files.expand_path(settings.save_dir)
  restore_dir = (files.expand_path(settings.restore_dir)
                 if settings.restore_dir else save_dir)
  parse_gin(restore_dir, settings.gin_search_paths, settings.gin_files,
            settings.gin_params, tpu=bool(settings.tpu))

  dataset_hint = ('add a dataset config, e.g. --gin_file=datasets/tfrecord.gin '
                  "--gin_param=\"TFRecordProvider.file_pattern='...'\".")
  if settings.mode == 'train':
    _check_bound('train', 'data_provider', dataset_hint)
    _check_bound(
        'get_model', 'model',
        'add a model config, e.g. --gin_file=models/solo_instrument.gin.')
    try:
      strategy = train_util.get_strategy(
          settings.tpu, settings.cluster_config, settings.strategy,
          cluster_timeout_secs=settings.cluster_timeout_secs)
    except ValueError as error:
      raise StartupError(str(error)) from None
    if distribute.num_workers(strategy) > 1 and settings.seed is None:
      logger.warning(
          'Multi-worker training without --seed: the workers shuffle the '
          'data differently, so a global batch may repeat some examples and '
          'miss others. Pass the same --seed to every worker.')
    trainer_kwargs = ({'nan_policy': settings.nan_policy}
                      if settings.nan_policy else {})
    with strategy.scope():
      model = models.get_model()
      trainer = trainers.get_trainer_class()(model, strategy, **trainer_kwargs)
    train_kwargs = {}
    if settings.early_stop_loss_value is not None:
      train_kwargs['early_stop_loss_value'] = settings.early_stop_loss_value
    train_util.train(data_provider=gin.REQUIRED, trainer=trainer,
                     save_dir=save_dir, restore_dir=restore_dir,
                     **train_kwargs)
    return

  function = (eval_util.evaluate if settings.mode == 'eval' else
              eval_util.sample)
  name = 'evaluate' if settings.mode == 'eval' else 'sample'
  _check_bound(name, 'data_provider', dataset_hint)
  _check_bound('get_model', 'model',
               'train first (restore_dir has no operative config) or add a '
               'model config.')
  delay_start(settings.initial_delay_secs)
  function(data_provider=gin.REQUIRED, model=models.get_model(),
           evaluator_classes=gin.REQUIRED, save_dir=save_dir,
           restore_dir=restore_dir, run_once=settings.run_once)


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
