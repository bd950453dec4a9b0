"""Bundled demo audio: sampled instruments rendered with FluidSynth.

Two 16 kHz mono FLAC clips ship with the package (see README.md beside this
file for how they were made and their licence):

* 'violin_train': 60 s of solo violin, legato phrases from G3 to E6 with
  swells and short rests, to train a solo-instrument model on.
* 'flute_transfer': 10 s of solo flute, G4 to G5, to transfer to another
  timbre.

Example:

  from ddsp_tf import demo_data
  audio = demo_data.load_demo_audio('violin_train')  # float32 [960000]
"""

import os
from typing import Dict, NamedTuple

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000


class DemoClip(NamedTuple):
  """What a bundled clip holds.

  Attributes:
    file_name: The FLAC file in this folder.
    instrument: The General MIDI instrument that plays it.
    seconds: Its exact length.
    lowest_midi: Its lowest note (MIDI number).
    highest_midi: Its highest note (MIDI number).
  """
  file_name: str
  instrument: str
  seconds: float
  lowest_midi: int
  highest_midi: int


DEMO_CLIPS: Dict[str, DemoClip] = {
    'violin_train': DemoClip('violin_train.flac', 'violin', 60.0, 55, 88),
    'flute_transfer': DemoClip('flute_transfer.flac', 'flute', 10.0, 67, 79),
}


def demo_audio_path(name: str) -> str:
  """Path of a bundled clip.

  Args:
    name: A key of DEMO_CLIPS, e.g. 'violin_train'.

  Returns:
    The FLAC file's absolute path.

  Raises:
    ValueError: For a name that is not a bundled clip.
    FileNotFoundError: If the package was installed without its data.
  """
  if name not in DEMO_CLIPS:
    raise ValueError(f'Unknown demo clip {name!r}; the bundled clips are '
                     f'{sorted(DEMO_CLIPS)}.')
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      DEMO_CLIPS[name].file_name)
  if not os.path.isfile(path):
    raise FileNotFoundError(
        f'Demo clip {name!r} is missing at {path}; reinstall ddsp_tf with '
        'its package data (or regenerate it with `python -m '
        'data_prep.demo_audio`).')
  return path


def load_demo_audio(name: str) -> np.ndarray:
  """A bundled clip as float32 [n_samples] audio at SAMPLE_RATE.

  Args:
    name: A key of DEMO_CLIPS, e.g. 'violin_train'.

  Returns:
    The mono audio, in [-1, 1].
  """
  audio, sample_rate = sf.read(demo_audio_path(name), dtype='float32')
  if sample_rate != SAMPLE_RATE or audio.ndim != 1:
    raise ValueError(f'Demo clip {name!r} should be mono at {SAMPLE_RATE} '
                     f'Hz; got {sample_rate} Hz, shape {list(audio.shape)}.')
  return audio
