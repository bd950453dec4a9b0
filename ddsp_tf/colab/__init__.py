"""Notebook helpers at magenta/ddsp's `ddsp.colab` path (see colab_utils)."""
