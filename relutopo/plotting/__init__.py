"""relutopo.plotting: see the submodules."""
