"""Layers: the differentiable pieces and the network made of them.

The Layer protocol, parameters and their packing, dense/activation/regularisation/residual layers,
initialisers, losses, the built network and its cost. May import engine.files only (for the spec).
"""
