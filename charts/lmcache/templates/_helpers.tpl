{{/*
Shared naming and label helpers. Entry objects (engines, blend engines, coordinators) are
named after their values key; release-wide objects (the webhook) use lmcache.fullname.
*/}}

{{- define "lmcache.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lmcache.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "lmcache.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels. Call with (dict "root" $ "component" "cache-engine" "key" "lmcache.ai/engine" "name" $name);
"key"/"name" may be omitted for release-wide components such as the webhook.
app.kubernetes.io/name is always "lmcache": the post-renderer finds LMCache workloads by it.
*/}}
{{- define "lmcache.selectorLabels" -}}
app.kubernetes.io/name: lmcache
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- if .key }}
{{ .key }}: {{ .name }}
{{- end }}
{{- end -}}

{{/* Full label set: the selector labels plus the standard Helm labels. Same argument. */}}
{{- define "lmcache.labels" -}}
helm.sh/chart: {{ include "lmcache.chart" .root }}
{{ include "lmcache.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* An image reference from {repository, tag}: a tag "sha256:..." is a digest. */}}
{{- define "lmcache.image" -}}
{{- if hasPrefix "sha256:" (toString .tag) -}}
{{- printf "%s@%s" .repository .tag -}}
{{- else -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
{{- end -}}

{{/*
A value of a "number" field, printed exactly and always as a float (1 -> 1.0, 0.04 -> 0.04),
the way the post-renderer and the JSON encoders in Python print it. toJson never rounds.
*/}}
{{- define "lmcache.float" -}}
{{- $s := toJson . -}}
{{- if regexMatch "^-?[0-9]+$" $s -}}{{ $s }}.0{{- else -}}{{ $s }}{{- end -}}
{{- end -}}

{{/* An integer field (Helm reads every number as float64): printed without a fraction. */}}
{{- define "lmcache.int" -}}
{{- toJson (int64 .) -}}
{{- end -}}
