package controllers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// The suite runs the real manager with both controllers against a real API server (envtest). The clock is
// fake, so that key rotation can be shown without waiting; the manager's writes are counted, so that a quiet
// steady state can be shown to cost nothing.
var (
	// managerConfig is the manager's identity: the operator's ServiceAccount with its generated ClusterRole.
	managerConfig *rest.Config
	ctx           context.Context
	cancel        context.CancelFunc
	testEnv       *envtest.Environment
	k8sClient     client.Client
	clock         = clocktesting.NewFakeClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	writes        = &writeCounter{}
)

const image = "ghcr.io/fulfillment-dev/fulfillment-operator:test"

// operatorUser is the identity of the operator's ServiceAccount in config/default.
const operatorUser = "system:serviceaccount:fulfillment-system:fulfillment-operator-controller-manager"

// grantOperatorRole installs the generated manager ClusterRole and binds it to the operator's ServiceAccount.
func grantOperatorRole() {
	GinkgoHelper()
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(content, role)).To(Succeed())
	Expect(k8sClient.Create(ctx, role)).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "fulfillment-operator-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: operatorUser}},
	})).To(Succeed())
}

// certManagerVersion is the cert-manager release whose CRDs the suite installs.
const certManagerVersion = "v1.21.2"

// moduleDir downloads a module version into the module cache (through the module proxy) and returns its folder.
func moduleDir(moduleAtVersion string) string {
	GinkgoHelper()
	out, err := exec.Command("go", "mod", "download", "-json", moduleAtVersion).Output()
	Expect(err).NotTo(HaveOccurred(), "go mod download %s", moduleAtVersion)
	var module struct{ Dir string }
	Expect(json.Unmarshal(out, &module)).To(Succeed())
	return module.Dir
}

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controllers suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	// Gomega's 1 s default is too short for the first reconcile on a loaded 2-core machine (the manager's
	// informers are still syncing); a passing Eventually returns as soon as it passes, so this costs nothing.
	SetDefaultEventuallyTimeout(10 * time.Second)
	ctx, cancel = context.WithCancel(context.Background())
	// The Gateway API's own HTTPRoute CRD, from its module, so that the HTTPRoute the operator renders meets
	// the real schema.
	gatewayAPI, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	Expect(err).NotTo(HaveOccurred())
	// cert-manager's own Certificate CRD, from its module (downloaded, not a build dependency), so that the
	// Certificate the operator creates meets the real schema.
	certManager := moduleDir("github.com/cert-manager/cert-manager@" + certManagerVersion)
	testEnv = testenv.New(
		filepath.Join(strings.TrimSpace(string(gatewayAPI)), "config", "crd", "standard", "gateway.networking.k8s.io_httproutes.yaml"),
		filepath.Join(strings.TrimSpace(string(gatewayAPI)), "config", "crd", "standard", "gateway.networking.k8s.io_gateways.yaml"),
		filepath.Join(certManager, "deploy", "crds", "cert-manager.io_certificates.yaml"))
	cfg, err := testenv.Start(testEnv)
	Expect(gatewayv1.Install(scheme.Scheme)).To(Succeed())
	Expect(err).NotTo(HaveOccurred())
	Expect(fulfillmentv1alpha1.AddToScheme(scheme.Scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme.Scheme})
	Expect(err).NotTo(HaveOccurred())

	// The manager runs with the operator's own generated ClusterRole only (config/rbac/role.yaml), impersonating
	// its ServiceAccount, so that every test also proves the RBAC is enough.
	grantOperatorRole()
	managerConfig = rest.CopyConfig(cfg)
	managerConfig.Impersonate = rest.ImpersonationConfig{UserName: operatorUser,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:fulfillment-system", "system:authenticated"}}
	managerConfig.WrapTransport = writes.wrap
	// The strict and faulty namespaces belong to managers that specs start with other options (startStrictManager,
	// startFaultyManager).
	mgr, err := ctrl.NewManager(managerConfig, ctrl.Options{Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{cache.AllNamespaces: {
			FieldSelector: fields.AndSelectors(fields.OneTermNotEqualSelector("metadata.namespace", strictNamespace),
				fields.OneTermNotEqualSelector("metadata.namespace", faultyNamespace))}},
			ByObject: controllers.CacheByObject()}})
	Expect(err).NotTo(HaveOccurred())
	Expect(controllers.Setup(ctx, mgr, controllers.Options{Image: image, Clock: clock,
		PodReports: &controllers.PodReportReader{}})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// writeCounter counts the manager's requests that change something (create, update, patch, apply, delete),
// and among them the server-side applies of objects (not of status).
type writeCounter struct {
	count   atomic.Int64
	applies atomic.Int64
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			// Leader election and event recording are not reconciliation.
			if !isBookkeeping(req.URL.Path) {
				w.count.Add(1)
				// The status is applied too; an apply here is one of the objects the operator owns.
				if strings.Contains(req.Header.Get("Content-Type"), "apply-patch") && !strings.HasSuffix(req.URL.Path, "/status") {
					w.applies.Add(1)
				}
			}
		}
		return rt.RoundTrip(req)
	})
}

func isBookkeeping(path string) bool {
	return strings.Contains(path, "/leases") || strings.Contains(path, "/events")
}

// reconciles is how many reconciles a controller of the manager has finished.
func reconciles(controller string) float64 {
	GinkgoHelper()
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, family := range families {
		if family.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, metric := range family.GetMetric() {
			for _, label := range metric.GetLabel() {
				if label.GetName() == "controller" && label.GetValue() == controller {
					total += metric.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
