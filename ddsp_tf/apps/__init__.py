"""Applications built on the library (layer 4 of DESIGN.md).

* `export`: a training run's checkpoint to an export directory (SavedModel,
  TFLite, metadata.json, the learned room).
* `timbre_transfer`: load an export, compute features of new audio, adjust
  them and resynthesize.
* `demo`: the main job, from audio files to a trained, exported,
  listened-to model.

They call library functions with typed settings; the console scripts in
`ddsp_tf.cli` parse flags and call them. Import the one you need
(`from ddsp_tf.apps import timbre_transfer`).
"""
