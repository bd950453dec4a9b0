r"""Timbre transfer with an exported model (`ddsp_tf_timbre_transfer`).

Resynthesize a recording with the instrument a model was trained on:

  ddsp_tf_timbre_transfer voice.mp3 --model=~/exports/violin \
    --output=violin.wav

The input may be any format soundfile reads (wav, flac, ogg, mp3, ...) at any
sample rate, mono or multi-channel (channels are averaged). Its pitch (CREPE,
Viterbi-decoded) and loudness are computed at the model's rates and, by
default, adjusted towards the model's training data as the original Colab
does: whole-octave shift towards the dataset's mean pitch, loudness mapped
onto the dataset's loudness distribution, frames outside notes turned down
(--quiet), optional auto-tune. Then --octave_shift, --pitch_shift and
--loudness_shift apply. The output is written at the model's sample rate,
to a temporary file renamed into place (WAV output is 32-bit float, so
nothing clips).

The model's room is applied unless --dry; --reverb_ir=FILE applies another
room response to the dry signal instead (a model's own room can be written
with ddsp_tf_extract_ir).

Exit status: 0 on success, 1 for an error (missing or unreadable input, bad
export, failed write), 2 for bad usage.
"""

import argparse
import logging
import sys
import time
from typing import Optional, Sequence, Tuple

import numpy as np

from data_prep import flags
from ddsp_tf import files
from ddsp_tf.apps import timbre_transfer as transfer_app

logger = logging.getLogger('ddsp_tf_timbre_transfer')

PROG = 'ddsp_tf_timbre_transfer'


def build_parser() -> argparse.ArgumentParser:
  """The ddsp_tf_timbre_transfer flags."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  add = parser.add_argument
  add('input', metavar='INPUT',
      help='Audio file to transform (any format and rate soundfile reads).')
  add('--model', required=True, metavar='EXPORT_DIR',
      help='Export directory written by ddsp_tf_export.')
  add('--output', required=True, metavar='OUT',
      help='Output audio file; the format follows the extension (.wav, '
      '.flac, .ogg, ...). Written at the model\'s sample rate.')
  flags.add_bool_flag(
      parser, 'auto_adjust', True,
      'Adjust pitch register and loudness towards the model\'s training '
      'data (needs dataset statistics in the export; skipped with a note '
      'otherwise).')
  add('--octave_shift', type=float, default=0.0,
      help='Manual pitch shift in octaves, after the adjustment (may be '
      'fractional). Default: 0.')
  add('--pitch_shift', type=float, default=0.0,
      help='Manual pitch shift in semitones, after --octave_shift. '
      'Default: 0.')
  add('--loudness_shift', type=float, default=0.0,
      help='Manual loudness shift in dB, after the adjustment. Default: 0.')
  add('--quiet', type=float, default=20.0,
      help='With auto adjust: how many dB to turn down frames outside notes '
      '(scaled by how far they are from being a note). Default: 20.')
  add('--autotune', type=float, default=0.0,
      help='With auto adjust: how far (0 to 1) to pull the pitch onto a '
      'tuned major scale. Default: 0.')
  add('--note_threshold', type=float, default=1.0,
      help='With auto adjust: note detection threshold; lower it if quiet '
      'notes are missed, raise it if noise counts as notes. Default: 1.')
  flags.add_bool_flag(
      parser, 'dry', False,
      'Output the signal before the model\'s reverb (the model must have '
      'one).')
  add('--reverb_ir', default=None, metavar='FILE',
      help='Audio file with a room impulse response (first sample = direct '
      'sound) to apply to the dry signal instead of the model\'s room; '
      'resampled if its rate differs. Not with --dry.')
  add('--crepe_model', default='full',
      help='CREPE size for pitch tracking: tiny, small, medium, large or '
      'full (the original\'s choice; small/medium/large need the '
      'ddsp_tf[crepe] extra), or a CREPE weight file. On a CPU, full takes '
      'several seconds per second of audio and tiny about 20 times less '
      '(on the bundled flute clip tiny\'s pitch is a median 2 cents from '
      'full\'s). Default: full.')
  add('--f0_estimator', choices=('crepe', 'swiftf0'), default=None,
      help='Pitch tracker for the input: crepe (--crepe_model chooses its '
      'size) or swiftf0 (much faster; needs pip install "ddsp_tf[swiftf0]"). '
      'Default: the one that made the model\'s training data, as its '
      'export metadata records (crepe for older exports).')
  add('--crepe_hop_ms', type=float, default=None,
      help='CREPE\'s analysis hop in ms (10 is its native hop), '
      'interpolated to the model\'s frame rate. Default: the training '
      'data\'s setting when --f0_estimator is not given, else the frame '
      'hop.')
  add('--features_out', default=None, metavar='FILE.npz',
      help='Also save the original and adjusted features (original_f0_hz, '
      'adjusted_loudness_db, mask_on, ...) as a .npz file.')
  return parser


def read_audio(path: str, what: str = 'input') -> Tuple[np.ndarray, int]:
  """files.read_audio, with its errors as CliError (exit status 1)."""
  try:
    return files.read_audio(path, what)
  except files.AudioFileError as error:
    raise flags.CliError(str(error)) from None


def run(args: argparse.Namespace) -> None:
  """Reads, transforms and writes; prints progress lines.

  Args:
    args: Parsed flags (see build_parser).

  Raises:
    flags.CliError: For missing or unreadable files or a bad export.
    ValueError: For audio or settings the library rejects.
  """
  input_path = files.expand_path(args.input)
  output_path = files.expand_path(args.output)
  model_dir = files.expand_path(args.model)
  if args.dry and args.reverb_ir:
    raise flags.CliError(
        '--dry and --reverb_ir ask for different rooms; pass one.')
  # Everything that can fail cheaply is checked before the slow work.
  try:
    files.audio_format(output_path)
  except ValueError as error:
    raise flags.CliError(str(error)) from None
  flags.check_output_dir(output_path)
  if args.features_out:
    flags.check_output_dir(files.expand_path(args.features_out))
  audio, sample_rate = read_audio(input_path)
  ir, ir_rate = (read_audio(files.expand_path(args.reverb_ir), 'reverb IR')
                 if args.reverb_ir else (None, None))

  start = time.monotonic()
  print(f'Loading the model {model_dir}', flush=True)
  try:
    model = transfer_app.load_model(model_dir)
  except (FileNotFoundError, transfer_app.ExportError) as error:
    raise flags.CliError(str(error)) from None
  if args.dry and not model.has_reverb:
    raise flags.CliError(
        f'--dry: the model {model_dir} has no reverb; its output '
        'is already dry.')
  print(f'Input {input_path}: {audio.shape[0] / sample_rate:.2f} s at '
        f'{sample_rate} Hz, {audio.shape[1]} channel(s); model at '
        f'{model.sample_rate} Hz, {model.frame_rate} frames/s', flush=True)
  if model.dataset_statistics is None and args.auto_adjust:
    print('The export has no dataset statistics: skipping auto adjust, '
          'manual shifts only.', flush=True)
  estimator = args.f0_estimator or model.f0_estimator
  tracker = (f'CREPE {args.crepe_model}' if estimator == 'crepe' else
             'SwiftF0')
  print(f'Computing features ({tracker}) and resynthesizing', flush=True)
  mono = audio[:, 0] if audio.shape[1] == 1 else np.mean(audio, axis=1)
  audio_out, info = transfer_app.timbre_transfer(
      mono, sample_rate, model, crepe_model=args.crepe_model,
      f0_estimator=args.f0_estimator, crepe_hop_ms=args.crepe_hop_ms,
      pitch_shift=args.pitch_shift, dry=args.dry,
      reverb_ir=None if ir is None else np.mean(ir, axis=1),
      reverb_ir_sample_rate=ir_rate, auto_adjust=args.auto_adjust,
      octave_shift=args.octave_shift, loudness_shift_db=args.loudness_shift,
      quiet_db=args.quiet, autotune=args.autotune,
      note_threshold=args.note_threshold)
  adjusted = info['adjusted']
  if args.auto_adjust and model.dataset_statistics is not None:
    print(f'Auto adjust: {np.mean(adjusted["mask_on"]):.0%} of frames in '
          f'notes, octave shift {int(adjusted["auto_octave_shift"]):+d}, '
          f'tuning {float(adjusted["tuning_factor"]):+.2f} semitones',
          flush=True)
  files.write_audio_atomically(output_path, audio_out, model.sample_rate)
  print(f'Wrote {output_path} ({audio_out.shape[0] / model.sample_rate:.2f} s '
        f'at {model.sample_rate} Hz, peak {np.max(np.abs(audio_out)):.3f}) in '
        f'{time.monotonic() - start:.1f} s', flush=True)
  if args.features_out:
    features_path = files.expand_path(args.features_out)
    arrays = {f'original_{key}': value
              for key, value in info['features'].items()}
    arrays.update({f'adjusted_{key}': value for key, value in adjusted.items()
                   if key not in ('mask_on', 'note_on_ratio', 'audio')})
    arrays.update(mask_on=adjusted['mask_on'],
                  note_on_ratio=adjusted['note_on_ratio'])
    files.write_npz_atomically(features_path, arrays)
    print(f'Wrote the features to {features_path}', flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs ddsp_tf_timbre_transfer.

  Args:
    argv: Arguments without the program name; None reads sys.argv.

  Returns:
    The exit status: 0 on success, 1 for an error (2 for bad usage exits
    from argparse).
  """
  args = flags.parse_args(build_parser(), argv)
  logging.basicConfig(level=logging.INFO, format='%(message)s')
  return flags.exit_status(PROG, lambda: run(args), (flags.CliError,),
                           (ValueError, TypeError, OSError, ImportError))


def console_entry_point() -> None:
  """The installed `ddsp_tf_timbre_transfer` console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
