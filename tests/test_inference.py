"""Tests for ddsp_tf.apps.timbre_transfer and ddsp_tf.training.postprocessing.

Exports are toy SavedModels that follow the export contract
(contract_export.py: a sine at f0 with amplitude 10**(loudness/20) plus one
echo), so the loader, resynthesis and IR handling are checked against known
math. Features use CREPE 'tiny' on tones made here; the adjustment functions
are checked against numpy/scipy and hand-computed values.
"""

import json
import os
import shutil

import numpy as np
import pytest
import scipy.signal
import scipy.stats

import contract_export
from ddsp_tf import formats
from ddsp_tf.training import postprocessing
from ddsp_tf.apps import timbre_transfer as transfer_app

SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE


@pytest.fixture(scope='module')
def exports(tmp_path_factory):
  """Paths of a reverb+statistics export and a plain one."""
  return contract_export.write_reverb_and_plain(
      str(tmp_path_factory.mktemp('exports')))


@pytest.fixture(scope='module')
def model(exports):
  return transfer_app.load_model(exports['reverb'])


@pytest.fixture(scope='module')
def plain_model(exports):
  return transfer_app.load_model(exports['plain'])


def _copy_with_metadata(source, target, **changes):
  """Copies an export and rewrites metadata.json entries (DROP removes)."""
  shutil.copytree(source, target)
  path = os.path.join(target, 'metadata.json')
  with open(path) as file:
    metadata = json.load(file)
  metadata.update(changes)
  metadata = {key: value for key, value in metadata.items()
              if value is not contract_export.DROP}
  with open(path, 'w') as file:
    json.dump(metadata, file)
  return target


def _tone(freq_hz, seconds, sample_rate, amplitude=0.5):
  t = np.arange(int(round(seconds * sample_rate))) / sample_rate
  return amplitude * np.sin(2 * np.pi * freq_hz * t)


# ----------------------------------------------------------------------------
# Loading.
# ----------------------------------------------------------------------------
def test_load_model_metadata(model):
  assert model.sample_rate == SAMPLE_RATE
  assert model.frame_rate == FRAME_RATE
  assert model.hop_size == HOP
  assert model.has_reverb
  assert model.dataset_statistics['mean_pitch_midi'] == 60.0
  assert model.metadata['format_version'] == formats.EXPORT_FORMAT_VERSION


def test_feature_padding_comes_from_the_metadata(exports, tmp_path):
  legacy = transfer_app.load_model(_copy_with_metadata(
      exports['reverb'], str(tmp_path / 'legacy'),
      feature_padding=contract_export.DROP))
  assert legacy.feature_padding == 'same'  # ddsp_tf_prepare_tfrecord's.
  centered = transfer_app.load_model(_copy_with_metadata(
      exports['reverb'], str(tmp_path / 'centered'), feature_padding='center'))
  assert centered.feature_padding == 'center'
  odd = transfer_app.load_model(_copy_with_metadata(
      exports['reverb'], str(tmp_path / 'odd'), feature_padding='valid'))
  with pytest.raises(transfer_app.ExportError, match="'valid'"):
    odd.feature_padding  # pylint: disable=pointless-statement


def test_load_model_missing_dir(tmp_path):
  with pytest.raises(FileNotFoundError, match='does not exist'):
    transfer_app.load_model(str(tmp_path / 'nowhere'))


def test_load_model_not_an_export(tmp_path):
  (tmp_path / 'run').mkdir()
  with pytest.raises(transfer_app.ExportError,
                     match='not a ddsp_tf export.*saved_model.pb or '
                     'metadata.json.*ddsp_tf_export'):
    transfer_app.load_model(str(tmp_path / 'run'))


def test_load_model_without_metadata(exports, tmp_path):
  target = str(tmp_path / 'copy')
  shutil.copytree(exports['plain'], target)
  os.remove(os.path.join(target, 'metadata.json'))
  with pytest.raises(transfer_app.ExportError, match='no metadata.json'):
    transfer_app.load_model(target)


def test_load_model_without_format_version(exports, tmp_path):
  target = _copy_with_metadata(exports['plain'], str(tmp_path / 'copy'),
                               format_version=contract_export.DROP)
  with pytest.raises(transfer_app.ExportError,
                     match='no format_version.*reads export format version 1'
                     '.*ddsp_tf_export'):
    transfer_app.load_model(target)


def test_load_model_other_format_version(exports, tmp_path):
  target = _copy_with_metadata(exports['plain'], str(tmp_path / 'copy'),
                               format_version=2)
  with pytest.raises(transfer_app.ExportError,
                     match='format version 2, but this ddsp_tf reads version 1'
                     '.*ddsp_tf_export'):
    transfer_app.load_model(target)


@pytest.mark.parametrize('changes, message', [
    ({'sample_rate': contract_export.DROP},
     r"lacks the key\(s\) \['sample_rate'\]"),
    ({'hop_size': 65}, 'must equal sample_rate'),
    ({'frame_rate': 0}, 'frame_rate must be a positive integer'),
    ({'reverb_ir_file': None}, 'has_reverb is true but reverb_ir_file'),
])
def test_load_model_bad_metadata(exports, tmp_path, changes, message):
  target = _copy_with_metadata(exports['reverb'], str(tmp_path / 'copy'),
                               **changes)
  with pytest.raises(transfer_app.ExportError, match=message):
    transfer_app.load_model(target)


def test_load_model_corrupt_saved_model(exports, tmp_path):
  target = str(tmp_path / 'copy')
  shutil.copytree(exports['plain'], target)
  with open(os.path.join(target, 'saved_model.pb'), 'w') as file:
    file.write('not a protocol buffer')
  with pytest.raises(transfer_app.ExportError,
                     match='the SavedModel does not load.*ddsp_tf_export'):
    transfer_app.load_model(target)


def test_load_model_missing_signature(tmp_path):
  target = contract_export.write_export(str(tmp_path / 'one'),
                                        signatures=('serving_default',))
  with pytest.raises(transfer_app.ExportError,
                     match=r"lacks the signature\(s\) \['audio_to_audio'\]"):
    transfer_app.load_model(target)


# ----------------------------------------------------------------------------
# Resynthesis.
# ----------------------------------------------------------------------------
def test_resynthesize_1d_against_analytic_sine(model):
  n_frames = 20
  outputs = model.resynthesize(np.full(n_frames, 440.0),
                               np.full(n_frames, -20.0))
  assert outputs['audio'].shape == (n_frames * HOP,)
  assert outputs['amps'].shape == (n_frames, 1)
  assert outputs['harmonic_distribution'].shape == (n_frames, 3)
  n = np.arange(1, n_frames * HOP + 1)
  expected_dry = 0.1 * np.sin(2 * np.pi * 440.0 * n / SAMPLE_RATE)
  np.testing.assert_allclose(outputs['audio_dry'], expected_dry, atol=2e-4)
  expected_wet = expected_dry + 0.5 * np.pad(expected_dry, (100, 0))[:-100]
  np.testing.assert_allclose(outputs['audio'], expected_wet, atol=3e-4)


def test_resynthesize_batch_and_dry(model):
  f0 = np.array([np.full(8, 220.0), np.full(8, 330.0)])
  loudness = np.full([2, 8], -10.0)
  wet = model.resynthesize(f0, loudness)
  dry = model.resynthesize(f0, loudness, dry=True)
  assert wet['audio'].shape == (2, 8 * HOP)
  assert wet['noise_magnitudes'].shape == (2, 8, 2)
  np.testing.assert_array_equal(dry['audio'], wet['audio_dry'])
  assert not np.allclose(wet['audio'], wet['audio_dry'])


def test_resynthesize_dry_needs_reverb(plain_model):
  with pytest.raises(ValueError, match='has no reverb.*dry=False'):
    plain_model.resynthesize(np.full(4, 220.0), np.full(4, -20.0), dry=True)


@pytest.mark.parametrize('f0, loudness, message', [
    ([440.0, np.nan], [-20.0, -20.0], r'f0_hz has 1 NaN or Inf'),
    ([440.0, 440.0], [-20.0, np.inf], r'loudness_db has 1 NaN or Inf'),
    ([], [], 'f0_hz is empty'),
    (np.ones([1, 2, 3]), np.ones([1, 2, 3]), r'rank 3'),
    (440.0, -20.0, r'rank 0'),
    ([440.0, 440.0], [-20.0], 'same shape'),
])
def test_resynthesize_rejects(model, f0, loudness, message):
  with pytest.raises(ValueError, match=message):
    model.resynthesize(f0, loudness)


def test_reverb_ir_is_the_room_response(model):
  ir = model.reverb_ir()
  expected = np.zeros(101)
  expected[0], expected[100] = 1.0, 0.5
  np.testing.assert_array_equal(ir, expected)
  outputs = model.resynthesize(np.full(30, 300.0), np.full(30, -6.0))
  np.testing.assert_allclose(
      transfer_app.apply_reverb_ir(outputs['audio_dry'], ir, SAMPLE_RATE),
      outputs['audio'], atol=1e-5)


def test_reverb_ir_without_reverb(plain_model):
  with pytest.raises(ValueError, match='has no reverb'):
    plain_model.reverb_ir()


# ----------------------------------------------------------------------------
# Features.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('input_rate, model_rate, frame_rate', [
    (44100, 16000, 250),
    (16000, 16000, 250),
    (16000, 48000, 250),
    (22050, 44100, 100),
])
def test_compute_features_known_tone(input_rate, model_rate, frame_rate):
  freq, seconds, amplitude = 1000.0, 0.6, 0.5
  features = transfer_app.compute_features(
      _tone(freq, seconds, input_rate, amplitude), input_rate,
      model_sample_rate=model_rate, frame_rate=frame_rate,
      model_capacity='tiny')
  hop = model_rate // frame_rate
  n_frames = int(seconds * model_rate) // hop
  assert features['f0_hz'].shape == (n_frames,)
  assert features['loudness_db'].shape == (n_frames,)
  assert features['f0_confidence'].shape == (n_frames,)
  assert features['audio'].shape == (n_frames * hop,)
  # The resampled audio is the same tone at the model's rate.
  interior = slice(200, -200)
  np.testing.assert_allclose(
      features['audio'][interior],
      _tone(freq, n_frames * hop / model_rate, model_rate,
            amplitude)[interior], atol=2e-3)
  middle = slice(n_frames // 4, -n_frames // 4)
  midi_error = 12 * np.log2(features['f0_hz'][middle] / freq)
  assert np.max(np.abs(midi_error)) < 0.1
  assert np.min(features['f0_confidence'][middle]) > 0.5
  # A-weighting is 0 dB at 1 kHz: 20 log10(A / sqrt(2)) on the normalized
  # scale, plus the original's unnormalized-STFT offset for n_fft = 512:
  # 10 log10(512 * sum(hann^2) / 2 / 257) with sum(hann^2) = 3 * 512 / 8.
  offset = 10 * np.log10(512 * (3 * 512 / 8) / 2 / 257)
  np.testing.assert_allclose(features['loudness_db'][middle],
                             20 * np.log10(amplitude / np.sqrt(2)) + offset,
                             atol=0.3)
  # The same loudness without CREPE.
  np.testing.assert_array_equal(transfer_app.compute_loudness(
      _tone(freq, seconds, input_rate, amplitude), input_rate,
      model_sample_rate=model_rate, frame_rate=frame_rate),
                                features['loudness_db'])


@pytest.mark.parametrize('audio, rate, error, message', [
    (np.zeros([2, 2, 100]), 16000, ValueError, 'rank 3'),
    (np.zeros(0), 16000, ValueError, 'empty'),
    (np.zeros(500), 16000, ValueError, 'too short.*0.0640 s'),
    (np.full(20000, np.nan), 16000, ValueError, 'NaN or Inf'),
    (np.zeros(20000), 0, ValueError, 'sample_rate must be a positive whole'),
    (np.zeros(20000), 44100.5, ValueError, 'sample_rate must be a positive'),
    (np.zeros(20000), 44101, ValueError, 'too fine'),
    (np.zeros([300, 300]), 16000, ValueError, 'channel axis'),
])
def test_compute_features_rejects(audio, rate, error, message):
  with pytest.raises(error, match=message):
    transfer_app.compute_features(audio, rate, model_capacity='tiny')


def test_compute_loudness_needs_one_frame_but_no_crepe_window():
  short = _tone(1000.0, 500 / 16000, 16000, 0.5)  # Under CREPE's 64 ms.
  assert transfer_app.compute_loudness(short, 16000).shape == (500 // 64,)
  with pytest.raises(ValueError, match=r'too short.*\(one frame\)'):
    transfer_app.compute_loudness(short[:50], 16000)
  with pytest.raises(ValueError, match='frame_rate must divide both'):
    transfer_app.compute_loudness(short, 16000, frame_rate=300)


def test_compute_features_rejects_bad_frame_rate():
  with pytest.raises(ValueError, match='frame_rate must divide both'):
    transfer_app.compute_features(np.zeros(44100), 44100,
                               model_sample_rate=44100, frame_rate=250)


def test_to_mono_either_layout():
  left, right = np.linspace(-1, 1, 1000), np.linspace(1, 0, 1000)
  expected = (left + right) / 2
  np.testing.assert_allclose(transfer_app.to_mono(np.stack([left, right], 1)),
                             expected)
  np.testing.assert_allclose(transfer_app.to_mono(np.stack([left, right], 0)),
                             expected)
  np.testing.assert_array_equal(transfer_app.to_mono(left), left)


# ----------------------------------------------------------------------------
# Quantile transform.
# ----------------------------------------------------------------------------
def test_quantile_transform_matches_interp():
  levels = np.linspace(0, 1, 11)
  quantiles = np.cumsum(np.arange(1, 12, dtype=float))
  transform = postprocessing.QuantileTransform(levels, quantiles)
  x = np.linspace(-5, 80, 57)
  np.testing.assert_allclose(transform.transform(x),
                             np.interp(x, quantiles, levels))
  u = np.linspace(0, 1, 23)
  np.testing.assert_allclose(transform.inverse_transform(u),
                             np.interp(u, levels, quantiles))
  inside = x[(x >= quantiles[0]) & (x <= quantiles[-1])]
  np.testing.assert_allclose(
      transform.inverse_transform(transform.transform(inside)), inside)


def test_quantile_transform_ties_map_to_middle():
  transform = postprocessing.QuantileTransform([0, 0.25, 0.5, 0.75, 1],
                                          [0, 1, 1, 1, 2])
  np.testing.assert_allclose(transform.transform([1.0, 0.5, 1.5]),
                             [0.5, 0.125, 0.875])


def test_quantile_transform_fit_known_distributions():
  rng = np.random.default_rng(0)
  levels = np.linspace(0, 1, 101)
  uniform = postprocessing.QuantileTransform.fit(rng.uniform(-60, -20, 200000),
                                            levels)
  x = np.linspace(-55, -25, 13)
  np.testing.assert_allclose(uniform.transform(x), (x + 60) / 40, atol=5e-3)
  normal = postprocessing.QuantileTransform.fit(rng.normal(3.0, 2.0, 200000),
                                           levels)
  u = np.linspace(0.05, 0.95, 19)
  np.testing.assert_allclose(normal.inverse_transform(u),
                             scipy.stats.norm.ppf(u, 3.0, 2.0), atol=0.03)


def test_quantile_transform_rejects():
  with pytest.raises(ValueError, match='same length'):
    postprocessing.QuantileTransform([0, 1], [0, 1, 2])
  with pytest.raises(ValueError, match='non-decreasing'):
    postprocessing.QuantileTransform([0, 0.5, 1], [0, 2, 1])
  with pytest.raises(ValueError, match='increase within'):
    postprocessing.QuantileTransform([0, 0.5, 1.5], [0, 1, 2])


# ----------------------------------------------------------------------------
# Note detection, tuning, shifts.
# ----------------------------------------------------------------------------
def _two_notes():
  """Silence, a -20 dB note, silence, a -30 dB note, silence (frames)."""
  loudness = np.concatenate([np.full(100, -80.0), np.full(200, -20.0),
                             np.full(100, -80.0), np.full(200, -30.0),
                             np.full(100, -80.0)])
  confidence = np.where(loudness > -80.0, 0.95, 0.1)
  return loudness, confidence


def test_detect_notes_on_envelope():
  loudness, confidence = _two_notes()
  mask, ratio = postprocessing.detect_notes(loudness, confidence)
  # Reference: (mean confident dB - min_db) * 0.7**2 = (-25 + 80) * 0.49.
  reference = 55.0 * 0.49
  np.testing.assert_allclose(ratio[150:250], 0.95**2 * 60 / reference,
                             rtol=1e-5)
  np.testing.assert_allclose(ratio[450:550], 0.95**2 * 50 / reference,
                             rtol=1e-5)
  np.testing.assert_allclose(ratio[:70], 0.0, atol=1e-6)
  assert mask[130:270].all() and mask[430:570].all()
  assert not mask[:70].any() and not mask[330:370].any()
  assert not mask[630:].any()
  strict, _ = postprocessing.detect_notes(loudness, confidence, note_threshold=1.8)
  assert strict[150:250].all() and not strict[400:].any()


def test_detect_notes_without_confident_frames():
  mask, ratio = postprocessing.detect_notes(np.full(50, -20.0), np.full(50, 0.2))
  assert not mask.any()
  np.testing.assert_array_equal(ratio, 0.0)


def test_tuning_factor_and_chromatic_autotune():
  rng = np.random.default_rng(1)
  notes = np.repeat([60, 62, 64, 65, 67, 66, 61], 40).astype(float)
  f0_midi = notes + 0.3 + rng.uniform(-0.04, 0.04, notes.shape)
  confidence = np.full(notes.shape, 0.9)
  mask = np.ones(notes.shape, bool)
  tuning = postprocessing.get_tuning_factor(f0_midi, confidence, mask)
  assert abs(tuning - 0.3) <= 0.02
  tuned = postprocessing.auto_tune(f0_midi, tuning, mask, amount=1.0,
                              chromatic=True)
  np.testing.assert_allclose(tuned, notes + tuning, atol=1e-9)
  half = postprocessing.auto_tune(f0_midi, tuning, mask, amount=0.5,
                             chromatic=True)
  np.testing.assert_allclose(half, (f0_midi + notes + tuning) / 2, atol=1e-9)
  np.testing.assert_array_equal(
      postprocessing.auto_tune(f0_midi, tuning, mask, amount=0.0), f0_midi)


def test_autotune_major_scale():
  # C major notes, slightly off, plus a C# sung 1.2 semitones above C.
  f0_midi = np.array([60.1, 62.05, 63.9, 65.0, 67.2, 69.0, 71.1, 72.0, 61.2])
  mask = np.ones(f0_midi.shape, bool)
  tuned = postprocessing.auto_tune(f0_midi, 0.0, mask, amount=1.0)
  np.testing.assert_allclose(tuned, [60, 62, 64, 65, 67, 69, 71, 72, 62])


def test_shift_pitch_scalar_and_curve():
  f0 = np.array([110.0, 220.0, 0.0, 440.0])
  np.testing.assert_allclose(postprocessing.shift_pitch(f0, 12), 2 * f0, rtol=1e-6)
  curve = np.array([0.0, 12.0, 5.0, -24.0])
  np.testing.assert_allclose(postprocessing.shift_pitch(f0, curve),
                             [110.0, 440.0, 0.0, 110.0], rtol=1e-6)
  batch = np.stack([f0, f0 / 2])
  np.testing.assert_allclose(postprocessing.shift_pitch(batch, curve),
                             batch * 2**(curve / 12), rtol=1e-6)
  max_hz = 440 * 2**((110 - 69) / 12)
  np.testing.assert_allclose(postprocessing.shift_pitch([4000.0], 12), [max_hz],
                             rtol=1e-6)
  with pytest.raises(ValueError, match='one value per frame'):
    postprocessing.shift_pitch(f0, [1.0, 2.0])
  with pytest.raises(ValueError, match='NaN or Inf'):
    postprocessing.shift_pitch(f0, np.nan)
  with pytest.raises(ValueError, match='>= 0 Hz'):
    postprocessing.shift_pitch([-1.0], 0)


def test_shift_loudness_scalar_and_curve():
  loudness = np.array([-30.0, -20.0, -10.0])
  np.testing.assert_allclose(postprocessing.shift_loudness(loudness, -6),
                             loudness - 6)
  np.testing.assert_allclose(postprocessing.shift_loudness(loudness, [0, 3, -3]),
                             [-30, -17, -13])
  with pytest.raises(ValueError, match='one value per frame'):
    postprocessing.shift_loudness(loudness, [1.0])


# ----------------------------------------------------------------------------
# adjust_features.
# ----------------------------------------------------------------------------
def _steady_features(f0_hz, n_frames=400, seed=0):
  rng = np.random.default_rng(seed)
  return {'f0_hz': np.full(n_frames, f0_hz),
          'f0_confidence': np.full(n_frames, 0.95),
          'loudness_db': rng.uniform(-40.0, -10.0, n_frames)}


@pytest.mark.parametrize('f0_hz, mean_pitch, octaves', [
    (110.0, 69.0, 2),   # MIDI 45 -> 69: 24 semitones.
    (110.0, 60.0, 1),   # 15 semitones: nearest whole octave is 1.
    (440.0, 45.0, -2),
    (440.0, 62.0, -1),  # -7 semitones: -0.58 octaves rounds to -1.
    (440.0, 66.0, 0),   # -3 semitones.
])
def test_adjust_octave_shift_toward_mean(f0_hz, mean_pitch, octaves):
  statistics = contract_export.dataset_statistics(mean_pitch_midi=mean_pitch)
  adjusted = postprocessing.adjust_features(_steady_features(f0_hz), statistics)
  assert float(adjusted['auto_octave_shift']) == octaves
  np.testing.assert_allclose(adjusted['f0_hz'], f0_hz * 2.0**octaves,
                             rtol=1e-6)
  manual = postprocessing.adjust_features(_steady_features(f0_hz), statistics,
                                     octave_shift=-1)
  np.testing.assert_allclose(manual['f0_hz'], f0_hz * 2.0**(octaves - 1),
                             rtol=1e-6)


@pytest.mark.parametrize('frame_rate', [50, 250])
def test_adjust_detects_notes_over_the_same_seconds_at_any_frame_rate(
    frame_rate):
  # Notes from 0.2 to 1.0 s and from 1.12 to 1.52 s, at frame_rate.
  seconds = np.arange(int(2.0 * frame_rate)) / frame_rate
  playing = ((seconds >= 0.2) & (seconds < 1.0)) | (
      (seconds >= 1.12) & (seconds < 1.52))
  features = {'f0_hz': np.full(seconds.shape, 440.0),
              'f0_confidence': np.where(playing, 0.95, 0.05),
              'loudness_db': np.where(playing, -20.0, -70.0)}
  adjusted = postprocessing.adjust_features(
      features, contract_export.dataset_statistics(mean_pitch_midi=69.0),
      frame_rate=frame_rate)
  expected, _ = postprocessing.detect_notes(
      features['loudness_db'], features['f0_confidence'],
      smoothing=round(postprocessing.NOTE_SMOOTHING_SECS * frame_rate))
  np.testing.assert_array_equal(adjusted['mask_on'], expected)
  # Edges move by at most half the 0.16 s smoothing, at either rate.
  mask = adjusted['mask_on']
  assert np.all(mask[((seconds > 0.28) & (seconds < 0.92)) |
                     ((seconds > 1.2) & (seconds < 1.44))])
  assert not np.any(mask[(seconds < 0.12) | (seconds > 1.6) |
                         ((seconds > 1.04) & (seconds < 1.08))])


def test_adjust_loudness_matches_dataset_quantiles():
  statistics = contract_export.dataset_statistics(loudness_low=-60.0,
                                                  loudness_high=-20.0)
  features = _steady_features(220.0, n_frames=2000)
  quiet0 = postprocessing.adjust_features(features, statistics, quiet_db=0.0)
  quiet20 = postprocessing.adjust_features(features, statistics, quiet_db=20.0)
  mask = quiet0['mask_on']
  assert mask[100:-100].all() and mask.mean() > 0.9
  levels = np.linspace(0, 1, 101)
  np.testing.assert_allclose(np.quantile(quiet0['loudness_db'][mask], levels),
                             -60.0 + 40.0 * levels, atol=0.3)
  # Monotone: the order of the frames is kept.
  order = np.argsort(features['loudness_db'][mask])
  assert np.all(np.diff(quiet0['loudness_db'][mask][order]) >= 0)
  # Frames outside notes are lowered by quiet * (1 - note_on_ratio).
  np.testing.assert_allclose(
      quiet0['loudness_db'] - quiet20['loudness_db'],
      np.where(mask, 0.0, 20.0 * (1.0 - quiet0['note_on_ratio'])), atol=1e-4)
  shifted = postprocessing.adjust_features(features, statistics, quiet_db=0.0,
                                      loudness_shift_db=-5.0)
  np.testing.assert_allclose(shifted['loudness_db'],
                             quiet0['loudness_db'] - 5.0, atol=1e-5)


def test_adjust_autotune_puts_notes_on_the_tuned_scale():
  rng = np.random.default_rng(2)
  notes = np.repeat([57, 59, 60, 62, 64, 65, 67], 60).astype(float)
  f0_midi = notes + 0.2 + rng.uniform(-0.03, 0.03, notes.shape)
  features = {'f0_hz': 440 * 2**((f0_midi - 69) / 12),
              'f0_confidence': np.full(notes.shape, 0.95),
              'loudness_db': np.full(notes.shape, -20.0)}
  statistics = contract_export.dataset_statistics(mean_pitch_midi=62.0)
  adjusted = postprocessing.adjust_features(features, statistics, autotune=1.0)
  tuning = float(adjusted['tuning_factor'])
  assert abs(tuning - 0.2) <= 0.02
  midi = 69 + 12 * np.log2(adjusted['f0_hz'] / 440)
  mask = adjusted['mask_on']
  np.testing.assert_allclose(midi[mask], notes[mask] + tuning, atol=1e-3)


def test_adjust_without_statistics_applies_manual_shifts_only():
  features = _steady_features(220.0)
  adjusted = postprocessing.adjust_features(features, None, octave_shift=1,
                                       loudness_shift_db=3.0)
  np.testing.assert_allclose(adjusted['f0_hz'], 440.0, rtol=1e-6)
  np.testing.assert_allclose(adjusted['loudness_db'],
                             features['loudness_db'] + 3.0, rtol=1e-6)
  assert not adjusted['mask_on'].any()
  off = postprocessing.adjust_features(
      features, contract_export.dataset_statistics(), auto_adjust=False)
  np.testing.assert_allclose(off['f0_hz'], 220.0, rtol=1e-6)


def test_adjust_rejects():
  features = _steady_features(220.0)
  with pytest.raises(ValueError, match=r"lacks \['f0_confidence'\]"):
    postprocessing.adjust_features({'f0_hz': features['f0_hz'],
                               'loudness_db': features['loudness_db']})
  with pytest.raises(ValueError, match='autotune must be in'):
    postprocessing.adjust_features(features, autotune=2.0)
  with pytest.raises(ValueError, match='lacks.*mean_pitch_midi'):
    postprocessing.adjust_features(features, {'quantile_levels': [0, 1]})


# ----------------------------------------------------------------------------
# Reverb IRs.
# ----------------------------------------------------------------------------
def test_apply_reverb_ir_matches_fftconvolve():
  rng = np.random.default_rng(3)
  audio = rng.normal(size=[2, 3000])
  ir = rng.normal(size=700) * np.exp(-np.arange(700) / 100)
  expected = scipy.signal.fftconvolve(audio, ir[np.newaxis], axes=-1)
  np.testing.assert_allclose(
      transfer_app.apply_reverb_ir(audio, ir, 16000), expected[:, :3000],
      atol=1e-4)
  np.testing.assert_allclose(
      transfer_app.apply_reverb_ir(audio[0], ir[:5], 16000),
      np.convolve(audio[0], ir[:5])[:3000], atol=1e-5)


def test_apply_reverb_ir_resamples_keeping_the_gain():
  ir_32k = np.exp(-np.arange(4000) / 200.0)
  ones = np.ones(6000)
  wet = transfer_app.apply_reverb_ir(ones, ir_32k, 16000, ir_sample_rate=32000)
  # DC gain of the IR (sum of taps) is kept: the step response settles there.
  np.testing.assert_allclose(wet[-1], np.sum(ir_32k), rtol=1e-2)
  with pytest.raises(ValueError, match='too fine'):
    transfer_app.apply_reverb_ir(ones, ir_32k, 44100, ir_sample_rate=44101)
  with pytest.raises(ValueError, match=r'ir must have shape \[ir_size\]'):
    transfer_app.apply_reverb_ir(ones, np.ones([2, 3]), 16000)


# ----------------------------------------------------------------------------
# Timbre transfer end to end.
# ----------------------------------------------------------------------------
def _peak_hz(audio, sample_rate):
  spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
  return np.argmax(spectrum) * sample_rate / audio.size


def test_timbre_transfer_shifts_octaves_toward_the_dataset(model):
  # A4 (MIDI 69) with a dataset mean of MIDI 60: one octave down.
  audio = _tone(440.0, 0.8, 44100, 0.3)
  audio_out, info = transfer_app.timbre_transfer(audio, 44100, model,
                                              crepe_model='tiny')
  assert audio_out.shape == info['features']['audio'].shape
  assert float(info['adjusted']['auto_octave_shift']) == -1
  dry = info['outputs']['audio_dry']
  assert abs(_peak_hz(dry, SAMPLE_RATE) - 220.0) < 2.0
  manual, info = transfer_app.timbre_transfer(
      audio, 44100, model, crepe_model='tiny', auto_adjust=False,
      pitch_shift=7.0, dry=True)
  assert abs(_peak_hz(manual, SAMPLE_RATE) - 440 * 2**(7 / 12)) < 2.0
  np.testing.assert_array_equal(manual, info['outputs']['audio_dry'])
  with pytest.raises(ValueError, match='different rooms'):
    transfer_app.timbre_transfer(audio, 44100, model, dry=True,
                              reverb_ir=np.ones(3))
