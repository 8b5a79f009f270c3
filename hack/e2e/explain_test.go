package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// TestKubectlExplainDescribesEveryField runs `kubectl explain` on every object of the CRDs (the resource
// itself, spec, status and every nested object or list of objects) and checks that each of its fields is listed
// with its type and its whole description, as users read them.
func TestKubectlExplainDescribesEveryField(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) != 3 {
		t.Fatalf("want the 3 CRDs in config/crd/bases, found %v (%v)", files, err)
	}
	for _, file := range files {
		content, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(content, crd); err != nil {
			t.Fatal(err)
		}
		schema := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		// The API server publishes a new CRD's OpenAPI a moment after the CRD is established.
		eventually(t, 30*time.Second, "the OpenAPI of "+crd.Spec.Names.Plural, func() error {
			_, err := kubectlResult("explain", crd.Spec.Names.Plural)
			return err
		})
		fields, objects := 0, 0
		walkObjects(crd.Spec.Names.Plural, *schema, func(path string, node apiextensionsv1.JSONSchemaProps) {
			objects++
			out := kubectl(t, "explain", path)
			flat := normalize(out)
			for name, property := range node.Properties {
				fields++
				if name == "metadata" && !strings.Contains(path, ".") {
					// ObjectMeta, explained from the core schema with its own description.
					if !strings.Contains(out, "metadata\t<ObjectMeta>") {
						t.Errorf("kubectl explain %s does not list metadata <ObjectMeta>:\n%s", path, out)
					}
					continue
				}
				line := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s+<` + regexp.QuoteMeta(explainType(property)) + `>`)
				if !line.MatchString(out) {
					t.Errorf("kubectl explain %s does not list %s <%s>:\n%s", path, name, explainType(property), out)
				}
				if property.Description == "" {
					t.Errorf("%s.%s has no description", path, name)
				} else if !strings.Contains(flat, normalize(property.Description)) {
					t.Errorf("kubectl explain %s does not show the description of %s: %q", path, name, property.Description)
				}
			}
		})
		t.Logf("%s: kubectl explain checked %d fields in %d objects", crd.Spec.Names.Kind, fields, objects)
		if fields < 20 {
			t.Errorf("only %d fields found in %s: the walk is broken", fields, file)
		}
	}
}

// walkObjects calls visit for every object in a schema that has properties, with the path kubectl explain
// takes (lists are explained through their items).
func walkObjects(path string, node apiextensionsv1.JSONSchemaProps, visit func(string, apiextensionsv1.JSONSchemaProps)) {
	if node.Type == "array" && node.Items != nil && node.Items.Schema != nil {
		walkObjects(path, *node.Items.Schema, visit)
		return
	}
	if len(node.Properties) == 0 {
		return
	}
	// metadata is ObjectMeta, which kubectl explains from the core schema, not ours.
	visit(path, node)
	names := make([]string, 0, len(node.Properties))
	for name := range node.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "metadata" && !strings.Contains(path, ".") {
			continue
		}
		walkObjects(path+"."+name, node.Properties[name], visit)
	}
}

// explainType is the type kubectl explain prints for a property.
func explainType(property apiextensionsv1.JSONSchemaProps) string {
	switch {
	case property.XIntOrString:
		// Quantities and durations that also take numbers: kubectl explain has no name for a type-less anyOf.
		return "Object"
	case property.Type == "array" && property.Items != nil && property.Items.Schema != nil:
		return "[]" + explainType(*property.Items.Schema)
	case property.Type == "object" && property.AdditionalProperties != nil && property.AdditionalProperties.Schema != nil:
		return "map[string]" + explainType(*property.AdditionalProperties.Schema)
	case property.Type == "object" || property.Type == "":
		return "Object"
	default:
		return property.Type
	}
}

var spaces = regexp.MustCompile(`\s+`)

func normalize(s string) string { return spaces.ReplaceAllString(strings.TrimSpace(s), " ") }
