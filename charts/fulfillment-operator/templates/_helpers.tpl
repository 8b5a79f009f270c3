{{/* The prefix of the chart's object names: the release name, or <release>-fulfillment-operator when the release
name does not hold the chart name (names stay within 63 characters). */}}
{{- define "fulfillment-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; the selector labels are those config/manager uses, plus the release. */}}
{{- define "fulfillment-operator.labels" -}}
{{ include "fulfillment-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "fulfillment-operator.selectorLabels" -}}
app.kubernetes.io/name: fulfillment-operator
app.kubernetes.io/component: manager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fulfillment-operator.serviceAccountName" -}}
{{- default (printf "%s-controller-manager" (include "fulfillment-operator.fullname" .)) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The chart's ServiceAccount as the subject of a binding. */}}
{{- define "fulfillment-operator.serviceAccountSubject" -}}
- kind: ServiceAccount
  name: {{ include "fulfillment-operator.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end -}}

{{- define "fulfillment-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The rules of an RBAC file that hack/sync-chart.sh copied from config/rbac into files/. */}}
{{- define "fulfillment-operator.rulesOf" -}}
{{- $role := .Files.Get .file | fromYaml -}}
{{- if not $role.rules -}}
{{- fail (printf "%s has no rules: run make chart" .file) -}}
{{- end -}}
{{- toYaml $role.rules -}}
{{- end -}}
