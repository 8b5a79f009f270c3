package controllers_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
// fake, so that key rotation can be shown without waiting; the manager's writes are counted per namespace, so
// that a spec can show a quiet steady state costs nothing in its own namespace, whatever the others do.
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

// newNamespace creates a namespace of the spec's own, so that no spec sees another's objects or writes.
func newNamespace() string {
	GinkgoHelper()
	return createNamespace(metav1.ObjectMeta{GenerateName: "bots-"})
}

// createNamespace creates a namespace and deletes it when the spec (or the Ordered container) that created it
// ends. envtest runs no namespace controller: the namespace stays Terminating with its objects, which the
// operator leaves alone from then on.
func createNamespace(objectMeta metav1.ObjectMeta) string {
	GinkgoHelper()
	namespace := &corev1.Namespace{ObjectMeta: objectMeta}
	Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
	DeferCleanup(func(cleanup SpecContext) {
		// A spec may have started the deletion itself: deleting a Terminating namespace again is a Conflict.
		Expect(client.IgnoreNotFound(k8sClient.Delete(cleanup, namespace))).To(Or(Succeed(), Satisfy(apierrors.IsConflict)))
	})
	return namespace.Name
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
	// The Gateway API's own HTTPRoute and Gateway CRDs and cert-manager's own Certificate CRD (copied from their
	// modules by `make envtest`), so that what the operator writes meets the real schemas.
	testEnv = testenv.New(
		testenv.ExternalCRD("gateway.networking.k8s.io_httproutes.yaml"),
		testenv.ExternalCRD("gateway.networking.k8s.io_gateways.yaml"),
		testenv.ExternalCRD("cert-manager.io_certificates.yaml"))
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

// writeCounter counts the manager's requests that change something (create, update, patch, apply, delete) per
// namespace, and among them the server-side applies of objects (not of status). Each spec works in a namespace of its own (newNamespace),
// so that what it measures does not depend on which specs ran before it.
type writeCounter struct {
	mu          sync.Mutex
	byNamespace map[string]*writeCount
}

// writeCount is what the manager wrote in one namespace.
type writeCount struct {
	count   atomic.Int64
	applies atomic.Int64
}

// in is the count of the manager's writes in namespace.
func (w *writeCounter) in(namespace string) *writeCount {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byNamespace == nil {
		w.byNamespace = map[string]*writeCount{}
	}
	if w.byNamespace[namespace] == nil {
		w.byNamespace[namespace] = &writeCount{}
	}
	return w.byNamespace[namespace]
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			// Leader election and event recording are not reconciliation.
			if !isBookkeeping(req.URL.Path) {
				written := w.in(namespaceOf(req.URL.Path))
				written.count.Add(1)
				// The status is applied too; an apply here is one of the objects the operator owns.
				if strings.Contains(req.Header.Get("Content-Type"), "apply-patch") && !strings.HasSuffix(req.URL.Path, "/status") {
					written.applies.Add(1)
				}
			}
		}
		return rt.RoundTrip(req)
	})
}

func isBookkeeping(path string) bool {
	return strings.Contains(path, "/leases") || strings.Contains(path, "/events")
}

// namespaceOf is the namespace of an API request path (/api/v1/namespaces/NS/... or
// /apis/GROUP/VERSION/namespaces/NS/...), or "" for a cluster-scoped one.
func namespaceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) > 0 && parts[0] == "api":
		parts = parts[min(2, len(parts)):]
	case len(parts) > 0 && parts[0] == "apis":
		parts = parts[min(3, len(parts)):]
	default:
		return ""
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		return parts[1]
	}
	return ""
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
