"""Pure-NumPy backpropagation engine: no Qt, no threads, no printing.

The engine's matrices are small; one BLAS thread is faster for them and leaves the second core to
the GUI (two BLAS threads on two busy cores made training 30-40x slower here). The default is set
when this package is imported, which only takes effect if NumPy is not loaded yet: entry points
(main.py, tests, benchmarks) import the engine, or set these variables, before NumPy.
"""

import os as _os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")
