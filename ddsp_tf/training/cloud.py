"""Google Cloud helpers, at magenta/ddsp's path `ddsp.training.cloud`.

`make_file_paths_local` copies gs:// files (gin configs, say) into a local
folder and returns their local names; local paths pass through.
`download_from_gstorage` does the copy with `tf.io.gfile`, so it needs
network access to Cloud Storage and credentials, and says so when it fails.
`report_metric_to_hypertune` reports a metric to AI Platform's
hyperparameter tuning through the `cloudml-hypertune` package
(`pip install "ddsp_tf[cloud]"`).

Unlike the original, `download_from_gstorage` does not mangle bucket names
that start or end with the letters g and s (the original stripped those
characters from the path), and also copies from any other filesystem
`tf.io.gfile` reads, local paths included.
"""

import logging
import os
from typing import List, Sequence, Union

import tensorflow as tf

logger = logging.getLogger(__name__)

_GS_PREFIX = 'gs://'


def download_from_gstorage(gstorage_path: str, local_path: str) -> None:
  """Copies one file from Cloud Storage (or any tf.io.gfile path) locally.

  Args:
    gstorage_path: The file, e.g. 'gs://bucket/dir/file.gin'.
    local_path: Where to write it; an existing file is replaced.

  Raises:
    ValueError: If gstorage_path names no file (e.g. 'gs://bucket/').
    OSError: If the copy fails; the message names both paths and, for
      gs:// paths, what Cloud Storage access needs.
  """
  if not isinstance(gstorage_path, str) or not gstorage_path.strip('/'):
    raise ValueError('gstorage_path must name a file such as '
                     f"'gs://bucket/dir/file.gin', got {gstorage_path!r}.")
  if gstorage_path.endswith('/'):
    raise ValueError(f'gstorage_path must name a file, not a folder, got '
                     f'{gstorage_path!r}.')
  try:
    tf.io.gfile.copy(gstorage_path, local_path, overwrite=True)
  except (tf.errors.OpError, OSError) as error:
    hint = (' Reading gs:// paths needs network access to Google Cloud '
            'Storage and credentials (gcloud auth application-default '
            'login).' if gstorage_path.startswith(_GS_PREFIX) else '')
    raise OSError(f'Cannot copy {gstorage_path} to {local_path}: '
                  f'{error}.{hint}') from None
  logger.info('Downloaded %s to %s.', gstorage_path, local_path)


def make_file_paths_local(paths: Union[str, Sequence[str]],
                          local_directory: str) -> Union[str, List[str]]:
  """Downloads the gs:// paths among `paths` into local_directory.

  Args:
    paths: One path or a list of paths.
    local_directory: The folder downloads go to (e.g. a gin search path).

  Returns:
    For a gs:// path, the downloaded file's name (its basename, to be found
    in local_directory); any other path unchanged. One path gives a str, a
    list gives a list in the same order.
  """
  if isinstance(paths, str):
    return _local_path(paths, local_directory)
  return [_local_path(path, local_directory) for path in paths]


def _local_path(path: str, local_directory: str) -> str:
  if not path.startswith(_GS_PREFIX):
    return path
  name = os.path.basename(path)
  download_from_gstorage(path, os.path.join(local_directory, name))
  return name


def report_metric_to_hypertune(metric_value: float, step: int,
                               tag: str = 'Loss') -> None:
  """Reports one metric value to AI Platform hyperparameter tuning.

  Args:
    metric_value: The value (e.g. the total loss).
    step: The training step it belongs to.
    tag: The metric's name, as in the tuning job's config.

  Raises:
    ImportError: If the cloudml-hypertune package is not installed.
  """
  try:
    import hypertune  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ImportError('report_metric_to_hypertune needs the cloudml-hypertune '
                      'package: pip install "ddsp_tf[cloud]".') from None
  hypertune.HyperTune().report_hyperparameter_tuning_metric(
      hyperparameter_metric_tag=tag, metric_value=float(metric_value),
      global_step=int(step))

