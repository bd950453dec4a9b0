"""Dataset preparation: audio files -> sharded TFRecords of DDSP features.

An Apache Beam pipeline decodes audio files (wav, flac, ogg, mp3, ...),
mixes them to mono, resamples them, computes f0 and confidence with CREPE and
A-weighted loudness, cuts them into fixed-length examples and writes
`tf.train.Example` shards that `ddsp_tf.training.data.TFRecordProvider` (and
magenta/ddsp's) reads, plus `stats.json` and `rejects.tsv`.

Modules, one job each:

* `audio_io`: find input files, probe them, decode ranges, resample.
* `examples`: the example layout (windows, chunks) and per-chunk features.
* `statistics`: dataset statistics as a Beam CombineFn.
* `pipeline`: the Beam pipeline and `prepare_tfrecord`.
* `cli`: the `ddsp_tf_prepare_tfrecord` console script.
"""
