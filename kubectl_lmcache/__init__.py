"""`kubectl lmcache`: status for a chart install, computed on demand from the live objects.

Without a controller there is no status field to read, so the plugin lists the chart's
objects (one call per kind, by label), applies the reference operator's phase and condition
rules, runs the post-renderer's checks on what it found, and shows which vLLM pods are wired
to which engine and whether their connection is stale.

Layout: `cli` (flags, dispatch, the error edge), one module per subcommand in `commands/`,
pure functions in `status`, `configvalid`, `consumers`, `events`, `probe` (parsing), and
the only module that talks to the API, `kube`.
"""
