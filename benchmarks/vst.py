"""DDSP-VST benchmarks: the plugin model's time per hop and the player.

`python -m benchmarks --suite=vst` exports an untrained models/vst/vst.gin
run (speed does not depend on the weights) as the plugin's .tflite and
reports:

* predict-controls: one TFLite invoke on one thread (what the plugin runs
  every 20 ms hop), median of 500, and the budget ratio 20 ms / that time
  (the plugin also needs time for features and synthesis: target ratio
  >= 10);
* player: `ddsp_tf_vst_play`'s real-time factor (audio seconds per wall
  second; CREPE tiny, 512-sample blocks) on 10 s of a harmonic tone.
"""

import os
import tempfile
import time

import numpy as np

HOP_BUDGET_MS = 20.0
TARGET_BUDGET_RATIO = 10.0
SECONDS = 10.0


def _make_vst_run(save_dir: str) -> None:
  """Writes an operative config and a step-0 checkpoint of vst.gin."""
  # pylint: disable=import-outside-toplevel
  import gin
  import tensorflow as tf
  from ddsp_tf.training import models
  from ddsp_tf.training import runner
  from ddsp_tf.training import train_util
  # pylint: enable=import-outside-toplevel
  gin.clear_config()
  gin.add_config_file_search_path(runner.package_gin_dir())
  gin.parse_config_file('models/vst/vst.gin')
  model = models.get_model()
  model({'audio': tf.zeros([1, 64000]), 'f0_hz': tf.fill([1, 201], 220.0),
         'f0_confidence': tf.ones([1, 201])}, training=False)
  train_util.write_gin_config(None, save_dir, 0)
  tf.train.Checkpoint(model=model).write(os.path.join(save_dir, 'ckpt-0'))
  gin.clear_config()


def run() -> None:
  """Prints the DDSP-VST table."""
  # pylint: disable=import-outside-toplevel
  import soundfile as sf
  import tensorflow as tf
  from ddsp_tf.apps import export
  from ddsp_tf.apps import vst_player
  # pylint: enable=import-outside-toplevel
  print('\nDDSP-VST: plugin model (vst.gin, untrained) and player')
  with tempfile.TemporaryDirectory() as directory:
    run_dir = os.path.join(directory, 'run')
    _make_vst_run(run_dir)
    export_dir = export.export_inference_model(
        run_dir, save_dir=os.path.join(directory, 'export'),
        inference_model='vst_stateless_predict_controls', metadata=False,
        reverb=False)
    model_path = os.path.join(export_dir, 'tflite', 'model.tflite')
    with open(model_path, 'rb') as model_file:
      interpreter = tf.lite.Interpreter(model_content=model_file.read(),
                                        num_threads=1)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
      interpreter.set_tensor(detail['index'],
                             np.full(detail['shape'], 0.5, np.float32))
    for _ in range(20):
      interpreter.invoke()
    durations = []
    for _ in range(500):
      start = time.perf_counter()
      interpreter.invoke()
      durations.append(time.perf_counter() - start)
    hop_ms = 1000.0 * float(np.median(durations))
    ratio = HOP_BUDGET_MS / hop_ms
    print('| case | value | target |')
    print('|---|---|---|')
    print(f'| predict-controls invoke, 1 thread | {hop_ms:.3f} ms per hop | |')
    print(f'| hop budget ratio (20 ms / invoke) | {ratio:.0f}x | '
          f'>= {TARGET_BUDGET_RATIO:.0f}x |')
    t = np.arange(int(SECONDS * 16000)) / 16000
    phase = 2 * np.pi * np.cumsum(220.0 * 2.0 ** (t / SECONDS)) / 16000
    audio = (0.3 * sum(np.sin(k * phase) / k for k in range(1, 6))).astype(
        np.float32)
    input_path = os.path.join(directory, 'in.wav')
    sf.write(input_path, audio, 16000)
    result = vst_player.play_file(input_path, model_path,
                                  os.path.join(directory, 'out.wav'))
    print(f'| player real-time factor (CREPE tiny, 512-sample blocks) | '
          f'{result["real_time_factor"]:.1f}x | >= 1x |')
    print(f'| player algorithmic latency | {result["latency_samples"]} '
          'samples (22 ms) | |')
