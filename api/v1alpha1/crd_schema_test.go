package v1alpha1_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// TestEveryFieldIsDescribed checks the generated CRDs: `kubectl explain` shows each field's description, so a
// field without one is a field users cannot learn about.
func TestEveryFieldIsDescribed(t *testing.T) {
	for _, name := range []string{"fulfillment.dev_webhookendpoints.yaml", "fulfillment.dev_intentroutes.yaml", "fulfillment.dev_webhookgateways.yaml"} {
		t.Run(name, func(t *testing.T) {
			crd := readCRD(t, name)
			schema := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
			var undescribed []string
			walkProperties("", schema.Properties["spec"], &undescribed)
			walkProperties("", schema.Properties["status"], &undescribed)
			sort.Strings(undescribed)
			if len(undescribed) > 0 {
				t.Errorf("%d fields have no description (add a doc comment): %v", len(undescribed), undescribed)
			}
		})
	}
}

// TestPrintColumnsAndNames checks what `kubectl get` shows and the names users type.
func TestPrintColumnsAndNames(t *testing.T) {
	cases := map[string]struct {
		file      string
		shortName string
		columns   []string
	}{
		"WebhookEndpoint": {"fulfillment.dev_webhookendpoints.yaml", "whe", []string{"Dialect", "Ready", "URL", "Routes", "Age", "Queued", "Oldest", "Insecure", "Status"}},
		"IntentRoute":     {"fulfillment.dev_intentroutes.yaml", "ir", []string{"Endpoint", "Priority", "Accepted", "Reason", "Age", "Environments", "Versions"}},
		"WebhookGateway":  {"fulfillment.dev_webhookgateways.yaml", "whg", []string{"Ready", "Endpoints", "Replicas", "URL", "Age", "Refused", "Status"}},
	}
	for kind, tc := range cases {
		t.Run(kind, func(t *testing.T) {
			crd := readCRD(t, tc.file)
			if crd.Spec.Names.Kind != kind || crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
				t.Errorf("got kind %s scope %s, want %s Namespaced", crd.Spec.Names.Kind, crd.Spec.Scope, kind)
			}
			if len(crd.Spec.Names.ShortNames) != 1 || crd.Spec.Names.ShortNames[0] != tc.shortName {
				t.Errorf("short names %v, want [%s]", crd.Spec.Names.ShortNames, tc.shortName)
			}
			if len(crd.Spec.Names.Categories) != 1 || crd.Spec.Names.Categories[0] != "fulfillment" {
				t.Errorf("categories %v, want [fulfillment]", crd.Spec.Names.Categories)
			}
			var columns []string
			for _, column := range crd.Spec.Versions[0].AdditionalPrinterColumns {
				columns = append(columns, column.Name)
			}
			if len(columns) != len(tc.columns) {
				t.Fatalf("print columns %v, want %v", columns, tc.columns)
			}
			for i := range columns {
				if columns[i] != tc.columns[i] {
					t.Errorf("print columns %v, want %v", columns, tc.columns)
				}
			}
			if crd.Spec.Versions[0].Subresources == nil || crd.Spec.Versions[0].Subresources.Status == nil {
				t.Error("the status subresource is missing")
			}
		})
	}
}

func readCRD(t *testing.T, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", name))
	if err != nil {
		t.Fatalf("reading the generated CRD (run make manifests): %v", err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(content, crd); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return crd
}

func walkProperties(path string, schema apiextensionsv1.JSONSchemaProps, undescribed *[]string) {
	for name, property := range schema.Properties {
		fieldPath := path + "." + name
		if property.Description == "" {
			*undescribed = append(*undescribed, fieldPath)
		}
		walkProperties(fieldPath, property, undescribed)
	}
	if schema.Items != nil && schema.Items.Schema != nil {
		walkProperties(path+"[]", *schema.Items.Schema, undescribed)
	}
}
