{{- define "cte.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cte.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cte.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cte.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cte.labels" -}}
{{ include "cte.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cloudflare-tunnel-exporter
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The pod: the same for the Deployment and the StatefulSet. */}}
{{- define "cte.pod" -}}
metadata:
  labels:
    {{- include "cte.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: exporter
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      {{- if or .Values.demo .Values.extraArgs }}
      args:
        {{- if .Values.demo }}
        - --demo
        {{- end }}
        {{- with .Values.extraArgs }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      envFrom:
        - configMapRef:
            name: {{ include "cte.fullname" . }}
      env:
        - name: LISTEN_ADDRESS
          value: ":{{ .Values.service.port }}"
        - name: REMEDIATION_STATE_FILE
          value: /var/lib/cloudflare-tunnel-exporter/remediation-state.json
        {{- if and (not .Values.demo) .Values.secret.cloudflareApiTokenKey }}
        - name: CLOUDFLARE_API_TOKEN_FILE
          value: /run/secrets/cloudflare-tunnel-exporter/{{ .Values.secret.cloudflareApiTokenKey }}
        {{- end }}
        {{- if and (not .Values.demo) .Values.secret.posthogApiKeyKey }}
        - name: POSTHOG_API_KEY_FILE
          value: /run/secrets/cloudflare-tunnel-exporter/{{ .Values.secret.posthogApiKeyKey }}
        {{- end }}
        {{- if gt (int .Values.shards) 1 }}
        - name: TOTAL_SHARDS
          value: {{ .Values.shards | quote }}
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: metrics
          containerPort: {{ .Values.service.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /-/healthy
          port: metrics
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /-/ready
          port: metrics
        periodSeconds: 5
        timeoutSeconds: 3
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        {{- if not .Values.demo }}
        - name: secrets
          mountPath: /run/secrets/cloudflare-tunnel-exporter
          readOnly: true
        {{- end }}
        - name: state
          mountPath: /var/lib/cloudflare-tunnel-exporter
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumes:
    {{- if not .Values.demo }}
    - name: secrets
      secret:
        secretName: {{ .Values.secret.existingSecret }}
    {{- end }}
    {{- if and .Values.persistence.enabled (le (int .Values.shards) 1) }}
    - name: state
      persistentVolumeClaim:
        claimName: {{ include "cte.fullname" . }}
    {{- else if not .Values.persistence.enabled }}
    - name: state
      emptyDir: {}
    {{- end }}
{{- end -}}
