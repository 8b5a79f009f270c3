# One image holding both binaries: /manager (the operator) and /webhookserver (the fulfillment server it deploys).
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
# The generated CRDs are embedded in both binaries (the server admits manifests with them).
COPY config/crd/ config/crd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY webhookserver/ webhookserver/
COPY main.go main.go
ARG TARGETOS=linux
ARG TARGETARCH=amd64
# The version both binaries report (make docker-build passes them; .git is not copied, so there is no fallback).
ARG VERSION=dev
ARG COMMIT=unknown
RUN LDFLAGS="-s -w -X github.com/fulfillment-dev/fulfillment-operator/internal/version.Version=${VERSION} -X github.com/fulfillment-dev/fulfillment-operator/internal/version.Commit=${COMMIT}" && \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags="${LDFLAGS}" -o /out/manager . && \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags="${LDFLAGS}" -o /out/webhookserver ./webhookserver/cmd/webhookserver

# Static binaries on distroless: no shell, no package manager, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/manager /manager
COPY --from=build /out/webhookserver /webhookserver
USER 65532:65532
ENTRYPOINT ["/manager"]
