package config

import (
	"context"
	"fmt"
	"io/fs"
	"sync"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	schemacel "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/fulfillment-dev/fulfillment-operator/config/crd"
)

// kindSchema admits one kind the way the API server admits it: the same pruning of unknown fields (reported
// here as errors, like `kubectl apply --validate=strict`), defaults, OpenAPI validation, list-type checks and
// CEL rules, all read from the generated CRD. Standalone and cluster users therefore get the same answers.
type kindSchema struct {
	structural *structuralschema.Structural
	internal   *apiextensionsinternal.JSONSchemaProps

	// The validators are built on first use: a configuration the API server already admitted (File.Admitted)
	// is only pruned and defaulted, and building them, CEL rules above all, is most of admission's cost.
	validatorsOnce sync.Once
	validatorsErr  error
	openAPI        apiservervalidation.SchemaCreateValidator
	cel            *schemacel.Validator
}

var schemaCache struct {
	mu     sync.Mutex
	byKind map[string]*kindSchema
}

// schemas returns the admission schemas of WebhookEndpoint and IntentRoute by kind, built on first use and
// kept until ReleaseSchemas.
func schemas() (map[string]*kindSchema, error) {
	schemaCache.mu.Lock()
	defer schemaCache.mu.Unlock()
	if schemaCache.byKind == nil {
		byKind, err := buildSchemas()
		if err != nil {
			return nil, err
		}
		schemaCache.byKind = byKind
	}
	return schemaCache.byKind, nil
}

// ReleaseSchemas drops the admission schemas; the next admission builds them again, which is quick next to a
// load. They hold compiled CEL programs for every rule of both CRDs, megabytes live, which a server needs only
// while it loads its configuration: it releases them after each load rather than carry them, doubled by the
// GC's headroom, between reloads that may never come.
func ReleaseSchemas() {
	schemaCache.mu.Lock()
	defer schemaCache.mu.Unlock()
	schemaCache.byKind = nil
}

func buildSchemas() (map[string]*kindSchema, error) {
	files, err := fs.Glob(crd.Bases, "bases/*.yaml")
	if err != nil {
		return nil, err
	}
	byKind := map[string]*kindSchema{}
	for _, file := range files {
		content, err := fs.ReadFile(crd.Bases, file)
		if err != nil {
			return nil, err
		}
		definition := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(content, definition); err != nil {
			return nil, fmt.Errorf("embedded CRD %s: %w", file, err)
		}
		schema, err := newKindSchema(definition.Spec.Versions[0].Schema.OpenAPIV3Schema)
		if err != nil {
			return nil, fmt.Errorf("embedded CRD %s: %w", file, err)
		}
		byKind[definition.Spec.Names.Kind] = schema
	}
	return byKind, nil
}

func newKindSchema(v1Schema *apiextensionsv1.JSONSchemaProps) (*kindSchema, error) {
	internal := &apiextensionsinternal.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1Schema, internal, nil); err != nil {
		return nil, err
	}
	structural, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, err
	}
	return &kindSchema{structural: structural, internal: internal}, nil
}

// validators builds the OpenAPI and CEL validators once.
func (s *kindSchema) validators() error {
	s.validatorsOnce.Do(func() {
		s.openAPI, _, s.validatorsErr = apiservervalidation.NewSchemaValidator(s.internal)
		if s.validatorsErr == nil {
			s.cel = schemacel.NewValidator(s.structural, true, celconfig.PerCallLimit)
		}
	})
	return s.validatorsErr
}

// fieldProblem is a problem at a field path.
type fieldProblem struct {
	field, message string
}

// admit prunes, defaults and, when validate is set, validates obj in place, and returns every problem with its
// field path. Without validate, an unknown field is still a problem and an omitted one still gets its default:
// a file rendered by an older operator, before a field was added, is read as the API server would read it.
func (s *kindSchema) admit(obj map[string]any, validate bool) []fieldProblem {
	var found []fieldProblem
	unknown := pruning.PruneWithOptions(obj, s.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		found = append(found, fieldProblem{path, "unknown field: remove it or check its spelling (`kubectl explain` lists the fields)"})
	}
	defaulting.Default(obj, s.structural)
	if !validate {
		return found
	}
	if err := s.validators(); err != nil {
		return append(found, fieldProblem{"", "building the CRD's validators: " + err.Error()})
	}
	errs := apiservervalidation.ValidateCustomResource(nil, obj, s.openAPI)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, s.structural, obj)...)
	if len(errs) == 0 && len(unknown) == 0 {
		// Like the API server, CEL rules run only on an object that passed the schema.
		errs, _ = s.cel.Validate(context.Background(), nil, s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	}
	for _, err := range errs {
		found = append(found, fieldProblem{err.Field, err.ErrorBody()})
	}
	return found
}
