"""The Apache Beam job that writes synthetic notes as TFRecord shards.

    Create(one random seed per example) -> Reshuffle (spread over workers)
      -> per seed: np.random.seed(seed); generate_fn(n_batch=1) -> controls
      -> tf.train.Example (one flat FloatList per control)
      -> WriteToTFRecord: <output>-SSSSS-of-NNNNN
      -> synthetic_stats.json, after every shard is in place.

The generator is the gin binding `generate_examples.generate_fn` (e.g.
`@generate_notes_v2`, see `synthetic_data`), as in magenta/ddsp's
ddsp_generate_synthetic_dataset; the seeds are drawn from random_seed the
same way, so a seed gives the same set of examples. Shards are written
atomically the way `pipeline` writes them (Beam's temporary directory, then
a rename), shards of an earlier run under the same prefix that this run did
not write are deleted, and the summary file is deleted when a run starts and
written last: its presence marks a complete dataset. Read the shards with
ddsp_tf.training.data.SyntheticNotes.
"""

import json
import logging
import os
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
import gin
import numpy as np

from data_prep import examples
from data_prep import pipeline
from data_prep import synthetic_data  # pylint: disable=unused-import
from ddsp_tf import validation

# The prepare job's shard bookkeeping, shared.
# pylint: disable=protected-access
_delete_if_exists = pipeline._delete_if_exists
_read_json = pipeline._read_json
_stale_shards = pipeline._stale_shards
_write_text = pipeline._write_text
# pylint: enable=protected-access

_LOGGER = logging.getLogger(__name__)
METRICS_NAMESPACE = 'generate-synthetic-dataset'
SUMMARY_FILENAME = 'synthetic_stats.json'
FORMAT_VERSION = 1
_GENERATE_FN = 'generate_examples.generate_fn'
_MAX_SEED = 2**32


class UnboundGeneratorError(ValueError):
  """No generator is bound to generate_examples.generate_fn."""


@gin.configurable('generate_examples')
def generate_example(
    seed: int, generate_fn: Callable[..., Dict[str, Any]] = gin.REQUIRED
) -> Dict[str, np.ndarray]:
  """One example of synthetic controls, drawn from its own seed.

  Args:
    seed: Seeds NumPy's global generator, in [0, 2**32).
    generate_fn: A generator such as synthetic_data.generate_notes_v2,
      called with n_batch=1 (its other arguments come from gin).

  Returns:
    {key: float32 array} without the batch axis, e.g. 'f0_hz' [T, 1].
  """
  np.random.seed(seed)
  batch = generate_fn(n_batch=1)
  return {key: np.asarray(value, np.float32)[0]
          for key, value in batch.items()}


class GenerateExampleFn(beam.DoFn):
  """Seed -> one serialized tf.train.Example of synthetic controls.

  The gin config of the launching process is parsed again in each worker
  (in setup), so the generator and its bindings are the same everywhere.
  """

  def __init__(self, gin_config: str,
               generate_fn: Optional[Callable[..., Any]] = None,
               progress_secs: float = 30.0):
    """Creates the DoFn.

    Args:
      gin_config: gin.config_str() of the launching process.
      generate_fn: Overrides the gin-bound generator (a module-level
        function, so that it pickles).
      progress_secs: Seconds between this worker's progress log lines.
    """
    super().__init__()
    self._gin_config = gin_config
    self._generate_fn = generate_fn
    self._progress_secs = progress_secs
    self._count = 0
    self._start = self._last = 0.0
    self._counter = beam.metrics.Metrics.counter(METRICS_NAMESPACE,
                                                 'generated')

  def setup(self) -> None:
    with gin.unlock_config():
      gin.parse_config(self._gin_config, skip_unknown=True)
    self._start = self._last = time.monotonic()

  def process(self, seed: int) -> Iterator[bytes]:
    kwargs = {} if self._generate_fn is None else {
        'generate_fn': self._generate_fn}
    yield examples.to_tf_example(generate_example(seed, **kwargs))
    self._counter.inc()
    self._count += 1
    now = time.monotonic()
    if now - self._last >= self._progress_secs:
      self._last = now
      _LOGGER.info('generate_synthetic_dataset [pid %d]: %d examples, '
                   '%.1f examples/s', os.getpid(), self._count,
                   self._count / max(now - self._start, 1e-9))


def draw_seeds(random_seed: int, num_examples: int) -> List[int]:
  """One seed per example, as magenta/ddsp draws them.

  Args:
    random_seed: Seed of the draw, in [0, 2**32).
    num_examples: Seeds to draw.

  Returns:
    num_examples integers in [0, 2**32).
  """
  draw = np.random.RandomState(random_seed)
  return [int(seed) for seed in draw.randint(_MAX_SEED, size=num_examples)]


def _generator_name(generate_fn: Optional[Callable[..., Any]]) -> str:
  """The generator's name; raises UnboundGeneratorError when none is set."""
  if generate_fn is not None:
    return getattr(generate_fn, '__name__', repr(generate_fn))
  try:
    reference = gin.query_parameter(_GENERATE_FN)
  except ValueError:
    raise UnboundGeneratorError(
        f'No generator is bound to {_GENERATE_FN}; choose one, e.g. '
        f"--gin_param='{_GENERATE_FN} = @generate_notes_v2' (or "
        '@generate_notes).') from None
  return str(getattr(reference, 'selector', reference))


def _finalize(unused_element: Any, prefix: str, summary_path: str,
              summary: Dict[str, Any], written: List[str]) -> None:
  """Removes stale shards, then writes the summary file."""
  stale = _stale_shards([prefix], written)
  if stale:
    _LOGGER.warning('Deleting %d shard(s) left by an earlier run: %s',
                    len(stale), stale)
    beam.io.filesystems.FileSystems.delete(stale)
  document = dict(summary, shards=sorted(written))
  _write_text(summary_path, json.dumps(document, indent=1) + '\n')


def build_pipeline(beam_pipeline: beam.Pipeline, seeds: Sequence[int],
                   prefix: str, num_shards: int, summary_path: str,
                   summary: Dict[str, Any],
                   generate_fn: Optional[Callable[..., Any]] = None) -> None:
  """Adds the generation steps to a pipeline.

  Args:
    beam_pipeline: The Beam pipeline.
    seeds: One seed per example (draw_seeds).
    prefix: Shard path prefix.
    num_shards: Shards; 0 lets the runner decide.
    summary_path: Where the summary goes, last.
    summary: Settings recorded in the summary.
    generate_fn: Overrides the gin-bound generator.
  """
  written = (beam_pipeline
             | 'Seeds' >> beam.Create(list(seeds))
             | 'Reshuffle' >> beam.Reshuffle()
             | 'Generate' >> beam.ParDo(
                 GenerateExampleFn(gin.config_str(), generate_fn))
             | 'Write' >> beam.io.WriteToTFRecord(prefix,
                                                  num_shards=num_shards))
  _ = (beam_pipeline
       | 'Once' >> beam.Create([None])
       | 'Finalize' >> beam.Map(_finalize, prefix, summary_path, summary,
                                beam.pvalue.AsList(written)))


def generate_synthetic_dataset(
    output_tfrecord_path: str,
    num_shards: Optional[int] = None,
    num_examples: int = 1000000,
    random_seed: int = 42,
    pipeline_options: Sequence[str] = (),
    summary_path: Optional[str] = None,
    generate_fn: Optional[Callable[..., Any]] = None) -> Dict[str, Any]:
  """Writes TFRecord shards of synthetic notes.

  Parse the gin config first: it binds generate_examples.generate_fn and
  the generator's arguments (e.g. generate_notes_v2.n_timesteps). One
  example is generated before the pipeline starts, so bad arguments fail
  at once.

  Args:
    output_tfrecord_path: Shard prefix; shards are
      '<prefix>-SSSSS-of-NNNNN'.
    num_shards: Number of shards; None or 0 lets the runner decide.
    num_examples: Examples to write.
    random_seed: Seed of the per-example seeds, in [0, 2**32).
    pipeline_options: Beam command-line options, e.g. ['--runner=...'].
    summary_path: Where the summary JSON goes (default:
      synthetic_stats.json beside the shards).
    generate_fn: A module-level generator to use instead of the gin
      binding.

  Returns:
    The contents of the summary: the settings, the generator, each
    control's shape per example and the shard paths.

  Raises:
    ValueError: For invalid arguments, an unbound generator or generator
      arguments that the generator rejects.
  """
  num_examples = validation.check_int('num_examples', num_examples)
  num_shards = 0 if num_shards is None else num_shards
  validation.check_int('num_shards', num_shards, minimum=0)
  validation.check_int('random_seed', random_seed, minimum=0)
  if random_seed >= _MAX_SEED:
    raise ValueError(f'random_seed must be < 2**32, got '
                     f'random_seed={random_seed!r}.')
  paths = pipeline.output_paths(output_tfrecord_path, 0.0)
  prefix = paths.prefixes['train']
  summary_path = summary_path or os.path.join(os.path.dirname(prefix),
                                              SUMMARY_FILENAME)
  generator = _generator_name(generate_fn)
  seeds = draw_seeds(random_seed, num_examples)
  # One example up front: a bad generator argument fails here, not in
  # every worker. (The caller's NumPy random state is kept.)
  state = np.random.get_state()
  try:
    trial = generate_example(
        seeds[0], **({} if generate_fn is None else {'generate_fn':
                                                     generate_fn}))
  finally:
    np.random.set_state(state)

  for path in (prefix, summary_path):
    if '://' not in path and os.path.dirname(path):
      os.makedirs(os.path.dirname(path), exist_ok=True)
  _delete_if_exists(summary_path)
  summary = {'format_version': FORMAT_VERSION, 'num_examples': num_examples,
             'random_seed': random_seed, 'generate_fn': generator,
             'feature_shapes': {key: list(value.shape)
                                for key, value in trial.items()},
             'gin_config': gin.config_str()}
  _LOGGER.info('generate_synthetic_dataset: %d examples of %s -> %s',
               num_examples, generator, prefix)
  beam_pipeline = beam.Pipeline(options=PipelineOptions(
      list(pipeline_options)))
  build_pipeline(beam_pipeline, seeds, prefix, num_shards, summary_path,
                 summary, generate_fn)
  result = beam_pipeline.run()
  result.wait_until_finish()
  return _read_json(summary_path)
