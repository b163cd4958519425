"""The Train page: one run's live curves, progress, samples and log, with Pause/Resume/Stop."""
