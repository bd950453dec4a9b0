"""Tests for ddsp_tf.training.encoders and decoders: shapes, keys, errors."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp_tf.training import decoders
from ddsp_tf.training import encoders

AE_SPLITS = (('amps', 1), ('harmonic_distribution', 100),
             ('noise_magnitudes', 65))
SOLO_SPLITS = (('amps', 1), ('harmonic_distribution', 60),
               ('noise_magnitudes', 65))


def _inputs(batch=2, n_frames=30, z_dims=4, seed=0):
  rng = np.random.default_rng(seed)
  return {
      'ld_scaled': rng.uniform(size=(batch, n_frames, 1)).astype(np.float32),
      'f0_scaled': rng.uniform(size=(batch, n_frames, 1)).astype(np.float32),
      'z': rng.normal(size=(batch, n_frames, z_dims)).astype(np.float32),
  }


def _small_rnn_fc(**kwargs):
  return decoders.RnnFcDecoder(rnn_channels=8, ch=8, layers_per_stack=1,
                               **kwargs)


@pytest.mark.parametrize('input_keys,output_splits', [
    (('ld_scaled', 'f0_scaled', 'z'), AE_SPLITS),  # models/ae.gin
    (('ld_scaled', 'f0_scaled'), SOLO_SPLITS),  # models/solo_instrument.gin
])
def test_rnn_fc_decoder_outputs(input_keys, output_splits):
  decoder = _small_rnn_fc(input_keys=input_keys, output_splits=output_splits)
  outputs = decoder(_inputs())
  assert list(outputs) == [key for key, _ in output_splits]
  for key, size in output_splits:
    assert outputs[key].shape == (2, 30, size)


def test_rnn_fc_decoder_without_stacks_and_with_lstm():
  decoder = decoders.RnnFcDecoder(rnn_channels=8, rnn_type='lstm',
                                  layers_per_stack=0,
                                  input_keys=('ld_scaled', 'f0_scaled'),
                                  output_splits=SOLO_SPLITS)
  assert decoder(_inputs())['noise_magnitudes'].shape == (2, 30, 65)
  assert not decoder.input_stacks[0].fcs


def test_stateless_rnn_fc_decoder_streams_in_blocks():
  decoder = _small_rnn_fc(stateless=True, rnn_type='gru',
                          input_keys=('ld_scaled', 'f0_scaled'),
                          output_splits=SOLO_SPLITS)
  assert decoder.all_input_keys == ['ld_scaled', 'f0_scaled', 'state']
  features = _inputs()
  state = tf.zeros([2, 8])
  whole = decoder(features, state=state)
  assert sorted(whole) == sorted([key for key, _ in SOLO_SPLITS] + ['state'])
  assert whole['state'].shape == (2, 8)
  assert not np.allclose(whole['state'], state)

  first = decoder({k: v[:, :12] for k, v in features.items()}, state=state)
  second = decoder({k: v[:, 12:] for k, v in features.items()},
                   state=first['state'])
  for key, _ in SOLO_SPLITS:
    np.testing.assert_allclose(
        np.concatenate([first[key], second[key]], axis=1), whole[key],
        atol=1e-5)
  np.testing.assert_allclose(second['state'], whole['state'], atol=1e-5)


def test_rnn_fc_decoder_errors():
  with pytest.raises(ValueError, match='input_keys must name at least one'):
    decoders.RnnFcDecoder(input_keys=())
  with pytest.raises(ValueError, match='output_splits must be'):
    decoders.RnnFcDecoder(output_splits=(('amps', 1), 'harmonics'))
  decoder = _small_rnn_fc(output_splits=SOLO_SPLITS)
  features = _inputs()
  del features['z']
  with pytest.raises(KeyError, match=r"needs input 'z'.*Available keys: "
                     r"\['ld_scaled', 'f0_scaled'\]"):
    decoder(features)


def test_dilated_conv_decoder_outputs():
  splits = (('amps', 1), ('harmonic_distribution', 60),
            ('noise_magnitudes', 65))
  features = _inputs(batch=1, n_frames=20)
  unconditioned = decoders.DilatedConvDecoder(
      ch=8, layers_per_stack=2, stacks=1, conditioning_keys=None,
      output_splits=splits)
  assert unconditioned.all_input_keys == ['ld_scaled', 'f0_scaled']
  for key, size in splits:
    assert unconditioned(features)[key].shape == (1, 20, size)

  conditioned = decoders.DilatedConvDecoder(
      ch=8, layers_per_stack=2, stacks=1, conditioning_keys='z',
      output_splits=splits)
  assert conditioned.all_input_keys == ['ld_scaled', 'f0_scaled', 'z']
  outputs = conditioned(features)
  changed = conditioned(dict(features, z=features['z'] + 1.0))
  assert not np.allclose(outputs['amps'], changed['amps'])

  upsampling = decoders.DilatedConvDecoder(
      ch=8, layers_per_stack=1, stacks=2, resample_stride=2,
      stacks_per_resample=2, conditioning_keys=None, output_splits=splits)
  assert upsampling(features)['amps'].shape == (1, 40, 1)


# ----------------------------------------------------------------------------
# Encoders.
# ----------------------------------------------------------------------------
def _audio(n_samples, batch=1, seed=1):
  t = np.arange(n_samples) / 16000
  noise = np.random.default_rng(seed).normal(size=(batch, n_samples)) * 0.01
  return (0.5 * np.sin(2 * np.pi * 330 * t) + noise).astype(np.float32)


@pytest.mark.parametrize('z_time_steps', [63, 125, 250, 500, 1000])
def test_mfcc_time_distributed_rnn_encoder_z_frames(z_time_steps):
  encoder = encoders.MfccTimeDistributedRnnEncoder(
      rnn_channels=4, z_dims=3, z_time_steps=z_time_steps)
  # 4 s at 16 kHz gives z_time_steps MFCC frames.
  z = tf.function(encoder.compute_z)(_audio(64000))
  assert z.shape == (1, z_time_steps, 3)


def test_mfcc_time_distributed_rnn_encoder_resamples_z_to_f0_frames():
  encoder = encoders.MfccTimeDistributedRnnEncoder(
      rnn_channels=4, z_dims=3, z_time_steps=125)
  assert encoder.all_input_keys == ['audio', 'f0_scaled']
  audio = _audio(16000, batch=2)
  f0_scaled = np.zeros([2, 100, 1], np.float32)
  z = encoder({'audio': audio, 'f0_scaled': f0_scaled})['z']
  assert z.shape == (2, 100, 3)
  z_frames = encoder.compute_z(audio).numpy()  # 1 s: 32 frames.
  assert z_frames.shape == (2, 32, 3)
  positions = np.arange(100) * 32 / 100
  expected = np.stack([
      np.stack([np.interp(positions, np.arange(32), z_frames[b, :, c])
                for c in range(3)], axis=-1) for b in range(2)])
  np.testing.assert_allclose(z, expected, atol=1e-5)


def test_mfcc_time_distributed_rnn_encoder_errors():
  with pytest.raises(ValueError, match=r'z_time_steps must be one of \[63, '
                     r'125, 250, 500, 1000\], got z_time_steps=100'):
    encoders.MfccTimeDistributedRnnEncoder(z_time_steps=100)
  encoder = encoders.MfccTimeDistributedRnnEncoder(rnn_channels=4, z_dims=3)
  with pytest.raises(ValueError, match=r'audio must have rank 2'):
    encoder(np.zeros([16000], np.float32), np.zeros([1, 10, 1], np.float32))


@pytest.mark.parametrize('mean_aggregate', [False, True])
def test_mfcc_rnn_encoder_gives_one_z_per_clip(mean_aggregate):
  encoder = encoders.MfccRnnEncoder(rnn_channels=4, z_dims=5,
                                    mean_aggregate=mean_aggregate)
  z = encoder({'audio': _audio(8000), 'f0_scaled': np.zeros([1, 40, 1])})['z']
  assert z.shape == (1, 40, 5)
  np.testing.assert_allclose(z, np.broadcast_to(z[:, :1], z.shape), rtol=1e-6)


def test_aggregate_features_encoder():
  encoder = encoders.AggregateFeaturesEncoder(ch=6)
  features = _inputs(n_frames=25)
  z = encoder(features)['z']
  assert z.shape == (2, 25, 6)
  np.testing.assert_allclose(z, np.broadcast_to(z[:, :1], z.shape), rtol=1e-6)
  # Reversing time leaves the average unchanged.
  reversed_features = {k: v[:, ::-1] for k, v in features.items()}
  np.testing.assert_allclose(encoder(reversed_features)['z'], z, atol=1e-6)
  # As in magenta/ddsp, one linear Dense: z = mean_t([f0, ld]) @ W + b.
  kernel, bias = encoder.get_weights()
  x = np.concatenate([features['f0_scaled'], features['ld_scaled']], -1)
  np.testing.assert_allclose(z[:, 0], x.mean(axis=1) @ kernel + bias,
                             rtol=1e-5, atol=1e-6)
  # fc_stack_layers: an FcStack (Dense, LayerNorm) per layer instead.
  stacked = encoders.AggregateFeaturesEncoder(ch=6, fc_stack_layers=2)
  assert stacked(features)['z'].shape == (2, 25, 6)
  assert len(stacked.weights) == 8


@pytest.mark.parametrize('make_layer', [
    lambda: decoders.RnnFcDecoder(
        rnn_channels=4, rnn_type='lstm', ch=5, layers_per_stack=2,
        stateless=True, input_keys=('f0_scaled', 'z'),
        output_splits=(('a', 2), ('b', 3))),
    lambda: decoders.DilatedConvDecoder(
        ch=4, kernel_size=5, layers_per_stack=2, stacks=2, dilation=3,
        norm_type='instance', resample_stride=2, stacks_per_resample=2,
        resample_after_convolve=False, input_keys=('f0_scaled',),
        output_splits=(('a', 2),), conditioning_keys=('z', 'ld_scaled'),
        precondition_stack=decoders.nn.FcStack(ch=3, layers=1),
        ortho_init=True),
    lambda: encoders.MfccRnnEncoder(rnn_channels=3, rnn_type='lstm',
                                    z_dims=2, mean_aggregate=True),
    lambda: encoders.MfccTimeDistributedRnnEncoder(
        rnn_channels=3, rnn_type='lstm', z_dims=2, z_time_steps=63),
    lambda: encoders.AggregateFeaturesEncoder(
        ch=3, input_keys=('ld_scaled', 'f0_scaled')),
])
def test_layer_rebuilt_from_its_config_computes_the_same(make_layer):
  features = dict(_inputs(n_frames=16), audio=_audio(4096, batch=2),
                  state=np.zeros([2, 8], np.float32))
  layer = make_layer()
  expected = layer(features)
  clone = type(layer).from_config(layer.get_config())
  assert clone.get_config() == layer.get_config()
  clone(features)
  clone.set_weights(layer.get_weights())
  outputs = clone(features)
  assert sorted(outputs) == sorted(expected)
  for key, value in expected.items():
    np.testing.assert_allclose(outputs[key], value, atol=1e-6, err_msg=key)
