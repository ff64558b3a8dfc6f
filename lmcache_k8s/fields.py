"""The building blocks of the values models: strict base model, shared field types.

`lmcache_k8s.values` (engines, CacheBlend engines, coordinators) and
`lmcache_k8s.webhook_values` (the `webhook:` block) both build on these, so a pull policy,
a log level or an image pull secret is declared once for every part of the chart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lmcache_k8s.names import METRICS_SUFFIX

# A DNS-1035 label, short enough that the Service `<name>-metrics` is one too (63 characters;
# the ConfigMap `<name>-connection` only needs a DNS-1123 subdomain, 253). SPEC 1.1: 55.
NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
NAME_MAX_LENGTH = 63 - len(METRICS_SUFFIX)
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=NAME_MAX_LENGTH)]

PullPolicy = Literal["Always", "Never", "IfNotPresent"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
Port = Annotated[int, Field(ge=1, le=65535)]
ServerPort = Annotated[int, Field(ge=1024, le=65535)]
# A Go duration in whole units, as Prometheus and cert-manager read it (`30s`, `2160h30m`).
DURATION_PATTERN = r"^([0-9]+(ms|s|m|h))+$"
# The same, but not zero: a scrape interval, a rate window or a certificate's lifetime of 0
# is refused by Prometheus, PromQL and cert-manager. (No lookahead: Helm's JSON Schema
# validators use Go's RE2.) At least one part has a non-zero count.
POSITIVE_DURATION_PATTERN = r"^([0-9]+(ms|s|m|h))*[0-9]*[1-9][0-9]*(ms|s|m|h)([0-9]+(ms|s|m|h))*$"
# Free-form Kubernetes objects: the Kubernetes schemas check them after rendering.
KubeObject = dict[str, Any]
KubeList = list[dict[str, Any]]
StringMap = dict[str, str]


class Strict(BaseModel):
    """Unknown keys are errors (typos must not pass silently); types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PullSecret(Strict):
    name: str = Field(min_length=1)
