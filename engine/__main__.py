"""`python -m engine ...`: see engine/cli.py."""

from engine.cli import main

if __name__ == "__main__":  # worker processes (spawn) import this module without running it
    raise SystemExit(main())
