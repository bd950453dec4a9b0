"""Providers that combine several data providers: zipped or mixed.

`ZippedProvider` pairs examples of its providers (each batch is a tuple
with one batch per provider, e.g. synthetic notes and real audio for
ICML 2020's fine-tuning); `MixedProvider` samples each example from one of
its providers. Both live in `ddsp_tf.training.data` (gin names
`data.ZippedProvider`, ...), which re-exports them.
"""

import math
import numbers
from typing import List, Sequence

import gin
import tensorflow as tf

from ddsp_tf import validation
from ddsp_tf.training.data_base import _AUTOTUNE
from ddsp_tf.training.data_base import _GIN_MODULE
from ddsp_tf.training.data_base import DataProvider

_PROVIDER_ATTRIBUTES = ('sample_rate', 'frame_rate', 'get_dataset')


def _check_ratios(ratios: Sequence[float], n_providers: int) -> List[float]:
  """The batch size ratios normalized to sum to 1.

  Raises:
    ValueError: For a count that differs from the providers' or a ratio
      that is not a positive finite number.
  """
  ratios = list(ratios)
  if len(ratios) != n_providers:
    raise ValueError(
        f'batch_size_ratios needs one ratio per data provider: got '
        f'{len(ratios)} ratios ({ratios!r}) for {n_providers} providers.')
  for ratio in ratios:
    if (isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or
        not math.isfinite(ratio) or ratio <= 0):
      raise ValueError(f'batch_size_ratios must be positive finite numbers, '
                       f'got batch_size_ratios={ratios!r}.')
  total = float(sum(ratios))
  return [float(ratio) / total for ratio in ratios]


def _common_rate(providers: Sequence[DataProvider], name: str) -> int:
  """The rate (sample_rate or frame_rate) that all providers share.

  Raises:
    ValueError: Listing each provider's rate when they differ.
  """
  rates = [getattr(provider, name) for provider in providers]
  if len(set(rates)) > 1:
    listing = ', '.join(f'{type(provider).__name__}: {rate}'
                        for provider, rate in zip(providers, rates))
    raise ValueError(f'The data providers must share one {name}, got '
                     f'{listing}.')
  return rates[0]


@gin.register(module=_GIN_MODULE)
class BaseMultiProvider(DataProvider):
  """Base class of the providers that combine other providers."""

  def __init__(self, data_providers: Sequence[DataProvider],
               batch_size_ratios: Sequence[float] = ()):
    """Checks that the providers fit together.

    Args:
      data_providers: The providers to combine; they must share one
        sample_rate and one frame_rate.
      batch_size_ratios: Relative share of each provider, e.g. (2, 1) for
        twice as many examples from the first as from the second; they are
        normalized to sum to 1. Empty: each provider's share is 1 (zipped
        batches then hold batch_size examples of every provider; mixing
        draws evenly).

    Raises:
      ValueError: For no providers, rates that differ, or ratios that do
        not fit the providers.
    """
    data_providers = list(data_providers or ())
    if not data_providers:
      raise ValueError('data_providers must list at least one data provider, '
                       f'got data_providers={data_providers!r}.')
    for provider in data_providers:
      if not all(hasattr(provider, name) for name in _PROVIDER_ATTRIBUTES):
        raise ValueError(
            'data_providers must be data providers (with '
            f'{", ".join(_PROVIDER_ATTRIBUTES)}), got {provider!r}.')
    if batch_size_ratios:
      ratios = _check_ratios(batch_size_ratios, len(data_providers))
    else:
      ratios = [1.0] * len(data_providers)
    super().__init__(_common_rate(data_providers, 'sample_rate'),
                     _common_rate(data_providers, 'frame_rate'))
    self._data_providers = data_providers
    self._batch_size_ratios = ratios

  @property
  def data_providers(self) -> List[DataProvider]:
    """The combined providers."""
    return list(self._data_providers)

  @property
  def batch_size_ratios(self) -> List[float]:
    """Each provider's share (normalized, or 1 each when none was given)."""
    return list(self._batch_size_ratios)


@gin.register(module=_GIN_MODULE)
class ZippedProvider(BaseMultiProvider):
  """Zips the providers' datasets: elements are tuples, one per provider."""

  def get_dataset(self, shuffle: bool = True) -> tf.data.Dataset:
    """Tuples of examples, one from each provider.

    The dataset ends with the shortest provider's.

    Args:
      shuffle: Shuffle each provider's files.

    Returns:
      A tf.data.Dataset of (features_0, features_1, ...).
    """
    return tf.data.Dataset.zip(tuple(
        provider.get_dataset(shuffle) for provider in self._data_providers))

  def batch_sizes(self, batch_size: int) -> List[int]:
    """Each provider's part of a batch: int(batch_size * ratio).

    Args:
      batch_size: The batch size to share out.

    Returns:
      One batch size per provider.

    Raises:
      ValueError: If a provider's part would be empty.
    """
    batch_size = validation.check_int('batch_size', batch_size)
    sizes = [int(batch_size * ratio) for ratio in self._batch_size_ratios]
    if min(sizes) < 1:
      raise ValueError(
          f'batch_size={batch_size} with batch_size_ratios '
          f'{self._batch_size_ratios} gives batch sizes {sizes}; every '
          'provider needs at least one example per batch, so use a larger '
          'batch_size or less uneven ratios.')
    return sizes

  def get_batch(self, batch_size: int, shuffle: bool = True, repeats: int = -1,
                drop_remainder: bool = False) -> tf.data.Dataset:
    """Tuples of batches, one from each provider, of its share of the batch.

    Each provider's dataset is batched on its own (batch_sizes), then the
    batches are zipped: with ratios (3, 1) and batch_size 8, each element
    holds a batch of 6 from the first provider and of 2 from the second.

    Args:
      batch_size: Examples per element, summed over the providers (or per
        provider, when no ratios were given).
      shuffle: Shuffle each provider's files.
      repeats: Passes over the zipped data; -1 repeats forever.
      drop_remainder: Drop each provider's last short batch.

    Returns:
      A tf.data.Dataset of (batch_0, batch_1, ...).
    """
    sizes = self.batch_sizes(batch_size)
    dataset = tf.data.Dataset.zip(tuple(
        provider.get_dataset(shuffle).batch(size,
                                            drop_remainder=drop_remainder)
        for size, provider in zip(sizes, self._data_providers)))
    return dataset.repeat(repeats).prefetch(_AUTOTUNE)


@gin.register(module=_GIN_MODULE)
class MixedProvider(BaseMultiProvider):
  """Draws each example from one provider, chosen at random by the ratios."""

  def get_dataset(self, shuffle: bool = True) -> tf.data.Dataset:
    """Examples sampled from the providers with the ratios as weights.

    When a provider's dataset ends, the others continue.

    Args:
      shuffle: Shuffle each provider's files.

    Returns:
      A tf.data.Dataset of feature dicts.

    Raises:
      ValueError: If the providers' examples differ in keys, dtypes or
        shapes (they cannot then share one dataset).
    """
    datasets = [provider.get_dataset(shuffle)
                for provider in self._data_providers]
    specs = [dataset.element_spec for dataset in datasets]
    for provider, spec in zip(self._data_providers[1:], specs[1:]):
      try:
        tf.nest.assert_same_structure(specs[0], spec)
        compatible = all(
            a.dtype == b.dtype and (a.shape.is_compatible_with(b.shape))
            for a, b in zip(tf.nest.flatten(specs[0]), tf.nest.flatten(spec)))
      except (TypeError, ValueError):
        compatible = False
      if not compatible:
        raise ValueError(
            'MixedProvider needs providers whose examples have the same '
            f'features; {type(self._data_providers[0]).__name__} gives '
            f'{specs[0]} but {type(provider).__name__} gives {spec}.')
    return tf.data.Dataset.sample_from_datasets(
        datasets, weights=self._batch_size_ratios)
