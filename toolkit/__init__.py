"""Utilities shared by the three packages (scenarios, simulator, physics_evals): command-line plumbing,
provenance, the process pool and atomic file I/O. It imports none of them and never imports torch."""
