"""`python -m studio`: open the desktop application."""

from studio.app import main

raise SystemExit(main())
