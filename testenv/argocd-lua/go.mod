// Runs Argo CD health scripts (Lua) the way Argo CD does, for rolecall's tests.
module rolecall.dev/testenv/argocd-lua

go 1.26.0

require github.com/yuin/gopher-lua v1.1.2
