"""ddsp_tf: Differentiable Digital Signal Processing for TensorFlow 2 / Keras 3.

`import ddsp_tf as ddsp` gives the same top-level modules as magenta/ddsp.
The training package is imported explicitly (`from ddsp_tf import training`).
"""

from ddsp_tf import core
from ddsp_tf import dags
from ddsp_tf import effects
from ddsp_tf import losses
from ddsp_tf import processors
from ddsp_tf import spectral_ops
from ddsp_tf import synths
from ddsp_tf.version import __version__
