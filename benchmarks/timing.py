"""Timing helpers: warm up a callable, then report the median of repeats."""

import dataclasses
import statistics
import time
from typing import Callable, List


@dataclasses.dataclass
class Timing:
  """Median wall time of one call, in milliseconds, over `repeats` calls."""
  median_ms: float
  repeats: int


def time_callable(fn: Callable[[], object], repeats: int = 10,
                  warmup: int = 2) -> Timing:
  """Times `fn` after `warmup` untimed calls (tracing, XLA compilation).

  Args:
    fn: A zero-argument callable whose result is forced to materialize.
    repeats: Number of timed calls.
    warmup: Number of untimed calls first.

  Returns:
    The median duration of the timed calls.
  """
  for _ in range(warmup):
    _materialize(fn())
  durations: List[float] = []
  for _ in range(repeats):
    start = time.perf_counter()
    _materialize(fn())
    durations.append(time.perf_counter() - start)
  return Timing(median_ms=1000.0 * statistics.median(durations),
                repeats=repeats)


def time_interleaved(fns: List[Callable[[], object]], repeats: int = 10,
                     warmup: int = 2) -> List[Timing]:
  """Times several callables in turns, so that load changes hit them alike.

  Args:
    fns: Zero-argument callables.
    repeats: Number of timed rounds; each round calls every fn once.
    warmup: Number of untimed rounds first.

  Returns:
    The median duration of each fn, in order.
  """
  for _ in range(warmup):
    for fn in fns:
      _materialize(fn())
  durations: List[List[float]] = [[] for _ in fns]
  for _ in range(repeats):
    for fn, fn_durations in zip(fns, durations):
      start = time.perf_counter()
      _materialize(fn())
      fn_durations.append(time.perf_counter() - start)
  return [Timing(median_ms=1000.0 * statistics.median(d), repeats=repeats)
          for d in durations]


def _materialize(result: object) -> None:
  """Forces eager tensors (or nested structures of them) to be computed."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  for tensor in tf.nest.flatten(result):
    if hasattr(tensor, 'numpy'):
      tensor.numpy()
