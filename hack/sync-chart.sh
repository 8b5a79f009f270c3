#!/usr/bin/env bash
# Copies into the Helm chart what it must share with config/: the CRDs (crds/), the manager's generated ClusterRole
# and the other RBAC rules, the PrometheusRule and the Grafana dashboard (files/). Helm reads nothing outside the
# chart, so the chart carries copies; `make chart` (and `make manifests`) refresh them, and charts/chart_test.go
# fails when they differ. With an argument, writes crds/ and files/ under that folder instead (the test's check).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/charts/fulfillment-operator}

rm -rf "$dest/crds" "$dest/files"
mkdir -p "$dest/crds" "$dest/files"
cp "$root"/config/crd/bases/*.yaml "$dest/crds/"
cp "$root/config/rbac/role.yaml" "$dest/files/manager-role.yaml"
cp "$root/config/rbac/leader_election_role.yaml" "$dest/files/leader-election-role.yaml"
cp "$root/config/rbac/fulfillment_editor_role.yaml" "$dest/files/editor-role.yaml"
cp "$root/config/rbac/fulfillment_viewer_role.yaml" "$dest/files/viewer-role.yaml"
cp "$root/config/prometheus/prometheusrule.yaml" "$dest/files/prometheusrule.yaml"
cp "$root/config/grafana/fulfillment-dashboard.json" "$dest/files/fulfillment-dashboard.json"
