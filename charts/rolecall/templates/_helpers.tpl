{{/* Names, labels and the derived settings every template shares. */}}

{{- define "rolecall.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rolecall.fullname" -}}
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

{{- define "rolecall.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rolecall.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "rolecall.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "rolecall.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rolecall
{{- end }}

{{- define "rolecall.operatorServiceAccount" -}}
{{- default (printf "%s-operator" (include "rolecall.fullname" .)) .Values.operator.serviceAccount.name }}
{{- end }}

{{- define "rolecall.scimServiceAccount" -}}
{{- if .Values.scim.serviceAccount.ownIdentity }}
{{- default (printf "%s-scim" (include "rolecall.fullname" .)) .Values.scim.serviceAccount.name }}
{{- else }}
{{- include "rolecall.operatorServiceAccount" . }}
{{- end }}
{{- end }}

{{- define "rolecall.leaseName" -}}
{{- default (printf "%s-operator" (include "rolecall.fullname" .)) .Values.operator.leaseName }}
{{- end }}

{{- define "rolecall.tlsSecretName" -}}
{{- default (printf "%s-scim-tls" (include "rolecall.fullname" .)) .Values.scim.tls.secretName }}
{{- end }}

{{- define "rolecall.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The namespaces served, one per line, when rolecall is namespaced (empty when
rbac.clusterWide). The binary serves one namespace or all of them: a list of
several would leave it watching namespaces its Roles do not cover, so it is
refused here rather than failing at run time with "forbidden".
*/}}
{{- define "rolecall.servedNamespaces" -}}
{{- if not .Values.rbac.clusterWide }}
{{- $namespaces := .Values.watchNamespaces | default (list .Release.Namespace) }}
{{- if gt (len $namespaces) 1 }}
{{- fail (printf "watchNamespaces lists %d namespaces; rolecall serves one namespace or, with rbac.clusterWide=true, all of them" (len $namespaces)) }}
{{- end }}
{{- range $namespaces }}
{{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* The one namespace the processes are told to serve, or empty for all. */}}
{{- define "rolecall.watchNamespace" -}}
{{- include "rolecall.servedNamespaces" . | trim }}
{{- end }}

{{/* The base URL identity providers use. */}}
{{- define "rolecall.scimUrl" -}}
{{- if .Values.scim.externalUrl }}
{{- .Values.scim.externalUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.host }}
{{- printf "https://%s/scim/v2" .Values.ingress.host }}
{{- else }}
{{- $scheme := ternary "https" "http" .Values.scim.tls.enabled }}
{{- printf "%s://%s.%s.svc:%d/scim/v2" $scheme (include "rolecall.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}
{{- end }}

{{/* The restricted Pod Security profile, for every container. */}}
{{- define "rolecall.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsUser }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* `rolecall ui --in-cluster` (ui.enabled): its own name, so no selector of the operator's Pod (Deployment, Services, PodDisruptionBudget, NetworkPolicy) matches its Pods. */}}
{{- define "rolecall.uiSelectorLabels" -}}
app.kubernetes.io/name: {{ include "rolecall.name" . }}-ui
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "rolecall.uiServiceAccount" -}}
{{- default (printf "%s-ui" (include "rolecall.fullname" .)) .Values.ui.serviceAccount.name }}
{{- end }}
