"""`python -m kubectl_lmcache` runs the plugin."""

from kubectl_lmcache.cli import main

raise SystemExit(main())
