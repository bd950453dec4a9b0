"""Tests for data_prep: audio I/O, example layout, statistics, pipeline, CLI.

The audio is made here with known pitch and level: harmonic tones (one with
vibrato), one of them a stereo 44.1 kHz file. Truth is analytic (f0, level
from the A-weighting curve) or computed independently (scipy's resampler on
the whole file, spectral_ops on the whole file, numpy quantiles).
"""

import glob
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import tensorflow as tf

from data_prep import audio_io
from data_prep import cli
from data_prep import examples
from data_prep import pipeline
from data_prep import statistics
from ddsp_tf import spectral_ops
from ddsp_tf.training import data

SR16 = 16000
OUT_SR = 22050  # The `audio` feature's rate in the end-to-end run.
FRAME_RATE = 250
HOP16 = SR16 // FRAME_RATE
HARMONIC_AMPS = (0.3, 0.15, 0.1)
THRESHOLD = statistics.DEFAULT_CONFIDENCE_THRESHOLD


# ----------------------------------------------------------------------------
# Test audio with known f0 and level.
# ----------------------------------------------------------------------------
def vibrato_f0(base_hz, depth_cents=50.0, rate_hz=0.5):
  return lambda t: base_hz * 2.0**(depth_cents / 1200.0 *
                                   np.sin(2 * np.pi * rate_hz * t))


def constant_f0(hz):
  return lambda t: np.full_like(np.asarray(t, np.float64), hz)


def harmonic_tone(f0_fn, seconds, sample_rate, amps=HARMONIC_AMPS):
  """sum_k amps[k] sin(k * phase), phase the integral of f0_fn."""
  t = np.arange(int(round(seconds * sample_rate))) / sample_rate
  phase = 2 * np.pi * np.cumsum(f0_fn(t)) / sample_rate
  return sum(amp * np.sin((k + 1) * phase) for k, amp in enumerate(amps))


def analytic_loudness_db(f0_hz, amps=HARMONIC_AMPS, n_fft=512):
  """compute_loudness's level of a steady harmonic tone, in dB.

  The A-weighted mean square sum_k A_k^2 / 2 * w(f_k), on the original's
  unnormalized scale: the mean over the n_fft // 2 + 1 rfft bins of
  |STFT|^2 of a sine is its mean square times n_fft * sum(hann^2) / 2 /
  (n_fft // 2 + 1), with sum(hann^2) = 3 n_fft / 8 (Parseval).
  """
  freqs = f0_hz * np.arange(1, len(amps) + 1)
  weights = 10.0**(librosa.A_weighting(freqs) / 10.0)
  scale = n_fft * (3.0 * n_fft / 8.0) / (2.0 * (n_fft // 2 + 1))
  return 10 * np.log10(scale * np.sum(np.square(amps) / 2 * weights))


# name -> (f0 function, seconds, file sample rate, channel gains). Pitches
# are not whole Hz so that windows one second apart differ.
GOOD_FILES = {
    'a.wav': (constant_f0(220.3), 6.0, SR16, (1.0,)),
    'sub/b.flac': (vibrato_f0(330.0), 5.0, SR16, (1.0,)),
    'c_stereo.wav': (constant_f0(440.3), 5.0, 44100, (1.0, 0.5)),
}


def write_good_files(directory):
  for name, (f0_fn, seconds, rate, gains) in GOOD_FILES.items():
    tone = harmonic_tone(f0_fn, seconds, rate)
    os.makedirs(os.path.dirname(os.path.join(directory, name)), exist_ok=True)
    sf.write(os.path.join(directory, name),
             np.stack([gain * tone for gain in gains], axis=1), rate,
             subtype='FLOAT' if name.endswith('.wav') else 'PCM_24')


def reference_16k(path):
  """The file mixed to mono and resampled to 16 kHz as one whole array."""
  audio, rate = sf.read(path, always_2d=True)
  mono = audio.mean(axis=1)
  common = math.gcd(rate, SR16)
  return scipy.signal.resample_poly(mono, SR16 // common, rate // common)[
      :len(mono) * SR16 // rate]


def reference_at(path, rate):
  audio, file_rate = sf.read(path, always_2d=True)
  common = math.gcd(rate, file_rate)
  return scipy.signal.resample_poly(audio.mean(axis=1), rate // common,
                                    file_rate // common)[
                                        :len(audio) * rate // file_rate]


def read_examples(pattern):
  """{serialized bytes: parsed float features} of every record."""
  records = {}
  for path in sorted(glob.glob(pattern)):
    for record in tf.data.TFRecordDataset(path):
      parsed = tf.train.Example.FromString(record.numpy())
      records[record.numpy()] = {
          key: np.array(feature.float_list.value, np.float32)
          for key, feature in parsed.features.feature.items()}
  return records


def rpa(f0_hz, truth_hz, cents=50.0):
  return np.mean(np.abs(1200 * np.log2(f0_hz / truth_hz)) < cents)


# ----------------------------------------------------------------------------
# audio_io.
# ----------------------------------------------------------------------------
def test_find_audio_files_ignores_hidden_and_non_audio(tmp_path):
  for name in ('x.wav', 'deep/er/y.FLAC', '.ipynb_checkpoints/x-checkpoint.wav',
               'deep/._y.flac', 'notes.txt', 'z.mp3', 'image.png'):
    os.makedirs(os.path.dirname(str(tmp_path / name)), exist_ok=True)
    (tmp_path / name).write_bytes(b'')
  found = audio_io.find_audio_files([str(tmp_path)])
  assert [item.key for item in found] == ['deep/er/y.FLAC', 'x.wav', 'z.mp3']
  assert all(os.path.isfile(item.path) for item in found)
  # A recursive glob keys files relative to its non-wildcard part; a file
  # matched twice is listed once.
  found = audio_io.find_audio_files([str(tmp_path / '**' / '*.wav'),
                                     str(tmp_path / 'x.wav')])
  assert [item.key for item in found] == ['x.wav']
  assert audio_io.find_audio_files([str(tmp_path / 'nothing' / '*.wav')]) == []
  with pytest.raises(ValueError, match='patterns'):
    audio_io.find_audio_files(str(tmp_path))
  with pytest.raises(ValueError, match="''"):
    audio_io.find_audio_files([''])


@pytest.mark.parametrize('file_rate,channels,subtype', [
    (44100, 2, 'PCM_24'), (22050, 1, 'PCM_16'), (48000, 3, 'FLOAT'),
    (16000, 1, 'PCM_16')])
def test_read_resampled_ranges_equal_whole_file_resampling(
    tmp_path, file_rate, channels, subtype):
  audio = np.random.default_rng(0).uniform(-0.5, 0.5,
                                           [file_rate * 2 + 37, channels])
  name = 'noise.wav' if subtype == 'FLOAT' else 'noise.flac'
  path = str(tmp_path / name)
  sf.write(path, audio, file_rate, subtype=subtype)
  info = audio_io.probe(audio_io.InputFile(path, name))
  assert (info.sample_rate, info.channels, info.n_frames) == (
      file_rate, channels, len(audio))
  for rate in (16000, 22050, 44100):
    whole = reference_at(path, rate)
    assert info.length_at(rate) == len(whole)
    padded = np.concatenate([np.zeros(500), whole, np.zeros(500)])
    for start, stop in ((0, len(whole)), (-300, 777), (1234, 9000),
                        (len(whole) - 400, len(whole) + 300)):
      np.testing.assert_allclose(
          audio_io.read_resampled(info, rate, start, stop),
          padded[start + 500:stop + 500], atol=1e-12)


def test_lossy_formats_read_exact_ranges(tmp_path):
  """MP3/OGG seeking is not sample-exact, so ranges are decoded from 0."""
  tone = harmonic_tone(vibrato_f0(300.0), 3.0, 22050)
  for name in ('t.mp3', 't.ogg'):
    path = str(tmp_path / name)
    sf.write(path, tone, 22050)
    whole = sf.read(path)[0]
    info = audio_io.probe(audio_io.InputFile(path, name))
    np.testing.assert_allclose(audio_io.read_mono(info, 20000, 30000),
                               whole[20000:30000], atol=1e-6)


def write_bad_files(directory):
  """Files that must be rejected; returns {name: reason pattern}."""
  os.makedirs(directory, exist_ok=True)
  open(os.path.join(directory, 'zero.wav'), 'wb').close()
  with open(os.path.join(directory, 'text.wav'), 'w') as text_file:
    text_file.write('This is not audio.\n' * 50)
  tone = harmonic_tone(constant_f0(220.0), 4.0, SR16)
  for name in ('truncated.wav', 'truncated.flac'):
    path = os.path.join(directory, name)
    sf.write(path, tone, SR16)
    with open(path, 'rb') as audio_file:
      content = audio_file.read()
    with open(path, 'wb') as audio_file:
      audio_file.write(content[:len(content) // 2])
  return {'zero.wav': 'cannot decode', 'text.wav': 'cannot decode',
          'truncated.wav': 'truncated', 'truncated.flac': 'truncated'}


def test_probe_rejects_bad_files_with_reasons(tmp_path):
  for name, reason in write_bad_files(str(tmp_path)).items():
    with pytest.raises(audio_io.AudioFileError, match=reason):
      audio_io.probe(audio_io.InputFile(str(tmp_path / name), name))


# ----------------------------------------------------------------------------
# examples: layout and chunk features.
# ----------------------------------------------------------------------------
def fake_info(seconds, rate=SR16):
  return audio_io.AudioInfo(path='x.wav', key='x.wav', sample_rate=rate,
                            n_frames=int(round(seconds * rate)), channels=1,
                            format='WAV')


@pytest.mark.parametrize(
    'layout,seconds,example,hop,chunk,center,count,frames', [
        # 'file': floor((seconds - example) / hop) + 1 windows.
        ('file', 6.0, 4, 1, 20, False, 3, 1000),
        ('file', 6.5, 4, 1, 20, True, 3, 1001),  # Partial window dropped.
        ('file', 4.0, 4, 1, 20, False, 1, 1000),
        ('file', 2.0, 4, 1, 20, False, 1, 1000),  # One padded window.
        ('file', 10.0, 2, 0.5, 3, False, 17, 500),
        ('file', 7.0, 0, 1, 3, False, 3, 750),  # Whole chunks, last padded.
        ('file', 7.0, 0, 1, 3, True, 3, 751),
        # 'chunks' (the original's): ceil(seconds / chunk) chunks of
        # floor((chunk - example) / hop) + 1 windows each.
        ('chunks', 6.0, 4, 1, 20, False, 17, 1000),
        ('chunks', 2.0, 4, 1, 20, False, 17, 1000),
        ('chunks', 45.0, 4, 1, 20, True, 51, 1001),
        ('chunks', 10.0, 2, 0.5, 3, False, 12, 500),
        ('chunks', 7.0, 0, 1, 3, False, 3, 750),
        ('chunks', 7.0, 4, 1, 0, False, 4, 1000),  # No chunks: the file's.
    ])
def test_plan_windows_counts(layout, seconds, example, hop, chunk, center,
                             count, frames):
  spec = examples.ExampleSpec(example_secs=example, hop_secs=hop,
                              chunk_secs=chunk, center=center,
                              model_capacity='tiny', window_layout=layout)
  windows = examples.plan_windows(fake_info(seconds), spec)
  assert (windows.count, windows.size['frames']) == (count, frames)
  chunks = examples.plan_chunks(fake_info(seconds), spec)
  assert sum(chunk.count for chunk in chunks) == count
  # Chunks are at most chunk_secs long (or one window) and own disjoint,
  # adjacent stretches of frames.
  for chunk in chunks:
    start, stop = chunk.span('audio_16k')
    if spec.chunk_secs:
      assert stop - start <= max(chunk_secs_16k(spec),
                                 windows.size['audio_16k'])
    if spec.chunked:  # Chunk c starts at c * chunk_secs, analysed alone.
      assert start == chunk.index * chunk_secs_16k(spec)
      assert chunk.segment('audio_16k') == (start, start +
                                            chunk_secs_16k(spec))
      assert chunk.owned('frames') == chunk.span('frames')
  if spec.chunked:
    return
  owned = [chunk.owned('frames') for chunk in chunks]
  assert owned[0][0] == 0
  assert all(a[1] == b[0] for a, b in zip(owned, owned[1:]))
  assert owned[-1][1] == chunks[-1].span('frames')[1]


def chunk_secs_16k(spec):
  return int(spec.chunk_secs * SR16)


def test_plan_windows_skip_and_whole_files():
  skip = examples.ExampleSpec(short_clips='skip', model_capacity='tiny')
  with pytest.raises(audio_io.AudioFileError, match='shorter than one example'):
    examples.plan_windows(fake_info(3.9), skip)
  whole = examples.ExampleSpec(example_secs=0, chunk_secs=0,
                               sample_rate=44100, model_capacity='tiny')
  windows = examples.plan_windows(fake_info(3.3), whole)
  assert windows.count == 1
  assert windows.size == {'audio': 145530, 'audio_16k': 52800,
                          'frames': 825}


@pytest.mark.parametrize('kwargs,match', [
    ({'frame_rate': 300}, 'frame_rate=300'),
    ({'frame_rate': 25}, 'frame_rate=25'),
    ({'example_secs': -1}, 'example_secs=-1'),
    ({'hop_secs': 0}, 'hop_secs=0'),
    ({'sample_rate': 22050, 'hop_secs': 0.01}, 'hop_secs=0.01'),
    ({'model_capacity': 'huge'}, "model_capacity='huge'"),
    ({'short_clips': 'trim'}, "short_clips='trim'"),
])
def test_example_spec_errors_name_the_value(kwargs, match):
  with pytest.raises(ValueError, match=match):
    examples.ExampleSpec(**kwargs)


@pytest.mark.parametrize('center', [False, True])
def test_chunk_features_equal_whole_file_features(tmp_path, center):
  """Chunks of a 44.1 kHz file give the whole file's features, window by window."""
  path = str(tmp_path / 'tone.wav')
  sf.write(path, harmonic_tone(vibrato_f0(250.0), 3.0, 44100), 44100)
  spec = examples.ExampleSpec(example_secs=1.0, hop_secs=0.5, chunk_secs=1.5,
                              center=center, viterbi=False,
                              model_capacity='tiny', sample_rate=44100,
                              window_layout='file')
  info = audio_io.probe(audio_io.InputFile(path, 'tone.wav'))
  chunks = examples.plan_chunks(info, spec)
  assert [chunk.count for chunk in chunks] == [2, 2, 1]

  padding = 'center' if center else 'same'
  audio_16k = reference_16k(path)
  f0_hz, confidence = spectral_ops.compute_f0(
      audio_16k, FRAME_RATE, viterbi=False, padding=padding,
      model_capacity='tiny')
  loudness = spectral_ops.compute_loudness(audio_16k, SR16, FRAME_RATE,
                                           n_fft=512, padding=padding).numpy()
  audio = reference_at(path, 44100)
  n_frames = 250 + int(center)
  windows = [window for chunk in chunks for window in examples.split_windows(
      chunk, examples.chunk_features(chunk, spec))]
  assert [index for index, _ in windows] == list(range(5))
  for index, example in windows:
    frames = slice(index * 125, index * 125 + n_frames)
    assert example['f0_hz'].shape == (n_frames,)
    np.testing.assert_allclose(example['f0_hz'], f0_hz[frames], rtol=1e-4)
    np.testing.assert_allclose(example['f0_confidence'], confidence[frames],
                               atol=1e-4)
    np.testing.assert_allclose(example['loudness_db'], loudness[frames],
                               atol=1e-3)
    np.testing.assert_allclose(
        example['audio_16k'], audio_16k[index * 8000:index * 8000 + SR16],
        atol=1e-6)
    np.testing.assert_allclose(
        example['audio'], audio[index * 22050:index * 22050 + 44100],
        atol=1e-6)


@pytest.mark.parametrize('center', [False, True])
def test_chunks_layout_analyses_each_padded_chunk_alone(tmp_path, center):
  """The original's layout: chunk c is the file's [c, c + 1) s, zero-padded
  to 1 s and analysed on its own (its features see zeros beyond its
  edges); window j of it starts j * hop_secs in, and windows come from the
  padding too."""
  path = str(tmp_path / 'tone.wav')
  sf.write(path, harmonic_tone(vibrato_f0(250.0), 2.5, 44100), 44100)
  spec = examples.ExampleSpec(example_secs=0.4, hop_secs=0.2, chunk_secs=1.0,
                              center=center, viterbi=False,
                              model_capacity='tiny', sample_rate=44100)
  info = audio_io.probe(audio_io.InputFile(path, 'tone.wav'))
  chunks = examples.plan_chunks(info, spec)
  # ceil(2.5 / 1) chunks of floor((1 - 0.4) / 0.2) + 1 windows.
  assert [chunk.count for chunk in chunks] == [4, 4, 4]

  padding = 'center' if center else 'same'
  audio_16k, audio = reference_16k(path), reference_at(path, 44100)
  n_frames = 100 + int(center)
  indices = []
  for chunk in chunks:
    segment_16k = np.zeros(SR16)
    part = audio_16k[chunk.index * SR16:(chunk.index + 1) * SR16]
    segment_16k[:len(part)] = part
    segment = np.zeros(44100)
    part = audio[chunk.index * 44100:(chunk.index + 1) * 44100]
    segment[:len(part)] = part
    f0_hz, confidence = spectral_ops.compute_f0(
        segment_16k, FRAME_RATE, viterbi=False, padding=padding,
        model_capacity='tiny')
    loudness = spectral_ops.compute_loudness(
        segment_16k, SR16, FRAME_RATE, n_fft=512, padding=padding).numpy()
    for index, example in examples.split_windows(
        chunk, examples.chunk_features(chunk, spec)):
      indices.append(index)
      j = index - 4 * chunk.index
      frames = slice(j * 50, j * 50 + n_frames)
      assert example['f0_hz'].shape == (n_frames,)
      np.testing.assert_allclose(example['f0_hz'], f0_hz[frames], rtol=1e-4)
      np.testing.assert_allclose(example['f0_confidence'],
                                 confidence[frames], atol=1e-4)
      np.testing.assert_allclose(example['loudness_db'], loudness[frames],
                                 atol=1e-3)
      np.testing.assert_allclose(
          example['audio_16k'], segment_16k[j * 3200:j * 3200 + 6400],
          atol=1e-6)
      np.testing.assert_allclose(
          example['audio'], segment[j * 8820:j * 8820 + 17640], atol=1e-6)
  assert indices == list(range(12))
  # The last window (2.6 to 3.0 s) is all padding.
  assert not np.any(example['audio'])
  assert chunks[-1].owned_secs == pytest.approx(0.5)


def test_chunks_layout_eval_split_takes_whole_chunks(tmp_path):
  path = str(tmp_path / 'tone.wav')
  noise = np.random.default_rng(30).uniform(-0.5, 0.5, 30 * SR16)
  sf.write(path, noise, SR16, subtype='FLOAT')  # Every window unique.
  output = str(tmp_path / 'split.tfrecord')
  pipeline.prepare_tfrecord([path], output, frame_rate=0, example_secs=0.5,
                            hop_secs=0.25, chunk_secs=1.0,
                            eval_split_fraction=0.4)
  splits = {split: read_examples(f'{output}-{split}-*')
            for split in ('train', 'eval')}
  audio = reference_16k(path)
  chunk_of_split = {}
  for split, found in splits.items():
    for example in found.values():
      start, = [k * 4000 for k in range(119) if np.allclose(
          example['audio_16k'], audio[k * 4000:k * 4000 + 8000], atol=1e-6)]
      chunk_of_split.setdefault(start // SR16, set()).add(split)
  # 30 chunks of 3 windows, every chunk in one split only, both splits used.
  assert len(chunk_of_split) == 30
  assert all(len(split) == 1 for split in chunk_of_split.values())
  assert len(splits['eval']) % 3 == 0 and 0 < len(splits['eval']) < 90


def test_whole_chunk_examples_zero_pad_the_end(tmp_path):
  path = str(tmp_path / 'tone.wav')
  tone = harmonic_tone(constant_f0(200.0), 2.5, SR16)
  sf.write(path, tone, SR16, subtype='FLOAT')
  spec = examples.ExampleSpec(example_secs=0, chunk_secs=1.0, frame_rate=0,
                              model_capacity='tiny')
  info = audio_io.probe(audio_io.InputFile(path, 'tone.wav'))
  windows = [example for chunk in examples.plan_chunks(info, spec)
             for _, example in examples.split_windows(
                 chunk, examples.chunk_features(chunk, spec))]
  assert len(windows) == 3
  assert all(set(example) == {'audio', 'audio_16k'} for example in windows)
  joined = np.concatenate([example['audio'] for example in windows])
  np.testing.assert_allclose(joined[:len(tone)], tone, atol=1e-7)
  assert not np.any(joined[len(tone):])


def test_eval_split_is_stable_and_near_the_fraction():
  picks = [examples.is_eval(f'dir/file{i % 50}.wav', i, 0.2)
           for i in range(20000)]
  assert abs(np.mean(picks) - 0.2) < 0.01
  assert picks == [examples.is_eval(f'dir/file{i % 50}.wav', i, 0.2)
                   for i in range(20000)]
  assert not any(examples.is_eval('x.wav', i, 0.0) for i in range(1000))


# ----------------------------------------------------------------------------
# statistics.
# ----------------------------------------------------------------------------
def test_histogram_quantiles_match_numpy():
  rng = np.random.default_rng(3)
  values = np.concatenate([rng.normal(-30, 8, 5000), rng.normal(-12, 2, 700),
                           [-95.0, 40.0]])
  first, second = statistics.Histogram(-80, 20), statistics.Histogram(-80, 20)
  first.add(values[:3000])
  second.add(values[3000:])
  first.merge(second)
  levels = statistics.QUANTILE_LEVELS
  np.testing.assert_allclose(first.quantiles(levels),
                             np.quantile(values, levels), atol=0.0051)
  described = first.describe()
  assert described['count'] == len(values)
  np.testing.assert_allclose(
      [described['mean'], described['std'], described['min'],
       described['max']],
      [values.mean(), values.std(), values.min(), values.max()], rtol=1e-9)
  assert statistics.Histogram(0, 1).describe()['quantiles'] == []


# ----------------------------------------------------------------------------
# End to end.
# ----------------------------------------------------------------------------
E2E_ARGS = dict(sample_rate=OUT_SR, frame_rate=FRAME_RATE, example_secs=4,
                hop_secs=1, chunk_secs=5, eval_split_fraction=0.3,
                model_capacity='tiny', num_shards=2, window_layout='file')


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
  """Good files plus an ignored checkpoint copy and a text file."""
  directory = str(tmp_path_factory.mktemp('audio'))
  write_good_files(directory)
  os.makedirs(os.path.join(directory, '.ipynb_checkpoints'))
  sf.write(os.path.join(directory, '.ipynb_checkpoints', 'a-checkpoint.wav'),
           np.zeros(SR16 * 5), SR16)
  with open(os.path.join(directory, 'README.txt'), 'w') as readme:
    readme.write('not audio')
  return directory


@pytest.fixture(scope='module')
def e2e(dataset, tmp_path_factory):
  output = str(tmp_path_factory.mktemp('out') / 'data.tfrecord')
  stats = pipeline.prepare_tfrecord([dataset], output, **E2E_ARGS)
  return output, stats


def window_count(seconds, example=4, hop=1):
  return int((seconds - example) // hop) + 1


def identify(example, references):
  """(file name, window index) whose 16 kHz audio the example holds."""
  matches = [(name, k) for name, audio in references.items()
             for k in range(window_count(len(audio) / SR16))
             if np.allclose(example['audio_16k'],
                            audio[k * SR16:k * SR16 + 4 * SR16], atol=1e-6)]
  assert len(matches) == 1, matches
  return matches[0]


def test_end_to_end_examples_match_truth(dataset, e2e):
  output, _ = e2e
  train = read_examples(output + '-train-*-of-00002')
  evaluation = read_examples(output + '-eval-*-of-00002')
  assert len(glob.glob(output + '-train-*')) == 2
  assert not set(train) & set(evaluation)
  expected_count = sum(window_count(seconds)
                       for _, seconds, _, _ in GOOD_FILES.values())
  assert len(train) + len(evaluation) == expected_count == 7

  references = {name: reference_16k(os.path.join(dataset, name))
                for name in GOOD_FILES}
  seen = set()
  for example in list(train.values()) + list(evaluation.values()):
    assert {key: len(value) for key, value in example.items()} == {
        'audio': 4 * OUT_SR, 'audio_16k': 4 * SR16, 'f0_hz': 1000,
        'f0_confidence': 1000, 'loudness_db': 1000}
    name, k = identify(example, references)
    seen.add((name, k))
    f0_fn, _, _, gains = GOOD_FILES[name]
    np.testing.assert_allclose(
        example['audio'],
        reference_at(os.path.join(dataset, name), OUT_SR)[
            k * OUT_SR:(k + 4) * OUT_SR], atol=1e-6)
    # f0 against the analytic pitch at each frame's centre.
    frame_centres = (k * SR16 + np.arange(1000) * HOP16 + 512) / SR16
    assert rpa(example['f0_hz'], f0_fn(frame_centres)) >= 0.95
    assert np.mean(example['f0_confidence'] >= THRESHOLD) > 0.9
    # Loudness against compute_loudness of the whole file at 16 kHz, and the
    # steady tones against their analytic A-weighted level.
    direct = spectral_ops.compute_loudness(
        references[name], SR16, FRAME_RATE, n_fft=512, padding='same').numpy()
    np.testing.assert_allclose(example['loudness_db'],
                               direct[k * 250:k * 250 + 1000], atol=1e-3)
    if name != 'sub/b.flac':
      level = analytic_loudness_db(f0_fn(0.0)) + 20 * np.log10(np.mean(gains))
      interior = example['loudness_db'][10:-10]
      np.testing.assert_allclose(interior, level, atol=0.3)
  assert len(seen) == expected_count


def test_end_to_end_stats_match_direct_computation(dataset, e2e):
  output, stats = e2e
  with open(os.path.join(os.path.dirname(output), 'stats.json')) as stats_file:
    assert json.load(stats_file) == stats
  assert stats['format_version'] == 1
  assert (stats['sample_rate'], stats['frame_rate'], stats['center']) == (
      OUT_SR, FRAME_RATE, False)
  assert stats['files'] == 3 and stats['rejected_files'] == 0
  assert stats['examples']['train'] + stats['examples']['eval'] == 7
  assert stats['examples']['eval'] == len(read_examples(output + '-eval-*'))
  assert stats['audio_seconds'] == pytest.approx(16.0)

  loudness, pitch, frames = [], [], 0
  for name, (_, seconds, _, _) in GOOD_FILES.items():
    audio = reference_16k(os.path.join(dataset, name))
    covered = (window_count(seconds) - 1) * 250 + 1000
    f0_hz, confidence = spectral_ops.compute_f0(
        audio, FRAME_RATE, viterbi=True, padding='same', model_capacity='tiny')
    level = spectral_ops.compute_loudness(audio, SR16, FRAME_RATE, n_fft=512,
                                          padding='same').numpy()
    voiced = confidence[:covered] >= THRESHOLD
    loudness.append(level[:covered][voiced])
    pitch.append(12 * np.log2(f0_hz[:covered][voiced] / 440.0) + 69)
    frames += covered
  loudness, pitch = np.concatenate(loudness), np.concatenate(pitch)
  # Every frame once, although windows overlap.
  assert stats['frames']['total'] == frames == 4000
  assert stats['frames']['voiced'] == pytest.approx(len(loudness), rel=0.01)
  assert stats['mean_loudness_db'] == pytest.approx(loudness.mean(), abs=0.05)
  assert stats['mean_pitch_midi'] == pytest.approx(pitch.mean(), abs=0.05)
  levels = stats['quantile_levels']
  assert len(levels) == 101 and levels[50] == 0.5
  np.testing.assert_allclose(stats['loudness_db']['quantiles'],
                             np.quantile(loudness, levels), atol=0.1)
  np.testing.assert_allclose(stats['f0_midi']['quantiles'],
                             np.quantile(pitch, levels), atol=0.1)


def test_provider_reads_pipeline_shards(e2e):
  output, _ = e2e
  provider = data.TFRecordProvider(output + '-train*', example_secs=4,
                                   sample_rate=OUT_SR, frame_rate=FRAME_RATE)
  batch = next(iter(provider.get_batch(2, shuffle=False)))
  assert {key: tuple(value.shape) for key, value in batch.items()} == {
      'audio': (2, 4 * OUT_SR), 'audio_16k': (2, 4 * SR16),
      'f0_hz': (2, 1000), 'f0_confidence': (2, 1000), 'loudness_db': (2, 1000)}


def test_rerun_gives_the_same_examples(dataset, e2e, tmp_path):
  output, _ = e2e
  again = str(tmp_path / 'data.tfrecord')
  pipeline.prepare_tfrecord([dataset], again, **E2E_ARGS)
  for split in ('train', 'eval'):
    assert set(read_examples(f'{again}-{split}-*')) == set(
        read_examples(f'{output}-{split}-*'))


@pytest.mark.slow
def test_multi_process_runner_gives_the_same_examples(dataset, e2e, tmp_path,
                                                      caplog):
  """...and logs progress from the worker processes' work."""
  output, _ = e2e
  multi = str(tmp_path / 'data.tfrecord')
  caplog.set_level(logging.INFO, logger='data_prep.progress')
  pipeline.prepare_tfrecord(
      [dataset], multi, progress_secs=0.2, pipeline_options=[
          '--runner=DirectRunner', '--direct_num_workers=2',
          '--direct_running_mode=multi_processing'], **E2E_ARGS)
  for split in ('train', 'eval'):
    assert set(read_examples(f'{multi}-{split}-*')) == set(
        read_examples(f'{output}-{split}-*'))
  lines = [record.getMessage() for record in caplog.records
           if record.name == 'data_prep.progress']
  assert lines, 'no progress line was logged'
  assert re.match(r'prepare_tfrecord: (\d+)/\1 files, ([\d.]+) of \2 '
                  r'audio-s \(100%\)', lines[-1]), lines[-1]


# ----------------------------------------------------------------------------
# Bad input.
# ----------------------------------------------------------------------------
FAST_ARGS = dict(model_capacity='tiny', viterbi=False, frame_rate=50,
                 window_layout='file')


@pytest.fixture(scope='module')
def bad_dataset(tmp_path_factory):
  """Bad files, pure silence, a 2 s clip and one good 4.5 s file."""
  directory = str(tmp_path_factory.mktemp('bad'))
  reasons = write_bad_files(directory)
  sf.write(os.path.join(directory, 'silence.wav'), np.zeros(SR16 * 4), SR16)
  sf.write(os.path.join(directory, 'short.wav'),
           harmonic_tone(constant_f0(300.0), 2.0, SR16), SR16)
  sf.write(os.path.join(directory, 'good.flac'),
           harmonic_tone(constant_f0(250.0), 4.5, SR16), SR16)
  return directory, reasons


def read_rejects(path):
  with open(path) as rejects_file:
    return dict(line.rstrip('\n').split('\t') for line in rejects_file)


def test_bad_input_is_rejected_with_reasons_and_good_files_kept(
    bad_dataset, tmp_path):
  directory, reasons = bad_dataset
  output = str(tmp_path / 'bad.tfrecord')
  # A shard of an earlier run with another shard count must not survive.
  stale = output + '-00003-of-00007'
  open(stale, 'wb').close()
  stats = pipeline.prepare_tfrecord([directory], output, **FAST_ARGS)
  rejects = read_rejects(str(tmp_path / 'rejects.tsv'))
  assert {os.path.basename(path) for path in rejects} == set(reasons)
  for path, reason in rejects.items():
    assert reasons[os.path.basename(path)] in reason
  assert stats['rejected_files'] == 4 and stats['files'] == 3
  assert not os.path.exists(stale)

  found = list(read_examples(output + '-*-of-*').values())
  assert len(found) == 3  # silence, short (padded to 4 s), good.
  silence, = [ex for ex in found if not np.any(ex['audio'])]
  short, = [ex for ex in found if not np.any(ex['audio'][2 * SR16:])
            and np.any(ex['audio'])]
  good, = [ex for ex in found if np.any(ex['audio'][2 * SR16:])]
  # Silence is kept: valid audio with no pitch (see the README).
  assert not np.any(silence['audio'])
  assert np.all(silence['loudness_db'] == -80.0)
  assert np.all(silence['f0_confidence'] < THRESHOLD)
  # The short clip is zero-padded after its 2 s.
  assert len(short['audio']) == 4 * SR16
  assert np.any(short['audio'][:2 * SR16]) and not np.any(
      short['audio'][2 * SR16:])
  assert np.mean(good['f0_confidence'] >= THRESHOLD) > 0.9
  assert stats['examples']['train'] == 3


# ----------------------------------------------------------------------------
# CLI.
# ----------------------------------------------------------------------------
def run_cli(*args):
  return subprocess.run(
      [sys.executable, '-m', 'data_prep.cli', *args], capture_output=True,
      text=True, timeout=300, check=False)


def test_help_explains_every_flag(capsys):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(['--help'])
  assert exit_info.value.code == 0
  text = capsys.readouterr().out
  for action in cli.make_parser()._actions:  # pylint: disable=protected-access
    assert action.help
    for option in action.option_strings:
      assert option in text


def test_cli_rejects_unknown_flags(capsys):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(['--input_audio_filepatterns=x', '--output_tfrecord_path=y',
              '--example_sec=3'])
  assert exit_info.value.code == 2
  assert '--example_sec=3' in capsys.readouterr().err
  assert cli.unknown_beam_flags(['--runner=DirectRunner',
                                 '--direct_num_workers=2']) == []


def test_cli_skips_short_clips_and_reports(bad_dataset, tmp_path, capsys):
  directory, reasons = bad_dataset
  output = str(tmp_path / 'skip.tfrecord')
  assert cli.main([f'--input_audio_filepatterns={directory}/*.wav,'
                   f'{directory}/*.flac', f'--output_tfrecord_path={output}',
                   '--short_clips=skip', '--model_capacity=tiny',
                   '--noviterbi', '--frame_rate=50', '--num_shards=1']) == 0
  # The original's layout: each file (at most 20 s) is one 20 s chunk of
  # floor((20 - 4) / 1) + 1 = 17 windows.
  assert '34 examples from 2 file(s)' in capsys.readouterr().out
  rejects = read_rejects(str(tmp_path / 'rejects.tsv'))
  assert {os.path.basename(path) for path in rejects} == set(reasons) | {
      'short.wav'}
  assert 'shorter than one example' in rejects[
      os.path.join(directory, 'short.wav')]
  assert os.path.exists(output + '-00000-of-00001')


def test_cli_fails_clearly_without_usable_audio(bad_dataset, tmp_path,
                                               capsys):
  directory, _ = bad_dataset
  empty = tmp_path / 'empty'
  empty.mkdir()
  (empty / 'notes.txt').write_text('no audio here')
  assert cli.main([f'--input_audio_filepatterns={empty}',
                   f'--output_tfrecord_path={tmp_path}/x.tfrecord']) == 1
  assert 'No audio file matches' in capsys.readouterr().err

  # The console entry point as a process: exit status and a clean message.
  result = run_cli(f'--input_audio_filepatterns={directory}/t*.wav',
                   f'--output_tfrecord_path={tmp_path}/y.tfrecord',
                   '--model_capacity=tiny')
  assert result.returncode == 1
  assert 'No usable audio' in result.stderr and 'rejects.tsv' in result.stderr
  assert 'Traceback' not in result.stderr


def test_killed_job_leaves_no_complete_looking_output(tmp_path):
  directory = tmp_path / 'long'
  directory.mkdir()
  sf.write(str(directory / 'long.flac'),
           harmonic_tone(vibrato_f0(200.0), 60.0, SR16), SR16)
  output = str(tmp_path / 'out' / 'killed.tfrecord')
  process = subprocess.Popen(
      [sys.executable, '-m', 'data_prep.cli',
       f'--input_audio_filepatterns={directory}',
       f'--output_tfrecord_path={output}', '--model_capacity=tiny',
       '--noviterbi', '--frame_rate=50', '--chunk_secs=6'],
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 240
  # Wait until shard data is being written to Beam's temporary directory.
  while time.monotonic() < deadline and process.poll() is None:
    temporary = [path for path in glob.glob(
        str(tmp_path / 'out' / 'beam-temp-*' / '*')) if os.path.getsize(path)]
    if temporary:
      break
    time.sleep(0.2)
  assert process.poll() is None, 'the job ended before it could be killed'
  process.send_signal(signal.SIGKILL)
  process.wait()
  leftovers = os.listdir(tmp_path / 'out')
  assert not glob.glob(output + '*'), leftovers
  assert 'stats.json' not in leftovers
  with pytest.raises(FileNotFoundError):
    data.TFRecordProvider(output + '*', frame_rate=50).get_dataset()


def test_none_turns_stages_off_as_in_the_original():
  """frame_rate, example_secs and chunk_secs of None mean 0: audio only,
  no windows, whole files (magenta/ddsp's prepare_tfrecord spelling)."""
  from data_prep import examples as examples_lib  # pylint: disable=g-import-not-at-top
  spec = examples_lib.ExampleSpec(frame_rate=None, example_secs=None,
                                  chunk_secs=None)
  assert (spec.frame_rate, spec.example_secs, spec.chunk_secs) == (0, 0, 0)
  assert spec == examples_lib.ExampleSpec(frame_rate=0, example_secs=0,
                                          chunk_secs=0)


def test_run_reads_the_process_command_line(tmp_path, monkeypatch, capsys):
  """run() (the original's entry point name) parses sys.argv like main()."""
  monkeypatch.setattr(sys, 'argv', [
      'ddsp_prepare_tfrecord',
      f'--input_audio_filepatterns={tmp_path}/none/*.wav',
      f'--output_tfrecord_path={tmp_path}/out/train.tfrecord'])
  # pylint: disable-next=g-import-not-at-top
  from ddsp_tf.training.data_preparation import ddsp_prepare_tfrecord
  assert ddsp_prepare_tfrecord.run() == 1
  assert 'No audio file matches' in capsys.readouterr().err
  assert not os.path.exists(tmp_path / 'out')
