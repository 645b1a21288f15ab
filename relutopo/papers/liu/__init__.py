"""Code of one paper (see relutopo.papers)."""
