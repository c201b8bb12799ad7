{{/*
Helpers of the openfl-director chart. Only the chart templates use them: KubeFATE renders
values-template.yaml with its own engine, where include/tpl/required do not work.
*/}}

{{/* Labels on every object. `name` is what KubeFATE's job lists Deployments by. */}}
{{- define "openfl-director.labels" -}}
name: {{ .Values.name | quote }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A component's selector (fixed at first install): list <root context> <component>. */}}
{{- define "openfl-director.selector" -}}
openfl: {{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name | quote }}
{{- end }}

{{/* registry/repository:tag; argument: list <root context> <repository> <tag>. */}}
{{- define "openfl-director.image" -}}
{{- $root := index . 0 -}}
{{- $repository := index . 1 -}}
{{- with $root.Values.image.registry }}{{ $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}{{ end -}}
{{- printf "%s:%s" $repository (toString (index . 2)) -}}
{{- end }}

{{/* Pull secrets as the pod spec wants them. */}}
{{- define "openfl-director.pullSecrets" -}}
{{- range .Values.imagePullSecrets }}
{{- if kindIs "string" . }}
- name: {{ . | quote }}
{{- else }}
- name: {{ .name | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The text of director_config.yaml: the director listens on its container port. */}}
{{- define "openfl-director.config" -}}
{{- $d := .Values.director -}}
{{- $settings := dict "listen_host" "0.0.0.0" "listen_port" 50051 "sample_shape" $d.sampleShape "target_shape" $d.targetShape "envoy_health_check_period" $d.envoyHealthCheckPeriod -}}
{{- toYaml (dict "settings" $settings) }}
{{ end }}
