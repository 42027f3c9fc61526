"""Training plumbing: the process that trains and the GUI-thread controller that steers it.

The controller (GUI thread), the relaying QThread worker, the spawned training process's loop and
the out-of-band event pipe. Imports the engine and Qt core, never a view.
"""
