{{/*
Helpers for the per-entry objects of engines, cacheBlendEngines and coordinators.

Every template reads an entry through "lmcache.entry", which lays the user's entry over
the defaults generated from postrender/spec.py (_defaults.tpl), so no default is written
twice. Helpers return text; structured results travel as JSON (include ... | fromJson).
*/}}

{{/* The kinds rendered as engine DaemonSets, in output order. */}}
{{- define "lmcache.engineKinds" -}}
["engines","cacheBlendEngines"]
{{- end -}}

{{/* app.kubernetes.io/component of a kind. */}}
{{- define "lmcache.component" -}}
{{- get (dict "engines" "cache-engine" "cacheBlendEngines" "cacheblend-engine" "coordinators" "coordinator") . -}}
{{- end -}}

{{/* The name label key of a kind. */}}
{{- define "lmcache.nameKey" -}}
{{- if eq . "coordinators" -}}lmcache.ai/coordinator{{- else -}}lmcache.ai/engine{{- end -}}
{{- end -}}

{{/* The argument lmcache.labels/lmcache.selectorLabels expect, from (dict "root" "kind" "name"). */}}
{{- define "lmcache.labelArgs" -}}
{{- toJson (dict "component" (include "lmcache.component" .kind) "key" (include "lmcache.nameKey" .kind) "name" .name) -}}
{{- end -}}

{{- define "lmcache.entryLabels" -}}
{{- include "lmcache.labels" (set (include "lmcache.labelArgs" . | fromJson) "root" .root) -}}
{{- end -}}

{{- define "lmcache.entrySelectorLabels" -}}
{{- include "lmcache.selectorLabels" (set (include "lmcache.labelArgs" . | fromJson) "root" .root) -}}
{{- end -}}

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
One entry with its defaults filled in, as JSON. Call with (dict "root" $ "kind" "engines"
"name" $name). An engine's coordinator block gets the CoordinatorRef defaults too (a
CacheBlend engine's: BlendCoordinatorRef, which reports cache events by default).
*/}}
{{- define "lmcache.entry" -}}
{{- $root := .root -}}
{{- $over := index (index $root.Values .kind | default dict) .name | default dict -}}
{{- $defaults := include (printf "lmcache.defaults.%s" .kind) $root | fromJson -}}
{{- $spec := include "lmcache.merge" (dict "base" $defaults "over" $over "atomic" (list "nodeSelector")) | fromJson -}}
{{- if and (ne .kind "coordinators") (kindIs "map" $spec.coordinator) -}}
{{- $ref := include (ternary "lmcache.defaults.blendCoordinatorRef" "lmcache.defaults.coordinatorRef" (eq .kind "cacheBlendEngines")) $root | fromJson -}}
{{- $_ := set $spec "coordinator" (include "lmcache.merge" (dict "base" $ref "over" $spec.coordinator) | fromJson) -}}
{{- end -}}
{{- toJson $spec -}}
{{- end -}}

{{/* The sorted names of one kind's entries, as a JSON list. Call with (dict "root" $ "kind" ...). */}}
{{- define "lmcache.entryNames" -}}
{{- toJson (keys (index .root.Values .kind | default dict) | sortAlpha) -}}
{{- end -}}

{{/*
The coordinator URL of an engine spec, "" when it has none. A ref resolves to the
coordinator Service in the release namespace on that coordinator's port.
*/}}
{{- define "lmcache.coordinatorURL" -}}
{{- $c := .spec.coordinator -}}
{{- if kindIs "map" $c -}}
{{- if $c.url -}}
{{- $c.url -}}
{{- else if and (kindIs "map" $c.ref) $c.ref.name -}}
{{- $target := include "lmcache.entry" (dict "root" .root "kind" "coordinators" "name" $c.ref.name) | fromJson -}}
{{- printf "http://%s.%s.svc:%s" $c.ref.name .root.Release.Namespace (include "lmcache.int" $target.port) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Pod template labels: podLabels first, then the selector labels, which always win. */}}
{{- define "lmcache.podLabels" -}}
{{- $labels := deepCopy (.spec.podLabels | default dict) -}}
{{- range $key, $value := (include "lmcache.entrySelectorLabels" . | fromYaml) -}}
{{- $_ := set $labels $key $value -}}
{{- end -}}
{{- toYaml $labels -}}
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
{{- $url := include "lmcache.coordinatorURL" . -}}
{{- if $url -}}
{{- $args = concat $args (list "--coordinator-url" $url "--coordinator-heartbeat-interval" (include "lmcache.int" $s.coordinator.heartbeatInterval)) -}}
{{- if $s.coordinator.l2EventReporting -}}
{{- $args = append $args "--coordinator-event-reporting" -}}
{{- end -}}
{{- end -}}
{{- if eq .kind "cacheBlendEngines" -}}
{{- $args = concat $args (list "--engine-type" "blend" "--l1-align-bytes" "16777216") -}}
{{- end -}}
{{- range $s.extraArgs -}}
{{- $args = append $args (toString .) -}}
{{- end -}}
{{- toYaml $args -}}
{{- end -}}

{{/*
Engine resources: the formula of SPEC 2.2 (requests cpu 4 and ceil(sizeGB + 5)Gi, limit
ceil(request x 1.5)Gi), or resourceOverrides verbatim.
*/}}
{{- define "lmcache.engineResources" -}}
{{- if .resourceOverrides -}}
{{- toYaml .resourceOverrides -}}
{{- else -}}
{{- $request := ceil (addf .l1.sizeGB 5) -}}
{{- $limit := ceil (mulf $request 1.5) -}}
requests:
  cpu: "4"
  memory: {{ printf "%dGi" (int64 $request) }}
limits:
  memory: {{ printf "%dGi" (int64 $limit) }}
{{- end -}}
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
{{- range $s.extraArgs -}}
{{- $args = append $args (toString .) -}}
{{- end -}}
{{- toYaml $args -}}
{{- end -}}

{{/* True ("true") when the cluster serves the ServiceMonitor API (or --api-versions says so). */}}
{{- define "lmcache.hasServiceMonitorAPI" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" -}}true{{- else if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" -}}true{{- end -}}
{{- end -}}

{{/*
A ServiceMonitor for one entry's N-metrics Service. Call with (dict "root" "kind" "name" "spec").
The user's labels go first so the selector labels always win.
*/}}
{{- define "lmcache.serviceMonitor" -}}
{{- $labels := deepCopy (.spec.prometheus.serviceMonitor.labels | default dict) -}}
{{- range $key, $value := (include "lmcache.entryLabels" . | fromYaml) -}}
{{- $_ := set $labels $key $value -}}
{{- end -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- toYaml $labels | nindent 4 }}
spec:
  selector:
    matchLabels:
      {{- include "lmcache.metricsSelectorLabels" . | nindent 6 }}
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ .spec.prometheus.serviceMonitor.interval }}
{{- end -}}

{{/* Labels that tell an entry's N-metrics Service apart from its main Service N. */}}
{{- define "lmcache.metricsSelectorLabels" -}}
{{ include "lmcache.entrySelectorLabels" . }}
lmcache.ai/metrics: "true"
{{- end -}}

{{/*
The N-metrics headless Service of one entry: port "metrics" (prometheus.port) to the
container's "http" port, where both the engine and the coordinator serve /metrics.
*/}}
{{- define "lmcache.metricsService" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}-metrics
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "lmcache.entryLabels" . | nindent 4 }}
    lmcache.ai/metrics: "true"
spec:
  clusterIP: None
  selector:
    {{- include "lmcache.entrySelectorLabels" . | nindent 4 }}
  ports:
    - name: metrics
      port: {{ include "lmcache.int" .spec.prometheus.port }}
      targetPort: http
      protocol: TCP
{{- end -}}
