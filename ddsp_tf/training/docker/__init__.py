"""magenta/ddsp's `ddsp.training.docker`: the container entry point, `task`."""
