{{/*
Helpers of the dashboards and alerts (monitoring: in values.yaml; docs/observability.md).

Alerts select this release's series by the labels the Prometheus Operator gives a
ServiceMonitor's targets: `namespace` (the Service's) and `job` (the Service's name, so
<name>-metrics for an entry and the webhook's Service name for the webhook), and
kube-state-metrics' own `namespace`, `daemonset` and `deployment` labels.
*/}}

{{/* True ("true") when the cluster serves the PrometheusRule API (or --api-versions says so). */}}
{{- define "lmcache.monitoring.hasPrometheusRuleAPI" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PrometheusRule" -}}true{{- else if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" -}}true{{- end -}}
{{- end -}}

{{/* Whether the webhook's ServiceMonitor is rendered (the check in _validate.tpl fails otherwise). */}}
{{- define "lmcache.monitoring.webhookServiceMonitor" -}}
{{- $sm := .Values.webhook.serviceMonitor -}}
{{- if and (include "lmcache.webhook.enabled" .) $sm.enabled (or (include "lmcache.hasServiceMonitorAPI" .) $sm.trustCRDsExist) -}}true{{- end -}}
{{- end -}}

{{/*
What the alerts need to know about this release, as JSON:
  engines: every engine and CacheBlend engine DaemonSet; blends: the CacheBlend ones;
  engineJobs: the <name>-metrics jobs of engines with metrics on, and unscraped: those of
  them without a ServiceMonitor; coordinators: every coordinator with replicas > 0, as
  {name, job ("" without metrics), scraped, engines: the DaemonSets whose coordinator.ref
  names it}.
*/}}
{{- define "lmcache.monitoring.release" -}}
{{- $root := . -}}
{{- $out := dict "engines" list "blends" list "engineJobs" list "unscraped" list "coordinators" list -}}
{{- $refs := dict -}}
{{- range $e := include "lmcache.entries" (list $root "engines" "cacheBlendEngines") | fromJsonArray -}}
{{- $name := $e.name -}}
{{- $s := $e.spec -}}
{{- $_ := set $out "engines" (append $out.engines $name) -}}
{{- if eq $e.kind "cacheBlendEngines" -}}{{- $_ := set $out "blends" (append $out.blends $name) -}}{{- end -}}
{{- if $s.prometheus.enabled -}}
{{- $_ := set $out "engineJobs" (append $out.engineJobs (printf "%s-metrics" $name)) -}}
{{- if not $s.prometheus.serviceMonitor.enabled -}}{{- $_ := set $out "unscraped" (append $out.unscraped (printf "%s.%s" $e.kind $name)) -}}{{- end -}}
{{- end -}}
{{- $target := dig "coordinator" "ref" "name" "" $s -}}
{{- if $target -}}
{{- $_ := set $refs $target (append (get $refs $target | default list) $name) -}}
{{- end -}}
{{- end -}}
{{- range $e := include "lmcache.entries" (list $root "coordinators") | fromJsonArray -}}
{{- $name := $e.name -}}
{{- $c := $e.spec -}}
{{- if gt (int64 $c.replicas) 0 -}}
{{- $job := "" -}}
{{- if $c.prometheus.enabled -}}{{- $job = printf "%s-metrics" $name -}}{{- end -}}
{{- $entry := dict "name" $name "job" $job "scraped" (and $c.prometheus.enabled $c.prometheus.serviceMonitor.enabled) "engines" (get $refs $name | default list) -}}
{{- $_ := set $out "coordinators" (append $out.coordinators $entry) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The label selector text for a list of names: `="a"` for one, `=~"a|b"` for several. */}}
{{- define "lmcache.monitoring.match" -}}
{{- if eq (len .) 1 -}}="{{ first . }}"{{- else -}}=~"{{ join "|" . }}"{{- end -}}
{{- end -}}

{{/*
The annotations of one alert: summary and description (Prometheus templates, kept verbatim)
and, with a runbookURL, runbook_url. Call with (dict "root" $ "anchor" "..." "summary" "..."
"description" "...").
*/}}
{{- define "lmcache.monitoring.annotations" -}}
summary: {{ .summary | quote }}
description: {{ .description | quote }}
{{- with .root.Values.monitoring.alerts.runbookURL }}
runbook_url: {{ printf "%s#%s" . $.anchor | quote }}
{{- end }}
{{- end -}}

{{/* The labels of one alert: severity, then the user's ruleLabels (severity wins). */}}
{{- define "lmcache.monitoring.ruleLabels" -}}
{{- toYaml (merge (dict "severity" .rule.severity) (.root.Values.monitoring.alerts.ruleLabels | default dict)) -}}
{{- end -}}

{{/*
Lines NOTES.txt prints about monitoring: what was rendered, and alerts that cannot fire
because nothing scrapes the series they read.
*/}}
{{- define "lmcache.monitoring.notes" -}}
{{- $m := .Values.monitoring -}}
{{- $lines := list -}}
{{- if $m.dashboards.enabled -}}
{{- $lines = append $lines (printf "Dashboards: ConfigMaps %s-dashboard-{engines,coordinators,webhook}, label %s=%s, folder %q (docs/observability.md)." (include "lmcache.fullname" .) $m.dashboards.label $m.dashboards.labelValue $m.dashboards.folder) -}}
{{- end -}}
{{- if and $m.alerts.enabled (or (include "lmcache.monitoring.hasPrometheusRuleAPI" .) $m.alerts.trustCRDsExist) -}}
{{- $r := include "lmcache.monitoring.release" . | fromJson -}}
{{- $lines = append $lines (printf "Alerts: PrometheusRule %s-alerts; the runbook of every alert is in docs/observability.md." (include "lmcache.fullname" .)) -}}
{{- if and $m.alerts.l1NearFull.enabled $r.unscraped -}}
{{- $lines = append $lines (printf "WARNING: LMCacheL1NearFull reads the engines' /metrics, but %s have no ServiceMonitor: enable prometheus.serviceMonitor there, or scrape their <name>-metrics Service with job=<name>-metrics yourself." (join ", " $r.unscraped)) -}}
{{- end -}}
{{- if and (include "lmcache.webhook.enabled" .) (not (include "lmcache.monitoring.webhookServiceMonitor" .)) (or $m.alerts.webhookErrors.enabled $m.alerts.webhookSkips.enabled) -}}
{{- $lines = append $lines "WARNING: LMCacheWebhookErrors and LMCacheWebhookSkips read the webhook's /metrics: set webhook.serviceMonitor.enabled: true." -}}
{{- end -}}
{{- end -}}
{{- toJson $lines -}}
{{- end -}}
