"""The frame-wise streaming model of an export, for TFLite.

`StreamingModule` renders a trained model as a stream (one frame of f0 and
loudness in, one hop of dry audio out, state carried between calls), and
`convert_to_tflite` / `tflite_metadata` turn it into a .tflite flatbuffer
and its description (`ddsp_tf_export --tflite`). `stateless_decoder_copy`
gives the RnnFcDecoder twin that takes and returns its RNN state, which the
DDSP-VST modules use too.
"""

from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import effects
from ddsp_tf import formats
from ddsp_tf import processors
from ddsp_tf import synths

TensorDict = Dict[Text, tf.Tensor]


def first_node(processor_group, layer_type) -> Optional[Any]:
  """(name, input_keys, module) of the group's first node of a type."""
  for name, input_keys, _ in processor_group.dag:
    module = processor_group.dag_modules[name]
    if isinstance(module, layer_type):
      return name, input_keys, module
  return None


def stateless_decoder_copy(decoder: Any) -> Any:
  """A stateless=True twin of an RnnFcDecoder with the same weights.

  Raises:
    ValueError: If the decoder is not an RnnFcDecoder-like layer.
  """
  if not hasattr(decoder, 'stateless') or not hasattr(decoder, 'rnn'):
    raise ValueError('The TFLite streaming model needs an RnnFcDecoder-like '
                     f'decoder (stateless option), got {decoder!r}.')
  config = decoder.get_config()
  config.update(stateless=True, name=decoder.name + '_stateless')
  twin = type(decoder).from_config(config)
  n_keys = len(decoder.feature_keys)
  twin(*[tf.zeros([1, 1, 1])] * n_keys, tf.zeros([1, twin.rnn.state_size]))
  twin.set_weights(decoder.get_weights())
  # One frame per call: one unrolled RNN step, no while loop in the graph.
  twin.rnn.rnn.unroll = True
  return twin


def _toeplitz_indices(n_rows: int, ir_size: int) -> np.ndarray:
  """Gather indices that lay an impulse response out as a convolution matrix.

  Row j holds the response delayed by j samples; index ir_size points at a
  zero appended to the response.

  Returns:
    [n_rows, n_rows + ir_size - 1] int32.
  """
  lags = np.arange(n_rows + ir_size - 1)[None, :] - np.arange(n_rows)[:, None]
  return np.where((lags >= 0) & (lags < ir_size), lags,
                  ir_size).astype(np.int32)


class StreamingModule(tf.Module):
  """A trained model as a frame-wise stream: one frame in, one hop out.

  Each call takes the features of ONE new frame t and the carried state and
  returns hop_size samples of dry audio (harmonic + filtered noise, without
  the reverb) and the new state. The hop returned at frame t is the hop that
  the batch model renders between frames t - 1 and t: amplitudes crossfade
  between the two frames as the synth's amp_resample_method does ('window':
  Hann, 'linear') and f0 rises linearly, so the stream lags the features by
  one hop (the latency of interpolating between frames). Carried state:

    rnn_state          [state_size]    the decoder RNN's state
    phase              [1]             fundamental phase in cycles, [0, 1)
    prev_f0_hz         [1]             f0 of the previous frame
    prev_harmonic_amps [n_harmonics]   harmonic amplitudes of the previous
                                       frame
    noise_tail         [n_tail]        filtered noise not yet played (only
                                       with a FilteredNoise synth)

  Everything starts at zero; each output of the same name is the next
  call's input. Differences from the batch model: a harmonic is silenced in
  a hop when it reaches Nyquist at either of the hop's two frames (the batch
  model looks one frame further ahead); each frame's noise block is placed
  as in the batch model when the noise filter's half length
  (ir_size // 2) is at most hop_size, else ir_size // 2 - hop_size samples
  later; the noise itself is random; the phase is float32, wrapped every
  hop, and wanders from the batch model's float64 phase by about 1e-5
  cycles per second of audio (rounding of each hop's increment; inaudible,
  but it bounds sample-wise agreement). The decoder is a stateless copy
  of the trained RnnFcDecoder, whose variables this module lists explicitly
  (a tf.Module does not track Keras 3 variables, see DESIGN.md).
  """

  def __init__(self, module: Any):
    """Builds the streaming function from a prepared ExportModule.

    Args:
      module: The ExportModule of the model (any-length preprocessor and
        synths, nodes found).

    Raises:
      ValueError: For a model the stream cannot render: no RnnFcDecoder, no
        Harmonic synth, nodes other than one Harmonic, at most one
        FilteredNoise, Add and Reverb, or a Harmonic amp_resample_method
        other than 'window' and 'linear'.
    """
    super().__init__()
    model = module.model
    if module.harmonic is None:
      raise ValueError('The TFLite streaming model needs a Harmonic synth in '
                       'the processor group.')
    allowed = (synths.Harmonic, synths.FilteredNoise, processors.Add,
               effects.Reverb)
    group = model.processor_group
    kinds = [type(group.dag_modules[name]) for name, _, _ in group.dag]
    if (not all(issubclass(kind, allowed) for kind in kinds) or
        len(kinds) != len({base for kind in kinds for base in allowed
                           if issubclass(kind, base)})):
      raise ValueError(
          'The TFLite streaming model renders a processor group of one '
          'Harmonic, at most one FilteredNoise, Add and Reverb; got nodes '
          f'{[kind.__name__ for kind in kinds]}.')
    harmonic = module.harmonic[2]
    if harmonic.amp_resample_method not in ('window', 'linear'):
      raise ValueError(
          'The TFLite streaming model crossfades amplitudes across a hop; '
          "Harmonic.amp_resample_method must be 'window' or 'linear', got "
          f'{harmonic.amp_resample_method!r}.')
    self.preprocessor = model.preprocessor
    self.decoder = stateless_decoder_copy(model.decoder)
    # The tf.Variables under the Keras ones: tf.Module tracks only those, and
    # the TFLite converter freezes only tracked variables.
    self.decoder_variables = [variable.value
                              for variable in self.decoder.variables]
    self.harmonic, self.noise = module.harmonic, module.noise
    self.sample_rate, self.hop_size = module.sample_rate, module.hop_size
    self.state_size = self.decoder.rnn.state_size
    rise = (0.5 - 0.5 * np.cos(np.pi * np.arange(self.hop_size) /
                               self.hop_size)
            if harmonic.amp_resample_method == 'window' else
            np.arange(self.hop_size) / self.hop_size)
    self.rise = tf.constant(rise[:, np.newaxis], tf.float32)  # [hop, 1]
    # Cycles run over samples 0..j of a hop by a unit f0 held (row 0) and
    # by a unit rise j / hop_size (row 1): the f0 of a hop is a line, so its
    # running sum has a closed form.
    steps = np.arange(1, self.hop_size + 1)
    self.cycle_ramps = tf.constant(
        [steps / self.sample_rate,
         steps * (steps - 1) / (2.0 * self.hop_size * self.sample_rate)],
        tf.float32)
    controls = self._controls(tf.constant([200.0]), tf.constant([-40.0]),
                              tf.zeros([self.state_size]))
    self.n_harmonics = int(controls['harmonic_amps'].shape[-1])
    self.noise_ir_size = self.noise_tail_size = 0
    if self.noise is not None:
      n_bands = int(controls['noise_magnitudes'].shape[-1])
      # The noise filter is linear in the magnitudes: row b is the impulse
      # response of band b alone, as the batch synth computes it.
      self.noise_basis = tf.constant(core.frequency_impulse_response(
          tf.eye(n_bands)[tf.newaxis], self.noise[2].window_size)[0])
      self.noise_ir_size = int(self.noise_basis.shape[-1])
      # The batch synth's fft_convolve removes (ir_size - 1) // 2 - 1
      # samples of the filter's delay (magenta/ddsp's delay compensation).
      self.noise_offset = max(
          self.hop_size - max((self.noise_ir_size - 1) // 2 - 1, 0), 0)
      self.noise_tail_size = self.noise_offset + self.noise_ir_size - 1
      self.noise_indices = tf.constant(
          _toeplitz_indices(self.hop_size, self.noise_ir_size))
    self.stream = tf.function(self._stream,
                              input_signature=self.input_signature())

  def input_signature(self) -> List[tf.TensorSpec]:
    """The TensorSpecs of the stream's inputs, in call order."""
    specs = [('f0_hz', 1), ('loudness_db', 1),
             ('rnn_state', self.state_size), ('phase', 1), ('prev_f0_hz', 1),
             ('prev_harmonic_amps', self.n_harmonics)]
    if self.noise is not None:
      specs.append(('noise_tail', self.noise_tail_size))
    return [tf.TensorSpec([size], tf.float32, name=name)
            for name, size in specs]

  def _controls(self, f0_hz: tf.Tensor, loudness_db: tf.Tensor,
                rnn_state: tf.Tensor) -> TensorDict:
    """One frame's synth controls and the new RNN state.

    Returns:
      f0_hz [1], harmonic_amps [n_harmonics] (amplitude times the
      normalized distribution), noise_magnitudes [n_bands] (with noise) and
      rnn_state [state_size].
    """
    features = {'f0_hz': f0_hz[tf.newaxis, :],
                'loudness_db': loudness_db[tf.newaxis, :]}
    features.update(self.preprocessor(features, training=False))
    features['state'] = rnn_state[tf.newaxis, :]
    features.update(self.decoder(features, training=False))

    def synth_controls(node):
      _, input_keys, synth = node
      inputs = [core.nested_lookup(key, features) for key in input_keys]
      return synth.get_controls(*inputs)

    harmonic = synth_controls(self.harmonic)
    amps = harmonic['amplitudes'] * harmonic['harmonic_distribution']
    controls = {'f0_hz': harmonic['f0_hz'][0, 0], 'harmonic_amps': amps[0, 0],
                'rnn_state': features['state'][0]}
    if self.noise is not None:
      controls['noise_magnitudes'] = synth_controls(self.noise)[
          'magnitudes'][0, 0]
    return controls

  def _harmonic_hop(self, f0_hz: tf.Tensor, prev_f0_hz: tf.Tensor,
                    amps: tf.Tensor, prev_amps: tf.Tensor,
                    phase: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """The hop from the previous frame to this one: (audio, new phase).

    Args:
      f0_hz, prev_f0_hz: [1] Hz.
      amps, prev_amps: [n_harmonics] harmonic amplitudes.
      phase: [1] fundamental phase in cycles before the hop.

    Returns:
      (audio [hop_size], phase [1] in cycles, in [0, 1), after the hop).
    """
    harmonic_numbers = tf.range(1, self.n_harmonics + 1, dtype=tf.float32)
    reach = tf.maximum(f0_hz, prev_f0_hz) * harmonic_numbers
    audible = tf.cast(reach < self.sample_rate / 2.0, tf.float32)
    amps, prev_amps = amps * audible, prev_amps * audible
    envelopes = prev_amps + (amps - prev_amps) * self.rise  # [hop, H]
    # f0 rises linearly over the hop, so its running sum has a closed form,
    # free of the bias of a float32 cumsum.
    cycles = (phase + prev_f0_hz * self.cycle_ramps[0] +
              (f0_hz - prev_f0_hz) * self.cycle_ramps[1])
    cycles -= tf.floor(cycles)
    sines = tf.sin(cycles[:, tf.newaxis] * (2.0 * np.pi * harmonic_numbers))
    audio = tf.reduce_sum(envelopes * sines, axis=-1)
    return audio, cycles[-1:]

  def noise_hop(self, noise: tf.Tensor, magnitudes: tf.Tensor,
                noise_tail: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """Filters one hop of noise and overlap-adds it: (audio, new tail).

    The block is filtered by the frame's linear-phase FIR filter (as
    synths.FilteredNoise does) and added at its batch-model position.

    Args:
      noise: [hop_size] white noise.
      magnitudes: [n_bands] filter gains of the frame.
      noise_tail: [noise_tail_size] the not yet played filtered noise.

    Returns:
      (audio [hop_size], new noise_tail [noise_tail_size]).
    """
    impulse_response = tf.linalg.matvec(self.noise_basis, magnitudes,
                                        transpose_a=True)
    matrix = tf.gather(tf.concat([impulse_response, [0.0]], axis=0),
                       self.noise_indices)  # [hop, hop + ir_size - 1]
    filtered = tf.linalg.matvec(matrix, noise, transpose_a=True)
    total = tf.pad(filtered, [[self.noise_offset, 0]]) + tf.pad(
        noise_tail, [[0, self.hop_size]])
    return total[:self.hop_size], total[self.hop_size:]

  def _stream(self, f0_hz: tf.Tensor, loudness_db: tf.Tensor,
              rnn_state: tf.Tensor, phase: tf.Tensor, prev_f0_hz: tf.Tensor,
              prev_harmonic_amps: tf.Tensor,
              noise_tail: Optional[tf.Tensor] = None) -> TensorDict:
    """One frame -> one hop of dry audio and the new state (see the class)."""
    controls = self._controls(f0_hz, loudness_db, rnn_state)
    audio, phase = self._harmonic_hop(
        controls['f0_hz'], prev_f0_hz, controls['harmonic_amps'],
        prev_harmonic_amps, phase)
    outputs = {'rnn_state': controls['rnn_state'], 'phase': phase,
               'prev_f0_hz': controls['f0_hz'],
               'prev_harmonic_amps': controls['harmonic_amps']}
    if self.noise is not None:
      noise = tf.random.uniform([self.hop_size], minval=-1.0, maxval=1.0)
      noise_audio, outputs['noise_tail'] = self.noise_hop(
          noise, controls['noise_magnitudes'], noise_tail)
      audio += noise_audio
    outputs['audio'] = audio
    return outputs


def convert_to_tflite(streaming: StreamingModule) -> bytes:
  """The streaming model as a TFLite flatbuffer (TFLITE_BUILTINS only).

  Args:
    streaming: The StreamingModule to convert.

  Returns:
    The .tflite file's bytes; its 'serving_default' signature takes and
    returns the tensors of StreamingModule.stream, by name.
  """
  converter = tf.lite.TFLiteConverter.from_concrete_functions(
      [streaming.stream.get_concrete_function()], streaming)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  return converter.convert()


def tflite_metadata(streaming: StreamingModule) -> Dict[Text, Any]:
  """The metadata.json entry 'tflite' describing the streaming model."""

  def describe(specs):
    return [{'name': name, 'shape': spec.shape.as_list()}
            for name, spec in specs]

  inputs = [(spec.name, spec) for spec in streaming.input_signature()]
  outputs = sorted(
      streaming.stream.get_concrete_function().structured_outputs.items())
  return {
      'file': formats.TFLITE_FILE,
      'signature': 'serving_default',
      'inputs': describe(inputs),
      'outputs': describe(outputs),
      'carried_state': [name for name, _ in inputs[2:]],
      'hop_size': streaming.hop_size,
      'state_size': streaming.state_size,
      'n_harmonics': streaming.n_harmonics,
      'noise_tail_size': streaming.noise_tail_size,
      'phase_unit': 'cycles',
      'latency_samples': streaming.hop_size,
      'has_reverb': False,
      'ops': 'TFLITE_BUILTINS',
  }
