"""Training: one mini-batch at a time, reproducibly, with the commands that steer it.

The trainer (forward, loss, backward, clip, update, NaN/Inf naming), optimisers, clipping, learning-
rate schedules, commands and the per-step history. May import every other engine room.
"""
