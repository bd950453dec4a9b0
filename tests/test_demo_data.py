"""Tests of the bundled demo audio and of the script that renders it."""

import glob
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import soundfile as sf

from data_prep import demo_audio
from ddsp_tf import core
from ddsp_tf import demo_data
from ddsp_tf import spectral_ops

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FRAME_RATE = 50
_FLUIDSYNTH_VERSION = '2.3.1'


@pytest.fixture(scope='module', params=sorted(demo_data.DEMO_CLIPS))
def clip_name(request):
  return request.param


@pytest.fixture(scope='module')
def pitch_track(clip_name):
  """(f0 in MIDI, confidence) of a clip from CREPE tiny, no Viterbi."""
  audio = demo_data.load_demo_audio(clip_name)
  f0_hz, confidence = spectral_ops.compute_f0(
      audio, _FRAME_RATE, viterbi=False, model_capacity='tiny')
  return np.asarray(core.hz_to_midi(f0_hz)), confidence


def test_clip_files_are_16khz_mono_flac_of_documented_length(clip_name):
  clip = demo_data.DEMO_CLIPS[clip_name]
  info = sf.info(demo_data.demo_audio_path(clip_name))
  assert (info.format, info.subtype) == ('FLAC', 'PCM_16')
  assert (info.samplerate, info.channels) == (16000, 1)
  assert info.frames == round(clip.seconds * 16000)


def test_clips_are_under_one_megabyte_together():
  sizes = [os.path.getsize(demo_data.demo_audio_path(name))
           for name in demo_data.DEMO_CLIPS]
  assert sum(sizes) < 1_000_000


def test_clips_are_loud_with_short_rests_and_not_clipped(clip_name):
  audio = demo_data.load_demo_audio(clip_name)
  assert audio.dtype == np.float32 and audio.ndim == 1
  assert 0.1 < np.max(np.abs(audio)) < 0.99
  loudness = np.asarray(spectral_ops.compute_loudness(
      audio, frame_rate=_FRAME_RATE, use_tf=False))
  # Mostly sounding, with some quiet frames at the rests.
  assert 0.75 < np.mean(loudness > -40.0) < 0.99
  assert np.min(loudness) < -60.0


def test_pitch_tracks_are_monophonic_in_the_documented_range(clip_name,
                                                             pitch_track):
  clip = demo_data.DEMO_CLIPS[clip_name]
  midi, confidence = pitch_track
  confident = confidence > 0.8
  assert np.mean(confident) > 0.8
  notes = midi[confident]
  assert np.mean((notes > clip.lowest_midi - 1.0) &
                 (notes < clip.highest_midi + 1.0)) > 0.995
  # The whole documented range is played.
  assert np.percentile(notes, 0.5) < clip.lowest_midi + 0.5
  assert np.percentile(notes, 99.5) > clip.highest_midi - 0.5
  # In tune: confident frames sit near equal-tempered notes.
  assert np.median(np.abs(notes - np.round(notes))) < 0.15


def test_documented_clips_match_the_generator():
  for clip in demo_audio.CLIPS:
    name = os.path.splitext(clip.file_name)[0]
    documented = demo_data.DEMO_CLIPS[name]
    notes = [note for phrase in clip.phrases
             for note, _ in demo_audio.parse_phrase(phrase)]
    assert documented.file_name == clip.file_name
    assert documented.seconds == clip.seconds
    assert (documented.lowest_midi, documented.highest_midi) == (min(notes),
                                                                 max(notes))
  assert len(demo_audio.CLIPS) == len(demo_data.DEMO_CLIPS)


def test_unknown_clip_name_lists_the_bundled_clips():
  with pytest.raises(ValueError, match='violin_train'):
    demo_data.demo_audio_path('cello')


@pytest.mark.parametrize('name, midi', [('C4', 60), ('A4', 69), ('G3', 55),
                                        ('F#4', 66), ('Bb3', 58),
                                        ('E6', 88), ('C-1', 0)])
def test_note_names(name, midi):
  assert demo_audio.note_to_midi(name) == midi


@pytest.mark.parametrize('name', ['H4', 'C', 'C#', '4', 'Cx4'])
def test_bad_note_names(name):
  with pytest.raises(ValueError, match='Bad note name'):
    demo_audio.note_to_midi(name)


def test_midi_file_layout():
  # Variable-length quantities from the Standard MIDI File specification.
  events = [(0, b'\x90\x3c\x40'), (0x40, b'\x80\x3c\x00'),
            (0x40 + 0x2000, b'\x90\x3e\x40'),
            (0x40 + 0x2000 + 0x0FFFFFFF, b'\x80\x3e\x00')]
  data = demo_audio.midi_file_bytes(events, tempo_bpm=120.0)
  assert data[:14] == b'MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0'
  track = data[22:]
  assert data[14:18] == b'MTrk'
  assert int.from_bytes(data[18:22], 'big') == len(track)
  assert track == (b'\x00\xff\x51\x03\x07\xa1\x20'  # 500000 us per beat.
                   b'\x00\x90\x3c\x40' b'\x40\x80\x3c\x00'
                   b'\xc0\x00\x90\x3e\x40' b'\xff\xff\xff\x7f\x80\x3e\x00'
                   b'\x00\xff\x2f\x00')


def _fluidsynth_version():
  """FluidSynth's version, or None where it is not installed."""
  if shutil.which('fluidsynth') is None:
    return None
  output = subprocess.run(['fluidsynth', '--version'], capture_output=True,
                          text=True, check=False).stdout
  return output.split('version')[1].split()[0] if 'version' in output else ''


@pytest.mark.skipif(
    _fluidsynth_version() != _FLUIDSYNTH_VERSION or
    not os.path.isfile(demo_audio.DEFAULT_SOUNDFONT),
    reason=f'needs FluidSynth {_FLUIDSYNTH_VERSION} and MuseScore General')
def test_regenerating_a_clip_reproduces_the_bundled_samples(tmp_path):
  clip = demo_audio.CLIPS[1]
  path = demo_audio.make_clip(clip, str(tmp_path), demo_audio.DEFAULT_SOUNDFONT)
  bundled = demo_data.load_demo_audio(os.path.splitext(clip.file_name)[0])
  np.testing.assert_array_equal(sf.read(path, dtype='float32')[0], bundled)


@pytest.mark.slow
def test_wheel_installs_the_clips(tmp_path):
  """Builds a wheel from a copy of the source and imports it installed."""
  source = tmp_path / 'source'
  shutil.copytree(_REPO_ROOT, source, ignore=shutil.ignore_patterns(
      '.git', 'build', 'dist', '*.egg-info', '__pycache__', '.pytest_cache'))
  subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(source),
                  '--no-deps', '--no-build-isolation', '-q',
                  '-w', str(tmp_path / 'wheel')], check=True)
  wheel, = glob.glob(str(tmp_path / 'wheel' / '*.whl'))
  names = zipfile.ZipFile(wheel).namelist()
  for clip in demo_data.DEMO_CLIPS.values():
    assert f'ddsp_tf/demo_data/{clip.file_name}' in names
  assert 'ddsp_tf/demo_data/README.md' in names
  site = tmp_path / 'site'
  subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps',
                  '--no-index', '-q', '--target', str(site), wheel],
                 check=True)
  script = ('from ddsp_tf import demo_data\n'
            'for name in demo_data.DEMO_CLIPS:\n'
            '  print(demo_data.demo_audio_path(name),'
            ' demo_data.load_demo_audio(name).size)\n')
  result = subprocess.run(
      [sys.executable, '-c', script], cwd=tmp_path, capture_output=True,
      text=True, check=True, env={**os.environ, 'PYTHONPATH': str(site)})
  lines = result.stdout.split('\n')[:len(demo_data.DEMO_CLIPS)]
  for line, clip in zip(lines, demo_data.DEMO_CLIPS.values()):
    path, size = line.rsplit(' ', 1)
    assert path.startswith(str(site))
    assert int(size) == round(clip.seconds * 16000)
