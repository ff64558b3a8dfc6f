"""Values of the CacheBlend injection webhook (`webhook:` in values.yaml).

Every default here is also written, with a comment, in the `webhook:` block of
`charts/lmcache/values.yaml`; a test proves the two are equal. Optional settings default
to empty values (`{}`, `[]`, `""`) rather than None so that block can spell out each key.

Its building blocks (strict model, pull secrets, pull policies, log levels) are the ones
the entry models use, from `lmcache_k8s.fields`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from lmcache_k8s.fields import (
    POSITIVE_DURATION_PATTERN,
    KubeList,
    KubeObject,
    LogLevel,
    PullPolicy,
    PullSecret,
    Strict,
    StringMap,
)

# A namespace name: a DNS-1123 label.
Namespace = Annotated[
    str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", min_length=1, max_length=63)
]
# A Secret name (DNS-1123 subdomain), or "" for unset.
SECRET_NAME_PATTERN = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$"
# Standard base64 without line breaks, or "" for unset: what `caBundle` holds.
BASE64_PATTERN = r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
PERCENT_PATTERN = r"^[0-9]+%$"


def _int_or_percent(value: Any) -> int | str:
    # One validator rather than `int | str`: a union's errors would carry member tags in
    # their path (`...minAvailable.int`), and the path must read like the values.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(PERCENT_PATTERN, value):
        return value
    raise PydanticCustomError("int_or_percent", 'must be a count or a percentage such as "50%"')


# A PodDisruptionBudget bound: a count or a percentage.
IntOrPercent = Annotated[
    int | str,
    PlainValidator(_int_or_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": PERCENT_PATTERN},
            ]
        }
    ),
]

DEFAULT_IMAGE_REPOSITORY = "lmcache/cacheblend-webhook"
# The container port; the Service always listens on 443.
DEFAULT_PORT = 8443


class WebhookImage(Strict):
    repository: str = Field(DEFAULT_IMAGE_REPOSITORY, min_length=1)
    tag: str = Field("", description='"" uses the chart appVersion; `sha256:...` is a digest.')
    pullPolicy: PullPolicy = "IfNotPresent"


class IssuerRef(Strict):
    name: str = Field("", description='"" makes the chart build its own CA chain.')
    kind: str = Field("Issuer", min_length=1)
    group: str = Field("cert-manager.io", min_length=1)


class CertManagerTLS(Strict):
    issuerRef: IssuerRef = IssuerRef()
    duration: str = Field("8760h", pattern=POSITIVE_DURATION_PATTERN, description="Serving cert.")
    caDuration: str = Field(
        "43800h", pattern=POSITIVE_DURATION_PATTERN, description="Chart-made CA."
    )
    trustCRDsExist: bool = Field(
        False,
        description="Render cert-manager objects even when cert-manager.io/v1 is not"
        " advertised (helm lint cannot be told about API versions).",
    )


class HelmTLS(Strict):
    validityDays: int = Field(3650, ge=1, description="Of the generated CA and serving cert.")


class SecretTLS(Strict):
    name: str = Field("", pattern=SECRET_NAME_PATTERN, max_length=253)
    caBundle: str = Field("", pattern=BASE64_PATTERN, description="base64 of the CA's PEM.")


TLSMode = Literal["certManager", "helm", "secret"]
SECRET_MODE_FIELDS = ("name", "caBundle")


def _secret_mode_needs_secret(schema: dict[str, Any]) -> None:
    # JSON Schema twin of WebhookTLS._secret_mode_needs_secret.
    schema["if"] = {"properties": {"mode": {"const": "secret"}}, "required": ["mode"]}
    schema["then"] = {
        "properties": {
            "secret": {
                "properties": {key: {"minLength": 1} for key in SECRET_MODE_FIELDS},
                "required": list(SECRET_MODE_FIELDS),
            }
        },
        "required": ["secret"],
    }


class WebhookTLS(Strict):
    model_config = ConfigDict(json_schema_extra=_secret_mode_needs_secret)

    mode: TLSMode = "certManager"
    certManager: CertManagerTLS = CertManagerTLS()
    helm: HelmTLS = HelmTLS()
    secret: SecretTLS = SecretTLS()

    @model_validator(mode="after")
    def _secret_mode_needs_secret(self) -> WebhookTLS:
        if self.mode != "secret":
            return self
        missing = [key for key in SECRET_MODE_FIELDS if not getattr(self.secret, key)]
        if missing:
            # Raised as a ValidationError so each error points at the field to fill in.
            raise ValidationError.from_exception_data(
                "WebhookTLS",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "secret_mode", "is required when tls.mode is secret"
                        ),
                        loc=("secret", key),
                        input="",
                    )
                    for key in missing
                ],
            )
        return self


class PodDisruptionBudget(Strict):
    minAvailable: IntOrPercent = 1
    maxUnavailable: IntOrPercent | None = Field(
        None, description="When set, replaces minAvailable."
    )


class WebhookServiceMonitor(Strict):
    """A ServiceMonitor for the webhook's own /metrics, served over HTTPS on its one port.

    The same switches as an entry's prometheus.serviceMonitor; Prometheus verifies the
    serving certificate with the ca.crt of the webhook's TLS Secret unless tlsConfig says
    otherwise.
    """

    enabled: bool = False
    interval: str = Field("30s", pattern=POSITIVE_DURATION_PATTERN)
    labels: StringMap = {}
    trustCRDsExist: bool = Field(
        False,
        description="Render the ServiceMonitor even when monitoring.coreos.com/v1 is not"
        " advertised (helm lint cannot be told about API versions).",
    )
    tlsConfig: KubeObject = Field(
        {},
        description="The endpoint's tlsConfig; {} verifies against ca.crt of the webhook's"
        " TLS Secret (certManager and helm modes write it) for the Service's DNS name.",
    )


class WebhookValues(Strict):
    enabled: bool | None = Field(
        None,
        description="null (the default): on exactly when cacheBlendEngines has an entry, since"
        " a CacheBlend engine serves nobody without it; true: always (the plain LMCache"
        " injection alone needs this); false: never.",
    )
    replicas: int = Field(2, ge=1)
    image: WebhookImage = WebhookImage()
    imagePullSecrets: list[PullSecret] = []
    logLevel: LogLevel = "INFO"
    port: int = Field(DEFAULT_PORT, ge=1024, le=65535, description="Container port (non-root).")
    failurePolicy: Literal["Ignore", "Fail"] = "Ignore"
    timeoutSeconds: int = Field(5, ge=1, le=30)
    excludedNamespaces: list[Namespace] = ["kube-system", "kube-public"]
    engineNamespaces: list[Namespace] = Field(
        [], description="Other namespaces holding engines the webhook may read (get configmaps)."
    )
    tls: WebhookTLS = WebhookTLS()
    podDisruptionBudget: PodDisruptionBudget = PodDisruptionBudget()
    resources: KubeObject = {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"memory": "256Mi"},
    }
    nodeSelector: StringMap = {}
    tolerations: KubeList = []
    affinity: KubeObject = Field({}, description="{} spreads replicas across nodes (preferred).")
    priorityClassName: str = ""
    podAnnotations: StringMap = {}
    podLabels: StringMap = {}
    serviceMonitor: WebhookServiceMonitor = WebhookServiceMonitor()
