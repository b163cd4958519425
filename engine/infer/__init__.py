"""Using a trained model: load a run for inference, generate, predict, inspect attention, and serve all
of them to the studio from a worker process of their own."""
