"""Thin stage shells: read declared inputs, call pure functions, write declared outputs."""
