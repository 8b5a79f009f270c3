#!/usr/bin/env bash
# Prints config/default with the operator running IMAGE, and the fulfillment pods it creates too (the manager's
# WEBHOOKSERVER_IMAGE): what `make deploy IMG=IMAGE` applies. kubectl's built-in kustomize has no
# `kustomize edit set image`, and editing config/manager would leave the tree changed, so the image goes in
# through a patch in an overlay made for this run.
set -euo pipefail

image=${1:-}
if [[ ! $image =~ ^[^[:space:]\"\'\\]+$ ]]; then
	echo "usage: $0 IMAGE (an image reference such as ghcr.io/fulfillment-dev/fulfillment-operator:v0.1.0)" >&2
	exit 2
fi
kubectl=${KUBECTL:-kubectl}
root=$(cd "$(dirname "$0")/.." && pwd)

overlay=$(mktemp -d)
trap 'rm -rf "$overlay"' EXIT
# kustomize refuses an absolute path to a base.
base=$(realpath --relative-to="$overlay" "$root/config/default")
cat >"$overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $base
patches:
- target: {kind: Deployment, name: fulfillment-operator-controller-manager}
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: fulfillment-operator-controller-manager}
    spec:
      template:
        spec:
          containers:
          - name: manager
            image: "$image"
            env:
            - name: WEBHOOKSERVER_IMAGE
              value: "$image"
YAML
"$kubectl" kustomize "$overlay"
