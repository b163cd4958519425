"""Attention Studio's engine: corpora, tokenizers, Transformer models, training and generation.

No Qt here. `config`, `events`, `estimate` and `errors` import no torch either, so the studio can use
them at start-up.
"""

import time

__version__ = "0.1.0"

PROCESS_START = time.time()
"""When this process imported the engine: control requests written before it are stale."""
