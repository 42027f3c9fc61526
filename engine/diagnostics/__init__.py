"""Diagnostics: how healthy gradients and activations are, and proof that gradients are right.

Per-layer health figures, gradient alerts with their one-click fixes, fast percentiles, finite-
difference gradient checks. May import engine.layers, engine.files and engine.snapshot.
"""
