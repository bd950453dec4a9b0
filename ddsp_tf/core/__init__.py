"""Differentiable DSP primitives: pure TensorFlow functions with no Keras state.

Conventions: audio is `[batch, n_samples]`, frame-wise controls are
`[batch, n_frames, channels]`, frequencies are in Hz and everything is float32
unless a docstring says otherwise. Public functions validate their arguments up
front and raise `ValueError` naming the received value.

Every function and constant is reachable here as `ddsp_tf.core.<name>` (the
private helpers too), whichever submodule holds it. Submodules, bottom up
(each imports only the ones above it):

- `utils`: tf_float32, make_iterable, to_dict, copy_if_tf_function,
  nested_keys, nested_lookup, leaf_key, map_shape, pad_axis, diff.
- `numerics`: nan_to_num, safe_divide, safe_log, logb, log10, log_scale,
  soft_limit, gradient_reversal, time_cumsum.
- `units`: Number, DB_RANGE, power_to_db, amplitude_to_db, db_to_power,
  db_to_amplitude, midi_to_hz, hz_to_midi, unit_to_midi, midi_to_unit,
  unit_to_hz, hz_to_unit, hz_to_bark, bark_to_hz, hz_to_mel, mel_to_hz,
  hz_to_erb.
- `nonlinearities`: exp_sigmoid, sym_exp_sigmoid, frequencies_softmax,
  frequencies_sigmoid, frequencies_critical_bands.
- `resampling`: Length, RESAMPLE_METHODS, check_length, resample,
  upsample_with_windows, center_crop.
- `oscillators`: get_harmonic_frequencies, remove_above_nyquist,
  normalize_harmonics, harmonic_to_sinusoidal, sinusoidal_to_harmonic,
  angular_cumsum, oscillator_bank, harmonic_oscillator_bank,
  harmonic_synthesis, streaming_harmonic_synthesis.
- `wavetables`: linear_lookup, harmonic_distribution_to_wavetable,
  wavetable_synthesis, variable_length_delay.
- `filters`: get_fft_size, crop_and_compensate_delay, fft_convolve,
  apply_window_to_impulse_response, frequency_impulse_response, sinc,
  sinc_impulse_response, frequency_filter, sinc_filter.

gin names are unchanged by the split: the registered functions keep the
module 'ddsp_tf.core' (`@core.exp_sigmoid`, `core.oscillator_bank.*`).
"""

from ddsp_tf.core.filters import _CONVOLUTION_PADDINGS
from ddsp_tf.core.filters import _next_power_of_2
from ddsp_tf.core.filters import _window_impulse_response
from ddsp_tf.core.filters import apply_window_to_impulse_response
from ddsp_tf.core.filters import crop_and_compensate_delay
from ddsp_tf.core.filters import fft_convolve
from ddsp_tf.core.filters import frequency_filter
from ddsp_tf.core.filters import frequency_impulse_response
from ddsp_tf.core.filters import get_fft_size
from ddsp_tf.core.filters import sinc
from ddsp_tf.core.filters import sinc_filter
from ddsp_tf.core.filters import sinc_impulse_response
from ddsp_tf.core.nonlinearities import _split_depth
from ddsp_tf.core.nonlinearities import exp_sigmoid
from ddsp_tf.core.nonlinearities import frequencies_critical_bands
from ddsp_tf.core.nonlinearities import frequencies_sigmoid
from ddsp_tf.core.nonlinearities import frequencies_softmax
from ddsp_tf.core.nonlinearities import sym_exp_sigmoid
from ddsp_tf.core.numerics import gradient_reversal
from ddsp_tf.core.numerics import log10
from ddsp_tf.core.numerics import log_scale
from ddsp_tf.core.numerics import logb
from ddsp_tf.core.numerics import nan_to_num
from ddsp_tf.core.numerics import safe_divide
from ddsp_tf.core.numerics import safe_log
from ddsp_tf.core.numerics import soft_limit
from ddsp_tf.core.numerics import time_cumsum
from ddsp_tf.core.oscillators import _COARSE_GRID
from ddsp_tf.core.oscillators import _TWO_PI
from ddsp_tf.core.oscillators import _TWO_PI_HIGH
from ddsp_tf.core.oscillators import _TWO_PI_LOW
from ddsp_tf.core.oscillators import _block_hop
from ddsp_tf.core.oscillators import _check_frame_controls
from ddsp_tf.core.oscillators import _chunked_cumsum
from ddsp_tf.core.oscillators import _check_sample_envelopes
from ddsp_tf.core.oscillators import _crossfaded_harmonic_bank
from ddsp_tf.core.oscillators import _cumulative_cycles
from ddsp_tf.core.oscillators import _exact_chunked_cumsum
from ddsp_tf.core.oscillators import _final_phase
from ddsp_tf.core.oscillators import _neighbourhood_max
from ddsp_tf.core.oscillators import _running_phase
from ddsp_tf.core.oscillators import _wrap_phase
from ddsp_tf.core.oscillators import angular_cumsum
from ddsp_tf.core.oscillators import get_harmonic_frequencies
from ddsp_tf.core.oscillators import harmonic_oscillator_bank
from ddsp_tf.core.oscillators import harmonic_synthesis
from ddsp_tf.core.oscillators import harmonic_to_sinusoidal
from ddsp_tf.core.oscillators import normalize_harmonics
from ddsp_tf.core.oscillators import oscillator_bank
from ddsp_tf.core.oscillators import remove_above_nyquist
from ddsp_tf.core.oscillators import sinusoidal_to_harmonic
from ddsp_tf.core.oscillators import streaming_harmonic_synthesis
from ddsp_tf.core.resampling import Length
from ddsp_tf.core.resampling import RESAMPLE_METHODS
from ddsp_tf.core.resampling import _crossfade_frames
from ddsp_tf.core.resampling import _cubic_weights
from ddsp_tf.core.resampling import _gather_frames
from ddsp_tf.core.resampling import _hann_crossfade
from ddsp_tf.core.resampling import _IMAGE_RESIZE_METHODS
from ddsp_tf.core.resampling import _image_resize_time
from ddsp_tf.core.resampling import _interpolate_time
from ddsp_tf.core.resampling import _is_static
from ddsp_tf.core.resampling import _legacy_positions
from ddsp_tf.core.resampling import _linear_crossfade
from ddsp_tf.core.resampling import _n_frames
from ddsp_tf.core.resampling import _sample_positions
from ddsp_tf.core.resampling import _window_hop
from ddsp_tf.core.resampling import center_crop
from ddsp_tf.core.resampling import check_length
from ddsp_tf.core.resampling import resample
from ddsp_tf.core.resampling import upsample_with_windows
from ddsp_tf.core.units import DB_RANGE
from ddsp_tf.core.units import Number
from ddsp_tf.core.units import amplitude_to_db
from ddsp_tf.core.units import bark_to_hz
from ddsp_tf.core.units import db_to_amplitude
from ddsp_tf.core.units import db_to_power
from ddsp_tf.core.units import hz_to_bark
from ddsp_tf.core.units import hz_to_erb
from ddsp_tf.core.units import hz_to_mel
from ddsp_tf.core.units import hz_to_midi
from ddsp_tf.core.units import hz_to_unit
from ddsp_tf.core.units import mel_to_hz
from ddsp_tf.core.units import midi_to_hz
from ddsp_tf.core.units import midi_to_unit
from ddsp_tf.core.units import power_to_db
from ddsp_tf.core.units import unit_to_hz
from ddsp_tf.core.units import unit_to_midi
from ddsp_tf.core.utils import copy_if_tf_function
from ddsp_tf.core.utils import diff
from ddsp_tf.core.utils import leaf_key
from ddsp_tf.core.utils import make_iterable
from ddsp_tf.core.utils import map_shape
from ddsp_tf.core.utils import nested_keys
from ddsp_tf.core.utils import nested_lookup
from ddsp_tf.core.utils import pad_axis
from ddsp_tf.core.utils import tf_float32
from ddsp_tf.core.utils import to_dict
from ddsp_tf.core.wavetables import _exclusive_cycles
from ddsp_tf.core.wavetables import _interpolated_gather
from ddsp_tf.core.wavetables import _table_position
from ddsp_tf.core.wavetables import harmonic_distribution_to_wavetable
from ddsp_tf.core.wavetables import linear_lookup
from ddsp_tf.core.wavetables import variable_length_delay
from ddsp_tf.core.wavetables import wavetable_synthesis
