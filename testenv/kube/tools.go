//go:build tools

// Package tools pins the commands built by ../build.sh so that `go mod tidy`
// keeps their requirements.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubectl/pkg/cmd"
)
