r"""Writes an exported model's room response (the `ddsp_tf_extract_ir` script).

  ddsp_tf_extract_ir --model=~/exports/violin --output=violin_room.wav

The impulse response is the model's learned reverb as stored in the export
(its first sample is the direct sound), at the model's sample rate. Apply it
to other audio with `ddsp_tf_timbre_transfer --reverb_ir=FILE` or
`ddsp_tf.apps.timbre_transfer.apply_reverb_ir`. WAV output is 32-bit float.

Exit status: 0 on success, 1 for an error (bad export, a model without
reverb, failed write), 2 for bad usage.
"""

import argparse
import sys
from typing import Optional, Sequence

from data_prep import flags
from ddsp_tf import files
from ddsp_tf.apps import timbre_transfer as transfer_app

PROG = 'ddsp_tf_extract_ir'


def build_parser() -> argparse.ArgumentParser:
  """The ddsp_tf_extract_ir flags."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--model', required=True, metavar='EXPORT_DIR',
                      help='Export directory written by ddsp_tf_export.')
  parser.add_argument('--output', required=True, metavar='IR.wav',
                      help='Where to write the impulse response; the format '
                      'follows the extension.')
  return parser


def run(args: argparse.Namespace) -> None:
  """Loads the export and writes its IR.

  Args:
    args: Parsed flags (see build_parser).

  Raises:
    flags.CliError: For a bad export, a model without reverb or a
      bad output path.
  """
  output_path = files.expand_path(args.output)
  try:
    files.audio_format(output_path)
  except ValueError as error:
    raise flags.CliError(str(error)) from None
  flags.check_output_dir(output_path)
  try:
    model = transfer_app.load_model(files.expand_path(args.model))
    ir = model.reverb_ir()
  except (FileNotFoundError, ValueError) as error:
    raise flags.CliError(str(error)) from None
  files.write_audio_atomically(output_path, ir, model.sample_rate)
  print(f'Wrote {output_path}: {ir.shape[0]} samples '
        f'({ir.shape[0] / model.sample_rate:.3f} s) at {model.sample_rate} Hz',
        flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs ddsp_tf_extract_ir; returns the exit status (0 ok, 1 error)."""
  args = build_parser().parse_args(argv)
  return flags.exit_status(PROG, lambda: run(args),
                           (flags.CliError,), (OSError,))


def console_entry_point() -> None:
  """The installed `ddsp_tf_extract_ir` console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
