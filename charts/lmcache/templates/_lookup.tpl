{{/*
THE CLUSTER SEAM. The preflight checks of _validate.tpl ask the live cluster only through
this helper, so a test can replace this one file with a stub that answers from a fixed table
(tests/chart/test_preflight.py does). Keep it this small, and route any new preflight
question through it.

Call with (list apiVersion kind namespace name), namespace "" for cluster-scoped kinds.
Returns the object as JSON, or "" when it does not exist or Helm sees no cluster: lookup
returns an empty map under `helm template` and a client-side `--dry-run`.
*/}}
{{- define "lmcache.lookup" -}}
{{- with lookup (index . 0) (index . 1) (index . 2) (index . 3) -}}{{- toJson . -}}{{- end -}}
{{- end -}}
