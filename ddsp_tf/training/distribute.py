"""Distribution strategies and what multi-worker training needs around them.

`get_strategy` picks the tf.distribute strategy from ddsp_tf_run's flags
(`--strategy`, `--tpu`, `--cluster_config`, the TF_CONFIG environment
variable). The other functions let the training loop run unchanged on one
process or on several:

- `is_chief`: whether this process writes checkpoints, summaries and the
  operative config (True except on non-chief workers of a multi-worker run).
- `worker_save_dir`: where this process saves checkpoints. Every worker must
  take part in a save (TensorFlow's multi-worker guide), so the non-chief
  workers save into a temporary folder that `discard_worker_checkpoint`
  empties after each save and `remove_worker_save_dir` deletes.
- `shard_by_data`: dataset options under which the workers together see
  exactly the batch one process would see (see its docstring).
- `broadcast_from_chief`: copies the chief's variables to every worker after
  a restore, so workers that cannot read the checkpoint still agree.

A checkpoint holds each variable once (not one copy per replica or worker),
so it restores under any strategy and any number of workers.
"""

import json
import logging
import os
import shutil
import tempfile
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import tensorflow as tf

from ddsp_tf import validation

logger = logging.getLogger(__name__)

# 'multi_worker' is the short name of 'multi_worker_mirrored'.
STRATEGIES = ('default', 'mirrored', 'multi_worker', 'multi_worker_mirrored',
              'tpu')
TF_CONFIG_ENV = 'TF_CONFIG'
# Seconds a worker waits for the whole cluster to start, by default.
DEFAULT_CLUSTER_TIMEOUT_SECS = 300.0
_TASK_TYPES = ('chief', 'worker')
_EXAMPLE = ('{"cluster": {"worker": ["host0:2222", "host1:2222"]}, '
            '"task": {"type": "worker", "index": 0}}')


class ClusterError(RuntimeError):
  """The workers of a multi-worker run could not reach each other."""


# ----------------------------------------------------------------------------
# Cluster descriptions.
# ----------------------------------------------------------------------------
def _bad_config(source: str, value: Any, problem: str) -> ValueError:
  return ValueError(f'{source} {problem}; it must look like {_EXAMPLE}. Got '
                    f'{source}={value!r}.')


def parse_cluster_config(cluster_config: Union[str, Mapping[str, Any]],
                         source: str = 'cluster_config') -> Dict[str, Any]:
  """Checks a TF_CONFIG-style cluster description.

  Args:
    cluster_config: A dict or its JSON string, e.g. {"cluster": {"worker":
      ["host0:2222", "host1:2222"]}, "task": {"type": "worker", "index":
      0}}. The cluster may also have one "chief" task (the chief is then
      that task instead of worker 0) and an "evaluator" (not trained).
    source: Where the value came from, for messages ('cluster_config' or
      'TF_CONFIG').

  Returns:
    The description as a dict.

  Raises:
    ValueError: For bad JSON, a missing or malformed "cluster" or "task",
      a job other than chief, worker and evaluator, an address that is not
      'host:port', or a task that is not a chief or worker of the cluster;
      the message names the source and the value.
  """
  if isinstance(cluster_config, str):
    try:
      config = json.loads(cluster_config)
    except json.JSONDecodeError as error:
      raise _bad_config(source, cluster_config,
                        f'is not valid JSON ({error})') from None
  elif isinstance(cluster_config, Mapping):
    config = dict(cluster_config)
  else:
    raise _bad_config(source, cluster_config, 'is neither a dict nor JSON')
  if not isinstance(config, dict):
    raise _bad_config(source, cluster_config, 'is not a JSON object')
  cluster, task = config.get('cluster'), config.get('task')
  if not isinstance(cluster, dict) or not cluster:
    raise _bad_config(source, cluster_config,
                      'needs a non-empty "cluster" object')
  if not isinstance(task, dict) or 'type' not in task or 'index' not in task:
    raise _bad_config(source, cluster_config,
                      'needs a "task" object with "type" and "index"')
  for job, addresses in cluster.items():
    if job not in _TASK_TYPES + ('evaluator',):
      raise _bad_config(source, cluster_config,
                        f'has a "{job}" job; multi_worker trains with "chief" '
                        'and "worker" jobs (an "evaluator" is ignored)')
    if (not isinstance(addresses, list) or not addresses or not all(
        isinstance(a, str) and a.rpartition(':')[2].isdigit() and
        a.rpartition(':')[0] for a in addresses)):
      raise _bad_config(source, cluster_config,
                        f'"{job}" must be a non-empty list of "host:port" '
                        'strings')
  if len(cluster.get('chief', [])) > 1:
    raise _bad_config(source, cluster_config, 'has more than one chief')
  if not any(job in cluster for job in _TASK_TYPES):
    raise _bad_config(source, cluster_config, 'has no "chief" or "worker" job')
  task_type, index = task['type'], task['index']
  if isinstance(index, str) and index.isdigit():
    index = config['task']['index'] = int(index)
  if task_type not in _TASK_TYPES:
    raise _bad_config(source, cluster_config,
                      f'has task type {task_type!r}; this process must be a '
                      '"chief" or a "worker" to train')
  if (task_type not in cluster or isinstance(index, bool) or
      not isinstance(index, int) or
      not 0 <= index < len(cluster[task_type])):
    raise _bad_config(
        source, cluster_config,
        f'has task {task_type!r} index {index!r}, which is not in its cluster')
  return config


def cluster_config_from_env() -> Optional[Dict[str, Any]]:
  """The checked TF_CONFIG environment variable, or None when it is unset.

  Raises:
    ValueError: If TF_CONFIG is set but malformed (see
      parse_cluster_config).
  """
  value = os.environ.get(TF_CONFIG_ENV, '')
  if not value.strip():
    return None
  return parse_cluster_config(value, source=TF_CONFIG_ENV)


def _configure_cluster_timeout(config: Dict[str, Any],
                               timeout_secs: float) -> None:
  """Makes the start-up wait for missing workers end after timeout_secs.

  MultiWorkerMirroredStrategy starts TensorFlow's coordination service with
  a registration timeout of an hour unless one is configured first. The
  strategy keeps a configuration made before it (there is no public API for
  it, so a failure here only keeps TensorFlow's default).
  """
  cluster = config['cluster']
  # TensorFlow warns that the setting "may not be effective" once its
  # context exists; the strategy reads it later, so it is.
  quiet = _DropMessage('may not be effective')
  for name in ('absl', 'tensorflow'):
    logging.getLogger(name).addFilter(quiet)
  try:
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2  # pylint: disable=g-import-not-at-top
    from tensorflow.python.eager import context  # pylint: disable=g-import-not-at-top
    leader_job = 'chief' if 'chief' in cluster else 'worker'
    tf_context = context.context()
    tf_context.configure_coordination_service(
        service_type='standalone',
        service_leader=f'/job:{leader_job}/replica:0/task:0',
        cluster_register_timeout_in_ms=int(timeout_secs * 1000),
        coordinated_jobs=[
            coordination_config_pb2.CoordinatedJob(
                name=job, num_tasks=len(cluster[job]))
            for job in _TASK_TYPES if job in cluster])
    # Registration is a barrier under the timeout (else the leader waits
    # for the others without one).
    tf_context.coordination_service.cluster_register_with_barrier = True
  except (ImportError, AttributeError, TypeError, ValueError) as error:
    logger.warning('Cannot bound the wait for the other workers (%s); '
                   'TensorFlow waits up to an hour.', error)
  finally:
    for name in ('absl', 'tensorflow'):
      logging.getLogger(name).removeFilter(quiet)


class _DropMessage(logging.Filter):
  """Drops log records whose message contains a text."""

  def __init__(self, text: str):
    super().__init__()
    self._text = text

  def filter(self, record: logging.LogRecord) -> bool:
    return self._text not in record.getMessage()


def _first_line(text: str) -> str:
  """The first non-empty line of TensorFlow's (often very long) message."""
  return next((line for line in text.splitlines() if line.strip()), text)


def _multi_worker_strategy(config: Dict[str, Any], source: str,
                           timeout_secs: float) -> tf.distribute.Strategy:
  """MultiWorkerMirroredStrategy for a checked cluster description."""
  task = config['task']
  cluster = config['cluster']
  logger.info('Multi-worker training from %s: this is %s %d of %s.', source,
              task['type'], task['index'], cluster)
  _configure_cluster_timeout(config, timeout_secs)
  resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
      tf.train.ClusterSpec(cluster), task_type=task['type'],
      task_id=int(task['index']), rpc_layer=config.get('rpc_layer', 'grpc'),
      num_accelerators={'GPU': len(tf.config.list_physical_devices('GPU'))})
  try:
    return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
  except (tf.errors.OpError, RuntimeError) as error:
    own = cluster[task['type']][task['index']]
    others = [address for job in _TASK_TYPES
              for address in cluster.get(job, []) if address != own]
    raise ClusterError(
        f'{task["type"]} {task["index"]} ({own}) could not start or reach the '
        f'other workers {others} (waited up to about {timeout_secs:g} s; '
        f'cluster from {source}). '
        'Start every worker of the cluster with the same cluster and its own '
        'task index, check that their host:port addresses are reachable and '
        'free, or raise the timeout (--cluster_timeout_secs). TensorFlow '
        f'said: {_first_line(getattr(error, "message", str(error)))}'
    ) from None


def get_strategy(tpu: str = '',
                 cluster_config: Union[str, Mapping[str, Any]] = '',
                 strategy: str = '',
                 cluster_timeout_secs: float = DEFAULT_CLUSTER_TIMEOUT_SECS
                 ) -> tf.distribute.Strategy:
  """Creates the tf.distribute strategy to train with.

  With no arguments this is the default strategy (one device, no
  replication). An explicit `strategy` wins; otherwise a `tpu` address
  selects 'tpu' and a `cluster_config` selects 'multi_worker'.

  'multi_worker' (alias 'multi_worker_mirrored') reads the cluster from
  `cluster_config`, or else from the TF_CONFIG environment variable; every
  worker runs the same command with its own task index. The TF_CONFIG
  variable alone does not switch the strategy on.

  Args:
    tpu: Address of the TPU ('grpc://...' or a TPU name); '' with
      strategy='tpu' means the TPU attached to this machine.
    cluster_config: TF_CONFIG-style cluster description for
      MultiWorkerMirroredStrategy, as a dict or JSON string:
      {"cluster": {"worker": ["host0:port", ...]},
       "task": {"type": "worker", "index": 0}}.
    strategy: '' (infer from the other arguments), 'default', 'mirrored'
      (all local devices), 'multi_worker', 'multi_worker_mirrored' or 'tpu'.
    cluster_timeout_secs: multi_worker: seconds to wait for every worker
      of the cluster to start before failing.

  Returns:
    A tf.distribute.Strategy.

  Raises:
    ValueError: For an unknown strategy, a missing or malformed cluster
      description, or an inconsistent mix.
    ClusterError: If the workers did not all start and connect within
      cluster_timeout_secs.
  """
  if strategy:
    validation.check_choice('strategy', strategy, STRATEGIES)
  elif tpu:
    strategy = 'tpu'
  elif cluster_config:
    strategy = 'multi_worker'
  else:
    strategy = 'default'
  if strategy == 'multi_worker_mirrored':
    strategy = 'multi_worker'
  if tpu and strategy != 'tpu':
    raise ValueError(f'tpu={tpu!r} needs strategy "tpu", got '
                     f'strategy={strategy!r}.')
  if cluster_config and strategy != 'multi_worker':
    raise ValueError(f'cluster_config needs strategy "multi_worker", got '
                     f'strategy={strategy!r}.')
  validation.check_number('cluster_timeout_secs', cluster_timeout_secs,
                          minimum=0.0, inclusive=False)

  if strategy == 'multi_worker':
    if cluster_config:
      config = parse_cluster_config(cluster_config)
      source = 'cluster_config'
    else:
      config = cluster_config_from_env()
      source = TF_CONFIG_ENV
      if config is None:
        raise ValueError(
            f'strategy="multi_worker" needs a cluster description: set the '
            f'{TF_CONFIG_ENV} environment variable or cluster_config (e.g. '
            f"{_EXAMPLE}), got cluster_config='' and no {TF_CONFIG_ENV}.")
    return _multi_worker_strategy(config, source, cluster_timeout_secs)
  if os.environ.get(TF_CONFIG_ENV, '').strip():
    logger.warning('%s is set but strategy is %r; it is ignored. Use '
                   '--strategy=multi_worker to train across its workers.',
                   TF_CONFIG_ENV, strategy)
  if strategy == 'default':
    return tf.distribute.get_strategy()
  if strategy == 'mirrored':
    return tf.distribute.MirroredStrategy()
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or None)
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


# ----------------------------------------------------------------------------
# Roles of the workers.
# ----------------------------------------------------------------------------
def num_workers(strategy: tf.distribute.Strategy) -> int:
  """Processes taking part in the training steps: 1 unless multi-worker."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if (not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or
      resolver is None):
    return 1
  jobs = resolver.cluster_spec().as_dict()
  return max(sum(len(jobs.get(job, [])) for job in _TASK_TYPES), 1)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Whether this process writes checkpoints, summaries and configs."""
  return bool(strategy.extended.should_checkpoint)


def worker_save_dir(save_dir: str, strategy: tf.distribute.Strategy) -> str:
  """Where this process saves checkpoints: save_dir on the chief.

  A non-chief worker gets a new temporary folder (its saves must happen,
  since all workers take part in them, but are thrown away).

  Args:
    save_dir: The run's checkpoint directory.
    strategy: The training strategy.

  Returns:
    save_dir, or a temporary folder to delete with remove_worker_save_dir.
  """
  if is_chief(strategy):
    return save_dir
  resolver = strategy.cluster_resolver
  return tempfile.mkdtemp(
      prefix=f'ddsp_tf_{resolver.task_type}{resolver.task_id}_')


def discard_worker_checkpoint(directory: str, save_dir: str) -> None:
  """Empties a non-chief worker's checkpoint folder (no-op for save_dir)."""
  if directory == save_dir:
    return
  for name in os.listdir(directory):
    path = os.path.join(directory, name)
    if os.path.isdir(path):
      shutil.rmtree(path, ignore_errors=True)
    else:
      os.remove(path)


def remove_worker_save_dir(directory: str, save_dir: str) -> None:
  """Deletes a non-chief worker's temporary folder (no-op for save_dir)."""
  if directory != save_dir:
    shutil.rmtree(directory, ignore_errors=True)


# ----------------------------------------------------------------------------
# Data and variables.
# ----------------------------------------------------------------------------
def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
  """The dataset with tf.data's DATA auto-shard policy.

  Under MultiWorkerMirroredStrategy each global batch of the dataset is
  split into one slice per replica, and worker k keeps its replicas'
  slices. So every worker reads the same stream of global batches and the
  workers together train on exactly the batch one process would: the
  first step's loss is the single-process loss. (The FILE policy, tf.data's
  first choice for file-based datasets, gives each worker other files, so
  the global batch differs.) The workers' streams agree only when their
  shuffles do: give every worker the same seed (ddsp_tf_run --seed).

  Args:
    dataset: A batched dataset of the global batch size.

  Returns:
    The dataset with the sharding option set (a no-op on one worker).
  """
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  return dataset.with_options(options)


def broadcast_from_chief(strategy: tf.distribute.Strategy,
                         variables: Sequence[tf.Variable]) -> None:
  """Sets every worker's copy of the variables to the chief's values.

  Training steps keep the workers' variables equal, but a restore reads
  files: a worker that cannot read the checkpoint (no shared file system)
  would start elsewhere. One all-reduce in which only the first replica
  contributes fixes that. A no-op on one worker.

  Args:
    strategy: The training strategy.
    variables: Variables created in its scope (Keras variables accepted).
  """
  if num_workers(strategy) <= 1 or not variables:
    return
  variables = [getattr(v, 'value', v) if not isinstance(v, tf.Variable)
               else v for v in variables]

  by_dtype = {}
  for variable in variables:
    by_dtype.setdefault(variable.dtype, []).append(variable)
  groups = list(by_dtype.values())

  def replica_fn():
    context = tf.distribute.get_replica_context()
    first = tf.equal(context.replica_id_in_sync_group, 0)
    # all_reduce packs a list into one tensor, so one call per dtype.
    return [context.all_reduce(
        tf.distribute.ReduceOp.SUM,
        [tf.where(first, v.read_value(), tf.zeros_like(v)) for v in group])
            for group in groups]

  results = strategy.run(tf.function(replica_fn))
  local = strategy.experimental_local_results(results)[0]
  for group, values in zip(groups, local):
    for variable, value in zip(group, values):
      variable.assign(value)
