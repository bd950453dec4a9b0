"""The Apache Beam pipeline from audio files to TFRecord shards.

    Create(files) -> probe + plan chunks --(bad file)--> rejects
      -> Reshuffle (chunks of long files spread over workers)
      -> per chunk: decode, resample, CREPE f0 + loudness, windows
           --(decode error)--> rejects
      -> train/eval by a stable hash of (file key, window index)
      -> WriteToTFRecord: <output> or <output>-train / <output>-eval
      -> statistics (CombineFn) + rejects + shard list
      -> rejects.tsv, then stats.json (each written to a temporary name and
         renamed), after every shard is in place.

Beam writes each shard under a `beam-temp-*` directory and renames it to its
final name `<prefix>-SSSSS-of-NNNNN` only when all shards are written, so a
killed job never leaves a partial file under a final shard name. stats.json
is deleted when a job starts and written last: its presence marks a complete
dataset. Shards of an earlier run under the same prefix that this run did not
write (say, with another shard count) are deleted before stats.json appears.

With --num_shards, Beam groups every example by shard before writing; the
DirectRunner holds that group in memory, so for large datasets on one
machine leave num_shards unset (one shard per bundle). Runners with a
distributed shuffle (Dataflow, Flink, Spark) are not affected.
"""

import dataclasses
import json
import logging
import operator
import os
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from data_prep import audio_io
from data_prep import examples
from data_prep import statistics
from ddsp_tf import crepe
from ddsp_tf import files
from ddsp_tf import formats

_LOGGER = logging.getLogger(__name__)
METRICS_NAMESPACE = 'prepare-tfrecord'
STATS_FILENAME = formats.STATS_FILE
REJECTS_FILENAME = formats.REJECTS_FILE
SHARD_GLOB = '-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]'
_SPLITS = ('train', 'eval')


class NoUsableAudioError(RuntimeError):
  """No input file matched, or none gave an example."""


@dataclasses.dataclass(frozen=True)
class OutputPaths:
  """Where a run writes.

  Attributes:
    prefixes: {split: shard prefix}; 'train' only (at the output path) when
      there is no eval split, else '<output>-train' and '<output>-eval' as
      the original names them.
    stats: The stats.json path.
    rejects: The rejects.tsv path.
  """
  prefixes: Dict[str, str]
  stats: str
  rejects: str


def output_paths(output_tfrecord_path: str, eval_split_fraction: float,
                 stats_path: Optional[str] = None,
                 rejects_path: Optional[str] = None) -> OutputPaths:
  """The files a run writes.

  stats.json and rejects.tsv default to the output's directory, under names
  that a shard pattern such as `<output>*` does not match.

  Args:
    output_tfrecord_path: Output prefix, e.g. '/data/piano/train.tfrecord'.
    eval_split_fraction: Fraction of windows for eval; 0 for no eval split.
    stats_path: Override for stats.json.
    rejects_path: Override for rejects.tsv.

  Returns:
    The OutputPaths.
  """
  if not isinstance(output_tfrecord_path, str) or not output_tfrecord_path:
    raise ValueError('output_tfrecord_path must be a non-empty path, got '
                     f'output_tfrecord_path={output_tfrecord_path!r}.')
  if output_tfrecord_path.endswith(('/', os.sep)):
    raise ValueError('output_tfrecord_path is a prefix for shard files, not a '
                     f'directory, got {output_tfrecord_path!r}.')
  if '://' not in output_tfrecord_path:
    output_tfrecord_path = os.path.abspath(
        os.path.expanduser(output_tfrecord_path))
  directory = os.path.dirname(output_tfrecord_path)
  if eval_split_fraction:
    prefixes = {split: f'{output_tfrecord_path}-{split}' for split in _SPLITS}
  else:
    prefixes = {'train': output_tfrecord_path}
  return OutputPaths(
      prefixes=prefixes,
      stats=stats_path or os.path.join(directory, STATS_FILENAME),
      rejects=rejects_path or os.path.join(directory, REJECTS_FILENAME))


def _counter(name: str) -> beam.metrics.metricbase.Counter:
  return beam.metrics.Metrics.counter(METRICS_NAMESPACE, name)


class ProbeFn(beam.DoFn):
  """InputFile -> its chunks, or ('rejects', (path, reason))."""

  def __init__(self, spec: examples.ExampleSpec):
    """Args: spec: The example layout."""
    super().__init__()
    self._spec = spec

  def process(self, input_file: audio_io.InputFile) -> Iterator[Any]:
    try:
      chunks = examples.plan_chunks(audio_io.probe(input_file), self._spec)
    except audio_io.AudioFileError as error:
      _counter('files-rejected').inc()
      yield beam.pvalue.TaggedOutput('rejects', (input_file.path, str(error)))
      return
    _counter('load-audio').inc()
    yield from chunks


class _Progress:
  """Logs this worker's progress every `interval_secs`."""

  def __init__(self, interval_secs: float):
    self._interval = interval_secs
    self._start = self._last = time.monotonic()
    self._chunks = 0
    self._secs = 0.0

  def update(self, audio_secs: float, total_secs: float) -> None:
    self._chunks += 1
    self._secs += audio_secs
    now = time.monotonic()
    if now - self._last < self._interval:
      return
    self._last = now
    rate = self._secs / max(now - self._start, 1e-9)
    remaining = max(total_secs - self._secs, 0.0) / max(rate, 1e-9)
    _LOGGER.info(
        'prepare_tfrecord [pid %d]: %d chunks, %.1f of %.1f audio-s '
        '(%.1f%%), %.2f audio-s/s, ETA %.0f s if no other worker helps',
        os.getpid(), self._chunks, self._secs, total_secs,
        100.0 * self._secs / max(total_secs, 1e-9), rate, remaining)


class ChunkFn(beam.DoFn):  # pylint: disable=abstract-method
  """Chunk -> serialized examples tagged 'train'/'eval', a 'stats' summary.

  A chunk that fails to decode goes to 'rejects' as (path, reason). The CREPE
  model is loaded once per worker, in setup().
  """

  def __init__(self, spec: examples.ExampleSpec, eval_split_fraction: float,
               confidence_threshold: float, progress_secs: float = 30.0):
    """Creates the DoFn.

    Args:
      spec: The example layout.
      eval_split_fraction: Fraction of windows for eval.
      confidence_threshold: Voiced-frame threshold for the statistics.
      progress_secs: Seconds between progress log lines.
    """
    super().__init__()
    self._spec = spec
    self._eval_split_fraction = eval_split_fraction
    self._confidence_threshold = confidence_threshold
    self._progress_secs = progress_secs
    self._progress = None

  def setup(self) -> None:
    if self._spec.frame_rate:
      crepe.get_model(self._spec.model_capacity)
    self._progress = _Progress(self._progress_secs)

  def process(self, chunk: examples.Chunk,
              total_secs: float) -> Iterator[Any]:
    try:
      features = examples.chunk_features(chunk, self._spec)
    except audio_io.AudioFileError as error:
      _counter('chunks-rejected').inc()
      yield beam.pvalue.TaggedOutput(
          'rejects', (chunk.info.path, f'chunk {chunk.index}: {error}'))
      return
    if self._spec.frame_rate:
      _counter('estimate-f0').inc()
      _counter('compute-loudness').inc()
    counts = dict.fromkeys(_SPLITS, 0)
    for window, example in examples.split_windows(chunk, features):
      split = 'eval' if examples.is_eval(
          chunk.info.key, window, self._eval_split_fraction) else 'train'
      counts[split] += 1
      yield beam.pvalue.TaggedOutput(split, examples.to_tf_example(example))
    _counter('split-example').inc(sum(counts.values()))
    _counter('chunks').inc()
    _counter('audio-milliseconds').inc(int(round(1000 * chunk.owned_secs)))
    yield beam.pvalue.TaggedOutput('stats', statistics.summarize_chunk(
        chunk, features, counts['train'], counts['eval'],
        self._confidence_threshold))
    self._progress.update(chunk.owned_secs, total_secs)


def _write_text(path: str, text: str) -> None:
  """Writes a file so that readers see the old or the new content, whole.

  Local files go to a hidden temporary name in the same directory and are
  renamed over the target (os.replace). Remote objects (gs://, ...) become
  visible only once their upload completes.
  """
  data = text.encode('utf-8')
  if '://' in path:
    with FileSystems.create(path) as remote_file:
      remote_file.write(data)
    return
  files.write_bytes_atomically(path, data)


def _delete_if_exists(path: str) -> None:
  if FileSystems.exists(path):
    FileSystems.delete([path])


def _stale_shards(prefixes: Sequence[str], written: Sequence[str]
                  ) -> List[str]:
  """Shard files under the prefixes that this run did not write."""
  keep = set(written)
  matches = FileSystems.match([prefix + SHARD_GLOB for prefix in prefixes])
  return sorted(metadata.path for match in matches
                for metadata in match.metadata_list
                if metadata.path not in keep)


def _finalize(unused_element: Any, paths: OutputPaths,
              config: Dict[str, Any], stats: Dict[str, Any],
              rejects: List[Tuple[str, str]], written: List[str]) -> None:
  """Writes rejects.tsv, removes stale shards, then writes stats.json."""
  rejects = sorted(set(rejects))
  _write_text(paths.rejects, ''.join(
      f'{path}\t{reason}\n'.replace('\r', ' ') for path, reason in rejects))
  stale = _stale_shards(_all_prefixes(paths), written)
  if stale:
    _LOGGER.warning('Deleting %d shard(s) left by an earlier run: %s',
                    len(stale), stale)
    FileSystems.delete(stale)
  document = {'format_version': statistics.FORMAT_VERSION, **config,
              **stats,
              'rejected_files': len({path for path, _ in rejects}),
              'shards': {split: sorted(name for name in written
                                       if name.startswith(prefix + '-'))
                         for split, prefix in paths.prefixes.items()},
              'rejects_path': paths.rejects}
  _write_text(paths.stats, json.dumps(document, indent=1) + '\n')


def _all_prefixes(paths: OutputPaths) -> List[str]:
  """This run's prefixes plus those of the other split layout."""
  base = paths.prefixes['train']
  if 'eval' in paths.prefixes:
    base = base[:-len('-train')]
  return [base] + [f'{base}-{split}' for split in _SPLITS]


def build_pipeline(pipeline: beam.Pipeline,
                   input_files: Sequence[audio_io.InputFile],
                   paths: OutputPaths, spec: examples.ExampleSpec,
                   num_shards: int, eval_split_fraction: float,
                   confidence_threshold: float,
                   config: Dict[str, Any]) -> None:
  """Adds the preparation steps to a pipeline.

  Args:
    pipeline: The Beam pipeline.
    input_files: From audio_io.find_audio_files.
    paths: From output_paths.
    spec: The example layout.
    num_shards: Shards per split; 0 lets the runner decide.
    eval_split_fraction: Fraction of windows for eval.
    confidence_threshold: Voiced-frame threshold for the statistics.
    config: Settings recorded in stats.json.
  """
  probed = (pipeline
            | 'InputFiles' >> beam.Create(list(input_files))
            | 'Probe' >> beam.ParDo(ProbeFn(spec)).with_outputs(
                'rejects', main='chunks'))
  total_secs = (probed.chunks
                | 'ChunkSeconds' >> beam.Map(operator.attrgetter('owned_secs'))
                | 'TotalSeconds' >> beam.CombineGlobally(sum))
  processed = (probed.chunks
               | 'Reshuffle' >> beam.Reshuffle()
               | 'Features' >> beam.ParDo(
                   ChunkFn(spec, eval_split_fraction, confidence_threshold),
                   beam.pvalue.AsSingleton(total_secs)).with_outputs(
                       'train', 'eval', 'stats', 'rejects'))
  written = [processed[split] | f'Write-{split}' >> beam.io.WriteToTFRecord(
      prefix, num_shards=num_shards)
             for split, prefix in paths.prefixes.items()]
  stats = processed.stats | 'Statistics' >> beam.CombineGlobally(
      statistics.DatasetStatisticsFn())
  rejects = ((probed.rejects, processed.rejects)
             | 'AllRejects' >> beam.Flatten())
  shards = tuple(written) | 'AllShards' >> beam.Flatten()
  _ = (pipeline
       | 'Once' >> beam.Create([None])
       | 'Finalize' >> beam.Map(
           _finalize, paths, config, beam.pvalue.AsSingleton(stats),
           beam.pvalue.AsList(rejects), beam.pvalue.AsList(shards)))


def _read_json(path: str) -> Dict[str, Any]:
  with FileSystems.open(path) as stats_file:
    return json.loads(stats_file.read().decode('utf-8'))


def prepare_tfrecord(
    input_audio_filepatterns: Sequence[str],
    output_tfrecord_path: str,
    num_shards: Optional[int] = None,
    sample_rate: int = 16000,
    frame_rate: int = 250,
    example_secs: float = 4,
    hop_secs: float = 1,
    eval_split_fraction: float = 0.0,
    chunk_secs: float = 20.0,
    center: bool = False,
    viterbi: bool = True,
    model_capacity: str = 'full',
    short_clips: str = 'pad',
    confidence_threshold: float = statistics.DEFAULT_CONFIDENCE_THRESHOLD,
    pipeline_options: Sequence[str] = (),
    stats_path: Optional[str] = None,
    rejects_path: Optional[str] = None) -> Dict[str, Any]:
  """Prepares TFRecord shards of DDSP examples from audio files.

  Args:
    input_audio_filepatterns: Files, globs ('**' recurses) or directories.
    output_tfrecord_path: Shard prefix; shards are '<prefix>-SSSSS-of-NNNNN',
      or with an eval split '<prefix>-train-...' and '<prefix>-eval-...'.
    num_shards: Shards per split; None or 0 lets the runner decide.
    sample_rate: Rate of the `audio` feature.
    frame_rate: Rate of f0, confidence and loudness; 0 for audio only.
    example_secs: Example length; 0 = one example per chunk (or file).
    hop_secs: Seconds between example starts.
    eval_split_fraction: Fraction of examples for eval, in [0, 1).
    chunk_secs: Longest audio processed at once; 0 = whole files.
    center: Centre frames on their timestamps (one more frame per example).
    viterbi: Viterbi-smooth the f0 track.
    model_capacity: CREPE capacity ('tiny' ... 'full') or a weight file.
    short_clips: 'pad' files shorter than one example, or 'skip' them.
    confidence_threshold: Frames with f0_confidence >= this are voiced in
      the statistics.
    pipeline_options: Beam command-line options, e.g. ['--runner=...'].
    stats_path: Where stats.json goes (default: beside the shards).
    rejects_path: Where rejects.tsv goes (default: beside the shards).

  Returns:
    The contents of stats.json.

  Raises:
    ValueError: For invalid arguments.
    NoUsableAudioError: If no file matches, or no example was made (the
      rejects file says why).
  """
  spec = examples.ExampleSpec(
      sample_rate=sample_rate, frame_rate=frame_rate,
      example_secs=example_secs, hop_secs=hop_secs, chunk_secs=chunk_secs,
      center=center, viterbi=viterbi, model_capacity=model_capacity,
      short_clips=short_clips)
  num_shards = 0 if num_shards is None else num_shards
  if isinstance(num_shards, bool) or not isinstance(num_shards, int) or (
      num_shards < 0):
    raise ValueError('num_shards must be None or an integer >= 0, got '
                     f'num_shards={num_shards!r}.')
  if not isinstance(eval_split_fraction, (int, float)) or not (
      0.0 <= eval_split_fraction < 1.0):
    raise ValueError('eval_split_fraction must be in [0, 1), got '
                     f'eval_split_fraction={eval_split_fraction!r}.')
  if not isinstance(confidence_threshold, (int, float)) or not (
      0.0 <= confidence_threshold <= 1.0):
    raise ValueError('confidence_threshold must be in [0, 1], got '
                     f'confidence_threshold={confidence_threshold!r}.')
  paths = output_paths(output_tfrecord_path, eval_split_fraction, stats_path,
                       rejects_path)
  input_files = audio_io.find_audio_files(input_audio_filepatterns)
  if not input_files:
    raise NoUsableAudioError(
        f'No audio file matches {list(input_audio_filepatterns)} (audio '
        f'extensions: {" ".join(audio_io.AUDIO_EXTENSIONS)}).')
  for path in (paths.stats, paths.rejects, paths.prefixes['train']):
    if '://' not in path and os.path.dirname(path):
      os.makedirs(os.path.dirname(path), exist_ok=True)
  _delete_if_exists(paths.stats)

  config = {'sample_rate': spec.sample_rate, 'frame_rate': spec.frame_rate,
            'example_secs': spec.example_secs, 'hop_secs': spec.hop_secs,
            'chunk_secs': spec.chunk_secs, 'center': spec.center,
            'viterbi': spec.viterbi, 'model_capacity': spec.model_capacity,
            'short_clips': spec.short_clips,
            'eval_split_fraction': eval_split_fraction,
            'confidence_threshold': confidence_threshold,
            'input_files': len(input_files)}
  _LOGGER.info('prepare_tfrecord: %d input file(s) -> %s', len(input_files),
               ', '.join(paths.prefixes.values()))
  pipeline = beam.Pipeline(options=PipelineOptions(list(pipeline_options)))
  build_pipeline(pipeline, input_files, paths, spec, num_shards,
                 eval_split_fraction, confidence_threshold, config)
  result = pipeline.run()
  result.wait_until_finish()
  for counter in result.metrics().query()['counters']:
    _LOGGER.info('counter %s: %d', counter.key.metric.name, counter.committed)
  stats = _read_json(paths.stats)
  if not sum(stats['examples'].values()):
    raise NoUsableAudioError(
        f'No usable audio: none of the {len(input_files)} matched file(s) gave '
        f'an example; {stats["rejected_files"]} were rejected, see '
        f'{paths.rejects}.')
  return stats
