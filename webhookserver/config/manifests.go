package config

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// DefaultNamespace is the namespace of manifests that name none, as kubectl would apply them.
const DefaultNamespace = "default"

// Manifests is what LoadManifests read: the configuration file they amount to, and their Secrets and ConfigMaps.
type Manifests struct {
	File       *configfile.File
	Secrets    MapSecrets
	ConfigMaps MapConfigMaps
	// Ignored lists documents of other kinds (a Kustomization, a Deployment...), for a log line.
	Ignored []string
}

// document is one YAML document of a manifest file.
type document struct {
	file     string
	position int
	object   map[string]any
}

func (d document) kind() string { s, _ := d.object["kind"].(string); return s }

func (d document) apiVersion() string { s, _ := d.object["apiVersion"].(string); return s }

func (d document) metadata() map[string]any { m, _ := d.object["metadata"].(map[string]any); return m }

func (d document) name() string { s, _ := d.metadata()["name"].(string); return s }

func (d document) namespace() string {
	if s, _ := d.metadata()["namespace"].(string); s != "" {
		return s
	}
	return DefaultNamespace
}

func (d document) location() configfile.Location {
	return configfile.Location{File: d.file, Document: d.position}
}

func (d document) problem(field, message string) Problem {
	return Problem{File: d.file, Document: d.position, Object: strings.TrimSpace(d.kind() + " " + d.name()), Field: field, Message: message}
}

// LoadManifests reads WebhookEndpoint, IntentRoute and Secret documents from files and folders (recursively,
// *.yaml, *.yml and *.json), admits them as the API server would, and joins routes to their endpoints. Every
// problem is reported with its file, document and field, as an *Error. With problems, what could be admitted
// is returned too (nil only when no file could be listed), so that the compile step can report its own problems
// in the same round; such a configuration must not be served.
func LoadManifests(paths ...string) (*Manifests, error) {
	files, err := manifestFiles(paths)
	if err != nil {
		return nil, err
	}
	var docs []document
	var found problems
	for _, file := range files {
		fileDocs, err := readDocuments(file)
		if err != nil {
			found.add(Problem{File: file, Message: err.Error()})
		}
		docs = append(docs, fileDocs...)
	}
	manifests, err := assemble(docs, len(found) > 0)
	return manifests, Join(found.err(), err)
}

// manifestFiles expands folders into the manifest files they hold, in a stable order.
func manifestFiles(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("no manifests given: pass files or folders with WebhookEndpoint, IntentRoute and Secret documents")
	}
	var files []string
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("reading manifests: %w", err)
		}
		if !info.IsDir() {
			files = append(files, path)
			continue
		}
		err = filepath.WalkDir(path, func(p string, entry fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yaml", ".yml", ".json":
				if !entry.IsDir() {
					files = append(files, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading manifests: %w", err)
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no .yaml, .yml or .json files in %s", strings.Join(paths, ", "))
	}
	return files, nil
}

// readDocuments splits a file into its YAML documents, skipping empty ones. On an error it returns the
// documents before it.
func readDocuments(file string) ([]document, error) {
	content, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(content)))
	var docs []document
	for position := 1; ; position++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, fmt.Errorf("document %d: %w", position, err)
		}
		jsonDoc, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return docs, fmt.Errorf("document %d: not valid YAML: %w", position, err)
		}
		if bytes.Equal(bytes.TrimSpace(jsonDoc), []byte("null")) {
			continue // only comments or empty
		}
		// Numbers decode as int64 where integral, as in the API server, so that integer fields validate.
		var object map[string]any
		if err := utiljson.Unmarshal(jsonDoc, &object); err != nil {
			return docs, fmt.Errorf("document %d: a manifest must be a YAML mapping with apiVersion and kind", position)
		}
		docs = append(docs, document{file: file, position: position, object: object})
	}
}

// assemble admits the documents and builds the File of those admitted. A route whose endpoint is not among the
// documents is a problem unless incomplete says that some could not be read, which may hold it.
func assemble(docs []document, incomplete bool) (*Manifests, error) {
	result := &Manifests{File: &configfile.File{Header: configfile.Header{APIVersion: configfile.APIVersion, Kind: configfile.Kind}}, Secrets: MapSecrets{},
		ConfigMaps: MapConfigMaps{}}
	var found problems
	endpoints := map[string]int{} // namespace/name -> index in File.Endpoints
	refused := map[string]int{}   // namespace/name -> index in File.Refused
	var routes []document
	seen := map[string]document{}

	for _, doc := range docs {
		kind, apiVersion := doc.kind(), doc.apiVersion()
		switch {
		case kind == "WebhookEndpoint" || kind == "IntentRoute":
			if apiVersion != configfile.APIVersion {
				found.add(doc.problem("apiVersion", fmt.Sprintf("%s must have apiVersion %s, not %q", kind, configfile.APIVersion, apiVersion)))
				continue
			}
		case (kind == "Secret" || kind == "ConfigMap") && apiVersion == "v1":
		default:
			result.Ignored = append(result.Ignored, fmt.Sprintf("%s: document %d (%s %s)", doc.file, doc.position, kind, doc.name()))
			continue
		}
		if problem, ok := checkName(doc); !ok {
			found.add(problem)
			continue
		}
		key := kind + "/" + doc.namespace() + "/" + doc.name()
		if first, dup := seen[key]; dup {
			found.add(doc.problem("metadata.name", fmt.Sprintf("%s %s/%s is also defined in %s, document %d; names must be unique",
				kind, doc.namespace(), doc.name(), first.file, first.position)))
			continue
		}
		seen[key] = doc

		switch kind {
		case "Secret":
			data, problem, ok := secretData(doc)
			if !ok {
				found.add(problem)
				continue
			}
			result.Secrets[doc.namespace()+"/"+doc.name()] = data
		case "ConfigMap":
			data, problem, ok := configMapData(doc)
			if !ok {
				found.add(problem)
				continue
			}
			result.ConfigMaps[doc.namespace()+"/"+doc.name()] = data
		case "WebhookEndpoint":
			var endpoint fulfillmentv1alpha1.WebhookEndpoint
			if !admitInto(doc, &endpoint, true, &found) {
				refused[doc.namespace()+"/"+doc.name()] = len(result.File.Refused)
				result.File.Refused = append(result.File.Refused, configfile.Endpoint{Name: doc.name(), Namespace: doc.namespace(), Source: doc.location()})
				continue
			}
			endpoints[doc.namespace()+"/"+doc.name()] = len(result.File.Endpoints)
			result.File.Endpoints = append(result.File.Endpoints, configfile.Endpoint{Name: endpoint.Name, Namespace: doc.namespace(), Spec: endpoint.Spec,
				Source: doc.location()})
		case "IntentRoute":
			routes = append(routes, doc) // joined once every endpoint is known, wherever it is defined
		}
	}

	for _, doc := range routes {
		var route fulfillmentv1alpha1.IntentRoute
		if !admitInto(doc, &route, true, &found) {
			continue
		}
		endpointKey := doc.namespace() + "/" + route.Spec.EndpointRef.Name
		var endpoint *configfile.Endpoint
		if index, ok := endpoints[endpointKey]; ok {
			endpoint = &result.File.Endpoints[index]
		} else if index, ok := refused[endpointKey]; ok {
			endpoint = &result.File.Refused[index]
		}
		switch {
		case endpoint != nil:
			endpoint.Routes = append(endpoint.Routes, configfile.Route{Name: route.Name, Created: route.CreationTimestamp, Spec: route.Spec,
				Source: doc.location()})
		case !incomplete: // else the file that could not be read may hold the endpoint
			found.add(doc.problem("spec.endpointRef.name", fmt.Sprintf("WebhookEndpoint %q is not in namespace %q of the manifests given; add its manifest or fix the name",
				route.Spec.EndpointRef.Name, doc.namespace())))
		}
	}
	if len(found) == 0 && !incomplete && len(result.File.Endpoints) == 0 {
		return nil, errors.New("the manifests hold no WebhookEndpoint: add one (see config/samples)")
	}
	return result, found.err()
}

// checkName checks metadata.name and metadata.namespace as the API server would.
func checkName(doc document) (Problem, bool) {
	name := doc.name()
	if name == "" {
		return doc.problem("metadata.name", "Required value: every manifest needs a name"), false
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return doc.problem("metadata.name", fmt.Sprintf("Invalid value: %q: %s", name, strings.Join(errs, "; "))), false
	}
	if errs := validation.IsDNS1123Label(doc.namespace()); len(errs) > 0 {
		return doc.problem("metadata.namespace", fmt.Sprintf("Invalid value: %q: %s", doc.namespace(), strings.Join(errs, "; "))), false
	}
	return Problem{}, true
}

// admitInto admits doc with its kind's CRD schema (validating it when validate is set) and decodes it into out,
// reporting problems.
func admitInto(doc document, out any, validate bool, found *problems) bool {
	all, err := schemas()
	if err != nil {
		found.add(doc.problem("", "loading the embedded CRD schemas: "+err.Error()))
		return false
	}
	admitted := all[doc.kind()].admit(doc.object, validate)
	for _, p := range admitted {
		found.add(doc.problem(p.field, p.message))
	}
	if len(admitted) > 0 {
		return false
	}
	raw, err := json.Marshal(doc.object)
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		found.add(doc.problem("", err.Error()))
		return false
	}
	return true
}

// secretData reads a Secret's data (base64) and stringData, which wins as in the API server.
func secretData(doc document) (map[string][]byte, Problem, bool) {
	values := map[string][]byte{}
	data, _ := doc.object["data"].(map[string]any)
	for key, value := range data {
		text, ok := value.(string)
		decoded, err := base64.StdEncoding.DecodeString(text)
		if !ok || err != nil {
			// The value is never echoed: it is a secret.
			return nil, doc.problem("data."+key, "Invalid value: must be base64; put plain text under stringData instead"), false
		}
		values[key] = decoded
	}
	stringData, _ := doc.object["stringData"].(map[string]any)
	for key, value := range stringData {
		text, ok := value.(string)
		if !ok {
			return nil, doc.problem("stringData."+key, "Invalid value: must be a string"), false
		}
		values[key] = []byte(text)
	}
	return values, Problem{}, true
}

// configMapData is a ConfigMap's data and binaryData (base64), as the kubelet writes both into its volume.
func configMapData(doc document) (map[string][]byte, Problem, bool) {
	values := map[string][]byte{}
	data, _ := doc.object["data"].(map[string]any)
	for key, value := range data {
		text, ok := value.(string)
		if !ok {
			return nil, doc.problem("data."+key, "Invalid value: must be a string"), false
		}
		values[key] = []byte(text)
	}
	binaryData, _ := doc.object["binaryData"].(map[string]any)
	for key, value := range binaryData {
		text, ok := value.(string)
		decoded, err := base64.StdEncoding.DecodeString(text)
		if !ok || err != nil {
			return nil, doc.problem("binaryData."+key, "Invalid value: must be base64; put text under data instead"), false
		}
		values[key] = decoded
	}
	return values, Problem{}, true
}
