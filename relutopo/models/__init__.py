"""relutopo.models: see the submodules."""
