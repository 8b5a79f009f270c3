#!/usr/bin/env bash
# Points hack/envtest/kube-apiserver at another k8s.io/kubernetes release:
# rewrites its go.mod with a `replace k8s.io/X => k8s.io/X v0.MINOR.PATCH` for
# every staging module that k8s.io/kubernetes' own go.mod replaces with
# ./staging/..., then runs go mod tidy.
#
#   hack/envtest/bump-kubernetes.sh v1.37.2
set -euo pipefail

if [[ $# -ne 1 || ! "$1" =~ ^v1\.[0-9]+\.[0-9]+$ ]]; then
	echo "usage: $0 v1.MINOR.PATCH" >&2
	exit 2
fi
kube="$1"
staging="v0.${kube#v1.}"
dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)/kube-apiserver"
export GOWORK=off

gomod="$(go mod download -json "k8s.io/kubernetes@$kube" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
[[ -f "$gomod" ]] || {
	echo "cannot find the go.mod of k8s.io/kubernetes@$kube" >&2
	exit 1
}
mapfile -t mods < <(sed -n 's#^\t\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$gomod")
((${#mods[@]})) || {
	echo "no ./staging replaces found in $gomod" >&2
	exit 1
}

{
	cat <<EOF
// Throw-away module used only by hack/build-envtest.sh to build envtest
// binaries from source. Regenerate it with hack/envtest/bump-kubernetes.sh
// when bumping k8s.io/kubernetes.
module fulfillment.dev/hack/envtest/kube-apiserver

go $(sed -n 's/^go //p' "$gomod")

require k8s.io/kubernetes $kube

// Every staging module that k8s.io/kubernetes replaces with ./staging/...
replace (
EOF
	for m in "${mods[@]}"; do
		printf '\t%s => %s %s\n' "$m" "$m" "$staging"
	done
	cat <<EOF
)

// The tool directives keep \`go mod tidy\` from dropping the dependencies of the
// binaries that hack/build-envtest.sh builds.
tool (
	k8s.io/kubernetes/cmd/kube-apiserver
	k8s.io/kubernetes/cmd/kube-controller-manager
	k8s.io/kubernetes/cmd/kubectl
)
EOF
} >"$dir/go.mod"
rm -f "$dir/go.sum"
go -C "$dir" mod tidy
echo "hack/envtest/kube-apiserver now builds k8s.io/kubernetes $kube (${#mods[@]} staging replaces at $staging)" >&2
