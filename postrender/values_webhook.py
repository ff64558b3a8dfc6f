"""Values of the CacheBlend injection webhook (`webhook:` in values.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class WebhookValues(_Strict):
    enabled: bool = False
    failurePolicy: Literal["Ignore", "Fail"] = "Ignore"
    timeoutSeconds: int = Field(5, ge=1, le=30)
    excludedNamespaces: list[str] = ["kube-system", "kube-public"]
