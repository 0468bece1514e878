{{/*
The RBAC rules, exactly what each process calls (see the README's "RBAC model").
Every write the operator makes: status of its kinds (server-side apply, so
`patch` on each kind's status subresource), AppAccounts (create, delete), a BusinessHub's
approval annotation (patch), Events (events.k8s.io: create, patch for a
series). Secrets: a metadata-only watch (list, watch) to hear of changes, and a
get of the one named at reconcile time.
*/}}
{{- define "rolecall.operatorRules" -}}
- apiGroups: ["rolecall.dev"]
  resources: [businesshubs, accessgrants, idpbindings, appaccounts, users, teams, partners]
  verbs: [get, list, watch]
- apiGroups: ["rolecall.dev"]
  resources: [businesshubs/status, accessgrants/status, idpbindings/status, appaccounts/status, users/status, teams/status, partners/status]
  verbs: [patch]
- apiGroups: ["rolecall.dev"]
  resources: [appaccounts]
  verbs: [create, delete]
- apiGroups: ["rolecall.dev"]
  resources: [businesshubs]
  verbs: [patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
- apiGroups: ["events.k8s.io"]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/*
The SCIM sidecar: it writes the Users and Teams identity providers push, reads
IdPBindings and writes their status (counts, last request), and gets each
binding's token Secret by name. No list or watch of Secrets, no Events.
*/}}
{{- define "rolecall.scimRules" -}}
- apiGroups: ["rolecall.dev"]
  resources: [users, teams]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: ["rolecall.dev"]
  resources: [idpbindings]
  verbs: [get, list, watch]
- apiGroups: ["rolecall.dev"]
  resources: [idpbindings/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
{{- end }}

{{/*
`rolecall ui --in-cluster`: its own account only feeds the shared AppAccount
cache (a watch). Every page reads the API with the viewer's own token, so the
UI needs no other right: no write of any kind, no Secret, no impersonation,
no TokenReview (it asks the API server with a SelfSubjectReview sent with the
viewer's token).
*/}}
{{- define "rolecall.uiRules" -}}
- apiGroups: ["rolecall.dev"]
  resources: [appaccounts]
  verbs: [get, list, watch]
{{- end }}
