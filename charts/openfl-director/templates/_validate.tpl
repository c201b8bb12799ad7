{{/*
Input checks that hold even where values.schema.json is not applied (KubeFATE installs the chart
without its schema): each fails the render with a message naming the value.
*/}}

{{/* A shape: a non-empty list of positive integers written as strings or numbers. Argument: list <label> <value>. */}}
{{- define "openfl-director.checkShape" -}}
{{- $label := index . 0 -}}
{{- $shape := index . 1 -}}
{{- if or (not (kindIs "slice" $shape)) (not $shape) -}}
{{- fail (printf "openfl-director: %s must be a non-empty list such as [\"28\", \"28\", \"1\"], got %v" $label $shape) -}}
{{- end -}}
{{- range $shape -}}
{{- if not (regexMatch "^[1-9][0-9]*$" (toString .)) -}}
{{- fail (printf "openfl-director: %s must list positive integers, got %v" $label $shape) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* A fixed nodePort: 0 (allocated) or 30000-32767. Argument: list <label> <value>. */}}
{{- define "openfl-director.checkNodePort" -}}
{{- $port := index . 1 | default 0 -}}
{{- if not (or (kindIs "float64" $port) (kindIs "int" $port) (kindIs "int64" $port)) -}}
{{- fail (printf "openfl-director: %s must be 0 or a port number 30000-32767, got %v" (index . 0) $port) -}}
{{- end -}}
{{- if and (ne (int64 $port) 0) (or (lt (int64 $port) 30000) (gt (int64 $port) 32767)) -}}
{{- fail (printf "openfl-director: %s must be 0 or a port number 30000-32767, got %v" (index . 0) $port) -}}
{{- end -}}
{{- end }}

{{- define "openfl-director.validate" -}}
{{- $name := .Values.name -}}
{{- /* else-if: in a lint, fail only logs and rendering goes on (len of a missing name would break it) */ -}}
{{- if or (not (kindIs "string" $name)) (not $name) -}}
{{- fail "openfl-director: name is required (cluster yaml `name`: the director's KubeFATE cluster name)" -}}
{{- else if or (gt (len $name) 53) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name)) -}}
{{- fail (printf "openfl-director: name %q must be a DNS-1123 label (lower-case letters, digits, '-') of at most 53 characters" $name) -}}
{{- end -}}
{{- $d := .Values.director -}}
{{- include "openfl-director.checkShape" (list "director.sampleShape" $d.sampleShape) -}}
{{- include "openfl-director.checkShape" (list "director.targetShape" $d.targetShape) -}}
{{- $period := $d.envoyHealthCheckPeriod -}}
{{- if or (not (or (kindIs "float64" $period) (kindIs "int" $period) (kindIs "int64" $period))) (lt (int64 $period) 1) -}}
{{- fail (printf "openfl-director: director.envoyHealthCheckPeriod must be a positive number of seconds, got %v" $period) -}}
{{- end -}}
{{- $types := list "NodePort" "LoadBalancer" "ClusterIP" -}}
{{- if not (has .Values.service.type $types) -}}
{{- fail (printf "openfl-director: service.type must be one of NodePort, LoadBalancer, ClusterIP, got %v" .Values.service.type) -}}
{{- end -}}
{{- include "openfl-director.checkNodePort" (list "service.directorNodePort" .Values.service.directorNodePort) -}}
{{- include "openfl-director.checkNodePort" (list "service.aggNodePort" .Values.service.aggNodePort) -}}
{{- if and .Values.service.directorNodePort (eq (int64 .Values.service.directorNodePort) (int64 (.Values.service.aggNodePort | default 0))) -}}
{{- fail "openfl-director: service.directorNodePort and service.aggNodePort must differ" -}}
{{- end -}}
{{- $notebook := .Values.notebook | default dict -}}
{{- if $notebook.enabled -}}
{{- if not (regexMatch "^(sha1:[0-9a-zA-Z]+:[0-9a-f]{40}|argon2:.+)$" (toString $notebook.passwordHash)) -}}
{{- fail "openfl-director: notebook.passwordHash must be a Jupyter password hash (sha1:<salt>:<40 hex> or argon2:...) when notebook.enabled is true" -}}
{{- end -}}
{{- if not (has $notebook.serviceType $types) -}}
{{- fail (printf "openfl-director: notebook.serviceType must be one of NodePort, LoadBalancer, ClusterIP, got %v" $notebook.serviceType) -}}
{{- end -}}
{{- end -}}
{{- end }}
