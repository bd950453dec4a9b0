"""Writes the data-interchange and Colab-sequence fixtures with magenta/ddsp.

Run with the original's environment (it imports `ddsp`, the original v3.7.0):

  TF_USE_LEGACY_KERAS=1 /tmp/ref/venv/bin/python \
      tests/golden/make_original_interchange.py

Writes into `tests/golden/original_prepared/`:
- `tone.wav`: 2 s of a test-made harmonic tone (16 kHz, 16-bit PCM): a
  quiet lead-in, then a glide from A3 up half an octave with 6 Hz vibrato,
  and a fade-out. Its f0 is known (`true_f0_hz` in features.npz).
- `train.tfrecord-00000-of-00001`: the original's
  `prepare_tfrecord_lib.prepare_tfrecord` on tone.wav with the original's
  defaults (16 kHz, 250 frames/s, CREPE full with Viterbi, center=False),
  except 1-second examples with 1-second hops and chunk_secs = the file's
  2 s, so the file stays small: the original pads a file's last chunk to
  chunk_secs and cuts windows from the padding too (with the default 20 s,
  this file gives 20 windows, 18 of them silent).
- `features.npz`:
  - `spec_<key>`: the shape of each feature in the original's
    `TFRecordProvider(example_secs=1).features_dict` (how the original
    parses a shard), for checking that ddsp_tf's shards parse the same way.
  - `colab_<key>`: the original's `training.metrics.compute_audio_features`
    on tone.wav (audio, f0_hz, f0_confidence, loudness_db), as its timbre
    transfer Colab computes them.
  - `solo_<key>`: the Colab's model sequence (tests/colab_sequence.py,
    shared with the test) on the checkpoint in `original_solo_instrument/`
    (parse its operative config, set the lengths from the audio,
    `models.Autoencoder()`, `restore`, call) on those features: the
    decoder's controls and the harmonic signal (the filtered noise is
    random).
  - `true_f0_hz`: the tone's f0 at 250 frames/s (frame i at i / 250 s).
  - `chunked_<key>`: the original's layout of windows across chunks: its
    `prepare_tfrecord` on tone.wav with chunk_secs=0.8, example_secs=0.4
    and hop_secs=0.2 (3 chunks, the last one padded from 0.4 s to 0.8 s,
    of 3 windows each), as [9, n] arrays of f0_hz, f0_confidence and
    loudness_db, and `chunked_audio_energy` (the sum of each example's
    squared audio_16k), in the shard's order. `python
    tests/golden/make_original_interchange.py chunked` adds only these keys
    to an existing features.npz.

tests/test_original_interchange.py reads only these files.
"""

import contextlib
import glob
import os
import shutil
import sys
import tempfile
import wave

import gin
import numpy as np
import pydub
import tensorflow as tf

import ddsp
import ddsp.training
from ddsp.training.data_preparation import prepare_tfrecord_lib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for colab_sequence.
import colab_sequence as colab_sequence_lib  # pylint: disable=g-import-not-at-top,wrong-import-position

OUT_DIR = os.path.join(HERE, 'original_prepared')
SAMPLE_RATE = 16000
FRAME_RATE = 250
SECONDS = 2.0
SEED = 20261206


def tone_f0_hz(seconds):
  """The tone's f0 at times `seconds`: a glide with vibrato."""
  glide = 220.0 * 2.0**(0.5 * np.clip(seconds - 0.15, 0.0, None) / 1.7)
  vibrato_cents = 20.0 * np.sin(2 * np.pi * 6.0 * seconds)
  return glide * 2.0**(vibrato_cents / 1200.0)


def make_tone():
  """int16 samples of the test tone."""
  n = int(SAMPLE_RATE * SECONDS)
  t = np.arange(n) / SAMPLE_RATE
  phase = 2 * np.pi * np.cumsum(tone_f0_hz(t)) / SAMPLE_RATE
  harmonics = sum(np.sin(k * phase) / k for k in range(1, 11))
  envelope = np.clip((t - 0.1) / 0.05, 0.0, 1.0) * np.clip(
      (SECONDS - t) / 0.15, 0.0, 1.0)
  rng = np.random.default_rng(SEED)
  audio = 0.3 * envelope * harmonics + 1e-3 * rng.standard_normal(n)
  return np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)


def write_wav(path, samples):
  """Writes int16 samples as a mono 16-bit PCM wav, exactly."""
  with wave.open(path, 'wb') as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(SAMPLE_RATE)
    f.writeframes(samples.astype('<i2').tobytes())


def _read_wav_without_ffmpeg():
  """Lets pydub read the wav itself: this machine has no ffprobe.

  The original opens audio with `pydub.AudioSegment.from_file(f)`, which asks
  ffprobe what a file object holds; told that it is a wav, pydub decodes
  the 16-bit PCM samples itself (the same integers ffmpeg would give).
  """
  from_file = pydub.AudioSegment.from_file.__func__

  def from_wav_file(cls, file, format=None, **kwargs):  # pylint: disable=redefined-builtin
    return from_file(cls, file, format=format or 'wav', **kwargs)

  pydub.AudioSegment.from_file = classmethod(from_wav_file)


@contextlib.contextmanager
def original_shards(wav_path, name, **kwargs):
  """Runs the original's prepare_tfrecord on wav_path (one shard, the
  fixture's rates and `kwargs`) in a temporary folder; yields the shard's
  path."""
  _read_wav_without_ffmpeg()
  tmp = tempfile.mkdtemp()
  try:
    prepare_tfrecord_lib.prepare_tfrecord(
        [wav_path], os.path.join(tmp, f'{name}.tfrecord'), num_shards=1,
        sample_rate=SAMPLE_RATE, frame_rate=FRAME_RATE, **kwargs)
    shards = glob.glob(os.path.join(tmp, f'{name}.tfrecord*'))
    assert len(shards) == 1, shards
    yield shards[0]
  finally:
    shutil.rmtree(tmp)


def prepare(wav_path):
  """Copies the original's shard of wav_path into OUT_DIR."""
  with original_shards(wav_path, 'train', example_secs=1, hop_secs=1,
                       chunk_secs=SECONDS) as shard:
    shutil.copy(shard, os.path.join(OUT_DIR, 'train.tfrecord-00000-of-00001'))


CHUNKED = dict(chunk_secs=0.8, example_secs=0.4, hop_secs=0.2)


def prepare_chunked(wav_path):
  """The original's examples of wav_path with CHUNKED (the chunked_ keys)."""
  with original_shards(wav_path, 'chunked', **CHUNKED) as shard:
    # (The original's TFRecordProvider fails on example_secs=0.4: it makes
    # a float length.)
    n_samples = int(round(CHUNKED['example_secs'] * SAMPLE_RATE))
    n_frames = int(round(CHUNKED['example_secs'] * FRAME_RATE))
    spec = {key: tf.io.FixedLenFeature([n], tf.float32) for key, n in (
        ('audio', n_samples), ('audio_16k', n_samples), ('f0_hz', n_frames),
        ('f0_confidence', n_frames), ('loudness_db', n_frames))}
    found = [{k: v.numpy() for k, v in
              tf.io.parse_single_example(record, spec).items()}
             for record in tf.data.TFRecordDataset(shard)]
  result = {f'chunked_{key}': np.stack([ex[key] for ex in found])
            for key in ('f0_hz', 'f0_confidence', 'loudness_db')}
  result['chunked_audio_energy'] = np.array(
      [np.sum(ex['audio_16k'].astype(np.float64)**2) for ex in found])
  return result


def colab_sequence(audio):
  """The timbre-transfer Colab's model calls on the solo checkpoint."""
  model_dir = os.path.join(HERE, 'original_solo_instrument')
  _, features, outputs, _ = colab_sequence_lib.run(ddsp, model_dir, audio)
  gin.clear_config()
  result = {f'colab_{k}': np.asarray(v) for k, v in features.items()}
  for key in ('amps', 'harmonic_distribution', 'noise_magnitudes'):
    result[f'solo_{key}'] = outputs[key].numpy()
  result['solo_harmonic'] = outputs['harmonic']['signal'].numpy()
  return result


def main():
  if sys.argv[1:] == ['chunked']:
    path = os.path.join(OUT_DIR, 'features.npz')
    result = dict(np.load(path))
    result.update(prepare_chunked(os.path.join(OUT_DIR, 'tone.wav')))
    np.savez_compressed(path, **result)
    print({k: np.shape(v) for k, v in result.items() if 'chunked' in k})
    return
  os.makedirs(OUT_DIR, exist_ok=True)
  samples = make_tone()
  wav_path = os.path.join(OUT_DIR, 'tone.wav')
  write_wav(wav_path, samples)
  prepare(wav_path)

  provider = ddsp.training.data.TFRecordProvider(
      os.path.join(OUT_DIR, 'train.tfrecord*'), example_secs=1,
      sample_rate=SAMPLE_RATE, frame_rate=FRAME_RATE)
  result = {f'spec_{k}': np.array(v.shape, np.int64)
            for k, v in provider.features_dict.items()}
  # As the Colab reads audio (pydub int16 / 32767).
  audio = (samples.astype(np.float32) / 32767.0)[np.newaxis, :]
  result.update(colab_sequence(audio))
  n_frames = int(SECONDS * FRAME_RATE)
  result['true_f0_hz'] = tone_f0_hz(np.arange(n_frames) / FRAME_RATE)
  result.update(prepare_chunked(wav_path))
  np.savez_compressed(os.path.join(OUT_DIR, 'features.npz'), **result)
  print({k: np.shape(v) for k, v in result.items()})


if __name__ == '__main__':
  main()
