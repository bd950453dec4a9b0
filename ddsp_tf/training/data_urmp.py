"""Providers for the URMP dataset's TFRecords (solo instrument tracks).

The files are magenta/ddsp's (gs://magentadata/datasets/urmp/urmp_20210324),
one set per instrument and split:
`urmp_{instrument}_solo_ddsp_conditioning_{split}[_{suffix}].tfrecord*`,
or `all_instruments_{split}[_{suffix}].tfrecord*` for every instrument.
`ddsp_tf.training.data` re-exports these classes (gin names `data.Urmp`,
`data.UrmpMidi`).
"""

import os
from typing import Dict, Optional, Union

import gin
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.training.data_base import _AUTOTUNE
from ddsp_tf.training.data_base import _GIN_MODULE
from ddsp_tf.training.data_base import LegacyTFRecordProvider

# The instruments in their id order (UrmpMidi's 'instrument_id').
INSTRUMENTS = ('vn', 'va', 'vc', 'db', 'fl', 'ob', 'cl', 'sax', 'bn', 'tpt',
               'hn', 'tbn', 'tba')
INSTRUMENT_KEYS = ('all',) + tuple(sorted(INSTRUMENTS))
# Note features hold one row of 128 MIDI pitches per frame.
N_MIDI_PITCHES = 128

# The variable-length features UrmpMidiUnsegmented returns dense.
_UNSEGMENTED_DENSE_KEYS = ('audio', 'f0_hz', 'loudness_db',
                           'note_active_velocities',
                           'note_active_frame_indices')

Feature = Union[tf.io.FixedLenFeature, tf.io.VarLenFeature]


@gin.register(module=_GIN_MODULE)
class Urmp(LegacyTFRecordProvider):
  """URMP solo tracks as 4-second examples at 16 kHz, 250 frames/s.

  Examples hold 'audio' [64000] and 'f0_hz', 'f0_confidence',
  'loudness_db' [1000] (LegacyTFRecordProvider's features).
  """

  def __init__(self, base_dir: str, instrument_key: str = 'tpt',
               split: str = 'train', suffix: Optional[str] = None):
    """Chooses the files.

    Args:
      base_dir: Folder of the URMP TFRecords.
      instrument_key: One instrument ('bn', 'cl', 'db', 'fl', 'hn', 'ob',
        'sax', 'tba', 'tbn', 'tpt', 'va', 'vc', 'vn') or 'all'.
      split: 'train' or 'test'.
      suffix: Appended to the split as '_{suffix}' when given: 'batched'
        files hold 4-second segments, 'unbatched' files whole recordings
        (read those with UrmpMidiUnsegmented).

    Raises:
      ValueError: For an unknown instrument_key or an empty base_dir/split.
    """
    validation.check_choice('instrument_key', instrument_key, INSTRUMENT_KEYS)
    for name, value in (('base_dir', base_dir), ('split', split)):
      if not isinstance(value, str) or not value:
        raise ValueError(f'{name} must be a non-empty string, got '
                         f'{name}={value!r}.')
    if suffix is not None and not isinstance(suffix, str):
      raise ValueError(f'suffix must be None or a string, got '
                       f'suffix={suffix!r}.')
    self.instrument_key = instrument_key
    self.split = split
    self.base_dir = base_dir
    self.suffix = '' if suffix is None else '_' + suffix
    super().__init__()

  @property
  def default_file_pattern(self) -> str:
    """The shard pattern of the instrument (or all) and split in base_dir."""
    if self.instrument_key == 'all':
      name = f'all_instruments_{self.split}{self.suffix}.tfrecord*'
    else:
      name = (f'urmp_{self.instrument_key}_solo_ddsp_conditioning_'
              f'{self.split}{self.suffix}.tfrecord*')
    return os.path.join(self.base_dir, name)

  def _no_files_message(self) -> str:
    return (f'No URMP file matches {self._file_pattern!r} (instrument_key='
            f'{self.instrument_key!r}, split={self.split!r}, suffix='
            f'{self.suffix[1:] or None!r}); check base_dir={self.base_dir!r}.')


def _instrument_table() -> tf.lookup.StaticHashTable:
  """Instrument key -> id (its index in INSTRUMENTS); -1 for others."""
  return tf.lookup.StaticHashTable(
      tf.lookup.KeyValueTensorInitializer(
          list(INSTRUMENTS), tf.range(len(INSTRUMENTS), dtype=tf.int32)),
      default_value=-1)


def _any_note_per_frame(flat: tf.Tensor) -> tf.Tensor:
  """[n_frames * 128] note events -> int64 [n_frames], 1 where any is set."""
  per_frame = tf.reduce_sum(tf.reshape(flat, [-1, N_MIDI_PITCHES]), axis=-1)
  return tf.cast(per_frame > 0, tf.int64)


def _add_note_features(example: Dict[str, tf.Tensor],
                       table: tf.lookup.StaticHashTable
                       ) -> Dict[str, tf.Tensor]:
  """Reshapes the dense note features and derives midi, onsets, offsets.

  'note_active_frame_indices' and 'note_active_velocities' become
  [n_frames, 128]; 'midi' is the argmax pitch of each frame (0 for a frame
  without a note); 'onsets' and 'offsets' mark frames with any note
  starting or ending; 'instrument_id' becomes the instrument's id;
  'f0_hz' and 'loudness_db' get a channel axis.
  """
  example = dict(example)
  for key in ('note_active_frame_indices', 'note_active_velocities'):
    example[key] = tf.reshape(example[key], [-1, N_MIDI_PITCHES])
  example['instrument_id'] = table.lookup(example['instrument_id'])
  example['midi'] = tf.argmax(example['note_active_frame_indices'], axis=-1)
  example['f0_hz'] = example['f0_hz'][..., tf.newaxis]
  example['loudness_db'] = example['loudness_db'][..., tf.newaxis]
  example['onsets'] = _any_note_per_frame(example['note_onsets'])
  example['offsets'] = _any_note_per_frame(example['note_offsets'])
  return example


@gin.register(module=_GIN_MODULE)
class UrmpMidi(Urmp):
  """URMP 4-second segments with their MIDI notes.

  Besides Urmp's features ('f0_hz' and 'loudness_db' as [1000, 1]),
  examples hold 'note_active_velocities' and 'note_active_frame_indices'
  [1000, 128], 'note_onsets' and 'note_offsets' [1000 * 128], 'power_db'
  [1000], 'instrument_id' (int32 id, the index in INSTRUMENTS; -1 for an
  unknown key) and 'recording_id' (string), plus the derived 'midi'
  (int64 [1000], argmax pitch per frame), 'onsets' and 'offsets' (int64
  [1000], 1 where a note starts or ends). For whole recordings use
  UrmpMidiUnsegmented.
  """

  _INSTRUMENTS = list(INSTRUMENTS)

  @property
  def features_dict(self) -> Dict[str, Feature]:
    """The feature spec parsed from each record."""
    spec = super().features_dict
    notes = tf.io.FixedLenFeature([self._n_frames * N_MIDI_PITCHES],
                                  tf.float32)
    spec.update({
        'note_active_velocities': notes,
        'note_active_frame_indices': notes,
        'note_onsets': notes,
        'note_offsets': notes,
        'power_db': tf.io.FixedLenFeature([self._n_frames], tf.float32),
        'instrument_id': tf.io.FixedLenFeature([], tf.string),
        'recording_id': tf.io.FixedLenFeature([], tf.string),
    })
    return spec

  def get_dataset(self, shuffle: bool = True) -> tf.data.Dataset:
    """Parsed examples with the note features (see the class)."""
    table = _instrument_table()
    return super().get_dataset(shuffle).map(
        lambda example: _add_note_features(example, table),
        num_parallel_calls=_AUTOTUNE)


class UrmpMidiUnsegmented(Urmp):
  """URMP whole recordings ('unbatched' files) with their MIDI notes.

  The features are UrmpMidi's, of each recording's own length. As in
  magenta/ddsp, 'audio', 'f0_hz', 'loudness_db' and the note features are
  dense, while 'f0_confidence', 'power_db', 'note_onsets' and
  'note_offsets' stay tf.SparseTensor (tf.sparse.to_dense them). Not gin
  registered, as in the original.
  """

  _INSTRUMENTS = list(INSTRUMENTS)

  @property
  def features_dict(self) -> Dict[str, Feature]:
    """The feature spec parsed from each record."""
    spec = {key: tf.io.VarLenFeature(tf.float32) for key in (
        'audio', 'f0_hz', 'f0_confidence', 'loudness_db', 'power_db',
        'note_active_velocities', 'note_active_frame_indices', 'note_onsets',
        'note_offsets')}
    spec.update({'instrument_id': tf.io.FixedLenFeature([], tf.string),
                 'recording_id': tf.io.FixedLenFeature([], tf.string)})
    return spec

  def get_dataset(self, shuffle: bool = True) -> tf.data.Dataset:
    """Parsed recordings with the note features (see the class)."""
    table = _instrument_table()

    def add_notes(example):
      example = dict(example)
      events = {key: example[key] for key in ('note_onsets', 'note_offsets')}
      for key in _UNSEGMENTED_DENSE_KEYS + tuple(events):
        example[key] = tf.sparse.to_dense(example[key])
      example = _add_note_features(example, table)
      # The note events are densified only to derive 'onsets'/'offsets'.
      example.update(events)
      return example

    return super().get_dataset(shuffle).map(add_notes,
                                            num_parallel_calls=_AUTOTUNE)
