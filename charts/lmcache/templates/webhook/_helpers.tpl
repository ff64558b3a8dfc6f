{{/*
Helpers of the CacheBlend injection webhook. Every webhook object carries the component
label "webhook" and is named after lmcache.webhook.fullname (the Service name as well).
*/}}

{{/*
"true" when the webhook renders, else "": webhook.enabled when set (true or false), and
when it is null (the default) whenever cacheBlendEngines has an entry.
*/}}
{{- define "lmcache.webhook.enabled" -}}
{{- $on := .Values.webhook.enabled -}}
{{- if kindIs "invalid" $on -}}{{- $on = not (empty .Values.cacheBlendEngines) -}}{{- end -}}
{{- if $on -}}true{{- end -}}
{{- end -}}

{{/* Base name of the webhook's objects: <fullname>-webhook, at most 63 characters. */}}
{{- define "lmcache.webhook.fullname" -}}
{{- printf "%s-webhook" (include "lmcache.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
name, namespace and labels of a webhook object: call with the root context for the
webhook's own name, or with (dict "root" $ "object" <name> "namespace" <namespace>).
*/}}
{{- define "lmcache.webhook.metadata" -}}
{{- $root := .root | default . -}}
{{- include "lmcache.metadata" (dict "root" $root "component" "webhook" "object" (.object | default (include "lmcache.webhook.fullname" $root)) "namespace" .namespace) -}}
{{- end -}}

{{- define "lmcache.webhook.labels" -}}
{{ include "lmcache.labels" (dict "root" . "component" "webhook") }}
{{- end -}}

{{- define "lmcache.webhook.selectorLabels" -}}
{{ include "lmcache.selectorLabels" (dict "root" . "component" "webhook") }}
{{- end -}}

{{/*
The MutatingWebhookConfiguration is cluster-scoped: its name carries the namespace too, so
two releases of the same name in different namespaces do not collide.
*/}}
{{- define "lmcache.webhook.configName" -}}
{{- printf "%s.%s" (include "lmcache.webhook.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* The DNS names the serving certificate must cover: those of the Service. */}}
{{- define "lmcache.webhook.dnsNames" -}}
{{- $svc := include "lmcache.webhook.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) | toJson -}}
{{- end -}}

{{/* The Secret the server reads its certificate from, whatever the TLS mode. */}}
{{- define "lmcache.webhook.tlsSecretName" -}}
{{- if eq .Values.webhook.tls.mode "secret" -}}
{{- required "webhook.tls.secret.name is required when webhook.tls.mode is secret" .Values.webhook.tls.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "lmcache.webhook.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The serving Certificate of mode certManager (the CA source of inject-ca-from). */}}
{{- define "lmcache.webhook.certificateName" -}}
{{- printf "%s-tls" (include "lmcache.webhook.fullname" .) -}}
{{- end -}}

{{/* Whether the chart builds its own cert-manager CA chain (no user issuer). */}}
{{- define "lmcache.webhook.ownCA" -}}
{{- if not .Values.webhook.tls.certManager.issuerRef.name -}}true{{- end -}}
{{- end -}}

{{/*
Mode helm: the CA and serving certificate as base64 fields {caCrt, tlsCrt, tlsKey}, as JSON.
The existing Secret is reused (lookup) so upgrades keep the certificate; when there is none
(first install, or helm template, where lookup returns nothing) a new CA and certificate
are generated. The Secret and the webhook configuration are separate templates that must
agree on one random CA, so the result is memoized on the root context for this render.
*/}}
{{- define "lmcache.webhook.helmTLS" -}}
{{- if not (hasKey . "lmcacheWebhookHelmTLS") -}}
{{- $name := include "lmcache.webhook.tlsSecretName" . -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name -}}
{{- $data := dict -}}
{{- if $existing -}}{{- $data = $existing.data | default dict -}}{{- end -}}
{{- $tls := dict -}}
{{- if and (index $data "ca.crt") (index $data "tls.crt") (index $data "tls.key") -}}
{{- $tls = dict "caCrt" (index $data "ca.crt") "tlsCrt" (index $data "tls.crt") "tlsKey" (index $data "tls.key") -}}
{{- else -}}
{{- $days := int .Values.webhook.tls.helm.validityDays -}}
{{- $ca := genCA (printf "%s-ca" (include "lmcache.webhook.fullname" .)) $days -}}
{{- $names := include "lmcache.webhook.dnsNames" . | fromJsonArray -}}
{{- $cert := genSignedCert (index $names 2) nil $names $days $ca -}}
{{- $tls = dict "caCrt" ($ca.Cert | b64enc) "tlsCrt" ($cert.Cert | b64enc) "tlsKey" ($cert.Key | b64enc) -}}
{{- end -}}
{{- $_ := set . "lmcacheWebhookHelmTLS" $tls -}}
{{- end -}}
{{- index . "lmcacheWebhookHelmTLS" | toJson -}}
{{- end -}}

{{/* The caBundle of the webhook configuration, for the modes that set it directly. */}}
{{- define "lmcache.webhook.caBundle" -}}
{{- if eq .Values.webhook.tls.mode "helm" -}}
{{- (include "lmcache.webhook.helmTLS" . | fromJson).caCrt -}}
{{- else if eq .Values.webhook.tls.mode "secret" -}}
{{- required "webhook.tls.secret.caBundle is required when webhook.tls.mode is secret" .Values.webhook.tls.secret.caBundle -}}
{{- end -}}
{{- end -}}

{{/* The namespaces whose ConfigMaps the webhook may get: the release's, then the extra ones. */}}
{{- define "lmcache.webhook.engineNamespaces" -}}
{{- prepend .Values.webhook.engineNamespaces .Release.Namespace | uniq | toJson -}}
{{- end -}}

{{/*
Name of the Role and RoleBinding in a namespace (dict "root" $ "namespace" ns): the webhook's
name in the release namespace; elsewhere it also names the release namespace, since two
releases of the same name in different namespaces may both grant access there.
*/}}
{{- define "lmcache.webhook.roleName" -}}
{{- $fullname := include "lmcache.webhook.fullname" .root -}}
{{- if eq .namespace .root.Release.Namespace -}}
{{- $fullname -}}
{{- else -}}
{{- printf "%s-%s" $fullname .root.Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/*
A count printed as an integer, or a percentage ("50%") quoted. Helm 3 hands numbers to
templates as json.Number, whose kind is "string", so the test is on the text.
*/}}
{{- define "lmcache.webhook.intOrPercent" -}}
{{- if hasSuffix "%" (toString .) -}}{{ toString . | quote }}{{- else -}}{{ include "lmcache.int" . }}{{- end -}}
{{- end -}}
