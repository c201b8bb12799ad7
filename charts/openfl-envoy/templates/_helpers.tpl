{{/*
Helpers of the openfl-envoy chart. Only the chart templates use them: KubeFATE renders
values-template.yaml with its own engine, where include/tpl/required do not work.
*/}}

{{/* Labels on every object. `name` is what KubeFATE's job lists Deployments by. */}}
{{- define "openfl-envoy.labels" -}}
name: {{ .Values.name | quote }}
openfl: envoy
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Deployment's selector: fixed at first install, never change it. */}}
{{- define "openfl-envoy.selectorLabels" -}}
openfl: envoy
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end }}

{{/* registry/repository:tag; no registry prefix when the registry is empty. */}}
{{- define "openfl-envoy.image" -}}
{{- $image := .Values.image -}}
{{- $repository := $image.repository -}}
{{- with $image.registry }}{{ $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}{{ end -}}
{{- printf "%s:%s" $repository (toString $image.tag) -}}
{{- end }}

{{/* The text of envoy_config.yaml: envoyConfigs as YAML, or verbatim when given as text. */}}
{{- define "openfl-envoy.envoyConfig" -}}
{{- $config := .Values.envoy.envoyConfigs -}}
{{- if kindIs "string" $config -}}
{{- $config -}}
{{- else -}}
{{- toYaml $config }}
{{ end -}}
{{- end }}

{{/* The ServiceAccount the pod runs as; empty means the namespace's default. */}}
{{- define "openfl-envoy.serviceAccountName" -}}
{{- $sa := .Values.serviceAccount | default dict -}}
{{- if $sa.create -}}
{{- $sa.name | default "envoy" -}}
{{- else -}}
{{- $sa.name | default "" -}}
{{- end -}}
{{- end }}

{{/* Address patterns, the same as in values.schema.json (zone ids are not allowed). */}}
{{- define "openfl-envoy.ipv4Pattern" -}}
^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$
{{- end }}
{{- define "openfl-envoy.ipv6Pattern" -}}
^(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){7}:|:(:[0-9a-fA-F]{1,4}){1,7}|::|([0-9a-fA-F]{1,4}:){1}(:[0-9a-fA-F]{1,4}){1,6}|([0-9a-fA-F]{1,4}:){1}:|([0-9a-fA-F]{1,4}:){2}(:[0-9a-fA-F]{1,4}){1,5}|([0-9a-fA-F]{1,4}:){2}:|([0-9a-fA-F]{1,4}:){3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){3}:|([0-9a-fA-F]{1,4}:){4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){4}:|([0-9a-fA-F]{1,4}:){5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){5}:|([0-9a-fA-F]{1,4}:){6}(:[0-9a-fA-F]{1,4}){1,1}|([0-9a-fA-F]{1,4}:){6}:|([0-9a-fA-F]{1,4}:){6}((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])|::([0-9a-fA-F]{1,4}:){0,5}((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])|([0-9a-fA-F]{1,4}:){1}:([0-9a-fA-F]{1,4}:){0,4}((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])|([0-9a-fA-F]{1,4}:){2}:([0-9a-fA-F]{1,4}:){0,3}((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])|([0-9a-fA-F]{1,4}:){3}:([0-9a-fA-F]{1,4}:){0,2}((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])|([0-9a-fA-F]{1,4}:){4}:([0-9a-fA-F]{1,4}:){0,1}((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])|([0-9a-fA-F]{1,4}:){5}:([0-9a-fA-F]{1,4}:){0,0}((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))$
{{- end }}
