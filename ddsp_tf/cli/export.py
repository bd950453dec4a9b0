"""ddsp_tf_export: export a training run as a SavedModel directory.

Example:
  ddsp_tf_export --save_dir=~/runs/violin
  ddsp_tf_export --save_dir=~/runs/violin --export_dir=~/models/violin \\
      --dataset_stats=~/data/violin/stats.json --overwrite
  ddsp_tf_export --save_dir=~/runs/violin --tflite

With --tflite the export also holds tflite/model.tflite, a frame-wise
streaming model: call its serving_default signature once per frame with
f0_hz [1], loudness_db [1] and the carried state (all zeros at first; the
names are in metadata.json under tflite.carried_state), play the returned
hop_size samples of 'audio' (dry: no reverb) and pass each returned state
tensor back in under the same name.

See ddsp_tf.apps.export for what the directory holds.
"""

import argparse
import logging
import os
import sys
from typing import Optional, Sequence

from absl import logging as absl_logging

from ddsp_tf import crepe
from ddsp_tf import files
from ddsp_tf.apps import export

logger = logging.getLogger('ddsp_tf_export')


def build_parser() -> argparse.ArgumentParser:
  """The flags of ddsp_tf_export."""
  parser = argparse.ArgumentParser(
      prog='ddsp_tf_export',
      description=(
          'Restore the latest checkpoint of a ddsp_tf training run and write '
          'a TF SavedModel (signatures serving_default: f0_hz, loudness_db -> '
          'audio, and audio_to_audio) that takes any length, with '
          'metadata.json, operative_config.gin and reverb_ir.wav.'))
  add = parser.add_argument
  add('--save_dir', required=True,
      help='Training directory of the run (holds operative_config-*.gin and '
      'the ckpt-* checkpoints).')
  add('--export_dir', default=None,
      help='Directory to write; default <save_dir>/export. Written under a '
      'temporary name and renamed, so a failed export leaves nothing.')
  add('--checkpoint', default=None,
      help='Checkpoint prefix (e.g. <save_dir>/ckpt-3000) or directory of '
      'checkpoints to export; default the latest in --save_dir.')
  add('--crepe_model', default='tiny', choices=crepe.CAPACITIES,
      help='CREPE capacity embedded in the audio_to_audio signature.')
  add('--dataset_stats', default=None,
      help='stats.json of the training data, stored in metadata.json for '
      'feature adjustment; default the stats.json beside the run\'s '
      'TFRecordProvider.file_pattern, or none.')
  add('--overwrite', action='store_true',
      help='Replace --export_dir if it exists and is not empty.')
  add('--tflite', action='store_true',
      help='Also write tflite/model.tflite (TFLite builtin ops), a '
      'frame-wise streaming model: each call takes one frame (f0_hz [1], '
      'loudness_db [1]) and the carried state (rnn_state, phase, prev_f0_hz, '
      'prev_harmonic_amps, noise_tail; zeros at first) and returns hop_size '
      'samples of dry audio (harmonic + noise, no reverb) and the new state '
      'under the same names; loop over the frames feeding the state back. '
      'Described under "tflite" in metadata.json.')
  add('--gin_param', action='append', default=[],
      help='Extra gin binding applied after the run\'s operative config, '
      'e.g. "Harmonic.normalize_below_nyquist = False"; repeatable.')
  add('--log_level', default='INFO',
      choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'),
      help='Logging level; DEBUG also prints tracebacks of errors.')
  return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs ddsp_tf_export.

  Args:
    argv: Arguments without the program name; None reads sys.argv.

  Returns:
    The exit status: 0 on success, 1 for an error, 2 for bad usage.
  """
  args = build_parser().parse_args(argv)
  logging.basicConfig(
      level=getattr(logging, args.log_level),
      format='%(asctime)s %(levelname)s %(name)s: %(message)s')
  absl_logging.set_verbosity(absl_logging.WARNING)
  save_dir = files.expand_path(args.save_dir)
  export_dir = args.export_dir or os.path.join(save_dir, 'export')
  try:
    path = export.export_model(
        save_dir, export_dir, checkpoint=args.checkpoint,
        crepe_model=args.crepe_model, dataset_statistics=args.dataset_stats,
        overwrite=args.overwrite, gin_params=args.gin_param,
        tflite=args.tflite)
  except (ValueError, FileNotFoundError, FileExistsError,
          PermissionError) as error:
    logger.debug('Traceback:', exc_info=True)
    print(f'ddsp_tf_export: error: {type(error).__name__}: {error}',
          file=sys.stderr)
    return 1
  print(f'Exported to {path}')
  return 0


def console_entry_point() -> None:
  """The installed `ddsp_tf_export` console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
