"""Planning a run before it starts: parameter and FLOP counts, time and memory estimates. No torch."""
