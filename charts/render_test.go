// Package charts_test renders the Helm chart with Helm's own library (as Argo CD and Flux do), checks what it
// renders and what its values schema refuses, and runs the real manager with the chart's RBAC on an envtest API
// server.
package charts_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// chartDir is the chart the tests render.
func chartDir() string { return filepath.Join(testenv.RepoRoot(), "charts", "fulfillment-operator") }

// release is what one `helm install` renders: the objects of the templates, the CRDs of crds/, and NOTES.txt.
type release struct {
	objects []*unstructured.Unstructured
	crds    []*unstructured.Unstructured
	notes   string
}

// loadChart loads the chart as `helm install` does from a folder (.helmignore applied).
func loadChart(t *testing.T) *chartv2.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir())
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return ch
}

// renderValues renders the chart as release name in namespace with values over the chart's defaults, the values
// checked against values.schema.json; the error is Helm's.
func renderValues(t *testing.T, name, namespace string, values map[string]any) (*release, error) {
	t.Helper()
	ch := loadChart(t)
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, values,
		common.ReleaseOptions{Name: name, Namespace: namespace, Revision: 1, IsInstall: true}, nil, false)
	if err != nil {
		return nil, err
	}
	// Strict: a template that names a value the chart does not define fails instead of rendering nothing.
	files, err := engine.Engine{Strict: true}.RenderWithContext(t.Context(), ch, top)
	if err != nil {
		return nil, err
	}
	out := &release{}
	names := make([]string, 0, len(files))
	for file := range files {
		names = append(names, file)
	}
	slices.Sort(names)
	for _, file := range names {
		switch {
		case strings.HasSuffix(file, "NOTES.txt"):
			out.notes = files[file]
		case strings.HasSuffix(file, ".yaml"):
			objects, err := decodeObjects([]byte(files[file]))
			if err != nil {
				t.Fatalf("%s does not decode: %v\n%s", file, err, files[file])
			}
			out.objects = append(out.objects, objects...)
		}
	}
	for _, crd := range ch.CRDObjects() {
		objects, err := decodeObjects(crd.File.Data)
		if err != nil {
			t.Fatalf("%s does not decode: %v", crd.Filename, err)
		}
		out.crds = append(out.crds, objects...)
	}
	return out, nil
}

// render is renderValues for values the schema must accept.
func render(t *testing.T, name, namespace string, values map[string]any) *release {
	t.Helper()
	out, err := renderValues(t, name, namespace, values)
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	return out
}

// decodeObjects decodes a multi-document YAML stream, skipping empty documents (a template that renders nothing).
func decodeObjects(content []byte) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(content), 4096)
	var objects []*unstructured.Unstructured
	for {
		object := &unstructured.Unstructured{}
		err := decoder.Decode(&object.Object)
		if errors.Is(err, io.EOF) {
			return objects, nil
		}
		if err != nil {
			return nil, err
		}
		if len(object.Object) > 0 {
			objects = append(objects, object)
		}
	}
}

// find is the object of kind, namespace and name; namespace "" matches a cluster-scoped object.
func (r *release) find(kind, namespace, name string) *unstructured.Unstructured {
	for _, object := range r.objects {
		if object.GetKind() == kind && object.GetNamespace() == namespace && object.GetName() == name {
			return object
		}
	}
	return nil
}

// kinds counts the rendered objects per kind.
func (r *release) kinds() map[string]int {
	counts := map[string]int{}
	for _, object := range r.objects {
		counts[object.GetKind()]++
	}
	return counts
}

// mustFind is find, failing the test when the object is missing.
func (r *release) mustFind(t *testing.T, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	object := r.find(kind, namespace, name)
	if object == nil {
		var have []string
		for _, o := range r.objects {
			have = append(have, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
		}
		t.Fatalf("no %s %s/%s rendered; the release has:\n%s", kind, namespace, name, strings.Join(have, "\n"))
	}
	return object
}
