package charts_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// installPage is the page whose Argo CD, Flux and values examples the chart must accept.
const installPage = "docs/install.md"

// TestInstallPageExamples: each yaml block of docs/install.md is an Argo CD Application, a Flux source or
// HelmRelease, or a values file; the GitOps objects have the kinds and API versions their tools serve, install the
// chart that exists (with CRDs applied server-side or created and replaced), and every values example passes the
// chart's schema and renders.
func TestInstallPageExamples(t *testing.T) {
	seen := map[string]int{}
	sources := map[string]bool{}
	var releases []*unstructured.Unstructured
	for _, block := range yamlBlocks(t) {
		objects, err := decodeObjects([]byte(block.text))
		if err != nil {
			t.Fatalf("%s:%d: %v", installPage, block.line, err)
		}
		for _, object := range objects {
			kind := object.GetKind()
			if kind == "" {
				seen["values"]++
				checkValues(t, block.line, object.Object)
				continue
			}
			seen[kind]++
			switch object.GetAPIVersion() + " " + kind {
			case "argoproj.io/v1alpha1 Application":
				checkApplication(t, block.line, object)
			case "source.toolkit.fluxcd.io/v1 GitRepository", "source.toolkit.fluxcd.io/v1 HelmRepository":
				sources[kind+"/"+object.GetName()] = true
			case "helm.toolkit.fluxcd.io/v2 HelmRelease":
				releases = append(releases, object)
				checkHelmRelease(t, block.line, object)
			default:
				t.Errorf("%s:%d: unexpected %s %s", installPage, block.line, object.GetAPIVersion(), kind)
			}
		}
	}
	for _, release := range releases {
		kind, _, _ := unstructured.NestedString(release.Object, "spec", "chart", "spec", "sourceRef", "kind")
		name, _, _ := unstructured.NestedString(release.Object, "spec", "chart", "spec", "sourceRef", "name")
		if !sources[kind+"/"+name] {
			t.Errorf("the HelmRelease's source %s/%s is not shown on the page", kind, name)
		}
	}
	for _, kind := range []string{"Application", "GitRepository", "HelmRepository", "HelmRelease", "values"} {
		if seen[kind] == 0 {
			t.Errorf("%s shows no %s", installPage, kind)
		}
	}
}

func checkApplication(t *testing.T, line int, app *unstructured.Unstructured) {
	t.Helper()
	path, _, _ := unstructured.NestedString(app.Object, "spec", "source", "path")
	checkChartPath(t, line, path)
	options, _, _ := unstructured.NestedStringSlice(app.Object, "spec", "syncPolicy", "syncOptions")
	if !slices.Contains(options, "ServerSideApply=true") {
		t.Errorf("%s:%d: the Application does not apply server-side: %v", installPage, line, options)
	}
	values, _, _ := unstructured.NestedMap(app.Object, "spec", "source", "helm", "valuesObject")
	checkValues(t, line, values)
}

func checkHelmRelease(t *testing.T, line int, release *unstructured.Unstructured) {
	t.Helper()
	chart, _, _ := unstructured.NestedString(release.Object, "spec", "chart", "spec", "chart")
	kind, _, _ := unstructured.NestedString(release.Object, "spec", "chart", "spec", "sourceRef", "kind")
	if kind == "GitRepository" {
		checkChartPath(t, line, chart)
	} else if chart != loadChart(t).Name() {
		t.Errorf("%s:%d: the HelmRelease installs the chart %q, want %q", installPage, line, chart, loadChart(t).Name())
	}
	for _, step := range []string{"install", "upgrade"} {
		if policy, _, _ := unstructured.NestedString(release.Object, "spec", step, "crds"); policy != "CreateReplace" {
			t.Errorf("%s:%d: the HelmRelease's %s.crds is %q, want CreateReplace", installPage, line, step, policy)
		}
	}
	values, _, _ := unstructured.NestedMap(release.Object, "spec", "values")
	checkValues(t, line, values)
}

// checkChartPath checks that a path in the repository is the chart.
func checkChartPath(t *testing.T, line int, path string) {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), filepath.Clean(strings.TrimPrefix(path, "./")))
	if dir != chartDir() {
		t.Errorf("%s:%d: the chart path %q is not charts/fulfillment-operator", installPage, line, path)
	}
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		t.Errorf("%s:%d: %v", installPage, line, err)
	}
}

// checkValues renders the chart with values, which the schema must accept.
func checkValues(t *testing.T, line int, values map[string]any) {
	t.Helper()
	if _, err := renderValues(t, releaseName, releaseNamespace, values); err != nil {
		t.Errorf("%s:%d: the chart refuses the values: %v", installPage, line, err)
	}
}

type block struct {
	text string
	line int
}

// yamlBlocks are the ```yaml fenced blocks of the page.
func yamlBlocks(t *testing.T) []block {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), installPage))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []block
	lines := strings.Split(string(content), "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```yaml" {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && lines[i] != "```"; i++ {
		}
		blocks = append(blocks, block{text: strings.Join(lines[start:i], "\n"), line: start})
	}
	if len(blocks) == 0 {
		t.Fatalf("%s has no yaml blocks", installPage)
	}
	return blocks
}
