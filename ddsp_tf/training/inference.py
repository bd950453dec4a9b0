"""Inference-only modules of trained models, for SavedModel and TFLite export.

`ExportModule` wraps a trained, restored model (an Autoencoder with an
F0LoudnessPreprocessor-like preprocessor and a ProcessorGroup) as a
length-polymorphic tf.Module with the export contract's two signatures:

- 'serving_default' maps f0_hz and loudness_db, [batch, n_frames] each, to
  audio, audio_dry (the signal entering the reverb) and the synthesizer
  controls, for any batch and any n_frames.
- 'audio_to_audio' takes audio at the model's rate, [batch, n_frames *
  hop_size], computes f0 with an embedded CREPE (peak decoding: Viterbi
  needs numpy and cannot live in a graph) and A-weighted loudness, framed
  like the dataset, and returns the same plus those features.

The frame-wise streaming model for TFLite (`StreamingModule`,
`convert_to_tflite`, `tflite_metadata`) lives in training/streaming.py and
the DDSP-VST modules (`VSTExtractFeatures`, `VSTStatelessPredictControls`,
...) and `parse_operative_config` in training/vst_inference.py; both are
re-exported here, at magenta/ddsp's path for its inference wrappers.
`ddsp_tf.apps.export` writes them into an export directory.
"""

from typing import Any, Dict, Sequence, Text

import logging

import gin
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import crepe
from ddsp_tf import effects
from ddsp_tf import formats
from ddsp_tf import spectral_ops
from ddsp_tf import synths
from ddsp_tf.training import models
from ddsp_tf.training import streaming
from ddsp_tf.training import train_util
# Re-exported: magenta/ddsp keeps these in ddsp.training.inference.
from ddsp_tf.training.streaming import convert_to_tflite
from ddsp_tf.training.streaming import StreamingModule
from ddsp_tf.training.streaming import tflite_metadata
from ddsp_tf.training.vst_inference import parse_operative_config
from ddsp_tf.training.vst_inference import VSTBaseModule
from ddsp_tf.training.vst_inference import VSTExtractFeatures
from ddsp_tf.training.vst_inference import VSTPredictControls
from ddsp_tf.training.vst_inference import VSTStatelessPredictControls
from ddsp_tf.training.vst_inference import VSTSynthesize
from ddsp_tf.training.vst_inference import VSTSynthesizeHarmonic
from ddsp_tf.training.vst_inference import VSTSynthesizeNoise

__all__ = [
    'AutoencoderInference', 'ExportModule', 'StreamingModule',
    'VSTBaseModule', 'VSTExtractFeatures', 'VSTPredictControls',
    'VSTStatelessPredictControls', 'VSTSynthesize', 'VSTSynthesizeHarmonic',
    'VSTSynthesizeNoise', 'convert_to_tflite', 'parse_operative_config',
    'tflite_metadata',
]

TensorDict = Dict[Text, tf.Tensor]
_FEATURE_SPEC = tf.TensorSpec([None, None], tf.float32)

# ----------------------------------------------------------------------------
# The module that is saved.
# ----------------------------------------------------------------------------
def _fft_resample(audio: tf.Tensor, n_out: tf.Tensor) -> tf.Tensor:
  """Band-limited resampling of [batch, n_in] audio to n_out samples by FFT.

  The spectrum is cut (or zero-padded) to n_out // 2 + 1 bins and scaled by
  n_out / n_in, so a sine below both Nyquists keeps its amplitude.
  """
  n_in = tf.shape(audio)[1]
  spectrum = tf.signal.rfft(audio, [n_in])
  n_bins = n_out // 2 + 1
  spectrum = spectrum[:, :n_bins]
  spectrum = tf.pad(spectrum, [[0, 0], [0, n_bins - tf.shape(spectrum)[1]]])
  scale = tf.cast(n_out, tf.float32) / tf.cast(n_in, tf.float32)
  return tf.signal.irfft(spectrum, [n_out]) * scale


class ExportModule(tf.Module):
  """A trained DDSP model with the export contract's two signatures.

  Keeps explicit lists of the Keras model's and CREPE's variables: a
  tf.Module does not track the variables of Keras 3 models it holds.
  """

  def __init__(self, model: models.Model, crepe_model: Text = 'tiny',
               centered: bool = False):
    """Makes the model length-polymorphic and loads CREPE.

    Args:
      model: A built, restored Autoencoder-like model with an
        F0LoudnessPreprocessor-like preprocessor (time_steps, frame_rate,
        sample_rate), no encoder, and a ProcessorGroup. Its preprocessor and
        synths are switched to any-length mode (changed in place).
      crepe_model: CREPE capacity for 'audio_to_audio'.
      centered: Frame features like data prepared with --center.

    Raises:
      ValueError: For a model this export cannot serve from f0 and loudness
        alone, or rates that do not fit together.
    """
    super().__init__()
    if crepe_model not in crepe.CAPACITIES:
      raise ValueError(f'crepe_model must be one of {list(crepe.CAPACITIES)}, '
                       f'got crepe_model={crepe_model!r}.')
    preprocessor = getattr(model, 'preprocessor', None)
    group = getattr(model, 'processor_group', None)
    if preprocessor is None or group is None or not all(
        hasattr(preprocessor, key)
        for key in ('time_steps', 'frame_rate', 'sample_rate')):
      raise ValueError(
          'export needs a model with a frame preprocessor (e.g. '
          'F0LoudnessPreprocessor) and a processor_group, got '
          f'{type(model).__name__} with preprocessor={preprocessor!r}.')
    if getattr(model, 'encoder', None) is not None:
      raise ValueError(
          'export serves models that decode from f0 and loudness alone; this '
          f'model has an encoder ({type(model.encoder).__name__}) whose z '
          'needs the audio.')
    self.sample_rate = int(preprocessor.sample_rate)
    self.frame_rate = int(preprocessor.frame_rate)
    self.hop_size = self.sample_rate // self.frame_rate
    self.crepe_model = crepe_model
    self.padding = formats.feature_padding(centered)
    self._prepare_model(model, preprocessor, group)
    self.model = model
    self.model_variables = list(model.variables)
    self.crepe = spectral_ops.PretrainedCREPE(
        crepe_model, hop_size=spectral_ops.CREPE_SAMPLE_RATE // self.frame_rate)
    self.crepe_variables = list(self.crepe.variables)
    self.serve = tf.function(self._serve,
                             input_signature=[_FEATURE_SPEC, _FEATURE_SPEC])
    self.audio_to_audio = tf.function(
        self._audio_to_audio,
        input_signature=[tf.TensorSpec([None, None], tf.float32)])

  def _prepare_model(self, model, preprocessor, group) -> None:
    """Switches the preprocessor and synths to any length; finds the nodes."""
    if spectral_ops.CREPE_SAMPLE_RATE % self.frame_rate:
      raise ValueError(f'frame_rate {self.frame_rate} must divide '
                       f'{spectral_ops.CREPE_SAMPLE_RATE} (the CREPE rate).')
    training_frames = preprocessor.time_steps
    self.harmonic = streaming.first_node(group, synths.Harmonic)
    self.noise = streaming.first_node(group, synths.FilteredNoise)
    self.reverb = streaming.first_node(group, effects.Reverb)
    for node in (self.harmonic, self.noise):
      if node is None:
        continue
      synth = node[2]
      if training_frames is None or synth.n_samples % training_frames:
        raise ValueError(
            f'{synth.name}: n_samples={synth.n_samples} is not a multiple of '
            f'the preprocessor time_steps={training_frames}.')
      if synth.n_samples // training_frames != self.hop_size:
        raise ValueError(
            f'{synth.name}: n_samples / time_steps = '
            f'{synth.n_samples // training_frames} samples per frame, but '
            f'sample_rate / frame_rate = {self.hop_size}.')
      synth.set_samples_per_frame(self.hop_size)
    if (self.harmonic is not None and
        self.harmonic[2].sample_rate != self.sample_rate):
      raise ValueError(
          f'Harmonic sample_rate {self.harmonic[2].sample_rate} differs '
          f'from the preprocessor sample_rate {self.sample_rate}.')
    preprocessor.time_steps = None
    if hasattr(preprocessor, 'compute_loudness'):
      preprocessor.compute_loudness = False

  def _serve(self, f0_hz: tf.Tensor, loudness_db: tf.Tensor) -> TensorDict:
    """Features -> audio, audio_dry and controls (see the module doc)."""
    outputs = self.model({'f0_hz': f0_hz, 'loudness_db': loudness_db},
                         training=False)
    audio = outputs['audio_synth']
    result = {'audio': audio, 'audio_dry': audio}
    if self.reverb is not None:
      result['audio_dry'] = core.nested_lookup(self.reverb[1][0], outputs)
    if self.harmonic is not None:
      controls = outputs[self.harmonic[0]]['controls']
      result['amps'] = controls['amplitudes']
      result['harmonic_distribution'] = controls['harmonic_distribution']
    if self.noise is not None:
      result['noise_magnitudes'] = outputs[self.noise[0]]['controls'][
          'magnitudes']
    return result

  def _features(self, audio: tf.Tensor) -> TensorDict:
    """f0_hz, f0_confidence and loudness_db of audio, [batch, n_frames]."""
    n_frames = tf.shape(audio)[1] // self.hop_size
    audio_16k = audio
    if self.sample_rate != spectral_ops.CREPE_SAMPLE_RATE:
      audio_16k = _fft_resample(audio, n_frames * self.crepe.hop_size)
    f0_hz, confidence = self.crepe.predict_f0_and_confidence(
        audio_16k, viterbi=False, padding=self.padding)
    loudness_db = spectral_ops.compute_loudness(
        audio, sample_rate=self.sample_rate, frame_rate=self.frame_rate,
        padding=self.padding)
    features = {'f0_hz': f0_hz, 'f0_confidence': confidence,
                'loudness_db': loudness_db}
    if self.padding == 'center':
      # n_frames + 1 centred frames, resampled as the preprocessor does.
      features = {key: core.resample(value[..., tf.newaxis], n_frames)[..., 0]
                  for key, value in features.items()}
    return features

  def _audio_to_audio(self, audio: tf.Tensor) -> TensorDict:
    """Audio -> features -> everything serving_default returns."""
    check = tf.debugging.assert_equal(
        tf.math.floormod(tf.shape(audio)[1], self.hop_size), 0,
        message=f'audio_to_audio needs n_samples to be a multiple of hop_size '
        f'{self.hop_size}')
    with tf.control_dependencies([check]):
      audio = tf.identity(audio)
    features = self._features(audio)
    outputs = self._serve(features['f0_hz'], features['loudness_db'])
    outputs.update(features)
    return outputs

  def signatures(self) -> Dict[Text, Any]:
    """The concrete functions to save, by signature name."""
    return {'serving_default': self.serve.get_concrete_function(),
            'audio_to_audio': self.audio_to_audio.get_concrete_function()}


# ----------------------------------------------------------------------------
# magenta/ddsp's fixed-length inference model.
# ----------------------------------------------------------------------------
_NO_REVERB_DAG = """ProcessorGroup.dag = [
    (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
    (@synths.FilteredNoise(), ['noise_magnitudes']),
    (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
]"""


def _query_value(binding: Text) -> Any:
  """A gin binding's value, with a %macro resolved to the macro's value."""
  value = gin.query_parameter(binding)
  if (isinstance(value, gin.config.ConfigurableReference) and
      value.config_key[1] == 'gin.macro'):
    return gin.query_parameter('%' + value.config_key[0])
  return value


class AutoencoderInference(tf.Module):
  """A trained run's Autoencoder at a new fixed length, for inference.

  Parses the run's operative config, rebinds the synths' n_samples and the
  preprocessor's time_steps to length_seconds (a whole number of frames),
  optionally drops the reverb, builds the model and restores it (strictly).
  Call it with {'f0_hz': [n_frames], 'loudness_db' (or 'power_db'):
  [n_frames]} (batched or not) to get the model's outputs; save_model
  writes a SavedModel whose serving signature takes those two features.
  Unlike magenta/ddsp's it is a tf.Module holding the Keras model
  (`.model`), not an Autoencoder subclass.
  """

  def __init__(self, ckpt: Text, length_seconds: float = 4,
               remove_reverb: bool = True, verbose: bool = True,
               gin_params: Sequence[Text] = (), **kwargs):
    """Restores the run at the new length.

    Args:
      ckpt: The run directory or a checkpoint prefix in it.
      length_seconds: Seconds the model renders per call.
      remove_reverb: Render without the run's reverb.
      verbose: Log the lengths.
      gin_params: Extra gin bindings applied after the run's operative
        config (ddsp_tf's addition).
      **kwargs: Not supported (TypeError); bind model arguments in gin.

    Raises:
      ValueError: For a length shorter than one frame, a run whose config
        has no Harmonic synth or fixed-length preprocessor, or a checkpoint
        that does not fit the model.
      FileNotFoundError: If there is no operative config or checkpoint.
    """
    if kwargs:
      raise TypeError(f'AutoencoderInference takes no model arguments, got '
                      f'{sorted(kwargs)}; bind them in gin instead.')
    super().__init__()
    self.length_seconds = length_seconds
    self.remove_reverb = remove_reverb
    self.configure_gin(ckpt, gin_params)
    if verbose:
      logging.info('AutoencoderInference: %d samples, %d frames of %d.',
                   self.n_samples, self.n_frames, self.hop_size)
    self.model = models.get_model()
    self.build_network()
    prefix = train_util.get_latest_checkpoint(ckpt)
    try:
      # Strict; a checkpoint of magenta/ddsp is mapped onto the model.
      self.model.restore(prefix, verbose=False)
    except ValueError as error:
      raise ValueError(f'The checkpoint {prefix!r} does not fit the model of '
                       f'the run\'s config: {error}') from None
    self.model_variables = [variable.value
                            for variable in self.model.variables]

  def configure_gin(self, ckpt: Text,
                    gin_params: Sequence[Text] = ()) -> None:
    """Parses the run's config (and gin_params) and rebinds the lengths."""
    parse_operative_config(ckpt)
    with gin.unlock_config():
      gin.parse_config(list(gin_params))
    reference = gin.query_parameter('Autoencoder.preprocessor')
    self.preprocessor_type = reference.config_key[-1].split('.')[-1]
    try:
      self.sample_rate = int(_query_value('Harmonic.sample_rate'))
      n_samples_train = int(_query_value('Harmonic.n_samples'))
      time_steps_train = int(_query_value(
          f'{self.preprocessor_type}.time_steps'))
    except ValueError as error:
      raise ValueError(
          'AutoencoderInference needs a run with a Harmonic synth and a '
          f'preprocessor with time_steps ({self.preprocessor_type}): '
          f'{error}') from None
    self.hop_size = n_samples_train // time_steps_train
    self.n_frames = int(self.length_seconds * self.sample_rate /
                        self.hop_size)
    if self.n_frames < 1:
      raise ValueError(f'length_seconds={self.length_seconds!r} is shorter '
                       f'than one frame ({self.hop_size} samples).')
    self.n_samples = self.n_frames * self.hop_size
    config = [f'Harmonic.n_samples = {self.n_samples}',
              f'FilteredNoise.n_samples = {self.n_samples}',
              f'{self.preprocessor_type}.time_steps = {self.n_frames}']
    if self.remove_reverb:
      config.append(_NO_REVERB_DAG)
    with gin.unlock_config():
      gin.parse_config(config)

  @property
  def _db_key(self) -> Text:
    return 'power_db' if 'Power' in self.preprocessor_type else 'loudness_db'

  def build_network(self) -> None:
    """Runs zeros through the model once (creates its weights)."""
    self(({self._db_key: tf.zeros([self.n_frames]) - 60.0,
           'f0_hz': tf.zeros([self.n_frames])}))

  def __call__(self, inputs: Dict[Text, Any]) -> Dict[Text, Any]:
    """The model's outputs for features of n_frames frames."""
    inputs = dict(inputs)
    if hasattr(self.model.preprocessor, 'compute_loudness'):
      self.model.preprocessor.compute_loudness = False
    return self.model(inputs, training=False)

  def save_model(self, save_dir: Text) -> None:
    """Writes a SavedModel: serving_default(f0_hz, db) -> audio and controls."""
    spec = tf.TensorSpec([None, self.n_frames], tf.float32)

    @tf.function(input_signature=[spec, spec])
    def serve(f0_hz, db):
      outputs = self({'f0_hz': f0_hz, self._db_key: db})
      return {'audio': outputs['audio_synth']}

    self.serve = serve
    tf.saved_model.save(self, save_dir, signatures={'serving_default': serve})
