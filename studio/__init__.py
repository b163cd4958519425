"""Attention Studio's desktop application (PySide6 + pyqtgraph). It never imports torch at start-up:
training runs in a separate process, started and followed through the run folder."""
