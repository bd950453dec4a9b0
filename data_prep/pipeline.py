"""The Apache Beam pipeline from audio files to TFRecord shards.

    Create(files) -> probe + plan chunks --(bad file)--> rejects
      -> Reshuffle (chunks of long files spread over workers)
      -> per chunk: the cached features of an interrupted run, or decode,
           resample, f0 + loudness (then cached); windows
           --(decode error)--> rejects
      -> train/eval by a stable hash of (file key, window index)
      -> shards written to beam-temp-<name>-<run>/ (data_prep.shards)
      -> statistics + rejects + shard list + reuse counts (one CombineFn)
      -> rejects.tsv, shards renamed to <output>-SSSSS-of-NNNNN (or
         <output>-train-... / <output>-eval-...), then stats.json (each text
         file written to a temporary name and renamed).

Every element carries its tag, (tag, value), and no step takes a side input,
so the pipeline is one graph that runs the same on the DirectRunner, the
DaskRunner (which mishandles tagged outputs and recomputes side inputs),
Dataflow, Flink and Spark.

A killed job never leaves a partial file under a final shard name. stats.json
is deleted when a job starts and written last: its presence marks a complete
dataset. Shards of an earlier run under the same prefix that this run did not
write (say, with another shard count) are deleted before stats.json appears.
A job started again after a kill reuses the features of the chunks the
killed one finished, and removes its temporary folders (data_prep.run_state).
While a job runs, the starting process logs its progress
(data_prep.progress).

With --num_shards, Beam groups every example by shard before writing; the
DirectRunner holds that group in memory, so for large datasets on one
machine leave num_shards unset (one shard per bundle). Runners with a
distributed shuffle (Dataflow, Flink, Spark) are not affected.
"""

import dataclasses
import json
import logging
import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from data_prep import audio_io
from data_prep import examples
from data_prep import progress
from data_prep import run_state
from data_prep import runners
from data_prep import shards
from data_prep import statistics
from ddsp_tf import crepe
from ddsp_tf import files
from ddsp_tf import formats
from ddsp_tf import swiftf0

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
  """InputFile -> ('chunk', chunk) per chunk, or ('rejects', (path, reason)).

  Outputs carry their tag in the element rather than as TaggedOutputs: the
  DaskRunner hands every output of a ParDo to each of its tagged outputs.
  """

  def __init__(self, spec: examples.ExampleSpec,
               progress_dir: Optional[str] = None):
    """Creates the DoFn.

    Args:
      spec: The example layout.
      progress_dir: Where progress markers go (None: nowhere).
    """
    super().__init__()
    self._spec = spec
    self._progress_dir = progress_dir

  def process(self, input_file: Any) -> Iterator[Any]:
    if not isinstance(input_file, audio_io.InputFile):
      yield input_file  # Probed already (plan_chunks_here).
      return
    try:
      chunks = examples.plan_chunks(audio_io.probe(input_file), self._spec)
    except audio_io.AudioFileError as error:
      _counter('files-rejected').inc()
      progress.mark_probed(self._progress_dir, input_file.path, 0, 0.0)
      yield 'rejects', (input_file.path, str(error))
      return
    _counter('load-audio').inc()
    progress.mark_probed(self._progress_dir, input_file.path, len(chunks),
                         sum(chunk.owned_secs for chunk in chunks))
    for chunk in chunks:
      yield 'chunk', chunk


def plan_chunks_here(input_files: Sequence[audio_io.InputFile],
                     spec: examples.ExampleSpec,
                     progress_dir: Optional[str] = None
                     ) -> List[Tuple[str, Any]]:
  """Probes the files in this process, as ProbeFn would on the workers.

  Args:
    input_files: From audio_io.find_audio_files.
    spec: The example layout.
    progress_dir: Where progress markers go (None: nowhere).

  Returns:
    ('chunk', chunk) and ('rejects', (path, reason)) elements; ProbeFn
    passes them through.
  """
  probe = ProbeFn(spec, progress_dir)
  return [element for input_file in input_files
          for element in probe.process(input_file)]


class ChunkFn(beam.DoFn):  # pylint: disable=abstract-method
  """('chunk', chunk) -> ('train' or 'eval', serialized example) per
  window, ('stats', summary) and ('reuse', (path, reused)).

  Elements with other tags pass through. A chunk that fails to decode gives
  ('rejects', (path, reason)). With a cache folder, a chunk's features are
  read from the cache when an earlier run finished it, and stored there
  when computed. The pitch
  tracker (CREPE's model or SwiftF0's detector) is loaded once per worker,
  in setup().
  """

  def __init__(self, spec: examples.ExampleSpec, eval_split_fraction: float,
               confidence_threshold: float, cache_dir: Optional[str] = None,
               progress_dir: Optional[str] = None):
    """Creates the DoFn.

    Args:
      spec: The example layout.
      eval_split_fraction: Fraction of windows for eval.
      confidence_threshold: Voiced-frame threshold for the statistics.
      cache_dir: The chunk cache folder (None: no cache).
      progress_dir: Where progress markers go (None: nowhere).
    """
    super().__init__()
    self._spec = spec
    self._eval_split_fraction = eval_split_fraction
    self._confidence_threshold = confidence_threshold
    self._cache_dir = cache_dir
    self._progress_dir = progress_dir
    # Every ExampleSpec field changes features, so all of them key the cache.
    self._cache_key = run_state.settings_key(dataclasses.asdict(spec))

  def setup(self) -> None:
    if self._spec.frame_rate and self._spec.f0_estimator == 'swiftf0':
      swiftf0.get_detector()
    elif self._spec.frame_rate:
      crepe.get_model(self._spec.model_capacity)

  def process(self, element: Tuple[str, Any]) -> Iterator[Any]:
    tag, chunk = element
    if tag != 'chunk':
      yield element
      return
    path = chunk.info.path
    entry = run_state.entry_path(self._cache_dir, path, chunk.index, chunk.first,
                              chunk.count, self._cache_key)
    features = run_state.load(entry)
    reused = features is not None
    if reused:
      _counter('chunks-reused').inc()
    else:
      try:
        features = examples.chunk_features(chunk, self._spec)
      except audio_io.AudioFileError as error:
        _counter('chunks-rejected').inc()
        progress.mark_chunk(self._progress_dir, path, chunk.index,
                            chunk.owned_secs, progress.REJECTED)
        yield 'rejects', (path, f'chunk {chunk.index}: {error}')
        return
      run_state.save(entry, features)
      if self._spec.frame_rate:
        _counter('estimate-f0').inc()
        _counter('compute-loudness').inc()
    counts = dict.fromkeys(_SPLITS, 0)
    for window, example in examples.split_windows(chunk, features):
      split = 'eval' if examples.is_eval(
          chunk.info.key, examples.split_unit(chunk, window),
          self._eval_split_fraction) else 'train'
      counts[split] += 1
      yield split, examples.to_tf_example(example)
    _counter('split-example').inc(sum(counts.values()))
    _counter('chunks').inc()
    _counter('audio-milliseconds').inc(int(round(1000 * chunk.owned_secs)))
    yield 'stats', statistics.summarize_chunk(
        chunk, features, counts['train'], counts['eval'],
        self._confidence_threshold)
    yield 'reuse', (path, reused)
    progress.mark_chunk(self._progress_dir, path, chunk.index,
                        chunk.owned_secs,
                        progress.REUSED if reused else progress.COMPUTED)


class CollectFn(beam.CombineFn):
  """('stats' | 'rejects' | 'shard' | 'reuse', value) -> one dict.

  The output: {'stats': DatasetStatisticsFn's output, 'rejects': [(path,
  reason)], 'shards': [(split, index, temporary path)], 'reuse': {path:
  [chunks, reused chunks]}}.
  """

  def __init__(self):
    super().__init__()
    self._stats = statistics.DatasetStatisticsFn()

  def create_accumulator(self) -> Dict[str, Any]:
    return {'stats': self._stats.create_accumulator(), 'rejects': [],
            'shards': [], 'reuse': {}}

  def add_input(self, accumulator: Dict[str, Any],
                element: Tuple[str, Any]) -> Dict[str, Any]:
    tag, value = element
    if tag == 'stats':
      accumulator['stats'] = self._stats.add_input(accumulator['stats'], value)
    elif tag == 'rejects':
      accumulator['rejects'].append(tuple(value))
    elif tag == 'shard':
      accumulator['shards'].append(tuple(value))
    elif tag == 'reuse':
      path, reused = value
      counts = accumulator['reuse'].setdefault(path, [0, 0])
      counts[0] += 1
      counts[1] += int(reused)
    else:
      raise ValueError(f'Unexpected element tag {tag!r}.')
    return accumulator

  def merge_accumulators(self, accumulators: Iterable[Dict[str, Any]]
                         ) -> Dict[str, Any]:
    accumulators = list(accumulators)
    merged = accumulators[0]
    merged['stats'] = self._stats.merge_accumulators(
        [accumulator['stats'] for accumulator in accumulators])
    for accumulator in accumulators[1:]:
      merged['rejects'] += accumulator['rejects']
      merged['shards'] += accumulator['shards']
      for path, (chunks, reused) in accumulator['reuse'].items():
        counts = merged['reuse'].setdefault(path, [0, 0])
        counts[0] += chunks
        counts[1] += reused
    return merged

  def extract_output(self, accumulator: Dict[str, Any]) -> Dict[str, Any]:
    return {**accumulator,
            'stats': self._stats.extract_output(accumulator['stats'])}


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


def _finalize(collected: Dict[str, Any], paths: OutputPaths,
              config: Dict[str, Any], num_shards: int) -> None:
  """Writes rejects.tsv, renames the shards, removes stale ones, then writes
  stats.json."""
  rejects = sorted(set(collected['rejects']))
  _write_text(paths.rejects, ''.join(
      f'{path}\t{reason}\n'.replace('\r', ' ') for path, reason in rejects))
  written = shards.commit(collected['shards'], paths.prefixes, num_shards)
  stale = _stale_shards(_all_prefixes(paths), written)
  if stale:
    _LOGGER.warning('Deleting %d shard(s) left by an earlier run: %s',
                    len(stale), stale)
    FileSystems.delete(stale)
  reuse = collected['reuse'].values()
  document = {'format_version': statistics.FORMAT_VERSION, **config,
              **collected['stats'],
              'rejected_files': len({path for path, _ in rejects}),
              'files_reused': sum(1 for chunks, reused in reuse
                                  if chunks and reused == chunks),
              'chunks_reused': sum(reused for _, reused in reuse),
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
                   config: Dict[str, Any],
                   folders: run_state.RunFolders) -> None:
  """Adds the preparation steps to a pipeline.

  Args:
    pipeline: The Beam pipeline.
    input_files: From audio_io.find_audio_files, or plan_chunks_here's
      elements.
    paths: From output_paths.
    spec: The example layout.
    num_shards: Shards per split; 0 lets the runner decide.
    eval_split_fraction: Fraction of windows for eval.
    confidence_threshold: Voiced-frame threshold for the statistics.
    config: Settings recorded in stats.json.
    folders: The run's folders (run_state.run_folders, after
      run_state.start_run).
  """
  processed = (
      pipeline
      | 'InputFiles' >> beam.Create(list(input_files))
      | 'Probe' >> beam.ParDo(ProbeFn(spec, folders.progress))
      | 'Reshuffle' >> beam.Reshuffle()
      | 'Features' >> beam.ParDo(ChunkFn(
          spec, eval_split_fraction, confidence_threshold, folders.cache,
          folders.progress)))
  splits = tuple(paths.prefixes)
  records = processed | 'Examples' >> beam.Filter(
      lambda element: element[0] in splits)
  if num_shards:
    written = (records
               | 'ShardKeys' >> beam.Map(shards.shard_key, num_shards)
               | 'GroupShards' >> beam.GroupByKey()
               | 'WriteShards' >> beam.ParDo(shards.WriteGroupFn(folders.temp)))
  else:
    written = records | 'WriteShards' >> beam.ParDo(
        shards.WriteBundlesFn(folders.temp))
  others = processed | 'Others' >> beam.Filter(
      lambda element: element[0] not in _SPLITS)
  _ = ((others, written)
       | 'Results' >> beam.Flatten()
       | 'Collect' >> beam.CombineGlobally(CollectFn()).without_defaults()
       | 'Finalize' >> beam.Map(_finalize, paths, config, num_shards))


def _log_counters(result: beam.runners.runner.PipelineResult) -> None:
  """Logs the run's counters at DEBUG, where the runner can query them.

  The DaskRunner has no metrics; its client is closed here, before its
  local cluster shuts down.
  """
  client = getattr(result, 'client', None)
  if client is not None and hasattr(client, 'close'):
    client.close()
  try:
    counters = result.metrics().query()['counters']
  except NotImplementedError:
    return
  for counter in counters:
    _LOGGER.debug('counter %s: %d', counter.key.metric.name,
                  counter.committed)


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
    f0_estimator: str = 'crepe',
    crepe_hop_ms: Optional[float] = None,
    window_layout: str = 'chunks',
    pipeline_options: Sequence[str] = (),
    stats_path: Optional[str] = None,
    rejects_path: Optional[str] = None,
    resume: bool = True,
    cache_dir: Optional[str] = None,
    progress_secs: float = 30.0,
    dask_workers: Optional[int] = None) -> Dict[str, Any]:
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
    eval_split_fraction: Fraction of examples for eval, in [0, 1): whole
      chunks in the 'chunks' layout, windows in the 'file' layout.
    chunk_secs: Chunk length: in the 'chunks' layout, the zero-padded
      chunks analysed separately and cut into windows; in the 'file'
      layout, the longest audio processed at once. 0 = whole files.
    center: Centre frames on their timestamps (one more frame per example).
    viterbi: Viterbi-smooth the f0 track.
    model_capacity: CREPE capacity ('tiny' ... 'full') or a weight file.
    short_clips: 'pad' files shorter than one example, or 'skip' them.
    confidence_threshold: Frames with f0_confidence >= this are voiced in
      the statistics.
    f0_estimator: Pitch tracker: 'crepe' or 'swiftf0' (the swift-f0
      package, `pip install "ddsp_tf[swiftf0]"`).
    crepe_hop_ms: CREPE's analysis hop in ms (10.0 is its native hop),
      interpolated to frame_rate; None analyses at the frame rate.
    window_layout: 'chunks' (the original's) or 'file' (ddsp_tf's: windows
      across the whole file, none from padding); see data_prep.examples.
    pipeline_options: Beam command-line options, e.g. ['--runner=...'].
    stats_path: Where stats.json goes (default: beside the shards).
    rejects_path: Where rejects.tsv goes (default: beside the shards).
    resume: Reuse the chunks that an interrupted run on the same output
      finished, and cache this run's chunks until it completes.
    cache_dir: Where the chunk cache and progress markers go (default:
      <output dir>/.ddsp_tf_prepare_cache/<output name>); it must be
      reachable by every worker. Removed when the run succeeds.
    progress_secs: Seconds between progress lines (logged at INFO).
    dask_workers: Worker processes of the local Dask cluster started for
      --runner=DaskRunner without --dask_client_address (default: the CPU
      count).

  Returns:
    The contents of stats.json, which also counts the files and chunks
    reused from the cache ('files_reused', 'chunks_reused').

  Raises:
    ValueError: For invalid arguments.
    NoUsableAudioError: If no file matches, or no example was made (the
      rejects file says why).
    ImportError: For f0_estimator='swiftf0' without swift-f0 installed, or
      the DaskRunner without dask installed (the message says what to pip
      install).
    runners.RunnerError: If the Dask scheduler cannot be reached.
  """
  spec = examples.ExampleSpec(
      sample_rate=sample_rate, frame_rate=frame_rate,
      example_secs=example_secs, hop_secs=hop_secs, chunk_secs=chunk_secs,
      center=center, viterbi=viterbi, model_capacity=model_capacity,
      short_clips=short_clips, f0_estimator=f0_estimator,
      crepe_hop_ms=crepe_hop_ms, window_layout=window_layout)
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
            'f0_estimator': spec.f0_estimator,
            'crepe_hop_ms': spec.crepe_hop_ms,
            'window_layout': spec.window_layout,
            'eval_split_fraction': eval_split_fraction,
            'confidence_threshold': confidence_threshold,
            'input_files': len(input_files)}
  base = paths.prefixes['train']
  if 'eval' in paths.prefixes:
    base = base[:-len('-train')]
  folders = run_state.run_folders(base, cache_dir, bool(resume))
  with runners.session(pipeline_options, dask_workers) as options:
    _LOGGER.info('prepare_tfrecord: %d input file(s) -> %s (runner %s)',
                 len(input_files), ', '.join(paths.prefixes.values()),
                 runners.runner_name(options).rsplit('.', 1)[-1])
    reporter = progress.Reporter(folders.progress, len(input_files),
                                 progress_secs)
    run_state.start_run(folders)
    success = False
    try:
      elements = list(input_files)
      if runners.is_dask(options) and not any(
          '://' in input_file.path for input_file in input_files):
        # Dask keeps Create's partitions to the end (Reshuffle is a no-op
        # there), so chunks, not files, are what the partitions must hold
        # for the chunks of a long file to spread over workers.
        elements = plan_chunks_here(input_files, spec, folders.progress)
      pipeline = runners.make_pipeline(
          runners.with_dask_partitions(options, len(elements)))
      build_pipeline(pipeline, elements, paths, spec, num_shards,
                     eval_split_fraction, confidence_threshold, config,
                     folders)
      with reporter:
        result = pipeline.run()
        result.wait_until_finish()
      _log_counters(result)
      success = True
    finally:
      run_state.end_run(folders, success)
  if not FileSystems.exists(paths.stats):
    # Nothing reached the final step: no file gave a chunk or a reject.
    raise NoUsableAudioError(
        f'No usable audio: none of the {len(input_files)} matched file(s) gave '
        'an example.')
  stats = _read_json(paths.stats)
  if not sum(stats['examples'].values()):
    raise NoUsableAudioError(
        f'No usable audio: none of the {len(input_files)} matched file(s) gave '
        f'an example; {stats["rejected_files"]} were rejected, see '
        f'{paths.rejects}.')
  return stats
