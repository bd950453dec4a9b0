"""ddsp_tf_vst_play: play an audio file through a DDSP-VST model file.

Example:
  ddsp_tf_vst_play voice.wav --model ~/runs/vst/violin/tflite/violin.tflite \\
      --output violin.wav

Runs the plugin's loop (ddsp_tf.apps.vst_player): 1024-sample frames every
320 samples at 16 kHz, CREPE f0 and frame power, the model once per frame
with its GRU state fed back, and the plugin's harmonic and noise synthesis
(no reverb). Writes 16 kHz audio and prints the real-time factor.
"""

import argparse
import logging
import sys
from typing import Optional, Sequence

from data_prep import flags
from ddsp_tf import crepe
from ddsp_tf import files
from ddsp_tf.apps import vst_player

logger = logging.getLogger('ddsp_tf_vst_play')


def build_parser() -> argparse.ArgumentParser:
  """The flags of ddsp_tf_vst_play."""
  parser = argparse.ArgumentParser(
      prog='ddsp_tf_vst_play',
      description='Play an audio file through a DDSP-VST .tflite model as '
      'the DDSP-VST plugin does, hop by hop, and write the result (16 kHz).')
  add = parser.add_argument
  add('input', metavar='INPUT', help='Audio file (any rate; mixed to mono).')
  add('--model', required=True, metavar='NAME.tflite',
      help='A plugin model: ddsp_tf_export --model_path=RUN '
      '--inference_model=vst_stateless_predict_controls writes it.')
  add('--output', required=True, metavar='OUT',
      help='Output audio file (.wav: 32-bit float).')
  add('--crepe_model', default='tiny', choices=crepe.CAPACITIES,
      help='CREPE capacity for the input\'s f0.')
  add('--pitch_shift', type=float, default=0.0,
      help='Semitones added to the input\'s pitch (the plugin\'s knob, '
      '-24..24).')
  add('--block_size', type=int, default=512,
      help='Samples per processing call, as a host\'s buffer.')
  add('--seed', type=int, default=42, help='Seed of the noise.')
  add('--log_level', default='WARNING',
      choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'),
      help='Logging level; DEBUG also prints tracebacks of errors.')
  return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs ddsp_tf_vst_play; returns the exit status (0, 1 error, 2 usage)."""
  args = flags.parse_args(build_parser(), argv)
  logging.basicConfig(level=getattr(logging, args.log_level))
  try:
    result = vst_player.play_file(
        args.input, args.model, args.output, crepe_model=args.crepe_model,
        pitch_shift=args.pitch_shift, block_size=args.block_size,
        seed=args.seed)
  except (ValueError, FileNotFoundError, files.AudioFileError,
          PermissionError) as error:
    logger.debug('Traceback:', exc_info=True)
    print(f'ddsp_tf_vst_play: error: {error}', file=sys.stderr)
    return 1
  print(f'Wrote {result["output"]}: {result["seconds"]:.2f} s of audio in '
        f'{result["wall_seconds"]:.2f} s ({result["real_time_factor"]:.1f}x '
        f'real time; latency {result["latency_samples"]} samples).')
  return 0


def console_entry_point() -> None:
  """The installed `ddsp_tf_vst_play` console script."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
