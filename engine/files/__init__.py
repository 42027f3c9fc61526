"""Files: what a network is on disk and where things live.

The spec (JSON network description, validation), presets, model and session files, the atomic
writer, resource and user-data paths. Imports nothing else from the engine; every room may use it.
"""
