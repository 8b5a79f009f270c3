// Package config loads the runtime configuration of webhookserver: the configuration file the operator renders
// (its format is webhookserver/configfile) and the YAML manifests users `kubectl apply` (standalone mode), both
// admitted with the CRDs' own defaults and rules, and the Secrets they reference. The operator does not import
// it: admission links the API server's validation machinery, which the operator has no use for.
package config
