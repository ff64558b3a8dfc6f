{{/*
Rules JSON Schema cannot express (postrender/relations.py holds the same rules, with the
same paths and wording), plus one about the cluster: a ServiceMonitor needs its API.
values.schema.json already rejected wrong types, so the values read here are well-typed;
the schema twins (ref xor url, serviceMonitor needs metrics) are repeated here so that
--skip-schema-validation does not let them through.

"lmcache.validate.errors" returns a JSON list of messages, one per problem.
*/}}
{{- define "lmcache.validate.errors" -}}
{{- $root := . -}}
{{- $errors := list -}}
{{- $seen := dict -}}
{{- $hasSM := include "lmcache.hasServiceMonitorAPI" $root -}}
{{- range $kind := list "engines" "cacheBlendEngines" "coordinators" -}}
{{- range $name := include "lmcache.entryNames" (dict "root" $root "kind" $kind) | fromJsonArray -}}
{{- $raw := index (index $root.Values $kind) $name -}}
{{- if kindIs "map" $raw -}}
{{- $base := printf "%s.%s" $kind $name -}}
{{- $s := include "lmcache.entry" (dict "root" $root "kind" $kind "name" $name) | fromJson -}}
{{- if hasKey $seen $name -}}
{{- $errors = append $errors (printf "%s: name already used by %s.%s (their Services would collide)" $base (get $seen $name) $name) -}}
{{- else -}}
{{- $_ := set $seen $name $kind -}}
{{- end -}}
{{- if $s.prometheus.serviceMonitor.enabled -}}
{{- if not $s.prometheus.enabled -}}
{{- $errors = append $errors (printf "%s.prometheus.serviceMonitor.enabled: needs prometheus.enabled: true" $base) -}}
{{- else if not (or $hasSM $s.prometheus.serviceMonitor.trustCRDsExist) -}}
{{- $errors = append $errors (printf "%s.prometheus.serviceMonitor.enabled: needs the monitoring.coreos.com/v1 API, which this cluster does not serve: install the Prometheus Operator CRDs first, or pass --api-versions monitoring.coreos.com/v1 to helm template when rendering offline (for helm lint, set prometheus.serviceMonitor.trustCRDsExist: true)" $base) -}}
{{- end -}}
{{- end -}}
{{- if ne $kind "coordinators" -}}
{{- $errors = concat $errors (include "lmcache.validate.engineWorkload" (dict "spec" $s "base" $base) | fromJsonArray) -}}
{{- $argv := include "lmcache.engineArgs" (dict "root" $root "kind" $kind "name" $name "spec" $s) | fromYamlArray -}}
{{- $errors = concat $errors (include "lmcache.validate.repeatedFlags" (dict "args" $argv "flags" (include "lmcache.engineFlagPaths" . | fromJson) "switches" (list "--disable-metrics" "--coordinator-event-reporting") "base" $base) | fromJsonArray) -}}
{{- if and $s.prometheus.enabled (has "--disable-metrics" ($s.extraArgs | default list)) -}}
{{- $errors = append $errors (printf "%s.extraArgs: --disable-metrics would leave the %s-metrics Service scraping nothing: set prometheus.enabled: false instead" $base $name) -}}
{{- end -}}
{{- if eq (include "lmcache.int" $s.server.httpPort) (include "lmcache.int" $s.server.port) -}}
{{- $errors = append $errors (printf "%s.server.httpPort: must differ from server.port (both %s)" $base (include "lmcache.int" $s.server.port)) -}}
{{- end -}}
{{- if kindIs "map" $raw.coordinator -}}
{{- if eq (hasKey $raw.coordinator "ref") (hasKey $raw.coordinator "url") -}}
{{- $errors = append $errors (printf "%s.coordinator: set exactly one of ref and url" $base) -}}
{{- end -}}
{{- $target := "" -}}
{{- if kindIs "map" $raw.coordinator.ref -}}
{{- $target = $raw.coordinator.ref.name | default "" | toString -}}
{{- end -}}
{{- if $target -}}
{{- if not (hasKey ($root.Values.coordinators | default dict) $target) -}}
{{- $errors = append $errors (printf "%s.coordinator.ref.name: no coordinator named \"%s\" in coordinators" $base $target) -}}
{{- else if kindIs "map" (index $root.Values.coordinators $target) -}}
{{- $c := include "lmcache.entry" (dict "root" $root "kind" "coordinators" "name" $target) | fromJson -}}
{{- $chunk := include "lmcache.int" $s.server.chunkSize -}}
{{- $blend := include "lmcache.int" $c.blendChunkSize -}}
{{- if ne $chunk $blend -}}
{{- $errors = append $errors (printf "coordinators.%s.blendChunkSize: must equal the chunkSize of %s (%s), which uses this coordinator (got %s)" $target $base $chunk $blend) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $argv := include "lmcache.coordinatorArgs" (dict "root" $root "name" $name "spec" $s) | fromYamlArray -}}
{{- $errors = concat $errors (include "lmcache.validate.repeatedFlags" (dict "args" $argv "flags" (include "lmcache.coordinatorFlagPaths" . | fromJson) "switches" (list "--disable-metrics" "--enable-blend-lookup") "base" $base) | fromJsonArray) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Every entry N owns a Service N-metrics: no entry may be named <other entry>-metrics. */ -}}
{{- range $kind := list "engines" "cacheBlendEngines" "coordinators" -}}
{{- range $name := include "lmcache.entryNames" (dict "root" $root "kind" $kind) | fromJsonArray -}}
{{- $owner := trimSuffix "-metrics" $name -}}
{{- if and (ne $owner $name) (hasKey $seen $owner) (kindIs "map" (index (index $root.Values $kind) $name)) -}}
{{- $errors = append $errors (printf "%s.%s: name collides with the metrics Service of %s.%s (both are named %s)" $kind $name (get $seen $owner) $owner $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Release-wide objects of the Prometheus Operator API (monitoring/, webhook/servicemonitor.yaml). */ -}}
{{- $sm := $root.Values.webhook.serviceMonitor -}}
{{- if and $root.Values.webhook.enabled $sm.enabled (not (or $hasSM $sm.trustCRDsExist)) -}}
{{- $errors = append $errors "webhook.serviceMonitor.enabled: needs the monitoring.coreos.com/v1 API, which this cluster does not serve: install the Prometheus Operator CRDs first, or pass --api-versions monitoring.coreos.com/v1 to helm template when rendering offline (for helm lint, set webhook.serviceMonitor.trustCRDsExist: true)" -}}
{{- end -}}
{{- $alerts := $root.Values.monitoring.alerts -}}
{{- if and $alerts.enabled (not (or (include "lmcache.monitoring.hasPrometheusRuleAPI" $root) $alerts.trustCRDsExist)) -}}
{{- $errors = append $errors "monitoring.alerts.enabled: needs the monitoring.coreos.com/v1 API, which this cluster does not serve: install the Prometheus Operator CRDs first, or pass --api-versions monitoring.coreos.com/v1 to helm template when rendering offline (for helm lint, set monitoring.alerts.trustCRDsExist: true)" -}}
{{- end -}}
{{- toJson (sortAlpha $errors) -}}
{{- end -}}

{{/*
"lmcache.validate.warnings": problems that do not stop the install, as a JSON list; the
same rules and wording as relations.warnings. NOTES.txt prints them.
*/}}
{{- define "lmcache.validate.warnings" -}}
{{- $root := . -}}
{{- $warnings := list -}}
{{- range $name := include "lmcache.entryNames" (dict "root" $root "kind" "coordinators") | fromJsonArray -}}
{{- $c := include "lmcache.entry" (dict "root" $root "kind" "coordinators" "name" $name) | fromJson -}}
{{- if gt (int64 $c.replicas) 1 -}}
{{- $warnings = append $warnings (printf "coordinators.%s.replicas: %s replicas do not share the in-memory registry; engines will see different fleets" $name (include "lmcache.int" $c.replicas)) -}}
{{- end -}}
{{- end -}}
{{- range $kind := include "lmcache.engineKinds" $root | fromJsonArray -}}
{{- range $name := include "lmcache.entryNames" (dict "root" $root "kind" $kind) | fromJsonArray -}}
{{- $s := include "lmcache.entry" (dict "root" $root "kind" $kind "name" $name) | fromJson -}}
{{- if and (kindIs "map" $s.coordinator) (kindIs "map" $s.coordinator.ref) -}}
{{- $target := toString $s.coordinator.ref.name -}}
{{- if hasKey ($root.Values.coordinators | default dict) $target -}}
{{- $c := include "lmcache.entry" (dict "root" $root "kind" "coordinators" "name" $target) | fromJson -}}
{{- if lt (float64 $c.instanceTimeout) (mulf $s.coordinator.heartbeatInterval 3) -}}
{{- $warnings = append $warnings (printf "coordinators.%s.instanceTimeout: %ss is less than 3x the heartbeat interval of %s.%s (%ss): a late heartbeat evicts the engine" $target (include "lmcache.int" $c.instanceTimeout) $kind $name (include "lmcache.int" $s.coordinator.heartbeatInterval)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $warnings -}}
{{- end -}}

{{/*
"lmcache.validate.engineWorkload": what the post-renderer refuses on an engine workload
(postrender/invariants.py, same paths and wording), refused here too so that installs
without the post-renderer (Argo CD, Flux) cannot get it either: a bind address in extraArgs
that fights the server's 0.0.0.0, and an emptyDir mounted over /dev/shm.
Call with (dict "spec" <merged entry> "base" "engines.<name>"); returns a JSON list.
*/}}
{{- define "lmcache.validate.engineWorkload" -}}
{{- $errors := list -}}
{{- $tokens := list -}}
{{- range .spec.extraArgs -}}{{- $tokens = append $tokens (toString .) -}}{{- end -}}
{{- $found := dict "--host" list "--http-host" list -}}
{{- $skip := false -}}
{{- range $i, $tok := $tokens -}}
{{- if $skip -}}
{{- $skip = false -}}
{{- else if and (hasPrefix "--" $tok) (contains "=" $tok) -}}
{{- $parts := splitn "=" 2 $tok -}}
{{- if hasKey $found $parts._0 -}}
{{- $_ := set $found $parts._0 (append (get $found $parts._0) $parts._1) -}}
{{- end -}}
{{- else if hasKey $found $tok -}}
{{- $next := "" -}}
{{- if lt (add1 $i) (len $tokens) -}}{{- $next = index $tokens (add1 $i) -}}{{- end -}}
{{- if and (lt (add1 $i) (len $tokens)) (not (and (hasPrefix "-" $next) (not (regexMatch "^[+-]?([0-9]+[.][0-9]*|[.][0-9]+|[0-9]+)([eE][+-]?[0-9]+)?$" $next)))) -}}
{{- $_ := set $found $tok (append (get $found $tok) $next) -}}
{{- $skip = true -}}
{{- else -}}
{{- $_ := set $found $tok (append (get $found $tok) "None") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $why := dict
  "--host" "the node-local Service must reach the ZMQ port"
  "--http-host" "the default 127.0.0.1 hides /metrics and health from the pod network"
-}}
{{- range $name := list "--host" "--http-host" -}}
{{- $wrong := without (get $found $name) "0.0.0.0" -}}
{{- if $wrong -}}
{{- $errors = append $errors (printf "%s.extraArgs: %s %s conflicts with %s 0.0.0.0, which the server needs (%s); remove it" $.base $name (join ", " $wrong) $name (get $why $name)) -}}
{{- else if get $found $name -}}
{{- /* the post-renderer would drop the repeat; the chart refuses it so its output is final */ -}}
{{- $errors = append $errors (printf "%s.extraArgs: %s 0.0.0.0 is always passed by the chart; remove it" $.base $name) -}}
{{- end -}}
{{- end -}}
{{- $empty := list -}}
{{- range .spec.volumes -}}
{{- if and (kindIs "map" .) (hasKey . "emptyDir") -}}{{- $empty = append $empty (toString .name) -}}{{- end -}}
{{- end -}}
{{- range .spec.volumeMounts -}}
{{- if and (kindIs "map" .) (eq (trimSuffix "/" (toString .mountPath)) "/dev/shm") (has (toString .name) $empty) -}}
{{- $errors = append $errors (printf "%s.volumeMounts: container lmcache mounts emptyDir volume '%s' at /dev/shm: it hides the host's /dev/shm (shared through hostIPC) and breaks CUDA IPC; remove the volume and its mount" $.base .name) -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}

{{/*
Flags the chart renders from a values field, and that field's path (postrender/derive.py
ENGINE_FLAGS / COORDINATOR_FLAGS; tests/test_chart_postrender_agreement.py keeps them equal).
"" marks a flag the chart renders with no field of its own. --host/--http-host (handled by
lmcache.validate.engineWorkload) and --l2-adapter (repeatable) are not listed for engines.
*/}}
{{- define "lmcache.engineFlagPaths" -}}
{{- toJson (dict
  "--port" "server.port" "--http-port" "server.httpPort" "--l1-size-gb" "l1.sizeGB"
  "--chunk-size" "server.chunkSize" "--max-workers" "server.maxWorkers"
  "--hash-algorithm" "server.hashAlgorithm" "--eviction-policy" "eviction.policy"
  "--eviction-trigger-watermark" "eviction.triggerWatermark"
  "--eviction-ratio" "eviction.evictionRatio" "--coordinator-url" ""
  "--coordinator-heartbeat-interval" "coordinator.heartbeatInterval"
  "--engine-type" "" "--l1-align-bytes" "") -}}
{{- end -}}

{{- define "lmcache.coordinatorFlagPaths" -}}
{{- toJson (dict
  "--host" "host" "--port" "port" "--instance-timeout" "instanceTimeout"
  "--health-check-interval" "healthCheckInterval"
  "--eviction-check-interval" "evictionCheckInterval" "--eviction-ratio" "evictionRatio"
  "--trigger-watermark" "triggerWatermark" "--chunk-size" "blendChunkSize"
  "--blend-probe-stride" "blendProbeStride") -}}
{{- end -}}

{{/*
"lmcache.validate.repeatedFlags": a flag the chart renders, given again (in extraArgs) with
another value. argparse would silently take the last one; the post-renderer refuses it with
the same words. Tokens are split as postrender.derive.parse_flags splits them: `--f=v` is one
token, and `--f v` takes v unless v is itself a flag (a negative number is a value).
Call with (dict "args" <argv> "flags" <flag->path> "switches" <list> "base" <values path>).
*/}}
{{- define "lmcache.validate.repeatedFlags" -}}
{{- $errors := list -}}
{{- $first := dict -}}
{{- $skip := false -}}
{{- $n := len .args -}}
{{- range $i, $tok := .args -}}
{{- if $skip -}}
{{- $skip = false -}}
{{- else if hasPrefix "-" $tok -}}
{{- $flag := $tok -}}
{{- $value := "" -}}
{{- if and (hasPrefix "--" $tok) (contains "=" $tok) -}}
{{- $parts := splitn "=" 2 $tok -}}
{{- $flag = $parts._0 -}}
{{- $value = $parts._1 -}}
{{- else if and (not (has $tok $.switches)) (lt (add1 $i) $n) -}}
{{- $next := index $.args (add1 $i) -}}
{{- if not (and (hasPrefix "-" $next) (not (regexMatch "^[+-]?([0-9]+[.][0-9]*|[.][0-9]+|[0-9]+)([eE][+-]?[0-9]+)?$" $next))) -}}
{{- $value = $next -}}
{{- $skip = true -}}
{{- end -}}
{{- end -}}
{{- if hasKey $.flags $flag -}}
{{- if not (hasKey $first $flag) -}}
{{- $_ := set $first $flag $value -}}
{{- else if ne (get $first $flag) $value -}}
{{- $path := get $.flags $flag -}}
{{- if $path -}}
{{- $errors = append $errors (printf "%s.%s: %s is given twice (%s and %s): it is rendered from %s; do not repeat it in extraArgs" $.base $path $flag (get $first $flag) $value $path) -}}
{{- else -}}
{{- $errors = append $errors (printf "%s.extraArgs: %s is given twice (%s and %s)" $.base $flag (get $first $flag) $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $errors -}}
{{- end -}}
