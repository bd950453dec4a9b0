"""DDSP-VST inference modules: a trained models/vst/*.gin run, frame by frame.

Each module restores a run's decoder (and reads its synths' settings) from
the run's operative config, and exposes one tf.function `call` with fixed
shapes that `save_model` writes as a SavedModel signature named 'call', as
magenta/ddsp's modules of the same names do:

  VSTExtractFeatures             audio [frame_size] at 16 kHz -> f0_hz,
                                 f0_scaled, pw_db, pw_scaled [1] each
  VSTPredictControls             f0_scaled [1], pw_scaled [1] -> amps [1],
                                 harmonic distribution [n_harmonics], noise
                                 magnitudes [n_noise] (RNN state reset)
  VSTStatelessPredictControls    the same plus state [state_size] in and out
                                 (the model the DDSP-VST plugin plays)
  VSTSynthesize                  one hop of harmonic + noise audio from two
                                 frames of controls and the carried phase
  VSTSynthesizeHarmonic / VSTSynthesizeNoise   each half alone

Converted from its SavedModel, the 'call' signature of
VSTStatelessPredictControls gives exactly the plugin's tensor names
(formats.VST_INPUT_TENSORS / VST_OUTPUT_TENSORS); `check_plugin_model`
checks a .tflite as the plugin does, and `append_metadata` /
`read_metadata` write and read the metadata.json zip the plugin reads from
the end of the file.

Differences from magenta/ddsp: the modules are tf.Modules holding the
restored Keras layers, not Autoencoder subclasses; constructor keyword
arguments other than the documented ones are refused (bind them with gin);
restoring is strict (a decoder weight missing from the checkpoint is an
error); VSTExtractFeatures uses CREPE 'tiny' unless told otherwise (the
original needs crepe_saved_model_path, since vst.gin binds None).
"""

import io
import json
import logging
import os
import zipfile
from typing import Any, Dict, Optional, Sequence, Text, Tuple

import gin
import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import formats
from ddsp_tf import synths
from ddsp_tf.training import models
from ddsp_tf.training import preprocessing
from ddsp_tf.training import streaming
from ddsp_tf.training import train_util

logger = logging.getLogger(__name__)

_VST_DECODER_KEYS = ('f0_scaled', 'pw_scaled')
_SCALAR = tf.TensorSpec([1], tf.float32)


def parse_operative_config(ckpt_dir: Text) -> Text:
  """Parses a run's latest operative gin config into the global config.

  Args:
    ckpt_dir: The run directory, a directory inside it, or a checkpoint
      prefix in it.

  Returns:
    The path of the parsed config.

  Raises:
    FileNotFoundError: If no operative_config-<step>.gin is found there.
  """
  path = train_util.expand_path(ckpt_dir)
  if not tf.io.gfile.isdir(path):
    path = os.path.dirname(path)
  try:
    config = train_util.get_latest_operative_config(path)
  except FileNotFoundError:
    raise FileNotFoundError(
        f'{ckpt_dir!r} is not a training run: no '
        f'{train_util.OPERATIVE_CONFIG_PREFIX}<step>.gin in it or its '
        'parent.') from None
  logger.info('Parsing the operative config %s.', config)
  with gin.unlock_config():
    gin.parse_config_file(config, skip_unknown=True)
  return config


def _check_no_kwargs(cls_name: Text, kwargs: Dict[Text, Any]) -> None:
  if kwargs:
    raise TypeError(
        f'{cls_name} takes no model arguments, got {sorted(kwargs)}; bind '
        'them in gin (e.g. ddsp_tf_export --gin_param) instead.')


class _VSTRun:
  """The parts of a VST run's model that inference needs, and its sizes."""

  def __init__(self, ckpt: Text, bindings: Sequence[Text] = ()):
    parse_operative_config(ckpt)
    with gin.unlock_config():
      gin.parse_config(list(bindings))
    model = models.get_model()
    preprocessor = getattr(model, 'preprocessor', None)
    decoder = getattr(model, 'decoder', None)
    group = getattr(model, 'processor_group', None)
    decoder_keys = sorted(getattr(decoder, 'feature_keys', ()) or ())
    if (not isinstance(preprocessor,
                       preprocessing.OnlineF0PowerPreprocessor) or
        decoder_keys != sorted(_VST_DECODER_KEYS) or
        not hasattr(decoder, 'stateless') or group is None):
      raise ValueError(
          'The vst_* inference models need a run trained with '
          'models/vst/vst.gin (or vst_32k.gin, vst_48k.gin): an '
          'OnlineF0PowerPreprocessor and an RnnFcDecoder reading pw_scaled '
          f'and f0_scaled. The run at {ckpt!r} has preprocessor '
          f'{type(preprocessor).__name__} and decoder '
          f'{type(decoder).__name__} reading {decoder_keys}; train with '
          '--gin_file=models/vst/vst.gin.')
    self.model, self.preprocessor, self.decoder = model, preprocessor, decoder
    self.harmonic = _find(group, synths.Harmonic)
    self.filtered_noise = _find(group, synths.FilteredNoise)
    splits = dict(decoder.output_splits)
    self.n_harmonics = int(splits['harmonic_distribution'])
    self.n_noise = int(splits['noise_magnitudes'])
    self.frame_size = int(preprocessor.frame_size)
    self.frame_rate = int(preprocessor.frame_rate)
    self.sample_rate = int(self.harmonic.sample_rate)
    self.hop_size = self.sample_rate // self.frame_rate
    self.resample_method = self.harmonic.amp_resample_method
    self.noise_window_size = int(self.filtered_noise.window_size)


def _find(group: Any, layer_type: type) -> Any:
  node = streaming.first_node(group, layer_type)
  if node is None:
    raise ValueError(f'The VST model needs a {layer_type.__name__} synth in '
                     'its processor group.')
  return node[2]


def _restore_decoder(model: Any, ckpt: Text) -> Text:
  """Restores a run model's built decoder from its checkpoint, strictly.

  The checkpoint may be ddsp_tf's or magenta/ddsp's (see Model.restore).

  Raises:
    FileNotFoundError: If there is no checkpoint.
    ValueError: If a weight of the decoder is missing from the checkpoint.
  """
  prefix = train_util.get_latest_checkpoint(ckpt)
  try:
    model.restore(prefix, verbose=False, restore_keys=['decoder'])
  except ValueError as error:
    raise ValueError(
        f'The checkpoint {prefix!r} does not hold the weights of this run\'s '
        f'decoder (a different config?): {error}') from None
  return prefix


class _CallModule(tf.Module):
  """A module with one fixed-shape tf.function `call`, saved as 'call'."""

  verbose = False

  def input_specs(self) -> Sequence[tf.TensorSpec]:
    """The TensorSpecs of `call`'s arguments, in order."""
    raise NotImplementedError

  def save_model(self, save_dir: Text) -> None:
    """Writes a SavedModel whose 'call' signature is `call`."""
    tf.saved_model.save(self, save_dir, signatures=self._signatures)

  @property
  def _signatures(self) -> Dict[Text, Any]:
    return {'call': self.call.get_concrete_function(*self.input_specs())}

  def build_network(self) -> None:
    """Runs zeros through `call` once (traces it, creates nothing)."""
    outputs = self.call(*[tf.zeros(spec.shape, spec.dtype)
                          for spec in self.input_specs()])
    if self.verbose:
      logger.info('%s outputs: %s', type(self).__name__,
                  [tuple(x.shape) for x in tf.nest.flatten(outputs)])

  def __call__(self, *args, **kwargs):
    return self.call(*args, **kwargs)


class VSTBaseModule(_CallModule):
  """Shared parts: parse the run, build and restore the decoder, save.

  Attributes: frame_size, sample_rate, hop_size (samples per frame at
  sample_rate), n_harmonics, n_noise, state_size, resample_method, and
  the restored layers preprocessor, decoder, processor_group.
  """

  def __init__(self, ckpt: Text, verbose: bool = False,
               gin_params: Sequence[Text] = (), **kwargs):
    """Restores the decoder of a VST run.

    Args:
      ckpt: The run directory or a checkpoint prefix in it.
      verbose: Log the restored checkpoint and the shapes.
      gin_params: Extra gin bindings applied after the run's operative
        config (ddsp_tf's addition).
      **kwargs: Not supported (TypeError); bind model arguments in gin.

    Raises:
      ValueError: If the run is not a VST run or its checkpoint does not fit.
      FileNotFoundError: If there is no operative config or checkpoint.
    """
    _check_no_kwargs(type(self).__name__, kwargs)
    super().__init__()
    self.verbose = verbose
    run = _VSTRun(ckpt, list(gin_params) + list(self.gin_bindings()))
    self.preprocessor, self.decoder = run.preprocessor, run.decoder
    self.processor_group = run.model.processor_group
    self.harmonic, self.filtered_noise = run.harmonic, run.filtered_noise
    for key in ('frame_size', 'sample_rate', 'hop_size', 'n_harmonics',
                'n_noise', 'resample_method'):
      setattr(self, key, getattr(run, key))
    zeros = tf.zeros([1, 1, 1])
    self.decoder({'f0_scaled': zeros, 'pw_scaled': zeros}, training=False)
    prefix = _restore_decoder(run.model, ckpt)
    if verbose:
      logger.info('Restored the decoder from %s.', prefix)
    rnn = self.decoder.rnn
    self.state_size = rnn.dims * (2 if rnn.rnn_type == 'lstm' else 1)
    self.prepare()
    self.build_network()

  def gin_bindings(self) -> Sequence[Text]:
    """Bindings applied after the run's operative config."""
    return ()

  def prepare(self) -> None:
    """Sets up what `call` uses once the decoder is restored."""

  def _controls(self, f0_scaled: tf.Tensor, pw_scaled: tf.Tensor,
                state: Optional[tf.Tensor], decoder: Any
                ) -> Tuple[tf.Tensor, ...]:
    """One frame's synth controls: amps [1], hd [H], noise [N] (, state)."""
    f0_scaled = tf.reshape(f0_scaled, [1, 1, 1])
    pw_scaled = tf.reshape(pw_scaled, [1, 1, 1])
    inputs = {'f0_scaled': f0_scaled, 'pw_scaled': pw_scaled}
    if state is not None:
      inputs['state'] = tf.reshape(state, [1, self.state_size])
    outputs = decoder(inputs, training=False)
    f0_hz = preprocessing.inv_scale_f0_hz(f0_scaled)
    harmonic = self.harmonic.get_controls(
        outputs['amps'], outputs['harmonic_distribution'], f0_hz)
    noise = self.filtered_noise.get_controls(outputs['noise_magnitudes'])
    controls = (harmonic['amplitudes'][0, 0],
                harmonic['harmonic_distribution'][0, 0],
                noise['magnitudes'][0, 0])
    if state is not None:
      controls += (outputs['state'][0],)
    return controls


class VSTExtractFeatures(VSTBaseModule):
  """One frame of 16 kHz audio -> f0 and power, as the plugin computes them.

  The run's OnlineF0PowerPreprocessor with 'valid' padding and CREPE:
  call(audio [frame_size]) returns (f0_hz, f0_scaled, pw_db, pw_scaled),
  [1] each.
  """

  def __init__(self, ckpt: Text, crepe_saved_model_path: Optional[Text] = None,
               **kwargs):
    """Restores the run.

    Args:
      ckpt: The run directory or a checkpoint prefix in it.
      crepe_saved_model_path: A CREPE capacity or weight file; None uses
        'tiny'.
      **kwargs: VSTBaseModule arguments (verbose).
    """
    self.crepe_saved_model_path = crepe_saved_model_path or 'tiny'
    super().__init__(ckpt, **kwargs)

  def gin_bindings(self) -> Sequence[Text]:
    return ['OnlineF0PowerPreprocessor.padding = "valid"',
            'OnlineF0PowerPreprocessor.compute_f0 = True',
            'OnlineF0PowerPreprocessor.compute_power = True',
            'OnlineF0PowerPreprocessor.viterbi = False',
            'OnlineF0PowerPreprocessor.crepe_saved_model_path = '
            f'{self.crepe_saved_model_path!r}']

  def prepare(self) -> None:
    # tf.Module does not track Keras 3 variables; list CREPE's explicitly.
    self.crepe_variables = [variable.value for variable in
                            self.preprocessor.crepe_model.variables]

  def input_specs(self) -> Sequence[tf.TensorSpec]:
    return [tf.TensorSpec([self.frame_size], tf.float32, name='audio')]

  @tf.function
  def call(self, audio: tf.Tensor) -> Tuple[tf.Tensor, ...]:
    """audio [frame_size] -> (f0_hz, f0_scaled, pw_db, pw_scaled), [1] each."""
    audio = tf.reshape(audio, [1, self.frame_size])
    zeros = tf.zeros([1, 1])
    outputs = self.preprocessor({'audio': audio, 'f0_hz': zeros,
                                 'f0_confidence': zeros}, training=False)
    return tuple(outputs[key][0, 0]
                 for key in ('f0_hz', 'f0_scaled', 'pw_db', 'pw_scaled'))


class _StatelessDecoderModule(VSTBaseModule):
  """Runs the decoder's one-step stateless copy (unrolled: builtin TFLite)."""

  def prepare(self) -> None:
    self.stateless_decoder = streaming.stateless_decoder_copy(self.decoder)
    self.decoder_variables = [variable.value for variable in
                              self.stateless_decoder.variables]


class VSTPredictControls(_StatelessDecoderModule):
  """One frame of scaled features -> synth controls (RNN state reset).

  call(f0_scaled [1], pw_scaled [1]) returns (amplitudes [1], harmonic
  distribution [n_harmonics], noise magnitudes [n_noise]), scaled as the
  synths use them; the RNN starts from zeros every call. (It runs the
  decoder's one-step stateless copy from a zero state: the same numbers,
  and it converts to TFLite builtin ops.)
  """

  def input_specs(self) -> Sequence[tf.TensorSpec]:
    return [tf.TensorSpec([1], tf.float32, name='f0_scaled'),
            tf.TensorSpec([1], tf.float32, name='pw_scaled')]

  @tf.function
  def call(self, f0_scaled: tf.Tensor,
           pw_scaled: tf.Tensor) -> Tuple[tf.Tensor, ...]:
    """(f0_scaled, pw_scaled) -> (amps, harmonic_distribution, noise)."""
    return self._controls(f0_scaled, pw_scaled,
                          tf.zeros([self.state_size]),
                          self.stateless_decoder)[:3]


class VSTStatelessPredictControls(_StatelessDecoderModule):
  """The model the DDSP-VST plugin plays: controls with the RNN state.

  call(f0_scaled [1], pw_scaled [1], state [state_size]) returns
  (amplitudes [1], harmonic distribution [n_harmonics], noise magnitudes
  [n_noise], state [state_size]); feed the state back each frame, zeros
  first. The harmonic distribution sums to 1 over the harmonics below
  Nyquist and is 0 at and above it.
  """

  def input_specs(self) -> Sequence[tf.TensorSpec]:
    return [tf.TensorSpec([1], tf.float32, name='f0_scaled'),
            tf.TensorSpec([1], tf.float32, name='pw_scaled'),
            tf.TensorSpec([self.state_size], tf.float32, name='state')]

  @tf.function
  def call(self, f0_scaled: tf.Tensor, pw_scaled: tf.Tensor,
           state: tf.Tensor) -> Tuple[tf.Tensor, ...]:
    """(f0_scaled, pw_scaled, state) -> (amps, hd, noise, new state)."""
    return self._controls(f0_scaled, pw_scaled, state,
                          self.stateless_decoder)


class VSTSynthesize(_CallModule):
  """One hop of audio from two frames of controls (no weights restored).

  call(amps, prev_amps [1], hd, prev_hd [n_harmonics], f0, prev_f0 [1],
  noise [n_noise], prev_phase [1]) returns (audio [hop_size], final_phase
  []): harmonic synthesis interpolating from the previous frame to this
  one, starting at prev_phase (radians), plus one hop of filtered noise.
  """

  def __init__(self, ckpt: Text, new_hop_size: Optional[int] = None,
               gin_params: Sequence[Text] = (), **kwargs):
    """Reads the run's synth settings.

    Args:
      ckpt: The run directory or a checkpoint prefix in it.
      new_hop_size: Samples per call; None keeps the run's hop.
      gin_params: Extra gin bindings applied after the run's config.
      **kwargs: Not supported (TypeError).
    """
    _check_no_kwargs(type(self).__name__, kwargs)
    super().__init__()
    run = _VSTRun(ckpt, gin_params)
    for key in ('frame_size', 'sample_rate', 'hop_size', 'n_harmonics',
                'n_noise', 'resample_method'):
      setattr(self, key, getattr(run, key))
    if new_hop_size is not None:
      if int(new_hop_size) <= 0 or int(new_hop_size) % 2:
        raise ValueError('new_hop_size must be a positive even number of '
                         f'samples, got new_hop_size={new_hop_size!r}.')
      self.hop_size = int(new_hop_size)
    self.new_hop_size = new_hop_size
    self.filtered_noise = synths.FilteredNoise(
        n_samples=self.hop_size, window_size=run.noise_window_size)
    self.build_network()

  def input_specs(self) -> Sequence[tf.TensorSpec]:
    sizes = (('amps', 1), ('prev_amps', 1), ('hd', self.n_harmonics),
             ('prev_hd', self.n_harmonics), ('f0', 1), ('prev_f0', 1),
             ('noise', self.n_noise), ('prev_phase', 1))
    return [tf.TensorSpec([size], tf.float32, name=name)
            for name, size in sizes]

  def _harmonic(self, amps, prev_amps, hd, prev_hd, f0, prev_f0, prev_phase):
    def two_frames(previous, current, size):
      return tf.reshape(tf.stack([previous, current]), [1, 2, size])

    audio, final_phase = core.streaming_harmonic_synthesis(
        frequencies=two_frames(prev_f0, f0, 1),
        amplitudes=two_frames(prev_amps, amps, 1),
        harmonic_distribution=two_frames(prev_hd, hd, self.n_harmonics),
        initial_phase=tf.reshape(prev_phase, [1, 1, 1]),
        n_samples=self.hop_size, sample_rate=self.sample_rate,
        amp_resample_method=self.resample_method)
    return audio[0], final_phase[0, 0, 0]

  def _noise(self, noise):
    magnitudes = tf.reshape(tf.stack([noise, noise]), [1, 2, self.n_noise])
    return self.filtered_noise.get_signal(magnitudes)[0]

  @tf.function
  def call(self, amps, prev_amps, hd, prev_hd, f0, prev_f0, noise,
           prev_phase) -> Tuple[tf.Tensor, tf.Tensor]:
    """Two frames of controls -> (audio [hop_size], final_phase [])."""
    audio, final_phase = self._harmonic(amps, prev_amps, hd, prev_hd, f0,
                                        prev_f0, prev_phase)
    return audio + self._noise(noise), final_phase


class VSTSynthesizeHarmonic(VSTSynthesize):
  """VSTSynthesize without the noise: call(...) without `noise`."""

  def input_specs(self) -> Sequence[tf.TensorSpec]:
    return [spec for spec in super().input_specs() if spec.name != 'noise']

  @tf.function
  def call(self, amps, prev_amps, hd, prev_hd, f0, prev_f0,
           prev_phase) -> Tuple[tf.Tensor, tf.Tensor]:
    """Two frames of controls -> (audio [hop_size], final_phase [])."""
    return self._harmonic(amps, prev_amps, hd, prev_hd, f0, prev_f0,
                          prev_phase)


class VSTSynthesizeNoise(VSTSynthesize):
  """VSTSynthesize's filtered noise alone: call(noise) -> audio [hop]."""

  def input_specs(self) -> Sequence[tf.TensorSpec]:
    return [tf.TensorSpec([self.n_noise], tf.float32, name='noise')]

  @tf.function
  def call(self, noise) -> tf.Tensor:
    """noise magnitudes [n_noise] -> audio [hop_size]."""
    return self._noise(noise)


# ----------------------------------------------------------------------------
# The plugin's model file: TFLite flatbuffer + appended metadata zip.
# ----------------------------------------------------------------------------
def convert_to_tflite(module: VSTBaseModule, save_dir: Text) -> bytes:
  """A saved VST module as a TFLite flatbuffer, builtin ops only.

  Args:
    module: The module (its SavedModel is written to save_dir first when
      save_dir holds none).
    save_dir: Directory of the module's SavedModel.

  Returns:
    The .tflite bytes; the 'call' signature's tensors are named
    call_<argument>:0 and StatefulPartitionedCall:<output index>.
  """
  if not tf.io.gfile.exists(os.path.join(save_dir, formats.SAVED_MODEL_FILE)):
    module.save_model(save_dir)
  converter = tf.lite.TFLiteConverter.from_saved_model(
      save_dir, signature_keys=['call'])
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  return converter.convert()


def append_metadata(tflite_model: bytes, metadata: Dict[Text, Any]) -> bytes:
  """The model with a zip of metadata.json appended, as the plugin reads it.

  Args:
    tflite_model: The flatbuffer bytes.
    metadata: JSON-serializable dict; NaN and infinities are refused.

  Returns:
    The flatbuffer followed by a zip archive holding metadata.json (TFLite
    ignores trailing bytes; the plugin finds the zip from the end).

  Raises:
    ValueError: If the metadata is not strict JSON (e.g. holds NaN).
  """
  try:
    text = json.dumps(metadata, indent=2, allow_nan=False)
  except ValueError as error:
    raise ValueError(f'The plugin metadata must be strict JSON: {error}; got '
                     f'{metadata!r}.') from None
  buffer = io.BytesIO(tflite_model)
  buffer.seek(0, io.SEEK_END)
  with zipfile.ZipFile(buffer, 'a', zipfile.ZIP_DEFLATED) as archive:
    archive.writestr(formats.VST_METADATA_FILE, text)
  return buffer.getvalue()


def read_metadata(tflite_model: bytes) -> Dict[Text, Any]:
  """The metadata.json appended to a plugin model file.

  Raises:
    ValueError: If the file has no appended zip with metadata.json.
  """
  try:
    with zipfile.ZipFile(io.BytesIO(tflite_model)) as archive:
      text = archive.read(formats.VST_METADATA_FILE)
  except (zipfile.BadZipFile, KeyError):
    raise ValueError('The model has no metadata.json zip appended (the '
                     'plugin then shows no pitch or power range); export it '
                     'with ddsp_tf_export --inference_model='
                     'vst_stateless_predict_controls.') from None
  return json.loads(text)


def check_plugin_model(tflite_model: bytes,
                       n_harmonics: Optional[int] = None,
                       n_noise: Optional[int] = None
                       ) -> Dict[Text, Dict[Text, Any]]:
  """Checks a .tflite as the DDSP-VST plugin does before playing it.

  The plugin needs exactly the inputs and outputs of
  formats.VST_INPUT_TENSORS / VST_OUTPUT_TENSORS, by name, float32; it
  plays only 60 harmonics and 65 noise bands (other sizes, e.g. the 32k and
  48k models' 100 and 98, pass here when given as n_harmonics / n_noise).

  Args:
    tflite_model: The file's bytes.
    n_harmonics: Harmonics to accept; None: the plugin's 60.
    n_noise: Noise bands to accept; None: the plugin's 65.

  Returns:
    {'inputs': {name: detail}, 'outputs': {name: detail}} of the
    interpreter's tensor details.

  Raises:
    ValueError: Naming the missing, extra or wrongly sized tensors and what
      the plugin expects.
  """
  expected_inputs = dict(formats.VST_INPUT_TENSORS)
  expected_outputs = dict(formats.VST_OUTPUT_TENSORS)
  if n_harmonics is not None:
    expected_outputs['StatefulPartitionedCall:1'] = int(n_harmonics)
  if n_noise is not None:
    expected_outputs['StatefulPartitionedCall:2'] = int(n_noise)
  try:
    interpreter = tf.lite.Interpreter(model_content=tflite_model)
  except ValueError as error:
    raise ValueError(f'Not a TFLite model: {error}') from None
  found = {'inputs': {d['name']: d for d in interpreter.get_input_details()},
           'outputs': {d['name']: d for d in interpreter.get_output_details()}}
  problems = []
  for kind, expected in (('inputs', expected_inputs),
                         ('outputs', expected_outputs)):
    details = found[kind]
    for name, size in expected.items():
      if name not in details:
        problems.append(f'missing {kind[:-1]} {name!r}')
        continue
      shape, dtype = details[name]['shape'], details[name]['dtype']
      if int(np.prod(shape)) != size or dtype != np.float32:
        problems.append(f'{name!r} is {dtype.__name__}{shape.tolist()}, the '
                        f'plugin needs float32[{size}]')
    extra = sorted(set(details) - set(expected))
    if extra:
      problems.append(f'unexpected {kind} {extra}')
  if problems:
    raise ValueError(
        'Not a DDSP-VST predict-controls model: ' + '; '.join(problems) +
        '. The plugin needs inputs ' +
        ', '.join(f'{n} [{s}]' for n, s in expected_inputs.items()) +
        ' and outputs ' +
        ', '.join(f'{n} [{s}]' for n, s in expected_outputs.items()) +
        '; export a models/vst/vst.gin run with ddsp_tf_export '
        '--inference_model=vst_stateless_predict_controls.')
  return found


# The highest version of each builtin op that the TFLite 2.9 runtime (the
# one the released DDSP-VST plugin links, tensorflow/lite/kernels/register.cc
# of TF 2.9) registers, for the ops our models use. An op missing here is
# checked against nothing and reported as unknown.
TFLITE_2_9_MAX_OP_VERSIONS = {
    'ABS': 4, 'ADD': 4, 'ARG_MAX': 3, 'BATCH_MATMUL': 4, 'CAST': 4,
    'CONCATENATION': 3, 'CONV_2D': 6, 'COS': 1, 'CUMSUM': 1,
    'DEPTHWISE_CONV_2D': 6, 'DIV': 2, 'EQUAL': 3, 'EXP': 1, 'EXPAND_DIMS': 1,
    'FILL': 3, 'FLOOR': 1, 'FULLY_CONNECTED': 9, 'GATHER': 5,
    'GREATER_EQUAL': 2, 'LEAKY_RELU': 2, 'LESS': 2, 'LOG': 1, 'LOGISTIC': 3,
    'MAX_POOL_2D': 3, 'MAXIMUM': 4, 'MEAN': 3, 'MINIMUM': 4, 'MUL': 5,
    'NEG': 1, 'PACK': 3, 'PAD': 4, 'POW': 1, 'RANGE': 1, 'REDUCE_MAX': 3,
    'RESHAPE': 1, 'RFFT2D': 1, 'RSQRT': 2, 'SELECT': 2, 'SELECT_V2': 1,
    'SHAPE': 1, 'SIN': 1, 'SLICE': 5, 'SOFTMAX': 3, 'SPLIT': 4, 'SPLIT_V': 2,
    'SQRT': 1, 'SQUARE': 1, 'SQUARED_DIFFERENCE': 2, 'SQUEEZE': 2,
    'STRIDED_SLICE': 6, 'SUB': 5, 'SUM': 2, 'TANH': 3, 'TILE': 3,
    'TRANSPOSE': 5, 'UNPACK': 4, 'ZEROS_LIKE': 1,
}


def builtin_op_versions(tflite_model: bytes) -> Dict[Text, int]:
  """{builtin op name: version} of a TFLite flatbuffer's operator codes.

  Raises:
    ValueError: If the model uses custom (e.g. Flex/SELECT_TF) ops.
  """
  from tensorflow.lite.python import schema_py_generated as schema  # pylint: disable=g-import-not-at-top
  model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(
      tflite_model, 0))
  names = {code: name for name, code in vars(schema.BuiltinOperator).items()
           if not name.startswith('_')}
  versions, custom = {}, []
  for operator in model.operatorCodes:
    code = max(operator.builtinCode, operator.deprecatedBuiltinCode)
    if operator.customCode:
      custom.append(operator.customCode.decode())
      continue
    name = names.get(code, str(code))
    versions[name] = max(versions.get(name, 0), operator.version)
  if custom:
    raise ValueError(f'The model uses custom ops {sorted(custom)}, which the '
                     'DDSP-VST plugin cannot run (builtin ops only).')
  return versions


def check_tflite_2_9_ops(tflite_model: bytes) -> Dict[Text, int]:
  """Checks that the TFLite 2.9 runtime of the plugin has every op version.

  Returns:
    The model's {op: version}.

  Raises:
    ValueError: Naming each op that is unknown to the table or newer than
      TFLite 2.9 supports.
  """
  versions = builtin_op_versions(tflite_model)
  too_new = {name: version for name, version in versions.items()
             if version > TFLITE_2_9_MAX_OP_VERSIONS.get(name, 0)}
  if too_new:
    supported = {name: TFLITE_2_9_MAX_OP_VERSIONS.get(name)
                 for name in too_new}
    raise ValueError(
        f'The model uses op versions {too_new} that the TFLite 2.9 runtime '
        f'of the DDSP-VST plugin does not have (it has {supported}; None: '
        'unknown op).')
  return versions
