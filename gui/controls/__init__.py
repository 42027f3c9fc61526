"""Controls: the knobs a person turns while training runs.

The hyperparameter panel, its log and choice sliders, and the tips that explain each knob. Emits
what changed; imports the engine's spec and Qt, never the training plumbing.
"""
