"""gin configs of the URMP dataset: package data, found by name."""
