"""Attention Studio's engine: corpora, tokenizers, Transformer models, training and generation.

No Qt here. The lower layers (core, config, run, plan, launch) import no torch either, so the studio can use
them at start-up; docs/architecture.md draws the layers.
"""

import os
import time

__version__ = "0.1.0"

PROCESS_START = float(os.environ.get("ENGINE_PROCESS_START") or time.time())
"""When this process imported the engine (or, after engine/launch/allocator.py restarted it, when the first one
did): control requests written before it are stale."""
