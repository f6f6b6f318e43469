{{/* The name every object starts with: the release name. */}}
{{- define "posthog.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels the vendor's chart puts on every pod: app, release, role. */}}
{{- define "posthog.labels" -}}
app: {{ include "posthog.fullname" .root }}
release: {{ .root.Release.Name | quote }}
role: {{ .role }}
app.kubernetes.io/name: posthog
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .role }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | quote }}
{{- end -}}

{{/* Labels the vendor's chart puts on its web and events Services: the common ones only; they
select on app and role (shared/REFERENCE.md). */}}
{{- define "posthog.serviceLabels" -}}
app.kubernetes.io/name: posthog
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | quote }}
{{- end -}}

{{- define "posthog.selector" -}}
app: {{ include "posthog.fullname" .root }}
release: {{ .root.Release.Name | quote }}
role: {{ .role }}
{{- end -}}

{{/* The storage class for a volume: its own, else the custom class when installed. */}}
{{- define "posthog.storageClass" -}}
{{- $sc := .persistence.storageClass -}}
{{- if and (not $sc) .root.Values.installCustomStorageClass -}}
{{- $sc = .root.Values.customStorageClass.name -}}
{{- end -}}
{{- if $sc }}
storageClassName: {{ $sc | quote }}
{{- end -}}
{{- end -}}

{{/* Invalid combinations stop the render with a message saying what to change. */}}
{{- define "posthog.validate" -}}
{{- $v := .Values -}}
{{- if not $v.cloud -}}
{{- fail "cloud is required: set cloud to aws, gcp, azure, do, k3s, local, private or other (a helmdeck profile sets it)" -}}
{{- end -}}
{{- if and $v.postgresql.enabled $v.externalPostgresql.postgresqlHost -}}
{{- fail "postgresql.enabled and externalPostgresql.postgresqlHost are both set: disable the bundled PostgreSQL (postgresql.enabled=false) or remove externalPostgresql.postgresqlHost" -}}
{{- end -}}
{{- if and (not $v.postgresql.enabled) (not $v.externalPostgresql.postgresqlHost) -}}
{{- fail "postgresql.enabled is false but externalPostgresql.postgresqlHost is empty: the app needs a database" -}}
{{- end -}}
{{- if and (not $v.redis.enabled) (not $v.externalRedis.host) -}}
{{- fail "redis.enabled is false but externalRedis.host is empty: the app needs a Redis" -}}
{{- end -}}
{{- if and $v.ingress.enabled (eq (include "posthog.ingressType" .) "clb") (ne $v.cloud "gcp") -}}
{{- fail "ingress.type clb (the GCE load balancer) only works with cloud=gcp: use ingress.type=nginx" -}}
{{- end -}}
{{- if and $v.ingress.letsencrypt (not $v.ingress.hostname) -}}
{{- fail "ingress.letsencrypt needs ingress.hostname: set the public hostname" -}}
{{- end -}}
{{- if and $v.installCustomStorageClass (not $v.customStorageClass.provisioner) (not (has $v.cloud (list "aws" "gcp"))) -}}
{{- fail (printf "installCustomStorageClass on cloud %s needs customStorageClass.provisioner" $v.cloud) -}}
{{- end -}}
{{- end -}}

{{/* nginx unless told otherwise; clb by default on gcp, as the vendor's chart did. */}}
{{- define "posthog.ingressType" -}}
{{- if .Values.ingress.type -}}{{ .Values.ingress.type }}{{- else if eq .Values.cloud "gcp" -}}clb{{- else -}}nginx{{- end -}}
{{- end -}}

{{- define "posthog.env" -}}
- name: SITE_URL
  value: {{ if .Values.ingress.hostname }}{{ printf "https://%s" .Values.ingress.hostname | quote }}{{ else }}"http://localhost:8000"{{ end }}
- name: POSTHOG_POSTGRES_HOST
  value: {{ if .Values.postgresql.enabled }}{{ printf "%s-postgresql" (include "posthog.fullname" .) | quote }}{{ else }}{{ .Values.externalPostgresql.postgresqlHost | quote }}{{ end }}
- name: POSTHOG_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "posthog.fullname" . }}-postgresql
      key: postgresql-password
- name: POSTHOG_REDIS_HOST
  value: {{ if .Values.redis.enabled }}{{ printf "%s-redis" (include "posthog.fullname" .) | quote }}{{ else }}{{ .Values.externalRedis.host | quote }}{{ end }}
- name: KAFKA_HOSTS
  value: {{ printf "%s-kafka:9092" (include "posthog.fullname" .) | quote }}
- name: CLICKHOUSE_HOST
  value: {{ printf "%s-clickhouse" (include "posthog.fullname" .) | quote }}
{{- end -}}
