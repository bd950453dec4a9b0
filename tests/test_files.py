"""Tests for ddsp_tf.files (paths, atomic writes, audio reading) and formats."""

import os
import stat

import numpy as np
import pytest
import soundfile as sf

from data_prep import cli as prepare_cli
from ddsp_tf import files
from ddsp_tf import formats
from ddsp_tf.training import data


def _leftovers(folder):
  """Hidden temporary files a write may have left behind."""
  return [name for name in os.listdir(folder) if name.startswith('.')]


def test_expand_path(monkeypatch, tmp_path):
  monkeypatch.setenv('HOME', str(tmp_path))
  monkeypatch.setenv('DDSP_TEST_DIR', 'runs')
  assert files.expand_path('~/$DDSP_TEST_DIR/a') == str(tmp_path / 'runs' / 'a')
  assert files.expand_path('gs://bucket/$X') == 'gs://bucket/$X'
  monkeypatch.chdir(tmp_path)
  assert files.expand_path('b') == str(tmp_path / 'b')


def test_write_bytes_atomically_replaces_the_file(tmp_path):
  path = str(tmp_path / 'out.bin')
  files.write_bytes_atomically(path, b'old')
  files.write_bytes_atomically(path, b'new')
  with open(path, 'rb') as written:
    assert written.read() == b'new'
  umask = os.umask(0)
  os.umask(umask)
  assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
  assert _leftovers(tmp_path) == []


def test_a_failed_write_keeps_the_old_file(tmp_path):
  path = str(tmp_path / 'out.txt')
  files.write_text_atomically(path, 'complete')
  with pytest.raises(TypeError):
    files.write_bytes_atomically(path, 'not bytes')
  with open(path, encoding='utf-8') as written:
    assert written.read() == 'complete'
  assert _leftovers(tmp_path) == []


def test_write_audio_atomically_writes_float_wav(tmp_path):
  audio = np.sin(np.linspace(0, 100, 1600)).astype(np.float32) * 1.5
  path = str(tmp_path / 'tone.wav')
  files.write_audio_atomically(path, audio, 16000)
  read, rate = sf.read(path, dtype='float32')
  assert rate == 16000 and sf.info(path).subtype == 'FLOAT'
  np.testing.assert_array_equal(read, audio)  # No clipping above 1.
  files.write_audio_atomically(str(tmp_path / 'tone.flac'), audio / 2, 8000)
  assert sf.info(str(tmp_path / 'tone.flac')).samplerate == 8000


def test_write_audio_rejects_an_unknown_extension(tmp_path):
  with pytest.raises(ValueError, match=r"unknown audio extension 'xyz'"):
    files.write_audio_atomically(str(tmp_path / 'a.xyz'), np.zeros(4), 16000)
  assert os.listdir(tmp_path) == []


def test_write_npz_atomically(tmp_path):
  path = str(tmp_path / 'f.npz')
  files.write_npz_atomically(path, {'f0_hz': np.arange(3.0), 'mask': [1, 0]})
  with np.load(path) as loaded:
    np.testing.assert_array_equal(loaded['f0_hz'], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(loaded['mask'], [1, 0])


def test_replace_directory(tmp_path):
  target = tmp_path / 'export'
  target.mkdir()
  (target / 'old.txt').write_text('old')
  new = tmp_path / 'export.tmp'
  new.mkdir()
  (new / 'new.txt').write_text('new')
  files.replace_directory(str(new), str(target))
  assert os.listdir(target) == ['new.txt']
  assert sorted(os.listdir(tmp_path)) == ['export']
  fresh = tmp_path / 'fresh.tmp'
  fresh.mkdir()
  files.replace_directory(str(fresh), str(tmp_path / 'fresh'))
  assert (tmp_path / 'fresh').is_dir() and not fresh.exists()


def test_read_audio(tmp_path):
  stereo = np.stack([np.linspace(-1, 1, 800), np.zeros(800)], axis=1)
  path = str(tmp_path / 'stereo.wav')
  sf.write(path, stereo, 8000, subtype='FLOAT')
  audio, rate = files.read_audio(path)
  assert rate == 8000 and audio.shape == (800, 2)
  assert audio.dtype == np.float32
  np.testing.assert_allclose(audio, stereo, atol=1e-7)
  start, _ = files.read_audio(path, max_secs=0.05)
  np.testing.assert_array_equal(start, audio[:400])


@pytest.mark.parametrize('content, message', [
    (None, 'does not exist'),
    (b'not audio at all', 'Cannot read the transfer file'),
    ('empty', 'holds no audio samples'),
])
def test_read_audio_errors_name_the_file(tmp_path, content, message):
  path = str(tmp_path / 'clip.wav')
  if content == 'empty':
    sf.write(path, np.zeros([0, 1]), 16000)
  elif content is not None:
    with open(path, 'wb') as clip:
      clip.write(content)
  with pytest.raises(files.AudioFileError, match=message) as error:
    files.read_audio(path, 'transfer')
  assert path in str(error.value)


def test_the_data_job_writes_what_the_provider_reads():
  """The two sides of the TFRecord contract use the same framing."""
  args = prepare_cli.make_parser().parse_args(
      ['--input_audio_filepatterns=x', '--output_tfrecord_path=y'])
  assert args.sample_rate == formats.DEFAULT_SAMPLE_RATE
  assert args.frame_rate == formats.DEFAULT_FRAME_RATE
  assert args.example_secs == formats.DEFAULT_EXAMPLE_SECS
  # magenta/ddsp's lengths for 4 s examples at 250 frames/s.
  for centered, n_frames in ((False, 1000), (True, 1001)):
    spec = data.TFRecordProvider('unused', centered=centered).features_dict
    assert sorted(spec) == sorted(formats.FEATURE_KEYS)
    assert spec['f0_hz'].shape == [n_frames]
    assert spec['audio_16k'].shape == [64000]
