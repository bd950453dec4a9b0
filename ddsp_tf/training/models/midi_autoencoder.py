"""Autoencoders with a MIDI-like bottleneck (experimental, as in magenta/ddsp).

`MidiAutoencoder` stacks two autoencoders:

  features (f0, loudness) --synthcoder--> controls --> 'synth_audio'
                                              |
           stop gradient (sg_before_midiae) --+
                                              v
  controls (f0, amps, hd, noise) --midi_encoder--> MIDI pitch (q_pitch)
      --midi_decoder--> predicted controls --> 'midi_audio'

The inner "synthcoder" branch is the DDSP decoder of the ICLR 2020 paper;
its harmonic and noise controls are encoded to a quantized MIDI pitch per
frame and decoded back. Without a midi_encoder the MIDI comes from the
ground-truth piano roll of the data ('note_active_velocities', e.g.
data.UrmpMidi). The reconstruction LossGroup compares the two sets of
controls ('amps'/'amps_pred', 'hd'/'hd_pred', 'noise'/'noise_pred', the f0
in MIDI 'f0_midi'/'f0_midi_pred' weighted by 'f0_loss_weights') and the
input audio with 'synth_audio'. `ZMidiAutoencoder` adds latent encoders.

Outputs have magenta/ddsp's keys. Where ddsp_tf knowingly differs:
- Losses are computed after `call`, from the outputs (model.Model), whenever
  `return_losses=True`, also with training=False (the original only added
  them while training). The `add_*_loss` helpers return the loss dict.
- The synthcoder branch re-runs the preprocessor on (f0_hz, loudness) only.
  The original then crashed with F0LoudnessPreprocessor's default
  compute_loudness=True (there is no audio to recompute loudness from); here
  that second pass uses a copy of the preprocessor that keeps the given
  loudness (the one the first pass computed).
- With midi_decoder=None the original failed with a NameError; here
  'midi_audio' and 'midi_synth_params' are the synthcoder's and the
  '*_pred' controls are absent.
- 'pianoroll' keeps the batch axis for a batch of one (the original squeezed
  it away), and `ZMidiAutoencoder` pools the note latents to their mean
  (the original passed a (mean, std) pair on, which failed to concatenate).
- Missing features (e.g. the piano roll) and a piano roll whose frame count
  differs from the preprocessed features' fail up front with the keys named.
- With a prior, the latents before sampling are also returned, as
  'z_global_params' / 'z_notes_params', for the prior's loss.
"""

from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import effects
from ddsp_tf import layer_base
from ddsp_tf import processors
from ddsp_tf import synths
from ddsp_tf.training import nn
from ddsp_tf.training import preprocessing
from ddsp_tf.training.models import model as model_lib
from ddsp_tf.training.models import model_helpers as helpers

TensorDict = Dict[Text, tf.Tensor]

_Z_LAYER_ARGS = ('z_synth_encoders', 'z_global_encoders', 'z_note_encoder',
                 'z_preconditioning_stack', 'z_global_prior', 'z_note_prior')
# Keys the model itself adds to the features or outputs.
_MODEL_KEYS = (
    'synth_params', 'synth_audio', 'midi_synth_params', 'midi_audio',
    'q_pitch', 'q_vel', 'z_pitch', 'z_vel', 'z_global', 'z_notes', 'pianoroll',
    'f0_midi_pred', 'f0_hz_pred', 'amps', 'hd', 'noise', 'amps_pred',
    'hd_pred', 'noise_pred', 'f0_loss_weights', 'f0_midi', 'db',
    'amps_scaled', 'hd_scaled', 'noise_scaled', 'z', 'inputs', 'out',
    'z_global_params', 'z_notes_params')
# Notes shorter than this (frames) get the slowness loss.
_SLOWNESS_MIN_LENGTH = 40
# |f0 - MIDI pitch| (semitones) beyond which mask_f0_loss drops a frame.
_F0_MASK_SEMITONES = 2.0


def _make_processor_group(reverb: bool) -> processors.ProcessorGroup:
  """Harmonic + filtered noise (+ learned reverb), as the original's DAG."""
  dag = [
      (synths.Harmonic(), ['amplitudes', 'harmonic_distribution', 'f0_hz']),
      (synths.FilteredNoise(), ['magnitudes']),
      (processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
  ]
  if reverb:
    dag.append((effects.FilteredNoiseReverb(
        trainable=True, reverb_length=24000, n_frames=500, n_filter_banks=32,
        name='reverb'), ['add/signal']))
  return processors.ProcessorGroup(dag=dag)


def _loudness_keeping_copy(preprocessor: Any) -> Any:
  """The preprocessor, or a copy that does not recompute loudness."""
  if not getattr(preprocessor, 'compute_loudness', False):
    return preprocessor
  config = dict(preprocessor.get_config(), compute_loudness=False,
                name=f'{preprocessor.name}_given_loudness')
  return type(preprocessor).from_config(config)


@keras.saving.register_keras_serializable(package='ddsp_tf')
class MidiAutoencoder(model_lib.Model):
  """Autoencoder of synth controls through a quantized MIDI pitch.

  See the module docstring for the architecture. The processor group is
  built here: Harmonic (['amplitudes', 'harmonic_distribution', 'f0_hz'],
  64000 samples at 16 kHz), FilteredNoise (['magnitudes']), Add, and with
  reverb a trainable FilteredNoiseReverb (24000 taps, 500 frames, 32 bands)
  named 'reverb'. The synthcoder and the midi_decoder must output those
  control keys (the midi_decoder also 'f0_midi' and 'f0_hz').
  """

  def __init__(self, synthcoder: Optional[keras.layers.Layer] = None,
               midi_encoder: Optional[keras.layers.Layer] = None,
               midi_decoder: Optional[keras.layers.Layer] = None,
               sg_before_midiae: bool = True, reverb: bool = True,
               preprocessor: Optional[keras.layers.Layer] = None,
               reconstruction_losses: Optional[Any] = None,
               qpitch_f0rec_loss: Optional[Any] = None,
               pitch_f0rec_loss: Optional[Any] = None,
               pitch_qpitch_loss: Optional[Any] = None,
               midi_slowness_loss: Optional[Any] = None,
               mask_f0_loss: bool = True, **kwargs):
    """Sets the networks and losses.

    Args:
      synthcoder: Layer mapping the preprocessed features (f0_scaled,
        ld_scaled, optionally z) to synth controls {'amplitudes',
        'harmonic_distribution', 'magnitudes'}, e.g.
        decoders.DilatedConvDecoder. Required.
      midi_encoder: Layer mapping (f0_midi, amps, hd, noise) to
        {'z_pitch', 'z_vel'}, e.g. encoders.HarmonicToMidiEncoder; None
        takes the MIDI from the features' 'note_active_velocities'.
      midi_decoder: Layer mapping (q_pitch, q_vel[, z]) to predicted
        controls with 'f0_midi', e.g. decoders.MidiToHarmonicDecoder; None
        skips the MIDI branch.
      sg_before_midiae: Stop gradients from the MIDI autoencoder into the
        synthcoder.
      reverb: Add the learned reverb to the processor group.
      preprocessor: Layer scaling the features, e.g.
        preprocessing.F0LoudnessPreprocessor (F0PowerPreprocessor reads
        'power_db' instead of 'loudness_db'). Required.
      reconstruction_losses: losses.LossGroup over the outputs dict.
      qpitch_f0rec_loss: Loss on |f0_midi_pred - q_pitch|, or None.
      pitch_f0rec_loss: Loss on |z_pitch - f0_midi_pred|, or None.
      pitch_qpitch_loss: Loss on (z_pitch, q_pitch), or None.
      midi_slowness_loss: Loss on (z_pitch, mask of notes shorter than 40
        frames), or None.
      mask_f0_loss: Without a midi_encoder, weight the f0 loss 0 on frames
        where f0 is 2 semitones or more from the MIDI pitch.
      **kwargs: Keras model arguments (name).

    Raises:
      ValueError: If synthcoder or preprocessor is missing, or a loss
        argument is not a loss.
    """
    super().__init__(**kwargs)
    if synthcoder is None or preprocessor is None:
      raise ValueError(
          f'{type(self).__name__} needs a synthcoder (e.g. '
          'decoders.DilatedConvDecoder) and a preprocessor (e.g. '
          f'preprocessing.F0LoudnessPreprocessor); got synthcoder='
          f'{synthcoder!r}, preprocessor={preprocessor!r}.')
    for name, value in (('reconstruction_losses', reconstruction_losses),
                        ('qpitch_f0rec_loss', qpitch_f0rec_loss),
                        ('pitch_f0rec_loss', pitch_f0rec_loss),
                        ('pitch_qpitch_loss', pitch_qpitch_loss),
                        ('midi_slowness_loss', midi_slowness_loss)):
      helpers.check_losses(name, value)

    # Networks.
    self.synthcoder = synthcoder
    self.midi_encoder = midi_encoder
    self.midi_decoder = midi_decoder
    # Losses.
    self.reconstruction_losses = reconstruction_losses
    self.mask_f0_loss = bool(mask_f0_loss)
    self.qpitch_f0rec_loss = qpitch_f0rec_loss
    self.pitch_f0rec_loss = pitch_f0rec_loss
    self.pitch_qpitch_loss = pitch_qpitch_loss
    self.slowness_loss = midi_slowness_loss
    # Training options.
    self.sg_before_midiae = bool(sg_before_midiae)
    self.reverb = bool(reverb)
    # Pre- and post-processing.
    self.preprocessor = preprocessor
    self._synth_preprocessor = _loudness_keeping_copy(preprocessor)
    self.db_key = ('power_db' if isinstance(
        preprocessor, preprocessing.F0PowerPreprocessor) else 'loudness_db')
    self.processor_group = _make_processor_group(self.reverb)

  # --------------------------------------------------------------------------
  # Building blocks (magenta/ddsp's methods).
  # --------------------------------------------------------------------------
  def encode_to_midi(self, *args) -> Tuple[tf.Tensor, ...]:
    """Encodes controls to MIDI with the midi_encoder.

    Args:
      *args: The encoder's inputs, e.g. (f0_midi, amps, hd, noise), each
        [batch, n_frames, channels].

    Returns:
      (z_pitch, q_pitch, z_vel, q_vel), each [batch, n_frames, 1]: the
      continuous pitch, its straight-through rounding, and velocities set
      to zero (unused, as in the original).
    """
    if self.sg_before_midiae:
      args = [tf.stop_gradient(arg) for arg in args]
    encoded = self.midi_encoder(*args)
    z_pitch = encoded['z_pitch']
    q_pitch = nn.straight_through_int_quantization(z_pitch)
    z_vel = encoded['z_vel'] * 0.0
    q_vel = z_vel
    return z_pitch, q_pitch, z_vel, q_vel

  def synthesize_audio(self, f0_hz: tf.Tensor, db: tf.Tensor,
                       z: Optional[tf.Tensor] = None, training: bool = False,
                       return_params: bool = False) -> Any:
    """Runs the synthcoder and the processor group on f0 and loudness.

    Args:
      f0_hz: [batch, n_frames, 1] Hz.
      db: Loudness (or power) in dB, [batch, n_frames, 1]; stored under
        db_key and used as is (never recomputed from audio).
      z: Optional latent [batch, n_frames, n_z] for the synthcoder.
      training: Keras training flag.
      return_params: Also return the processor group's controls dict.

    Returns:
      audio [batch, n_samples], or (audio, synth_params).
    """
    features = {'f0_hz': f0_hz, self.db_key: db}
    if z is not None:
      features['z'] = z
    features.update(self._synth_preprocessor(features))
    features.update(self.synthcoder(features, training=training))
    synth_params = self.processor_group.get_controls(features)
    audio = self.processor_group.get_signal(synth_params)
    if return_params:
      return audio, synth_params
    return audio

  @staticmethod
  def extract_harm_controls(synth_params: Dict[Text, Any],
                            log_scale: bool = True,
                            stop_gradient: bool = False
                            ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The harmonic and noise controls of a processor group's outputs.

    Args:
      synth_params: ProcessorGroup.get_controls outputs (with 'harmonic'
        and 'filtered_noise' nodes).
      log_scale: Convert the amplitudes and noise magnitudes to dB
        (core.amplitude_to_db).
      stop_gradient: Stop gradients through all three.

    Returns:
      (amps [batch, n_frames, 1], hd [batch, n_frames, n_harmonics],
      noise [batch, n_frames, n_bands]).
    """
    amps = synth_params['harmonic']['controls']['amplitudes']
    hd = synth_params['harmonic']['controls']['harmonic_distribution']
    noise = synth_params['filtered_noise']['controls']['magnitudes']
    if log_scale:
      amps = core.amplitude_to_db(amps, use_tf=True)
      noise = core.amplitude_to_db(noise, use_tf=True)
    if stop_gradient:
      amps, hd, noise = [tf.stop_gradient(x) for x in (amps, hd, noise)]
    return amps, hd, noise

  @staticmethod
  def pianoroll_to_midi(pianoroll: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """A monophonic piano roll as per-frame pitch and velocity.

    Args:
      pianoroll: [batch, n_frames, n_pitches] velocities.

    Returns:
      (notes, velocities), [batch, n_frames, 1] each: the loudest pitch of
      each frame (0 in silent frames) and its velocity.
    """
    pianoroll = core.tf_float32(pianoroll)
    notes = tf.cast(tf.argmax(pianoroll, axis=-1), tf.float32)[..., None]
    velocities = tf.reduce_max(pianoroll, axis=-1)[..., None]
    return notes, velocities

  @staticmethod
  def midi_to_pianoroll(q_pitch: tf.Tensor, q_vel: tf.Tensor,
                        piano_keys: int = 128,
                        thresh: float = 20.0) -> tf.Tensor:
    """Per-frame MIDI pitch as a one-hot piano roll (velocity ignored).

    Args:
      q_pitch: [batch, n_frames, 1] integer-valued MIDI pitch.
      q_vel: Velocities; not used (as in the original).
      piano_keys: Pitches of the roll.
      thresh: Pitches at or below this become 0 (when positive).

    Returns:
      [batch, n_frames, piano_keys] one-hot rows (pitch 0 where silent).
    """
    del q_vel  # Unused, as in magenta/ddsp.
    midi = core.tf_float32(q_pitch)
    if midi.shape.rank is not None and midi.shape.rank > 2:
      midi = tf.squeeze(midi, axis=-1)
    if thresh > 0.0:
      midi = midi * tf.cast(midi > thresh, midi.dtype)
    return tf.one_hot(tf.cast(midi, tf.int32), piano_keys)

  def add_closeness_loss(self, loss_obj: Any, f0: tf.Tensor, pitch: tf.Tensor,
                         tag: Text = '') -> TensorDict:
    """The loss of loss_obj on |pitch - f0| ({} for no loss)."""
    del tag  # Unused, as in magenta/ddsp.
    if loss_obj is None:
      return {}
    return helpers.losses_dict(loss_obj, tf.abs(pitch - f0))

  def add_slowness_loss(self, loss_obj: Any, z_pitch: tf.Tensor,
                        q_pitch: tf.Tensor, tag: Text = '') -> TensorDict:
    """The slowness loss on z_pitch inside notes shorter than 40 frames.

    Returns:
      {f'{loss_obj.name}{tag}': scalar}, or {} for no loss.
    """
    if loss_obj is None:
      return {}
    note_mask = nn.get_note_mask(q_pitch, note_on_only=False)
    note_lengths = nn.get_note_lengths(note_mask)
    note_pitches = nn.get_note_moments(q_pitch, note_mask, return_std=False)
    loss_mask = nn.get_short_note_loss_mask(
        note_mask, note_lengths[..., 0], note_pitches[..., 0],
        min_length=_SLOWNESS_MIN_LENGTH)
    return {f'{loss_obj.name}{tag}': loss_obj(z_pitch, loss_mask)}

  def add_zpitch_losses(self, z_pitch: Optional[tf.Tensor], q_pitch: tf.Tensor,
                        f0_midi_pred: tf.Tensor) -> TensorDict:
    """The pitch-encoder losses (slowness, z/q pitch, closeness), if z_pitch."""
    losses = {}
    if z_pitch is not None:
      losses.update(self.add_slowness_loss(self.slowness_loss, z_pitch,
                                           q_pitch))
      losses.update(helpers.losses_dict(self.pitch_qpitch_loss, z_pitch,
                                        q_pitch))
      losses.update(self.add_closeness_loss(self.pitch_f0rec_loss,
                                            f0_midi_pred, z_pitch))
    return losses

  def midi_to_audio(self, q_pitch: tf.Tensor, q_vel: tf.Tensor,
                    z: Optional[tf.Tensor] = None,
                    return_synth_params: bool = False) -> Any:
    """Decodes MIDI to audio with the midi_decoder and the processor group.

    Args:
      q_pitch: [batch, n_frames, 1] MIDI pitch.
      q_vel: [batch, n_frames, 1] velocity.
      z: Optional latent [batch, n_frames, n_z] for the decoder.
      return_synth_params: Also return the controls dict.

    Returns:
      audio [batch, n_samples], or (audio, midi_synth_params).
    """
    pg_in = self.midi_decoder(q_pitch, q_vel, z)
    midi_synth_params = self.processor_group.get_controls(pg_in)
    midi_audio = self.processor_group.get_signal(midi_synth_params)
    if return_synth_params:
      return midi_audio, midi_synth_params
    return midi_audio

  def get_audio_from_outputs(self, outputs: TensorDict) -> tf.Tensor:
    """outputs['midi_audio'] without a midi_decoder, else 'synth_audio'.

    As in the original: with a midi_decoder, the synthcoder's audio is the
    model's audio.
    """
    return (outputs['midi_audio'] if self.midi_decoder is None else
            outputs['synth_audio'])

  def preprocess(self, features: TensorDict) -> TensorDict:
    """Adds the preprocessor's outputs, 'f0_midi' and 'db' to features."""
    features.update(self.preprocessor(features))
    features['f0_midi'] = core.hz_to_midi(features['f0_hz'])
    features['db'] = features[self.db_key]
    return features

  def synthcoder_branch(self, features: TensorDict, training: bool = True,
                        z: Optional[tf.Tensor] = None
                        ) -> Tuple[tf.Tensor, Dict[Text, Any]]:
    """(synth_audio, synth_params) from the preprocessed f0_hz and db."""
    return self.synthesize_audio(features['f0_hz'], features['db'], z=z,
                                 training=training, return_params=True)

  def get_gt_midi(self, features: TensorDict
                  ) -> Tuple[tf.Tensor, tf.Tensor, Optional[tf.Tensor]]:
    """MIDI from the features' piano roll ('note_active_velocities').

    Returns:
      (q_pitch, q_vel (zeros), f0_loss_weights or None), [batch, n_frames,
      1] each.

    Raises:
      ValueError: If the piano roll's frames differ from f0_midi's.
    """
    pianoroll = features['note_active_velocities']
    f0_midi = features['f0_midi']
    n_roll, n_f0 = helpers.frame_count(pianoroll), helpers.frame_count(f0_midi)
    if n_roll is not None and n_f0 is not None and n_roll != n_f0:
      raise ValueError(
          f"note_active_velocities has {n_roll} frames but the preprocessed "
          f'f0 has {n_f0}; the preprocessor does not resample the piano '
          'roll, so set its time_steps to the frames of the data.')
    q_pitch, q_vel = self.pianoroll_to_midi(pianoroll)
    q_vel *= 0.0  # Velocities are not used (as in the original).
    f0_loss_weights = None
    if self.mask_f0_loss:
      f0_loss_weights = tf.cast(
          tf.abs(f0_midi - q_pitch) < _F0_MASK_SEMITONES, tf.float32)
    return q_pitch, q_vel, f0_loss_weights

  # --------------------------------------------------------------------------
  # Checks.
  # --------------------------------------------------------------------------
  def _required_features(self) -> Dict[Text, Text]:
    """{feature key: why it is needed} for the data this model reads."""
    internal = list(_MODEL_KEYS) + [f'{self.db_key}_pred']
    internal += self.processor_group.module_names
    internal += helpers.nested_names(self.processor_group.dag)
    required = helpers.required_features(
        self.preprocessor, self._latent_encoders(),
        self.reconstruction_losses,
        internal + helpers.layer_keys(self.synthcoder, 'output_keys') +
        helpers.layer_keys(self.midi_decoder, 'output_keys'))
    if self.midi_encoder is None:
      required['note_active_velocities'] = (
          'the ground-truth piano roll [batch, n_frames, 128], read because '
          'midi_encoder is None')
    return required

  def _latent_encoders(self) -> List[Any]:
    """Encoders reading the features besides the preprocessor (none here)."""
    return []

  def check_features(self, features: Dict[Text, Any]) -> None:
    """Raises a ValueError naming the features the model needs and lacks.

    Args:
      features: A batch of dataset features.

    Raises:
      TypeError: If features is not a dict.
      ValueError: If required keys are missing (the message names them and
        says why each is needed).
    """
    if not isinstance(features, dict):
      raise TypeError(f'{type(self).__name__} takes a dict of features, got '
                      f'{type(features).__name__}.')
    helpers.check_required_features(type(self).__name__, features,
                                     self._required_features())

  # --------------------------------------------------------------------------
  # Forward pass and losses.
  # --------------------------------------------------------------------------
  def _encode_midi(self, features: TensorDict, amps: tf.Tensor,
                   hd: tf.Tensor, noise: tf.Tensor) -> Tuple[Any, ...]:
    """(z_pitch, z_vel, q_pitch, q_vel, f0_loss_weights): encoder or data."""
    if self.midi_encoder is not None:
      f0_midi = features['f0_midi']
      z_pitch, q_pitch, z_vel, q_vel = self.encode_to_midi(f0_midi, amps, hd,
                                                           noise)
      return z_pitch, z_vel, q_pitch, q_vel, tf.ones_like(f0_midi)
    q_pitch, q_vel, f0_loss_weights = self.get_gt_midi(features)
    return None, None, q_pitch, q_vel, f0_loss_weights

  def _decode_midi(self, q_pitch: tf.Tensor, q_vel: tf.Tensor,
                   z: Optional[tf.Tensor]) -> Dict[Text, Any]:
    """The MIDI branch's outputs from the decoder (midi_decoder is set)."""
    pg_in = self.midi_decoder(q_pitch, q_vel, z)
    midi_synth_params = self.processor_group.get_controls(pg_in)
    amps_pred, hd_pred, noise_pred = self.extract_harm_controls(
        midi_synth_params)
    return {'midi_synth_params': midi_synth_params,
            'midi_audio': self.processor_group.get_signal(midi_synth_params),
            'f0_midi_pred': pg_in['f0_midi'], 'amps_pred': amps_pred,
            'hd_pred': hd_pred, 'noise_pred': noise_pred}

  def _finalize(self, features: TensorDict, synth_params: Dict[Text, Any],
                synth_audio: tf.Tensor, branch: Dict[Text, Any],
                midi: Dict[Text, Any], controls: Sequence[tf.Tensor]
                ) -> TensorDict:
    """The outputs dict, with the original's keys (None values dropped)."""
    amps, hd, noise = controls
    f0_midi_pred = branch.get('f0_midi_pred', midi['q_pitch'])
    outputs = {
        'synth_params': synth_params,
        'synth_audio': synth_audio,
        'midi_synth_params': branch.get('midi_synth_params', synth_params),
        'midi_audio': branch.get('midi_audio', synth_audio),
        **midi,
        'pianoroll': self.midi_to_pianoroll(midi['q_pitch'], midi['q_vel']),
        'f0_midi_pred': f0_midi_pred,
        'f0_hz_pred': core.midi_to_hz(f0_midi_pred),
        'amps': amps, 'hd': hd, 'noise': noise,
        'amps_pred': branch.get('amps_pred'),
        'hd_pred': branch.get('hd_pred'),
        'noise_pred': branch.get('noise_pred'),
        f'{self.db_key}_pred': features['db'],
    }
    outputs = {k: v for k, v in outputs.items() if v is not None}
    outputs.update({k: v for k, v in features.items() if k not in outputs})
    outputs.update(synth_params)
    return outputs

  def call(self, features: TensorDict, training: bool = True) -> TensorDict:
    """Runs both branches.

    Args:
      features: Dataset features: 'f0_hz' and 'loudness_db' (or
        'power_db'), 'audio', and without a midi_encoder
        'note_active_velocities' [batch, n_frames, 128].
      training: Keras training flag.

    Returns:
      The outputs dict: 'synth_audio', 'midi_audio' [batch, n_samples];
      'synth_params', 'midi_synth_params' (processor-group controls);
      'q_pitch', 'q_vel', 'z_pitch' (with an encoder), 'f0_midi_pred',
      'f0_hz_pred', 'amps', 'hd', 'noise', their '*_pred',
      'f0_loss_weights' [batch, n_frames, channels]; 'pianoroll' [batch,
      n_frames, 128]; '<db_key>_pred'; every feature; the synthcoder's
      processor-group outputs at the top level.

    Raises:
      ValueError: If required features are missing.
    """
    self.check_features(features)
    features = self.preprocess(dict(features))
    synth_audio, synth_params = self.synthcoder_branch(features, training)
    amps, hd, noise = self.extract_harm_controls(synth_params)
    z_pitch, _, q_pitch, q_vel, f0_loss_weights = self._encode_midi(
        features, amps, hd, noise)
    branch = ({} if self.midi_decoder is None else
              self._decode_midi(q_pitch, q_vel, None))
    midi = {'q_pitch': q_pitch, 'q_vel': q_vel, 'z_pitch': z_pitch,
            'f0_loss_weights': f0_loss_weights}
    return self._finalize(features, synth_params, synth_audio, branch, midi,
                          (amps, hd, noise))

  def _midi_losses(self, outputs: TensorDict) -> TensorDict:
    """Pitch encoder and decoder losses (with a midi_decoder)."""
    if self.midi_decoder is None:
      return {}
    losses = self.add_zpitch_losses(outputs.get('z_pitch'),
                                    outputs['q_pitch'],
                                    outputs['f0_midi_pred'])
    losses.update(self.add_closeness_loss(
        self.qpitch_f0rec_loss, outputs['f0_midi_pred'], outputs['q_pitch']))
    return losses

  def compute_losses_dict(self, outputs: TensorDict) -> TensorDict:
    """The MIDI losses and the reconstruction LossGroup on the outputs."""
    losses = self._midi_losses(outputs)
    losses.update(helpers.losses_dict(self.reconstruction_losses, outputs))
    return losses

  # --------------------------------------------------------------------------
  # Serialization.
  # --------------------------------------------------------------------------
  def _layer_args(self) -> Dict[Text, Any]:
    return {'synthcoder': self.synthcoder, 'midi_encoder': self.midi_encoder,
            'midi_decoder': self.midi_decoder,
            'preprocessor': self.preprocessor,
            'reconstruction_losses': self.reconstruction_losses,
            'qpitch_f0rec_loss': self.qpitch_f0rec_loss,
            'pitch_f0rec_loss': self.pitch_f0rec_loss,
            'pitch_qpitch_loss': self.pitch_qpitch_loss,
            'midi_slowness_loss': self.slowness_loss}

  def get_config(self) -> Dict[Text, Any]:
    config = {'name': self.name, 'sg_before_midiae': self.sg_before_midiae,
              'reverb': self.reverb, 'mask_f0_loss': self.mask_f0_loss}
    for key, value in self._layer_args().items():
      config[key] = helpers.serialize(value)
    return config

  @classmethod
  def from_config(cls, config: Dict[Text, Any]) -> 'MidiAutoencoder':
    return cls(**helpers.deserialize_layers(config))


@keras.saving.register_keras_serializable(package='ddsp_tf')
class ZMidiAutoencoder(MidiAutoencoder):
  """A MidiAutoencoder with latent encoders besides the MIDI pitch.

  z_synth_encoders condition the synthcoder ('z'); z_global_encoders (whole
  clip) and z_note_encoder (pooled over each note of q_pitch) condition the
  midi_decoder, through an optional z_preconditioning_stack. Their inputs
  may include the synthcoder's controls as 'amps_scaled', 'hd_scaled' and
  'noise_scaled'.
  """

  def __init__(self, synthcoder: Optional[keras.layers.Layer] = None,
               midi_encoder: Optional[keras.layers.Layer] = None,
               midi_decoder: Optional[keras.layers.Layer] = None,
               sg_before_midiae: bool = True, reverb: bool = True,
               preprocessor: Optional[keras.layers.Layer] = None,
               reconstruction_losses: Optional[Any] = None,
               qpitch_f0rec_loss: Optional[Any] = None,
               pitch_f0rec_loss: Optional[Any] = None,
               pitch_qpitch_loss: Optional[Any] = None,
               midi_slowness_loss: Optional[Any] = None,
               mask_f0_loss: bool = True,
               z_synth_encoders: Optional[Sequence[Any]] = None,
               z_global_encoders: Optional[Sequence[Any]] = None,
               z_note_encoder: Optional[keras.layers.Layer] = None,
               z_preconditioning_stack: Optional[keras.layers.Layer] = None,
               z_global_prior: Optional[Any] = None,
               z_note_prior: Optional[Any] = None, **kwargs):
    """Sets the networks, latent encoders and losses.

    Args:
      synthcoder, midi_encoder, midi_decoder, sg_before_midiae, reverb,
      preprocessor, reconstruction_losses, qpitch_f0rec_loss,
      pitch_f0rec_loss, pitch_qpitch_loss, midi_slowness_loss, mask_f0_loss:
        As in MidiAutoencoder (the midi_decoder takes (q_pitch, q_vel, z)).
      z_synth_encoders: Encoders returning {'z': [batch, n_frames, n]},
        concatenated as the synthcoder's 'z', or None.
      z_global_encoders: Encoders returning {'z'} for the midi_decoder,
        concatenated, or None.
      z_note_encoder: Encoder returning {'z'} that is averaged over each
        note, or None.
      z_preconditioning_stack: Layer applied to the concatenated decoder
        latents, e.g. nn.FcStackOut, or None.
      z_global_prior: Prior on the global latents: its get_losses_dict(z)
        is a loss and calling it samples z; or None.
      z_note_prior: The same for the note latents, or None.
      **kwargs: Keras model arguments (name).
    """
    super().__init__(
        synthcoder=synthcoder, midi_encoder=midi_encoder,
        midi_decoder=midi_decoder, sg_before_midiae=sg_before_midiae,
        reverb=reverb, preprocessor=preprocessor,
        reconstruction_losses=reconstruction_losses,
        qpitch_f0rec_loss=qpitch_f0rec_loss,
        pitch_f0rec_loss=pitch_f0rec_loss,
        pitch_qpitch_loss=pitch_qpitch_loss,
        midi_slowness_loss=midi_slowness_loss, mask_f0_loss=mask_f0_loss,
        **kwargs)
    for name, value in (('z_global_prior', z_global_prior),
                        ('z_note_prior', z_note_prior)):
      helpers.check_losses(name, value)
    self.z_synth_encoders = (None if z_synth_encoders is None else
                             list(z_synth_encoders))
    self.z_global_encoders = (None if z_global_encoders is None else
                              list(z_global_encoders))
    self.z_note_encoder = z_note_encoder
    self.z_preconditioning_stack = z_preconditioning_stack
    self.z_global_prior = z_global_prior
    self.z_note_prior = z_note_prior

  def z_synth_encode(self, features: TensorDict) -> Optional[tf.Tensor]:
    """The concatenated 'z' of the z_synth_encoders, or None."""
    if self.z_synth_encoders is None:
      return None
    return tf.concat([encoder(features)['z']
                      for encoder in self.z_synth_encoders], axis=-1)

  def z_global_encode(self, features: TensorDict) -> Optional[tf.Tensor]:
    """The concatenated 'z' of the z_global_encoders, or None."""
    if self.z_global_encoders is None:
      return None
    return tf.concat([encoder(features)['z']
                      for encoder in self.z_global_encoders], axis=-1)

  def z_note_encode(self, features: TensorDict,
                    q_pitch: tf.Tensor) -> Optional[tf.Tensor]:
    """The z_note_encoder's 'z' averaged over each note of q_pitch, or None.

    Returns:
      [batch, n_frames, n_z]: each frame holds its note's mean latent (0
      outside notes).
    """
    if self.z_note_encoder is None:
      return None
    z_notes = self.z_note_encoder(features)['z']
    note_mask = nn.get_note_mask(q_pitch)
    return nn.pool_over_notes(z_notes, note_mask, return_std=False)

  def _latent_encoders(self) -> List[Any]:
    encoders = list(self.z_synth_encoders or [])
    if self.midi_decoder is not None:
      encoders += list(self.z_global_encoders or [])
      if self.z_note_encoder is not None:
        encoders.append(self.z_note_encoder)
    return encoders

  def _decoder_latents(self, features: TensorDict,
                       q_pitch: tf.Tensor) -> Dict[Text, Any]:
    """z_global, z_notes (sampled with priors) and the decoder's z."""
    z_global = self.z_global_encode(features)
    z_notes = self.z_note_encode(features, q_pitch)
    latents = {}
    if self.z_global_prior is not None:
      latents['z_global_params'] = z_global
      z_global = self.z_global_prior(z_global)
    if self.z_note_prior is not None:
      latents['z_notes_params'] = z_notes
      z_notes = self.z_note_prior(z_notes)
    parts = [z for z in (z_global, z_notes) if z is not None]
    z = tf.concat(parts, axis=-1) if parts else None
    if self.z_preconditioning_stack is not None and z is not None:
      z = self.z_preconditioning_stack(z)
    latents.update(z_global=z_global, z_notes=z_notes, z_decoder=z)
    return latents

  def call(self, features: TensorDict, training: bool = True) -> TensorDict:
    """Runs both branches with the latents.

    Args:
      features: As MidiAutoencoder.call, plus the latent encoders' inputs
        (e.g. 'instrument_id' for an encoders.OneHotEncoder).
      training: Keras training flag.

    Returns:
      MidiAutoencoder's outputs, plus 'z' (synth latents), 'z_vel' (with
      an encoder), 'z_global' [batch, n_frames, n] and 'z_notes' [batch,
      n_frames, n] when those encoders are set, and 'amps_scaled',
      'hd_scaled', 'noise_scaled' (the synthcoder's controls).

    Raises:
      ValueError: If required features are missing.
    """
    self.check_features(features)
    features = self.preprocess(dict(features))
    z_synth = self.z_synth_encode(features)
    if z_synth is not None:
      features['z'] = z_synth
    synth_audio, synth_params = self.synthcoder_branch(features, training,
                                                       z_synth)
    amps, hd, noise = self.extract_harm_controls(synth_params)
    features.update(amps_scaled=amps, hd_scaled=hd, noise_scaled=noise)
    z_pitch, z_vel, q_pitch, q_vel, f0_loss_weights = self._encode_midi(
        features, amps, hd, noise)
    branch, latents = {}, {}
    if self.midi_decoder is not None:
      latents = self._decoder_latents(features, q_pitch)
      branch = self._decode_midi(q_pitch, q_vel, latents.pop('z_decoder'))
    midi = {'q_pitch': q_pitch, 'q_vel': q_vel, 'z_pitch': z_pitch,
            'z_vel': z_vel, **latents, 'f0_loss_weights': f0_loss_weights}
    return self._finalize(features, synth_params, synth_audio, branch, midi,
                          (amps, hd, noise))

  def compute_losses_dict(self, outputs: TensorDict) -> TensorDict:
    """Prior, MIDI and reconstruction losses on the outputs."""
    losses = {}
    if self.midi_decoder is not None:
      if self.z_global_prior is not None:
        losses.update(helpers.losses_dict(self.z_global_prior,
                                          outputs['z_global_params']))
      if self.z_note_prior is not None:
        losses.update(helpers.losses_dict(self.z_note_prior,
                                          outputs['z_notes_params']))
    losses.update(self._midi_losses(outputs))
    losses.update(helpers.losses_dict(self.reconstruction_losses, outputs))
    return losses

  def _layer_args(self) -> Dict[Text, Any]:
    args = super()._layer_args()
    for key in _Z_LAYER_ARGS:
      args[key] = getattr(self, key)
    return args


# Configurable like magenta/ddsp's: the classes pick up gin bindings.
MidiAutoencoder = layer_base.gin_configurable(
    MidiAutoencoder, module='ddsp_tf.training.models')
ZMidiAutoencoder = layer_base.gin_configurable(
    ZMidiAutoencoder, module='ddsp_tf.training.models')
