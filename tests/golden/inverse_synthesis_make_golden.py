"""Writes inverse_synthesis_golden.npz: magenta/ddsp v3.7.0's numbers for
the pieces of InverseSynthesis's pre-training losses.

Run with the original's environment (it imports `ddsp`, the original):

  TF_USE_LEGACY_KERAS=1 /tmp/ref/venv/bin/python \
      tests/golden/inverse_synthesis_make_golden.py

Cases (inputs from a fixed numpy seed, so reruns write the same file):
- kde_*: losses.KDEConsistencyLoss (the pre-training gin's settings and
  other weights/scales) on two sets of sinusoids of different sizes, its
  nll in both directions and the total.
- harm_*: losses.HarmonicConsistencyLoss, with frames below amp_threshold.
- noise_*: losses.FilteredNoiseConsistencyLoss.
- s2h_*: encoders.SinusoidalToHarmonicEncoder with a Dense(8) net; the
  weights (net, amp, distribution, f0 Dense layers, in that order) are
  stored so the test loads them into ddsp_tf's encoder.
tests/test_inverse_synthesis.py reads only the file.
"""

import os

import numpy as np
import tensorflow as tf

import ddsp
from ddsp.training import encoders

HERE = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(9)


def f32(x):
  return np.asarray(x, np.float32)


def main():
  out = {}
  # Two sets of sinusoids: a is 5 per frame, b is 4 per frame, 3 frames.
  out['amps_a'] = f32(RNG.uniform(0.01, 1.0, (2, 3, 5)))
  out['freqs_a'] = f32(RNG.uniform(100.0, 2000.0, (2, 3, 5)))
  out['amps_b'] = f32(RNG.uniform(0.01, 1.0, (2, 3, 4)))
  out['freqs_b'] = f32(RNG.uniform(100.0, 2000.0, (2, 3, 4)))
  out['amps_b'][0, 1] = 0.0  # An all-zero target frame.
  args = [out[k] for k in ('amps_a', 'freqs_a', 'amps_b', 'freqs_b')]
  kde = ddsp.losses.KDEConsistencyLoss(weight_a=1.0, weight_b=1.0,
                                       scale_a=0.1, scale_b=0.1)
  out['kde_total'] = f32(kde(*args))
  out['kde_nll_ab'] = f32(kde.nll(*args, 0.1))
  out['kde_nll_ba'] = f32(kde.nll(args[2], args[3], args[0], args[1], 0.1))
  kde2 = ddsp.losses.KDEConsistencyLoss(weight_a=0.5, weight_b=2.0,
                                        weight_mean_amp=3.0, scale_a=0.3,
                                        scale_b=0.7)
  out['kde2_total'] = f32(kde2(*args))

  # Harmonic controls, [2, 6, 1] and [2, 6, 7].
  harm_amp_t = f32(RNG.uniform(0.0, 0.2, (2, 6, 1)))
  harm_amp_t[:, :2] = 1e-5  # Below amp_threshold.
  harm_dist = f32(RNG.uniform(0.0, 1.0, (2, 6, 7)))
  out.update(
      harm_amp=f32(RNG.uniform(0.0, 0.2, (2, 6, 1))), harm_amp_t=harm_amp_t,
      harm_dist=harm_dist / harm_dist.sum(-1, keepdims=True),
      harm_dist_t=f32(RNG.dirichlet(np.ones(7), (2, 6))),
      f0_hz=f32(RNG.uniform(50.0, 1000.0, (2, 6, 1))),
      f0_hz_t=f32(RNG.uniform(50.0, 1000.0, (2, 6, 1))))
  hcl = ddsp.losses.HarmonicConsistencyLoss(amp_weight=1.0, dist_weight=2.0,
                                            f0_weight=3.0)
  values = hcl(out['harm_amp'], out['harm_amp_t'], out['harm_dist'],
               out['harm_dist_t'], out['f0_hz'], out['f0_hz_t'])
  for key, value in values.items():
    out[f'harm_{key}'] = f32(value)

  noise = f32(RNG.uniform(0.0, 1.0, (2, 6, 5)))
  noise_t = f32(RNG.uniform(0.0, 1.0, (2, 6, 5)))
  out.update(noise=noise, noise_t=noise_t, noise_loss=f32(
      ddsp.losses.FilteredNoiseConsistencyLoss(weight=2.0)(noise, noise_t)))

  # SinusoidalToHarmonicEncoder, 5 sinusoids -> 20 harmonics; high f0
  # logits so some harmonics go above Nyquist (8 kHz).
  s2h = encoders.SinusoidalToHarmonicEncoder(
      net=tf.keras.layers.Dense(8), n_harmonics=20, f0_depth=64,
      sample_rate=16000)
  s2h(out['freqs_a'], out['amps_a'])
  dense_layers = [s2h.net, s2h.amp_out, s2h.hd_out, s2h.f0_out]
  for i, layer in enumerate(dense_layers):
    kernel, bias = layer.get_weights()
    kernel = f32(RNG.normal(0.0, 0.5, kernel.shape))
    bias = f32(RNG.normal(0.0, 0.5, bias.shape))
    if i == 3:
      bias[-8:] += 4.0  # Favour f0s near 1200 Hz.
    layer.set_weights([kernel, bias])
    out[f's2h_kernel{i}'], out[f's2h_bias{i}'] = kernel, bias
  result = s2h(out['freqs_a'], out['amps_a'])
  for key in ('harm_amp', 'harm_dist', 'f0_hz'):
    out[f's2h_{key}'] = f32(result[key])

  path = os.path.join(HERE, 'inverse_synthesis_golden.npz')
  np.savez(path, **out)
  print('wrote', path, {k: v.shape for k, v in out.items()})


if __name__ == '__main__':
  main()
