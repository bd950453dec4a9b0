"""The Beam runner of a prepare_tfrecord run, and a Dask cluster for it.

Runners are chosen with Beam's own options (`--runner=...` and the runner's
options). This module only fills the gaps:
  * short names Beam does not resolve (`--runner=DaskRunner`) become the
    runner's full name;
  * the DirectRunner (the default) runs on Beam's FnApiRunner, as Beam's
    DirectRunner does for batch pipelines, without first trying the
    PrismRunner, which downloads a binary from GitHub at run time (and so
    fails, or hangs, offline); its --direct_num_workers and
    --direct_running_mode work as usual;
  * the DaskRunner without `--dask_client_address` (or
    `--dask_scheduler_file`) gets a distributed.LocalCluster of
    `dask_workers` worker processes (one thread each) for the run, shut down
    after it;
  * a `--dask_client_address` is checked before the pipeline is built, so an
    unreachable scheduler fails in seconds, naming the address;
  * the DaskRunner partitions its input by `--dask_npartitions`, default one
    partition per input element (at most 1024), so the work spreads over
    workers (Dask's own default puts up to 128 elements in one partition,
    and Beam's Reshuffle does not repartition on Dask).
"""

import contextlib
import importlib
import logging
import os
import socket
from typing import Iterator, List, Optional, Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability import portable_runner
from apache_beam.runners.portability.fn_api_runner import fn_runner

from data_prep import flags

_LOGGER = logging.getLogger(__name__)
DASK_RUNNER = 'apache_beam.runners.dask.dask_runner.DaskRunner'
_FULL_NAMES = {'daskrunner': DASK_RUNNER}
DASK_EXTRA = 'pip install "ddsp_tf[dask]"'
DEFAULT_CONNECT_SECS = 10
MAX_DASK_PARTITIONS = 1024


class RunnerError(RuntimeError):
  """The runner cannot start, e.g. its cluster cannot be reached."""


def _values(options: Sequence[str], name: str) -> List[str]:
  """The values of --name=VALUE and --name VALUE in order."""
  values = []
  for index, option in enumerate(options):
    if option.startswith(f'--{name}='):
      values.append(option.split('=', 1)[1])
    elif option == f'--{name}' and index + 1 < len(options):
      values.append(options[index + 1])
  return values


def _has(options: Sequence[str], name: str) -> bool:
  return any(option == f'--{name}' or option.startswith(f'--{name}=')
             for option in options)


def with_runner_names(options: Sequence[str]) -> List[str]:
  """The options with short runner names Beam refuses mapped to full ones.

  Args:
    options: Beam command-line options.

  Returns:
    A new list; '--runner=DirectRunner' is added when no runner is named.
  """
  options = list(options)
  if not _has(options, 'runner'):
    return options + ['--runner=DirectRunner']
  mapped = []
  for index, option in enumerate(options):
    previous = options[index - 1] if index else ''
    if option.startswith('--runner='):
      name = option.split('=', 1)[1]
      option = '--runner=' + _FULL_NAMES.get(name.lower(), name)
    elif previous == '--runner':
      option = _FULL_NAMES.get(option.lower(), option)
    mapped.append(option)
  return mapped


def runner_name(options: Sequence[str]) -> str:
  """The runner the options choose (the last --runner; DirectRunner if none)."""
  names = _values(with_runner_names(options), 'runner')
  return names[-1]


def is_dask(options: Sequence[str]) -> bool:
  """Whether the options choose the DaskRunner (short or full name)."""
  return runner_name(options) == DASK_RUNNER


_DIRECT_NAMES = ('DirectRunner', 'SwitchingDirectRunner',
                 'apache_beam.runners.direct.direct_runner.DirectRunner',
                 'apache_beam.runners.direct.direct_runner.'
                 'SwitchingDirectRunner')


def make_pipeline(options: Sequence[str]) -> beam.Pipeline:
  """A Beam pipeline for the options (from session()).

  Args:
    options: Beam command-line options with a --runner.

  Returns:
    The pipeline; for the DirectRunner, one that runs on the FnApiRunner.
  """
  pipeline_options = PipelineOptions(list(options))
  if runner_name(options) not in _DIRECT_NAMES:
    return beam.Pipeline(options=pipeline_options)
  encoded = portable_runner.JobServiceHandle.encode_pipeline_options(
      pipeline_options.get_all_options())
  runner = fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(
      beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)))
  return beam.Pipeline(runner=runner, options=pipeline_options)


def with_dask_partitions(options: Sequence[str], n_elements: int
                         ) -> List[str]:
  """Adds --dask_npartitions=n_elements (at most 1024) for the DaskRunner.

  Args:
    options: Beam options from session().
    n_elements: Elements of the pipeline's input.

  Returns:
    The options, unchanged unless they choose the DaskRunner without
    --dask_npartitions or --dask_partition_size.
  """
  options = list(options)
  if is_dask(options) and not (_has(options, 'dask_npartitions') or
                               _has(options, 'dask_partition_size')):
    options.append('--dask_npartitions='
                   f'{max(1, min(n_elements, MAX_DASK_PARTITIONS))}')
  return options


def import_distributed():
  """dask.distributed, or an ImportError that says how to install it."""
  try:
    return importlib.import_module('distributed')
  except ImportError as error:
    raise ImportError(
        f'The DaskRunner needs dask and distributed ({error}); install them '
        f'with: {DASK_EXTRA}') from error


def check_reachable(address: str, timeout_secs: float) -> None:
  """Raises RunnerError unless a TCP scheduler address accepts connections.

  Addresses of other protocols (tls://, ucx://, ...) are left to Dask.

  Args:
    address: E.g. 'tcp://10.0.0.5:8786' or '10.0.0.5:8786'.
    timeout_secs: How long to try.
  """
  protocol, _, location = address.rpartition('://')
  if protocol not in ('', 'tcp'):
    return
  host, _, port = location.rpartition(':')
  if not host or not port.isdigit():
    raise RunnerError(
        f'--dask_client_address must look like tcp://HOST:PORT, got '
        f'{address!r}.')
  try:
    with socket.create_connection((host.strip('[]'), int(port)),
                                  timeout=timeout_secs):
      pass
  except OSError as error:
    raise RunnerError(
        f'Cannot reach the Dask scheduler at {address} (waited up to '
        f'{timeout_secs:g} s): {error}. Start it (`dask scheduler`) or fix '
        '--dask_client_address; leave it out to run a local cluster.'
    ) from error


def _quiet_dask_logs() -> None:
  """Keeps distributed's start-up and shut-down chatter off the console."""
  if logging.getLogger('data_prep').getEffectiveLevel() > logging.DEBUG:
    logging.getLogger('distributed').setLevel(logging.WARNING)


def _quiet_workers(distributed, cluster) -> None:
  """Drops the known-harmless warnings in the local cluster's workers too."""

  class QuietWorkers(distributed.WorkerPlugin):
    name = 'ddsp_tf_quiet_workers'

    def setup(self, worker) -> None:
      del worker  # Unused.
      flags.drop_harmless_warnings()

  with distributed.Client(cluster) as client:
    client.register_plugin(QuietWorkers())


# When this module shuts down its own local cluster, a worker process that
# TensorFlow's threads keep alive for a few seconds is killed, as intended.
_SHUTDOWN_CHATTER = (('distributed.nanny', 'Worker process still alive'),)


@contextlib.contextmanager
def session(options: Sequence[str],
            dask_workers: Optional[int] = None) -> Iterator[List[str]]:
  """Prepares the runner of one run; yields the Beam options to run with.

  Args:
    options: Beam command-line options.
    dask_workers: Worker processes of the local Dask cluster (default: the
      CPU count); only used by the DaskRunner without a cluster address.

  Yields:
    The options, with full runner names and, for Dask, the address of the
    cluster to use.

  Raises:
    ImportError: For the DaskRunner without dask/distributed installed.
    RunnerError: For an unreachable Dask scheduler.
    ValueError: For an invalid dask_workers.
  """
  options = with_runner_names(options)
  if dask_workers is not None and (
      isinstance(dask_workers, bool) or not isinstance(dask_workers, int) or
      dask_workers < 1):
    raise ValueError('dask_workers must be an integer >= 1, got '
                     f'dask_workers={dask_workers!r}.')
  if not is_dask(options):
    yield options
    return
  distributed = import_distributed()
  _quiet_dask_logs()
  timeouts = _values(options, 'dask_connection_timeout')
  timeout = float(timeouts[-1]) if timeouts else DEFAULT_CONNECT_SECS
  if not timeouts:
    options.append(f'--dask_connection_timeout={DEFAULT_CONNECT_SECS}')
  addresses = _values(options, 'dask_client_address')
  if addresses:
    check_reachable(addresses[-1], timeout)
    yield options
    return
  if _has(options, 'dask_scheduler_file'):
    yield options
    return
  workers = dask_workers or os.cpu_count() or 1
  cluster = distributed.LocalCluster(
      n_workers=workers, threads_per_worker=1, processes=True,
      dashboard_address=':0', silence_logs=logging.WARNING)
  shutdown_filter = flags.HarmlessFilter(_SHUTDOWN_CHATTER)
  try:
    if logging.getLogger('data_prep').getEffectiveLevel() > logging.DEBUG:
      _quiet_workers(distributed, cluster)
    _LOGGER.info('Started a local Dask cluster of %d worker process(es) at '
                 '%s (dashboard %s).', workers, cluster.scheduler_address,
                 cluster.dashboard_link)
    yield options + [f'--dask_client_address={cluster.scheduler_address}']
  finally:
    nanny_logger = logging.getLogger('distributed.nanny')
    nanny_logger.addFilter(shutdown_filter)
    try:
      cluster.close()
    finally:
      nanny_logger.removeFilter(shutdown_filter)
