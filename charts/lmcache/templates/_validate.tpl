{{/*
What JSON Schema cannot say, checked at render time: each check is a rule declared in
lmcache_k8s/relations.py, where check_values runs the same rule with the same path and
sentence (tests/chart/test_validation.py proves it), except the two that ask the cluster
which APIs it serves. values.schema.json already rejected wrong types and the rules it can
state (ref xor url, a ServiceMonitor needs metrics), so the values read here are well-typed;
with --skip-schema-validation those are not checked.

"lmcache.validate.errors" returns the messages as a JSON list; validate.yaml fails with all.
*/}}
{{- define "lmcache.validate.errors" -}}
{{- $errors := list -}}
{{- $n := include "lmcache.names" . | fromJson -}}
{{- $renderedFlags := include "lmcache.renderedFlags" . | fromJson -}}
{{- $hasSM := include "lmcache.hasServiceMonitorAPI" . -}}
{{- $coordinators := .Values.coordinators | default dict -}}
{{- $entries := include "lmcache.entries" (list . "engines" "cacheBlendEngines" "coordinators") | fromJsonArray -}}
{{- $owners := dict -}}
{{- range $e := $entries -}}
{{- $base := printf "%s.%s" $e.kind $e.name -}}
{{- $s := $e.spec -}}
{{- /* unique_names */ -}}
{{- if hasKey $owners $e.name -}}
{{- $errors = append $errors (printf "%s: name already used by %s.%s (their Services would collide)" $base (get $owners $e.name) $e.name) -}}
{{- end -}}
{{- $_ := set $owners $e.name (get $owners $e.name | default $e.kind) -}}
{{- /* service_monitor_api */ -}}
{{- if and $s.prometheus.enabled $s.prometheus.serviceMonitor.enabled (not (or $hasSM $s.prometheus.serviceMonitor.trustCRDsExist)) -}}
{{- $errors = append $errors (printf "%s.prometheus.serviceMonitor.enabled: needs the monitoring.coreos.com/v1 API, which this cluster does not serve: install the Prometheus Operator CRDs first, or pass --api-versions monitoring.coreos.com/v1 to helm template when rendering offline (for helm lint, set prometheus.serviceMonitor.trustCRDsExist: true)" $base) -}}
{{- end -}}
{{- /* rendered_flags_not_in_extra_args: `--flag` or `--flag=value` */ -}}
{{- $given := list -}}
{{- range $s.extraArgs -}}{{- $given = append $given (first (splitList "=" (toString .))) -}}{{- end -}}
{{- range $flag := get $renderedFlags $e.kind -}}
{{- if has $flag $given -}}
{{- $errors = append $errors (printf "%s.extraArgs: %s is rendered by the chart: remove it from extraArgs (to change its value, set the field it is rendered from)" $base $flag) -}}
{{- end -}}
{{- end -}}
{{- if ne $e.kind "coordinators" -}}
{{- /* ports_differ */ -}}
{{- if eq (include "lmcache.int" $s.server.httpPort) (include "lmcache.int" $s.server.port) -}}
{{- $errors = append $errors (printf "%s.server.httpPort: must differ from server.port (both %s)" $base (include "lmcache.int" $s.server.port)) -}}
{{- end -}}
{{- /* no_empty_dir_over_shm */ -}}
{{- $emptyDirs := list -}}
{{- range $s.volumes -}}{{- if hasKey . "emptyDir" -}}{{- $emptyDirs = append $emptyDirs (toString .name) -}}{{- end -}}{{- end -}}
{{- range (ternary (list) $s.volumeMounts (eq $s.ipc "isolated")) -}}
{{- if and (eq (clean (printf "/%s" (toString .mountPath))) "/dev/shm") (has (toString .name) $emptyDirs) -}}
{{- $errors = append $errors (printf "%s.volumeMounts: container lmcache mounts emptyDir volume '%s' at /dev/shm: it hides the host's /dev/shm (shared through hostIPC) and breaks CUDA IPC; remove the volume and its mount" $base .name) -}}
{{- end -}}
{{- end -}}
{{- /* amd_needs_privileged */ -}}
{{- if and (eq $s.gpuVendor "amd") (not $s.privileged) -}}
{{- $errors = append $errors (printf "%s.privileged: gpuVendor amd mounts the host's /dev/kfd and /dev/dri, which only a privileged container may open: set privileged: true (the default)" $base) -}}
{{- end -}}
{{- /* coordinator_ref_exists, chunk_sizes_match */ -}}
{{- $target := dig "coordinator" "ref" "name" "" $s -}}
{{- if and $target (not (hasKey $coordinators $target)) -}}
{{- $errors = append $errors (printf "%s.coordinator.ref.name: no coordinator named \"%s\" in coordinators" $base $target) -}}
{{- else if $target -}}
{{- $c := include "lmcache.entry" (dict "root" $ "kind" "coordinators" "name" $target) | fromJson -}}
{{- if ne (include "lmcache.int" $s.server.chunkSize) (include "lmcache.int" $c.blendChunkSize) -}}
{{- $errors = append $errors (printf "coordinators.%s.blendChunkSize: must equal the chunkSize of %s (%s), which uses this coordinator (got %s)" $target $base (include "lmcache.int" $s.server.chunkSize) (include "lmcache.int" $c.blendChunkSize)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* metrics_service_names: every entry N owns a Service N-metrics */ -}}
{{- range $e := $entries -}}
{{- $owner := trimSuffix $n.metricsSuffix $e.name -}}
{{- if and (ne $owner $e.name) (hasKey $owners $owner) -}}
{{- $errors = append $errors (printf "%s.%s: name collides with the metrics Service of %s.%s (both are named %s)" $e.kind $e.name (get $owners $owner) $owner $e.name) -}}
{{- end -}}
{{- end -}}
{{- /* cert_manager_api */ -}}
{{- $wh := .Values.webhook -}}
{{- if and (include "lmcache.webhook.enabled" .) (eq $wh.tls.mode "certManager") (not (or (.Capabilities.APIVersions.Has "cert-manager.io/v1") $wh.tls.certManager.trustCRDsExist)) -}}
{{- $why := ternary " (the webhook is on because cacheBlendEngines has an entry and webhook.enabled is unset; set webhook.enabled: false to do without it)" "" (kindIs "invalid" $wh.enabled) -}}
{{- $errors = append $errors (printf "webhook.tls.mode: is certManager, but this cluster does not serve the cert-manager.io/v1 API%s. Install cert-manager (https://cert-manager.io/docs/installation/) first; or, when rendering offline with helm template, pass --api-versions cert-manager.io/v1 (for helm lint, set webhook.tls.certManager.trustCRDsExist=true); or set webhook.tls.mode to helm (the chart generates the certificate) or secret (you provide it)." $why) -}}
{{- end -}}
{{- /* The preflight: what the API server would refuse after the install had begun. It runs
only when Helm sees the cluster: the release namespace is found or, under `helm install
--create-namespace` (which creates it after rendering), the `default` namespace, which every
cluster has. helm template and a client-side --dry-run see none, so GitOps renders are
unchanged. Every question goes through "lmcache.lookup" (_lookup.tpl), the seam tests stub.
preflight.enabled: false skips it for users who may not read cluster-scoped objects (lookup
fails the render on a 403). */ -}}
{{- $releaseNS := dict -}}
{{- $seesCluster := false -}}
{{- if .Values.preflight.enabled -}}
{{- $releaseNS = include "lmcache.lookup" (list "v1" "Namespace" "" .Release.Namespace) | default "{}" | fromJson -}}
{{- $seesCluster = or $releaseNS (include "lmcache.lookup" (list "v1" "Namespace" "" "default")) -}}
{{- end -}}
{{- if $seesCluster -}}
{{- /* engine_namespaces_exist: before any object (the webhook's Roles there) is created; the
release namespace itself is never reported (--create-namespace makes it after rendering) */ -}}
{{- if include "lmcache.webhook.enabled" . -}}
{{- range $ns := $wh.engineNamespaces -}}
{{- if and (ne $ns $.Release.Namespace) (not (include "lmcache.lookup" (list "v1" "Namespace" "" $ns))) -}}
{{- $errors = append $errors (printf "webhook.engineNamespaces: namespace %s does not exist; create it first or remove it from the list (the webhook's Role there could not be created, and nothing of this release has been installed)" $ns) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $level := dig "metadata" "labels" "pod-security.kubernetes.io/enforce" "" $releaseNS -}}
{{- /* Pod Security reads a value it cannot parse as its strictest level */ -}}
{{- $levelWords := printf "%q" $level -}}
{{- if and $level (not (has $level (list "privileged" "baseline" "restricted"))) -}}
{{- $levelWords = printf "%q (not a level Pod Security knows, so it applies \"restricted\")" $level -}}
{{- $level = "restricted" -}}
{{- end -}}
{{- range $e := $entries -}}
{{- $base := printf "%s.%s" $e.kind $e.name -}}
{{- $s := $e.spec -}}
{{- $engine := ne $e.kind "coordinators" -}}
{{- /* runtime_class_exists: else the API server rejects every pod of the entry */ -}}
{{- if and $s.runtimeClassName (not (include "lmcache.lookup" (list "node.k8s.io/v1" "RuntimeClass" "" $s.runtimeClassName))) -}}
{{- $errors = append $errors (printf "%s.runtimeClassName: RuntimeClass \"%s\" does not exist in this cluster, so the API server would reject every pod of this entry; install what creates it (for \"nvidia\": the NVIDIA GPU Operator, or the NVIDIA device plugin with the NVIDIA Container Toolkit's RuntimeClass), or set runtimeClassName to \"\" (the node's default runtime, as on CDI/NRI clusters) or to a RuntimeClass this cluster has" $base $s.runtimeClassName) -}}
{{- end -}}
{{- /* pod_security_admits: the release namespace's enforced Pod Security level. What each
pod breaks, as tests/pod_security.py judges the rendered pods (tests/chart/test_preflight.py
proves the two agree). */ -}}
{{- $baseline := list -}}
{{- if and $engine (eq $s.ipc "host") -}}{{- $baseline = append $baseline "hostIPC" -}}{{- end -}}
{{- if and $engine $s.privileged -}}{{- $baseline = append $baseline "a privileged container" -}}{{- end -}}
{{- $hostPaths := ternary (list "/dev/kfd" "/dev/dri") (list) (and $engine (eq $s.gpuVendor "amd")) -}}
{{- range $s.volumes -}}{{- if hasKey . "hostPath" -}}{{- $hostPaths = append $hostPaths (toString .hostPath.path) -}}{{- end -}}{{- end -}}
{{- if $hostPaths -}}{{- $baseline = append $baseline (printf "hostPath volumes (%s)" (join ", " $hostPaths)) -}}{{- end -}}
{{- if and (eq $level "baseline") $baseline -}}
{{- /* The fix names only what this entry breaks: its mode, its vendor, its own hostPath volumes */ -}}
{{- $fixes := list -}}
{{- $amd := and $engine (eq $s.gpuVendor "amd") -}}
{{- $settings := list -}}
{{- if and $engine (eq $s.ipc "host") -}}{{- $settings = append $settings "ipc: isolated" -}}{{- end -}}
{{- if and $engine $s.privileged -}}{{- $settings = append $settings "privileged: false" -}}{{- end -}}
{{- if $settings -}}{{- $fixes = append $fixes (printf "set %s" (join " and " $settings)) -}}{{- end -}}
{{- if gt (len $hostPaths) (ternary 2 0 $amd) -}}{{- $fixes = append $fixes (printf "remove the hostPath volumes from %s.volumes" $base) -}}{{- end -}}
{{- $fix := ternary "gpuVendor amd needs a privileged container and the host's device nodes, which baseline never admits: label the namespace pod-security.kubernetes.io/enforce=privileged" (printf "%s, or label the namespace pod-security.kubernetes.io/enforce=privileged" (join " and " $fixes)) $amd -}}
{{- $errors = append $errors (printf "%s: namespace %s enforces Pod Security \"baseline\", which rejects this entry's pods (%s); %s" $base $.Release.Namespace (join ", " $baseline) $fix) -}}
{{- else if eq $level "restricted" -}}
{{- $restricted := concat $baseline (ternary (list "runAsNonRoot unset: the lmcache image runs as root" "allowPrivilegeEscalation not false" "capabilities not dropping ALL" "no seccompProfile") (list "runAsNonRoot unset: the lmcache image runs as root") $engine) -}}
{{- $errors = append $errors (printf "%s: namespace %s enforces Pod Security %s, which rejects this entry's pods (%s); label the namespace pod-security.kubernetes.io/enforce=baseline (it admits coordinators, and engines with ipc: isolated and privileged: false) or privileged (every mode)" $base $.Release.Namespace $levelWords (join ", " $restricted)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* service_monitor_api, for release-wide objects (webhook/servicemonitor.yaml) */ -}}
{{- $sm := .Values.webhook.serviceMonitor -}}
{{- if and (include "lmcache.webhook.enabled" .) $sm.enabled (not (or $hasSM $sm.trustCRDsExist)) -}}
{{- $errors = append $errors "webhook.serviceMonitor.enabled: needs the monitoring.coreos.com/v1 API, which this cluster does not serve: install the Prometheus Operator CRDs first, or pass --api-versions monitoring.coreos.com/v1 to helm template when rendering offline (for helm lint, set webhook.serviceMonitor.trustCRDsExist: true)" -}}
{{- end -}}
{{- /* prometheus_rule_api (monitoring/prometheusrule.yaml) */ -}}
{{- $alerts := .Values.monitoring.alerts -}}
{{- if and $alerts.enabled (not (or (include "lmcache.monitoring.hasPrometheusRuleAPI" .) $alerts.trustCRDsExist)) -}}
{{- $errors = append $errors "monitoring.alerts.enabled: needs the monitoring.coreos.com/v1 API, which this cluster does not serve: install the Prometheus Operator CRDs first, or pass --api-versions monitoring.coreos.com/v1 to helm template when rendering offline (for helm lint, set monitoring.alerts.trustCRDsExist: true)" -}}
{{- end -}}
{{- toJson (sortAlpha $errors) -}}
{{- end -}}

{{/*
"lmcache.validate.warnings": problems that do not stop the install, as a JSON list; the
WARNING rules of lmcache_k8s/relations.py, with their words. NOTES.txt prints them.
*/}}
{{- define "lmcache.validate.warnings" -}}
{{- $warnings := list -}}
{{- $coordinators := .Values.coordinators | default dict -}}
{{- /* single_coordinator_replica */ -}}
{{- range $e := include "lmcache.entries" (list . "coordinators") | fromJsonArray -}}
{{- if gt (int64 $e.spec.replicas) 1 -}}
{{- $warnings = append $warnings (printf "coordinators.%s.replicas: %s replicas do not share the in-memory registry; engines will see different fleets" $e.name (include "lmcache.int" $e.spec.replicas)) -}}
{{- end -}}
{{- end -}}
{{- /* coordinator_not_best_effort */ -}}
{{- range $e := include "lmcache.entries" (list . "coordinators") | fromJsonArray -}}
{{- if not (or $e.spec.resources.requests $e.spec.resources.limits) -}}
{{- $warnings = append $warnings (printf "coordinators.%s.resources: sets no requests or limits, so the pod is BestEffort: evicted first under node pressure, losing the in-memory fleet registry; keep the default or set requests" $e.name) -}}
{{- end -}}
{{- end -}}
{{- /* blend_engines_report_events */ -}}
{{- range $e := include "lmcache.entries" (list . "cacheBlendEngines") | fromJsonArray -}}
{{- if and (kindIs "map" $e.spec.coordinator) (eq (toString $e.spec.coordinator.l2EventReporting) "false") -}}
{{- $warnings = append $warnings (printf "cacheBlendEngines.%s.coordinator.l2EventReporting: false: lmcache then disables fleet CacheBlend matching (the coordinator builds its blend index from cache events) and this engine matches locally only" $e.name) -}}
{{- end -}}
{{- end -}}
{{- /* instance_timeout_outlasts_heartbeats */ -}}
{{- range $e := include "lmcache.entries" (list . "engines" "cacheBlendEngines") | fromJsonArray -}}
{{- $target := dig "coordinator" "ref" "name" "" $e.spec -}}
{{- if hasKey $coordinators $target -}}
{{- $c := include "lmcache.entry" (dict "root" $ "kind" "coordinators" "name" $target) | fromJson -}}
{{- $heartbeat := $e.spec.coordinator.heartbeatInterval -}}
{{- if lt (float64 $c.instanceTimeout) (mulf $heartbeat 3) -}}
{{- $warnings = append $warnings (printf "coordinators.%s.instanceTimeout: %ss is less than 3x the heartbeat interval of %s.%s (%ss): a late heartbeat evicts the engine" $target (include "lmcache.int" $c.instanceTimeout) $e.kind $e.name (include "lmcache.int" $heartbeat)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $warnings -}}
{{- end -}}
