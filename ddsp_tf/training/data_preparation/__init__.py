"""magenta/ddsp's `ddsp.training.data_preparation` path.

The Apache Beam job lives in the top-level `data_prep` package; the modules
here only re-export its names at the original's paths.
"""
