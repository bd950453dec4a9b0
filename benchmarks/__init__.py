"""Speed benchmarks for ddsp_tf; run `python -m benchmarks` to print a table."""
