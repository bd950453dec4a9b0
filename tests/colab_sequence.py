"""The original timbre-transfer Colab's model calls, for either library.

`run(ddsp, model_dir, audio)` makes the calls the Colab makes, as its users
write them, on the library passed as `ddsp`: tests/test_original_interchange.py
passes ddsp_tf (`import ddsp_tf as ddsp`), and
tests/golden/make_original_interchange.py passes magenta/ddsp to record the
original's results. The dataset-statistics adjustment is left out.
"""

import glob
import os

import gin
import numpy as np
import tensorflow as tf


def run(ddsp, model_dir, audio):
  """Runs the Colab's sequence.

  Args:
    ddsp: The library (`import ddsp_tf as ddsp`, or the original `ddsp`),
      with its `training` package imported.
    model_dir: A training run: operative_config-*.gin and ckpt-* files.
    audio: [1, n_samples] float32 audio at 16 kHz.

  Returns:
    (the model, its features, its outputs, the generated audio). The gin
    config is left as the sequence set it.
  """
  gin.clear_config()
  gin_file = sorted(glob.glob(os.path.join(model_dir,
                                           'operative_config-*.gin')))[-1]
  with gin.unlock_config():
    gin.parse_config_file(gin_file, skip_unknown=True)

  ddsp.spectral_ops.reset_crepe()
  audio_features = ddsp.training.metrics.compute_audio_features(audio)
  audio_features = {k: v.numpy() if hasattr(v, 'numpy') else v
                    for k, v in audio_features.items()}
  audio_features['loudness_db'] = audio_features['loudness_db'].astype(
      np.float32)

  ckpt_files = [f for f in tf.io.gfile.listdir(model_dir) if 'ckpt' in f]
  ckpt = os.path.join(model_dir, ckpt_files[0].split('.')[0])

  time_steps_train = gin.query_parameter('F0LoudnessPreprocessor.time_steps')
  n_samples_train = gin.query_parameter('Harmonic.n_samples')
  hop_size = int(n_samples_train / time_steps_train)
  time_steps = int(audio.shape[1] / hop_size)
  n_samples = time_steps * hop_size
  with gin.unlock_config():
    gin.parse_config([f'Harmonic.n_samples = {n_samples}',
                      f'FilteredNoise.n_samples = {n_samples}',
                      f'F0LoudnessPreprocessor.time_steps = {time_steps}',
                      'oscillator_bank.use_angular_cumsum = True'])
  for key in ['f0_hz', 'f0_confidence', 'loudness_db']:
    audio_features[key] = audio_features[key][:time_steps]
  audio_features['audio'] = audio_features['audio'][:, :n_samples]

  model = ddsp.training.models.Autoencoder()
  model.restore(ckpt)
  outputs = model(audio_features, training=False)
  audio_gen = model.get_audio_from_outputs(outputs)
  return model, audio_features, outputs, audio_gen
