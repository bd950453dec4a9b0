"""ddsp_tf_export: export a training run as a SavedModel directory.

Two ways to call it. ddsp_tf's own (--save_dir names the training run):
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

magenta/ddsp's ddsp_export flags (--model_path given; --save_dir then names
the OUTPUT directory, as in the original):
  ddsp_tf_export --model_path=~/runs/vst --inference_model=vst_stateless_predict_controls \\
      --name=violin
writes ~/runs/vst/violin/ with the SavedModel, metadata.json,
reverb_ir_16000_hz.wav, reverb_ir_44100_hz.wav and tflite/violin.tflite,
the model the DDSP-VST plugin plays (copy it into
~/Documents/Magenta/DDSP/Models). --inference_model takes every choice of
the original; --tfjs is refused with the reason.

See ddsp_tf.apps.export for what the directories hold.
"""

import argparse
import logging
import os
import sys
from typing import Optional, Sequence


from ddsp_tf import console_logging
from ddsp_tf import crepe
from data_prep import flags
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
  add('--save_dir', default='',
      help='Without --model_path: the training directory of the run (holds '
      'operative_config-*.gin and the ckpt-* checkpoints). With --model_path '
      '(magenta/ddsp\'s flags): the output directory, default '
      '<model_path>/<name or export>.')
  add('--model_path', default='',
      help='magenta/ddsp\'s flag: a run directory, a checkpoint prefix '
      '(<run>/ckpt-N) or a SavedModel directory to convert; selects the '
      'original\'s export (--inference_model, --name, --metadata, --reverb).')
  add('--inference_model', default='streaming_f0_pw',
      choices=sorted(export.INFERENCE_MODELS),
      help='With --model_path: the ddsp.training.inference model to export '
      '(vst_stateless_predict_controls for the DDSP-VST plugin; '
      'streaming_f0_pw: ddsp_tf\'s own export).')
  add('--name', default='',
      help='With --model_path: the .tflite file name (tflite/<name>.tflite) '
      'and the default export folder name.')
  flags.add_bool_flag(parser, 'tfjs', False,
                      'With --model_path: convert to TF.js (not supported; '
                      'refused with the reason).')
  flags.add_bool_flag(parser, 'metadata', True,
                      'With --model_path: compute the training data\'s pitch '
                      'and power statistics into metadata.json (appended to '
                      'the .tflite for the plugin).')
  add('--dataset_path', default=None,
      help='With --model_path and --metadata: TFRecord file pattern of the '
      'training data; default the run\'s train.data_provider.')
  add('--metadata_file', default=None,
      help='With --model_path: a JSON file to append to the .tflite instead '
      'of the computed metadata.')
  flags.add_bool_flag(parser, 'reverb', True,
                      'With --model_path: write the trained reverb\'s impulse '
                      'response as reverb_ir_<rate>_hz.wav.')
  add('--reverb_sample_rate', type=int, default=44100,
      help='With --model_path and --reverb: also write the impulse response '
      'resampled to this rate.')
  add('--debug', action='store_true',
      help='With --model_path: build and check everything, write nothing.')
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
  tflite = parser.add_mutually_exclusive_group()
  tflite.add_argument(
      '--tflite', dest='tflite', action='store_true', default=None,
      help='Also write tflite/model.tflite (TFLite builtin ops). Without '
      '--model_path: a frame-wise streaming model: each call takes one frame '
      '(f0_hz [1], loudness_db [1]) and the carried state (rnn_state, phase, '
      'prev_f0_hz, prev_harmonic_amps, noise_tail; zeros at first) and '
      'returns hop_size samples of dry audio (harmonic + noise, no reverb) '
      'and the new state under the same names; loop over the frames feeding '
      'the state back. Described under "tflite" in metadata.json. With '
      '--model_path: the --inference_model as TFLite. Default: off without '
      '--model_path, on with it (as magenta/ddsp).')
  tflite.add_argument('--notflite', dest='tflite', action='store_false',
                      help='Turn --tflite off.')
  add('--gin_param', action='append', default=[],
      help='Extra gin binding applied after the run\'s operative config, '
      'e.g. "Harmonic.normalize_below_nyquist = False"; repeatable.')
  console_logging.add_log_level_flag(parser)
  return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs ddsp_tf_export.

  Args:
    argv: Arguments without the program name; None reads sys.argv.

  Returns:
    The exit status: 0 on success, 1 for an error, 2 for bad usage.
  """
  parser = build_parser()
  args = flags.parse_args(parser, argv)
  if not args.model_path and not args.save_dir:
    parser.error('give --save_dir (the training run) or --model_path '
                 '(magenta/ddsp\'s flags).')
  console_logging.configure(args.log_level)
  try:
    if args.model_path:
      path = export.export_inference_model(
          args.model_path, save_dir=args.save_dir, name=args.name,
          inference_model=args.inference_model,
          tflite=args.tflite is not False, tfjs=args.tfjs,
          metadata=args.metadata, dataset_path=args.dataset_path,
          metadata_file=args.metadata_file, reverb=args.reverb,
          reverb_sample_rate=args.reverb_sample_rate,
          gin_params=args.gin_param, debug=args.debug)
    else:
      save_dir = files.expand_path(args.save_dir)
      export_dir = args.export_dir or os.path.join(save_dir, 'export')
      path = export.export_model(
          save_dir, export_dir, checkpoint=args.checkpoint,
          crepe_model=args.crepe_model,
          dataset_statistics=args.dataset_stats, overwrite=args.overwrite,
          gin_params=args.gin_param, tflite=bool(args.tflite))
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
