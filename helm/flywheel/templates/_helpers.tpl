{{/* ---------------------------------------------------------------------------------------------
Names and labels
--------------------------------------------------------------------------------------------- */}}

{{- define "flywheel.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "flywheel.fullname" -}}
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

{{- define "flywheel.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "flywheel.labels" -}}
helm.sh/chart: {{ include "flywheel.chart" . }}
app.kubernetes.io/name: {{ include "flywheel.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flywheel
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "name" "feedback-gateway") */}}
{{- define "flywheel.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flywheel.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* All labels of one component's resources: (dict "root" $ "name" "feedback-gateway") */}}
{{- define "flywheel.componentLabels" -}}
{{ include "flywheel.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "flywheel.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flywheel.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "<registry>/<repository>:<tag>" of a component: (dict "root" $ "image" .Values.x.image) */}}
{{- define "flywheel.image" -}}
{{- $registry := .root.Values.image.registry | trimSuffix "/" }}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- if $registry }}
{{- printf "%s/%s:%s" $registry .image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------------------------------------
The components. One row per Deployment:
  key        the values block
  name       resource suffix and app.kubernetes.io/component
  micronaut  configured by an application.yml (MICRONAUT_CONFIG_FILES), health and metrics on the
             management port (every component is a Micronaut application)
  section    the component's own config section, flywheel.<section>.*
  artifacts  "" (none), "ro" (reads), "rw" (writes) the artifact volume (serving: none when
             serving.artifactRegistry is enabled: it downloads from the registry)
  djl        PyTorch in the JVM (OMP_WAIT_POLICY, DJL flags, cache dirs)
  trainer    single active instance: replicas 1, strategy Recreate, checkpoint volume (the others
             are replicated: replicas or an HPA, RollingUpdate, a PodDisruptionBudget)
  streams    Kafka Streams app: a `state` emptyDir at /var/lib/flywheel/state (<key>.state.sizeLimit),
             flywheel.<section>.state-dir, application-id and rocksdb-memory-mb from its values
  auth       takes API keys (auth.apps / auth.existingSecret)
  artifactRootKey / checkpointKey   the service's config keys for those paths
--------------------------------------------------------------------------------------------- */}}
{{- define "flywheel.components" -}}
feedbackGateway:
  name: feedback-gateway
  micronaut: true
  artifacts: ""
  djl: false
  trainer: false
  streams: false
  auth: true
pairAssembler:
  name: pair-assembler
  micronaut: true
  artifacts: ""
  djl: false
  trainer: false
  streams: true
  auth: false
  section: pair-assembler
rewardTrainer:
  name: reward-trainer
  micronaut: true
  artifacts: rw
  djl: true
  trainer: true
  streams: false
  auth: false
  section: reward-trainer
  artifactRootKey: artifact-root
  checkpointKey: checkpoint-dir
policyTrainer:
  name: policy-trainer
  micronaut: true
  artifacts: rw
  djl: true
  trainer: true
  streams: false
  auth: false
  section: policy-trainer
  artifactRootKey: artifact-root
  checkpointKey: state-dir
serving:
  name: serving
  micronaut: true
  artifacts: ro
  djl: true
  trainer: false
  streams: false
  auth: true
  section: serving
  artifactRootKey: artifact-root
modelRegistry:
  name: model-registry
  micronaut: true
  artifacts: ro
  djl: false
  trainer: false
  streams: false
  auth: true
  section: model-registry
  artifactRootKey: artifact-root
rolloutWorker:
  name: rollout-worker
  micronaut: true
  artifacts: ro
  djl: true
  trainer: false
  streams: false
  auth: false
  section: rollout-worker
  artifactRootKey: artifact-root
{{- end }}

{{/* ---------------------------------------------------------------------------------------------
Kafka client settings
--------------------------------------------------------------------------------------------- */}}

{{- define "flywheel.kafka.saslEnabled" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}true{{ end }}
{{- end }}

{{- define "flywheel.kafka.tlsEnabled" -}}
{{- if has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") }}true{{ end }}
{{- end }}

{{/* Name of the Secret holding the JAAS config; fails when SASL is on without credentials. */}}
{{- define "flywheel.kafka.saslSecretName" -}}
{{- $sasl := .Values.kafka.sasl }}
{{- if $sasl.existingSecret }}
{{- $sasl.existingSecret }}
{{- else if $sasl.password }}
{{- printf "%s-kafka-sasl" (include "flywheel.fullname" .) }}
{{- else }}
{{- fail (printf "kafka.securityProtocol is %s: set kafka.sasl.existingSecret (a Secret with the JAAS config under kafka.sasl.existingSecretKey) or kafka.sasl.username and kafka.sasl.password" .Values.kafka.securityProtocol) }}
{{- end }}
{{- end }}

{{- define "flywheel.kafka.saslSecretKey" -}}
{{- if .Values.kafka.sasl.existingSecret }}{{ .Values.kafka.sasl.existingSecretKey }}{{ else }}sasl.jaas.config{{ end }}
{{- end }}

{{/* The JAAS config the chart renders from username/password (chart-created Secret only). */}}
{{- define "flywheel.kafka.jaasConfig" -}}
{{- $sasl := .Values.kafka.sasl }}
{{- if not $sasl.username }}
{{- fail "kafka.sasl.password is set but kafka.sasl.username is empty" }}
{{- end }}
{{- $module := "" }}
{{- if eq $sasl.mechanism "PLAIN" }}
{{- $module = "org.apache.kafka.common.security.plain.PlainLoginModule" }}
{{- else if hasPrefix "SCRAM-" $sasl.mechanism }}
{{- $module = "org.apache.kafka.common.security.scram.ScramLoginModule" }}
{{- else }}
{{- fail (printf "kafka.sasl.mechanism %s needs its own JAAS config: put it in a Secret and set kafka.sasl.existingSecret" $sasl.mechanism) }}
{{- end }}
{{- printf "%s required username=%s password=%s;" $module ($sasl.username | quote) ($sasl.password | quote) }}
{{- end }}

{{/* Checks that TLS/SASL settings agree with the protocol. */}}
{{- define "flywheel.kafka.validate" -}}
{{- $tls := .Values.kafka.tls }}
{{- if and (not (include "flywheel.kafka.tlsEnabled" .)) (or $tls.truststore.existingSecret $tls.keystore.existingSecret) }}
{{- fail (printf "kafka.tls.truststore/keystore are set but kafka.securityProtocol is %s (use SSL or SASL_SSL)" .Values.kafka.securityProtocol) }}
{{- end }}
{{- if and (not (include "flywheel.kafka.saslEnabled" .)) (or .Values.kafka.sasl.existingSecret .Values.kafka.sasl.password) }}
{{- fail (printf "kafka.sasl credentials are set but kafka.securityProtocol is %s (use SASL_PLAINTEXT or SASL_SSL)" .Values.kafka.securityProtocol) }}
{{- end }}
{{- if include "flywheel.kafka.saslEnabled" . }}
{{- $_ := include "flywheel.kafka.saslSecretName" . }}
{{- end }}
{{- end }}

{{- define "flywheel.kafka.truststorePath" -}}
/etc/flywheel/kafka/truststore/{{ .Values.kafka.tls.truststore.key }}
{{- end }}

{{- define "flywheel.kafka.keystorePath" -}}
/etc/flywheel/kafka/keystore/{{ .Values.kafka.tls.keystore.key }}
{{- end }}

{{/*
The Kafka client properties of every client, as a YAML map. Secret values are not here: each
caller passes the reference its client understands as "secretRefs" (dict with keys jaas,
truststorePassword, keystorePassword), e.g. a Micronaut placeholder ${KAFKA_SASL_JAAS_CONFIG}
or a Kafka config provider variable. (dict "root" $ "secretRefs" (dict ...))
*/}}
{{- define "flywheel.kafka.clientProperties" -}}
{{- $root := .root }}
{{- $k := $root.Values.kafka }}
{{- $props := dict "security.protocol" $k.securityProtocol }}
{{- if include "flywheel.kafka.saslEnabled" $root }}
{{- $_ := set $props "sasl.mechanism" $k.sasl.mechanism }}
{{- $_ := set $props "sasl.jaas.config" .secretRefs.jaas }}
{{- end }}
{{- if include "flywheel.kafka.tlsEnabled" $root }}
{{- $_ := set $props "ssl.endpoint.identification.algorithm" $k.tls.endpointIdentificationAlgorithm }}
{{- if $k.tls.truststore.existingSecret }}
{{- $_ := set $props "ssl.truststore.type" $k.tls.truststore.type }}
{{- $_ := set $props "ssl.truststore.location" (include "flywheel.kafka.truststorePath" $root) }}
{{- if $k.tls.truststore.passwordKey }}
{{- $_ := set $props "ssl.truststore.password" .secretRefs.truststorePassword }}
{{- end }}
{{- end }}
{{- if $k.tls.keystore.existingSecret }}
{{- $_ := set $props "ssl.keystore.type" $k.tls.keystore.type }}
{{- $_ := set $props "ssl.keystore.location" (include "flywheel.kafka.keystorePath" $root) }}
{{- if $k.tls.keystore.passwordKey }}
{{- $_ := set $props "ssl.keystore.password" .secretRefs.keystorePassword }}
{{- end }}
{{- end }}
{{- end }}
{{- range $key, $value := $k.properties }}
{{- $_ := set $props $key (toString $value) }}
{{- end }}
{{- toYaml $props }}
{{- end }}

{{/* Env vars carrying the Kafka secrets (secretKeyRef only), named by (dict "root" $ "names" (dict jaas .. truststorePassword .. keystorePassword ..)). */}}
{{- define "flywheel.kafka.secretEnv" -}}
{{- $root := .root }}
{{- $k := $root.Values.kafka }}
{{- if include "flywheel.kafka.saslEnabled" $root }}
- name: {{ .names.jaas }}
  valueFrom:
    secretKeyRef:
      name: {{ include "flywheel.kafka.saslSecretName" $root }}
      key: {{ include "flywheel.kafka.saslSecretKey" $root }}
{{- end }}
{{- if include "flywheel.kafka.tlsEnabled" $root }}
{{- if and $k.tls.truststore.existingSecret $k.tls.truststore.passwordKey }}
- name: {{ .names.truststorePassword }}
  valueFrom:
    secretKeyRef:
      name: {{ $k.tls.truststore.existingSecret }}
      key: {{ $k.tls.truststore.passwordKey }}
{{- end }}
{{- if and $k.tls.keystore.existingSecret $k.tls.keystore.passwordKey }}
- name: {{ .names.keystorePassword }}
  valueFrom:
    secretKeyRef:
      name: {{ $k.tls.keystore.existingSecret }}
      key: {{ $k.tls.keystore.passwordKey }}
{{- end }}
{{- end }}
{{- end }}

{{/* Volumes with the trust/key stores (mounted by every Kafka client pod). */}}
{{- define "flywheel.kafka.volumes" -}}
{{- $k := .Values.kafka }}
{{- if include "flywheel.kafka.tlsEnabled" . }}
{{- if $k.tls.truststore.existingSecret }}
- name: kafka-truststore
  secret:
    secretName: {{ $k.tls.truststore.existingSecret }}
    items:
      - key: {{ $k.tls.truststore.key }}
        path: {{ $k.tls.truststore.key }}
{{- end }}
{{- if $k.tls.keystore.existingSecret }}
- name: kafka-keystore
  secret:
    secretName: {{ $k.tls.keystore.existingSecret }}
    items:
      - key: {{ $k.tls.keystore.key }}
        path: {{ $k.tls.keystore.key }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flywheel.kafka.volumeMounts" -}}
{{- $k := .Values.kafka }}
{{- if include "flywheel.kafka.tlsEnabled" . }}
{{- if $k.tls.truststore.existingSecret }}
- name: kafka-truststore
  mountPath: /etc/flywheel/kafka/truststore
  readOnly: true
{{- end }}
{{- if $k.tls.keystore.existingSecret }}
- name: kafka-keystore
  mountPath: /etc/flywheel/kafka/keystore
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------------------------------------
Per-component configuration
--------------------------------------------------------------------------------------------- */}}

{{/* Name of the Secret with a component's API-key config file, or "" when it has none.
     (dict "root" $ "c" $component "v" $values) */}}
{{- define "flywheel.authSecretName" -}}
{{- if .c.auth }}
{{- if .v.auth.existingSecret }}
{{- .v.auth.existingSecret }}
{{- else if .v.auth.apps }}
{{- printf "%s-%s-auth" (include "flywheel.fullname" .root) .c.name }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flywheel.authSecretKey" -}}
{{- if .v.auth.existingSecret }}{{ .v.auth.existingSecretKey }}{{ else }}auth.yml{{ end }}
{{- end }}

{{/* The application.yml of a Micronaut component. (dict "root" $ "c" $component "v" $values) */}}
{{- define "flywheel.micronautConfig" -}}
{{- $root := .root }}
{{- $refs := dict "jaas" "${KAFKA_SASL_JAAS_CONFIG}" "truststorePassword" "${KAFKA_SSL_TRUSTSTORE_PASSWORD}" "keystorePassword" "${KAFKA_SSL_KEYSTORE_PASSWORD}" }}
{{- $kafkaProps := include "flywheel.kafka.clientProperties" (dict "root" $root "secretRefs" $refs) | fromYaml }}
{{- $cfg := dict
  "micronaut" (dict "server" (dict "port" 8080))
  "endpoints" (dict
      "all" (dict "port" (int $root.Values.management.port))
      "health" (dict "enabled" true "sensitive" false)
      "prometheus" (dict "enabled" true "sensitive" false))
  "flywheel" (dict
      "kafka" (dict "bootstrap-servers" $root.Values.kafka.bootstrapServers "properties" $kafkaProps)
      "registry" (dict "url" $root.Values.schemaRegistry.url "auto-register" $root.Values.schemaRegistry.autoRegister)) }}
{{- if hasKey .v "serveOpenApi" }}
{{- $_ := set $cfg.micronaut "router" (dict "static-resources" (dict "openapi" (dict "enabled" .v.serveOpenApi))) }}
{{- end }}
{{- if .c.section }}
{{- $section := dict }}
{{- if include "flywheel.artifactsFromRegistry" . }}
{{- $_ := set $section "artifact-registry" (dict
      "url" (include "flywheel.registryUrl" $root)
      "api-key" "${FLYWHEEL_ARTIFACT_REGISTRY_API_KEY}"
      "cache-dir" "/var/lib/flywheel/data/artifact-cache") }}
{{- else if .c.artifactRootKey }}
{{- $_ := set $section .c.artifactRootKey $root.Values.artifacts.mountPath }}
{{- end }}
{{- if .c.checkpointKey }}
{{- $_ := set $section .c.checkpointKey "/var/lib/flywheel/checkpoints" }}
{{- end }}
{{- if and (eq .c.name "policy-trainer") $root.Values.rolloutWorker $root.Values.rolloutWorker.enabled }}
{{- /* the release runs rollout workers: the RL rounds take their rollouts from them (policyTrainer.config
       may still set rollout.source itself, and rollout.max-staleness) */}}
{{- $_ := set $section "rollout" (dict "source" "workers") }}
{{- end }}
{{- if .c.streams }}
{{- $_ := set $section "state-dir" (include "flywheel.stateDir" .) }}
{{- $_ := set $section "application-id" .v.applicationId }}
{{- $_ := set $section "rocksdb-memory-mb" (int .v.rocksdbMemoryMb) }}
{{- end }}
{{- $_ := set $cfg.flywheel .c.section $section }}
{{- end }}
{{- $cfg = mustMergeOverwrite $cfg (deepCopy .v.config) }}
{{- toYaml $cfg }}
{{- end }}

{{/* Where a Kafka Streams component keeps its state (the `state` emptyDir). */}}
{{- define "flywheel.stateDir" -}}
/var/lib/flywheel/state
{{- end }}

{{/* JAVA_TOOL_OPTIONS of a component. */}}
{{- define "flywheel.javaToolOptions" -}}
{{- $opts := list .v.javaOpts }}
{{- if .c.djl }}
{{- $opts = append $opts (printf "-Dai.djl.offline=true -Dai.djl.pytorch.num_threads=%d -Dai.djl.pytorch.num_interop_threads=1" (int .v.torchThreads)) }}
{{- end }}
{{- join " " $opts | trim }}
{{- end }}

{{/* Prometheus scrape annotations of a component's pods: the management port. */}}
{{- define "flywheel.scrapeAnnotations" -}}
{{- if .root.Values.metrics.enabled }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ ternary .root.Values.management.port 8080 .c.micronaut | toString | quote }}
prometheus.io/path: {{ .v.metricsPath | quote }}
{{- end }}
{{- end }}

{{/* Name of the container port serving a component's health and metrics: (dict "c" $component). */}}
{{- define "flywheel.opsPortName" -}}
{{- ternary "management" "http" .c.micronaut }}
{{- end }}

{{/* The Service exposing a Micronaut component's management port (for ServiceMonitors, port-forward). */}}
{{- define "flywheel.managementServiceName" -}}
{{- printf "%s-%s-management" (include "flywheel.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The model registry's in-cluster base URL (its public Service). */}}
{{- define "flywheel.registryUrl" -}}
{{- printf "http://%s-model-registry:%v" (include "flywheel.fullname" .) .Values.modelRegistry.service.port }}
{{- end }}

{{/* "true" when this component is serving and downloads artifacts from the model registry (checked):
     (dict "root" $ "c" $component "v" $values) */}}
{{- define "flywheel.artifactsFromRegistry" -}}
{{- if and (eq .c.name "serving") .v.artifactRegistry .v.artifactRegistry.enabled }}
{{- if not .root.Values.modelRegistry.enabled }}
{{- fail "serving.artifactRegistry.enabled needs modelRegistry.enabled: serving would download artifacts from it" }}
{{- end }}
{{- if not .v.artifactRegistry.existingSecret }}
{{- fail "serving.artifactRegistry.enabled: set serving.artifactRegistry.existingSecret (a Secret holding an API key with scope artifacts:read on the model registry)" }}
{{- end }}
{{- print "true" }}
{{- end }}
{{- end }}

{{/* Claim name of the artifact volume. */}}
{{- define "flywheel.artifactsClaim" -}}
{{- default (printf "%s-artifacts" (include "flywheel.fullname" .)) .Values.artifacts.persistence.existingClaim }}
{{- end }}

{{/* A PersistentVolumeClaim spec from a persistence block. */}}
{{- define "flywheel.pvcSpec" -}}
accessModes:
  {{- toYaml .accessModes | nindent 2 }}
{{- if .storageClass }}
{{- if eq "-" .storageClass }}
storageClassName: ""
{{- else }}
storageClassName: {{ .storageClass | quote }}
{{- end }}
{{- end }}
resources:
  requests:
    storage: {{ .size | quote }}
{{- end }}
