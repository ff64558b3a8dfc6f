{{/*
Shared naming and label helpers. Entry objects (engines, blend engines, coordinators) are
named after their values key; release-wide objects (the webhook) use lmcache.fullname.
*/}}

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
Selector labels of an entry (dict "root" $ "kind" "engines" "name" $name), or of a
release-wide component (dict "root" $ "component" "webhook"). app.kubernetes.io/name is
always "lmcache": the post-renderer finds LMCache workloads by it. An entry whose spec sets
adoptOperatorObjects gets the reference operator's selector instead.
*/}}
{{- define "lmcache.selectorLabels" -}}
{{- if dig "spec" "adoptOperatorObjects" false . -}}
{{- /* names.operator_selector_labels: immutable on the operator's workloads (docs/migrate.md) */ -}}
{{- $n := include "lmcache.names" . | fromJson -}}
app.kubernetes.io/name: {{ $n.appName }}
app.kubernetes.io/instance: {{ .name }}
app.kubernetes.io/managed-by: {{ $n.operatorManagedBy }}
{{- else -}}
{{ include "lmcache.chartSelectorLabels" . }}
{{- end -}}
{{- end -}}

{{/*
The chart's own selector labels, whatever adoptOperatorObjects says: the labels every object
of an entry carries, and what the ServiceMonitor selects its N-metrics Service by.
*/}}
{{- define "lmcache.chartSelectorLabels" -}}
{{- $n := include "lmcache.names" . | fromJson -}}
app.kubernetes.io/name: {{ $n.appName }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component | default (get $n.components (.kind | default "")) }}
{{- with .kind }}
{{ get $n.entryLabels . }}: {{ $.name }}
{{- end }}
{{- end -}}

{{/* Full label set: the selector labels plus the standard Helm labels. Same argument. */}}
{{- define "lmcache.labels" -}}
helm.sh/chart: {{ include "lmcache.chart" .root }}
{{ include "lmcache.chartSelectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/*
name, namespace and labels of an object, for the same argument plus "object" (its name,
when it is not the entry's) and "namespace" (when not the release's).
*/}}
{{- define "lmcache.metadata" -}}
name: {{ .object | default .name }}
namespace: {{ .namespace | default .root.Release.Namespace }}
labels:
  {{- include "lmcache.labels" . | nindent 2 }}
{{- end -}}

{{/*
The keys given, (list $map "key"...), that $map sets to a non-empty value, in that order,
as YAML: a string inline, anything else as a block.
*/}}
{{- define "lmcache.fields" -}}
{{- $map := first . -}}
{{- $lines := list -}}
{{- range $key := rest . -}}
{{- with index $map $key -}}
{{- $lines = append $lines (ternary (printf "%s: %s" $key .) (printf "%s:%s" $key (toYaml . | nindent 2)) (kindIs "string" .)) -}}
{{- end -}}
{{- end -}}
{{- join "\n" $lines -}}
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
