"""Step kinds, one module per family, and their registry."""
