"""The network builder: a palette, the editable block list, the live diagram and the block editor.

Emits the spec the user built and renders snapshots it is given. Imports the engine's spec, cost and
presets and Qt; never the training plumbing.
"""
