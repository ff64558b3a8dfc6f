{{/*
Helpers for the per-entry objects of engines, cacheBlendEngines and coordinators.

Every template reads an entry through "lmcache.entries", which lays the user's entry over
the defaults generated from lmcache_k8s/values.py (_defaults.tpl), so no default is written
twice; the names shared with the post-renderer and the webhook come from the generated
_contract.tpl. Helpers return text; structured results travel as JSON (include | fromJson).
An entry context is (dict "root" $ "kind" "engines" "name" $name "spec" <merged entry>).
*/}}

{{/*
Recursive merge of .over onto .base, returned as JSON. Unlike sprig's merge, an explicit
false, 0, "" or {} in .over wins; null means "not set" and keeps .base. Keys listed in
.atomic (top level only) are replaced whole instead of merged.
*/}}
{{- define "lmcache.merge" -}}
{{- $out := deepCopy (.base | default dict) -}}
{{- $atomic := .atomic | default list -}}
{{- range $key, $value := (.over | default dict) -}}
{{- if kindIs "invalid" $value -}}
{{- /* null: keep the default */ -}}
{{- else if and (kindIs "map" $value) (kindIs "map" (get $out $key)) (not (has $key $atomic)) -}}
{{- $_ := set $out $key (include "lmcache.merge" (dict "base" (get $out $key) "over" $value) | fromJson) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
One entry with its defaults filled in, as JSON. nodeSelector and resources are replaced
whole (their values-model descriptions say so); an engine's runtimeClassName and
nodeSelector, when unset, come from its gpuVendor (GPU_VENDORS in lmcache_k8s/values.py). Call with (dict "root" $ "kind" "engines"
"name" $name). An engine's coordinator block gets the CoordinatorRef defaults too (a
CacheBlend engine's: BlendCoordinatorRef, which reports cache events by default).
*/}}
{{- define "lmcache.entry" -}}
{{- $over := index (index .root.Values .kind | default dict) .name | default dict -}}
{{- $defaults := include (printf "lmcache.defaults.%s" .kind) . | fromJson -}}
{{- $spec := include "lmcache.merge" (dict "base" $defaults "over" $over "atomic" (list "nodeSelector" "resources")) | fromJson -}}
{{- if ne .kind "coordinators" -}}
{{- /* runtimeClassName and nodeSelector left unset take the gpuVendor's defaults */ -}}
{{- $vendor := get (include "lmcache.defaults.gpuVendors" . | fromJson) $spec.gpuVendor -}}
{{- range $key := list "runtimeClassName" "nodeSelector" -}}
{{- if not (hasKey $spec $key) -}}
{{- $_ := set $spec $key (get $vendor $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (ne .kind "coordinators") (kindIs "map" $spec.coordinator) -}}
{{- $ref := include (ternary "lmcache.defaults.blendCoordinatorRef" "lmcache.defaults.coordinatorRef" (eq .kind "cacheBlendEngines")) . | fromJson -}}
{{- $_ := set $spec "coordinator" (include "lmcache.merge" (dict "base" $ref "over" $spec.coordinator) | fromJson) -}}
{{- end -}}
{{- toJson $spec -}}
{{- end -}}

{{/*
Every entry of the given kinds, in output order (kinds as given, names sorted), as a JSON
list of {kind, name, spec}: (list $ "engines" "cacheBlendEngines"). Add "root" to use one
as an entry context.
*/}}
{{- define "lmcache.entries" -}}
{{- $root := first . -}}
{{- $out := list -}}
{{- range $kind := rest . -}}
{{- range $name := keys (index $root.Values $kind | default dict) | sortAlpha -}}
{{- $spec := include "lmcache.entry" (dict "root" $root "kind" $kind "name" $name) | fromJson -}}
{{- $out = append $out (dict "kind" $kind "name" $name "spec" $spec) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
The coordinator URL of an engine context, "" when it has none. A ref resolves to the
coordinator Service in the release namespace on that coordinator's port.
*/}}
{{- define "lmcache.coordinatorURL" -}}
{{- $c := .spec.coordinator | default dict -}}
{{- $ref := dig "ref" "name" "" $c -}}
{{- if $c.url -}}
{{- $c.url -}}
{{- else if $ref -}}
{{- $target := include "lmcache.entry" (dict "root" .root "kind" "coordinators" "name" $ref) | fromJson -}}
{{- printf "http://%s.%s.svc:%s" $ref .root.Release.Namespace (include "lmcache.int" $target.port) -}}
{{- end -}}
{{- end -}}

{{/*
The engine server's argv after the command, as a YAML list of strings, one token per flag
and per value, in the order SPEC 2.2/2.6 fixes (the post-renderer reads them back).
*/}}
{{- define "lmcache.engineArgs" -}}
{{- $s := .spec -}}
{{- $args := list
  "--host" "0.0.0.0"
  "--port" (include "lmcache.int" $s.server.port)
  "--http-host" "0.0.0.0"
  "--http-port" (include "lmcache.int" $s.server.httpPort)
  "--l1-size-gb" (include "lmcache.float" $s.l1.sizeGB)
  "--chunk-size" (include "lmcache.int" $s.server.chunkSize)
  "--max-workers" (include "lmcache.int" $s.server.maxWorkers)
  "--hash-algorithm" $s.server.hashAlgorithm
  "--eviction-policy" $s.eviction.policy
  "--eviction-trigger-watermark" (include "lmcache.float" $s.eviction.triggerWatermark)
  "--eviction-ratio" (include "lmcache.float" $s.eviction.evictionRatio)
-}}
{{- if not $s.prometheus.enabled -}}
{{- $args = append $args "--disable-metrics" -}}
{{- end -}}
{{- range $s.l2Backends -}}
{{- $args = concat $args (list "--l2-adapter" (toRawJson .)) -}}
{{- end -}}
{{- with include "lmcache.coordinatorURL" . -}}
{{- $args = concat $args (list "--coordinator-url" . "--coordinator-heartbeat-interval" (include "lmcache.int" $s.coordinator.heartbeatInterval)) -}}
{{- if $s.coordinator.l2EventReporting -}}
{{- $args = append $args "--coordinator-event-reporting" -}}
{{- end -}}
{{- end -}}
{{- if eq .kind "cacheBlendEngines" -}}
{{- $args = concat $args (list "--engine-type" "blend" "--l1-align-bytes" "16777216") -}}
{{- end -}}
{{- if eq $s.ipc "isolated" -}}
{{- $args = append $args "--isolated-ipc" -}}
{{- end -}}
{{- toYaml (concat $args ($s.extraArgs | default list)) -}}
{{- end -}}

{{/* The coordinator's argv after the command, in the order of its flags (SPEC 1.4). */}}
{{- define "lmcache.coordinatorArgs" -}}
{{- $s := .spec -}}
{{- $args := list
  "--host" $s.host
  "--port" (include "lmcache.int" $s.port)
  "--instance-timeout" (include "lmcache.int" $s.instanceTimeout)
  "--health-check-interval" (include "lmcache.int" $s.healthCheckInterval)
  "--eviction-check-interval" (include "lmcache.int" $s.evictionCheckInterval)
  "--eviction-ratio" (include "lmcache.float" $s.evictionRatio)
  "--trigger-watermark" (include "lmcache.float" $s.triggerWatermark)
  "--chunk-size" (include "lmcache.int" $s.blendChunkSize)
  "--blend-probe-stride" (include "lmcache.int" $s.blendProbeStride)
-}}
{{- if $s.blendLookup -}}
{{- $args = append $args "--enable-blend-lookup" -}}
{{- end -}}
{{- if not $s.prometheus.enabled -}}
{{- $args = append $args "--disable-metrics" -}}
{{- end -}}
{{- toYaml (concat $args ($s.extraArgs | default list)) -}}
{{- end -}}

{{/* True ("true") when the cluster serves the ServiceMonitor API (or --api-versions says so). */}}
{{- define "lmcache.hasServiceMonitorAPI" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" -}}true{{- else if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" -}}true{{- end -}}
{{- end -}}

{{/*
The N-metrics headless Services of every entry of the given kinds whose metrics are on:
port "metrics" (prometheus.port) to the container's "http" port, where both the engine and
the coordinator serve /metrics. Call with (list $ kind...).
*/}}
{{- define "lmcache.metricsServices" -}}
{{- $root := first . -}}
{{- $n := include "lmcache.names" $root | fromJson -}}
{{- range $e := include "lmcache.entries" . | fromJsonArray }}
{{- $ctx := set $e "root" $root }}
{{- if $e.spec.prometheus.enabled }}
---
apiVersion: v1
kind: Service
metadata:
  {{- include "lmcache.metadata" (set $ctx "object" (printf "%s%s" $e.name $n.metricsSuffix)) | nindent 2 }}
    {{ $n.metricsLabel }}: "true"
spec:
  clusterIP: None
  selector:
    {{- include "lmcache.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: metrics
      port: {{ include "lmcache.int" $e.spec.prometheus.port }}
      targetPort: http
      protocol: TCP
{{- end }}
{{- end }}
{{- end -}}

{{/*
The ServiceMonitor N of every entry of the given kinds that asks for one, selecting its
N-metrics Service by the metrics label. validate.yaml fails the render when the cluster
lacks the API, so nothing is silently dropped. The user's labels go first so the selector
labels always win. Call with (list $ kind...).
*/}}
{{- define "lmcache.serviceMonitors" -}}
{{- $root := first . -}}
{{- $n := include "lmcache.names" $root | fromJson -}}
{{- $api := include "lmcache.hasServiceMonitorAPI" $root -}}
{{- range $e := include "lmcache.entries" . | fromJsonArray }}
{{- $ctx := set $e "root" $root }}
{{- $sm := $e.spec.prometheus.serviceMonitor }}
{{- if and $e.spec.prometheus.enabled $sm.enabled (or $api $sm.trustCRDsExist) }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ $e.name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- toYaml (merge (include "lmcache.labels" $ctx | fromYaml) ($sm.labels | default dict)) | nindent 4 }}
spec:
  selector:
    matchLabels:
      {{- include "lmcache.chartSelectorLabels" $ctx | nindent 6 }}
      {{ $n.metricsLabel }}: "true"
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ $sm.interval }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The lmcache.mp.* keys of a connection's kv_connector_extra_config, sorted, one per line:
where the server is, plus every key the vLLM-side connector says must match a server flag
(lmcache_k8s.lmcache_cli.MIRRORED_EXTRA_CONFIG; tests/test_real_cli.py checks each against
the real connector and server). For an entry with adoptOperatorObjects, a mirrored key is
written only when it differs from the connector's default ("lmcache.connectorDefaults"), so
the adopted ConfigMap stays the reference operator's byte for byte (lmcache_cli.
mirrored_extra_config is the Python twin; tests/chart/test_connection_contract.py proves
they agree). Call with (list <entry spec> <host URL> <port string>).
*/}}
{{- define "lmcache.connectionKeys" -}}
{{- $s := index . 0 -}}
{{- $defaults := include "lmcache.connectorDefaults" . | fromJson -}}
{{- $mirrored := dict "lmcache.mp.hash_algorithm" $s.server.hashAlgorithm "lmcache.mp.isolated_ipc" (eq $s.ipc "isolated") -}}
{{- $keys := dict "lmcache.mp.host" (index . 1) "lmcache.mp.port" (index . 2) -}}
{{- range $key, $value := $mirrored -}}
{{- if or (not $s.adoptOperatorObjects) (ne (toJson $value) (toJson (index $defaults $key))) -}}
{{- $_ := set $keys $key $value -}}
{{- end -}}
{{- end -}}
{{- $lines := list -}}
{{- range $key := keys $keys | sortAlpha -}}
{{- $lines = append $lines (printf "%s: %s" (toJson $key) (toRawJson (index $keys $key))) -}}
{{- end -}}
{{- join ",\n" $lines -}}
{{- end -}}
