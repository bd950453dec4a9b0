"""Evaluation and sampling of training checkpoints.

`evaluate` and `sample` (what `ddsp_tf_run --mode=eval|sample` run) wait
for checkpoints in `restore_dir`, restore the model from each, run it on
unshuffled batches, and hand every batch to the evaluators. Summaries go
to `save_dir/summaries/eval`.
"""

import logging
import os
import re
import time
from typing import Dict, Iterator, Optional, Sequence

import gin
import tensorflow as tf

from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.training import data
from ddsp_tf.training import train_util

logger = logging.getLogger(__name__)

MODES = ('eval', 'sample')


def _checkpoint_step(checkpoint_path: str) -> int:
  """The step N of a '.../ckpt-N' prefix."""
  match = re.search(r'-(\d+)$', checkpoint_path)
  if not match:
    raise ValueError(f'Checkpoint names end in -<step>, got {checkpoint_path!r}.')
  return int(match.group(1))


def _checkpoints(restore_dir: str, run_once: bool, ckpt_delay_secs: float,
                 run_until_step: int) -> Iterator[str]:
  """Checkpoint prefixes to evaluate: the latest once, or each new one."""
  if run_once:
    yield train_util.get_latest_checkpoint(restore_dir)
    return
  for checkpoint_path in tf.train.checkpoints_iterator(
      restore_dir, min_interval_secs=ckpt_delay_secs):
    yield checkpoint_path
    if run_until_step and _checkpoint_step(checkpoint_path) >= run_until_step:
      return


def evaluate_or_sample(data_provider, model, evaluator_classes: Sequence[type],
                       mode: str = 'eval', save_dir: str = '/tmp/ddsp/training',
                       restore_dir: str = '', batch_size: int = 32,
                       num_batches: int = 50, ckpt_delay_secs: float = 0,
                       run_once: bool = False, run_until_step: int = 0,
                       evaluate_and_sample: bool = False
                       ) -> Dict[str, Optional[float]]:
  """Evaluates or samples each checkpoint of a training run.

  Args:
    data_provider: DataProvider of the evaluation data.
    model: The model (built on the first batch, then restored).
    evaluator_classes: Evaluator classes, built with the provider's rates.
    mode: 'eval' (metrics, flushed after num_batches batches) or 'sample'
      (audio and plots).
    save_dir: Run directory; summaries go to save_dir/summaries/eval.
    restore_dir: Directory of the checkpoints ('' means save_dir).
    batch_size: Examples per batch.
    num_batches: Batches per checkpoint.
    ckpt_delay_secs: Least seconds between two evaluations.
    run_once: Evaluate the latest checkpoint once and return, instead of
      waiting for new checkpoints.
    run_until_step: Stop after a checkpoint at or beyond this step (0 never
      stops unless run_once).
    evaluate_and_sample: Do both in either mode.

  Returns:
    The metrics flushed for the last checkpoint (empty in sample mode).

  Raises:
    ValueError: For invalid arguments.
    FileNotFoundError: With run_once, if restore_dir has no checkpoint.
  """
  validation.check_choice('mode', mode, MODES)
  validation.check_int('batch_size', batch_size)
  validation.check_int('num_batches', num_batches)
  validation.check_int('run_until_step', run_until_step, minimum=0)
  if ckpt_delay_secs < 0:
    raise ValueError(f'ckpt_delay_secs must be >= 0, got '
                     f'ckpt_delay_secs={ckpt_delay_secs!r}.')
  save_dir = train_util.check_writable_dir('save_dir', save_dir)
  restore_dir = train_util.expand_path(restore_dir) if restore_dir else save_dir
  evaluators = [evaluator_class(data_provider.sample_rate,
                                data_provider.frame_rate)
                for evaluator_class in evaluator_classes]
  run_evaluate = mode == 'eval' or evaluate_and_sample
  run_sample = mode == 'sample' or evaluate_and_sample

  dataset = data_provider.get_batch(batch_size, shuffle=False, repeats=-1)
  synthetic = isinstance(data_provider, data.SyntheticNotes)
  first_batch = train_util.read_first_batch(data_provider, dataset)
  if synthetic:
    first_batch = render_synthetic_batch(model, first_batch)
  model(first_batch, training=False)  # Creates the variables to restore.
  iterator = iter(dataset)

  @tf.function
  def predict(batch):
    outputs, losses = model(batch, training=False, return_losses=True)
    outputs = dict(outputs)
    outputs['audio_gen'] = model.get_audio_from_outputs(outputs)
    return outputs, losses

  writer = tf.summary.create_file_writer(
      os.path.join(save_dir, 'summaries', 'eval'))
  results = {}
  for checkpoint_path in _checkpoints(restore_dir, run_once, ckpt_delay_secs,
                                      run_until_step):
    tf.train.Checkpoint(model=model).restore(checkpoint_path).expect_partial()
    step = _checkpoint_step(checkpoint_path)
    logger.info('%s checkpoint %s.', 'Evaluating' if run_evaluate else
                'Sampling', checkpoint_path)
    start = time.time()
    with writer.as_default():
      for _ in range(num_batches):
        batch = next(iterator)
        if synthetic:
          batch = render_synthetic_batch(model, batch)
        outputs, losses = predict(batch)
        for evaluator in evaluators:
          if run_evaluate:
            evaluator.evaluate(batch, outputs, losses)
          if run_sample:
            evaluator.sample(batch, outputs, step)
      results = {}
      if run_evaluate:
        for evaluator in evaluators:
          results.update(evaluator.flush(step))
      writer.flush()
    logger.info('Step %d: %s (%.1f s).', step, ', '.join(
        f'{name} {value:.4f}' for name, value in sorted(results.items())
        if value is not None), time.time() - start)
  return results


def render_synthetic_batch(model, batch: Dict[str, tf.Tensor]
                           ) -> Dict[str, tf.Tensor]:
  """Adds audio and its features to a batch of `data.SyntheticNotes` controls.

  Synthetic-notes datasets hold synthesizer controls only, so (as magenta/ddsp
  does when it evaluates on them) the model renders their audio with
  `generate_synthetic_audio`, every frame is taken as confidently pitched and
  loudness is computed from the rendered audio with the default settings.

  Args:
    model: A model with `generate_synthetic_audio(batch)`, e.g.
      `models.InverseSynthesis`.
    batch: SyntheticNotes features, with 'f0_hz' [batch, n_frames, 1].

  Returns:
    A new dict: the batch plus 'audio' [batch, n_samples], 'f0_confidence'
    [batch, n_frames] (ones) and 'loudness_db' [batch, n_loudness_frames].

  Raises:
    TypeError: If the model cannot render synthetic notes.
  """
  if not hasattr(model, 'generate_synthetic_audio'):
    raise TypeError(
        f'{type(model).__name__} cannot evaluate on data.SyntheticNotes: '
        'those batches hold synthesizer controls and no audio, and only a '
        'model with generate_synthetic_audio (e.g. models.InverseSynthesis) '
        'can render them.')
  batch = dict(batch)
  batch['audio'] = model.generate_synthetic_audio(batch)
  batch['f0_confidence'] = tf.ones_like(batch['f0_hz'])[:, :, 0]
  batch['loudness_db'] = spectral_ops.compute_loudness(batch['audio'])
  return batch


@gin.configurable
def evaluate(data_provider, model, evaluator_classes: Sequence[type],
             save_dir: str = '/tmp/ddsp/training', restore_dir: str = '',
             batch_size: int = 32, num_batches: int = 50,
             ckpt_delay_secs: float = 0, run_once: bool = False,
             run_until_step: int = 0) -> Dict[str, Optional[float]]:
  """Evaluates checkpoints (see evaluate_or_sample; mode 'eval')."""
  return evaluate_or_sample(
      data_provider, model, evaluator_classes, mode='eval', save_dir=save_dir,
      restore_dir=restore_dir, batch_size=batch_size, num_batches=num_batches,
      ckpt_delay_secs=ckpt_delay_secs, run_once=run_once,
      run_until_step=run_until_step)


@gin.configurable
def sample(data_provider, model, evaluator_classes: Sequence[type],
           save_dir: str = '/tmp/ddsp/training', restore_dir: str = '',
           batch_size: int = 16, num_batches: int = 1,
           ckpt_delay_secs: float = 0, run_once: bool = False,
           run_until_step: int = 0) -> Dict[str, Optional[float]]:
  """Writes samples of checkpoints (see evaluate_or_sample; mode 'sample')."""
  return evaluate_or_sample(
      data_provider, model, evaluator_classes, mode='sample',
      save_dir=save_dir, restore_dir=restore_dir, batch_size=batch_size,
      num_batches=num_batches, ckpt_delay_secs=ckpt_delay_secs,
      run_once=run_once, run_until_step=run_until_step)
