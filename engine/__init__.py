"""Pure-NumPy backpropagation engine: no Qt, no threads, no printing."""
