// Package crd embeds the generated CustomResourceDefinitions, so that the standalone webhookserver applies
// exactly the defaults and validation rules (OpenAPI and CEL) that the API server applies in a cluster.
package crd

import "embed"

// Bases holds bases/*.yaml, the CRDs `make manifests` generates.
//
//go:embed bases/*.yaml
var Bases embed.FS
