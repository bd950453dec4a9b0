"""Test-made single-instrument audio with known f0 and timbre.

A seeded random melody played by one additive "instrument": a fixed
harmonic spectrum (partial k at amplitude k**-1.1, with a formant near
1.2 kHz), an attack-decay-sustain-release envelope per note, gentle
vibrato, breath noise 30 dB below the tone and a short exponential room.
Rendered with numpy alone (float64 phase), so it is independent of the
ddsp_tf code it is used to measure.
"""

import dataclasses
from typing import List

import numpy as np
from scipy import signal

SAMPLE_RATE = 16000
MIN_MIDI = 55  # G3.
MAX_MIDI = 79  # G5.
N_HARMONICS = 30
ROOM_RT60_SECS = 0.3


@dataclasses.dataclass
class Note:
  """One note: start and length in seconds, MIDI pitch, peak amplitude."""
  start: float
  duration: float
  midi: float
  peak: float

  @property
  def end(self) -> float:
    """When the note stops, in seconds."""
    return self.start + self.duration


def melody(seconds: float, seed: int) -> List[Note]:
  """A random-walk melody around G4, with rests, filling `seconds`.

  Args:
    seconds: Length of the melody.
    seed: Random seed.

  Returns:
    The notes, in time order.
  """
  rng = np.random.default_rng(seed)
  notes, time, midi = [], 0.2, 67
  while True:
    duration = float(rng.choice([0.25, 0.5, 0.75, 1.0, 1.5]))
    if time + duration > seconds - 0.3:
      return notes
    # A random step, pulled back toward G4 so every melody spans the range.
    pull = int(round((midi - 67) / 6))
    midi = int(np.clip(midi + rng.integers(-4, 5) - pull, MIN_MIDI, MAX_MIDI))
    notes.append(Note(time, duration, midi, float(rng.uniform(0.15, 0.5))))
    time += duration + float(rng.choice([0.0, 0.0, 0.05, 0.3]))


def _envelope(n_samples: int, peak: float) -> np.ndarray:
  """Attack 40 ms, decay to 70% over 150 ms, release 80 ms."""
  t = np.arange(n_samples) / SAMPLE_RATE
  length = n_samples / SAMPLE_RATE
  attack = np.minimum(t / 0.04, 1.0)
  decay = 0.7 + 0.3 * np.exp(-np.maximum(t - 0.04, 0.0) / 0.05)
  release = np.clip((length - t) / 0.08, 0.0, 1.0)
  return peak * attack * decay * release


def harmonic_amplitudes(f0_hz: np.ndarray) -> np.ndarray:
  """The instrument's partial amplitudes, [n_samples, N_HARMONICS].

  Partials above 7.6 kHz are silent, so nothing aliases.
  """
  k = np.arange(1, N_HARMONICS + 1)
  freqs = f0_hz[:, None] * k[None, :]
  formant = 1.0 + 2.0 * np.exp(-0.5 * ((freqs - 1200.0) / 400.0) ** 2)
  amplitudes = k ** -1.1 * formant * (freqs < 7600.0)
  return amplitudes / np.sum(k ** -1.1)


def render(notes: List[Note], seconds: float, seed: int) -> np.ndarray:
  """Renders the notes, [n_samples] float32 in [-1, 1].

  Args:
    notes: The melody.
    seconds: Length of the output.
    seed: Seed of the breath noise and the room.

  Returns:
    The audio at SAMPLE_RATE.
  """
  rng = np.random.default_rng(seed + 1)
  n_total = int(round(seconds * SAMPLE_RATE))
  audio = np.zeros(n_total)
  for note in notes:
    start = int(round(note.start * SAMPLE_RATE))
    n = min(int(round(note.duration * SAMPLE_RATE)), n_total - start)
    t = np.arange(n) / SAMPLE_RATE
    vibrato_cents = 15.0 * np.minimum(t / 0.3, 1.0) * np.sin(
        2 * np.pi * 5.5 * t)
    f0 = 440.0 * 2.0 ** ((note.midi - 69 + vibrato_cents / 100.0) / 12.0)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    partials = harmonic_amplitudes(f0) * np.sin(
        phase[:, None] * np.arange(1, N_HARMONICS + 1)[None, :])
    envelope = _envelope(n, note.peak)
    breath = 10 ** (-30 / 20) * rng.standard_normal(n)
    audio[start:start + n] += envelope * (partials.sum(axis=1) + breath)
  room_len = int(ROOM_RT60_SECS * SAMPLE_RATE)
  room = rng.standard_normal(room_len) * 10 ** (
      -3 * np.arange(room_len) / room_len)
  room[0] = 0.0
  wet = signal.fftconvolve(audio, 0.05 * room)[:n_total]
  return (audio + wet).astype(np.float32)


def make_audio(seconds: float, seed: int = 0) -> np.ndarray:
  """A `seconds`-long melody, [n_samples] float32 at SAMPLE_RATE."""
  return render(melody(seconds, seed), seconds, seed)
