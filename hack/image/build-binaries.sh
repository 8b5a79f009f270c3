#!/bin/sh
# Builds the image's two binaries, static, into OUT_DIR: /manager (the operator, from .) and /webhookserver (the
# fulfillment server). The Dockerfile's build stage runs this very script, and so does `make image-rootfs`, which
# checks the binaries without Docker: the flags cannot differ between the two.
# VERSION and COMMIT are what both binaries report; TARGETOS and TARGETARCH (set by docker buildx) pick the
# platform, the host's when unset.
set -eu

out=${1:?usage: build-binaries.sh OUT_DIR}
version_pkg=github.com/fulfillment-dev/fulfillment-operator/internal/version
ldflags="-s -w -X ${version_pkg}.Version=${VERSION:-dev} -X ${version_pkg}.Commit=${COMMIT:-unknown}"

# No cgo: the binaries run on distroless/static, which has no C library.
CGO_ENABLED=0
GOOS=${TARGETOS:-$(go env GOOS)}
GOARCH=${TARGETARCH:-$(go env GOARCH)}
export CGO_ENABLED GOOS GOARCH

# grpcnotrace: the OTLP exporter links gRPC, whose request tracing imports html/template, and html/template's
# reflection keeps every exported method of the binary alive; without it, webhookserver is about half again as
# large (docs/benchmarks.md).
tags=grpcnotrace

go build -trimpath -tags "${tags}" -ldflags="${ldflags}" -o "${out}/manager" .
go build -trimpath -tags "${tags}" -ldflags="${ldflags}" -o "${out}/webhookserver" ./webhookserver/cmd/webhookserver
