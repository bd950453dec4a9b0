"""gin mixins for the MIDI autoencoders: package data, found by name."""
