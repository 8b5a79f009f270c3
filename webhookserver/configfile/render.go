package configfile

import (
	"slices"
	"sort"

	"sigs.k8s.io/yaml"
)

// Render writes file as YAML, deterministically: the same endpoints, routes and pods to drain give the same
// bytes whatever order they were listed in, so that the operator's ConfigMap (and its hash) change only when the
// content does.
func Render(file *File) ([]byte, error) {
	out := *file
	out.APIVersion, out.Kind = APIVersion, Kind
	out.Endpoints = append([]Endpoint(nil), file.Endpoints...)
	sort.Slice(out.Endpoints, func(i, j int) bool {
		a, b := out.Endpoints[i], out.Endpoints[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	for i := range out.Endpoints {
		routes := append([]Route(nil), out.Endpoints[i].Routes...)
		sort.Slice(routes, func(a, b int) bool { return routes[a].Name < routes[b].Name })
		out.Endpoints[i].Routes = routes
	}
	out.DrainPods = slices.Sorted(slices.Values(file.DrainPods))
	return yaml.Marshal(&out)
}
