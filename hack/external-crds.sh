#!/usr/bin/env bash
# Copies the CRDs of the third-party APIs the operator writes into bin/crds/, so that the envtest suites install
# the real schemas without any module work of their own when they start:
#
#   Gateway API's HTTPRoute and Gateway  from sigs.k8s.io/gateway-api at the version in go.mod
#   cert-manager's Certificate           from github.com/cert-manager/cert-manager at CERT_MANAGER_VERSION
#                                        (through the module proxy: it is not a build dependency)
#
# Idempotent: run by `make envtest`, which every test target needs anyway. Prints nothing but errors.
set -euo pipefail
cd "$(dirname "$0")/.."
cert_manager_version="${CERT_MANAGER_VERSION:-v1.21.2}"
out=bin/crds
mkdir -p "$out"

# module_dir MODULE[@VERSION]: the module's folder in the module cache, downloaded when missing (a fresh clone
# may not have fetched it yet); without a version, at the version in go.mod.
module_dir() {
	go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}
gateway_api="$(module_dir sigs.k8s.io/gateway-api)"
cert_manager="$(module_dir "github.com/cert-manager/cert-manager@$cert_manager_version")"
[[ -d "$gateway_api" && -d "$cert_manager" ]] || {
	echo "external-crds: module folders not found (gateway-api: '$gateway_api', cert-manager: '$cert_manager')" >&2
	exit 1
}

install -m 0644 \
	"$gateway_api/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml" \
	"$gateway_api/config/crd/standard/gateway.networking.k8s.io_gateways.yaml" \
	"$cert_manager/deploy/crds/cert-manager.io_certificates.yaml" \
	"$out/"
