"""ddsp_tf.apps.timbre_transfer and the timbre-transfer CLI on a real export.

A tiny solo-instrument run (test_run_cli's shrunk models/solo_instrument.gin)
trains for 2 steps and goes through export.export_model; everything here
reads that directory only through transfer_app.load_model and the CLIs. The
noise synth is silenced (FilteredNoise.initial_bias = -100, as in
test_export.py) so that renders repeat to 1e-5.
"""


import gin
import numpy as np
import pytest
import soundfile as sf

from ddsp_tf.apps import export
from ddsp_tf import formats
from ddsp_tf.apps import timbre_transfer as transfer_app
from ddsp_tf.cli import extract_ir
from ddsp_tf.cli import timbre_transfer
import contract_export
import test_run_cli

pytestmark = pytest.mark.slow

SAMPLE_RATE = test_run_cli.SAMPLE_RATE
FRAME_RATE = test_run_cli.FRAME_RATE
HOP = SAMPLE_RATE // FRAME_RATE
STATS = contract_export.dataset_statistics(mean_pitch_midi=62.0)


@pytest.fixture(scope='module')
def export_dir(tmp_path_factory):
  root = tmp_path_factory.mktemp('real_export')
  save_dir = test_run_cli.train_quiet_run(root, 2, STATS)
  try:
    return export.export_model(str(save_dir), str(root / 'export'))
  finally:
    gin.clear_config()


@pytest.fixture(scope='module')
def model(export_dir):
  return transfer_app.load_model(export_dir)


def _tone(freq_hz, seconds, sample_rate, amplitude=0.3):
  t = np.arange(int(round(seconds * sample_rate))) / sample_rate
  return amplitude * np.sin(2 * np.pi * freq_hz * t)


def test_metadata_and_format_version(model):
  assert formats.EXPORT_FORMAT_VERSION == formats.EXPORT_FORMAT_VERSION
  assert formats.METADATA_FILE == formats.METADATA_FILE
  assert (model.sample_rate, model.frame_rate, model.hop_size) == (
      SAMPLE_RATE, FRAME_RATE, HOP)
  assert model.has_reverb
  assert model.dataset_statistics == STATS


def test_resynthesize_any_length_and_batch(model):
  n_frames = 37  # Not the training length (125 frames).
  t = np.arange(n_frames) / FRAME_RATE
  f0 = 220.0 + 30.0 * np.sin(2 * np.pi * 2 * t)
  loudness = -40.0 + 10.0 * np.sin(2 * np.pi * 3 * t)
  single = model.resynthesize(f0, loudness)
  batch = model.resynthesize(np.stack([f0, f0 * 1.5]),
                             np.stack([loudness, loudness]))
  assert single['audio'].shape == (n_frames * HOP,)
  assert batch['audio'].shape == (2, n_frames * HOP)
  assert np.all(np.isfinite(batch['audio']))
  np.testing.assert_allclose(batch['audio'][0], single['audio'], atol=1e-5)
  dry = model.resynthesize(f0, loudness, dry=True)
  np.testing.assert_allclose(dry['audio'], single['audio_dry'], atol=1e-5)


def test_reverb_ir_reproduces_the_wet_signal(model):
  ir = model.reverb_ir()
  assert ir[0] == 1.0
  outputs = model.resynthesize(np.full(100, 330.0), np.full(100, -30.0))
  np.testing.assert_allclose(
      transfer_app.apply_reverb_ir(outputs['audio_dry'], ir, SAMPLE_RATE),
      outputs['audio'], atol=1e-4)


def test_compute_features_matches_the_embedded_features(model):
  """'same' framing without Viterbi is what audio_to_audio computes."""
  features = transfer_app.compute_features(
      _tone(440.0, 0.5, SAMPLE_RATE), SAMPLE_RATE, frame_rate=FRAME_RATE,
      model_capacity='tiny', viterbi=False, padding='same')
  signature = model.module.signatures['audio_to_audio']
  embedded = signature(audio=features['audio'][np.newaxis])
  np.testing.assert_allclose(features['loudness_db'],
                             embedded['loudness_db'].numpy()[0], atol=1e-3)
  confident = features['f0_confidence'] > 0.5
  assert confident.mean() > 0.8
  np.testing.assert_allclose(
      12 * np.log2(features['f0_hz'][confident] /
                   embedded['f0_hz'].numpy()[0][confident]), 0.0, atol=0.1)


def test_timbre_transfer_and_clis(model, export_dir, tmp_path):
  audio = _tone(523.25, 0.6, 44100)
  audio_out, info = transfer_app.timbre_transfer(audio, 44100, model,
                                              crepe_model='tiny')
  n_frames = int(0.6 * SAMPLE_RATE) // HOP
  assert audio_out.shape == (n_frames * HOP,)
  assert np.all(np.isfinite(audio_out))
  # C5 (MIDI 72) towards the dataset mean MIDI 62: one octave down.
  assert float(info['adjusted']['auto_octave_shift']) == -1

  input_path = str(tmp_path / 'c5.wav')
  sf.write(input_path, audio, 44100, subtype='DOUBLE')
  output_path, ir_path = str(tmp_path / 'out.wav'), str(tmp_path / 'ir.wav')
  assert timbre_transfer.main([input_path, '--model', export_dir, '--output',
                               output_path, '--crepe_model', 'tiny']) == 0
  written, rate = sf.read(output_path, dtype='float32')
  assert rate == SAMPLE_RATE
  # The CLI reads float32 samples; the features differ in the last bits,
  # and the float32 phase sums (the original's default) carry that into the
  # audio, more towards the end: up to 1.1e-4 (peak 0.12) was seen.
  np.testing.assert_allclose(written, audio_out, atol=5e-4)
  assert extract_ir.main(['--model', export_dir, '--output', ir_path]) == 0
  np.testing.assert_array_equal(sf.read(ir_path, dtype='float32')[0],
                                model.reverb_ir())
