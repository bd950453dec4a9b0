"""The ddsp_tf version, read by setup.py and exported as ddsp_tf.__version__."""

__version__ = '0.1.0'
