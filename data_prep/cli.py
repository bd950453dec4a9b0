"""ddsp_tf_prepare_tfrecord: audio files -> TFRecord shards for DDSP training.

Example (all local cores, then the Dataflow equivalent):

  ddsp_tf_prepare_tfrecord \\
    --input_audio_filepatterns='/data/cello/**/*.wav' \\
    --output_tfrecord_path=/data/tfrecord/train.tfrecord \\
    --runner=DirectRunner --direct_num_workers=0 \\
    --direct_running_mode=multi_processing

  ddsp_tf_prepare_tfrecord \\
    --input_audio_filepatterns='gs://bucket/cello/*.flac' \\
    --output_tfrecord_path=gs://bucket/tfrecord/train.tfrecord \\
    --runner=DataflowRunner --project=my-project --region=us-central1 \\
    --temp_location=gs://bucket/tmp --setup_file=./setup.py

On a Dask cluster (`pip install "ddsp_tf[dask]"`; without an address, a
local cluster of --dask_workers processes is started for the run):

  ddsp_tf_prepare_tfrecord ... --runner=DaskRunner \\
    --dask_client_address=tcp://scheduler:8786

Flags this script does not define are Beam pipeline options. Exit status: 0
on success, 1 if no file matched, no usable audio remained or the runner's
cluster cannot be reached, 2 for invalid flags.
"""

import argparse
import logging
import sys
import time
from typing import Any, Dict, Optional, Sequence

from data_prep import flags
from data_prep.flags import unknown_beam_flags  # pylint: disable=unused-import

_EPILOG = """\
Outputs: shards <output>-SSSSS-of-NNNNN (with --eval_split_fraction:
<output>-train-... and <output>-eval-...), rejects.tsv (path<TAB>reason per
unusable file) and, last, stats.json (counts, seconds, loudness and pitch
quantiles over voiced frames) in the output directory. Read the shards with
ddsp_tf.training.data.TFRecordProvider(file_pattern='<output>*').

Any other --flag is a Beam pipeline option, e.g. --runner=DirectRunner
--direct_num_workers=2 --direct_running_mode=multi_processing, or
--runner=DataflowRunner --project=... --region=... --temp_location=gs://...
--setup_file=./setup.py (Flink and Spark runners work the same way).
"""


def make_parser() -> argparse.ArgumentParser:
  """The flag parser; flags follow magenta/ddsp's ddsp_prepare_tfrecord."""
  parser = argparse.ArgumentParser(
      prog='ddsp_tf_prepare_tfrecord', description=__doc__.split('\n')[0],
      epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
      allow_abbrev=False)
  parser.add_argument(
      '--input_audio_filepatterns', action='append', required=True,
      metavar='PATTERN',
      help='Audio files, globs (** recurses) or directories; repeat the flag '
      'or separate with commas. Files without an audio extension and hidden '
      'directories (.ipynb_checkpoints) are ignored. Quote globs.')
  parser.add_argument(
      '--output_tfrecord_path', required=True, metavar='PREFIX',
      help='Shard path prefix, e.g. /data/tfrecord/train.tfrecord.')
  parser.add_argument(
      '--num_shards', type=int, default=None,
      help='Shards per split (default: one per bundle, chosen by the runner). '
      'On the DirectRunner a fixed shard count holds all examples in memory.')
  # The numeric layout flags: (name, type, default, what it means).
  layout_flags = (
      ('sample_rate', int, 16000, 'Sample rate of the audio feature, any '
       'rate. audio_16k is always 16 kHz.'),
      ('frame_rate', int, 250, 'Frames per second of f0_hz, f0_confidence '
       'and loudness_db; must divide 16000 and be >= 32; 0 writes audio '
       'only.'),
      ('example_secs', float, 4.0, 'Example (window) length in seconds; 0 '
       'makes each chunk one example.'),
      ('hop_secs', float, 1.0, 'Seconds between example starts.'),
      ('eval_split_fraction', float, 0.0, 'Fraction of examples for an eval '
       'split, chosen by a stable hash of (file, chunk) (or of (file, '
       'window) with --window_layout=file); 0 = no split.'),
      ('chunk_secs', float, 20.0, 'Chunk length: the audio is cut into '
       'chunks of this length (the last zero-padded), each analysed on its '
       'own and cut into examples; with --window_layout=file, only the '
       'longest stretch processed at once, in whole examples. 0 = whole '
       'files.'),
  )
  for name, flag_type, default, meaning in layout_flags:
    parser.add_argument(f'--{name}', type=flag_type, default=default,
                        help=meaning + ' (default: %(default)s)')
  flags.add_bool_flag(parser, 'center', False,
                 'Centre frames on their timestamps (adds one frame per '
                 'example).')
  flags.add_bool_flag(parser, 'viterbi', True, 'Viterbi-smooth the f0 track.')
  parser.add_argument(
      '--model_capacity', default='full',
      help="CREPE model: 'tiny', 'small', 'medium', 'large', 'full' or the "
      'path of a CREPE weight file (default: %(default)s).')
  parser.add_argument(
      '--f0_estimator', choices=('crepe', 'swiftf0'), default='crepe',
      help="Pitch tracker: 'crepe' (--model_capacity chooses its size) or "
      "'swiftf0' (much faster; needs pip install \"ddsp_tf[swiftf0]\") "
      '(default: %(default)s).')
  parser.add_argument(
      '--crepe_hop_ms', type=float, default=None,
      help="CREPE's analysis hop in ms, interpolated to --frame_rate; 10 is "
      "CREPE's native hop and 2.5x cheaper than 250 frames/s (default: the "
      'frame hop).')
  parser.add_argument(
      '--window_layout', choices=('chunks', 'file'), default='chunks',
      help="'chunks': the original's layout, windows within each chunk "
      "(from its zero padding too, none across chunks); 'file': ddsp_tf's, "
      'every window that fits in the file, features as if analysed whole '
      '(default: %(default)s).')
  parser.add_argument(
      '--short_clips', choices=('pad', 'skip'), default='pad',
      help='A file shorter than one example is zero-padded to one example, '
      'or skipped and listed in rejects.tsv (default: %(default)s).')
  parser.add_argument(
      '--confidence_threshold', type=float, default=0.7,
      help='Frames with f0_confidence >= this are voiced; stats.json '
      'summarizes loudness and pitch over voiced frames (default: '
      '%(default)s).')
  parser.add_argument('--stats_path', default=None,
                      help='Where to write stats.json (default: beside the '
                      'shards).')
  parser.add_argument('--rejects_path', default=None,
                      help='Where to write rejects.tsv (default: beside the '
                      'shards).')
  flags.add_bool_flag(
      parser, 'resume', True,
      'Reuse the chunks an interrupted run (killed, say) finished: each '
      "finished chunk's features are cached until the run completes, keyed "
      'by file path, size, mtime and the feature settings.')
  parser.add_argument(
      '--cache_dir', default=None, metavar='DIR',
      help='Where the chunk cache and progress markers go; every worker must '
      'reach it (default: <output dir>/.ddsp_tf_prepare_cache/<output '
      'name>; removed when the run succeeds).')
  parser.add_argument(
      '--progress_secs', type=float, default=30.0,
      help='Seconds between progress lines: files and audio-seconds done, '
      'rate, ETA (default: %(default)s).')
  parser.add_argument(
      '--dask_workers', type=int, default=None,
      help='With --runner=DaskRunner and no --dask_client_address: worker '
      'processes of the local Dask cluster started for the run (default: the '
      'CPU count).')
  parser.add_argument(
      '--pipeline_options', default='',
      help='Comma-separated Beam options, as the original took them; plain '
      '--flags work too.')
  parser.add_argument('--log_level', default='INFO',
                      choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'),
                      help='Logging level (default: %(default)s).')
  return parser


def _summary(stats: Dict[str, Any], seconds: float) -> str:
  """The one-line report printed at the end."""
  examples = stats['examples']
  split = (f"{examples['train']} train + {examples['eval']} eval"
           if stats['eval_split_fraction'] else f"{examples['train']}")
  loudness = stats['mean_loudness_db']
  pitch = stats['mean_pitch_midi']
  means = '' if loudness is None else (
      f'; voiced mean loudness {loudness:.1f} dB, pitch {pitch:.1f} MIDI')
  if stats.get('chunks_reused'):
    means += (f'; {stats["files_reused"]} file(s) ({stats["chunks_reused"]} '
              'chunk(s)) reused from an interrupted run')
  return (f'ddsp_tf_prepare_tfrecord: {split} examples from {stats["files"]} '
          f'file(s), {stats["audio_seconds"]:.1f} s of audio, '
          f'{stats["rejected_files"]} rejected ({stats["rejects_path"]})'
          f'{means}; {seconds:.1f} s wall.')


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs the tool.

  Args:
    argv: Arguments without the program name (default: sys.argv[1:]).

  Returns:
    The exit status.
  """
  args, beam_args = flags.parse_beam_script_args(make_parser(), argv)
  patterns = [pattern for flag in args.input_audio_filepatterns
              for pattern in flag.split(',') if pattern.strip()]

  # Imported here so that --help and flag errors do not wait for TensorFlow.
  from data_prep import pipeline  # pylint: disable=import-outside-toplevel
  from data_prep import runners  # pylint: disable=import-outside-toplevel
  start = time.monotonic()
  try:
    stats = pipeline.prepare_tfrecord(
        patterns, args.output_tfrecord_path, num_shards=args.num_shards,
        sample_rate=args.sample_rate, frame_rate=args.frame_rate,
        example_secs=args.example_secs, hop_secs=args.hop_secs,
        eval_split_fraction=args.eval_split_fraction,
        chunk_secs=args.chunk_secs, center=args.center,
        viterbi=args.viterbi, model_capacity=args.model_capacity,
        short_clips=args.short_clips,
        confidence_threshold=args.confidence_threshold,
        f0_estimator=args.f0_estimator, crepe_hop_ms=args.crepe_hop_ms,
        window_layout=args.window_layout, pipeline_options=beam_args,
        stats_path=args.stats_path,
        rejects_path=args.rejects_path, resume=args.resume,
        cache_dir=args.cache_dir, progress_secs=args.progress_secs,
        dask_workers=args.dask_workers)
  except (pipeline.NoUsableAudioError, runners.RunnerError) as error:
    print(f'ddsp_tf_prepare_tfrecord: error: {error}', file=sys.stderr)
    return 1
  except (ValueError, ImportError) as error:
    logging.debug('Invalid arguments.', exc_info=True)
    print(f'ddsp_tf_prepare_tfrecord: error: {error}', file=sys.stderr)
    return 2
  print(_summary(stats, time.monotonic() - start), flush=True)
  return 0


def console_entry_point() -> None:
  """The console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
