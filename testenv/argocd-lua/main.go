// Command argocd-lua runs an Argo CD resource health script the way Argo CD
// does: gopher-lua (Lua 5.1) with only the package, base and table libraries
// open (Argo CD's default for custom health checks, useOpenLibs unset), the
// object as the global `obj`, a one-second limit, and the returned table read
// as {status, message}. Argo CD also opens a reduced `os` library (time
// functions only); rolecall's scripts do not use it, so it is left out.
//
// Usage: argocd-lua SCRIPT.lua < object.json
// Prints {"status": "...", "message": "..."} as one JSON line.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
)

type healthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// The codes Argo CD accepts; any other string becomes Unknown.
var validStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

// toLua turns a decoded JSON value into the Lua value Argo CD hands a script:
// objects and arrays become tables (arrays 1-based), numbers LNumber, null nil.
func toLua(l *lua.LState, value interface{}) lua.LValue {
	switch v := value.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []interface{}:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]interface{}:
		t := l.CreateTable(0, len(v))
		for key, item := range v {
			t.RawSetH(lua.LString(key), toLua(l, item))
		}
		return t
	}
	return lua.LNil
}

func run(scriptPath string, object io.Reader) (*healthStatus, error) {
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		return nil, err
	}
	var obj map[string]interface{}
	if err := json.NewDecoder(object).Decode(&obj); err != nil {
		return nil, fmt.Errorf("the object on stdin is not a JSON object: %w", err)
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(string(script)); err != nil {
		return nil, err
	}
	returned, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("expect table output from Lua script, not %s", l.Get(-1).Type())
	}
	result := &healthStatus{}
	if s, ok := returned.RawGetString("status").(lua.LString); ok {
		result.Status = string(s)
	}
	if m, ok := returned.RawGetString("message").(lua.LString); ok {
		result.Message = string(m)
	}
	if !validStatuses[result.Status] {
		return &healthStatus{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return result, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd-lua SCRIPT.lua < object.json")
		os.Exit(2)
	}
	result, err := run(os.Args[1], os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "argocd-lua:", err)
		os.Exit(1)
	}
	out, err := json.Marshal(result)
	if err != nil {
		fmt.Fprintln(os.Stderr, "argocd-lua:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
