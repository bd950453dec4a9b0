"""Notebook helpers at magenta/ddsp's `ddsp.colab.colab_utils` path.

The original's helpers run only inside Google Colab (they import
`google.colab` at import time). Here the module imports anywhere:
- `play` shows an HTML5 audio player in any Jupyter front end (Colab, Jupyter,
  VS Code); `ephemeral=True` uses Colab's output bridge where it exists and
  otherwise shows the player normally.
- `record`, `upload` and `download` need Colab's browser bridge; elsewhere
  they raise a RuntimeError that says what to use instead.
- `audio_bytes_to_np` decodes with soundfile (wav, flac, ogg, mp3) instead of
  pydub and ffmpeg, resamples band-limited, and really normalizes: the
  original passed `normalize_db` to a pydub call whose result it dropped, so
  its audio was never normalized.
- `get_tuning_factor` and `auto_tune` are the ones in
  `ddsp_tf.training.postprocessing`, and `specplot`,
  `plot_impulse_responses` and `transfer_function` the ones in
  `ddsp_tf.training.plotting`.
"""

import base64
import importlib
import io
import itertools
import json
import pickle
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
import soundfile as sf

from ddsp_tf import files
from ddsp_tf import pitch
from ddsp_tf.apps import timbre_transfer
from ddsp_tf.training import plotting
from ddsp_tf.training import postprocessing

# pylint: disable=unused-import,g-importing-member
from ddsp_tf.training.postprocessing import auto_tune
from ddsp_tf.training.postprocessing import get_tuning_factor
# pylint: enable=unused-import,g-importing-member

DEFAULT_SAMPLE_RATE = pitch.CREPE_SAMPLE_RATE

specplot = plotting.specplot
plot_impulse_responses = plotting.plot_impulse_responses
transfer_function = plotting.transfer_function

_player_ids = itertools.count(1)


def _colab_module(name: Text, caller: Text) -> Any:
  """google.colab.<name>, or a RuntimeError saying what to do instead."""
  try:
    return importlib.import_module(f'google.colab.{name}')
  except ImportError:
    alternatives = {
        'record': 'read a recording from a file with '
                  "audio_bytes_to_np(open(path, 'rb').read())",
        'upload': "read the files with audio_bytes_to_np(open(path, "
                  "'rb').read())",
        'download': 'the file is already on this machine',
    }
    raise RuntimeError(
        f'colab_utils.{caller} needs Google Colab (google.colab is not '
        f'importable here); outside Colab, '
        f'{alternatives.get(caller, "use a local file")}.') from None


def download(filename: Text) -> None:
  """Sends a file to the browser (Colab only; see `_colab_module`)."""
  _colab_module('files', 'download').download(filename)


def _mono_rows(array_of_floats: Any) -> np.ndarray:
  """The first row of a batch (or the samples), as a 1-D float64 array."""
  audio = np.asarray(array_of_floats, dtype=np.float64)
  if audio.ndim == 2:
    audio = audio[0]
  if audio.ndim != 1 or audio.size == 0:
    raise ValueError(f'play needs audio [n_samples] or [batch, n_samples] '
                     f'with samples, got shape {np.shape(array_of_floats)}.')
  if not np.all(np.isfinite(audio)):
    raise ValueError('play got audio with NaN or Inf samples.')
  return audio


def _wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
  """16-bit PCM wav bytes of audio in [-1, 1] (clipped)."""
  memory = io.BytesIO()
  sf.write(memory, np.clip(audio, -1.0, 1.0), int(sample_rate),
           format='WAV', subtype='PCM_16')
  return memory.getvalue()


def audio_html(array_of_floats: Any, sample_rate: int = DEFAULT_SAMPLE_RATE,
               autoplay: bool = False) -> Text:
  """An HTML5 <audio> element that holds the audio as an inline wav.

  Args:
    array_of_floats: Samples `[n_samples]`, or `[batch, n_samples]` (the first
      row is used); values outside [-1, 1] are clipped.
    sample_rate: Samples per second.
    autoplay: Start playing when shown.

  Returns:
    The HTML text.
  """
  if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or (
      sample_rate <= 0):
    raise ValueError(f'sample_rate must be a positive integer, got '
                     f'{sample_rate!r}.')
  wav = base64.b64encode(_wav_bytes(_mono_rows(array_of_floats),
                                    int(sample_rate))).decode('ascii')
  return (f'<audio controls{" autoplay" if autoplay else ""}>'
          f'<source src="data:audio/wav;base64,{wav}" type="audio/wav"/>'
          'Your browser does not support the audio element.</audio>')


def play(array_of_floats: Any, sample_rate: int = DEFAULT_SAMPLE_RATE,
         ephemeral: bool = True, autoplay: bool = False) -> None:
  """Shows an audio player for the samples in the notebook's output.

  Args:
    array_of_floats: Samples `[n_samples]` or `[batch, n_samples]` (the first
      row is played); values outside [-1, 1] are clipped.
    sample_rate: Samples per second.
    ephemeral: In Colab, write the player through the output bridge so it is
      not stored in the notebook; elsewhere the player is shown normally.
    autoplay: Start playing when shown.
  """
  from IPython import display  # pylint: disable=g-import-not-at-top
  player = audio_html(array_of_floats, sample_rate, autoplay)
  if ephemeral:
    try:
      output = importlib.import_module('google.colab.output')
    except ImportError:
      output = None
    if output is not None:
      element = f'ddsp_tf_player_{next(_player_ids)}'
      display.display(display.HTML(f'<div id="{element}"></div>'))
      output.eval_js(f'document.getElementById({json.dumps(element)})'
                     f'.innerHTML = {json.dumps(player)};')
      return
  display.display(display.HTML(player))


def record(seconds: float = 3, sample_rate: int = DEFAULT_SAMPLE_RATE,
           normalize_db: Optional[float] = 0.1) -> np.ndarray:
  """Records from the browser's microphone (Colab only).

  Args:
    seconds: Recording length.
    sample_rate: Rate of the returned samples.
    normalize_db: Peak level in dB below full scale; None keeps the level.

  Returns:
    float32 `[n_samples]` at sample_rate.

  Raises:
    RuntimeError: Outside Google Colab.
  """
  output = _colab_module('output', 'record')
  from IPython import display  # pylint: disable=g-import-not-at-top
  if not seconds > 0:
    raise ValueError(f'seconds must be > 0, got {seconds!r}.')
  display.display(display.Javascript("""
    var ddspTfRecord = ms => new Promise(async resolve => {
      const stream = await navigator.mediaDevices.getUserMedia({audio: true});
      const recorder = new MediaRecorder(stream);
      const chunks = [];
      recorder.ondataavailable = event => chunks.push(event.data);
      recorder.onstop = () => {
        const reader = new FileReader();
        reader.onloadend = () => resolve(reader.result);
        reader.readAsDataURL(new Blob(chunks));
      };
      recorder.start();
      setTimeout(() => recorder.stop(), ms);
    });"""))
  print(f'Recording for {seconds} seconds...')
  data_url = output.eval_js(f'ddspTfRecord({float(seconds) * 1000.0})')
  print('Finished recording.')
  return audio_bytes_to_np(base64.b64decode(data_url.split(',', 1)[1]),
                           sample_rate=sample_rate, normalize_db=normalize_db)


def audio_bytes_to_np(wav_data: bytes, sample_rate: int = DEFAULT_SAMPLE_RATE,
                      normalize_db: Optional[float] = 0.1,
                      mono: bool = True) -> np.ndarray:
  """Decodes the bytes of an audio file into samples at sample_rate.

  Args:
    wav_data: The bytes of a wav, flac, ogg or mp3 file.
    sample_rate: Rate of the returned samples (resampled band-limited).
    normalize_db: Scale so that the peak is this many dB below full scale
      (0.1 dB gives a peak of 0.9886); None keeps the level. Silence stays
      silence.
    mono: Average the channels into one.

  Returns:
    float32 `[n_samples]` when mono or the file has one channel, else
    `[channels, n_samples]`.

  Raises:
    ValueError: If the bytes are not audio soundfile can read, hold no
      samples, or the arguments are invalid.
  """
  if not isinstance(wav_data, (bytes, bytearray, memoryview)):
    raise ValueError(f'wav_data must be the bytes of an audio file, got '
                     f'{type(wav_data).__name__}.')
  if normalize_db is not None and not normalize_db >= 0:
    raise ValueError(f'normalize_db must be >= 0 dB below full scale or None, '
                     f'got {normalize_db!r}.')
  try:
    audio, file_rate = sf.read(io.BytesIO(bytes(wav_data)), dtype='float32',
                               always_2d=True)
  except (sf.LibsndfileError, RuntimeError, TypeError) as error:
    raise ValueError(f'Cannot decode the audio bytes ({len(wav_data)} bytes): '
                     f'{error}. Use wav, flac, ogg or mp3 data.') from None
  if audio.shape[0] == 0:
    raise ValueError('The audio bytes hold no samples.')
  channels = audio.T.astype(np.float64)  # [channels, n_samples]
  if mono:
    channels = channels.mean(axis=0, keepdims=True)
  channels = timbre_transfer.resample_audio(channels, int(file_rate),
                                            int(sample_rate), 'the audio')
  if normalize_db is not None:
    peak = float(np.max(np.abs(channels)))
    if peak > 0:
      channels *= 10.0**(-float(normalize_db) / 20.0) / peak
  channels = channels.astype(np.float32)
  return channels[0] if channels.shape[0] == 1 else channels


def upload(sample_rate: int = DEFAULT_SAMPLE_RATE,
           normalize_db: Optional[float] = None
           ) -> Tuple[List[Text], List[np.ndarray]]:
  """Asks the browser for audio files and decodes them (Colab only).

  Args:
    sample_rate: Rate of the returned samples.
    normalize_db: Peak level in dB below full scale; None keeps the level.

  Returns:
    (file names, arrays from `audio_bytes_to_np`).

  Raises:
    RuntimeError: Outside Google Colab.
  """
  uploaded = _colab_module('files', 'upload').upload()
  names = list(uploaded)
  return names, [audio_bytes_to_np(uploaded[name], sample_rate=sample_rate,
                                   normalize_db=normalize_db)
                 for name in names]


def save_dataset_statistics(data_provider: Any,
                            file_path: Optional[Text] = None,
                            batch_size: int = 1,
                            power_frame_size: int = 256,
                            power_frame_rate: Optional[int] = None
                            ) -> Dict[Text, Any]:
  """Computes a dataset's statistics and pickles them (for timbre transfer).

  The original computed power at compute_dataset_statistics's default 50
  frames per second, whose 320-sample hop exceeds the default 256-sample
  frame, so its defaults raised; here the power is framed at the provider's
  frame rate unless power_frame_rate says otherwise.

  Args:
    data_provider: A `ddsp_tf.training.data` provider.
    file_path: Where to write the pickle (written atomically); None writes
      nothing.
    batch_size: Batch size for reading the dataset.
    power_frame_size: Frame size of the power computed on the fly.
    power_frame_rate: Frames per second of that power; None uses the
      provider's frame_rate.

  Returns:
    The dict of `postprocessing.compute_dataset_statistics`.
  """
  if power_frame_rate is None:
    power_frame_rate = data_provider.frame_rate
  statistics = postprocessing.compute_dataset_statistics(
      data_provider, batch_size, power_frame_size, power_frame_rate)
  if file_path is not None:
    files.write_bytes_atomically(files.expand_path(file_path),
                                 pickle.dumps(statistics))
    print(f'Saved the dataset statistics to {file_path}.')
  return statistics
