// Package gitopshealth says what GitOps tools say about this operator's objects, with their own code: Argo CD
// runs the kind's health.lua (config/argocd/resource_customizations) in gopher-lua, Flux computes kstatus. Tests
// use it on recorded and live objects.
package gitopshealth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// ArgoHealth is what an Argo CD health script returns.
type ArgoHealth struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// argoHealthStatuses are the health codes Argo CD accepts from a script.
var argoHealthStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

// CustomizationDir is the Argo CD resource_customizations folder of a kind of this operator.
func CustomizationDir(repoRoot, kind string) string {
	return filepath.Join(repoRoot, "config", "argocd", "resource_customizations", fulfillmentv1alpha1.GroupVersion.Group, kind)
}

// ArgoCD runs a kind's health.lua on an object the way Argo CD does (util/lua): a fresh gopher-lua state with
// only the package, base and table libraries open, a one-second deadline, the object converted to a global
// table `obj`, and the table the script returns read as status and message.
func ArgoCD(repoRoot, kind string, obj map[string]any) (ArgoHealth, error) {
	script, err := os.ReadFile(filepath.Join(CustomizationDir(repoRoot, kind), "health.lua"))
	if err != nil {
		return ArgoHealth{}, err
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return ArgoHealth{}, err
		}
	}
	deadline, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(deadline)
	l.SetGlobal("obj", luaValue(l, obj))
	if err := l.DoString(string(script)); err != nil {
		return ArgoHealth{}, err
	}
	table, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return ArgoHealth{}, fmt.Errorf("health.lua returned %s, not a table", l.Get(-1).Type())
	}
	health := ArgoHealth{}
	for field, target := range map[string]*string{"status": &health.Status, "message": &health.Message} {
		switch v := table.RawGetString(field).(type) {
		case lua.LString:
			*target = string(v)
		case *lua.LNilType:
		default:
			return ArgoHealth{}, fmt.Errorf("health.lua returned a %s %s, not a string", v.Type(), field)
		}
	}
	if !slices.Contains(argoHealthStatuses, health.Status) {
		return ArgoHealth{}, fmt.Errorf("health.lua returned the status %q, which Argo CD does not know", health.Status)
	}
	return health, nil
}

// luaValue converts an unstructured value to Lua as Argo CD's decodeValue does.
func luaValue(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case map[string]any:
		table := l.CreateTable(0, len(v))
		for k, item := range v {
			table.RawSetString(k, luaValue(l, item))
		}
		return table
	case []any:
		table := l.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(luaValue(l, item))
		}
		return table
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	}
	return lua.LNil
}

// Kstatus is what Flux's health checks (kstatus) say about an object.
func Kstatus(u *unstructured.Unstructured) (status.Status, string, error) {
	result, err := status.Compute(u)
	if err != nil {
		return "", "", err
	}
	return result.Status, result.Message, nil
}
