"""Values of the dashboards and alerts (`monitoring:` in values.yaml).

Every default here is also written, with a comment, in the `monitoring:` block of
`charts/lmcache/values.yaml`; tests/chart/test_generated.py proves the two are equal.

Both parts are off by default. Dashboards are ConfigMaps only a Grafana sidecar reads, and
a PrometheusRule needs the Prometheus Operator's CRD: turning either on by default would
make every existing install render new objects (and a PrometheusRule would fail the render
on clusters without the CRD). One switch each turns them on; the choice is documented in
docs/observability.md.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from lmcache_k8s.fields import DURATION_PATTERN, POSITIVE_DURATION_PATTERN, Strict, StringMap

Duration = Annotated[str, Field(pattern=DURATION_PATTERN)]
# A PromQL range must be longer than zero.
PositiveDuration = Annotated[str, Field(pattern=POSITIVE_DURATION_PATTERN)]
# A share of something, as Prometheus compares it: 0.05 is 5%.
Ratio = Annotated[float, Field(gt=0, le=1)]
Severity = Annotated[
    str, Field(min_length=1, description="The `severity` label: critical, warning, info...")
]


class Dashboards(Strict):
    enabled: bool = Field(False, description="Render the three dashboard ConfigMaps.")
    label: str = Field(
        "grafana_dashboard",
        min_length=1,
        description="ConfigMap label the Grafana sidecar selects (kube-prometheus-stack:"
        " grafana.sidecar.dashboards.label).",
    )
    labelValue: str = Field("1", description="Value of that label (sidecar labelValue).")
    folder: str = Field(
        "LMCache", description='Grafana folder, written to the folderAnnotation; "" omits it.'
    )
    folderAnnotation: str = Field(
        "grafana_folder",
        min_length=1,
        description="Annotation the sidecar reads the folder from (sidecar folderAnnotation).",
    )
    labels: StringMap = Field({}, description="Extra labels on the dashboard ConfigMaps.")
    annotations: StringMap = Field({}, description="Extra annotations on the ConfigMaps.")


class AlertRule(Strict):
    """One alert: whether it is rendered, how long its condition must hold, its severity."""

    model_config = ConfigDict(populate_by_name=False)

    enabled: bool = True
    for_: Duration = Field("5m", alias="for", description="How long the condition must hold.")
    severity: Severity = "warning"


class RatioAlert(AlertRule):
    threshold: Ratio = Field(0.1, description="Fires above this share (0.1 is 10%).")
    window: PositiveDuration = Field("10m", description="Window the rates are taken over.")


class L1Alert(AlertRule):
    threshold: Ratio = Field(
        0.95,
        description="Fires while L1 usage stays above this share of L1. Keep it above the"
        " engines' eviction.triggerWatermark (0.8 by default), where usage normally sits.",
    )


def _rule(model: type[AlertRule], **values: object) -> AlertRule:
    return model.model_validate(values)


class Alerts(Strict):
    enabled: bool = Field(False, description="Render the PrometheusRule.")
    trustCRDsExist: bool = Field(
        False,
        description="Render the PrometheusRule even when monitoring.coreos.com/v1 is not"
        " advertised (helm lint cannot be told about API versions).",
    )
    labels: StringMap = Field(
        {}, description="Labels on the PrometheusRule (e.g. what the ruleSelector matches)."
    )
    ruleLabels: StringMap = Field({}, description="Extra labels on every alert (e.g. team).")
    runbookURL: str = Field(
        "",
        description="Base URL of the runbooks (docs/observability.md); each alert's"
        ' runbook_url is <runbookURL>#<alert anchor>. "" omits runbook_url.',
    )
    engineNotReady: AlertRule = _rule(AlertRule, severity="critical")
    l1NearFull: L1Alert = _rule(L1Alert, **{"for": "15m"})
    webhookDown: AlertRule = _rule(AlertRule, severity="critical")
    webhookErrors: RatioAlert = _rule(RatioAlert, threshold=0.05, window="5m", **{"for": "10m"})
    webhookSkips: RatioAlert = _rule(RatioAlert, threshold=0.1, window="15m", **{"for": "15m"})
    cacheBlendWithoutWebhook: AlertRule = _rule(AlertRule, severity="critical", **{"for": "10m"})
    enginesWithoutCoordinator: AlertRule = _rule(AlertRule)
    coordinatorDown: AlertRule = _rule(AlertRule, severity="critical")


class MonitoringValues(Strict):
    dashboards: Dashboards = Dashboards()
    alerts: Alerts = Alerts()
