"""Tests for ddsp_tf.colab.colab_utils and ddsp_tf.test_util (the original's
notebook and test helpers), against soundfile, numpy and hand-made audio."""

import base64
import io
import os
import pickle
import re

import numpy as np
import pytest
import soundfile as sf

from ddsp_tf import test_util
from ddsp_tf.colab import colab_utils
from ddsp_tf.training import data
from ddsp_tf.training import postprocessing


def _file_bytes(audio, sample_rate, audio_format='WAV', subtype='PCM_16'):
  memory = io.BytesIO()
  sf.write(memory, audio, sample_rate, format=audio_format, subtype=subtype)
  return memory.getvalue()


def _dominant_hz(audio, sample_rate):
  spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
  return np.argmax(spectrum) * sample_rate / len(audio)


def test_gen_np_sinusoid_uses_an_inclusive_time_axis():
  audio = test_util.gen_np_sinusoid(5.0, 0.5, 100, 1.0)
  times = np.arange(100) / 99.0  # linspace(0, 1, 100): both end points.
  np.testing.assert_allclose(audio, 0.5 * np.sin(2 * np.pi * 5.0 * times),
                             atol=1e-12)
  batch = test_util.gen_np_batched_sinusoids(5.0, 0.5, 100, 1.0, 3)
  assert batch.shape == (3, 100)
  np.testing.assert_array_equal(batch, np.stack([audio] * 3))


@pytest.mark.parametrize('kwargs, message', [
    (dict(sample_rate=0), 'sample_rate'),
    (dict(audio_len_sec=-1.0), 'audio_len_sec'),
    (dict(batch_size=0), 'batch_size'),
])
def test_test_util_rejects_bad_sizes(kwargs, message):
  args = dict(frequency=5.0, amp=1.0, sample_rate=100, audio_len_sec=1.0,
              batch_size=2)
  args.update(kwargs)
  with pytest.raises(ValueError, match=message):
    test_util.gen_np_batched_sinusoids(**args)


@pytest.mark.parametrize('audio_format, subtype', [('WAV', 'PCM_16'),
                                                   ('FLAC', 'PCM_16')])
def test_audio_bytes_to_np_resamples_mixes_and_normalizes(audio_format,
                                                          subtype):
  rate = 44100
  t = np.arange(rate) / rate
  left = 0.25 * np.sin(2 * np.pi * 440.0 * t)
  stereo = np.stack([left, 0.5 * left], axis=1)
  audio = colab_utils.audio_bytes_to_np(
      _file_bytes(stereo, rate, audio_format, subtype), sample_rate=16000,
      normalize_db=6.0)
  assert audio.dtype == np.float32 and audio.shape == (16000,)
  # The peak is 6 dB below full scale, and the pitch survives resampling.
  assert np.max(np.abs(audio)) == pytest.approx(10**(-6 / 20), rel=1e-4)
  assert _dominant_hz(audio, 16000) == pytest.approx(440.0, abs=1.0)


def test_audio_bytes_to_np_keeps_level_and_channels_when_asked():
  rate = 16000
  t = np.arange(rate // 2) / rate
  stereo = np.stack([0.25 * np.sin(2 * np.pi * 300 * t),
                     0.125 * np.sin(2 * np.pi * 300 * t)], axis=1)
  audio = colab_utils.audio_bytes_to_np(_file_bytes(stereo, rate),
                                        sample_rate=rate, normalize_db=None,
                                        mono=False)
  assert audio.shape == (2, rate // 2)
  np.testing.assert_allclose(audio, stereo.T, atol=1.0 / 32767)
  silence = colab_utils.audio_bytes_to_np(
      _file_bytes(np.zeros(800), rate), sample_rate=rate)
  np.testing.assert_array_equal(silence, np.zeros(800, np.float32))


@pytest.mark.parametrize('wav_data, message', [
    (b'not audio at all', 'Cannot decode'),
    ('a path.wav', 'bytes of an audio file'),
])
def test_audio_bytes_to_np_names_bad_input(wav_data, message):
  with pytest.raises(ValueError, match=message):
    colab_utils.audio_bytes_to_np(wav_data)


def test_audio_html_holds_the_clipped_samples_as_a_wav():
  audio = np.array([[0.0, 0.5, 2.0, -3.0], [9.0, 9.0, 9.0, 9.0]])
  page = colab_utils.audio_html(audio, sample_rate=8000, autoplay=True)
  assert '<audio controls autoplay>' in page
  encoded = re.search(r'base64,([A-Za-z0-9+/=]+)"', page).group(1)
  decoded, rate = sf.read(io.BytesIO(base64.b64decode(encoded)))
  assert rate == 8000
  # First row only, clipped to [-1, 1], 16-bit.
  np.testing.assert_allclose(decoded, [0.0, 0.5, 1.0, -1.0], atol=1 / 32767)
  with pytest.raises(ValueError, match='NaN'):
    colab_utils.audio_html(np.array([0.0, np.nan]))


@pytest.mark.parametrize('call', [
    lambda: colab_utils.record(1),
    lambda: colab_utils.upload(),
    lambda: colab_utils.download('x.wav'),
])
def test_colab_only_helpers_say_so_outside_colab(call):
  with pytest.raises(RuntimeError, match='needs Google Colab'):
    call()


def test_aliases_are_the_library_functions():
  assert colab_utils.get_tuning_factor is postprocessing.get_tuning_factor
  assert colab_utils.auto_tune is postprocessing.auto_tune
  assert colab_utils.DEFAULT_SAMPLE_RATE == 16000


def test_save_dataset_statistics_writes_the_statistics_pickle(tmp_path):

  class _Tones(data.DataProvider):
    """Two 1 s examples of a 220 Hz tone with known (centred) features."""

    def __init__(self):
      super().__init__(sample_rate=16000, frame_rate=250)

    def get_dataset(self, shuffle=True):
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      t = np.arange(16000) / 16000
      audio = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
      example = {
          'audio': audio,
          'f0_hz': np.full(251, 220.0, np.float32),
          'f0_confidence': np.full(251, 0.95, np.float32),
          'loudness_db': np.full(251, -20.0, np.float32),
      }
      return tf.data.Dataset.from_tensors(example).repeat(2)

  path = os.path.join(tmp_path, 'stats.pkl')
  statistics = colab_utils.save_dataset_statistics(_Tones(), path,
                                                   batch_size=1)
  with open(path, 'rb') as stats_file:
    saved = pickle.load(stats_file)
  assert set(saved) == set(statistics)
  # 220 Hz is MIDI 57.0 on every frame.
  assert saved['mean_pitch'] == pytest.approx(57.0, abs=1e-3)
  assert saved['max_loudness'] == pytest.approx(-20.0, abs=1e-4)
