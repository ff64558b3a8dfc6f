{{/*
Helpers of the NetworkPolicies (networkPolicy: in values; docs/security.md says what each
policy allows and why). Every policy selects exactly its component's pods by their selector
labels. A rule is rendered only with at least one peer: a rule whose `from` is empty or
absent admits every source, the opposite of what an empty list of peers means here.
*/}}

{{/*
The spec of a policy after podSelector: policyTypes, the ingress rules given as a JSON list
in .rules, and the egress rules of networkPolicy.egress when set. Call with
(dict "root" $ "rules" <list>).
*/}}
{{- define "lmcache.networkPolicy.rules" -}}
{{- $egress := .root.Values.networkPolicy.egress -}}
policyTypes:
  - Ingress
  {{- if not (kindIs "invalid" $egress) }}
  - Egress
  {{- end }}
{{- if .rules }}
ingress:
  {{- toYaml .rules | nindent 2 }}
{{- else }}
ingress: []
{{- end }}
{{- if not (kindIs "invalid" $egress) }}
{{- if $egress }}
egress:
  {{- toYaml $egress | nindent 2 }}
{{- else }}
egress: []
{{- end }}
{{- end }}
{{- end -}}

{{/* One ingress rule, as a JSON list of 0 or 1 rule: TCP to the named .ports from .peers. */}}
{{- define "lmcache.networkPolicy.rule" -}}
{{- $ports := list -}}
{{- range .ports -}}
{{- $ports = append $ports (dict "protocol" "TCP" "port" .) -}}
{{- end -}}
{{- if .peers -}}
{{- toJson (list (dict "ports" $ports "from" .peers)) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}
