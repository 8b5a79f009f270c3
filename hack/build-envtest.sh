#!/usr/bin/env bash
# Builds the envtest control-plane binaries from source, through the Go module
# proxy, into bin/k8s/ at the repository root:
#
#   kube-apiserver           from hack/envtest/kube-apiserver (k8s.io/kubernetes)
#   etcd                     from hack/envtest/etcd (go.etcd.io/etcd/server/v3)
#   kube-controller-manager  same module as kube-apiserver, only with
#   kubectl                  --with-controller-manager (make dev and the
#                            end-to-end tests, which drive it with kubectl of
#                            the same release)
#
# Idempotent and cached: a binary is rebuilt only when it is missing or when the
# hash of the module definitions, this script and the Go version differs from
# the stamp written next to it after the last successful build. The first build
# takes several minutes (kube-apiserver ~8 min on 2 cores); later builds are
# served by the Go build cache.
#
# Progress goes to stderr. The only thing printed on stdout is the absolute
# path of bin/k8s, so that a Makefile can do
#   KUBEBUILDER_ASSETS=$(hack/build-envtest.sh)
set -euo pipefail

usage() {
	echo "usage: $0 [--with-controller-manager]" >&2
}

with_kcm=0
for arg in "$@"; do
	case "$arg" in
	--with-controller-manager) with_kcm=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage
		exit 2
		;;
	esac
done

log() { echo "build-envtest: $*" >&2; }

script="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)/$(basename -- "${BASH_SOURCE[0]}")"
root="$(cd -- "$(dirname -- "$script")/.." && pwd -P)"
mods="$root/hack/envtest"
out="$root/bin/k8s"
kas_mod="$mods/kube-apiserver"
etcd_mod="$mods/etcd"

# These are throw-away modules of their own: never let a go.work above them
# change how they resolve (and -mod=readonly below overrides a GOFLAGS -mod).
export GOWORK=off CGO_ENABLED=0

mkdir -p "$out"

# Serialise concurrent invocations (e.g. make -j) on the same checkout.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.lock"
	flock 9
fi

# Everything a build depends on that is under our control.
hash="$(
	{
		cat "$script" \
			"$kas_mod/go.mod" "$kas_mod/go.sum" \
			"$etcd_mod/go.mod" "$etcd_mod/go.sum" "$etcd_mod/main.go"
		go env GOVERSION GOOS GOARCH
	} | sha256sum | cut -d' ' -f1
)"

# up_to_date STAMP BINARY... : true when all binaries exist and STAMP holds $hash.
up_to_date() {
	local stamp="$1" bin
	shift
	[[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]] || return 1
	for bin in "$@"; do
		[[ -x "$out/$bin" ]] || return 1
	done
}

# gobuild MODULE_DIR BINARY PACKAGE [go build flags...]
gobuild() {
	local dir="$1" bin="$2" pkg="$3" start
	shift 3
	start=$SECONDS
	log "building $bin from $pkg (module ${dir#"$root"/}) ..."
	go -C "$dir" build -mod=readonly -trimpath "$@" -o "$out/.$bin.tmp" "$pkg" >&2
	mv -f "$out/.$bin.tmp" "$out/$bin"
	log "built bin/k8s/$bin in $((SECONDS - start))s"
}

kube_ldflags() {
	# Stamp the version the way kubernetes' hack/lib/version.sh does, so that
	# `kube-apiserver --version` and /version report the real release instead
	# of v0.0.0-master. The build date is the release's module time, which
	# keeps the link reproducible (and cacheable).
	local info version date major minor
	info="$(go -C "$kas_mod" list -mod=readonly -m \
		-f '{{.Version}} {{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
	version="${info% *}"
	date="${info#* }"
	major="${version#v}"
	major="${major%%.*}"
	minor="${version#v*.}"
	minor="${minor%%.*}"
	local flags="-s -w" pkg
	for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
		flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
		flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
	done
	echo "$flags"
}

stamp="$out/.stamp"
if up_to_date "$stamp" kube-apiserver etcd; then
	log "kube-apiserver and etcd are up to date"
else
	rm -f "$stamp"
	ldflags="$(kube_ldflags)"
	gobuild "$kas_mod" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver -ldflags "$ldflags"
	gobuild "$etcd_mod" etcd . -ldflags "-s -w"
	echo "$hash" >"$stamp"
fi

if ((with_kcm)); then
	kcm_stamp="$out/.stamp-kube-controller-manager"
	if up_to_date "$kcm_stamp" kube-controller-manager kubectl; then
		log "kube-controller-manager and kubectl are up to date"
	else
		rm -f "$kcm_stamp"
		ldflags="$(kube_ldflags)"
		gobuild "$kas_mod" kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager -ldflags "$ldflags"
		gobuild "$kas_mod" kubectl k8s.io/kubernetes/cmd/kubectl -ldflags "$ldflags"
		echo "$hash" >"$kcm_stamp"
	fi
fi

echo "$out"
