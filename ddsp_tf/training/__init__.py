"""The training library: data, networks, models, training and evaluation.

Imports the modules magenta/ddsp's `ddsp.training` imports, so their gin
configurables are registered. The original's console-script modules
(`ddsp_run`, `ddsp_export`, `data_preparation`) are imported on demand.
"""

from ddsp_tf.training import cloud
from ddsp_tf.training import data
from ddsp_tf.training import decoders
from ddsp_tf.training import encoders
from ddsp_tf.training import eval_util
from ddsp_tf.training import evaluators
from ddsp_tf.training import heuristics
from ddsp_tf.training import inference
from ddsp_tf.training import metrics
from ddsp_tf.training import models
from ddsp_tf.training import nn
from ddsp_tf.training import plotting
from ddsp_tf.training import postprocessing
from ddsp_tf.training import preprocessing
from ddsp_tf.training import summaries
from ddsp_tf.training import train_util
from ddsp_tf.training import trainers
