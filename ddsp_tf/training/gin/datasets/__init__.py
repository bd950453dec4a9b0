"""gin configs: package data, found by name on the gin search path."""
