"""Note regions of a monophonic part, and statistics pooled over them.

A quantized pitch (or velocity) curve is cut into regions: a region starts
at the first frame and wherever the value changes (`get_note_mask`) or
wherever an onset is marked (`get_note_mask_from_onset`). The mask of
region i is channel i of a [batch, n_frames, max_regions] float tensor;
regions past max_regions are dropped. Statistics of any frame-wise value
are then taken per region (`get_note_moments`), spread back over the
frames of each region (`pool_over_notes`), or used to find short notes
(`get_short_note_loss_mask`).

The public names are re-exported by, and documented as part of,
`ddsp_tf.training.nn`.
"""

from typing import Text, Tuple, Union

import tensorflow as tf

from ddsp_tf import core
from ddsp_tf import validation

Moments = Union[tf.Tensor, Tuple[tf.Tensor, tf.Tensor]]


def _frames(name: Text, x: tf.Tensor) -> tf.Tensor:
  """[batch, n_frames] from [batch, n_frames] or [batch, n_frames, 1]."""
  x = tf.convert_to_tensor(x)
  validation.check_rank(name, x, (2, 3), '[batch, n_frames(, 1)]')
  return x[:, :, 0] if x.shape.rank == 3 else x


def _region_masks(starts: tf.Tensor, max_regions: int) -> tf.Tensor:
  """One-hot region masks from int region starts [batch, n_frames].

  The region index of a frame is the number of starts up to and including
  it, minus one; indices >= max_regions get no region.
  """
  max_regions = validation.check_int('max_regions', max_regions)
  region_index = tf.cumsum(starts, axis=1) - 1
  return tf.one_hot(region_index, max_regions, dtype=tf.float32)


def get_note_mask(q_pitch: tf.Tensor, max_regions: int = 100,
                  note_on_only: bool = True) -> tf.Tensor:
  """Masks of the regions of constant value of a quantized curve.

  A region starts at frame 0 and at every later frame whose value differs
  from the previous frame's, except the last frame: as in the original, a
  change on the last frame does not start a region, so that frame joins
  the region before it. Each change (note-on or note-off) starts a region,
  so rests are regions too.

  Args:
    q_pitch: Quantized values (pitch, velocity), [batch, n_frames] or
      [batch, n_frames, 1].
    max_regions: Channels of the mask; later regions are dropped.
    note_on_only: Zero the masks of regions whose mean value is not > 0
      (rests).

  Returns:
    Float 0/1 masks [batch, n_frames, max_regions].
  """
  q_pitch = _frames('q_pitch', q_pitch)
  previous = tf.concat([q_pitch[:, :1], q_pitch[:, :-1]], axis=1)
  frame = tf.range(tf.shape(q_pitch)[1])[tf.newaxis, :]
  last = tf.shape(q_pitch)[1] - 1
  starts = tf.logical_or(
      tf.equal(frame, 0),
      tf.logical_and(tf.not_equal(q_pitch, previous), frame < last))
  note_mask = _region_masks(tf.cast(starts, tf.int32), max_regions)
  if note_on_only:
    note_values = get_note_moments(q_pitch, note_mask, return_std=False)
    note_mask *= tf.cast(note_values > 0.0, tf.float32)[:, tf.newaxis, :]
  return note_mask


def get_note_mask_from_onset(q_pitch: tf.Tensor, onset: tf.Tensor,
                             max_regions: int = 100,
                             note_on_only: bool = True) -> tf.Tensor:
  """Masks of the regions that start at each onset.

  A region starts at frame 0 and at every later frame marked by onset (its
  value cast to an integer is added to the region count, so mark onsets
  with 1).

  Args:
    q_pitch: Quantized values, [batch, n_frames] or [batch, n_frames, 1].
    onset: Onset marks, 1 at an onset and 0 elsewhere, same shape.
    max_regions: Channels of the mask; later regions are dropped.
    note_on_only: Zero each mask on the frames where q_pitch is not > 0
      (frame by frame, unlike get_note_mask).

  Returns:
    Float 0/1 masks [batch, n_frames, max_regions].
  """
  q_pitch = _frames('q_pitch', q_pitch)
  onset = _frames('onset', onset)
  validation.check_same_static_dims(('q_pitch', 'onset'), q_pitch, onset,
                                    (0, 1))
  starts = tf.concat([tf.ones_like(onset[:, :1], dtype=tf.int32),
                      tf.cast(onset[:, 1:], tf.int32)], axis=1)
  note_mask = _region_masks(starts, max_regions)
  if note_on_only:
    note_mask *= tf.cast(q_pitch > 0, tf.float32)[:, :, tf.newaxis]
  return note_mask


def get_note_lengths(note_mask: tf.Tensor) -> tf.Tensor:
  """Frames in each region: [batch, n_frames, notes] -> [batch, notes]."""
  return tf.reduce_sum(note_mask, axis=1)


def _safe_sqrt(x: tf.Tensor) -> tf.Tensor:
  """sqrt with a zero (not infinite) gradient at 0."""
  positive = x > 0.0
  return tf.where(positive, tf.sqrt(tf.where(positive, x, 1.0)), 0.0)


def get_note_moments(x: tf.Tensor, note_mask: tf.Tensor,
                     return_std: bool = True) -> Moments:
  """Mean (and standard deviation) of x over the frames of each region.

  Empty regions give 0.

  Args:
    x: Frame-wise values, [batch, n_frames, dims] or [batch, n_frames].
    note_mask: Region masks [batch, n_frames, notes].
    return_std: Also return the standard deviation (population, over the
      region's frames).

  Returns:
    mean, or (mean, std), each [batch, notes, dims] ([batch, notes] for a
    2-D x).
  """
  x = core.tf_float32(x)
  note_mask = core.tf_float32(note_mask)
  validation.check_rank('x', x, (2, 3), '[batch, n_frames(, dims)]')
  validation.check_rank('note_mask', note_mask, (3,),
                        '[batch, n_frames, notes]')
  is_2d = x.shape.rank == 2
  if is_2d:
    x = x[:, :, tf.newaxis]
  mask = note_mask[:, :, :, tf.newaxis]  # [b, t, n, 1]
  lengths = tf.reduce_sum(mask, axis=1)  # [b, n, 1]
  x = x[:, :, tf.newaxis, :]  # [b, t, 1, d]
  mean = core.safe_divide(tf.reduce_sum(x * mask, axis=1), lengths)
  deviation = (x - mean[:, tf.newaxis]) * mask  # [b, t, n, d]
  std = _safe_sqrt(core.safe_divide(tf.reduce_sum(deviation**2, axis=1),
                                    lengths))
  if is_2d:
    mean, std = mean[:, :, 0], std[:, :, 0]
  return (mean, std) if return_std else mean


def pool_over_notes(x: tf.Tensor, note_mask: tf.Tensor,
                    return_std: bool = True) -> Moments:
  """Replaces x on each region's frames by the region's mean (and std).

  Frames in no region get 0; frames in several regions get the sum.

  Args:
    x: Frame-wise values, [batch, n_frames, dims] (or [batch, n_frames]).
    note_mask: Region masks [batch, n_frames, notes].
    return_std: Also return the region standard deviations, pooled alike.

  Returns:
    mean, or (mean, std), each shaped like x.
  """
  x = core.tf_float32(x)
  is_2d = x.shape.rank == 2
  if is_2d:
    x = x[:, :, tf.newaxis]
  mean, std = get_note_moments(x, note_mask, return_std=True)  # [b, n, d]

  def spread(per_note: tf.Tensor) -> tf.Tensor:
    # [b, t, n] @ [b, n, d] -> [b, t, d].
    pooled = tf.matmul(core.tf_float32(note_mask), per_note)
    return pooled[:, :, 0] if is_2d else pooled

  return (spread(mean), spread(std)) if return_std else spread(mean)


def get_short_note_loss_mask(note_mask: tf.Tensor, note_lengths: tf.Tensor,
                             note_pitches: tf.Tensor,
                             min_length: int = 40) -> tf.Tensor:
  """1 on the frames of sounding notes shorter than min_length frames.

  Args:
    note_mask: Region masks [batch, n_frames, notes].
    note_lengths: Frames per region [batch, notes] (get_note_lengths).
    note_pitches: Mean pitch per region [batch, notes] (get_note_moments);
      only regions with pitch > 0 count.
    min_length: Regions with fewer frames are short.

  Returns:
    Float mask [batch, n_frames] (the sum over the short regions' masks).
  """
  short = tf.logical_and(note_lengths < min_length, note_pitches > 0.0)
  short_mask = core.tf_float32(note_mask) * tf.cast(
      short, tf.float32)[:, tf.newaxis, :]
  return tf.reduce_sum(short_mask, axis=-1)
