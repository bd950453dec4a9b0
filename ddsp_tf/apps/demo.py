"""The main job: from audio files to a trained, exported, listened-to model.

`run_demo` runs every stage of the library on one machine and writes what a
person wants to hear and see:

1. prepare: data_prep's Beam pipeline (DirectRunner, CREPE) turns the
   training audio into TFRecords and stats.json in <output_dir>/data;
2. train: ddsp_tf_run trains models/solo_instrument_cpu.gin on them in
   <output_dir>/train, logging progress lines;
3. export: export_model writes the SavedModel to <output_dir>/export, with
   the dataset statistics in its metadata;
4. resynthesis: the first training file (up to MAX_RESYNTHESIS_SECS) goes
   through compute_features and the exported model, and the result is
   re-analysed (CREPE, loudness) to measure the f0 and loudness L1;
5. transfer: the transfer clip is resynthesized with the model's timbre
   (transfer_app.timbre_transfer, auto adjust from the dataset statistics);
6. outputs: input_train.wav, resynthesis.wav, input_transfer.wav,
   timbre_transfer.wav, spectrograms.png and summary.json, each written to
   a temporary file and renamed into place.

A rerun in the same output directory reuses the finished prepare, train
and export stages when the settings that shape them (input files, steps,
batch size, CREPE model, gin bindings) are unchanged, resumes an
interrupted training from its latest checkpoint, and always redoes the
resynthesis, transfer and outputs. `overwrite` deletes the demo's own
files and folders there (nothing else) and starts over; without it, a demo
directory with other settings, or a non-empty directory that holds no demo
run, is an error.
"""

import dataclasses
import json
import logging
import os
import shutil
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import gin
import numpy as np

from ddsp_tf import core
from ddsp_tf import crepe
from ddsp_tf import demo_data
from ddsp_tf import files
from ddsp_tf import formats
from ddsp_tf import version
from ddsp_tf.apps import export
from ddsp_tf.apps import timbre_transfer as transfer_app
from ddsp_tf.apps import vst_player
from ddsp_tf.training import metrics
from ddsp_tf.training import plotting
from ddsp_tf.training import runner
from ddsp_tf.training import train_util
from ddsp_tf.training import vst_inference
# The demo drives ddsp_tf_run: the same flags, gin handling and training.

logger = logging.getLogger(__name__)

MODEL_GIN = 'models/solo_instrument_cpu.gin'
# --vst: the DDSP-VST model, trained on features framed 'center' at 50
# frames per second (magenta/ddsp's Train VST recipe); its plugin file goes
# beside the other outputs.
VST_MODEL_GIN = 'models/vst/vst.gin'
VST_DATA_PARAMS = ('TFRecordProvider.centered=True',
                   'TFRecordProvider.frame_rate=50')
VST_MODEL_FILE = 'ddsp_tf_demo_vst.tflite'
DATASET_GIN = 'datasets/tfrecord.gin'
DEFAULT_STEPS = 500
DEFAULT_BATCH_SIZE = 8
DEFAULT_CREPE_MODEL = 'tiny'
DEFAULT_OUTPUT_DIR = 'ddsp_demo_out'
# Resynthesis of the training audio: at most this much of the first file.
MAX_RESYNTHESIS_SECS = 60.0
# Quality targets of the resynthesis.
F0_TARGET_SEMITONES = 0.5
LOUDNESS_TARGET_DB = 3.0
STATE_FILE = 'demo_state.json'
SUMMARY_FILE = 'summary.json'
# The files and folders the demo owns in its output directory.
AUDIO_FILES = ('input_train.wav', 'resynthesis.wav', 'input_transfer.wav',
               'timbre_transfer.wav')
PLOT_FILE = 'spectrograms.png'
WORK_DIRS = ('data', 'train', 'export')
REUSABLE_STAGES = ('prepare', 'train', 'export')
STAGES = REUSABLE_STAGES + ('resynthesis', 'transfer', 'outputs')
# Checkpoints and TensorBoard summaries per training run.
_SAVES_PER_RUN = 5
# The learning-rate schedule of a short run (the config's constant 1e-3
# left the output about 3 dB too quiet after 500 steps, and a 3e-3 start
# without warm-up once collapsed the pitch): a linear warm-up over the
# first tenth of the steps to 2e-3, then a smooth decay to 0.3 times that
# by the last step.
LEARNING_RATE = 2e-3
WARMUP_FRACTION = 0.1
FINAL_LR_FRACTION = 0.3
# TFRecordProvider's frame rate when gin binds none.
_DEFAULT_FRAME_RATE = 250
# The spectrogram panels show frequencies up to this.
_PLOT_MAX_HZ = 4000.0

Log = Callable[[str], None]


class DemoError(Exception):
  """A problem with the inputs or the output directory (exit status 1)."""


@dataclasses.dataclass(frozen=True)
class DemoSettings:
  """What the demo runs on.

  Attributes:
    input_audio_filepatterns: Training audio (files, globs or folders);
      empty for the bundled violin clip.
    transfer_audio: Audio file to timbre-transfer; None for the bundled
      flute clip.
    output_dir: Where everything goes.
    steps: Training steps.
    batch_size: Training batch size.
    crepe_model: CREPE capacity for every pitch analysis.
    gin_params: Extra gin bindings for training, after the demo's own.
    overwrite: Delete the demo's files in output_dir and start over.
    vst: Train models/vst/vst.gin, export the DDSP-VST plugin's .tflite
      (VST_MODEL_FILE) and render through it as the plugin does.
  """
  input_audio_filepatterns: Tuple[str, ...] = ()
  transfer_audio: Optional[str] = None
  output_dir: str = DEFAULT_OUTPUT_DIR
  steps: int = DEFAULT_STEPS
  batch_size: int = DEFAULT_BATCH_SIZE
  crepe_model: str = DEFAULT_CREPE_MODEL
  gin_params: Tuple[str, ...] = ()
  overwrite: bool = False
  vst: bool = False


# ----------------------------------------------------------------------------
# Inputs and the output directory.
# ----------------------------------------------------------------------------
def _check_settings(settings: DemoSettings) -> None:
  for name in ('steps', 'batch_size'):
    value = getattr(settings, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise DemoError(f'{name} must be a whole number >= 1, got {value!r}.')
  if settings.crepe_model not in crepe.CAPACITIES:
    raise DemoError(f'crepe_model must be one of '
                    f'{list(crepe.CAPACITIES)}, got '
                    f'{settings.crepe_model!r}.')


def find_training_files(patterns: Sequence[str]) -> List[str]:
  """The training audio files: the patterns' matches, or the bundled clip.

  Args:
    patterns: Files, globs ('**' recurses) or folders; empty for the
      bundled violin clip.

  Returns:
    Absolute paths, sorted.

  Raises:
    DemoError: If the patterns match no audio file.
  """
  if not patterns:
    return [demo_data.demo_audio_path('violin_train')]
  # data_prep is imported here, not with the library: only this
  # application uses it (DESIGN.md, section 2).
  from data_prep import audio_io  # pylint: disable=import-outside-toplevel
  audio_files = audio_io.find_audio_files(list(patterns))
  if not audio_files:
    raise DemoError(
        f'No audio file matches --input_audio_filepatterns={list(patterns)} '
        f'(audio extensions: {" ".join(audio_io.AUDIO_EXTENSIONS)}); pass '
        'audio files, globs or a folder that holds some.')
  return [os.path.abspath(input_file.path) for input_file in audio_files]


def read_audio(path: str, what: str,
               max_secs: Optional[float] = None) -> Tuple[np.ndarray, int]:
  """Reads (the start of) an audio file as mono float32.

  Args:
    path: The file.
    what: What it is, for messages.
    max_secs: Read at most this many seconds; None reads it all.

  Returns:
    (audio [n_samples], sample_rate).

  Raises:
    DemoError: If the file is missing, unreadable, or holds no samples.
  """
  try:
    audio, sample_rate = files.read_audio(path, what, max_secs)
  except files.AudioFileError as error:
    raise DemoError(str(error)) from None
  return np.mean(audio, axis=1), sample_rate


def _file_identity(path: str) -> List[Any]:
  """[path, size, mtime]: a file counts as changed when any of them does."""
  status = os.stat(path)
  return [path, status.st_size, int(status.st_mtime)]


def _fingerprint(settings: DemoSettings, audio_files: Sequence[str]
                 ) -> Dict[str, Any]:
  """The settings that shape the prepare, train and export stages."""
  return {'input_files': [_file_identity(path) for path in audio_files],
          'steps': settings.steps, 'batch_size': settings.batch_size,
          'crepe_model': settings.crepe_model,
          'gin_params': list(settings.gin_params), 'vst': settings.vst}


def _owned_entries() -> Tuple[str, ...]:
  return WORK_DIRS + AUDIO_FILES + (PLOT_FILE, SUMMARY_FILE, STATE_FILE,
                                    VST_MODEL_FILE)


def _read_state(output_dir: str) -> Optional[Dict[str, Any]]:
  path = os.path.join(output_dir, STATE_FILE)
  if not os.path.isfile(path):
    return None
  try:
    with open(path, encoding='utf-8') as state_file:
      state = json.load(state_file)
  except (OSError, json.JSONDecodeError):
    return None
  return state if isinstance(state, dict) else None


def _write_state(output_dir: str, fingerprint: Dict[str, Any],
                 finished: Sequence[str]) -> None:
  files.write_bytes_atomically(
      os.path.join(output_dir, STATE_FILE),
      json.dumps({'settings': fingerprint, 'finished': list(finished)},
                 indent=1).encode('utf-8') + b'\n')


def prepare_output_dir(output_dir: str, fingerprint: Dict[str, Any],
                       overwrite: bool) -> List[str]:
  """Checks the output directory and applies the rerun rule.

  Args:
    output_dir: Absolute path; created if missing.
    fingerprint: The settings that shape the reusable stages.
    overwrite: Delete the demo's own entries of any earlier run.

  Returns:
    The reusable stages already finished there (in REUSABLE_STAGES order).

  Raises:
    DemoError: If the directory cannot be written, or holds another run or
      other files and overwrite is False.
  """
  try:
    train_util.check_writable_dir('--output_dir', output_dir)
  except PermissionError as error:
    raise DemoError(str(error)) from None
  state = _read_state(output_dir)
  if (not overwrite and state is not None and
      state.get('settings') == fingerprint):
    finished = state.get('finished', [])
    return [stage for stage in REUSABLE_STAGES if stage in finished]
  if os.listdir(output_dir) and not overwrite:
    if state is None:
      reason = 'is not empty and holds no ddsp_tf_demo run'
    else:
      changed = sorted(key for key in fingerprint
                       if state['settings'].get(key) != fingerprint[key])
      reason = (f'holds a ddsp_tf_demo run with other settings (changed: '
                f'{", ".join(changed) or "format"})')
    raise DemoError(
        f'The output directory {output_dir} {reason}. Pass --overwrite to '
        'delete the demo\'s files there and start over, or choose another '
        '--output_dir.')
  for name in _owned_entries():
    path = os.path.join(output_dir, name)
    if os.path.isdir(path):
      shutil.rmtree(path)
    elif os.path.exists(path):
      os.remove(path)
  return []


# ----------------------------------------------------------------------------
# Stages.
# ----------------------------------------------------------------------------
def _run_settings(settings: DemoSettings, demo_params: Sequence[str] = (),
                  **fields: Any) -> runner.RunSettings:
  """The training run's settings: the demo's bindings, then the user's."""
  vst_params = VST_DATA_PARAMS if settings.vst else ()
  params = [f'batch_size={settings.batch_size}', *vst_params, *demo_params,
            *settings.gin_params]
  model_gin = VST_MODEL_GIN if settings.vst else MODEL_GIN
  return runner.RunSettings(gin_files=(model_gin, DATASET_GIN),
                            gin_params=tuple(params), **fields)


def dataset_frame_rate(settings: DemoSettings) -> int:
  """The feature rate the training config reads (TFRecordProvider's).

  Parses the training gin config, so a bad --gin_param fails here, before
  any slow work.

  Raises:
    DemoError: For a gin binding or file that does not parse.
  """
  run_settings = _run_settings(settings)
  try:
    runner.parse_gin('', gin_files=run_settings.gin_files,
                     gin_params=run_settings.gin_params)
  except runner.StartupError as error:
    raise DemoError(str(error)) from None
  try:
    return int(gin.query_parameter('TFRecordProvider.frame_rate'))
  except ValueError:  # Unbound: the provider's default.
    return _DEFAULT_FRAME_RATE


def prepare(audio_files: Sequence[str], data_dir: str, crepe_model: str,
            frame_rate: int, center: bool = False) -> None:
  """Runs the Beam data preparation into data_dir.

  With ddsp_tf's window layout ('file': every window that fits in a file,
  none from padding), which the demo's figures were measured with.
  """
  # pylint: disable=import-outside-toplevel
  try:
    from data_prep import pipeline
  except ImportError as error:
    raise DemoError(f'The data preparation needs Apache Beam ({error}); '
                    'install it with pip install "ddsp_tf[data]".') from None
  # pylint: enable=import-outside-toplevel
  try:
    pipeline.prepare_tfrecord(
        list(audio_files), os.path.join(data_dir, 'train.tfrecord'),
        frame_rate=frame_rate, model_capacity=crepe_model, center=center,
        window_layout='file', pipeline_options=['--runner=DirectRunner'])
  except pipeline.NoUsableAudioError as error:
    raise DemoError(str(error)) from None


def train(settings: DemoSettings, data_dir: str, save_dir: str) -> None:
  """Trains in this process with runner.run (resuming a killed run).

  Uses the short-run learning-rate schedule (LEARNING_RATE and the
  fractions above) unless the user's gin bindings override it.

  Raises:
    DemoError: If the training cannot start or fails.
  """
  every = max(settings.steps // _SAVES_PER_RUN, 1)
  pattern = os.path.join(data_dir, 'train.tfrecord*')
  run_settings = _run_settings(
      settings, [f"TFRecordProvider.file_pattern='{pattern}'",
                 f'train.num_steps={settings.steps}',
                 f'train.steps_per_save={every}',
                 f'train.steps_per_summary={every}',
                 f'learning_rate={LEARNING_RATE}',
                 'Trainer.lr_warmup_steps='
                 f'{int(settings.steps * WARMUP_FRACTION)}',
                 f'Trainer.lr_decay_steps={settings.steps}',
                 f'Trainer.lr_decay_rate={FINAL_LR_FRACTION}'],
      mode='train', save_dir=save_dir)
  logger.info('Training: %s', run_settings)
  try:
    runner.run(run_settings)
  except runner.StartupError as error:
    raise DemoError(f'Training could not start: {error}') from None
  except (ValueError, FileNotFoundError, PermissionError,
          FloatingPointError, NotImplementedError) as error:
    raise DemoError(
        f'Training failed: {type(error).__name__}: {error}') from None


def resynthesize(model: transfer_app.ExportedModel, audio: np.ndarray,
                 sample_rate: int, crepe_model: str) -> Dict[str, Any]:
  """Resynthesizes audio from its own features and measures the result.

  The input's features use 'same' framing, as the prepared data do. The
  resynthesis is re-analysed the same way: f0 L1 (semitones) over the
  frames where the input's CREPE confidence is >= metrics.MIN_F0_CONFIDENCE,
  loudness L1 (dB) over all frames.

  Args:
    model: The exported model.
    audio: [n_samples] mono input.
    sample_rate: Its rate.
    crepe_model: CREPE capacity of both analyses.

  Returns:
    Dict with 'features' (the input's, from compute_features),
    'audio' (the resynthesis), 'features_gen' (its re-analysis),
    'f0_l1_semitones' (None when no frame is confident),
    'loudness_l1_db' and 'voiced_fraction'.
  """
  def analyse(signal: np.ndarray, rate: int) -> Dict[str, np.ndarray]:
    return transfer_app.compute_features(
        signal, rate, model_sample_rate=model.sample_rate,
        frame_rate=model.frame_rate, model_capacity=crepe_model,
        padding='same')

  features = analyse(audio, sample_rate)
  audio_gen = model.resynthesize(features['f0_hz'],
                                 features['loudness_db'])['audio']
  return _measured(features, audio_gen, analyse(audio_gen, model.sample_rate),
                   features['f0_hz'])


def _measured(features: Dict[str, np.ndarray], audio_gen: np.ndarray,
              features_gen: Dict[str, np.ndarray],
              expected_f0_hz: np.ndarray) -> Dict[str, Any]:
  """The resynthesis dict: f0 L1 (semitones) of the output against
  expected_f0_hz over the input's confident frames, loudness L1 (dB)."""
  f0_l1 = metrics.f0_dist_conf_thresh(
      expected_f0_hz, features_gen['f0_hz'], features['f0_confidence'])
  loudness_l1 = metrics.l1_distance(features_gen['loudness_db'],
                                    features['loudness_db'])
  voiced = features['f0_confidence'] >= metrics.MIN_F0_CONFIDENCE
  return {'features': features, 'audio': audio_gen,
          'features_gen': features_gen, 'f0_l1_semitones': f0_l1,
          'loudness_l1_db': float(np.mean(loudness_l1)),
          'voiced_fraction': float(np.mean(voiced))}


def play_vst(model_path: str, audio: np.ndarray, sample_rate: int,
             crepe_model: str, pitch_shift: float = 0.0
             ) -> Dict[str, Any]:
  """Plays audio through the plugin model as the plugin does, and measures.

  The output is shifted back by the player's latency; both signals are
  analysed at 16 kHz and 50 frames per second ('same' framing).

  Returns:
    The dict of `resynthesize` (plus 'adjusted': the f0 given to the model).
  """
  player = vst_player.VSTPlayer(model_path, crepe_model=crepe_model,
                                pitch_shift=pitch_shift)
  audio_16k = vst_player.to_model_rate(audio, sample_rate)
  played = player.render(audio_16k)

  def analyse(signal: np.ndarray) -> Dict[str, np.ndarray]:
    return transfer_app.compute_features(
        signal, vst_player.SAMPLE_RATE,
        model_sample_rate=vst_player.SAMPLE_RATE,
        frame_rate=formats.VST_SAMPLE_RATE // formats.VST_HOP_SIZE,
        model_capacity=crepe_model, padding='same')

  features = analyse(audio_16k)
  shifted = features['f0_hz'] * 2.0**(pitch_shift / 12.0)
  result = _measured(features, played, analyse(played), shifted)
  result['adjusted'] = {'f0_hz': shifted,
                        'auto_octave_shift': pitch_shift / 12.0}
  return result


def vst_octave_shift(model_path: str, audio: np.ndarray, sample_rate: int,
                     crepe_model: str) -> float:
  """Semitones (whole octaves) that move audio's pitch into the model's.

  The model's register is the middle of its metadata's mean min and max
  note pitch; the audio's, the mean MIDI pitch of its confident frames.
  """
  with open(model_path, 'rb') as model_file:
    metadata = vst_inference.read_metadata(model_file.read())
  features = transfer_app.compute_features(
      vst_player.to_model_rate(audio, sample_rate), vst_player.SAMPLE_RATE,
      model_sample_rate=vst_player.SAMPLE_RATE, frame_rate=50,
      model_capacity=crepe_model, padding='same')
  voiced = features['f0_confidence'] >= metrics.MIN_F0_CONFIDENCE
  if not np.any(voiced):
    return 0.0
  audio_midi = np.mean(np.asarray(core.hz_to_midi(
      features['f0_hz'][voiced])))
  model_midi = 0.5 * (metadata['mean_min_pitch_note'] +
                      metadata['mean_max_pitch_note'])
  return 12.0 * round((model_midi - audio_midi) / 12.0)


def _spectrogram_panel(ax, audio: np.ndarray, sample_rate: int,
                       tracks: Sequence[Tuple[np.ndarray, str, str]],
                       frame_rate: int, title: str) -> None:
  """A spectrogram in seconds and Hz with f0 tracks (Hz) drawn over it.

  Args:
    ax: Axes to draw into.
    audio: [n_samples].
    sample_rate: Its rate.
    tracks: (f0_hz [n_frames], label, matplotlib format) per track;
      unvoiced frames (f0 <= 0) are not drawn.
    frame_rate: Frames per second of the tracks.
    title: Panel title.
  """
  from matplotlib import ticker  # pylint: disable=import-outside-toplevel
  seconds = audio.shape[0] / sample_rate
  plotting.specplot(audio, ax=ax,
                    extent=(0.0, seconds, 0.0, sample_rate / 2.0))
  for f0_hz, label, style in tracks:
    times = (np.arange(f0_hz.shape[0]) + 0.5) / frame_rate
    ax.plot(times, np.where(f0_hz > 0.0, f0_hz, np.nan), style, lw=1.0,
            label=label)
  ax.set_ylim(0.0, min(_PLOT_MAX_HZ, sample_rate / 2.0))
  ax.xaxis.set_ticks_position('bottom')
  ax.xaxis.set_major_locator(ticker.AutoLocator())
  ax.yaxis.set_major_locator(ticker.AutoLocator())
  ax.set_xlabel('Time (s)')
  ax.set_ylabel('Frequency (Hz)')
  ax.set_title(title)
  ax.legend(loc='upper right')


def plot_spectrograms(resynthesis: Dict[str, Any], transfer: Dict[str, Any],
                      sample_rate: int, frame_rate: int) -> bytes:
  """PNG of the four spectrograms (inputs and outputs) with f0 tracks.

  Args:
    resynthesis: From `resynthesize`.
    transfer: {'features': the transfer input's, 'adjusted': the adjusted
      features given to the model, 'audio': the model's output}.
    sample_rate: Rate of every signal.
    frame_rate: Rate of every f0 track.

  Returns:
    The PNG bytes.
  """
  input_f0 = resynthesis['features']['f0_hz']
  panels = (
      (resynthesis['features']['audio'], [(input_f0, 'CREPE f0', 'c-')],
       'Training audio (input)'),
      (resynthesis['audio'],
       [(input_f0, 'input f0', 'c-'),
        (resynthesis['features_gen']['f0_hz'], 'CREPE f0 of the output',
         'w--')], 'Resynthesis'),
      (transfer['features']['audio'],
       [(transfer['features']['f0_hz'], 'CREPE f0', 'c-')],
       'Transfer audio (input)'),
      (transfer['audio'],
       [(transfer['adjusted']['f0_hz'], 'f0 given to the model', 'c-')],
       'Timbre transfer'),
  )
  fig, axes = plotting.new_figure(len(panels), 1, size=(14.0, 3.2))
  for ax, (audio, tracks, title) in zip(axes[:, 0], panels):
    _spectrogram_panel(ax, audio, sample_rate, tracks, frame_rate, title)
  fig.tight_layout()
  return plotting.figure_to_png(fig)


# ----------------------------------------------------------------------------
# The job.
# ----------------------------------------------------------------------------
def _targets(f0_l1: Optional[float], loudness_l1: float) -> Dict[str, bool]:
  return {'f0_l1_semitones': f0_l1 is not None and
                             f0_l1 < F0_TARGET_SEMITONES,
          'loudness_l1_db': loudness_l1 < LOUDNESS_TARGET_DB}


def format_summary(summary: Dict[str, Any]) -> str:
  """The printed summary table of a summary.json dict."""
  lines = ['| stage | wall s | CPU s |', '|---|---:|---:|']
  for stage in STAGES:
    reused = ' (reused)' if stage in summary['reused_stages'] else ''
    lines.append(f'| {stage}{reused} | {summary["stage_secs"][stage]:.1f} | '
                 f'{summary["stage_cpu_secs"][stage]:.1f} |')
  lines.append(f'| total | {summary["total_secs"]:.1f} | '
               f'{summary["total_cpu_secs"]:.1f} |')
  lines.append(f'(load average at start: '
               f'{summary["load_average_at_start"]:.1f})')
  f0_l1 = summary['f0_l1_semitones']
  f0_text = 'n/a (no voiced frame)' if f0_l1 is None else f'{f0_l1:.3f}'
  met = summary['targets_met']
  lines += [
      '', f'{summary["steps"]} training steps at batch '
      f'{summary["batch_size"]}, CREPE {summary["crepe_model"]}.', '',
      '| resynthesis metric | value | target | met |', '|---|---:|---:|---|',
      f'| f0 L1 (semitones, voiced frames) | {f0_text} | '
      f'< {F0_TARGET_SEMITONES} | {"yes" if met["f0_l1_semitones"] else "no"}'
      ' |',
      f'| loudness L1 (dB) | {summary["loudness_l1_db"]:.2f} | '
      f'< {LOUDNESS_TARGET_DB} | '
      f'{"yes" if met["loudness_l1_db"] else "no"} |']
  return '\n'.join(lines)


def run_demo(settings: DemoSettings, log: Log = print) -> Dict[str, Any]:
  """Runs the whole demo (see the module docstring).

  Args:
    settings: What to run on and where to write.
    log: Prints a progress line.

  Returns:
    The summary written to summary.json.

  Raises:
    DemoError: For missing, unreadable or unmatched inputs, an output
      directory that cannot be written or holds another run, or a failed
      stage.
  """
  start, start_cpu = time.monotonic(), time.process_time()
  load_average = os.getloadavg()[0]
  _check_settings(settings)
  audio_files = find_training_files(settings.input_audio_filepatterns)
  train_audio, train_rate = read_audio(audio_files[0], 'training audio',
                                       MAX_RESYNTHESIS_SECS)
  transfer_path = files.expand_path(
      settings.transfer_audio or demo_data.demo_audio_path('flute_transfer'))
  transfer_audio, transfer_rate = read_audio(transfer_path, 'transfer audio')
  output_dir = files.expand_path(settings.output_dir)
  fingerprint = _fingerprint(settings, audio_files)
  reused = prepare_output_dir(output_dir, fingerprint, settings.overwrite)
  frame_rate = dataset_frame_rate(settings)
  paths = {name: os.path.join(output_dir, name) for name in _owned_entries()}
  log(f'ddsp_tf_demo: {len(audio_files)} training file(s), transfer '
      f'{transfer_path}, output {output_dir}; {settings.steps} steps at '
      f'batch {settings.batch_size}, CREPE {settings.crepe_model}'
      + (f'; reusing {", ".join(reused)}' if reused else ''))

  stage_secs = dict.fromkeys(STAGES, 0.0)
  stage_cpu_secs = dict.fromkeys(STAGES, 0.0)
  finished = list(reused)

  def stage(name: str, function: Callable[[], Any]) -> Any:
    if name in reused:
      log(f'[{name}] finished by an earlier run; reused.')
      return None
    log(f'[{name}] ...')
    begin, begin_cpu = time.monotonic(), time.process_time()
    result = function()
    stage_secs[name] = time.monotonic() - begin
    stage_cpu_secs[name] = time.process_time() - begin_cpu
    log(f'[{name}] done in {stage_secs[name]:.1f} s '
        f'({stage_cpu_secs[name]:.1f} CPU-s).')
    if name in REUSABLE_STAGES:
      finished.append(name)
      _write_state(output_dir, fingerprint, finished)
    return result

  stats_path = os.path.join(paths['data'], formats.STATS_FILE)
  stage('prepare', lambda: prepare(audio_files, paths['data'],
                                   settings.crepe_model, frame_rate,
                                   center=settings.vst))
  stage('train', lambda: train(settings, paths['data'], paths['train']))
  if settings.vst:
    vst_path = os.path.join(paths['export'], 'tflite',
                            VST_MODEL_FILE)
    stage('export', lambda: export.export_inference_model(
        paths['train'], save_dir=paths['export'],
        name=VST_MODEL_FILE[:-len('.tflite')],
        inference_model=export.PLUGIN_MODEL,
        dataset_path=os.path.join(paths['data'], 'train.tfrecord*')))
    resynthesis = stage('resynthesis', lambda: play_vst(
        vst_path, train_audio, train_rate, settings.crepe_model))
    shift = vst_octave_shift(vst_path, transfer_audio, transfer_rate,
                             settings.crepe_model)
    transfer = stage('transfer', lambda: play_vst(
        vst_path, transfer_audio, transfer_rate, settings.crepe_model,
        pitch_shift=shift))
    sample_rate, model_frame_rate = vst_player.SAMPLE_RATE, 50
    steps = export.checkpoint_step(
        train_util.get_latest_checkpoint(paths['train']))
  else:
    stage('export', lambda: export.export_model(
        paths['train'], paths['export'], crepe_model=settings.crepe_model,
        dataset_statistics=stats_path, overwrite=True))
    model = transfer_app.load_model(paths['export'])
    resynthesis = stage('resynthesis', lambda: resynthesize(
        model, train_audio, train_rate, settings.crepe_model))
    transfer = stage('transfer', lambda: transfer_app.timbre_transfer(
        transfer_audio, transfer_rate, model,
        crepe_model=settings.crepe_model))
    transfer = {'audio': transfer[0], **transfer[1]}
    sample_rate, model_frame_rate = model.sample_rate, model.frame_rate
    steps = int(model.metadata['training_step'])

  f0_l1 = resynthesis['f0_l1_semitones']
  loudness_l1 = resynthesis['loudness_l1_db']
  targets_met = _targets(f0_l1, loudness_l1)
  summary = {
      'ddsp_tf_version': version.__version__,
      'training_files': audio_files,
      'resynthesis_input': audio_files[0],
      'resynthesis_secs': train_audio.shape[0] / train_rate,
      'transfer_input': transfer_path,
      'steps': steps,
      'vst': settings.vst,
      'batch_size': settings.batch_size,
      'crepe_model': settings.crepe_model,
      'gin_params': list(settings.gin_params),
      'sample_rate': sample_rate,
      'frame_rate': model_frame_rate,
      'reused_stages': reused,
      'load_average_at_start': load_average,
      'f0_l1_semitones': f0_l1,
      'loudness_l1_db': loudness_l1,
      'voiced_fraction': resynthesis['voiced_fraction'],
      'f0_confidence_threshold': metrics.MIN_F0_CONFIDENCE,
      'targets': {'f0_l1_semitones': F0_TARGET_SEMITONES,
                  'loudness_l1_db': LOUDNESS_TARGET_DB},
      'targets_met': targets_met,
      'all_targets_met': all(targets_met.values()),
      'transfer_octave_shift': float(transfer['adjusted']['auto_octave_shift']),
      'outputs': [paths[name] for name in AUDIO_FILES + (PLOT_FILE,
                                                          SUMMARY_FILE)],
  }
  if settings.vst:
    summary['plugin_model'] = paths[VST_MODEL_FILE]
    summary['outputs'].append(paths[VST_MODEL_FILE])

  def write_outputs() -> None:
    for name, audio in zip(AUDIO_FILES, (
        resynthesis['features']['audio'], resynthesis['audio'],
        transfer['features']['audio'], transfer['audio'])):
      files.write_audio_atomically(paths[name], audio, sample_rate)
    files.write_bytes_atomically(paths[PLOT_FILE], plot_spectrograms(
        resynthesis, transfer, sample_rate, model_frame_rate))
    if settings.vst:
      with open(vst_path, 'rb') as model_file:
        files.write_bytes_atomically(paths[VST_MODEL_FILE], model_file.read())

  stage('outputs', write_outputs)
  summary['stage_secs'] = stage_secs
  summary['stage_cpu_secs'] = stage_cpu_secs
  summary['total_secs'] = time.monotonic() - start
  summary['total_cpu_secs'] = time.process_time() - start_cpu
  files.write_bytes_atomically(paths[SUMMARY_FILE],
                          json.dumps(summary, indent=1).encode('utf-8') + b'\n')
  return summary
