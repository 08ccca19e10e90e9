"""`python -m tripin` runs the command line."""

from tripin.cli import main

raise SystemExit(main())
