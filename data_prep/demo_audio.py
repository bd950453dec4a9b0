"""Renders the bundled demo clips of ddsp_tf/demo_data with FluidSynth.

The melodies are composed here, written as Standard MIDI Files by a small
pure-Python writer, rendered by the `fluidsynth` command-line program with
the MuseScore General soundfont (Debian package
musescore-general-soundfont-small, MIT licence) and saved as 16 kHz mono
16-bit FLAC. Nothing here is needed at run time; regenerate the clips with

  apt-get install fluidsynth musescore-general-soundfont-small
  python -m data_prep.demo_audio --output_dir ddsp_tf/demo_data

The soundfont's "Expr." presets (bank 17) take their loudness from MIDI
controller 2, so every phrase gets a crescendo and diminuendo while its
notes are held. Channels are in mono mode (controller 126), so consecutive
notes of a phrase play legato instead of overlapping. The render is at
48 kHz, mixed to mono and resampled to 16 kHz, then cut or padded to the
clip's exact length and peak-normalized.
"""

import argparse
import dataclasses
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from typing import List, Optional, Sequence, Tuple

import numpy as np
import scipy.signal
import soundfile as sf

SAMPLE_RATE = 16000
RENDER_RATE = 48000
DEFAULT_SOUNDFONT = '/usr/share/sounds/sf3/MuseScore_General_Lite.sf3'
# Bank of the soundfont's expressive presets (dynamics from controller 2).
EXPRESSIVE_BANK = 17
# Peak of each clip (-8 dBFS), and its samples' resolution: multiples of
# 2**-(QUANTIZATION_BITS - 1), which FLAC stores as wasted low bits. 12 bits
# put the quantization noise near -77 dBFS and keep both clips under 1 MB.
PEAK_LEVEL = 0.4
QUANTIZATION_BITS = 12
_TICKS_PER_BEAT = 480
# Controller-2 updates per beat while a hairpin is drawn.
_DYNAMICS_STEPS_PER_BEAT = 16
_NOTE_OFFSETS = {'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}
_CC_BANK_SELECT, _CC_BREATH, _CC_VOLUME = 0, 2, 7
_CC_REVERB_SEND, _CC_CHORUS_SEND, _CC_MONO_ON = 91, 93, 126

# Phrases as 'note:beats' tokens; each phrase is followed by a rest.
_VIOLIN_PHRASES = (
    'G3:1 A3:0.5 B3:0.5 D4:1 G4:1.5 F#4:0.5 E4:1 D4:2',
    'B3:0.5 D4:0.5 G4:1 A4:1 B4:1.5 C5:0.5 B4:1 A4:2',
    'D5:1 E5:0.5 F#5:0.5 G5:1 F#5:0.5 E5:0.5 D5:1 C#5:0.5 B4:0.5 A4:2',
    'A4:0.5 B4:0.5 C#5:0.5 D5:0.5 E5:1 A5:1.5 G5:0.5 F#5:1 E5:2',
    'F#5:1 A5:1 D6:1.5 C#6:0.5 B5:1 A5:1 G5:0.5 F#5:0.5 E5:1.5',
    'E5:0.5 G5:0.5 B5:1 E6:2 D6:0.5 B5:0.5 G5:1 F#5:2',
    'D6:1 B5:0.5 A5:0.5 G5:1 E5:0.5 D5:0.5 B4:1 A4:0.5 G4:0.5 E4:2',
    'D4:0.5 E4:0.5 F#4:0.5 G4:0.5 A4:1 F#4:1 D4:1 B3:1 A3:2',
    'A3:1 C#4:1 E4:1 A4:1.5 G4:0.5 F#4:1 E4:0.5 D4:0.5 C#4:1',
    'D4:0.5 F#4:0.5 A4:1 D5:1.5 C#5:0.5 B4:1 A4:0.5 G4:0.5 F#4:1 E4:1 D4:3',
)
_FLUTE_PHRASES = (
    'G4:1 A4:0.5 B4:0.5 D5:1 G5:1 F#5:0.5 E5:0.5 D5:1 B4:2',
    'C5:0.5 D5:0.5 E5:1 D5:0.5 B4:0.5 A4:1 G4:2',
)


@dataclasses.dataclass(frozen=True)
class Clip:
  """One demo clip: a melody, the instrument that plays it and its length.

  Attributes:
    file_name: FLAC file written into the output directory.
    program: General MIDI program (0-based), e.g. 40 violin, 73 flute.
    phrases: Phrases of 'note:beats' tokens, e.g. 'F#4:0.5'.
    tempo_bpm: Beats per minute.
    rest_beats: Rest after each phrase, cycled over the phrases.
    dynamics: (start, peak) controller-2 levels in [0, 127], cycled over the
      phrases; each phrase swells from start to peak at its middle and back.
    seconds: Length of the clip; the render is cut or padded to it.
  """
  file_name: str
  program: int
  phrases: Sequence[str]
  tempo_bpm: float
  rest_beats: Sequence[float]
  dynamics: Sequence[Tuple[int, int]]
  seconds: float


CLIPS = (
    Clip(file_name='violin_train.flac', program=40, phrases=_VIOLIN_PHRASES,
         tempo_bpm=92.0, rest_beats=(1.0, 0.75), seconds=60.0,
         dynamics=((50, 100), (60, 115), (45, 90), (70, 125), (55, 105))),
    Clip(file_name='flute_transfer.flac', program=73, phrases=_FLUTE_PHRASES,
         tempo_bpm=96.0, rest_beats=(0.5,), seconds=10.0,
         dynamics=((60, 110), (50, 95))),
)


def note_to_midi(name: str) -> int:
  """MIDI note number of a name like 'C4' (60), 'F#4' or 'Bb3'.

  Raises:
    ValueError: For a malformed name.
  """
  letter, rest = name[:1].upper(), name[1:]
  accidental = 0
  if rest[:1] in ('#', 'b'):
    accidental = 1 if rest[0] == '#' else -1
    rest = rest[1:]
  if letter not in _NOTE_OFFSETS or not rest.lstrip('-').isdigit():
    raise ValueError(f'Bad note name {name!r}; expected e.g. C4, F#4 or Bb3.')
  return 12 * (int(rest) + 1) + _NOTE_OFFSETS[letter] + accidental


def parse_phrase(phrase: str) -> List[Tuple[int, float]]:
  """[(midi_note, beats)] of a phrase of 'note:beats' tokens."""
  notes = []
  for token in phrase.split():
    name, beats = token.split(':')
    notes.append((note_to_midi(name), float(beats)))
  return notes


def _variable_length(value: int) -> bytes:
  """A MIDI variable-length quantity."""
  groups = [value & 0x7F]
  value >>= 7
  while value:
    groups.append((value & 0x7F) | 0x80)
    value >>= 7
  return bytes(reversed(groups))


def midi_file_bytes(events: Sequence[Tuple[int, bytes]],
                    tempo_bpm: float) -> bytes:
  """A format-0 Standard MIDI File of (tick, message) events.

  Args:
    events: (absolute tick, raw channel message) pairs; equal ticks keep
      their order.
    tempo_bpm: Tempo; a beat is _TICKS_PER_BEAT ticks.

  Returns:
    The file's bytes.
  """
  microseconds_per_beat = round(60e6 / tempo_bpm)
  track = b'\x00\xff\x51\x03' + microseconds_per_beat.to_bytes(3, 'big')
  previous = 0
  for tick, message in sorted(events, key=lambda event: event[0]):
    track += _variable_length(tick - previous) + message
    previous = tick
  track += b'\x00\xff\x2f\x00'
  header = b'MThd' + struct.pack('>IHHH', 6, 0, 1, _TICKS_PER_BEAT)
  return header + b'MTrk' + struct.pack('>I', len(track)) + track


def _control(channel: int, controller: int, value: int) -> bytes:
  return bytes([0xB0 | channel, controller, value])


def _hairpin(start: int, peak: int, position: float) -> int:
  """Controller-2 level at position in [0, 1] of a phrase's swell."""
  return int(round(start + (peak - start) * np.sin(np.pi * position)))


def clip_events(clip: Clip, channel: int = 0) -> List[Tuple[int, bytes]]:
  """The MIDI events of a clip: set-up, then phrases with their hairpins.

  Within a phrase each note starts on the tick where the previous one ends,
  before that one's note-off, which a mono-mode channel plays legato. Note
  velocities follow the hairpin too (they shape the attack).
  """
  events = [(0, _control(channel, _CC_BANK_SELECT, EXPRESSIVE_BANK)),
            (0, bytes([0xC0 | channel, clip.program])),
            (0, _control(channel, _CC_MONO_ON, 1)),
            (0, _control(channel, _CC_VOLUME, 100)),
            (0, _control(channel, _CC_REVERB_SEND, 24)),
            (0, _control(channel, _CC_CHORUS_SEND, 0))]
  tick = _TICKS_PER_BEAT // 4  # A short lead-in of silence.
  for index, phrase in enumerate(clip.phrases):
    notes = parse_phrase(phrase)
    start, peak = clip.dynamics[index % len(clip.dynamics)]
    n_beats = sum(beats for _, beats in notes)
    n_steps = round(n_beats * _DYNAMICS_STEPS_PER_BEAT)
    for step in range(n_steps + 1):
      events.append((tick + round(step / _DYNAMICS_STEPS_PER_BEAT *
                                  _TICKS_PER_BEAT),
                     _control(channel, _CC_BREATH,
                              _hairpin(start, peak, step / n_steps))))
    beat, previous_note = 0.0, None
    for note, beats in notes:
      note_tick = tick + round(beat * _TICKS_PER_BEAT)
      velocity = _hairpin(start, peak, beat / n_beats)
      events.append((note_tick, bytes([0x90 | channel, note, velocity])))
      if previous_note is not None:
        events.append((note_tick, bytes([0x80 | channel, previous_note, 0])))
      beat, previous_note = beat + beats, note
    tick += round(n_beats * _TICKS_PER_BEAT)
    events.append((tick, bytes([0x80 | channel, previous_note, 0])))
    tick += round(clip.rest_beats[index % len(clip.rest_beats)] *
                  _TICKS_PER_BEAT)
  return events


def render_midi(midi_path: str, wav_path: str, soundfont: str,
                fluidsynth: str = 'fluidsynth') -> None:
  """Renders a MIDI file to a 48 kHz float stereo WAV with FluidSynth."""
  command = [fluidsynth, '-n', '-i', '-q', '-C', '0', '-R', '1',
             '-g', '0.5', '-r', str(RENDER_RATE), '-O', 'float', '-T', 'wav',
             '-o', 'synth.reverb.room-size=0.4', '-o', 'synth.reverb.damp=0.3',
             '-o', 'synth.reverb.level=0.9', '-o', 'synth.cpu-cores=1',
             '-F', wav_path, soundfont, midi_path]
  subprocess.run(command, check=True, capture_output=True)


def finish_audio(rendered: np.ndarray, seconds: float) -> np.ndarray:
  """Mono 16 kHz audio of exact length, PEAK_LEVEL peak, 12-bit grid.

  Args:
    rendered: [n_samples, n_channels] audio at RENDER_RATE.
    seconds: Length of the result.

  Returns:
    [round(seconds * SAMPLE_RATE)] float32.
  """
  mono = np.mean(np.asarray(rendered, np.float64), axis=-1)
  audio = scipy.signal.resample_poly(mono, SAMPLE_RATE, RENDER_RATE)
  n_samples = round(seconds * SAMPLE_RATE)
  audio = np.pad(audio[:n_samples], (0, max(0, n_samples - audio.size)))
  # A short fade-out hides a cut through a reverb tail.
  fade = min(n_samples, SAMPLE_RATE // 10)
  audio[n_samples - fade:] *= np.linspace(1.0, 0.0, fade)
  audio *= PEAK_LEVEL / np.max(np.abs(audio))
  step = 2.0**(1 - QUANTIZATION_BITS)
  return (np.round(audio / step) * step).astype(np.float32)


def make_clip(clip: Clip, output_dir: str, soundfont: str,
              fluidsynth: str = 'fluidsynth') -> str:
  """Renders one clip into output_dir and returns the FLAC's path."""
  with tempfile.TemporaryDirectory() as work_dir:
    midi_path = os.path.join(work_dir, 'clip.mid')
    wav_path = os.path.join(work_dir, 'clip.wav')
    with open(midi_path, 'wb') as midi_file:
      midi_file.write(midi_file_bytes(clip_events(clip), clip.tempo_bpm))
    render_midi(midi_path, wav_path, soundfont, fluidsynth)
    rendered, rate = sf.read(wav_path, dtype='float64', always_2d=True)
  if rate != RENDER_RATE:
    raise RuntimeError(f'FluidSynth rendered at {rate} Hz, expected '
                       f'{RENDER_RATE} Hz.')
  audio = finish_audio(rendered, clip.seconds)
  path = os.path.join(output_dir, clip.file_name)
  temporary = path + '.tmp.flac'
  sf.write(temporary, audio, SAMPLE_RATE, subtype='PCM_16', format='FLAC',
           compression_level=1.0)
  os.replace(temporary, path)
  return path


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Command-line entry point; returns the exit status."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--output_dir', default=os.path.join('ddsp_tf',
                                                           'demo_data'),
                      help='Folder for the FLAC files (default: %(default)s).')
  parser.add_argument('--soundfont', default=DEFAULT_SOUNDFONT,
                      help='SoundFont file (default: %(default)s).')
  parser.add_argument('--fluidsynth', default='fluidsynth',
                      help='FluidSynth executable (default: %(default)s).')
  args = parser.parse_args(argv)
  if shutil.which(args.fluidsynth) is None:
    print(f'FluidSynth not found ({args.fluidsynth!r}); install it, e.g. '
          '`apt-get install fluidsynth`.', file=sys.stderr)
    return 1
  if not os.path.isfile(args.soundfont):
    print(f'SoundFont not found: {args.soundfont}; install it with '
          '`apt-get install musescore-general-soundfont-small` or pass '
          '--soundfont.', file=sys.stderr)
    return 1
  os.makedirs(args.output_dir, exist_ok=True)
  for clip in CLIPS:
    path = make_clip(clip, args.output_dir, args.soundfont, args.fluidsynth)
    print(f'{path}: {clip.seconds:.1f} s, {os.path.getsize(path)} bytes')
  return 0


if __name__ == '__main__':
  sys.exit(main())
