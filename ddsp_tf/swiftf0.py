"""SwiftF0 pitch tracking: the `swift-f0` package behind ddsp_tf's pitch API.

SwiftF0 (the `swift-f0` package, MIT; a 14k-parameter ONNX model run by
onnxruntime) analyses 16 kHz audio in 256-sample (16 ms) frames: frame i is
centred on sample i * 256 of the audio it is given, and there are
max(1, n_samples // 256) frames. It reports a pitch between 46.875 and
2093.75 Hz and a confidence in [0, 1] calibrated so that a frame is voiced at
0.5 or more; frames whose audio peaks below 1e-3 (digital silence) get
confidence 0.

This module runs the model on [batch, n_samples] 16 kHz audio and returns
its native frames. `pitch.compute_f0(..., f0_estimator='swiftf0')` puts them
on any frame rate. The package is optional (`pip install "ddsp_tf[swiftf0]"`);
importing this module does not need it, asking for a detector does.
"""

import functools
from typing import Any, Tuple

import numpy as np

SAMPLE_RATE = 16000
HOP_SIZE = 256  # Samples between SwiftF0 frames at 16 kHz (16 ms).
F0_MIN_HZ = 46.875
F0_MAX_HZ = 2093.75
INSTALL_HINT = 'pip install "ddsp_tf[swiftf0]"'


def _import_package() -> Any:
  """The swift_f0 module, or an ImportError that says how to install it."""
  try:
    import swift_f0  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise ImportError(
        "f0_estimator='swiftf0' needs the swift-f0 package, which is not "
        f'installed ({error}). Install it with: {INSTALL_HINT}') from error
  return swift_f0


def check_installed() -> None:
  """Raises ImportError, naming the pip command, without swift-f0."""
  _import_package()


@functools.lru_cache(maxsize=None)
def _cached_detector(threads: int) -> Any:
  return _import_package().SwiftF0(threads=threads or None, spin=False)


def get_detector(threads: int = 0) -> Any:
  """A shared `swift_f0.SwiftF0` detector (built once per process).

  Args:
    threads: onnxruntime threads; 0 lets the package choose (the number of
      physical cores).

  Returns:
    The detector.

  Raises:
    ImportError: If swift-f0 is not installed; the message names the pip
      command.
  """
  _import_package()  # Fails with the install hint even when one is cached.
  return _cached_detector(int(threads))


def reset() -> None:
  """Forgets the loaded detectors."""
  _cached_detector.cache_clear()


def n_frames(n_samples_16k: int) -> int:
  """SwiftF0's frame count for n_samples_16k samples at 16 kHz."""
  return max(1, int(n_samples_16k) // HOP_SIZE)


def f0_and_confidence(audio_16k: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """SwiftF0 pitch and confidence of 16 kHz audio at its native 16 ms hop.

  Every frame gets a finite pitch inside [F0_MIN_HZ, F0_MAX_HZ], unvoiced and
  silent ones included (the model's best guess, meaningless where the
  confidence is low), as CREPE gives every frame a pitch.

  Args:
    audio_16k: [batch, n_samples] finite audio at 16 kHz.

  Returns:
    (f0_hz, confidence), float64 [batch, n_frames(n_samples)]; frame i is
    centred on sample i * HOP_SIZE.

  Raises:
    ImportError: If swift-f0 is not installed.
    ValueError: For audio that is not 2-D or has no samples.
  """
  audio_16k = np.asarray(audio_16k)
  if audio_16k.ndim != 2 or audio_16k.shape[-1] == 0:
    raise ValueError('SwiftF0 needs [batch, n_samples] audio with samples, '
                     f'got shape {list(audio_16k.shape)}.')
  detector = get_detector()
  f0_rows, confidence_rows = [], []
  for row in audio_16k:
    result = detector.detect(row.astype(np.float32), SAMPLE_RATE)
    f0_rows.append(result.pitch_hz)
    confidence_rows.append(result.confidence)
  f0_hz = np.clip(np.nan_to_num(np.stack(f0_rows), nan=F0_MIN_HZ),
                  F0_MIN_HZ, F0_MAX_HZ)
  confidence = np.clip(np.nan_to_num(np.stack(confidence_rows)), 0.0, 1.0)
  return f0_hz, confidence
