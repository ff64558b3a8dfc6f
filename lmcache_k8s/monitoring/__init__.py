"""Dashboards, alerts and the metric names they may use.

- `inventory.json` (written by scripts/metric_inventory.py): every metric the real engine,
  CacheBlend engine, coordinator and webhook export, and the documented kube-state-metrics
  names, each with how it was obtained (observed, derived or documented).
- `inventory`: reads it, and finds the metric names a PromQL expression uses.
- `dashboards`: the Grafana dashboards, generated into charts/lmcache/dashboards/.
"""
