"""ddsp_tf_generate_synthetic_dataset: synthetic notes -> TFRecord shards.

The ICML 2020 inverse-synthesis data (magenta/ddsp's
ddsp_generate_synthetic_dataset). Example (all local cores):

  ddsp_tf_generate_synthetic_dataset \\
    --output_tfrecord_path=/data/synthetic/notes.tfrecord \\
    --num_shards=10 --num_examples=100000 \\
    --gin_param='generate_examples.generate_fn = @generate_notes_v2' \\
    --runner=DirectRunner --direct_num_workers=0 \\
    --direct_running_mode=multi_processing

Flags this script does not define are Beam pipeline options. Exit status: 0
on success, 2 for invalid flags or gin bindings.
"""

import argparse
import importlib.util
import logging
import os
import sys
import time
from typing import Optional, Sequence

from data_prep import flags

# The folder of ddsp_tf's shipped gin configs (the original's GIN_PATH),
# first on the gin search path; found without importing ddsp_tf.
GIN_PATH = os.path.join(
    importlib.util.find_spec('ddsp_tf').submodule_search_locations[0],
    'training', 'gin')

_EPILOG = """\
Gin chooses the generator and its arguments, e.g.
  --gin_param='generate_examples.generate_fn = @generate_notes_v2'
  --gin_param='generate_notes_v2.n_timesteps = 125'
  --gin_param='generate_notes_v2.n_harmonics = 100'
  --gin_param='generate_notes_v2.n_mags = 65'
(generators: @generate_notes, @generate_notes_v2). Each example holds the
controls f0_hz and harm_amp [n_timesteps, 1], harm_dist, sin_amps and
sin_freqs [n_timesteps, n_harmonics] and noise_magnitudes [n_timesteps,
n_mags]. Outputs: shards <output>-SSSSS-of-NNNNN and, last,
synthetic_stats.json (settings, shapes, shard list) beside them. Read them
with ddsp_tf.training.data.SyntheticNotes(n_timesteps, n_harmonics, n_mags,
file_pattern='<output>*').

Any other --flag is a Beam pipeline option, e.g. --runner=DirectRunner
--direct_num_workers=2 --direct_running_mode=multi_processing, or
--runner=DataflowRunner --project=... --region=... --temp_location=gs://...
--setup_file=./setup.py.
"""


def make_parser() -> argparse.ArgumentParser:
  """The flag parser; flags follow magenta/ddsp's script."""
  parser = argparse.ArgumentParser(
      prog='ddsp_tf_generate_synthetic_dataset',
      description=__doc__.split('\n')[0], epilog=_EPILOG,
      formatter_class=argparse.RawDescriptionHelpFormatter,
      allow_abbrev=False)
  parser.add_argument(
      '--output_tfrecord_path', required=True, metavar='PREFIX',
      help='Shard path prefix; shard numbers are appended.')
  parser.add_argument(
      '--num_shards', type=int, default=None,
      help='Number of shards (default: chosen by the runner). On the '
      'DirectRunner a fixed shard count holds all examples in memory.')
  parser.add_argument('--num_examples', type=int, default=1000000,
                      help='Examples to generate (default: %(default)s).')
  parser.add_argument(
      '--random_seed', type=int, default=42,
      help='Seed of the per-example seeds; the same seed gives the same '
      'examples (default: %(default)s).')
  parser.add_argument(
      '--pipeline_options', default='',
      help='Comma-separated Beam options, as the original took them; plain '
      '--flags work too.')
  parser.add_argument('--gin_search_path', action='append', default=[],
                      help='Folder searched for gin files after the '
                      "package's; repeatable.")
  parser.add_argument('--gin_file', action='append', default=[],
                      help='Gin config file; repeatable.')
  parser.add_argument('--gin_param', action='append', default=[],
                      help='Gin binding; repeatable.')
  parser.add_argument('--log_level', default='INFO',
                      choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'),
                      help='Logging level (default: %(default)s).')
  return parser


def parse_gin(search_paths: Sequence[str], gin_files: Sequence[str],
              gin_params: Sequence[str]) -> None:
  """Parses the gin files and bindings into a cleared config.

  Unknown configurables and parameters are errors.

  Args:
    search_paths: Folders searched for gin files after GIN_PATH.
    gin_files: Config files, by path or by name in the search path.
    gin_params: Single bindings.

  Raises:
    ValueError: For a missing folder or file, an unknown name or bad
      syntax; the message holds the search path.
  """
  # Imported here so that --help and flag errors do not wait for TensorFlow;
  # the generators register their gin names on import.
  # pylint: disable=import-outside-toplevel,unused-import
  import gin
  from data_prep import synthetic_pipeline
  # pylint: enable=import-outside-toplevel,unused-import
  folders = [GIN_PATH]
  for folder in search_paths:
    folder = os.path.abspath(os.path.expanduser(folder))
    if not os.path.isdir(folder):
      raise ValueError(f'--gin_search_path={folder!r} is not a directory.')
    folders.append(folder)
  gin.clear_config()
  for folder in folders:
    gin.add_config_file_search_path(folder)
  where = (f'gin search path: the working directory {os.getcwd()!r}, then '
           f'{folders}')
  try:
    with gin.unlock_config():
      gin.parse_config_files_and_bindings(list(gin_files), list(gin_params),
                                          skip_unknown=False)
  except OSError as error:  # gin raises IOError for missing files.
    raise ValueError(f'Gin file not found: {error}\n{where}') from None
  except (ValueError, SyntaxError, TypeError) as error:
    raise ValueError(f'Bad gin config: {error}\n{where}') from None


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs the tool.

  Args:
    argv: Arguments without the program name (default: sys.argv[1:]).

  Returns:
    The exit status.
  """
  args, beam_args = flags.parse_beam_script_args(make_parser(), argv)

  start = time.monotonic()
  try:
    parse_gin(args.gin_search_path, args.gin_file, args.gin_param)
    # pylint: disable-next=import-outside-toplevel
    from data_prep import synthetic_pipeline
    summary = synthetic_pipeline.generate_synthetic_dataset(
        args.output_tfrecord_path, num_shards=args.num_shards,
        num_examples=args.num_examples, random_seed=args.random_seed,
        pipeline_options=beam_args)
  except ValueError as error:
    logging.debug('Invalid arguments.', exc_info=True)
    print(f'ddsp_tf_generate_synthetic_dataset: error: {error}',
          file=sys.stderr)
    return 2
  shapes = ', '.join(f'{key} {shape}'
                     for key, shape in summary['feature_shapes'].items())
  print(f'ddsp_tf_generate_synthetic_dataset: {summary["num_examples"]} '
        f'examples of {summary["generate_fn"]} in '
        f'{len(summary["shards"])} shard(s) ({shapes}); '
        f'{time.monotonic() - start:.1f} s wall.', flush=True)
  return 0


def console_entry_point() -> None:
  """The console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
