# fulfillment-operator: `make help` lists the targets.

IMG ?= ghcr.io/fulfillment-dev/fulfillment-operator:v0.1.0

# Tools are installed into bin/ at pinned versions; a version change installs the new one next to the old.
LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

# kubectl applies and renders the kustomize folders (its built-in kustomize; no kustomize binary is needed).
KUBECTL ?= kubectl

# envtest binaries (kube-apiserver, etcd) are built from Go modules: no download site is reachable.
ENVTEST_ASSETS ?= $(LOCALBIN)/k8s

# Go test flags; `make test GO_TEST_FLAGS='-run Admission -v'` narrows a run.
GO_TEST_FLAGS ?=

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs (config/crd/bases) and the manager ClusterRole (config/rbac/role.yaml), and copy them into the Helm chart.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	hack/sync-chart.sh

.PHONY: chart
chart: ## Copy the CRDs, RBAC rules, PrometheusRule and dashboard into the Helm chart (charts/fulfillment-operator).
	hack/sync-chart.sh

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint and check commit messages (hack/check-commit-messages.sh).
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...
	hack/check-commit-messages.sh

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when generated files differ from what is committed.
	@git diff --exit-code -- config/crd config/rbac api charts || { echo "generated files are stale: run 'make manifests generate' and commit"; exit 1; }

# The packages whose tests render docs/reference from the code: the flag sets and the metrics registries.
REFERENCE_PACKAGES = . ./webhookserver/cmd/webhookserver ./webhookserver/server ./controllers

.PHONY: docs
docs: ## Regenerate docs/reference (every flag, every metric) from the code; make test fails while it is stale.
	UPDATE_DOCS=1 go test -count=1 -run '^Test(Flag|Metric)Reference$$' $(REFERENCE_PACKAGES)

.PHONY: dashboards
dashboards: ## Regenerate the Grafana dashboard (config/grafana/fulfillment-dashboard.json) from hack/dashboard and copy it into the Helm chart; make test fails while it is stale.
	go run ./hack/dashboard --out config/grafana/fulfillment-dashboard.json
	hack/sync-chart.sh

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kube-controller-manager (make dev, e2e) into bin/k8s (once; cached afterwards), and copy the third-party CRDs the suites install into bin/crds.
	hack/build-envtest.sh --with-controller-manager >/dev/null
	hack/external-crds.sh

.PHONY: test
test: manifests generate fmt vet envtest ## Run every test: unit, envtest (real API server), black-box and end-to-end (make dev stack).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test ./... -count=1 -timeout 20m $(GO_TEST_FLAGS)

.PHONY: test-e2e
test-e2e: envtest ## Run only the end-to-end tests (hack/e2e) on the make dev stack.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test ./hack/e2e -count=1 -timeout 10m -v $(GO_TEST_FLAGS)

.PHONY: bench
bench: ## Run the fulfillment server's Go benchmarks (in process; docs/benchmarks.md).
	go test ./webhookserver/... -run '^$$' -bench . -benchmem

SCALE ?= 1000
ROUTES ?= 10
PODS ?= kubelet
.PHONY: bench-operator
bench-operator: build envtest ## Measure the operator at scale as it ships: bin/manager on the make dev stack, SCALE endpoints x ROUTES routes, dedicated or on GATEWAYS gateways; PODS=ready marks pods Ready instead of running them; MANAGER_ARGS adds manager flags (docs/benchmarks.md).
	OPBENCH_ENDPOINTS=$(SCALE) OPBENCH_ROUTES=$(ROUTES) OPBENCH_GATEWAYS=$(GATEWAYS) OPBENCH_PODS=$(PODS) OPBENCH_MANAGER=$(CURDIR)/bin/manager \
		OPBENCH_MANAGER_ARGS="$(MANAGER_ARGS)" \
		OPBENCH_WEBHOOKSERVER=$(CURDIR)/bin/webhookserver KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" \
		go test ./hack/opbench -run '^$$' -bench OperatorScale -benchtime 1x -timeout 120m

.PHONY: loadtest
loadtest: ## Load test webhookserver (built as the image is) on the samples over loopback (PIN, DURATION, CONNECTIONS, RATE_PERCENT, EXTRA_ROUTES; docs/benchmarks.md).
	hack/loadtest.sh

.PHONY: bench-compare
bench-compare: ## Compare webhookserver as users run it with bare net/http, fastify and Express over loopback, with wrk (PIN, ROUNDS, DURATION, CONNECTIONS, ROUTES; docs/benchmarks.md).
	hack/bench/compare.sh

.PHONY: bench-gateway
bench-gateway: ## Measure one webhookserver serving 1,000 bots, as a WebhookGateway pod, against 1 bot, pinned, with wrk (BOTS, ROUTES_PER_BOT, ROUNDS, DURATION, CONNECTIONS; docs/benchmarks.md).
	hack/bench/gateway.sh

# How long each fuzz target runs in `make fuzz`: a duration, a count of inputs such as 100000x, or `counts`:
# each target's own count from hack/fuzz-counts.txt, sized to about 10 seconds (CI uses it).
FUZZTIME ?= 10s

.PHONY: fuzz
fuzz: ## Run every fuzz target (dialect decoders, signature verifiers...) for FUZZTIME each from the committed corpora.
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

##@ Build

# The version and commit both binaries report (`webhookserver version`, the manager's startup log).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
VERSION_PKG = github.com/fulfillment-dev/fulfillment-operator/internal/version
LDFLAGS ?= -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT)
# The image's build tags (hack/image/build-binaries.sh says why).
GO_BUILD_TAGS ?= grpcnotrace

.PHONY: build
build: manifests generate fmt vet ## Build bin/manager (the operator) and bin/webhookserver (the fulfillment server).
	go build -trimpath -tags $(GO_BUILD_TAGS) -ldflags "$(LDFLAGS)" -o bin/manager .
	go build -trimpath -tags $(GO_BUILD_TAGS) -ldflags "$(LDFLAGS)" -o bin/webhookserver ./webhookserver/cmd/webhookserver

# The sample bots run together on :8080 (metrics on :9090); LOCAL_ENDPOINTS narrows them.
LOCAL_ENDPOINTS ?= bank-bot,order-bot,rasa-actions,payments-events,faq-bot,build-events

.PHONY: run-local
run-local: ## Run the standalone fulfillment server on the sample bots (no cluster needed); Ctrl-C stops it.
	go run ./webhookserver/cmd/webhookserver serve --manifests config/samples --endpoint "$(LOCAL_ENDPOINTS)" --log-format text --queue-dir tmp/queue

.PHONY: dev
dev: build envtest ## Run the whole product locally: control plane, operator, fulfillment pods as processes (docs/dev.md); Ctrl-C stops it.
	go build -o bin/fulfillment-dev ./hack/dev
	bin/fulfillment-dev --dir .dev

.PHONY: run
run: manifests generate fmt vet ## Run the operator against the cluster in ~/.kube/config.
	go run . --webhookserver-image=$(IMG)

.PHONY: docker-build
docker-build: ## Build the image holding both binaries (needs a Docker engine).
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMG) .

# Where make image-rootfs leaves the binaries it built and checked: the image's root filesystem but the base.
IMAGE_ROOTFS ?= tmp/image-rootfs

.PHONY: image-rootfs
image-rootfs: ## Without Docker: build the image's binaries with the Dockerfile's own script (hack/image) into IMAGE_ROOTFS, check they are static and run as its non-root user, and that the Dockerfile copies every source they need.
	IMAGE_ROOTFS="$(abspath $(IMAGE_ROOTFS))" go test ./hack/image -count=1 -run '^TestImageBuild$$' -v

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster in ~/.kube/config.
	$(KUBECTL) apply --server-side -k config/crd

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs (and every WebhookEndpoint and IntentRoute) from the cluster.
	$(KUBECTL) delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: manifests ## Deploy the operator with config/default, running the image IMG (the operator's and its fulfillment pods').
	KUBECTL="$(KUBECTL)" hack/deploy-manifests.sh "$(IMG)" | $(KUBECTL) apply --server-side -f -

.PHONY: deploy-yaml
deploy-yaml: ## Print what make deploy applies, for IMG (e.g. make deploy-yaml IMG=... > operator.yaml for GitOps).
	@KUBECTL="$(KUBECTL)" hack/deploy-manifests.sh "$(IMG)"

# Where make build-installer writes install.yaml. Generated for each release from its tag (IMG), not committed.
DIST ?= dist

.PHONY: build-installer
build-installer: manifests ## Write DIST/install.yaml (dist/ by default) for IMG: CRDs, namespace, RBAC and the operator, in apply order (docs/install.md).
	@mkdir -p "$(DIST)"
	KUBECTL="$(KUBECTL)" hack/deploy-manifests.sh "$(IMG)" >"$(DIST)/install.yaml.tmp"
	@mv "$(DIST)/install.yaml.tmp" "$(DIST)/install.yaml"

.PHONY: undeploy
undeploy: ## Remove the operator.
	$(KUBECTL) delete --ignore-not-found -k config/default

##@ Tools

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN):
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Install golangci-lint into bin/.
$(GOLANGCI_LINT):
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

# go-install-tool installs package $(2) at version $(3) as $(1) (a versioned name) and links the plain name to it.
define go-install-tool
@[ -f "$(1)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Installing $${package}" ;\
rm -f "$(1)" ;\
GOBIN="$(LOCALBIN)" go install $${package} ;\
mv "$$(echo "$(1)" | sed "s/-$(3)$$//")" "$(1)" ;\
} ;\
ln -sf "$$(basename "$(1)")" "$$(echo "$(1)" | sed "s/-$(3)$$//")"
endef
