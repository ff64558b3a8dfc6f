"""lmcache-k8s post-renderer: validates and enforces LMCache invariants on a manifest stream."""
