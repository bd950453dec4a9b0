"""Preprocessors: dataset features -> network inputs.

A preprocessor makes the frame-wise features 3-D, resamples them to the
model's number of frames and scales them to about [0, 1]: f0 as MIDI / 127
('f0_scaled') and loudness or power in dB as dB / 80 + 1 ('ld_scaled',
'pw_scaled').
"""

from typing import Any, Dict, Optional, Text, Tuple

import gin
import keras
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import spectral_ops
from ddsp_tf import validation
from ddsp_tf.training import nn

F0_RANGE = 127.0  # MIDI notes.
DB_RANGE = core.DB_RANGE  # dB (80.0).


# ----------------------------------------------------------------------------
# Scaling.
# ----------------------------------------------------------------------------
def at_least_3d(x: tf.Tensor) -> tf.Tensor:
  """Adds batch and channel axes: [] -> [1, 1, 1], [T] -> [1, T, 1],
  [B, T] -> [B, T, 1]; 3-D tensors are returned as they are.

  Raises:
    ValueError: For a tensor of rank above 3.
  """
  x = core.tf_float32(x)
  validation.check_rank('x', x, (0, 1, 2, 3), 'a frame-wise feature')
  if x.shape.rank == 0:
    return tf.reshape(x, [1, 1, 1])
  if x.shape.rank == 1:
    return x[tf.newaxis, :, tf.newaxis]
  if x.shape.rank == 2:
    return x[:, :, tf.newaxis]
  return x


def scale_db(db: tf.Tensor) -> tf.Tensor:
  """Maps [-DB_RANGE, 0] dB linearly onto [0, 1] (not clipped)."""
  return core.tf_float32(db) / DB_RANGE + 1.0


def inv_scale_db(db_scaled: tf.Tensor) -> tf.Tensor:
  """Inverse of scale_db."""
  return (core.tf_float32(db_scaled) - 1.0) * DB_RANGE


def scale_f0_hz(f0_hz: tf.Tensor) -> tf.Tensor:
  """f0 in Hz -> MIDI / F0_RANGE (0 Hz -> 0)."""
  return core.hz_to_midi(f0_hz) / F0_RANGE


def inv_scale_f0_hz(f0_scaled: tf.Tensor) -> tf.Tensor:
  """Inverse of scale_f0_hz."""
  return core.midi_to_hz(core.tf_float32(f0_scaled) * F0_RANGE)


# ----------------------------------------------------------------------------
# Preprocessors.
# ----------------------------------------------------------------------------
class _FramePreprocessor(nn.DictLayer):
  """Shared parts: rates, resampling to time_steps, frame-count checks."""

  def __init__(self, time_steps: Optional[int] = 1000, frame_rate: int = 250,
               sample_rate: int = 16000, **kwargs):
    """Sets the rates.

    Args:
      time_steps: Frames of every output feature; None keeps the input
        features' frames, so that any length passes through (what an
        exported, length-polymorphic model does).
      frame_rate: Frames per second of the input features (and of features
        computed from audio); must divide sample_rate.
      sample_rate: Audio samples per second.
      **kwargs: DictLayer arguments (input_keys, output_keys, name).
    """
    super().__init__(**kwargs)
    self.time_steps = (None if time_steps is None else
                       validation.check_int('time_steps', time_steps))
    self.frame_rate = validation.check_int('frame_rate', frame_rate)
    self.sample_rate = validation.check_int('sample_rate', sample_rate)
    if self.sample_rate % self.frame_rate:
      raise ValueError(f'frame_rate must divide sample_rate, got '
                       f'frame_rate={frame_rate!r}, sample_rate='
                       f'{sample_rate!r}.')

  def resample(self, x: tf.Tensor) -> tf.Tensor:
    """A feature made 3-D and linearly resampled to [B, time_steps, C].

    With time_steps None the feature keeps its frames, [B, n_frames, C].
    """
    if self.time_steps is None:
      return at_least_3d(x)
    return core.resample(at_least_3d(x), self.time_steps)

  def _scaled_outputs(self, f0_hz: tf.Tensor, db: tf.Tensor
                      ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """(f0_hz, db, f0_scaled, db_scaled), resampled to time_steps."""
    f0_hz, db = self.resample(f0_hz), self.resample(db)
    return f0_hz, db, scale_f0_hz(f0_hz), scale_db(db)

  def _check_frames(self, name: Text, feature: tf.Tensor,
                    audio: Optional[tf.Tensor]) -> None:
    """Checks that a feature's frame count fits the audio and the rates.

    Features framed at frame_rate from n samples have n // hop frames
    ('same' padding) or n // hop + 1 ('center'), hop = sample_rate /
    frame_rate. Nothing is checked without audio or with unknown lengths.

    Raises:
      ValueError: If the frame count fits neither, which usually means the
        dataset's sample rate or frame rate differs from the model's.
    """
    if audio is None:
      return
    audio = core.tf_float32(audio)
    n_samples = validation.static_dim(audio, 1) if audio.shape.rank else None
    n_frames = validation.static_dim(at_least_3d(feature), 1)
    if n_samples is None or n_frames is None:
      return
    hop = self.sample_rate // self.frame_rate
    expected = (-(-n_samples // hop), n_samples // hop + 1)
    if n_frames not in expected:
      raise ValueError(
          f'{self.name}: {name} has {n_frames} frames, but {n_samples} audio '
          f'samples at sample_rate={self.sample_rate} and frame_rate='
          f'{self.frame_rate} give {expected[0]} or {expected[1]} frames. '
          'Check that the dataset was prepared at the sample and frame rates '
          'the model is configured with.')

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(time_steps=self.time_steps, frame_rate=self.frame_rate,
                  sample_rate=self.sample_rate)
    return config


def _check_audio(audio: tf.Tensor) -> tf.Tensor:
  audio = core.tf_float32(audio)
  validation.check_rank('audio', audio, (2,), '[batch, n_samples]')
  return audio


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class F0LoudnessPreprocessor(_FramePreprocessor):
  """Resamples and scales f0 and loudness, [B, time_steps, 1] each.

  With compute_loudness (the default, as in the original), loudness is
  recomputed from the audio with spectral_ops.compute_loudness at
  frame_rate (n_fft 512) and the dataset's loudness_db is ignored (it is
  still checked against the audio length). As in the original it is framed
  'center' (n_samples // hop + 1 frames) and linearly resampled to
  time_steps (with time_steps None, to f0's frame count), whatever the
  framing of the dataset's f0. match_f0_framing=True (a ddsp_tf option)
  frames it like the dataset's f0 instead ('same' for n_samples // hop
  frames, 'center' for one more), so the two are aligned frame by frame
  without resampling.
  """

  def __init__(self, time_steps: Optional[int] = 1000, frame_rate: int = 250,
               sample_rate: int = 16000, compute_loudness: bool = True,
               match_f0_framing: bool = False, **kwargs):
    """Sets the rates.

    Args:
      time_steps: Frames of every output feature; None keeps the input's.
      frame_rate: Frames per second of the input features.
      sample_rate: Audio samples per second.
      compute_loudness: Recompute loudness from the 'audio' feature.
      match_f0_framing: Frame the recomputed loudness like the dataset's f0
        instead of the original's 'center' framing plus resampling.
      **kwargs: DictLayer arguments.
    """
    super().__init__(time_steps=time_steps, frame_rate=frame_rate,
                     sample_rate=sample_rate, **kwargs)
    self.compute_loudness = compute_loudness
    if not isinstance(match_f0_framing, bool):
      raise ValueError('match_f0_framing must be True or False, got '
                       f'match_f0_framing={match_f0_framing!r}.')
    self.match_f0_framing = match_f0_framing

  def call(self, loudness_db: tf.Tensor, f0_hz: tf.Tensor,
           audio: Optional[tf.Tensor] = None
           ) -> ['f0_hz', 'loudness_db', 'f0_scaled', 'ld_scaled']:
    """Makes the network inputs.

    Args:
      loudness_db: [B, n_frames] or [B, n_frames, 1] dB.
      f0_hz: [B, n_frames] or [B, n_frames, 1] Hz.
      audio: [B, n_samples]; required when compute_loudness.

    Returns:
      f0_hz, loudness_db, f0_scaled and ld_scaled, [B, time_steps, 1] each
      ([B, n_frames, 1] with time_steps None).

    Raises:
      ValueError: If audio is missing while compute_loudness is set, or a
        feature's frame count does not fit the audio length and the rates.
    """
    if audio is not None:
      audio = _check_audio(audio)
    self._check_frames('f0_hz', f0_hz, audio)
    self._check_frames('loudness_db', loudness_db, audio)
    if self.compute_loudness:
      if audio is None:
        raise ValueError(f'{self.name} has compute_loudness=True and needs an '
                         "'audio' input; pass audio or set "
                         'compute_loudness=False.')
      padding = (self._framing_of(f0_hz, audio) if self.match_f0_framing
                 else 'center')
      loudness_db = spectral_ops.compute_loudness(
          audio, sample_rate=self.sample_rate, frame_rate=self.frame_rate,
          padding=padding)
      if self.time_steps is None and not self.match_f0_framing:
        loudness_db = core.resample(at_least_3d(loudness_db),
                                    tf.shape(at_least_3d(f0_hz))[1])
    return self._scaled_outputs(f0_hz, loudness_db)

  def _framing_of(self, f0_hz: tf.Tensor, audio: tf.Tensor) -> Text:
    """'center' if f0 has n_samples // hop + 1 frames, else 'same'."""
    n_samples = validation.static_dim(audio, 1)
    n_frames = validation.static_dim(at_least_3d(f0_hz), 1)
    hop = self.sample_rate // self.frame_rate
    if n_samples is not None and n_frames == n_samples // hop + 1:
      return 'center'
    return 'same'

  @staticmethod
  def invert_scaling(f0_scaled: tf.Tensor,
                     ld_scaled: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """(f0_hz, loudness_db) from the scaled features."""
    return inv_scale_f0_hz(f0_scaled), inv_scale_db(ld_scaled)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['compute_loudness'] = self.compute_loudness
    config['match_f0_framing'] = self.match_f0_framing
    return config


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class F0PowerPreprocessor(_FramePreprocessor):
  """Resamples and scales f0 and frame power, [B, time_steps, 1] each.

  Power is taken from the power_db input when given, else computed from the
  audio with spectral_ops.compute_power (frame_size samples per frame,
  'center' framing).
  """

  def __init__(self, time_steps: Optional[int] = 1000, frame_rate: int = 250,
               sample_rate: int = 16000, frame_size: int = 64, **kwargs):
    """Sets the rates.

    Args:
      time_steps: Frames of every output feature; None keeps the input's.
      frame_rate: Frames per second of the input features.
      sample_rate: Audio samples per second.
      frame_size: Samples per power frame.
      **kwargs: DictLayer arguments.
    """
    super().__init__(time_steps=time_steps, frame_rate=frame_rate,
                     sample_rate=sample_rate, **kwargs)
    self.frame_size = validation.check_int('frame_size', frame_size)

  def call(self, f0_hz: tf.Tensor, power_db: Optional[tf.Tensor] = None,
           audio: Optional[tf.Tensor] = None
           ) -> ['f0_hz', 'pw_db', 'f0_scaled', 'pw_scaled']:
    """Makes the network inputs.

    Args:
      f0_hz: [B, n_frames] or [B, n_frames, 1] Hz.
      power_db: [B, n_frames] or [B, n_frames, 1] dB, or None.
      audio: [B, n_samples], used when power_db is None.

    Returns:
      f0_hz, pw_db, f0_scaled and pw_scaled, [B, time_steps, 1] each.

    Raises:
      ValueError: If neither power_db nor audio is given, or a feature's
        frame count does not fit the audio length and the rates.
    """
    if power_db is None and audio is None:
      raise ValueError(f'{self.name} needs power_db or audio; got neither.')
    if audio is not None:
      audio = _check_audio(audio)
    self._check_frames('f0_hz', f0_hz, audio)
    if power_db is None:
      power_db = spectral_ops.compute_power(
          audio, sample_rate=self.sample_rate, frame_rate=self.frame_rate,
          frame_size=self.frame_size)
    else:
      self._check_frames('power_db', power_db, audio)
    return self._scaled_outputs(f0_hz, power_db)

  @staticmethod
  def invert_scaling(f0_scaled: tf.Tensor,
                     pw_scaled: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """(f0_hz, power_db) from the scaled features."""
    return inv_scale_f0_hz(f0_scaled), inv_scale_db(pw_scaled)

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config['frame_size'] = self.frame_size
    return config


_PADDINGS = ('center', 'same', 'valid')


@keras.saving.register_keras_serializable(package='ddsp_tf')
@gin.register
class OnlineF0PowerPreprocessor(nn.DictLayer):
  """f0 and frame power computed from 16 kHz audio, frame by frame.

  The preprocessor of the DDSP-VST models (models/vst/*.gin): features are
  framed from the audio itself (no resampling to a fixed number of frames),
  so the network sees exactly what the plugin computes block by block.
  Power is spectral_ops.compute_power of frame_size-sample frames every
  16000 / frame_rate samples; f0 comes from an embedded CREPE when
  compute_f0, else from the f0_hz and f0_confidence inputs (the dataset's,
  which must be framed with the same padding). Features are computed at
  16 kHz, CREPE's rate: pass audio_16k when the model's audio is at another
  rate.

  Input shape:
    audio [batch, n_samples] at 16 kHz (or audio_16k), optional f0_hz and
    f0_confidence [batch, n_frames(, 1)], optional pw_db.

  Output shape:
    f0_hz, pw_db, f0_scaled, pw_scaled, f0_confidence: [batch, n_frames, 1],
    n_frames = spectral_ops.get_framed_lengths(n_samples, frame_size,
    16000 // frame_rate, padding)[0].
  """

  def __init__(self, frame_rate: int = 250, frame_size: int = 1024,
               padding: Text = 'center', compute_power: bool = True,
               compute_f0: bool = True,
               crepe_saved_model_path: Optional[Text] = 'full',
               viterbi: bool = False, **kwargs):
    """Sets the framing and what is computed.

    Args:
      frame_rate: Frames per second; must divide 16000.
      frame_size: Samples per power frame (CREPE always reads 1024-sample
        frames, at the same hop).
      padding: 'center', 'same' or 'valid' framing of both features.
      compute_power: Compute pw_db from the audio (else take the pw_db
        input).
      compute_f0: Compute f0 with CREPE (else take the f0_hz and
        f0_confidence inputs).
      crepe_saved_model_path: A CREPE capacity ('tiny' ... 'full') or the
        path of a CREPE weight file; None builds no CREPE (then compute_f0
        must be False).
      viterbi: Viterbi decoding of CREPE's activations (numpy: eager only).
      **kwargs: DictLayer arguments.

    Raises:
      ValueError: For a frame_rate that does not divide 16000, a bad
        padding or size, or compute_f0 without a CREPE model.
    """
    super().__init__(**kwargs)
    self.sample_rate = spectral_ops.CREPE_SAMPLE_RATE
    self.frame_rate = validation.check_int('frame_rate', frame_rate)
    if self.sample_rate % self.frame_rate:
      raise ValueError(
          'OnlineF0PowerPreprocessor computes features at 16 kHz, so '
          f'frame_rate must divide 16000; got frame_rate={frame_rate!r}.')
    self.frame_size = validation.check_int('frame_size', frame_size)
    self.hop_size = self.sample_rate // self.frame_rate
    validation.check_choice('padding', padding, _PADDINGS)
    self.padding = padding
    self.compute_power = bool(compute_power)
    self.compute_f0 = bool(compute_f0)
    self.crepe_saved_model_path = crepe_saved_model_path
    self.viterbi = bool(viterbi)
    if self.compute_f0 and not crepe_saved_model_path:
      raise ValueError(
          'OnlineF0PowerPreprocessor has compute_f0=True but no CREPE model '
          f'(crepe_saved_model_path={crepe_saved_model_path!r}); name a '
          "capacity such as 'full' or set compute_f0=False.")
    self.crepe_model = None
    if crepe_saved_model_path:
      self.crepe_model = spectral_ops.PretrainedCREPE(
          model_size_or_path=crepe_saved_model_path, hop_size=self.hop_size)

  def call(self, audio: tf.Tensor, f0_hz: Optional[tf.Tensor] = None,
           f0_confidence: Optional[tf.Tensor] = None,
           audio_16k: Optional[tf.Tensor] = None,
           pw_db: Optional[tf.Tensor] = None
           ) -> ['f0_hz', 'pw_db', 'f0_scaled', 'pw_scaled', 'f0_confidence']:
    """Computes (or takes) the features and scales them.

    Args:
      audio: [batch, n_samples] at 16 kHz (ignored when audio_16k is given).
      f0_hz: [batch, n_frames(, 1)] Hz, needed unless compute_f0.
      f0_confidence: [batch, n_frames(, 1)], needed unless compute_f0.
      audio_16k: [batch, n_samples_16k], the audio resampled to 16 kHz.
      pw_db: [batch, n_frames(, 1)] dB, needed unless compute_power.

    Returns:
      f0_hz, pw_db, f0_scaled, pw_scaled and f0_confidence, each
      [batch, n_frames, 1].

    Raises:
      ValueError: If a feature that is not computed is missing, or a
        feature's frame count differs from the audio's framing.
    """
    if audio_16k is not None:
      audio = audio_16k
    audio = _check_audio(audio)
    if self.compute_power:
      pw_db = spectral_ops.compute_power(
          audio, sample_rate=self.sample_rate, frame_rate=self.frame_rate,
          frame_size=self.frame_size, padding=self.padding)
    elif pw_db is None:
      raise ValueError(f'{self.name} has compute_power=False and needs a '
                       "'pw_db' input; pass pw_db or set compute_power=True.")
    if self.compute_f0:
      f0_hz, f0_confidence = self.crepe_model.predict_f0_and_confidence(
          audio, viterbi=self.viterbi, padding=self.padding)
      f0_hz = tf.stop_gradient(f0_hz)
      f0_confidence = tf.stop_gradient(f0_confidence)
    elif f0_hz is None or f0_confidence is None:
      raise ValueError(
          f'{self.name} has compute_f0=False and needs f0_hz and '
          'f0_confidence inputs (the dataset\'s); pass them or set '
          'compute_f0=True.')
    features = {'f0_hz': at_least_3d(f0_hz), 'pw_db': at_least_3d(pw_db),
                'f0_confidence': at_least_3d(f0_confidence)}
    n_samples = validation.static_dim(audio, 1)
    if n_samples is not None:
      n_frames, _ = spectral_ops.get_framed_lengths(
          n_samples, self.frame_size, self.hop_size, self.padding)
      for key, feature in features.items():
        frames = validation.static_dim(feature, 1)
        if frames is not None and frames != n_frames:
          raise ValueError(
              f'{self.name}: {key} has {frames} frames, but '
              f'{n_samples} samples at 16 kHz framed {self.padding!r} at '
              f'frame_rate={self.frame_rate} give {n_frames}. Prepare the '
              'data at this frame rate with the same padding (--center for '
              "'center').")
    return (features['f0_hz'], features['pw_db'],
            scale_f0_hz(features['f0_hz']), scale_db(features['pw_db']),
            features['f0_confidence'])

  # (f0_hz, pw_db) from the scaled features.
  invert_scaling = F0PowerPreprocessor.invert_scaling

  def get_config(self) -> Dict[Text, Any]:
    config = super().get_config()
    config.update(frame_rate=self.frame_rate, frame_size=self.frame_size,
                  padding=self.padding, compute_power=self.compute_power,
                  compute_f0=self.compute_f0,
                  crepe_saved_model_path=self.crepe_saved_model_path,
                  viterbi=self.viterbi)
    return config
