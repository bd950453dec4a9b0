"""gin configs of the DDSP-VST models: package data, found by name."""
