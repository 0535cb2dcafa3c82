{{/* Names: <release>-rustexec-<component>, shortened to 63 characters. */}}
{{- define "rustexec.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "rustexec.name" -}}
{{ printf "%s-%s" (include "rustexec.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "rustexec.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "rustexec.labels" -}}
{{ include "rustexec.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "rustexec.image" -}}
{{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end -}}

{{- define "rustexec.cmd" -}}
{{ printf "%s/dist/src/cmd/%s" .root.Values.image.appDir .entry }}
{{- end -}}

{{- define "rustexec.s3Endpoint" -}}
{{- if .Values.storage.s3.endpoint -}}{{ .Values.storage.s3.endpoint }}
{{- else if .Values.minio.enabled -}}{{ printf "http://%s-minio:9000" .Release.Name }}
{{- else -}}{{ required "storage.s3.endpoint is required when minio.enabled is false" .Values.storage.s3.endpoint }}
{{- end -}}
{{- end -}}

{{- define "rustexec.s3Secret" -}}
{{ default (printf "%s-s3" (include "rustexec.fullname" .)) .Values.storage.s3.existingSecret }}
{{- end -}}

{{- define "rustexec.tokensSecret" -}}
{{ default (printf "%s-tokens" (include "rustexec.fullname" .)) .Values.auth.existingSecret }}
{{- end -}}

{{/* Flags every server process shares: auth (or --insecure) and TLS. */}}
{{- define "rustexec.securityArgs" -}}
{{- if .Values.auth.enabled }}
- --tokens
- /etc/rustexec/tokens/tokens.json
{{- else }}
- --insecure
{{- end }}
{{- if .Values.tls.enabled }}
- --tls-cert
- /etc/rustexec/tls/tls.crt
- --tls-key
- /etc/rustexec/tls/tls.key
- --tls-ca
- /etc/rustexec/tls/ca.crt
{{- end }}
{{- end -}}

{{/* Probes on the HTTP side port: liveness /healthz, readiness /readyz (storage reachable, scheduler connected). */}}
{{- define "rustexec.probes" -}}
livenessProbe:
  httpGet: { path: /healthz, port: http, scheme: {{ ternary "HTTPS" "HTTP" (and .root.Values.tls.enabled (ne .component "worker")) }} }
  periodSeconds: 10
  failureThreshold: 6
readinessProbe:
  httpGet: { path: /readyz, port: http, scheme: {{ ternary "HTTPS" "HTTP" (and .root.Values.tls.enabled (ne .component "worker")) }} }
  periodSeconds: 10
  failureThreshold: 3
{{- end -}}

{{- define "rustexec.s3Env" -}}
- name: AWS_ACCESS_KEY_ID
  valueFrom: { secretKeyRef: { name: {{ include "rustexec.s3Secret" . }}, key: AWS_ACCESS_KEY_ID } }
- name: AWS_SECRET_ACCESS_KEY
  valueFrom: { secretKeyRef: { name: {{ include "rustexec.s3Secret" . }}, key: AWS_SECRET_ACCESS_KEY } }
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: LOG_PRETTY
  value: "0"
{{- end -}}

{{/* Volumes of a server pod: config, local disk tier, tokens and TLS. */}}
{{- define "rustexec.serverVolumes" -}}
- name: config
  configMap: { name: {{ include "rustexec.fullname" .root }}-config }
- name: disk-cache
  emptyDir: { sizeLimit: {{ .diskCache.sizeLimit }} }
{{- if .root.Values.auth.enabled }}
- name: tokens
  secret: { secretName: {{ include "rustexec.tokensSecret" .root }}, defaultMode: 0400, items: [{ key: tokens.json, path: tokens.json }] }
{{- end }}
{{- if .root.Values.tls.enabled }}
- name: tls
  secret: { secretName: {{ required "tls.existingSecret is required when tls.enabled" .root.Values.tls.existingSecret }}, defaultMode: 0400 }
{{- end }}
{{- end -}}

{{- define "rustexec.serverMounts" -}}
- { name: config, mountPath: /etc/rustexec/config, readOnly: true }
- { name: disk-cache, mountPath: /var/cache/rustexec }
{{- if .Values.auth.enabled }}
- { name: tokens, mountPath: /etc/rustexec/tokens, readOnly: true }
{{- end }}
{{- if .Values.tls.enabled }}
- { name: tls, mountPath: /etc/rustexec/tls, readOnly: true }
{{- end }}
{{- end -}}

{{- define "rustexec.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
