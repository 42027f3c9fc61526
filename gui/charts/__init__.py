"""Charts: live views of a training run drawn from snapshots.

Loss and accuracy curves, gradient flow, gradient heatmaps, weight/gradient distributions and the
gradient alerts list. Imports the engine's records and Qt/pyqtgraph; never the training plumbing.
"""
