"""Starting training processes: the allocator, several local processes, torchrun and SLURM, the studio's
detached trainer. No torch."""
