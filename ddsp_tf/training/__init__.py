"""Training: data providers (more modules join as they are written)."""

from ddsp_tf.training import data
