"""Writes checkpoints of small MIDI autoencoders of magenta/ddsp v3.7.0.

Run with the original's environment (it imports `ddsp`, the original):

  TF_USE_LEGACY_KERAS=1 /tmp/ref/venv/bin/python \
      tests/golden/make_original_midi_checkpoint.py [case ...]

For each case of CASES (default both: midiae, z_midiae), the model of
models/midiae/<case>.gin (midiae with the mixin
models/midiae/mixins/midi_encoder.gin), shrunk by gin bindings, is built by one call on a fixed batch, its variables get fixed
random values, an Adam optimizer takes one step of zero gradients, and
`tf.train.Checkpoint(model=..., optimizer=...)` is saved into
`tests/golden/original_<case>/` with the run's `operative_config-0.gin`.
`expected.npz` holds the batch (`in_<feature>`) and the original's
deterministic outputs on it in inference mode (`out_<key>`): the
synthcoder's and the MIDI decoder's synthesis parameters, the quantized
pitch and velocity (midiae: the MIDI encoder's) and, for z_midiae, its
latents.

tests/test_checkpoint_conversion.py reads only these files.
"""

import numpy as np

import make_original_checkpoint  # Beside this script (imports the original).

f32 = make_original_checkpoint.f32

N_FRAMES = 50  # 1 s at 50 frames/s.
N_SAMPLES = 16000
_SMALL = [
    'F0LoudnessPreprocessor.time_steps = 50',
    'F0LoudnessPreprocessor.frame_rate = 50',
    # The MIDI autoencoders' preprocessor gets no audio in the original.
    'F0LoudnessPreprocessor.compute_loudness = False',
    'Harmonic.n_samples = 16000',
    'FilteredNoise.n_samples = 16000',
    'Reverb.reverb_length = 100',
    'DilatedConvDecoder.ch = 4',
    'DilatedConvDecoder.layers_per_stack = 2',
    'DilatedConvDecoder.stacks = 1',
    "DilatedConvDecoder.output_splits = (('amplitudes', 1), "
    "('harmonic_distribution', 6), ('magnitudes', 5))",
    'MidiToHarmonicDecoder.output_splits = (('
    "'f0_midi', 1), ('amplitudes', 1), ('harmonic_distribution', 6), "
    "('magnitudes', 5))",
    'dec/DilatedConvStack.ch = 4',
    'dec/DilatedConvStack.layers_per_stack = 2',
    'dec/DilatedConvStack.stacks = 1',
    'enc/DilatedConvStack.ch = 4',
    'enc/DilatedConvStack.layers_per_stack = 2',
    'enc/DilatedConvStack.stacks = 1',
]
_SMALL_Z = _SMALL + [
    'z/DilatedConvStack.ch = 4',
    'z/DilatedConvStack.layers_per_stack = 2',
    'z/DilatedConvStack.stacks = 1',
    'ee/ExpressionEncoder.z_dims = 3',
    'zn/ExpressionEncoder.z_dims = 3',
    'MfccTimeDistributedRnnEncoder.rnn_channels = 8',
    'MfccTimeDistributedRnnEncoder.z_dims = 3',
    'MfccTimeDistributedRnnEncoder.z_time_steps = 125',
    'OneHotEncoder.n_dims = 4',
    'nn.FcStackOut.ch = 4',
    'nn.FcStackOut.layers = 1',
    'nn.FcStackOut.n_out = 6',
    # The original's note pooling of z_notes returns an extra axis (one per
    # note: [notes, batch, frames, z_dims]) that the concatenation with
    # z_global rejects, so the note encoder is left out.
    'ZMidiAutoencoder.z_note_encoder = None',
]
# case -> (gin files, bindings). midiae with the mixin midi_encoder.gin (a
# HarmonicToMidiEncoder transcribes the synthesis parameters); z_midiae
# without it (its MIDI comes from the batch's piano roll) and without its
# note encoder (see _SMALL_Z).
MIXIN = 'models/midiae/mixins/midi_encoder.gin'
CASES = {'midiae': (['models/midiae/midiae.gin', MIXIN], _SMALL),
         'z_midiae': (['models/midiae/z_midiae.gin'], _SMALL_Z)}
OUTPUT_KEYS = ('amps', 'hd', 'noise', 'f0_midi_pred', 'amps_pred', 'hd_pred',
               'noise_pred', 'q_pitch', 'q_vel', 'z', 'z_notes', 'z_global')


def features(rng):
  """A batch of two: a glide and a melody of 2 notes, with their rolls."""
  t = np.linspace(0.0, 1.0, N_FRAMES)
  f0_hz = np.stack([220.0 * 2**(t / 2), np.where(t < 0.5, 262.0, 330.0)])
  roll = np.zeros([2, N_FRAMES, 128])
  roll[1, :N_FRAMES // 2, 60] = 0.8
  roll[1, N_FRAMES // 2:, 64] = 0.6
  roll[0, :, 57] = 0.7
  return {
      'audio': f32(0.1 * rng.standard_normal((2, N_SAMPLES))),
      'f0_hz': f32(f0_hz[..., None]),
      'loudness_db': f32(np.stack([-40 + 10 * t, -30 - 20 * t])[..., None]),
      'f0_confidence': f32(np.ones([2, N_FRAMES, 1])),
      'note_active_velocities': f32(roll),
      'instrument_id': np.array([3, 7], np.int64),
  }


def make(case):
  """Writes tests/golden/original_<case>/."""
  gin_files, bindings = CASES[case]
  # The original's mixin also binds HmmMidiAutoencoder, which v3.7.0 lacks.
  out_dir, rng, model = make_original_checkpoint.start_case(
      case, gin_files, bindings, skip_unknown=['HmmMidiAutoencoder'])
  batch = features(rng)
  model(batch, training=False)
  make_original_checkpoint.randomize_weights(model, rng)
  outputs = model(batch, training=False)
  make_original_checkpoint.save_run(
      out_dir, model, make_original_checkpoint.zero_step_adam(model))
  arrays = {f'in_{k}': np.asarray(v) for k, v in batch.items()}
  for key in OUTPUT_KEYS:
    if key in outputs:
      arrays[f'out_{key}'] = f32(outputs[key])
  make_original_checkpoint.finish_case(case, out_dir, arrays)


def main():
  make_original_checkpoint.run_cases(make, CASES)


if __name__ == '__main__':
  main()
