"""Converts checkpoints trained by magenta/ddsp into ddsp_tf checkpoints.

The original (Keras 2) and ddsp_tf (Keras 3) keep the same weights under
different checkpoint keys: the original's Fc and FcStack are Keras
Sequentials, whose weighted sublayers are numbered `layer_with_weights-<i>`
(an Fc's Dense is 0, its LayerNormalization 1; a DilatedConvStack's
dilated convolution is a Sequential of a ReLU and the convolution), lists
are numbered `<i>/`, Dense and Conv kernels are `kernel`, and a
ProcessorGroup tracks its processors by name. ddsp_tf keeps sublayers in
lists (`.S<i>`) and attributes, Keras 3 names Dense and Conv kernels
`_kernel` (transposed convolutions keep `kernel`), and a ProcessorGroup
keeps its processors in `dag_modules`. `CHECKPOINT_RULES` rewrite the
original's
model keys into ddsp_tf's; `convert_checkpoint` builds the run's model in
ddsp_tf from the run's operative gin config, assigns the original's values
and saves them with ddsp_tf's Trainer at the original's step, so
`ddsp_tf_run`, `Model.restore` and `ddsp_tf_export` read it. The
original's Adam moments (m, v) become those of ddsp_tf's Keras 3 Adam: a
Keras 2.11+ optimizer names each slot '<optimizer>/m/<variable name>' in the
checkpoint's object graph, a legacy (optimizer_v2) one keys it
'<variable key>/.OPTIMIZER_SLOT/optimizer/m'. A checkpoint without slots
gets a fresh Adam state (zero moments).

Verified layouts (a checkpoint written by the original is the test
fixture): the Autoencoders of models/solo_instrument.gin (RnnFcDecoder,
Reverb), models/vst/vst.gin (RnnFcDecoder, FilteredNoiseReverb,
OnlineF0PowerPreprocessor), papers/iclr2020/nsynth_ae.gin (models/ae.gin:
MfccTimeDistributedRnnEncoder and RnnFcDecoder on z) and the same with a
DilatedConvDecoder conditioned on z (layer-norm ConditionalNorm, as
models/midiae's synthcoder), one with spectrally normalized convolutions,
with
the Adam moments of the original's Keras 2.11+ Adam for the last two and
of a legacy optimizer_v2 Adam (as the original trained before TF 2.11) for
nsynth_ae; the MidiAutoencoder of models/midiae/midiae.gin with the mixin
midi_encoder.gin (DilatedConvDecoder, HarmonicToMidiEncoder,
MidiToHarmonicDecoder) and the ZMidiAutoencoder of z_midiae.gin
(OneHotEncoder, MfccTimeDistributedRnnEncoder, ExpressionEncoder,
FcStackOut; without its note encoder, which the original cannot run);
and, as layers (tests/test_layer_golden.py), DilatedConvStacks that
downsample (spectrally normalized) and upsample (conditional).
`restore_original` maps the same keys in memory, for `Model.restore`.
"""

import logging
import os
import re
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import gin
import numpy as np
import tensorflow as tf

from tensorflow.core.protobuf import trackable_object_graph_pb2

from ddsp_tf import spectral_ops
from ddsp_tf.training import models
from ddsp_tf.training import train_util
from ddsp_tf.training import trainers

logger = logging.getLogger(__name__)

# (pattern, replacement) applied in order with re.sub to a model key
# (starting with 'model/', without VARIABLE_SUFFIX).
CHECKPOINT_RULES: Tuple[Tuple[Text, Text], ...] = (
    (r'input_stacks/(\d+)/', r'input_stacks.S\1/'),
    # ZMidiAutoencoder's lists of encoders.
    (r'(z_global_encoders|z_synth_encoders)/(\d+)/', r'\1.S\2/'),
    # FcStacks: RnnFcDecoder's input and output stacks, FcStackOut's stack.
    (r'(input_stacks\.S\d+|out_stack|(?<=/)stack)/layer_with_weights-(\d+)/',
     r'\1/fcs.S\2/'),
    (r'fcs\.S(\d+)/layer_with_weights-0/', r'fcs.S\1/dense/'),
    (r'fcs\.S(\d+)/layer_with_weights-1/(gamma|beta)$', r'fcs.S\1/norm/\2'),
    # DilatedConvDecoder's stack; DilatedConvStack's lists (each dilated
    # convolution is a Keras 2 Sequential of a ReLU and the convolution).
    (r'/dilated_conv_stack/', r'/stack/'),
    (r'/layers/(\d+)/layer_with_weights-0/', r'/convs.S\1/'),
    (r'/norms/(\d+)/', r'/norms.S\1/'),
    (r'/resample_layers/(\d+)/', r'/resamplers.S\1/'),
    # Keras 3 Dense and Conv layers keep their kernel as '_kernel' (RNN
    # cells keep 'kernel'), Embedding layers their table as '_embeddings'.
    (r'(?<!/cell)/kernel$', r'/_kernel'),
    (r'/embeddings$', r'/_embeddings'),
    # A spectrally normalized convolution: the original's wrapper keeps the
    # kernel as 'w' (ddsp_tf's wrapper 'kernel', after the rule above) and
    # the power-iteration vector as 'sn_u'.
    (r'/(conv_in|convs\.S\d+|resamplers\.S\d+)/w$', r'/\1/kernel'),
    (r'/(conv_in|convs\.S\d+|resamplers\.S\d+)/sn_u$', r'/\1/vector_u'),
    # A processor's weights (by the processor's gin name, e.g. 'reverb'):
    # Reverb's ir, FilteredNoiseReverb's magnitudes, ExpDecayReverb's gain
    # and decay.
    (r'^model/processor_group/([^/]+)/(ir|magnitudes|gain|decay)$',
     r'model/processor_group/dag_modules.S\1/_\2'),
)
VARIABLE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE'
MODEL_PREFIX = 'model/'
COMMAND = 'ddsp_tf_convert_checkpoint'

_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH'
# A legacy (optimizer_v2) slot: '<variable key>/.OPTIMIZER_SLOT/optimizer/m'.
_LEGACY_SLOT = re.compile(
    r'^(?P<var>.+)/\.OPTIMIZER_SLOT/optimizer/(?P<slot>m|v)'
    + re.escape(VARIABLE_SUFFIX) + '$')
# A Keras 2.11+ optimizer's slot variable name: '<optimizer>/m/<variable>'.
_SLOT_NAME = re.compile(r'^(?:[^/]+/)?(?P<slot>m|v)/(?P<var>.+)$')

# Keras 2 numbers the weighted sublayers of Sequentials and functional
# models; Keras 3 (ddsp_tf) never writes such keys.
_ORIGINAL_KEY = re.compile(r'^model/.*/layer_with_weights-\d+/')


def map_checkpoint_key(key: Text) -> Text:
  """A checkpoint key of the original -> the ddsp_tf checkpoint key.

  Args:
    key: A key such as
      'model/decoder/out_stack/layer_with_weights-0/layer_with_weights-1/'
      'gamma/.ATTRIBUTES/VARIABLE_VALUE' (the suffix is optional).

  Returns:
    The key of the same weight in ddsp_tf's checkpoint, with the same
    suffix (or none).
  """
  suffix = VARIABLE_SUFFIX if key.endswith(VARIABLE_SUFFIX) else ''
  key = key[:len(key) - len(suffix)]
  for pattern, replacement in CHECKPOINT_RULES:
    key = re.sub(pattern, replacement, key)
  return key + suffix


def looks_like_original(keys: Sequence[Text]) -> bool:
  """Whether checkpoint keys are laid out as magenta/ddsp (Keras 2) writes.

  Args:
    keys: The variable keys of a checkpoint (tf.train.list_variables).

  Returns:
    True if a model key names a Keras 2 `layer_with_weights-<i>` sublayer.
  """
  return any(_ORIGINAL_KEY.match(key) for key in keys)


def convert_command(original_checkpoint: Text) -> Text:
  """The shell command that converts an original checkpoint."""
  return (f'{COMMAND} --original_checkpoint={original_checkpoint} '
          '--save_dir=<new directory>')


def variable_at(root, key: Text) -> tf.Variable:
  """The variable of `root` that a ddsp_tf model key names.

  Args:
    root: The model.
    key: A key below 'model/' (e.g. 'decoder/out_stack/fcs.S0/norm/gamma'),
      with or without VARIABLE_SUFFIX: attribute names separated by '/',
      list items and dict entries as `<attribute>.S<item>`.

  Returns:
    The variable.

  Raises:
    KeyError: If the path does not lead to a variable of the model.
  """
  if key.endswith(VARIABLE_SUFFIX):
    key = key[:-len(VARIABLE_SUFFIX)]
  obj = root
  try:
    for part in key.split('/'):
      name, _, item = part.partition('.S')
      obj = getattr(obj, name)
      if item:
        obj = obj[int(item)] if isinstance(obj, (list, tuple)) else obj[item]
  except (AttributeError, KeyError, IndexError, ValueError, TypeError):
    raise KeyError(key) from None
  if not isinstance(obj, tf.Variable) and not hasattr(obj, 'assign'):
    raise KeyError(key)
  return obj


def _read_checkpoint(original_checkpoint: Text) -> Tuple[Text, Any]:
  """The checkpoint prefix and a reader of its variables."""
  prefix = train_util.get_latest_checkpoint(original_checkpoint)
  try:
    reader = tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, ValueError) as error:
    raise ValueError(f'Cannot read the checkpoint {prefix!r} (corrupt or '
                     f'incomplete files?): {error}') from None
  return prefix, reader


def _step(prefix: Text, reader: Any) -> int:
  """The training step of an original checkpoint (its optimizer's)."""
  for key in ('optimizer/iter' + VARIABLE_SUFFIX,
              'optimizer/_iterations' + VARIABLE_SUFFIX):
    if reader.has_tensor(key):
      return int(reader.get_tensor(key))
  match = re.search(r'-(\d+)$', prefix)
  return int(match.group(1)) if match else 0


def _full_names(reader: Any) -> Dict[Text, Text]:
  """checkpoint key -> the variable's name, from the object graph."""
  if not reader.has_tensor(_GRAPH_KEY):
    return {}
  graph = trackable_object_graph_pb2.TrackableObjectGraph()
  graph.ParseFromString(reader.get_tensor(_GRAPH_KEY))
  return {attribute.checkpoint_key: attribute.full_name
          for node in graph.nodes for attribute in node.attributes}


def adam_slots(reader: Any,
               model_keys: Sequence[Text]) -> Dict[Text, Dict[Text, Text]]:
  """The checkpoint keys of the original's Adam moments of each weight.

  Args:
    reader: A reader of the original's checkpoint (tf.train.load_checkpoint).
    model_keys: The original's model keys ('model/...' with
      VARIABLE_SUFFIX).

  Returns:
    {model key: {'m': key, 'v': key}} for the weights whose moments the
    checkpoint holds (empty if it holds no optimizer slots).

  Raises:
    ValueError: If two model weights share a variable name, so a Keras
      2.11+ slot cannot be told apart.
  """
  slots = {}
  for key in reader.get_variable_to_shape_map():
    match = _LEGACY_SLOT.match(key)
    if match:
      slots.setdefault(match.group('var') + VARIABLE_SUFFIX, {})[
          match.group('slot')] = key
  names = _full_names(reader)
  by_name = {}
  for key in model_keys:
    name = names.get(key)
    if name in by_name:
      raise ValueError(
          f'The original weights {by_name[name]!r} and {key!r} share the '
          f'variable name {name!r}: their Adam moments cannot be told apart. '
          'Pass --fresh_optimizer to drop the optimizer state.')
    if name:
      by_name[name] = key
  for key, name in names.items():
    match = _SLOT_NAME.match(name)
    if (key.startswith('optimizer/') and match
        and match.group('var') in by_name):
      slots.setdefault(by_name[match.group('var')], {})[
          match.group('slot')] = key
  return slots


def _assign_adam_state(reader: Any, optimizer: Any,
                       variables: Sequence[tf.Variable],
                       original_keys: Sequence[Text],
                       slots: Dict[Text, Dict[Text, Text]]) -> None:
  """Assigns the original's Adam moments to a built Keras 3 Adam.

  Args:
    reader: A reader of the original's checkpoint.
    optimizer: keras.optimizers.Adam built on `variables`.
    variables: ddsp_tf's trainable variables, in the optimizer's order.
    original_keys: The original's key of each variable.
    slots: adam_slots' result.

  Raises:
    ValueError: If some weights have moments and others have not, or a
      moment's shape differs from its weight's.
  """
  missing = [key for key in original_keys
             if set(slots.get(key, ())) != {'m', 'v'}]
  if missing:
    raise ValueError(
        f'The checkpoint holds Adam moments (m and v) for only some '
        f'weights; missing for {missing}. Pass --fresh_optimizer to drop '
        'the optimizer state.')
  for variable, key, m, v in zip(variables, original_keys,
                                 optimizer._momentums,  # pylint: disable=protected-access
                                 optimizer._velocities):  # pylint: disable=protected-access
    for slot, target in (('m', m), ('v', v)):
      value = reader.get_tensor(slots[key][slot])
      if np.shape(value) != tuple(variable.shape):
        raise ValueError(
            f'The Adam moment {slots[key][slot]!r} of {key!r} has shape '
            f'{np.shape(value)}, the weight {tuple(variable.shape)}.')
      target.assign(value)


def _run_config_text(path: Text) -> Text:
  """The original's operative config without its `import ddsp...` lines."""
  with tf.io.gfile.GFile(path) as f:
    lines = f.read().splitlines()
  return '\n'.join(line for line in lines
                   if not re.match(r'\s*import\s', line)) + '\n'


def _built_model(config_text: Text, gin_params: Sequence[Text]):
  """The gin model of the run, built by one call on zeros."""
  gin.clear_config()
  with gin.unlock_config():
    gin.parse_config(config_text, skip_unknown=True)
    gin.parse_config_files_and_bindings([], list(gin_params),
                                        skip_unknown=False)
  try:
    model = models.get_model()
  except (RuntimeError, ValueError, TypeError) as error:
    raise ValueError(
        'Cannot build the model of the run\'s operative config (it needs '
        f'get_model.model = @models.<Model>()): {error}') from None
  build_on_zeros(model)
  return model


def build_on_zeros(model: Any) -> None:
  """Creates a model's weights by one inference call on zero features.

  The lengths come from the model's preprocessor (its time_steps, sample
  rate and frame rate; 50 frames at 250 frames/s without one).

  Args:
    model: A ddsp_tf model taking f0_hz, loudness_db, f0_confidence and
      audio features (and, for the MIDI autoencoders, instrument_id and
      note_active_velocities).

  Raises:
    ValueError: If the call fails (the message has the model's error).
  """
  preprocessor = getattr(model, 'preprocessor', None)
  n_frames = getattr(preprocessor, 'time_steps', None) or 50
  sample_rate = getattr(preprocessor, 'sample_rate', 16000)
  hop_size = sample_rate // getattr(preprocessor, 'frame_rate', 250)
  n_samples = n_frames * hop_size
  if hasattr(preprocessor, 'padding') and hasattr(preprocessor, 'frame_size'):
    # Framed from the audio (OnlineF0PowerPreprocessor).
    n_frames = spectral_ops.get_framed_lengths(
        n_samples, preprocessor.frame_size, hop_size, preprocessor.padding)[0]
  zeros = tf.zeros([1, n_frames, 1])
  features = {'f0_hz': zeros + 100.0, 'loudness_db': zeros - 60.0,
              'f0_confidence': zeros + 1.0, 'audio': tf.zeros([1, n_samples]),
              # The MIDI autoencoders' instrument and ground-truth notes.
              'instrument_id': tf.zeros([1], tf.int64),
              'note_active_velocities': tf.zeros([1, n_frames, 128])}
  try:
    model(features, training=False)
  except (ValueError, TypeError, KeyError, tf.errors.OpError) as error:
    raise ValueError(
        f'Cannot build the {type(model).__name__} of the run\'s operative '
        'config by a call on zeros (f0_hz, loudness_db, f0_confidence, '
        f'audio, instrument_id, note_active_velocities): {error}') from None


def _model_keys(model, tmp_dir: Text) -> Dict[Text, List[int]]:
  """ddsp_tf's model keys (below 'model/') and shapes, from a saved copy."""
  prefix = tf.train.Checkpoint(model=model).write(
      os.path.join(tmp_dir, 'keys'))
  keys = {k[len(MODEL_PREFIX):]: shape
          for k, shape in tf.train.list_variables(prefix)
          if k.startswith(MODEL_PREFIX)}
  for name in tf.io.gfile.listdir(tmp_dir):
    tf.io.gfile.remove(os.path.join(tmp_dir, name))
  return keys


def _move_into(tmp_dir: Text, output_dir: Text) -> None:
  if tf.io.gfile.isdir(output_dir):
    tf.io.gfile.rmtree(output_dir)
  os.rename(tmp_dir, output_dir)


def _original_model_keys(reader: Any, scopes: Sequence[Text]) -> List[Text]:
  """The original's weight keys under any of scopes (not optimizer slots)."""
  return sorted(key for key in reader.get_variable_to_shape_map()
                if any(key.startswith(scope) for scope in scopes)
                and not _LEGACY_SLOT.match(key))


def _assign_original_weights(
    model, reader: Any, original_keys: Sequence[Text],
    ours: Dict[Text, List[int]], partial: bool = False
) -> Tuple[Dict[int, Text], List[Text]]:
  """Assigns the original's weights to the ddsp_tf model's variables.

  Args:
    model: The built ddsp_tf model.
    reader: A reader of the original's checkpoint.
    original_keys: The original's model keys to assign.
    ours: The ddsp_tf model's keys below 'model/' (those to fill).
    partial: Allow original keys that map onto no weight of `ours`, and
      weights of `ours` without a value.

  Returns:
    ({id(variable): the original's key} of the assigned variables, a list
    of problems: original keys that map onto no weight, shapes that differ,
    ddsp_tf weights left without a value; empty if all is well).
  """
  unmapped, mismatched, mapped = [], [], set()
  original_key_of = {}
  for key in original_keys:
    value = reader.get_tensor(key)
    new_key = map_checkpoint_key(key)[len(MODEL_PREFIX):]
    plain_kernel = re.sub(r'/_kernel(?=/|$)', '/kernel', new_key)
    if new_key not in ours and plain_kernel in ours:
      # Keras 3's transposed convolutions keep their kernel as 'kernel'.
      new_key = plain_kernel
    if new_key not in ours:
      unmapped.append(f'{key} -> {MODEL_PREFIX}{new_key}')
      continue
    variable = variable_at(model, new_key)
    if tuple(variable.shape) != np.shape(value):
      mismatched.append(f'{key}: {np.shape(value)}, ddsp_tf '
                        f'{MODEL_PREFIX}{new_key}: {tuple(variable.shape)}')
      continue
    variable.assign(value)
    mapped.add(new_key)
    original_key_of[id(variable)] = key
  missing = sorted(set(ours) - mapped)
  problems = []
  if unmapped and not partial:
    problems.append(f'{len(unmapped)} original keys map onto no weight of '
                    f'the ddsp_tf {type(model).__name__}: {unmapped}')
  if mismatched:
    problems.append(f'{len(mismatched)} shapes differ: {mismatched}')
  if missing and not unmapped and not mismatched and not partial:
    problems.append(f'{len(missing)} ddsp_tf weights have no value in the '
                    f'checkpoint: {missing}')
  return original_key_of, problems


def restore_original(model: Any, original_checkpoint: Text,
                     restore_keys: Optional[Sequence[Text]] = None,
                     partial: bool = False) -> Text:
  """Restores a checkpoint written by magenta/ddsp into a ddsp_tf model.

  What `Model.restore` does with such a checkpoint: the original's keys are
  mapped onto the model's weights in memory (as ddsp_tf_convert_checkpoint
  maps them; the optimizer state is ignored). A model without weights yet
  is built first by one inference call on zero features (build_on_zeros),
  since the original's keys can only be matched to existing weights.

  Args:
    model: A ddsp_tf model of the run's config.
    original_checkpoint: The original's checkpoint prefix or run directory.
    restore_keys: Names of the model's sub-modules to restore (e.g.
      ['decoder']); None restores the whole model.
    partial: Allow a checkpoint that holds only some of the model's
      weights, or weights the model has not.

  Returns:
    The checkpoint prefix restored.

  Raises:
    ValueError: If the checkpoint cannot be read, or (unless partial) its
      keys and the model's weights do not match one to one, or shapes
      differ; the message lists them.
  """
  prefix, reader = _read_checkpoint(original_checkpoint)
  scopes = [MODEL_PREFIX] if restore_keys is None else [
      f'{MODEL_PREFIX}{key}/' for key in restore_keys]
  original_keys = _original_model_keys(reader, scopes)
  modules = [model] if restore_keys is None else [
      getattr(model, key) for key in restore_keys]
  if not all(getattr(module, 'built', False) and module.weights
             for module in modules):
    build_on_zeros(model)
  with tempfile.TemporaryDirectory() as tmp_dir:
    ours = {key: shape for key, shape in _model_keys(model, tmp_dir).items()
            if any(f'{MODEL_PREFIX}{key}'.startswith(scope)
                   for scope in scopes)}
  _, problems = _assign_original_weights(model, reader, original_keys, ours,
                                         partial=partial)
  if problems:
    raise ValueError(
        f'The checkpoint {prefix!r} (written by magenta/ddsp) does not fit '
        f'this {type(model).__name__}: ' + '; '.join(problems)
        + f'. ddsp_tf keys: {sorted(ours)}. Pass partial=True to restore '
        'what matches.')
  logger.info('Restored %d weights of %s (written by magenta/ddsp) into '
              'the %s.', len(original_keys), prefix, type(model).__name__)
  return prefix


def convert_checkpoint(original_checkpoint: Text, output_dir: Text,
                       gin_file: Optional[Text] = None,
                       gin_params: Sequence[Text] = (),
                       overwrite: bool = False,
                       fresh_optimizer: bool = False) -> Text:
  """Converts a magenta/ddsp checkpoint into a ddsp_tf training directory.

  Replaces the global gin config with the run's (and clears it at the end).
  The checkpoint holds the original's Adam moments (or, if it has none or
  with fresh_optimizer, zero moments) and its step, so ddsp_tf_run resumes
  the optimizer, the step count and the learning-rate schedule from there.

  Args:
    original_checkpoint: A checkpoint prefix written by magenta/ddsp
      ('<run>/ckpt-N') or its run directory (the latest checkpoint).
    output_dir: Directory to write: 'ckpt-<step>' (step: the original's
      optimizer iterations) with its `checkpoint` file, and the run's
      operative config as 'operative_config-<step>.gin'. Written under a
      temporary name beside it and renamed, so a failure leaves nothing.
    gin_file: The run's operative config; default the latest
      operative_config-<N>.gin beside the checkpoint (or in its parent).
    gin_params: Extra gin bindings applied after the config.
    overwrite: Replace output_dir if it exists and is not empty.
    fresh_optimizer: Drop the original's Adam moments (zero moments).

  Returns:
    The prefix of the written checkpoint.

  Raises:
    FileNotFoundError: If there is no checkpoint or no operative config.
    FileExistsError: If output_dir is not empty and overwrite is False.
    ValueError: If the checkpoint cannot be read, holds no model, has
      model keys the rules cannot map onto the ddsp_tf model or shapes
      that differ (the message lists them), or leaves weights of the
      ddsp_tf model without a value, or Adam moments for only some
      weights.
  """
  output_dir = train_util.expand_path(output_dir)
  if (tf.io.gfile.isdir(output_dir) and tf.io.gfile.listdir(output_dir)
      and not overwrite):
    raise FileExistsError(
        f'output_dir {output_dir!r} exists and is not empty; choose a new '
        'directory or pass overwrite=True (--overwrite).')
  prefix, reader = _read_checkpoint(original_checkpoint)
  original_keys = _original_model_keys(reader, [MODEL_PREFIX])
  if not original_keys:
    raise ValueError(f'The checkpoint {prefix!r} holds no model weights (no '
                     f'key under {MODEL_PREFIX!r}).')
  if gin_file is None:
    gin_file = train_util.get_latest_operative_config(os.path.dirname(prefix))
  config_text = _run_config_text(gin_file)
  step = _step(prefix, reader)

  parent = os.path.dirname(output_dir.rstrip('/'))
  tf.io.gfile.makedirs(parent)
  tmp_dir = tempfile.mkdtemp(
      dir=parent, prefix=f'.{os.path.basename(output_dir)}.tmp-')
  os.chmod(tmp_dir, 0o755)  # mkdtemp's 0o700 would outlive the rename.
  try:
    model = _built_model(config_text, gin_params)
    ours = _model_keys(model, tmp_dir)
    original_key_of, problems = _assign_original_weights(
        model, reader, original_keys, ours)
    if problems:
      raise ValueError(
          f'Cannot convert {prefix!r} with the config {gin_file!r}: '
          + '; '.join(problems) + f'. ddsp_tf keys: {sorted(ours)}')

    # As ddsp_tf's Trainer writes it, so that ddsp_tf_run resumes from it:
    # the original's Adam moments (or zero ones) at the original's step.
    trainer = trainers.Trainer(model, tf.distribute.get_strategy())
    variables = model.trainable_variables
    trainer.optimizer.build(variables)
    slots = {} if fresh_optimizer else adam_slots(reader, original_keys)
    if slots:
      _assign_adam_state(reader, trainer.optimizer, variables,
                         [original_key_of[id(v)] for v in variables], slots)
    else:
      logger.info('%s: no Adam moments converted (%s); the optimizer starts '
                  'from zero moments.', prefix,
                  'fresh_optimizer' if fresh_optimizer else 'none found')
    trainer.step.assign(step)
    trainer.save(tmp_dir)
    train_util.write_text_atomically(
        os.path.join(tmp_dir,
                     f'{train_util.OPERATIVE_CONFIG_PREFIX}{step}.gin'),
        config_text)
    _move_into(tmp_dir, output_dir)
  except BaseException:
    if tf.io.gfile.isdir(tmp_dir):
      tf.io.gfile.rmtree(tmp_dir)
    raise
  finally:
    gin.clear_config()
  path = os.path.join(output_dir, f'{train_util.CHECKPOINT_PREFIX}{step}')
  logger.info('Converted %s (%d weights) into %s.', prefix,
              len(original_keys), path)
  return path
