"""Losses: spectral, parameter, embedding and sinusoidal-consistency losses.

Every loss is a Keras layer (`Loss`) whose call returns a scalar, or a dict
of named scalars. `Loss.get_losses_dict` wraps a scalar as
`{layer name: scalar}`, which is what `LossGroup` (a DAG of losses, see
dags.py) collects into one flat dict for the trainer.

`mean_difference` is the shared building block: an L1, L2 or cosine
comparison of two tensors of the same shape. `SpectralLoss` compares
multi-scale STFT magnitudes and is the main training loss of DDSP.

Behaviour that differs from magenta/ddsp on purpose (see each docstring):
- COSINE in `mean_difference` normalises both inputs (the TF1 function the
  original called assumed unit vectors and is gone from TF2).
- `WassersteinConsistencyLoss(midi=False)` compares in Hz (the original
  returned 0 whenever midi was False).
- A loss whose call returns a dict (`HarmonicConsistencyLoss`) contributes
  those keys directly to `get_losses_dict`, so `LossGroup` output stays flat.
- Target/value shape mismatches and unknown loss types raise ValueError at
  the call instead of broadcasting silently.

Numerical improvements are options, off by default (the README's table):
`wasserstein_distance(..., normalize_weights=True)` and
`WassersteinConsistencyLoss(normalize_weights=True)` normalise the weighted
CDFs, which the original computed and discarded.

The code lives in submodules; this package re-exports their names, so
`ddsp_tf.losses.<name>` (and the gin names `ddsp_tf.losses.<name>`) stay
what they were when this was one module:
- base.py: argument checks, `Loss`, `LossGroup`, `mean_difference`,
  `amp_loss`, `freq_loss`.
- spectral.py: `SpectralLoss`, `EmbeddingLoss`, `ParamLoss`.
- consistency.py: `FilteredNoiseConsistencyLoss`, `HarmonicConsistencyLoss`,
  `wasserstein_distance`, `WassersteinConsistencyLoss`,
  `KDEConsistencyLoss`.
- pitch.py: `TWMLoss`, `HmmTranscriber`.
- crepe_losses.py: `PretrainedCREPE` (a frozen CREPE layer, Keras name
  'ddsp_tf.losses>PretrainedCREPE'), `PretrainedCREPEEmbeddingLoss`.
"""

from ddsp_tf.losses.base import amp_loss
from ddsp_tf.losses.base import freq_loss
from ddsp_tf.losses.base import Loss
from ddsp_tf.losses.base import LOSS_TYPES
from ddsp_tf.losses.base import LossGroup
from ddsp_tf.losses.base import mean_difference
from ddsp_tf.losses.base import TensorDict
from ddsp_tf.losses.consistency import FilteredNoiseConsistencyLoss
from ddsp_tf.losses.consistency import HarmonicConsistencyLoss
from ddsp_tf.losses.consistency import KDEConsistencyLoss
from ddsp_tf.losses.consistency import tfd
from ddsp_tf.losses.consistency import wasserstein_distance
from ddsp_tf.losses.consistency import WassersteinConsistencyLoss
from ddsp_tf.losses.crepe_losses import _CREPE_LAYER_SCALES
from ddsp_tf.losses.crepe_losses import PretrainedCREPE
from ddsp_tf.losses.crepe_losses import PretrainedCREPEEmbeddingLoss
from ddsp_tf.losses.pitch import HmmTranscriber
from ddsp_tf.losses.pitch import TWMLoss
from ddsp_tf.losses.spectral import _LOUDNESS_FRAME_RATE
from ddsp_tf.losses.spectral import _LOUDNESS_N_FFT
from ddsp_tf.losses.spectral import _SPECTRAL_OVERLAP
from ddsp_tf.losses.spectral import EmbeddingLoss
from ddsp_tf.losses.spectral import ParamLoss
from ddsp_tf.losses.spectral import SpectralLoss
