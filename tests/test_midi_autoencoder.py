"""Tests for ddsp_tf.training.models.midi_autoencoder.

The models are built from the shipped configs (models/midiae/*.gin) with
small networks. Expected output keys and shapes are the ones magenta/ddsp
v3.7.0's MidiAutoencoder and ZMidiAutoencoder return for the same configs
(recorded by running the original). The test audio holds four harmonic
notes of known pitch and timing made here with numpy.
"""

import os

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf import losses as losses_lib
from ddsp_tf import spectral_ops
from ddsp_tf.training import data
from ddsp_tf.training import heuristics
from ddsp_tf.training import metrics
from ddsp_tf.training import models
from ddsp_tf.training import runner
from ddsp_tf.training import train_util
from ddsp_tf.training import trainers

note_seq = pytest.importorskip('note_seq')
pytest.importorskip('mir_eval')

SAMPLE_RATE = 16000
N_SAMPLES = 64000  # The models' synthesizers render 4 s at 16 kHz.
MIDIAE = 'models/midiae/midiae.gin'
Z_MIDIAE = 'models/midiae/z_midiae.gin'
MIDI_ENCODER = 'models/midiae/mixins/midi_encoder.gin'

# Small networks; the frame rate (F0LoudnessPreprocessor) is set per test.
SMALL = [
    'DilatedConvDecoder.ch = 16',
    'DilatedConvDecoder.layers_per_stack = 2',
    'dec/DilatedConvStack.ch = 16',
    'dec/DilatedConvStack.layers_per_stack = 2',
    'dec/DilatedConvStack.stacks = 1',
]
SMALL_Z = SMALL + [
    'z/DilatedConvStack.ch = 16',
    'z/DilatedConvStack.layers_per_stack = 2',
    'z/DilatedConvStack.stacks = 1',
    'MfccTimeDistributedRnnEncoder.rnn_channels = 16',
    'MfccTimeDistributedRnnEncoder.z_dims = 8',
    'MfccTimeDistributedRnnEncoder.z_time_steps = 250',
    'nn.FcStackOut.ch = 16',
    'nn.FcStackOut.layers = 1',
]
SMALL_ENCODER = SMALL + [
    'enc/DilatedConvStack.ch = 16',
    'enc/DilatedConvStack.layers_per_stack = 2',
    'enc/DilatedConvStack.stacks = 1',
]


def _rate(frame_rate):
  return [f'F0LoudnessPreprocessor.time_steps = {4 * frame_rate}',
          f'F0LoudnessPreprocessor.frame_rate = {frame_rate}']


def _build(gin_files, gin_params):
  runner.parse_gin(restore_dir='', gin_files=gin_files, gin_params=gin_params)
  try:
    return models.get_model()
  finally:
    gin.clear_config()


# ----------------------------------------------------------------------------
# Test material: notes of known MIDI pitch, onset and offset.
# ----------------------------------------------------------------------------
NOTES = ((60, 0.1, 0.7), (64, 1.0, 1.6), (67, 1.9, 2.5), (72, 2.8, 3.4))


def _hz(pitch):
  return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def _frame_controls(frame_rate):
  """f0 (0 Hz between notes), a decaying amplitude and the piano roll."""
  n_frames = 4 * frame_rate
  times = np.arange(n_frames) / frame_rate
  f0_hz = np.zeros(n_frames, np.float32)
  amps = np.full(n_frames, 1e-4, np.float32)
  pianoroll = np.zeros([n_frames, 128], np.float32)
  for pitch, start, end in NOTES:
    on = (times >= start) & (times < end)
    f0_hz[on] = _hz(pitch)
    amps[on] = 0.5 * np.exp(-(times[on] - start) / 0.4)
    pianoroll[on, pitch] = 0.8
  return f0_hz, amps, pianoroll


def _audio():
  """The notes as harmonic tones (1/k harmonic amplitudes, decaying)."""
  times = np.arange(N_SAMPLES) / SAMPLE_RATE
  audio = np.zeros(N_SAMPLES)
  for pitch, start, end in NOTES:
    on = (times >= start) & (times < end)
    envelope = 0.5 * np.exp(-(times[on] - start) / 0.4)
    envelope *= np.minimum(1.0, (times[on] - start) / 0.005)  # No click.
    for k in range(1, 9):
      audio[on] += envelope / k * np.sin(
          2 * np.pi * k * _hz(pitch) * (times[on] - start)) / 2
  return audio.astype(np.float32)


def _features(frame_rate, batch_size=1):
  f0_hz, _, pianoroll = _frame_controls(frame_rate)
  audio = _audio()
  loudness = spectral_ops.compute_loudness(
      audio[None], sample_rate=SAMPLE_RATE, frame_rate=frame_rate,
      padding='same').numpy()[0]
  one = {'audio': audio, 'f0_hz': f0_hz, 'loudness_db': loudness,
         'note_active_velocities': pianoroll,
         'instrument_id': np.int64(3)}
  return {k: np.stack([v] * batch_size) for k, v in one.items()}


def _ground_truth_sequence():
  sequence = note_seq.NoteSequence()
  for pitch, start, end in NOTES:
    note = sequence.notes.add()
    note.pitch, note.start_time, note.end_time = pitch, start, end
    note.velocity = 127
  sequence.total_time = 4.0
  return sequence


def _transcribe(controls_batch, frame_rate):
  return heuristics.segment_notes_batch(
      heuristics.midi_heuristic, heuristics.mean_f0, heuristics.median_amps,
      controls_batch, frame_rate=frame_rate)


# ----------------------------------------------------------------------------
# Built from the configs: outputs as the original's.
# ----------------------------------------------------------------------------
# Keys of magenta/ddsp's MidiAutoencoder outputs for midiae.gin (without the
# processor group's nested dicts), and their trailing shapes for 200 frames.
MIDIAE_KEYS = {
    'synth_audio': [N_SAMPLES], 'midi_audio': [N_SAMPLES],
    'q_pitch': [200, 1], 'q_vel': [200, 1], 'pianoroll': [200, 128],
    'f0_midi_pred': [200, 1], 'f0_hz_pred': [200, 1], 'amps': [200, 1],
    'hd': [200, 60], 'noise': [200, 65], 'amps_pred': [200, 1],
    'hd_pred': [200, 60], 'noise_pred': [200, 65],
    'f0_loss_weights': [200, 1], 'loudness_db_pred': [200, 1],
    'audio': [N_SAMPLES], 'f0_hz': [200, 1], 'loudness_db': [200, 1],
    'note_active_velocities': [200, 128], 'instrument_id': [],
    'f0_scaled': [200, 1], 'ld_scaled': [200, 1], 'f0_midi': [200, 1],
    'db': [200, 1], 'amplitudes': [200, 1],
    'harmonic_distribution': [200, 60], 'magnitudes': [200, 65],
}
NESTED_KEYS = {'synth_params', 'midi_synth_params', 'inputs', 'harmonic',
               'filtered_noise', 'add', 'reverb', 'out'}
RECON_LOSSES = {'spectral_loss_synth', 'f0_reconstruction',
                'amplitude_reconstruction',
                'harmonic_distribution_reconstruction',
                'noise_reconstruction', 'total_loss'}


def _check_keys_and_shapes(outputs, expected, batch_size):
  flat = {k for k, v in outputs.items() if not isinstance(v, dict)}
  nested = {k for k, v in outputs.items() if isinstance(v, dict)}
  assert flat == set(expected)
  assert nested == NESTED_KEYS
  for key, shape in expected.items():
    assert list(outputs[key].shape) == [batch_size] + shape, key


def test_midiae_gin_runs_with_the_original_outputs():
  model = _build([MIDIAE], SMALL + _rate(50))
  assert isinstance(model, models.MidiAutoencoder)
  features = _features(50, batch_size=2)
  outputs, losses = model(features, training=True, return_losses=True)

  _check_keys_and_shapes(outputs, MIDIAE_KEYS, 2)
  assert set(losses) == RECON_LOSSES
  assert np.isclose(float(losses['total_loss']),
                    sum(float(v) for k, v in losses.items()
                        if k != 'total_loss'), rtol=1e-5)
  # The learned 24000-tap reverb is in the processor group.
  assert outputs['synth_params']['reverb']['controls']['ir'].shape[-1] == 24000
  # The model's audio is the synthcoder's (midi_decoder is set).
  assert model.get_audio_from_outputs(outputs) is outputs['synth_audio']

  # MIDI from the piano roll: the pitch of each frame, 0 when silent.
  _, _, pianoroll = _frame_controls(50)
  pitch = np.where(pianoroll.max(-1) > 0, pianoroll.argmax(-1), 0)
  np.testing.assert_array_equal(outputs['q_pitch'][0, :, 0], pitch)
  np.testing.assert_array_equal(outputs['q_vel'], 0.0)
  # f0 loss weights: 1 where f0 is within 2 semitones of the MIDI pitch.
  f0_midi = 69 + 12 * np.log2(np.maximum(features['f0_hz'][0], 1e-9) / 440)
  f0_midi[features['f0_hz'][0] == 0] = 0.0
  np.testing.assert_array_equal(outputs['f0_loss_weights'][0, :, 0],
                                np.abs(f0_midi - pitch) < 2)
  # The piano roll output is one-hot at the pitch (pitches <= 20 -> 0).
  np.testing.assert_array_equal(
      np.argmax(outputs['pianoroll'][0], axis=-1), pitch)
  np.testing.assert_array_equal(np.sum(outputs['pianoroll'], axis=-1), 1.0)
  for key in ('synth_audio', 'midi_audio'):
    assert np.all(np.isfinite(outputs[key]))


def test_z_midiae_gin_runs_with_the_original_outputs():
  model = _build([Z_MIDIAE], SMALL_Z + _rate(50))
  assert isinstance(model, models.ZMidiAutoencoder)
  outputs, losses = model(_features(50, batch_size=2), training=True,
                          return_losses=True)
  expected = dict(MIDIAE_KEYS)
  # Instrument embedding (128) + MFCC code (8); 128 + 128 for the decoder.
  expected.update({'z': [200, 128 + 8], 'z_global': [200, 256],
                   'z_notes': [200, 128], 'amps_scaled': [200, 1],
                   'hd_scaled': [200, 60], 'noise_scaled': [200, 65]})
  _check_keys_and_shapes(outputs, expected, 2)
  assert set(losses) == RECON_LOSSES
  rebuilt = models.ZMidiAutoencoder.from_config(model.get_config())
  assert [type(z).__name__ for z in rebuilt.z_synth_encoders] == [
      'OneHotEncoder', 'MfccTimeDistributedRnnEncoder']
  assert type(rebuilt.z_note_encoder).__name__ == 'ExpressionEncoder'
  assert rebuilt.z_preconditioning_stack.n_out == 256

  # Note latents are pooled over each note: constant inside a note.
  q_pitch = outputs['q_pitch'][0, :, 0].numpy()
  z_notes = outputs['z_notes'][0].numpy()
  boundaries = np.flatnonzero(np.diff(q_pitch)) + 1
  for segment in np.split(np.arange(len(q_pitch)), boundaries):
    if q_pitch[segment[0]] > 0:
      np.testing.assert_allclose(z_notes[segment],
                                 np.broadcast_to(z_notes[segment[0]],
                                                 z_notes[segment].shape),
                                 atol=1e-5)


def test_midi_encoder_mixin_transcribes_with_a_network():
  model = _build([MIDIAE, MIDI_ENCODER], SMALL_ENCODER + _rate(50))
  outputs, losses = model(_features(50), training=True, return_losses=True)
  assert outputs['z_pitch'].shape == (1, 200, 1)
  # q_pitch is z_pitch rounded (straight through); no piano roll is read.
  np.testing.assert_array_equal(outputs['q_pitch'],
                                np.round(outputs['z_pitch']))
  np.testing.assert_array_equal(outputs['f0_loss_weights'], 1.0)
  assert set(losses) == RECON_LOSSES
  features = _features(50)
  del features['note_active_velocities']
  model(features, training=False)  # The piano roll is not needed.


class _MeanLoss(losses_lib.Loss):
  """mean(x * weights): a stand-in for the original's MarginLoss."""

  def call(self, x, weights=None):
    return tf.reduce_mean(x if weights is None else x * weights[..., None])


def test_pitch_losses_of_the_midi_encoder():
  model = _build([MIDIAE, MIDI_ENCODER], SMALL_ENCODER + _rate(50))
  model.qpitch_f0rec_loss = _MeanLoss(name='q_pitch-f0_rec')
  model.pitch_f0rec_loss = _MeanLoss(name='pitch-f0_rec')
  model.pitch_qpitch_loss = losses_lib.ParamLoss(name='pitch-q_pitch')
  model.slowness_loss = _MeanLoss(name='slowness')
  outputs, losses = model(_features(50), training=True, return_losses=True)
  assert set(losses) == RECON_LOSSES | {'q_pitch-f0_rec', 'pitch-f0_rec',
                                        'pitch-q_pitch', 'slowness'}
  z_pitch, q_pitch = outputs['z_pitch'].numpy(), outputs['q_pitch'].numpy()
  f0_pred = outputs['f0_midi_pred'].numpy()
  np.testing.assert_allclose(losses['q_pitch-f0_rec'],
                             np.mean(np.abs(q_pitch - f0_pred)), rtol=1e-5)
  np.testing.assert_allclose(losses['pitch-f0_rec'],
                             np.mean(np.abs(z_pitch - f0_pred)), rtol=1e-5)
  np.testing.assert_allclose(losses['pitch-q_pitch'],
                             np.mean(np.abs(z_pitch - q_pitch)), rtol=1e-5)
  assert np.isfinite(losses['slowness'])


def test_without_a_midi_decoder_the_synthcoder_is_the_model():
  model = _build([MIDIAE], SMALL + _rate(50) + [
      'MidiAutoencoder.midi_decoder = None',
      'MidiAutoencoder.reconstruction_losses = None'])
  outputs, losses = model(_features(50), training=True, return_losses=True)
  assert outputs['midi_audio'] is outputs['synth_audio']
  assert model.get_audio_from_outputs(outputs) is outputs['synth_audio']
  assert not {'amps_pred', 'hd_pred', 'noise_pred'} & set(outputs)
  np.testing.assert_array_equal(outputs['f0_midi_pred'], outputs['q_pitch'])
  assert set(losses) == {'total_loss'}


def test_synthesize_audio_keeps_the_given_loudness():
  """The synthcoder pass never recomputes loudness (there is no audio)."""
  model = _build([MIDIAE], SMALL + _rate(50))
  f0_hz = tf.fill([1, 200, 1], 220.0)
  quiet, params = model.synthesize_audio(f0_hz, tf.fill([1, 200, 1], -80.0),
                                         return_params=True)
  assert quiet.shape == (1, N_SAMPLES)
  np.testing.assert_allclose(params['ld_scaled'], 0.0, atol=1e-6)
  _, params = model.synthesize_audio(f0_hz, tf.fill([1, 200, 1], -20.0),
                                     return_params=True)
  np.testing.assert_allclose(params['ld_scaled'], 0.75, atol=1e-6)


def test_keras_file_round_trip(tmp_path):
  """A saved .keras model reloads with its weights (gin registration kept)."""
  model = _build([MIDIAE], SMALL + _rate(50))
  features = _features(50)
  outputs = model(features, training=False)
  path = str(tmp_path / 'midiae.keras')
  model.save(path)
  loaded = keras.saving.load_model(path)
  assert isinstance(loaded, models.MidiAutoencoder)
  reloaded = loaded(features, training=False)
  # Deterministic outputs (the audio has random filtered noise).
  for key in ('amps', 'hd', 'noise', 'f0_midi_pred', 'amps_pred', 'hd_pred',
              'noise_pred'):
    np.testing.assert_allclose(reloaded[key], outputs[key], rtol=1e-5,
                               atol=1e-5, err_msg=key)
  np.testing.assert_allclose(
      loaded.processor_group.reverb.trainable_variables[0],
      model.processor_group.reverb.trainable_variables[0])


# ----------------------------------------------------------------------------
# Missing features.
# ----------------------------------------------------------------------------
def test_missing_features_are_named():
  model = _build([MIDIAE], SMALL + _rate(50))
  features = _features(50)
  del features['note_active_velocities']
  with pytest.raises(ValueError, match=r"\['note_active_velocities'\]"):
    model(features)
  features = _features(50)
  del features['audio']
  with pytest.raises(ValueError, match=r"\['audio'\]"):
    model(features)
  z_model = _build([Z_MIDIAE], SMALL_Z + _rate(50))
  features = _features(50)
  del features['instrument_id'], features['note_active_velocities']
  with pytest.raises(ValueError,
                     match=r"\['instrument_id', 'note_active_velocities'\]"):
    z_model(features)


def test_piano_roll_of_other_length_is_an_error():
  model = _build([MIDIAE], SMALL + _rate(50))
  features = _features(50)
  features['note_active_velocities'] = features['note_active_velocities'][
      :, :100]
  with pytest.raises(ValueError, match='100 frames.*200'):
    model(features)


def _write_tfrecords(path, n_examples=2):
  """Shards as ddsp_tf_prepare_tfrecord writes them (no MIDI features)."""
  features = _features(250)
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(n_examples):
      values = {'audio': features['audio'][0],
                'audio_16k': features['audio'][0],
                'f0_hz': features['f0_hz'][0],
                'f0_confidence': np.ones(1000, np.float32),
                'loudness_db': features['loudness_db'][0]}
      example = tf.train.Example(features=tf.train.Features(feature={
          key: tf.train.Feature(float_list=tf.train.FloatList(value=value))
          for key, value in values.items()}))
      writer.write(example.SerializeToString())


def test_training_on_data_without_midi_stops_before_any_step(tmp_path):
  model = _build([MIDIAE], SMALL + _rate(250))
  _write_tfrecords(str(tmp_path / 'train.tfrecord'))
  provider = data.TFRecordProvider(str(tmp_path / 'train.tfrecord*'))
  trainer = trainers.Trainer(model, tf.distribute.get_strategy())
  save_dir = tmp_path / 'run'
  with pytest.raises(ValueError, match=r"\['note_active_velocities'\]"):
    train_util.train(provider, trainer, batch_size=1, num_steps=5,
                     steps_per_summary=5, steps_per_save=5,
                     save_dir=str(save_dir))
  assert int(trainer.step.numpy()) == 0
  assert not [name for name in os.listdir(save_dir)
              if name.startswith('ckpt')]


# ----------------------------------------------------------------------------
# Transcription scored against the known notes.
# ----------------------------------------------------------------------------
def test_heuristic_transcription_of_the_true_controls_is_perfect():
  """The can-fail check of the scoring pipeline: truth in, F1 = 1 out."""
  f0_hz, amps, _ = _frame_controls(250)
  controls = {'f0_hz': f0_hz[None, :, None],
              'harmonic': {'controls': {'amplitudes': amps[None, :, None]}}}
  (sequence,) = _transcribe(controls, 250)
  assert [note.pitch for note in sequence.notes] == [n[0] for n in NOTES]
  onsets, full_notes = metrics.compute_note_metrics(_ground_truth_sequence(),
                                                    sequence)
  assert (onsets.tp, onsets.fp, onsets.fn) == (4, 0, 0)
  assert onsets.f1 == 1.0 and full_notes.f1 == 1.0


class _ArrayProvider(data.DataProvider):
  """The same test-made example, repeated."""

  def __init__(self, features):
    super().__init__(sample_rate=SAMPLE_RATE, frame_rate=250)
    self._features = {k: v[0] for k, v in features.items()}

  def get_dataset(self, shuffle=True):
    del shuffle
    return tf.data.Dataset.from_tensors(self._features)


@pytest.mark.slow
def test_a_trained_midi_autoencoder_transcription_is_scored(tmp_path):
  model = _build([MIDIAE], SMALL + _rate(250))
  features = _features(250)
  _, losses_before = model(features, training=False, return_losses=True)
  trainer = trainers.Trainer(model, tf.distribute.get_strategy(),
                             learning_rate=3e-3)
  train_util.train(_ArrayProvider(features), trainer, batch_size=1,
                   num_steps=30, steps_per_summary=30, steps_per_save=30,
                   save_dir=str(tmp_path))
  assert int(trainer.step.numpy()) == 30
  outputs, losses_after = model(features, training=False, return_losses=True)
  print('losses before', {k: round(float(v), 3) for k, v in
                          losses_before.items()})
  print('losses after', {k: round(float(v), 3) for k, v in
                         losses_after.items()})
  assert float(losses_after['spectral_loss_synth']) < float(
      losses_before['spectral_loss_synth'])

  # Transcribe the model's controls (its f0 and learned amplitudes).
  (sequence,) = _transcribe({'f0_hz': outputs['f0_hz'],
                             'harmonic': outputs['harmonic']}, 250)
  onsets, full_notes = metrics.compute_note_metrics(_ground_truth_sequence(),
                                                    sequence)
  print(f'transcription after 30 steps: {len(sequence.notes)} notes, onset '
        f'F1 {onsets.f1:.3f}, full-note F1 {full_notes.f1:.3f}')
  assert 0.0 <= onsets.f1 <= 1.0 and 0.0 <= full_notes.f1 <= 1.0
  assert full_notes.f1 <= onsets.f1
