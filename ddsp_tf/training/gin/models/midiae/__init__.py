"""gin configs of the MIDI autoencoders: package data, found by name."""
