"""Tests for the MIDI, expression, one-hot, MFCC and sinusoidal encoders and
the MIDI decoders of ddsp_tf.training.encoders / decoders.

Truth comes from numpy re-computations (layer norm + Dense, midi_to_hz,
hz_to_unit), analytic values (a uniform softmax gives the geometric mean of
the f0 range) and behaviour stated in magenta/ddsp's API.
"""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import decoders
from ddsp_tf.training import encoders
from ddsp_tf.training import nn

B, T = 2, 12


def _rand(*shape, low=0.0, high=1.0, seed=0):
  rng = np.random.default_rng(seed)
  return rng.uniform(low, high, size=shape).astype(np.float32)


def _stack(conditional=False):
  return nn.DilatedConvStack(ch=4, layers_per_stack=1, stacks=1,
                             norm_type='layer', conditional=conditional)


class Recorder(keras.layers.Layer):
  """Identity network that remembers its last input."""

  def call(self, x):
    self.seen = x
    return x


def _np_layer_norm(x, eps=1e-5):
  """normalize_op('layer') on [batch, time, ch]: stats over time and ch."""
  mean = x.mean(axis=(1, 2), keepdims=True)
  var = x.var(axis=(1, 2), keepdims=True)
  return (x - mean) / np.sqrt(var + eps)


def _set_dense(dense, seed):
  kernel, bias = dense.get_weights()
  rng = np.random.default_rng(seed)
  dense.set_weights([rng.normal(size=kernel.shape).astype(np.float32),
                     rng.normal(size=bias.shape).astype(np.float32)])
  return dense.get_weights()


def _zero_dense(dense):
  dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])


def _np_midi_to_hz(midi):
  return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _np_hz_to_midi(hz):
  return np.where(hz <= 0, 0.0, 12 * np.log2(np.maximum(hz, 1e-5) / 440) + 69)


# ----------------------------------------------------------------------------
# MIDI encoders.
# ----------------------------------------------------------------------------
def test_midi_encoder_matches_numpy_and_adds_f0_residual():
  f0_midi = _rand(B, T, 1, low=40, high=80, seed=1)
  loudness = _rand(B, T, 1, low=-80, high=0, seed=2)
  encoder = encoders.MidiEncoder(net=nn.Identity())
  assert encoder.input_keys == ['f0_midi', 'loudness']
  assert encoder.output_keys == ['z_pitch', 'z_vel']
  encoder(f0_midi, loudness)
  kernel, bias = _set_dense(encoder.dense_out, seed=3)
  out = encoder({'f0_midi': f0_midi, 'loudness': loudness})
  x = _np_layer_norm(np.concatenate([f0_midi, loudness], -1)) @ kernel + bias
  np.testing.assert_allclose(out['z_pitch'], x[..., :1] + f0_midi, atol=1e-3)
  np.testing.assert_allclose(out['z_vel'], x[..., 1:], atol=1e-4)

  no_residual = encoders.MidiEncoder(net=nn.Identity(), f0_residual=False)
  no_residual(f0_midi, loudness)
  no_residual.dense_out.set_weights([kernel, bias])
  np.testing.assert_allclose(no_residual(f0_midi, loudness)['z_pitch'],
                             x[..., :1], atol=1e-4)


def test_harmonic_to_midi_encoder_concatenates_inputs_in_order():
  inputs = {'f0_midi': _rand(B, T, 1, low=40, high=80, seed=1),
            'amps': _rand(B, T, 1, seed=2), 'hd': _rand(B, T, 5, seed=3),
            'noise': _rand(B, T, 3, seed=4)}
  recorder = Recorder()
  encoder = encoders.HarmonicToMidiEncoder(net=recorder)
  assert encoder.input_keys == ['f0_midi', 'amps', 'hd', 'noise']
  encoder(inputs)
  np.testing.assert_allclose(recorder.seen, np.concatenate(
      [inputs[k] for k in ('f0_midi', 'amps', 'hd', 'noise')], -1))
  _zero_dense(encoder.dense_out)
  out = encoder(inputs)
  assert sorted(out) == ['z_pitch', 'z_vel']
  np.testing.assert_allclose(out['z_pitch'], inputs['f0_midi'])
  np.testing.assert_allclose(out['z_vel'], np.zeros([B, T, 1]))


def test_midi_encoder_with_dilated_conv_stack_shapes():
  encoder = encoders.HarmonicToMidiEncoder(net=_stack())
  out = encoder(_rand(B, T, 1), _rand(B, T, 1), _rand(B, T, 6), _rand(B, T, 4))
  assert out['z_pitch'].shape == (B, T, 1)
  assert out['z_vel'].shape == (B, T, 1)


# ----------------------------------------------------------------------------
# MIDI decoders.
# ----------------------------------------------------------------------------
def test_midi_decoder_zeroed_output_gives_input_pitch_and_centered_loudness():
  z_pitch = _rand(B, T, 1, low=30, high=90, seed=5)
  decoder = decoders.MidiDecoder(net=_stack())
  assert decoder.input_keys == ['z_pitch']
  assert decoder.default_input_keys == ['z_vel', 'z']
  decoder(z_pitch)
  _zero_dense(decoder.dense_out)
  out = decoder({'z_pitch': z_pitch, 'z_vel': z_pitch})
  assert sorted(out) == ['f0_midi', 'loudness']
  np.testing.assert_array_equal(out['f0_midi'], z_pitch)
  np.testing.assert_array_equal(out['loudness'], np.full([B, T, 1], -70.0))


def test_midi_decoder_without_norm_matches_numpy():
  z_pitch = _rand(B, T, 1, low=30, high=90, seed=5)
  decoder = decoders.MidiDecoder(net=nn.Identity(), norm=False,
                                 center_loudness=False)
  assert decoder.norm is None
  decoder(z_pitch)
  kernel, bias = _set_dense(decoder.dense_out, seed=6)
  out = decoder(z_pitch)
  np.testing.assert_allclose(out['f0_midi'],
                             z_pitch * kernel[0, 0] + bias[0] + z_pitch,
                             rtol=1e-5)
  np.testing.assert_allclose(out['loudness'], z_pitch * kernel[0, 1] + bias[1],
                             rtol=1e-5)


def test_midi_decoders_pass_z_to_the_network():
  z_pitch = _rand(B, T, 1, low=30, high=90, seed=5)
  z = _rand(B, T, 3, seed=7)
  for decoder in (decoders.MidiDecoder(net=_stack(conditional=True)),
                  decoders.MidiToHarmonicDecoder(net=_stack(conditional=True))):
    out = decoder({'z_pitch': z_pitch, 'z': z})
    changed = decoder(z_pitch, None, z + 1.0)
    assert not np.allclose(out['f0_midi'], changed['f0_midi'])


def test_midi_to_harmonic_decoder_keys_shapes_and_f0_hz():
  decoder = decoders.MidiToHarmonicDecoder(net=_stack())
  z_pitch = _rand(B, T, 1, low=30, high=90, seed=8)
  out = decoder(z_pitch)
  assert list(out) == ['f0_midi', 'amplitudes', 'harmonic_distribution',
                       'magnitudes', 'f0_hz']
  assert decoder.output_keys == list(out)
  for key, size in (('f0_midi', 1), ('amplitudes', 1),
                    ('harmonic_distribution', 60), ('magnitudes', 65),
                    ('f0_hz', 1)):
    assert out[key].shape == (B, T, size)
  np.testing.assert_allclose(out['f0_hz'], _np_midi_to_hz(out['f0_midi']),
                             rtol=1e-4)


@pytest.mark.parametrize('midi_zero_silence', [True, False])
def test_midi_to_harmonic_decoder_midi_zero_silence(midi_zero_silence):
  decoder = decoders.MidiToHarmonicDecoder(
      net=_stack(), output_splits=(('amplitudes', 1), ('f0_midi', 1)),
      midi_zero_silence=midi_zero_silence)
  z_pitch = _rand(B, T, 1, low=30, high=90, seed=9)
  z_pitch[:, ::3] = 0.0  # Silent frames.
  decoder(z_pitch)
  _zero_dense(decoder.dense_out)
  out = decoder(z_pitch)
  np.testing.assert_array_equal(out['f0_midi'], z_pitch)
  expected = _np_midi_to_hz(z_pitch)
  if midi_zero_silence:
    expected[:, ::3] = 0.0
  else:
    np.testing.assert_allclose(expected[:, ::3], 8.1757989, rtol=1e-6)
  np.testing.assert_allclose(out['f0_hz'], expected, rtol=1e-5)


# ----------------------------------------------------------------------------
# Sinusoidal to harmonic.
# ----------------------------------------------------------------------------
def test_sinusoidal_to_harmonic_encoder_scales_inputs_and_outputs():
  sin_freqs = _rand(B, T, 4, low=50, high=7000, seed=10)
  sin_amps = _rand(B, T, 4, seed=11)
  recorder = Recorder()
  encoder = encoders.SinusoidalToHarmonicEncoder(net=recorder, n_harmonics=8)
  assert encoder.input_keys == ['sin_freqs', 'sin_amps']
  out = encoder({'sin_freqs': sin_freqs, 'sin_amps': sin_amps})
  assert list(out) == ['harm_amp', 'harm_dist', 'f0_hz']
  assert out['harm_amp'].shape == (B, T, 1)
  assert out['harm_dist'].shape == (B, T, 8)
  assert out['f0_hz'].shape == (B, T, 1)
  # Frequencies enter as [0, 1] in pitch between 0 Hz and Nyquist.
  unit = _np_hz_to_midi(sin_freqs) / _np_hz_to_midi(8000.0)
  np.testing.assert_allclose(recorder.seen,
                             np.concatenate([unit, sin_amps], -1), rtol=1e-5)
  f0_hz = out['f0_hz'].numpy()
  assert np.all((f0_hz >= 20.0) & (f0_hz <= 1200.0))
  np.testing.assert_allclose(np.sum(out['harm_dist'], -1), 1.0, rtol=1e-5)
  assert np.all(out['harm_amp'].numpy() > 0)

  # Zero f0 logits: a uniform softmax sits midway in pitch, at the
  # geometric mean of 20 and 1200 Hz.
  _zero_dense(encoder.f0_out)
  np.testing.assert_allclose(encoder(sin_freqs, sin_amps)['f0_hz'],
                             np.full([B, T, 1], np.sqrt(20.0 * 1200.0)),
                             rtol=1e-4)


def test_sinusoidal_to_harmonic_encoder_removes_harmonics_above_nyquist():
  encoder = encoders.SinusoidalToHarmonicEncoder(
      net=keras.layers.Dense(6), n_harmonics=10, sample_rate=2000)
  encoder(_rand(B, T, 3, low=50, high=900), _rand(B, T, 3))
  _zero_dense(encoder.f0_out)  # f0 = sqrt(24000) = 154.9 Hz.
  harm_dist = encoder(_rand(B, T, 3, low=50, high=900),
                      _rand(B, T, 3))['harm_dist'].numpy()
  f0 = np.sqrt(20.0 * 1200.0)
  above = (np.arange(1, 11) * f0) >= 1000.0  # Harmonics 7 to 10.
  assert above.tolist() == [False] * 6 + [True] * 4
  np.testing.assert_array_equal(harm_dist[..., above], 0.0)
  assert np.all(harm_dist[..., ~above] > 0)
  np.testing.assert_allclose(harm_dist.sum(-1), 1.0, rtol=1e-5)


def test_sinusoidal_to_harmonic_encoder_takes_dict_net_output():

  class DictNet(keras.layers.Layer):

    def call(self, x):
      return {'out': x * 2.0}

  encoder = encoders.SinusoidalToHarmonicEncoder(net=DictNet(), n_harmonics=4)
  assert encoder(_rand(B, T, 2, low=50, high=900),
                 _rand(B, T, 2))['harm_dist'].shape == (B, T, 4)


def test_sinusoidal_to_harmonic_encoder_config_round_trip():
  encoder = encoders.SinusoidalToHarmonicEncoder(
      net=nn.RnnSandwich(fc_stack_ch=4, fc_stack_layers=1, rnn_ch=4),
      n_harmonics=5, f0_depth=64)
  inputs = (_rand(B, T, 3, low=50, high=900), _rand(B, T, 3))
  expected = encoder(*inputs)
  clone = encoders.SinusoidalToHarmonicEncoder.from_config(
      encoder.get_config())
  assert clone.freq_scale_fn is encoders.f0_softmax_20_to_1200_hz
  assert clone.amp_scale_fn is encoder.amp_scale_fn
  assert isinstance(clone.net, nn.RnnSandwich)
  assert clone.get_config() == encoder.get_config()
  clone(*inputs)
  clone.set_weights(encoder.get_weights())
  for key, value in clone(*inputs).items():
    np.testing.assert_allclose(value, expected[key], rtol=1e-5)


# ----------------------------------------------------------------------------
# Expression, MFCC and one-hot encoders.
# ----------------------------------------------------------------------------
def test_expression_encoder_pool_time_broadcasts_the_time_average():
  features = {'f0_scaled': _rand(B, T, 1, seed=12),
              'ld_scaled': _rand(B, T, 1, seed=13),
              'hd_scaled': _rand(B, T, 5, seed=14)}
  keys = ('f0_scaled', 'ld_scaled', 'hd_scaled')
  pooled = encoders.ExpressionEncoder(net=_stack(), z_dims=3, input_keys=keys)
  assert pooled.input_keys == list(keys) + ['f0_scaled']
  z = pooled(features)['z'].numpy()
  assert z.shape == (B, T, 3)
  np.testing.assert_allclose(z, np.broadcast_to(z[:, :1], z.shape), rtol=1e-6)

  per_frame = encoders.ExpressionEncoder(net=_stack(), z_dims=3,
                                         input_keys=keys, pool_time=False)
  per_frame(features)
  per_frame.set_weights(pooled.get_weights())
  z_frames = per_frame(features)['z'].numpy()
  assert not np.allclose(z_frames, z_frames[:, :1])
  np.testing.assert_allclose(z[:, 0], z_frames.mean(axis=1), atol=1e-5)


def test_expression_encoder_appends_normalised_mfccs_of_audio():
  recorder = Recorder()
  encoder = encoders.ExpressionEncoder(
      net=recorder, z_dims=2, input_keys=('audio', 'f0_scaled'),
      mfcc_bins=7, mel_bins=20, fft_size=256, pool_time=False)
  f0_scaled = _rand(B, T, 1, seed=15)
  audio = _rand(B, 3000, low=-1, high=1, seed=16)
  z = encoder({'audio': audio, 'f0_scaled': f0_scaled})['z']
  assert z.shape == (B, T, 2)
  seen = recorder.seen.numpy()
  assert seen.shape == (B, T, 1 + 7)
  np.testing.assert_allclose(seen[..., :1], f0_scaled)


def test_mfcc_encoder_normalises_each_coefficient_over_time():
  encoder = encoders.MfccEncoder(fft_sizes=(256, 512), mel_bins=(20, 30),
                                 mfcc_bins=(5, 6), time_steps=16)
  assert encoder.input_keys == ['audio', 'f0_scaled']
  audio = _rand(B, 4000, low=-1, high=1, seed=17)
  z = encoder.compute_z(audio).numpy()
  assert z.shape == (B, 16, 11)
  np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-4)
  np.testing.assert_allclose(z.std(axis=1), 1.0, atol=1e-2)
  assert encoder({'audio': audio, 'f0_scaled': _rand(B, T, 1)})['z'].shape == (
      B, T, 11)
  with pytest.raises(ValueError, match='one entry per MFCC resolution'):
    encoders.MfccEncoder(fft_sizes=(256, 512), mel_bins=(20,))


def test_one_hot_encoder_looks_up_embedding_rows():
  encoder = encoders.OneHotEncoder(one_hot_key='instrument_id', vocab_size=5,
                                   n_dims=3)
  assert encoder.input_keys == ['instrument_id', 'f0_scaled']
  ids = np.array([4, 1])
  features = {'instrument_id': ids, 'f0_scaled': _rand(B, T, 1)}
  z = encoder(features)['z'].numpy()
  table = np.concatenate([w for w in encoder.get_weights()
                          if w.shape == (5, 3)])
  assert z.shape == (B, 3)  # skip_expand: broadcast by the consumer.
  np.testing.assert_array_equal(z, table[ids])

  expanded = encoders.OneHotEncoder(one_hot_key='instrument_id', vocab_size=5,
                                    n_dims=3, skip_expand=False)
  expanded(features)
  expanded.set_weights(encoder.get_weights())
  z = expanded(features)['z'].numpy()
  assert z.shape == (B, T, 3)
  np.testing.assert_allclose(z, np.broadcast_to(table[ids][:, None], z.shape))


# ----------------------------------------------------------------------------
# Resnet sinusoidal encoder.
# ----------------------------------------------------------------------------
def test_resnet_sinusoidal_encoder_outputs():

  def spectral_fn(audio):
    return encoders.spectral_ops.compute_logmel(audio, bins=16, fft_size=256)

  splits = (('frequencies', 4 * 8), ('amplitudes', 4), ('noise_magnitudes', 5))
  encoder = encoders.ResnetSinusoidalEncoder(output_splits=splits,
                                             spectral_fn=spectral_fn,
                                             size='small')
  assert encoder.input_keys == ['audio']
  audio = _rand(1, 2048, low=-1, high=1, seed=18)
  out = encoder({'audio': audio})
  assert list(out) == ['frequencies', 'amplitudes', 'noise_magnitudes']
  n_frames = spectral_fn(audio).shape[1]
  for key, size in splits:
    assert out[key].shape == (1, n_frames, size)


# ----------------------------------------------------------------------------
# Saving, gin and errors.
# ----------------------------------------------------------------------------
def _round_trip(layer, inputs, tmp_path):
  """A functional model around `layer`, saved to .keras and loaded back."""
  symbolic = {k: keras.Input(shape=v.shape[1:], name=k)
              for k, v in inputs.items()}
  model = keras.Model(symbolic, layer(symbolic))
  expected = model(inputs)
  path = str(tmp_path / 'model.keras')
  model.save(path)
  loaded = keras.models.load_model(path)
  return expected, loaded(inputs)


def test_midi_to_harmonic_decoder_keras_round_trip(tmp_path):
  decoder = decoders.MidiToHarmonicDecoder(
      net=_stack(conditional=True),
      output_splits=(('f0_midi', 1), ('amplitudes', 1), ('magnitudes', 3)))
  inputs = {'z_pitch': _rand(1, T, 1, low=30, high=90), 'z': _rand(1, T, 2)}
  expected, result = _round_trip(decoder, inputs, tmp_path)
  assert sorted(result) == sorted(expected)
  for key in expected:
    np.testing.assert_allclose(result[key], expected[key], rtol=1e-5)


def test_harmonic_to_midi_encoder_keras_round_trip(tmp_path):
  encoder = encoders.HarmonicToMidiEncoder(net=_stack(), f0_residual=False)
  inputs = {'f0_midi': _rand(1, T, 1, low=30, high=90, seed=1),
            'amps': _rand(1, T, 1, seed=2), 'hd': _rand(1, T, 4, seed=3),
            'noise': _rand(1, T, 2, seed=4)}
  expected, result = _round_trip(encoder, inputs, tmp_path)
  assert sorted(result) == ['z_pitch', 'z_vel']
  for key in expected:
    np.testing.assert_allclose(result[key], expected[key], rtol=1e-5)


@gin.configurable('test_h2_layers')
def _get_layers(layers=gin.REQUIRED):
  return layers


def test_gin_names():
  gin.parse_config("""
      import ddsp_tf.training
      decoders.MidiToHarmonicDecoder.midi_zero_silence = False
      test_h2_layers.layers = [@encoders.MidiEncoder(),
                               @encoders.ExpressionEncoder(),
                               @decoders.MidiToHarmonicDecoder()]
  """)
  try:
    layers = _get_layers()
  finally:
    gin.clear_config()
  assert [type(l) for l in layers] == [encoders.MidiEncoder,
                                       encoders.ExpressionEncoder,
                                       decoders.MidiToHarmonicDecoder]
  assert not layers[2].midi_zero_silence


def test_errors_name_the_problem():
  with pytest.raises(ValueError, match='has no network.*got net=None'):
    decoders.MidiDecoder()(_rand(B, T, 1))
  with pytest.raises(ValueError, match='net must be a Keras layer'):
    encoders.MidiEncoder(net=3)
  with pytest.raises(ValueError, match=r'z_pitch must have rank 3'):
    decoders.MidiToHarmonicDecoder(net=_stack())(_rand(B, T))
  with pytest.raises(ValueError, match=r'loudness must have rank 3'):
    encoders.MidiEncoder(net=_stack())(_rand(B, T, 1), _rand(B, T))
  with pytest.raises(KeyError, match="needs input 'loudness'"):
    encoders.MidiEncoder(net=_stack())({'f0_midi': _rand(B, T, 1)})
  with pytest.raises(ValueError, match="must include an 'f0_midi' split"):
    decoders.MidiToHarmonicDecoder(output_splits=(('amplitudes', 1),))
  with pytest.raises(ValueError, match='sin_amps must have rank 3'):
    encoders.SinusoidalToHarmonicEncoder(net=nn.Identity())(
        _rand(B, T, 2), _rand(B, T))
  with pytest.raises(ValueError, match='input_keys must name at least one'):
    encoders.ExpressionEncoder(input_keys=())
  with pytest.raises(ValueError, match=r'instrument must have rank 1 or 2'):
    encoders.OneHotEncoder(vocab_size=3, n_dims=2)(
        np.zeros([B, 1, 1], np.int32), _rand(B, T, 1))
