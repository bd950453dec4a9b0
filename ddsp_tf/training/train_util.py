"""Training loop and its bookkeeping: strategies, checkpoints, gin configs.

`train` is the loop that `ddsp_tf_run --mode=train` runs: it builds the
model on the first batch, resumes from the latest checkpoint in
`restore_dir`, writes the operative gin config, then alternates training
steps with TensorBoard summaries, progress lines and checkpoints.

Differences from magenta/ddsp on purpose:
- `get_strategy()` with no arguments returns the default strategy
  (`tf.distribute.get_strategy()`), not a `MirroredStrategy`; `strategy=`
  chooses 'mirrored', 'multi_worker' or 'tpu' explicitly (the code is in
  ddsp_tf.training.distribute).
- Under a multi-worker strategy only the chief writes checkpoints,
  summaries and configs, and the workers together train on the batch one
  process would (see `train`).
- Files (operative configs) are written to a temporary name and renamed.
- `get_latest_checkpoint` skips checkpoints that cannot be read (a save
  that was cut off) instead of returning them.
- `train` checks that `save_dir` is writable before it trains, prints
  progress lines with steps/s and ETA, writes the learning rate and audio,
  spectrogram and f0 summaries, and has no hypertune reporting.
"""

import logging
import os
import re
import tempfile
import time
from typing import Dict, Mapping, Optional

import gin
import numpy as np
import tensorflow as tf

from ddsp_tf import files
from ddsp_tf import validation
from ddsp_tf.training import distribute
from ddsp_tf.training import summaries

logger = logging.getLogger(__name__)

# The strategies live in ddsp_tf.training.distribute; the original has
# get_strategy here.
STRATEGIES = distribute.STRATEGIES
get_strategy = distribute.get_strategy
OPERATIVE_CONFIG_PREFIX = 'operative_config-'
CHECKPOINT_PREFIX = 'ckpt-'
# Seconds between progress lines.
_PROGRESS_INTERVAL_SECS = 10.0


# ----------------------------------------------------------------------------
# Files.
# ----------------------------------------------------------------------------
# The original's name for the path helper (ddsp_tf.files has the code).
expand_path = files.expand_path


def write_text_atomically(path: str, text: str) -> None:
  """Writes a text file so that readers see either the old or the new file.

  Local files are written to a temporary file in the same directory and
  renamed over `path`; remote files (gs://...) become visible only once
  their upload completes.

  Args:
    path: Destination file.
    text: Its new content.
  """
  if '://' in path:
    with tf.io.gfile.GFile(path, 'w') as remote_file:
      remote_file.write(text)
    return
  files.write_text_atomically(path, text)


def _number_after(prefix: str, name: str, suffix: str = '') -> Optional[int]:
  """N from '<prefix>N<suffix>', or None when the name has another form."""
  match = re.fullmatch(re.escape(prefix) + r'(\d+)' + re.escape(suffix), name)
  return int(match.group(1)) if match else None


def get_latest_file(dir_path: str, prefix: str = OPERATIVE_CONFIG_PREFIX,
                    suffix: str = '.gin') -> str:
  """The file `<prefix>N<suffix>` in a directory with the largest N.

  Args:
    dir_path: Directory to search.
    prefix: File name before the number.
    suffix: File name after the number.

  Returns:
    The path of the file with the largest N.

  Raises:
    FileNotFoundError: If the directory does not exist or holds no such file.
  """
  dir_path = expand_path(dir_path)
  if not tf.io.gfile.isdir(dir_path):
    raise FileNotFoundError(f'No directory {dir_path!r}.')
  numbered = {}
  for name in tf.io.gfile.listdir(dir_path):
    number = _number_after(prefix, name, suffix)
    if number is not None:
      numbered[number] = name
  if not numbered:
    raise FileNotFoundError(
        f'No file named {prefix}<N>{suffix} in {dir_path!r}.')
  return os.path.join(dir_path, numbered[max(numbered)])


def _is_readable_checkpoint(prefix: str) -> bool:
  """Whether a checkpoint prefix has complete, readable files."""
  try:
    tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, ValueError):
    return False
  return True


def get_latest_checkpoint(checkpoint_path: str) -> str:
  """Resolves a checkpoint prefix from a prefix or a training directory.

  Accepts a checkpoint prefix ('.../ckpt-300'), or a directory. In a
  directory the `checkpoint` state file names the latest checkpoint; TF
  rewrites that file (atomically) only after the checkpoint's own files are
  complete, so it never names a half-written checkpoint. Without a state
  file the readable `ckpt-N` with the largest N is used, skipping any whose
  files are incomplete.

  Args:
    checkpoint_path: Checkpoint prefix or directory.

  Returns:
    The checkpoint prefix (without .index / .data suffixes).

  Raises:
    FileNotFoundError: If no readable checkpoint is found.
  """
  checkpoint_path = expand_path(checkpoint_path)
  if tf.io.gfile.exists(checkpoint_path + '.index'):
    return checkpoint_path
  if not tf.io.gfile.isdir(checkpoint_path):
    raise FileNotFoundError(
        f'No checkpoint at {checkpoint_path!r}: it is neither a directory of '
        f'checkpoints nor a checkpoint prefix (no {checkpoint_path}.index).')
  latest = tf.train.latest_checkpoint(checkpoint_path)
  if latest:
    return latest
  numbers = sorted(
      (number for number in (
          _number_after(CHECKPOINT_PREFIX, name, '.index')
          for name in tf.io.gfile.listdir(checkpoint_path))
       if number is not None), reverse=True)
  for number in numbers:
    prefix = os.path.join(checkpoint_path, f'{CHECKPOINT_PREFIX}{number}')
    if _is_readable_checkpoint(prefix):
      return prefix
  raise FileNotFoundError(
      f'No readable checkpoint in the directory {checkpoint_path!r} (expected '
      'complete files such as ckpt-<step>.index and ckpt-<step>.data-*).')


def get_latest_operative_config(restore_dir: str) -> str:
  """The latest operative_config-N.gin in restore_dir or its parent.

  The parent is searched too so that a checkpoint directory nested in a run
  directory finds the run's config.

  Args:
    restore_dir: Training directory (or a directory inside it).

  Returns:
    Path of the operative config.

  Raises:
    FileNotFoundError: If neither directory holds one.
  """
  restore_dir = expand_path(restore_dir)
  try:
    return get_latest_file(restore_dir)
  except FileNotFoundError:
    return get_latest_file(os.path.dirname(restore_dir.rstrip('/')))


def _config_as_markdown(config_str: str) -> str:
  """Gin config text as markdown: comment lines plain, bindings as code."""
  lines = []
  for line in config_str.splitlines():
    if line.startswith('#'):
      lines.append(line.lstrip('# ') or ' ')
    else:
      lines.append('    ' + line)
  return '\n'.join(lines)


def write_gin_config(summary_writer: Optional[tf.summary.SummaryWriter],
                     save_dir: str, step: int) -> str:
  """Saves the operative gin config to a file and to a text summary.

  Args:
    summary_writer: Writer for the TensorBoard text summary
      'gin/operative_config-<step>', or None to write only the file.
    save_dir: Directory of operative_config-<step>.gin (created if needed).
    step: Training step of the config.

  Returns:
    The path of the written config.
  """
  step = validation.check_int('step', step, minimum=0)
  save_dir = expand_path(save_dir)
  tf.io.gfile.makedirs(save_dir)
  config_str = gin.operative_config_str()
  path = os.path.join(save_dir, f'{OPERATIVE_CONFIG_PREFIX}{step}.gin')
  write_text_atomically(path, config_str)
  if summary_writer is not None:
    with summary_writer.as_default():
      tf.summary.text(f'gin/{OPERATIVE_CONFIG_PREFIX}{step}',
                      _config_as_markdown(config_str), step=step)
  return path


def check_writable_dir(name: str, path: str) -> str:
  """Creates a directory if needed and checks that files can be made in it.

  Args:
    name: The argument's name, for the message.
    path: The directory.

  Returns:
    The expanded path.

  Raises:
    PermissionError: If the directory cannot be created or written.
  """
  path = expand_path(path)
  if '://' in path:
    return path
  try:
    os.makedirs(path, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
      pass
  except OSError as error:
    raise PermissionError(
        f'{name}={path!r} is not a writable directory ({error}).') from None
  return path


# ----------------------------------------------------------------------------
# Training loop.
# ----------------------------------------------------------------------------
class _Progress:
  """Progress lines: step, loss, steps per second and ETA, every few seconds.

  The rate is measured from the first reported step on, so the time spent
  tracing and compiling the first step does not count.
  """

  def __init__(self, num_steps: int):
    self._num_steps = num_steps
    self._first = None  # (step, time) of the first update.
    self._last_log = -np.inf

  def update(self, step: int, total_loss: float, force: bool = False) -> None:
    now = time.time()
    if self._first is None:
      self._first = (step, now)
    elif not force and now - self._last_log < _PROGRESS_INTERVAL_SECS:
      return
    self._last_log = now
    first_step, first_time = self._first
    rate = (step - first_step) / max(now - first_time, 1e-9)
    eta = (self._num_steps - step) / rate if rate > 0 else float('inf')
    logger.info('step %d/%d  loss %.4f  %.2f steps/s  ETA %s', step,
                self._num_steps, total_loss, rate, _format_secs(eta))


def _format_secs(secs: float) -> str:
  """'1h02m03s' style duration; '?' when unknown."""
  if not np.isfinite(secs):
    return '?'
  secs = int(round(secs))
  hours, rest = divmod(secs, 3600)
  minutes, secs = divmod(rest, 60)
  return f'{hours}h{minutes:02d}m{secs:02d}s' if hours else (
      f'{minutes}m{secs:02d}s')


def _write_batch_summaries(trainer, batch: Mapping[str, tf.Tensor],
                           sample_rate: int, step: int) -> None:
  """Audio, spectrogram and f0 summaries of the model on a few examples.

  The f0 plot shows the dataset's pitch (in MIDI) of the same examples.
  """
  batch = {key: value[:summaries.MAX_OUTPUTS] for key, value in batch.items()}
  outputs = trainer.model(batch, training=False)
  audio_gen = trainer.model.get_audio_from_outputs(outputs)
  summaries.audio_summary(audio_gen, step, sample_rate, name='audio_generated')
  if 'audio' in batch:
    summaries.audio_summary(batch['audio'], step, sample_rate,
                            name='audio_original')
    summaries.spectrogram_summary(batch['audio'], audio_gen, step)
  if 'f0_hz' in batch:
    summaries.f0_summary(batch['f0_hz'], None, step)


def read_first_batch(data_provider, dataset: tf.data.Dataset
                     ) -> Dict[str, tf.Tensor]:
  """The first batch of a dataset, with a clear error for unreadable data.

  Args:
    data_provider: The provider the dataset came from (named in errors).
    dataset: Its batched dataset.

  Returns:
    The first batch.

  Raises:
    ValueError: If the records do not parse, e.g. because the provider's
      example length, sample rate or frame rate differ from the data's.
  """
  try:
    return next(iter(dataset))
  except tf.errors.InvalidArgumentError as error:
    raise ValueError(
        f'Could not read a batch from {type(data_provider).__name__}; check '
        'that its example_secs, sample_rate, frame_rate and centered match '
        f'how the data were prepared. TensorFlow said: {error.message}'
    ) from None


def _check_train_args(batch_size, num_steps, steps_per_summary, steps_per_save,
                      early_stop_loss_value) -> None:
  validation.check_int('batch_size', batch_size)
  validation.check_int('num_steps', num_steps, minimum=0)
  validation.check_int('steps_per_summary', steps_per_summary)
  validation.check_int('steps_per_save', steps_per_save)
  if early_stop_loss_value is not None and not np.isfinite(
      np.asarray(early_stop_loss_value, dtype=float)):
    raise ValueError('early_stop_loss_value must be a finite number or None, '
                     f'got early_stop_loss_value={early_stop_loss_value!r}.')


def _summary_writer(save_dir: str, chief: bool
                    ) -> tf.summary.SummaryWriter:
  """The chief's TensorBoard writer; other workers get one that drops all."""
  if not chief:
    return tf.summary.create_noop_writer()
  return tf.summary.create_file_writer(
      os.path.join(save_dir, 'summaries', 'train'))


def _restore(trainer, restore_dir: str) -> None:
  """Restores the latest checkpoint in restore_dir, then agrees on the chief's.

  On several workers each one reads the checkpoint, then the chief's values
  are copied to all, so a worker that cannot read restore_dir still starts
  where the chief does.
  """
  try:
    trainer.restore(get_latest_checkpoint(restore_dir))
  except FileNotFoundError:
    logger.info('No checkpoint in %s; training from scratch.', restore_dir)
  if distribute.num_workers(trainer.strategy) > 1:
    checkpoint = trainer.get_checkpoint()
    variables = (list(trainer.model.variables) +
                 list(trainer.optimizer.variables) +
                 [checkpoint.skipped_steps])
    distribute.broadcast_from_chief(trainer.strategy, variables)


@gin.configurable
def train(data_provider, trainer, batch_size: int = 32,
          num_steps: int = 1000000, steps_per_summary: int = 300,
          steps_per_save: int = 300, save_dir: str = '/tmp/ddsp',
          restore_dir: str = '/tmp/ddsp',
          early_stop_loss_value: Optional[float] = None) -> None:
  """Trains a model until `num_steps`, resuming from `restore_dir`.

  The first batch builds the model and the optimizer, then the latest
  checkpoint in restore_dir (if any) restores both, so a restarted run
  continues at the checkpoint's step. Every `steps_per_summary` steps the
  mean of each loss ('losses/<name>'), the learning rate and steps_per_sec
  go to TensorBoard (save_dir/summaries/train), with audio, spectrogram and
  f0 summaries of the current batch; every `steps_per_save` steps, and once
  at the end, a checkpoint ckpt-<step> is saved in save_dir. A progress line
  (step, loss, steps/s, ETA) is logged every few seconds.

  Under a multi-worker strategy every worker runs this function with the
  same arguments. Each worker reads the same stream of global batches and
  trains on its replicas' slices of it (distribute.shard_by_data), so the
  workers together train on the batch one process would. Only the chief
  writes checkpoints, summaries and the operative config; the other workers
  save into temporary folders that they delete. After the restore every
  worker takes the chief's weights.

  Args:
    data_provider: A DataProvider (with get_batch and sample_rate).
    trainer: A trainers.Trainer holding the model.
    batch_size: Global batch size (split across replicas and workers).
    num_steps: Train until the trainer's step reaches this.
    steps_per_summary: Steps between TensorBoard summaries.
    steps_per_save: Steps between checkpoints.
    save_dir: Directory for checkpoints, summaries and operative configs.
    restore_dir: Directory to resume from ('' means save_dir).
    early_stop_loss_value: Stop once total_loss is at or below this.

  Raises:
    ValueError: For invalid arguments.
    PermissionError: If save_dir cannot be written (on the chief).
    FloatingPointError: If a loss is NaN or Inf and the trainer's
      nan_policy is 'stop' (or too many consecutive steps were skipped).
  """
  _check_train_args(batch_size, num_steps, steps_per_summary, steps_per_save,
                    early_stop_loss_value)
  chief = distribute.is_chief(trainer.strategy)
  save_dir = (check_writable_dir('save_dir', save_dir) if chief
              else expand_path(save_dir))
  restore_dir = expand_path(restore_dir) if restore_dir else save_dir

  dataset = distribute.shard_by_data(
      data_provider.get_batch(batch_size, shuffle=True, repeats=-1))
  trainer.build(read_first_batch(data_provider, dataset))
  _restore(trainer, restore_dir)

  checkpoint_dir = distribute.worker_save_dir(save_dir, trainer.strategy)
  try:
    _train_loop(data_provider, trainer, dataset, num_steps, steps_per_summary,
                steps_per_save, save_dir, checkpoint_dir,
                early_stop_loss_value, chief)
  finally:
    distribute.remove_worker_save_dir(checkpoint_dir, save_dir)


def _train_loop(data_provider, trainer, dataset: tf.data.Dataset,
                num_steps: int, steps_per_summary: int, steps_per_save: int,
                save_dir: str, checkpoint_dir: str,
                early_stop_loss_value: Optional[float], chief: bool) -> None:
  """`train` after the restore: steps, summaries, progress, checkpoints."""
  def save():
    trainer.save(checkpoint_dir)
    distribute.discard_worker_checkpoint(checkpoint_dir, save_dir)

  summary_writer = _summary_writer(save_dir, chief)
  step = int(trainer.step.numpy())
  if chief:
    write_gin_config(summary_writer, save_dir, step)
  iterator = iter(trainer.distribute_dataset(dataset))

  progress = _Progress(num_steps)
  loss_sums, loss_count = {}, 0
  last_summary_time, last_summary_step = time.time(), step
  total_loss = float('nan')
  with summary_writer.as_default():
    while step < num_steps:
      batch = next(iterator)
      losses = {name: float(value)
                for name, value in trainer.train_step(batch).items()}
      if int(trainer.step.numpy()) == step:  # A skipped non-finite step.
        continue
      step, total_loss = int(trainer.step.numpy()), losses['total_loss']
      for name, value in losses.items():
        loss_sums[name] = loss_sums.get(name, 0.0) + value
      loss_count += 1
      progress.update(step, total_loss)

      if step % steps_per_summary == 0:
        now = time.time()
        if chief:
          tf.summary.scalar('steps_per_sec', (step - last_summary_step) /
                            max(now - last_summary_time, 1e-9), step=step)
          tf.summary.scalar('learning_rate', trainer.learning_rate, step=step)
          for name, total in loss_sums.items():
            tf.summary.scalar(f'losses/{name}', total / loss_count, step=step)
          _write_batch_summaries(trainer, trainer.local_batch(batch),
                                 data_provider.sample_rate, step)
          summary_writer.flush()
        loss_sums, loss_count = {}, 0
        last_summary_time, last_summary_step = now, step

      if (early_stop_loss_value is not None and
          total_loss <= early_stop_loss_value):
        logger.info('Stopping early at step %d: total_loss %.4f <= %s.', step,
                    total_loss, early_stop_loss_value)
        break
      if step % steps_per_save == 0:
        save()

  progress.update(step, total_loss, force=True)
  save()
  summary_writer.flush()
  logger.info('Training finished at step %d.', step)
