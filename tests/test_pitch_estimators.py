"""Tests for pluggable pitch: compute_f0's f0_estimator and crepe_hop_ms.

The audio is made here with known pitch: harmonic tones with vibrato on the
notes E2 ... C7, a rest, a two-octave glide and white noise. Accuracy is raw
pitch accuracy (RPA): the fraction of frames voiced in truth whose estimate
is within 50 cents. Frames whose centre is within 32 ms (half a CREPE
frame) of a segment edge are left out, since their 64 ms window holds two
pitches. Frame counts are checked against framing.get_framed_lengths and
against CREPE's own output; the interpolation against numpy's np.interp on
SwiftF0's raw frames.
"""

import json
import sys
import types

import numpy as np
import pytest
import soundfile as sf

import contract_export
from data_prep import cli as prep_cli
from data_prep import examples
from data_prep import pipeline
from ddsp_tf import spectral_ops
from ddsp_tf import swiftf0
from ddsp_tf.apps import timbre_transfer as transfer_app
from ddsp_tf.cli import timbre_transfer as transfer_cli

pytest.importorskip('swift_f0')

SR = 16000
NOTES_MIDI = (40, 47, 55, 62, 69, 76, 84, 91, 96)  # E2 B2 G3 D4 A4 E5 C6 G6 C7
SEGMENT_SECS = 0.25
EDGE_GUARD = int(0.032 * SR)
INSTALL_HINT = 'pip install "ddsp_tf[swiftf0]"'


# ----------------------------------------------------------------------------
# Test audio with known pitch.
# ----------------------------------------------------------------------------
def midi_to_hz(midi):
  return 440.0 * 2.0**((np.asarray(midi, np.float64) - 69.0) / 12.0)


def harmonic_tone(f0_hz, seed=0):
  """sum_k sin(k phase + random phase) / k below 0.45 * SR, phase = int f0."""
  rng = np.random.RandomState(seed)
  phase = 2 * np.pi * np.cumsum(f0_hz) / SR
  tone = np.zeros_like(f0_hz)
  for k in range(1, 40):
    alive = k * f0_hz < 0.45 * SR
    if not alive.any():
      break
    tone += alive * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k
  return tone


def melody():
  """(audio, f0 per sample, voiced per sample, segment edges, kinds).

  Notes E2 ... C7 (0.25 s each, 5.5 Hz vibrato of +-30 cents), a rest
  (0.25 s of digital silence), a glide from 150 Hz up two octaves (0.5 s)
  and white noise (0.25 s): 3.25 s.
  """
  n = int(SEGMENT_SECS * SR)
  t = np.arange(n) / SR
  f0s, kinds = [], []
  for i, midi in enumerate(NOTES_MIDI):
    f0s.append(midi_to_hz(midi) * 2.0**(
        0.3 * np.sin(2 * np.pi * 5.5 * t + i) / 12.0))
    kinds.append('note')
  f0s.append(np.ones(n))
  kinds.append('rest')
  glide_t = np.arange(2 * n) / SR
  f0s.append(150.0 * 2.0**(2.0 * glide_t / glide_t[-1]))
  kinds.append('glide')
  f0s.append(np.ones(n))
  kinds.append('noise')
  edges = np.cumsum([0] + [len(f0) for f0 in f0s])
  f0 = np.concatenate(f0s)
  voiced = np.concatenate([np.full(len(f), kind in ('note', 'glide'))
                           for f, kind in zip(f0s, kinds)])
  audio = harmonic_tone(f0) * voiced
  envelope = np.ones_like(audio)  # 5 ms fades at every edge.
  fade = int(0.005 * SR)
  for edge in edges:
    lo, hi = max(edge - fade, 0), min(edge + fade, len(audio))
    envelope[lo:hi] = np.minimum(envelope[lo:hi],
                                 np.abs(np.arange(lo, hi) - edge) / fade)
  audio = 0.5 * audio * envelope / np.max(np.abs(audio))
  audio[edges[-2]:] = 0.1 * np.random.RandomState(3).randn(
      len(audio) - edges[-2])
  return audio.astype(np.float32), f0, voiced, edges, kinds


MELODY = melody()


def frame_truth(n_frames, hop, offset=0):
  """(f0 at each frame centre, voiced-and-away-from-edges mask)."""
  _, f0, voiced, edges, _ = MELODY
  centers = np.arange(n_frames) * hop + offset
  index = np.clip(centers, 0, len(f0) - 1).astype(int)
  near_edge = np.min(np.abs(centers[:, None] - edges[None, :]), axis=1) < (
      EDGE_GUARD)
  return f0[index], voiced[index] & ~near_edge & (centers < len(f0))


def frame_kinds(n_frames, hop):
  _, _, _, edges, kinds = MELODY
  segment = np.searchsorted(edges, np.arange(n_frames) * hop,
                            side='right') - 1
  return np.array([kinds[min(s, len(kinds) - 1)] for s in segment])


def raw_pitch_accuracy(f0_hz, frame_rate=250):
  hop = SR // frame_rate
  truth, mask = frame_truth(len(f0_hz), hop)
  cents = np.abs(1200.0 * np.log2(f0_hz[mask] / truth[mask]))
  return float(np.mean(cents < 50.0))


# ----------------------------------------------------------------------------
# Accuracy.
# ----------------------------------------------------------------------------
def test_swiftf0_tracks_known_pitch_and_flags_silence_and_noise():
  audio = MELODY[0]
  f0_hz, confidence = spectral_ops.compute_f0(audio, 250,
                                              f0_estimator='swiftf0')
  assert f0_hz.dtype == confidence.dtype == np.float32
  assert raw_pitch_accuracy(f0_hz) >= 0.97
  kinds = frame_kinds(len(f0_hz), SR // 250)
  _, mask = frame_truth(len(f0_hz), SR // 250)
  assert np.mean(confidence[mask]) > 0.9
  # As CREPE: every frame has a finite positive f0, silence included, and
  # unvoiced frames have a low confidence.
  assert np.all(np.isfinite(f0_hz)) and np.all(f0_hz > 0)
  rest = kinds == 'rest'
  inner_rest = rest & np.roll(rest, 10) & np.roll(rest, -10)
  assert np.all(confidence[inner_rest] == 0.0)
  assert np.mean(confidence[kinds == 'noise']) < 0.2


def test_crepe_native_hop_costs_little_accuracy_tiny():
  audio = MELODY[0]
  full_rate, _ = spectral_ops.compute_f0(audio, 250, model_capacity='tiny')
  native, _ = spectral_ops.compute_f0(audio, 250, model_capacity='tiny',
                                      crepe_hop_ms=10.0)
  assert full_rate.shape == native.shape
  assert abs(raw_pitch_accuracy(native) -
             raw_pitch_accuracy(full_rate)) <= 0.005


@pytest.mark.slow
def test_swiftf0_at_least_crepe_full_and_native_hop_within_half_a_point():
  audio = MELODY[0]
  crepe_full, _ = spectral_ops.compute_f0(audio, 250, model_capacity='full')
  crepe_native, _ = spectral_ops.compute_f0(audio, 250, model_capacity='full',
                                            crepe_hop_ms=10.0)
  swift, _ = spectral_ops.compute_f0(audio, 250, f0_estimator='swiftf0')
  rpa = {name: raw_pitch_accuracy(f0) for name, f0 in (
      ('crepe_full', crepe_full), ('crepe_full_10ms', crepe_native),
      ('swiftf0', swift))}
  print('RPA within 50 cents:', rpa)
  assert rpa['swiftf0'] >= rpa['crepe_full']
  assert abs(rpa['crepe_full_10ms'] - rpa['crepe_full']) <= 0.005
  assert rpa['crepe_full'] > 0.8  # CREPE itself works on this audio.


# ----------------------------------------------------------------------------
# Frames: counts, centres, interpolation, defaults.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('n_samples, frame_rate, padding, sample_rate', [
    (16000, 250, 'center', 16000),
    (16000, 250, 'same', 16000),
    (16000, 250, 'valid', 16000),
    (24000, 31.25, 'center', 16000),
    (24000, 31.25, 'same', 16000),
    (12345, 300, 'center', 16000),  # hop 53.33 -> 53
    (12345, 300, 'valid', 16000),
    (1024, 100, 'valid', 16000),  # exactly one CREPE frame
    (44100, 250, 'same', 44100),
    (30000, 70, 'center', 22050),  # hop 228.57 -> 228
])
def test_frame_counts_equal_crepe(n_samples, frame_rate, padding,
                                  sample_rate):
  rng = np.random.RandomState(0)
  audio = 0.1 * rng.randn(n_samples)
  crepe_f0, _ = spectral_ops.compute_f0(
      audio, frame_rate, viterbi=False, padding=padding,
      sample_rate=sample_rate, model_capacity='tiny')
  n_16k = -(-n_samples * SR // sample_rate)  # resample_poly's length
  hop = int(SR / frame_rate)  # Rounded down, as the original.
  expected = spectral_ops.get_framed_lengths(n_16k, 1024, hop, padding)[0]
  assert crepe_f0.shape == (expected,)
  for kwargs in ({'f0_estimator': 'swiftf0'},
                 {'model_capacity': 'tiny', 'crepe_hop_ms': 10.0}):
    f0_hz, confidence = spectral_ops.compute_f0(
        audio, frame_rate, viterbi=False, padding=padding,
        sample_rate=sample_rate, **kwargs)
    assert f0_hz.shape == confidence.shape == (expected,), kwargs
    assert np.all(np.isfinite(f0_hz)) and np.all(f0_hz > 0)
    assert np.all((confidence >= 0) & (confidence <= 1))


def test_batches_match_single_rows():
  rng = np.random.RandomState(1)
  audio = 0.1 * rng.randn(2, 8000)
  audio[1] = 0.3 * np.sin(2 * np.pi * 330 * np.arange(8000) / SR)
  f0_hz, confidence = spectral_ops.compute_f0(audio, 100,
                                              f0_estimator='swiftf0')
  assert f0_hz.shape == (2, 51)
  for row in range(2):
    f0_row, confidence_row = spectral_ops.compute_f0(
        audio[row], 100, f0_estimator='swiftf0')
    np.testing.assert_array_equal(f0_hz[row], f0_row)
    np.testing.assert_array_equal(confidence[row], confidence_row)


@pytest.mark.parametrize('padding, offset', [('center', 0), ('same', 512),
                                             ('valid', 512)])
def test_swiftf0_interpolates_log_frequency_onto_frame_centres(padding,
                                                               offset):
  audio = MELODY[0]
  raw_f0, raw_confidence = swiftf0.f0_and_confidence(audio[np.newaxis])
  frame_rate, hop = 250, 64
  f0_hz, confidence = spectral_ops.compute_f0(
      audio, frame_rate, padding=padding, f0_estimator='swiftf0')
  # SwiftF0's frame i is centred on sample 256 i; frame j on 64 j + offset.
  positions = (np.arange(len(f0_hz)) * hop + offset) / 256.0
  index = np.arange(raw_f0.shape[-1])
  expected_f0 = np.exp2(np.interp(positions, index, np.log2(raw_f0[0])))
  expected_confidence = np.interp(positions, index, raw_confidence[0])
  np.testing.assert_allclose(f0_hz, expected_f0, rtol=1e-5)
  np.testing.assert_allclose(confidence, expected_confidence, atol=1e-6)
  # Halfway between two raw frames, f0 is their geometric mean (the middle
  # in cents), not the arithmetic one.
  assert positions[2] == 0.5 + offset / 256.0 or padding != 'center'
  if padding == 'center':
    np.testing.assert_allclose(f0_hz[2], np.sqrt(raw_f0[0, 0] * raw_f0[0, 1]),
                               rtol=1e-5)


def test_frame_centres_follow_the_glide():
  """A fast glide: a 512-sample misalignment would cost 77 cents."""
  t = np.arange(2 * SR) / SR
  f0 = 200.0 * 2.0**(2.0 * t / 2.0)  # 1200 cents per second
  audio = 0.5 * harmonic_tone(f0)
  for padding, offset in (('center', 0), ('same', 512)):
    for kwargs in ({'f0_estimator': 'swiftf0'},
                   {'model_capacity': 'tiny', 'crepe_hop_ms': 10.0}):
      f0_hz, _ = spectral_ops.compute_f0(audio, 200, padding=padding,
                                         **kwargs)
      centers = np.arange(len(f0_hz)) * 80 + offset
      inner = (centers > 2000) & (centers < len(audio) - 2000)
      cents = 1200 * np.log2(f0_hz[inner] / f0[centers[inner]])
      assert abs(np.median(cents)) < 15, (padding, kwargs, np.median(cents))


def test_crepe_defaults_and_frame_hop_are_unchanged():
  audio = MELODY[0][:SR]
  default = spectral_ops.compute_f0(audio, 250, model_capacity='tiny')
  explicit = spectral_ops.compute_f0(audio, 250, model_capacity='tiny',
                                     f0_estimator='crepe', crepe_hop_ms=4.0)
  for a, b in zip(default, explicit):
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------
# Bad input and a missing package.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs, message', [
    ({'f0_estimator': 'yin'}, "f0_estimator='yin'"),
    ({'f0_estimator': 'yin'}, "['crepe', 'swiftf0']"),
    ({'f0_estimator': 'swiftf0', 'crepe_hop_ms': 10.0}, 'CREPE only'),
    ({'crepe_hop_ms': 0.03}, 'crepe_hop_ms=0.03'),
    ({'crepe_hop_ms': 10.01}, 'whole number'),
    ({'crepe_hop_ms': 100.0}, 'crepe_hop_ms=100.0'),
    ({'crepe_hop_ms': '10'}, "crepe_hop_ms='10'"),
])
def test_bad_arguments_are_named(kwargs, message):
  with pytest.raises(ValueError) as error:
    spectral_ops.compute_f0(np.zeros(4000), 250, **kwargs)
  assert message in str(error.value)


def test_bad_audio_errors_with_swiftf0():
  with pytest.raises(ValueError, match='empty audio'):
    spectral_ops.compute_f0(np.zeros(0), 250, f0_estimator='swiftf0')
  with pytest.raises(ValueError, match='at least one CREPE frame'):
    spectral_ops.compute_f0(np.zeros(500), 250, f0_estimator='swiftf0')
  with pytest.raises(ValueError, match='NaN or Inf'):
    spectral_ops.compute_f0(np.full(4000, np.nan), 250,
                            f0_estimator='swiftf0')
  with pytest.raises(ValueError, match='shape'):
    spectral_ops.compute_f0(np.zeros([2, 2, 4000]), 250,
                            f0_estimator='swiftf0')


def test_example_spec_checks_the_estimator():
  with pytest.raises(ValueError, match="f0_estimator='yin'"):
    examples.ExampleSpec(f0_estimator='yin')
  with pytest.raises(ValueError, match='CREPE only'):
    examples.ExampleSpec(f0_estimator='swiftf0', crepe_hop_ms=10.0)
  with pytest.raises(ValueError, match='crepe_hop_ms=0.01'):
    examples.ExampleSpec(crepe_hop_ms=0.01)
  assert examples.ExampleSpec(crepe_hop_ms=10.0).f0_context_frames == 3
  assert examples.ExampleSpec().f0_context_frames == 0


@pytest.fixture
def without_swift_f0(monkeypatch):
  """Makes `import swift_f0` fail, as when the extra is not installed."""
  monkeypatch.setitem(sys.modules, 'swift_f0', None)
  swiftf0.reset()
  yield
  swiftf0.reset()


def test_missing_package_names_the_pip_command(without_swift_f0, tmp_path,
                                               capsys):
  del without_swift_f0
  with pytest.raises(ImportError, match=r'ddsp_tf\[swiftf0\]'):
    spectral_ops.compute_f0(np.zeros(4000), 250, f0_estimator='swiftf0')
  with pytest.raises(ImportError, match=r'ddsp_tf\[swiftf0\]'):
    examples.ExampleSpec(f0_estimator='swiftf0')
  # CREPE needs nothing more.
  spectral_ops.compute_f0(np.zeros(4000), 250, model_capacity='tiny')
  path = tmp_path / 'a.wav'
  sf.write(str(path), np.zeros(SR), SR)
  status = prep_cli.main([f'--input_audio_filepatterns={path}',
                          f'--output_tfrecord_path={tmp_path}/x.tfrecord',
                          '--f0_estimator=swiftf0'])
  assert status == 2
  assert INSTALL_HINT in capsys.readouterr().err


# ----------------------------------------------------------------------------
# Data prep and timbre transfer.
# ----------------------------------------------------------------------------
def test_prepare_tfrecord_with_swiftf0_records_it(tmp_path, capsys):
  audio = MELODY[0][:int(2.5 * SR)]
  path = tmp_path / 'in' / 'melody.wav'
  path.parent.mkdir()
  sf.write(str(path), audio, SR)
  output = tmp_path / 'out' / 'train.tfrecord'
  assert prep_cli.main([
      f'--input_audio_filepatterns={path}', f'--output_tfrecord_path={output}',
      '--f0_estimator=swiftf0', '--example_secs=1', '--hop_secs=0.5',
      '--chunk_secs=1.5', '--window_layout=file', '--num_shards=1']) == 0
  capsys.readouterr()
  with open(tmp_path / 'out' / 'stats.json', encoding='utf-8') as stats_file:
    stats = json.load(stats_file)
  assert stats['f0_estimator'] == 'swiftf0'
  assert stats['crepe_hop_ms'] is None
  assert stats['examples']['train'] == 4

  # Chunked features equal those of the whole file (SwiftF0 reads enough
  # context around each chunk), and the f0 those of compute_f0.
  info = pipeline.audio_io.probe(pipeline.audio_io.find_audio_files(
      [str(path)])[0])
  features = {}
  for chunk_secs in (1.5, 0):
    spec = examples.ExampleSpec(example_secs=1, hop_secs=0.5,
                                chunk_secs=chunk_secs, f0_estimator='swiftf0',
                                window_layout='file')
    features[chunk_secs] = [
        example for chunk in examples.plan_chunks(info, spec)
        for _, example in examples.split_windows(
            chunk, examples.chunk_features(chunk, spec))]
  assert len(features[1.5]) == len(features[0]) == 4
  for chunked, whole in zip(features[1.5], features[0]):
    for key in ('f0_hz', 'f0_confidence'):
      np.testing.assert_allclose(chunked[key], whole[key], rtol=1e-5,
                                 atol=1e-6)
  whole_f0, _ = spectral_ops.compute_f0(audio, 250, padding='same',
                                        f0_estimator='swiftf0')
  # Within a cent: whole-file analysis sees no zeros before the file.
  cents = 1200 * np.log2(features[0][1]['f0_hz'] / whole_f0[125:375])
  assert np.max(np.abs(cents)) < 1.0


def test_prepare_tfrecord_records_crepe_hop(tmp_path):
  path = tmp_path / 'melody.wav'
  sf.write(str(path), MELODY[0][:int(1.5 * SR)], SR)
  stats = pipeline.prepare_tfrecord(
      [str(path)], str(tmp_path / 'out' / 'x.tfrecord'), example_secs=1,
      model_capacity='tiny', viterbi=False, crepe_hop_ms=10.0)
  assert (stats['f0_estimator'], stats['crepe_hop_ms']) == ('crepe', 10.0)
  # One 20 s chunk (the original's layout): floor((20 - 1) / 1) + 1.
  assert stats['examples']['train'] == 20
  assert stats['window_layout'] == 'chunks'


@pytest.fixture(scope='module')
def swiftf0_export(tmp_path_factory):
  root = tmp_path_factory.mktemp('exports')
  return contract_export.write_export(str(root / 'swift'), has_reverb=False,
                                      f0_estimator='swiftf0')


def test_timbre_transfer_uses_the_model_estimator(swiftf0_export, tmp_path,
                                                  capsys):
  model = transfer_app.load_model(swiftf0_export)
  assert model.f0_estimator == 'swiftf0'
  t = np.arange(int(0.6 * SR)) / SR
  tone = 0.3 * harmonic_tone(np.full(len(t), 330.0))
  wav = tmp_path / 'in.wav'
  sf.write(str(wav), tone, SR, subtype='FLOAT')
  for flags, tracker in (([], 'SwiftF0'),
                         (['--f0_estimator=crepe', '--crepe_model=tiny'],
                          'CREPE tiny')):
    npz = tmp_path / f'features{len(flags)}.npz'
    assert transfer_cli.main([
        str(wav), f'--model={swiftf0_export}',
        f'--output={tmp_path}/out.wav', '--noauto_adjust',
        f'--features_out={npz}', *flags]) == 0
    assert f'Computing features ({tracker})' in capsys.readouterr().out
    saved = np.load(npz)['original_f0_hz']
    expected = transfer_app.compute_features(
        tone, SR, f0_estimator='swiftf0' if not flags else 'crepe',
        model_capacity='tiny', padding=model.feature_padding)['f0_hz']
    np.testing.assert_allclose(saved, expected, rtol=1e-5)
    assert np.median(np.abs(1200 * np.log2(saved[10:-10] / 330.0))) < 20


def test_exported_model_estimator_falls_back_to_statistics(tmp_path):
  module = types.SimpleNamespace(signatures={'serving_default': None})
  model = transfer_app.ExportedModel(str(tmp_path), module, {
      'dataset_statistics': {'f0_estimator': 'swiftf0', 'crepe_hop_ms': None}})
  assert model.f0_estimator == 'swiftf0'
  old = transfer_app.ExportedModel(str(tmp_path), module,
                                   {'dataset_statistics': None})
  assert old.f0_estimator == 'crepe' and old.crepe_hop_ms is None
  bad = transfer_app.ExportedModel(str(tmp_path), module, {
      'dataset_statistics': None, 'f0_estimator': 'yin'})
  with pytest.raises(transfer_app.ExportError, match="'yin'"):
    _ = bad.f0_estimator


def test_tf_example_bytes_equal_protobufs():
  """examples.to_tf_example writes the bytes protobuf would, only faster."""
  tf = pytest.importorskip('tensorflow')
  rng = np.random.RandomState(0)
  cases = [{'audio': rng.randn(6400), 'f0_hz': 500 * rng.rand(100),
            'empty': np.zeros(0), 'odd': np.array([np.inf, -0.0, 1e-40]),
            'é': rng.randn(3)}, {}, {'k' * 200: rng.randn(40000)}]
  for features in cases:
    expected = tf.train.Example(features=tf.train.Features(feature={
        key: tf.train.Feature(float_list=tf.train.FloatList(
            value=np.asarray(value, np.float32)))
        for key, value in features.items()})).SerializeToString(
            deterministic=True)
    assert examples.to_tf_example(features) == expected
    parsed = tf.train.Example.FromString(examples.to_tf_example(features))
    for key, value in features.items():
      np.testing.assert_array_equal(
          parsed.features.feature[key].float_list.value,
          np.asarray(value, np.float32))
