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
COPY hack/image/build-binaries.sh hack/image/build-binaries.sh
ARG TARGETOS=linux
ARG TARGETARCH=amd64
# The version both binaries report (make docker-build passes them; .git is not copied, so there is no fallback).
ARG VERSION=dev
ARG COMMIT=unknown
# The build arguments reach the script as environment variables. make image-rootfs builds and checks the
# binaries with the same script where there is no Docker.
RUN hack/image/build-binaries.sh /out

# Static binaries on distroless: no shell, no package manager, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/manager /manager
COPY --from=build /out/webhookserver /webhookserver
USER 65532:65532
ENTRYPOINT ["/manager"]
