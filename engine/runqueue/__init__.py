"""Runs waiting their turn: the workspace's queue (queue.json, survives restarts, reorderable, pausable)
and sweeps, whose every point is a normal run put in the queue."""
