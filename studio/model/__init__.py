"""The Model page: every field of the run config as a form, with a live estimate and presets."""
