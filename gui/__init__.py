"""PySide6 + pyqtgraph views and the training worker."""
