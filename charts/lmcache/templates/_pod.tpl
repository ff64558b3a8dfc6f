{{/*
The pod template of an entry's workload: the engine DaemonSet's and the coordinator
Deployment's. It renders the PodShape fields of lmcache_k8s/values.py (image,
imagePullSecrets, logLevel, affinity, tolerations, priorityClassName, env, volumes,
volumeMounts, podAnnotations, podLabels, serviceAccountName, extraArgs), the
nodeSelector and runtimeClassName both kinds have, once for both, and an engine's GPU access
by gpuVendor (env for nvidia, hostPath device nodes for amd); the container's ports,
security context, probes and resources are the kind's own ("lmcache.engineContainer",
"lmcache.coordinatorContainer"). Call with an entry context. The post-renderer reads these
pods back: keep the shape exact.
*/}}
{{- define "lmcache.podTemplate" -}}
{{- $s := .spec -}}
{{- $n := include "lmcache.names" .root | fromJson -}}
{{- $engine := ne .kind "coordinators" -}}
{{- $vendor := get (include "lmcache.defaults.gpuVendors" .root | fromJson) ($s.gpuVendor | default "nvidia") -}}
{{- /* an AMD engine's GPUs: the host's device nodes, before the user's volumes */ -}}
{{- $volumes := list -}}
{{- $mounts := list -}}
{{- range $vendor.devices -}}
{{- $volumes = append $volumes (dict "name" .name "hostPath" (dict "path" .path "type" .type)) -}}
{{- $mounts = append $mounts (dict "name" .name "mountPath" .path) -}}
{{- end -}}
{{- $volumes = concat $volumes ($s.volumes | default list) -}}
{{- $mounts = concat $mounts ($s.volumeMounts | default list) -}}
metadata:
  labels:
    {{- /* podLabels cannot override the selector labels: merge keeps the first map's keys */}}
    {{- toYaml (merge (include "lmcache.selectorLabels" . | fromYaml) (include "lmcache.chartSelectorLabels" . | fromYaml) ($s.podLabels | default dict)) | nindent 4 }}
  {{- with $s.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- if and $engine (eq $s.ipc "host") }}
  # CUDA IPC between vLLM and the server needs the host IPC namespace (and its /dev/shm).
  hostIPC: true
  {{- end }}
  {{- with $s.runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  {{- if $s.serviceAccountName }}
  serviceAccountName: {{ $s.serviceAccountName }}
  {{- else }}
  # Nothing in this pod calls the Kubernetes API: keep the default account's token out.
  automountServiceAccountToken: false
  {{- end }}
  {{- with include "lmcache.fields" (list $s "priorityClassName" "imagePullSecrets" "nodeSelector" "affinity" "tolerations") }}{{ . | nindent 2 }}{{ end }}
  containers:
    - name: {{ ternary "lmcache" "coordinator" $engine }}
      image: {{ include "lmcache.image" $s.image | quote }}
      imagePullPolicy: {{ $s.image.pullPolicy }}
      command:
        - /opt/venv/bin/lmcache
        - {{ ternary "server" "coordinator" $engine }}
      args:
        {{- include (ternary "lmcache.engineArgs" "lmcache.coordinatorArgs" $engine) . | nindent 8 }}
      env:
        - name: {{ $n.logLevelEnv }}
          value: {{ $s.logLevel }}
        {{- if $engine }}
        {{- range $vendor.env }}
        - name: {{ . }}
          value: all
        {{- end }}
        {{- if include "lmcache.coordinatorURL" . }}
        - name: {{ $n.advertiseIPEnv }}
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        {{- end }}
        {{- end }}
        {{- with $s.env }}{{ toYaml . | nindent 8 }}{{ end }}
      {{- include (ternary "lmcache.engineContainer" "lmcache.coordinatorContainer" $engine) $s | nindent 6 }}
      {{- with include "lmcache.fields" (list (dict "volumeMounts" $mounts) "volumeMounts") }}{{ . | nindent 6 }}{{ end }}
  {{- with include "lmcache.fields" (list (dict "volumes" $volumes) "volumes") }}{{ . | nindent 2 }}{{ end }}
{{- end -}}

{{/* The engine container's own fields (SPEC 2.2): ZMQ and HTTP ports, privileged, resources. */}}
{{- define "lmcache.engineContainer" -}}
ports:
  - name: server
    containerPort: {{ include "lmcache.int" .server.port }}
    protocol: TCP
  - name: http
    containerPort: {{ include "lmcache.int" .server.httpPort }}
    protocol: TCP
securityContext:
  privileged: {{ .privileged }}
{{ include "lmcache.probes" "tcpSocket:\n  port: server" }}
resources:
  {{- if .resourceOverrides }}
  {{- toYaml .resourceOverrides | nindent 2 }}
  {{- else }}
  {{- /* requests cpu 4 and ceil(sizeGB + 5)Gi; limit ceil(request x 1.5)Gi */}}
  {{- $request := ceil (addf .l1.sizeGB 5) }}
  requests:
    cpu: "4"
    memory: {{ printf "%dGi" (int64 $request) }}
  limits:
    memory: {{ printf "%dGi" (int64 (ceil (mulf $request 1.5))) }}
  {{- end }}
{{- end -}}

{{/* The coordinator container's own fields (SPEC 1.4): one HTTP port, no privilege. */}}
{{- define "lmcache.coordinatorContainer" -}}
ports:
  - name: http
    containerPort: {{ include "lmcache.int" .port }}
    protocol: TCP
# A plain HTTP service on an unprivileged port: it needs no privilege of any kind.
securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop:
      - ALL
  seccompProfile:
    type: RuntimeDefault
{{ include "lmcache.probes" "httpGet:\n  path: /healthz\n  port: http" }}
{{- with .resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Startup, liveness and readiness probes around one handler (YAML), for both kinds. */}}
{{- define "lmcache.probes" -}}
startupProbe:
  {{- . | nindent 2 }}
  initialDelaySeconds: 5
  periodSeconds: 5
  failureThreshold: 30
livenessProbe:
  {{- . | nindent 2 }}
  periodSeconds: 10
readinessProbe:
  {{- . | nindent 2 }}
  periodSeconds: 5
{{- end -}}
