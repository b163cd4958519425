"""Training: the Trainer object, optimizers, the schedule, checkpoints, health checks, devices."""
