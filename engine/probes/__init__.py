"""Probes that read a trained model from outside, through its named hook points (engine/model/hooks.py):
head scores, the in-context-learning score, phase changes, logit lens, head ablation, embeddings."""
