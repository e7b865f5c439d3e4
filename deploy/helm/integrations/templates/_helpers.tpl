{{/* Names and labels. */}}
{{- define "integrations.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "integrations.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "integrations.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "integrations.labels" -}}
helm.sh/chart: {{ include "integrations.chart" . }}
app.kubernetes.io/name: {{ include "integrations.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: integrations
{{- end -}}

{{/*
The static facts of each component: its resource name, environment prefix, port and which
secrets it reads. Call with the root context; answers YAML for fromYaml.
*/}}
{{- define "integrations.components" -}}
api:
  name: api
  prefix: API_
  kind: http
  secrets: [mongodb, encryption, auth]
logWriter:
  name: log-writer
  prefix: LOG_WRITER_
  kind: worker
  secrets: [mongodb]
router:
  name: router
  prefix: ROUTER_
  kind: worker
  secrets: []
webhookSender:
  name: webhook-sender
  prefix: WEBHOOK_SENDER_
  kind: worker
  secrets: [encryption]
queueSender:
  name: queue-sender
  prefix: QUEUE_SENDER_
  kind: worker
  secrets: [encryption]
{{- end -}}

{{/* The component keys in a stable order. */}}
{{- define "integrations.componentKeys" -}}
[api, logWriter, router, webhookSender, queueSender]
{{- end -}}

{{/* Resource name of a component: dict "root" . "name" "router". */}}
{{- define "integrations.componentName" -}}
{{- printf "%s-%s" (include "integrations.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of a component: dict "root" . "name" "router". */}}
{{- define "integrations.selectorLabels" -}}
app.kubernetes.io/name: {{ include "integrations.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "integrations.componentLabels" -}}
{{ include "integrations.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* The image reference of a component: dict "root" . "values" <component values>. */}}
{{- define "integrations.image" -}}
{{- $registry := .root.Values.image.registry | trimSuffix "/" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "integrations.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "integrations.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "integrations.secretName" -}}
{{- default (printf "%s-secrets" (include "integrations.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{/* True (non-empty) when Kafka uses SASL. */}}
{{- define "integrations.kafkaSasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol -}}true{{- end -}}
{{- end -}}

{{/* Which key source the API verifies tokens with: jwksUrl, publicKey or jwtSecret. */}}
{{- define "integrations.authMode" -}}
{{- if .Values.auth.jwksUrl -}}jwksUrl
{{- else if .Values.auth.publicKey -}}publicKey
{{- else -}}jwtSecret
{{- end -}}
{{- end -}}

{{- define "integrations.kafkaCaPath" -}}/etc/integrations/kafka-ca/ca.crt{{- end -}}

{{/*
Fail early on combinations that the schema cannot express.
*/}}
{{- define "integrations.validate" -}}
{{- if and (include "integrations.kafkaSasl" .) (not .Values.kafka.sasl.mechanism) -}}
{{- fail "kafka.sasl.mechanism is required with a SASL_* kafka.securityProtocol" -}}
{{- end -}}
{{- if and (include "integrations.kafkaSasl" .) (not .Values.existingSecret) (not (and .Values.kafka.sasl.username .Values.kafka.sasl.password)) -}}
{{- fail "kafka.sasl.username and kafka.sasl.password are required with SASL (or set existingSecret)" -}}
{{- end -}}
{{- if and .Values.tracing.enabled (not .Values.tracing.endpoint) -}}
{{- fail "tracing.endpoint is required when tracing.enabled is true" -}}
{{- end -}}
{{- if and .Values.auth.jwksUrl .Values.auth.publicKey -}}
{{- fail "set only one of auth.jwksUrl and auth.publicKey" -}}
{{- end -}}
{{- if and .Values.auth.jwtSecret (or .Values.auth.jwksUrl .Values.auth.publicKey) -}}
{{- fail "auth.jwtSecret cannot be combined with auth.jwksUrl or auth.publicKey" -}}
{{- end -}}
{{- range $key := (include "integrations.componentKeys" . | fromYamlArray) -}}
{{- $c := index $.Values $key -}}
{{- if and (hasKey $c "keda") $c.keda.enabled $c.autoscaling.enabled -}}
{{- fail (printf "%s: enable either autoscaling (HPA) or keda, not both" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Non-secret settings of one component, as environment variables (the ConfigMap's data), sorted.
A component's `config` entries are added last and win. Call with dict "root" . "key" "router".
*/}}
{{- define "integrations.configEnv" -}}
{{- $root := .root -}}
{{- $meta := index (include "integrations.components" $root | fromYaml) .key -}}
{{- $c := index $root.Values .key -}}
{{- $p := $meta.prefix -}}
{{- $v := $root.Values -}}
{{- $env := dict -}}
{{- $_ := set $env "LOG_LEVEL" $v.logLevel -}}
{{- $_ := set $env "KAFKA__BOOTSTRAP_SERVERS" ($v.kafka.bootstrapServers | nospace) -}}
{{- $_ := set $env "KAFKA__SECURITY_PROTOCOL" $v.kafka.securityProtocol -}}
{{- $_ := set $env "KAFKA__CLIENT_ID" (printf "integrations-%s" $meta.name) -}}
{{- $_ := set $env "KAFKA__REQUEST_TIMEOUT_MS" $v.kafka.requestTimeoutMs -}}
{{- if and (include "integrations.kafkaSasl" $root) $v.kafka.sasl.mechanism -}}
{{- $_ := set $env "KAFKA__SASL_MECHANISM" $v.kafka.sasl.mechanism -}}
{{- end -}}
{{- if $v.kafka.tls.caSecretName -}}
{{- $_ := set $env "KAFKA__SSL_CAFILE" (include "integrations.kafkaCaPath" $root) -}}
{{- end -}}
{{- $_ := set $env "TOPICS__EVENTS" $v.topics.events -}}
{{- $_ := set $env "TOPICS__EVENTS_DLQ" $v.topics.eventsDlq -}}
{{- $_ := set $env "TOPICS__CONFIG" $v.topics.config -}}
{{- $_ := set $env "TOPICS__DELIVERIES_PREFIX" $v.topics.deliveriesPrefix -}}
{{- $_ := set $env "TOPICS__LOGS" $v.topics.logs -}}
{{- $_ := set $env "TOPICS__PARTITIONS" $v.topics.partitions -}}
{{- $_ := set $env "TOPICS__REPLICATION_FACTOR" $v.topics.replicationFactor -}}
{{- if eq $meta.kind "http" -}}
{{- $_ := set $env "HOST" "0.0.0.0" -}}
{{- $_ := set $env "PORT" $c.port -}}
{{- else -}}
{{- $_ := set $env "OPS__HOST" "0.0.0.0" -}}
{{- $_ := set $env "OPS__PORT" $c.opsPort -}}
{{- end -}}
{{- if has "mongodb" $meta.secrets -}}
{{- $_ := set $env "MONGODB__DATABASE" $v.mongodb.database -}}
{{- end -}}
{{- if hasKey $c "createTopics" -}}
{{- $create := $c.createTopics -}}
{{- if kindIs "invalid" $create -}}
{{- $create = not $v.topicsJob.enabled -}}
{{- end -}}
{{- $_ := set $env "CREATE_TOPICS" $create -}}
{{- end -}}
{{- if eq .key "api" -}}
{{- with $v.auth.jwksUrl }}{{ $_ := set $env "AUTH__JWKS_URL" . }}{{ end -}}
{{- with $v.auth.audience }}{{ $_ := set $env "AUTH__AUDIENCE" . }}{{ end -}}
{{- with $v.auth.issuer }}{{ $_ := set $env "AUTH__ISSUER" . }}{{ end -}}
{{- end -}}
{{- range $suffix, $value := $c.config -}}
{{- $_ := set $env $suffix $value -}}
{{- end -}}
{{- range $suffix := keys $env | sortAlpha }}
{{- $value := index $env $suffix }}
{{- if and (kindIs "float64" $value) (eq $value (float64 (int64 $value))) }}
{{- $value = int64 $value }}
{{- end }}
{{ $p }}{{ $suffix }}: {{ $value | toString | quote }}
{{- end -}}
{{- with $v.tracing }}
{{- if .enabled }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .endpoint | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf"
OTEL_EXPORTER_OTLP_TIMEOUT: {{ .timeoutSeconds | int64 | toString | quote }}
{{- with .resourceAttributes }}
OTEL_RESOURCE_ATTRIBUTES: {{ . | quote }}
{{- end }}
OTEL_SERVICE_NAME: {{ printf "integrations-%s" $meta.name | quote }}
OTEL_TRACES_EXPORTER: "otlp"
OTEL_TRACES_SAMPLER: {{ .sampler | quote }}
OTEL_TRACES_SAMPLER_ARG: {{ .samplerArg | quote }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* One secretKeyRef env entry: dict "name" ENV "secret" NAME "key" KEY. */}}
{{- define "integrations.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end -}}

{{/*
Secret settings of one component as env entries with secretKeyRef.
Call with dict "root" . "key" "api" "secret" <secret name>.
*/}}
{{- define "integrations.secretEnvs" -}}
{{- $root := .root -}}
{{- $meta := index (include "integrations.components" $root | fromYaml) .key -}}
{{- $p := $meta.prefix -}}
{{- $s := .secret -}}
{{- if include "integrations.kafkaSasl" $root }}
{{ include "integrations.secretEnv" (dict "name" (printf "%sKAFKA__SASL_USERNAME" $p) "secret" $s "key" "kafka-sasl-username") }}
{{ include "integrations.secretEnv" (dict "name" (printf "%sKAFKA__SASL_PASSWORD" $p) "secret" $s "key" "kafka-sasl-password") }}
{{- end }}
{{- if has "mongodb" $meta.secrets }}
{{ include "integrations.secretEnv" (dict "name" (printf "%sMONGODB__URI" $p) "secret" $s "key" "mongodb-uri") }}
{{- end }}
{{- if has "encryption" $meta.secrets }}
{{ include "integrations.secretEnv" (dict "name" (printf "%sENCRYPTION__KEYS" $p) "secret" $s "key" "encryption-keys") }}
{{- end }}
{{- if has "auth" $meta.secrets }}
{{- $mode := include "integrations.authMode" $root }}
{{- if eq $mode "jwtSecret" }}
{{ include "integrations.secretEnv" (dict "name" (printf "%sAUTH__JWT_SECRET" $p) "secret" $s "key" "jwt-secret") }}
{{- else if eq $mode "publicKey" }}
{{ include "integrations.secretEnv" (dict "name" (printf "%sAUTH__PUBLIC_KEY" $p) "secret" $s "key" "jwt-public-key") }}
{{- end }}
{{- end }}
{{- end -}}

{{/* A Fernet key: 32 random bytes, URL-safe base64. */}}
{{- define "integrations.fernetKey" -}}
{{- randBytes 32 | replace "+" "-" | replace "/" "_" -}}
{{- end -}}
