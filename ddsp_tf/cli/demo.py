r"""The main job in one command (the `ddsp_tf_demo` script).

With no arguments it trains a small solo-instrument model on the bundled
60-second violin clip and listens to it, on a CPU, in about a quarter of an
hour:

  ddsp_tf_demo                       # or: python -m ddsp_tf.cli.demo

1. prepare: data_prep's Beam pipeline (DirectRunner, CREPE) writes
   TFRecords and stats.json to OUTPUT_DIR/data;
2. train: ddsp_tf_run trains models/solo_instrument_cpu.gin (with
   datasets/tfrecord.gin) in OUTPUT_DIR/train, printing progress lines;
3. export: the model goes to OUTPUT_DIR/export (ddsp_tf_export's format);
4. resynthesis: the training audio (the first file, up to 60 s) is
   resynthesized from its own pitch and loudness, then re-analysed;
5. transfer: the bundled flute clip (or --transfer_audio) is played by the
   model, adjusted to its training data's register and loudness;
6. outputs in OUTPUT_DIR: input_train.wav, resynthesis.wav,
   input_transfer.wav, timbre_transfer.wav, spectrograms.png (inputs and
   outputs with their f0 tracks) and summary.json (settings, seconds per
   stage, metrics), each written to a temporary file and renamed. A summary
   table is printed: the f0 L1 in semitones over voiced frames (CREPE
   confidence >= 0.85) of the resynthesis against the input, and the
   loudness L1 in dB, with the targets < 0.5 semitone and < 3 dB.

Rerunning: a rerun with the same settings in the same OUTPUT_DIR reuses the
prepared data, the trained model and the export (an interrupted training
resumes from its latest checkpoint) and redoes steps 4 to 6. If OUTPUT_DIR
holds a run with other settings (input files, --steps, --batch_size,
--crepe_model, --gin_param) or other files, the demo stops with an error.
--overwrite always starts over: it deletes the demo's own files and folders
in OUTPUT_DIR (nothing else) first.

Exit status: 0 when the demo ran (whether or not the quality targets were
met; see summary.json's all_targets_met), 1 for an error (no audio
matched, unreadable transfer file, unwritable or occupied output
directory, failed stage), 2 for bad usage.
"""

import argparse
import logging
import sys
from typing import Optional, Sequence

from absl import logging as absl_logging

from data_prep import flags
from ddsp_tf import crepe
from ddsp_tf.apps import demo

PROG = 'ddsp_tf_demo'


def _positive_int(text: str) -> int:
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value < 1:
    raise argparse.ArgumentTypeError(
        f'expected a whole number >= 1, got {text!r}')
  return value


def build_parser() -> argparse.ArgumentParser:
  """The ddsp_tf_demo flags."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  add = parser.add_argument
  add('--input_audio_filepatterns', action='append', default=[],
      metavar='PATTERN',
      help='Your own training audio instead of the bundled violin clip: '
      'files, globs (** recurses) or folders, comma-separated or repeated; '
      'any format and rate soundfile reads. Use one instrument recorded in '
      'one room. The first file (sorted by path, up to 60 s) is the one '
      'resynthesized. Default: the bundled violin_train.flac.')
  add('--transfer_audio', default=None, metavar='FILE',
      help='Audio file to play with the trained model\'s timbre. Default: '
      'the bundled flute_transfer.flac.')
  add('--output_dir', default=demo.DEFAULT_OUTPUT_DIR, metavar='DIR',
      help='Where the data, run, export and listening files go (created if '
      f'missing). Default: ./{demo.DEFAULT_OUTPUT_DIR}.')
  add('--steps', type=_positive_int, default=demo.DEFAULT_STEPS,
      help='Training steps. Training takes most of the time and scales with '
      'steps x batch size; fewer steps give a worse model. Default: '
      f'{demo.DEFAULT_STEPS}.')
  add('--batch_size', type=_positive_int, default=demo.DEFAULT_BATCH_SIZE,
      help='Examples (4-second windows) per training step. Default: '
      f'{demo.DEFAULT_BATCH_SIZE}.')
  add('--crepe_model', choices=crepe.CAPACITIES,
      default=demo.DEFAULT_CREPE_MODEL,
      help='CREPE size for every pitch analysis (data preparation, '
      'resynthesis, metrics, transfer, and the export\'s embedded CREPE). '
      'tiny is about 20 times faster than full on a CPU; small, medium and '
      'large need the ddsp_tf[crepe] extra. Default: '
      f'{demo.DEFAULT_CREPE_MODEL}.')
  add('--gin_param', action='append', default=[],
      help='Extra gin binding for training, after the demo\'s own, e.g. '
      '"learning_rate=3e-3" (repeatable).')
  add('--vst', action='store_true',
      help='Train the DDSP-VST model (models/vst/vst.gin, data framed '
      'centred at 50 frames/s), export the plugin\'s model as '
      f'OUTPUT_DIR/{demo.VST_MODEL_FILE} (copy it into the plugin\'s model '
      'folder, ~/Documents/Magenta/DDSP/Models), and render the '
      'resynthesis and transfer through it hop by hop as the plugin does '
      '(ddsp_tf_vst_play).')
  add('--overwrite', action='store_true',
      help='Delete the demo\'s files and folders in OUTPUT_DIR (nothing '
      'else) and start over. Without it, a rerun with the same settings '
      'reuses the finished stages, and a directory with another run or '
      'other files is an error.')
  return parser


def _run(settings: demo.DemoSettings) -> None:
  """Runs the demo and prints its summary table and output files."""
  summary = demo.run_demo(settings, log=lambda line: print(line, flush=True))
  print('\n' + demo.format_summary(summary))
  print('\nListen to and look at:\n' +
        '\n'.join(f'  {path}' for path in summary['outputs']), flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs ddsp_tf_demo.

  Args:
    argv: Arguments without the program name; None reads sys.argv.

  Returns:
    The exit status: 0 when the demo ran (whether or not it met the quality
    targets), 1 for an error; bad usage exits with status 2 from argparse.
  """
  args = build_parser().parse_args(argv)
  logging.basicConfig(
      level=logging.INFO,
      format='%(asctime)s %(levelname)s %(name)s: %(message)s')
  logging.getLogger('apache_beam').setLevel(logging.WARNING)
  absl_logging.set_verbosity(absl_logging.WARNING)
  settings = demo.DemoSettings(
      input_audio_filepatterns=tuple(
          pattern for flag in args.input_audio_filepatterns
          for pattern in flag.split(',') if pattern.strip()),
      transfer_audio=args.transfer_audio, output_dir=args.output_dir,
      steps=args.steps, batch_size=args.batch_size,
      crepe_model=args.crepe_model, gin_params=tuple(args.gin_param),
      overwrite=args.overwrite, vst=args.vst)
  return flags.exit_status(PROG, lambda: _run(settings), (demo.DemoError,),
                           (ValueError, OSError))


def console_entry_point() -> None:
  """The installed `ddsp_tf_demo` console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
