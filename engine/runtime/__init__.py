"""Where a run executes: the device and its precision, distributed processes, FP8, peak memory."""
