"""Run under torchrun by test_gloo: train through the CLI in this process, then print the process group's
threads still alive (none may be: a thread left at interpreter exit can abort a finished run)."""

import json
import sys

from engine.cli import main
from engine.runtime.distributed import communication_threads

if __name__ == "__main__":
    code = main(["train", *sys.argv[1:], "--human"])
    print(json.dumps({"exit": code, "threads": communication_threads()}), file=sys.stderr, flush=True)
    sys.exit(code)
