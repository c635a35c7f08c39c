"""`python -m sharemyshows_rt` runs the command line."""

from .cli import main

raise SystemExit(main())
