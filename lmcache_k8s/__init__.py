"""The contract the chart, the post-renderer and the webhook share: one home for every rule.

- `names`: object-name suffixes, ConfigMap keys, labels, annotations, environment variables.
- `fields`, `values`, `webhook_values`: the values as pydantic models (defaults, field rules).
- `relations`: rules between two fields or two entries, each with its documentation.
- `lmcache_cli`: facts about the real `lmcache` command lines (flags rendered, rejected).
- `connection`: `connection_hash()`, the short hash of a kv-transfer-config (stale pods).
- `errors`: problems as values (a path and a rule), `validate`: every rule at once.
- `generate`: writes (or checks) values.schema.json, the chart's generated templates
  (`_defaults.tpl`, `_contract.tpl`) and docs/values.md, whose tables `values_doc` renders.

Importing this package loads nothing heavy: the post-renderer imports pydantic only when a
stream holds an LMCache workload.
"""
