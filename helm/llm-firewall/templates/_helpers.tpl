{{/* Chart name. */}}
{{- define "llm-firewall.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name if it already contains the chart name. */}}
{{- define "llm-firewall.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "llm-firewall.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "llm-firewall.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-firewall.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "llm-firewall.labels" -}}
helm.sh/chart: {{ include "llm-firewall.chart" . }}
{{ include "llm-firewall.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llm-firewall
{{- end }}

{{- define "llm-firewall.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "llm-firewall.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Service FQDN, e.g. llmfw-llm-firewall.llm-firewall.svc.cluster.local */}}
{{- define "llm-firewall.serviceFQDN" -}}
{{- printf "%s.%s.svc.%s" (include "llm-firewall.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/* Istio's outbound cluster for the gRPC Service port. */}}
{{- define "llm-firewall.istioCluster" -}}
{{- printf "outbound|%d||%s" (int .Values.service.grpcPort) (include "llm-firewall.serviceFQDN" .) }}
{{- end }}

{{/*
Milliseconds of a duration, for the chart's own consistency checks.
Accepts whole ms, s, m, h (Go) and decimal seconds with up to three
fraction digits (protobuf JSON, e.g. 0.5s). Call with (list "name" value).
*/}}
{{- define "llm-firewall.durationMs" -}}
{{- $name := index . 0 }}
{{- $d := toString (index . 1) }}
{{- if regexMatch "^[0-9]+ms$" $d }}
{{- trimSuffix "ms" $d | atoi }}
{{- else if regexMatch "^[0-9]+s$" $d }}
{{- mul (trimSuffix "s" $d | atoi) 1000 }}
{{- else if regexMatch "^[0-9]+\\.[0-9]{1,3}s$" $d }}
{{- $parts := splitList "." (trimSuffix "s" $d) }}
{{- $frac := printf "%s000" (index $parts 1) | trunc 3 }}
{{- add (mul (index $parts 0 | atoi) 1000) ($frac | atoi) }}
{{- else if regexMatch "^[0-9]+m$" $d }}
{{- mul (trimSuffix "m" $d | atoi) 60000 }}
{{- else if regexMatch "^[0-9]+h$" $d }}
{{- mul (trimSuffix "h" $d | atoi) 3600000 }}
{{- else }}
{{- fail (printf "%s %q: use a whole number of ms, s, m or h (e.g. 150ms, 15s)" $name $d) }}
{{- end }}
{{- end }}

{{/* Cross-field checks; included by the Deployment and the EnvoyFilter. */}}
{{- define "llm-firewall.validate" -}}
{{- $graceMs := include "llm-firewall.durationMs" (list "config.shutdownGrace" .Values.config.shutdownGrace) | atoi }}
{{- $preStopMs := 0 }}
{{- if .Values.preStop.enabled }}
{{- $preStopMs = mul (int .Values.preStop.sleepSeconds) 1000 }}
{{- end }}
{{- $tgpMs := mul (int .Values.terminationGracePeriodSeconds) 1000 }}
{{- if le $tgpMs (add $graceMs $preStopMs) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStop.sleepSeconds + config.shutdownGrace (%dms), or in-flight streams are killed before they drain" (int .Values.terminationGracePeriodSeconds) (add $graceMs $preStopMs)) }}
{{- end }}
{{- if lt (int64 .Values.config.maxRecvBytes) (add (int64 .Values.config.maxBodyBytes) 65536) }}
{{- fail "config.maxRecvBytes must exceed config.maxBodyBytes by at least 65536 (protobuf framing around a body)" }}
{{- end }}
{{- if .Values.envoyFilter.enabled }}
{{- $budgetMs := include "llm-firewall.durationMs" (list "config.budget" .Values.config.budget) | atoi }}
{{- $mtMs := include "llm-firewall.durationMs" (list "envoyFilter.messageTimeout" .Values.envoyFilter.messageTimeout) | atoi }}
{{- $mxMs := include "llm-firewall.durationMs" (list "envoyFilter.maxMessageTimeout" .Values.envoyFilter.maxMessageTimeout) | atoi }}
{{- if le $mtMs $budgetMs }}
{{- fail (printf "envoyFilter.messageTimeout (%s) must exceed config.budget (%s), or Envoy's bare 504 preempts the firewall's reply" .Values.envoyFilter.messageTimeout .Values.config.budget) }}
{{- end }}
{{- if gt $mtMs $mxMs }}
{{- fail (printf "envoyFilter.messageTimeout (%s) must not exceed envoyFilter.maxMessageTimeout (%s)" .Values.envoyFilter.messageTimeout .Values.envoyFilter.maxMessageTimeout) }}
{{- end }}
{{- end }}
{{- end }}
