"""Console-script entry points (thin: parse flags, call library functions)."""
