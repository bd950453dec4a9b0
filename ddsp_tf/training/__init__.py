"""Training: data providers (more modules join as they are written)."""

from ddsp_tf.training import data
from ddsp_tf.training import decoders
from ddsp_tf.training import encoders
from ddsp_tf.training import eval_util
from ddsp_tf.training import evaluators
from ddsp_tf.training import metrics
from ddsp_tf.training import models
from ddsp_tf.training import nn
from ddsp_tf.training import plotting
from ddsp_tf.training import preprocessing
from ddsp_tf.training import summaries
from ddsp_tf.training import train_util
from ddsp_tf.training import trainers
