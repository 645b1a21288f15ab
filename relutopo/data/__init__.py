"""relutopo.data: see the submodules."""
