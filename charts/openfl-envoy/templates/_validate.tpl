{{/*
Input checks that hold even where values.schema.json is not applied: KubeFATE rebuilds the
chart without its schema before `helm install`, so every rule that protects the envoy is
repeated here and fails the render with a message naming the value and the cluster yaml key.
The values without a default (`name`, `envoy.envoyConfigs`) are required here only, not in the
schema, so that a plain `helm lint` (no values) passes: there `fail` only logs and rendering
goes on, which is why each check is one if/else-if chain that never reads a value it rejected.
*/}}

{{/* A port: an integer 1..65535. Argument: list <field label> <value>. */}}
{{- define "openfl-envoy.checkPort" -}}
{{- $label := index . 0 -}}
{{- $port := index . 1 -}}
{{- if not (or (kindIs "float64" $port) (kindIs "int" $port) (kindIs "int64" $port)) -}}
{{- fail (printf "openfl-envoy: %s must be an integer port number 1-65535, got %v (%s)" $label $port (kindOf $port)) -}}
{{- else if or (ne (float64 $port) (float64 (int64 $port))) (lt (int64 $port) 1) (gt (int64 $port) 65535) -}}
{{- fail (printf "openfl-envoy: %s must be an integer port number 1-65535, got %v" $label $port) -}}
{{- end -}}
{{- end }}

{{- define "openfl-envoy.validate" -}}
{{- $name := .Values.name -}}
{{- if not $name -}}
{{- fail "openfl-envoy: name is required (cluster yaml `name`: the envoy name, equal to its certificate CN)" -}}
{{- else if not (kindIs "string" $name) -}}
{{- fail (printf "openfl-envoy: name must be a string, got %v" $name) -}}
{{- else if or (gt (len $name) 53) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name)) -}}
{{- fail (printf "openfl-envoy: name %q must be a DNS-1123 label (lower-case letters, digits, '-') of at most 53 characters" $name) -}}
{{- end -}}
{{- if (.Values.podSecurityPolicy | default dict).enabled -}}
{{- fail "openfl-envoy: podSecurityPolicy.enabled=true is not supported: PodSecurityPolicy was removed in Kubernetes 1.25. Set it to false (or drop it); the envoy pod passes the baseline Pod Security Standard, enforce it with the namespace label pod-security.kubernetes.io/enforce=baseline" -}}
{{- end -}}
{{- $envoy := .Values.envoy -}}
{{- $fqdn := $envoy.directorFqdn -}}
{{- $fqdnRule := "must be a lower-case DNS name (labels of letters, digits, '-'; no trailing dot)" -}}
{{- if not (kindIs "string" $fqdn) -}}
{{- fail (printf "openfl-envoy: envoy.directorFqdn %v %s" $fqdn $fqdnRule) -}}
{{- else if or (not $fqdn) (gt (len $fqdn) 252) (not (regexMatch "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$" $fqdn)) -}}
{{- fail (printf "openfl-envoy: envoy.directorFqdn %q %s" $fqdn $fqdnRule) -}}
{{- end -}}
{{- $ip := $envoy.directorIp | default "" -}}
{{- if not (kindIs "string" $ip) -}}
{{- fail (printf "openfl-envoy: envoy.directorIp must be an IP address as a string, got %v" $ip) -}}
{{- else if and $ip (not (regexMatch (include "openfl-envoy.ipv4Pattern" .) $ip)) (not (regexMatch (include "openfl-envoy.ipv6Pattern" .) $ip)) -}}
{{- fail (printf "openfl-envoy: envoy.directorIp %q is not an IPv4 or IPv6 address (host names cannot go into hostAliases; leave it empty to use DNS)" $ip) -}}
{{- end -}}
{{- include "openfl-envoy.checkPort" (list "envoy.directorPort" $envoy.directorPort) -}}
{{- include "openfl-envoy.checkPort" (list "envoy.aggPort" $envoy.aggPort) -}}
{{- $config := $envoy.envoyConfigs -}}
{{- if kindIs "invalid" $config -}}
{{- fail "openfl-envoy: envoy.envoyConfigs is required: the envoy configuration (envoy_config.yaml) with shard_descriptor.template" -}}
{{- else if kindIs "string" $config -}}
{{- if not (trim $config) -}}
{{- fail "openfl-envoy: envoy.envoyConfigs is empty: give the envoy configuration with shard_descriptor.template" -}}
{{- end -}}
{{- else if kindIs "map" $config -}}
{{- $shard := get $config "shard_descriptor" -}}
{{- $template := "" -}}
{{- if kindIs "map" $shard }}{{ $template = get $shard "template" }}{{ end -}}
{{- if not $template -}}
{{- fail "openfl-envoy: envoy.envoyConfigs must set shard_descriptor.template (module.Class of the shard descriptor in the envoy-python-configs ConfigMap)" -}}
{{- end -}}
{{- else -}}
{{- fail (printf "openfl-envoy: envoy.envoyConfigs must be a map or the text of envoy_config.yaml, got %s" (kindOf $config)) -}}
{{- end -}}
{{- end }}
