package charts_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// readyTimeout bounds how long an endpoint may take to become Ready on a loaded machine.
const readyTimeout = 30 * time.Second

// TestChartInstallRunsOperator installs the chart's CRDs and objects on a real API server (envtest) and runs the
// real manager with the chart's permissions only, impersonating the chart's ServiceAccount: the first endpoint of
// NOTES.txt, with its route, becomes Ready. Once with watchNamespaces (Roles in the watched namespaces, nothing
// seen elsewhere), then with the defaults (ClusterRole, every namespace).
func TestChartInstallRunsOperator(t *testing.T) {
	logs := &testWriter{t: t}
	t.Cleanup(logs.close)
	logf.SetLogger(zap.New(zap.WriteTo(logs)))
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(fulfillmentv1alpha1.AddToScheme(scheme))

	// The chart's own crds/, not config/crd/bases: what `helm install` installs.
	env := &envtest.Environment{CRDDirectoryPaths: []string{chartDir() + "/crds"}, ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.Assets(), Scheme: scheme}
	cfg, err := testenv.Start(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	// The API server's PodSecurity admission warns about a Deployment whose pods the namespace's level would
	// refuse: the operator's namespaces enforce the restricted level, as docs/install.md says to label them.
	warnings := &warningRecorder{}
	adminConfig := rest.CopyConfig(cfg)
	adminConfig.WarningHandler = warnings
	admin, err := client.New(adminConfig, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	restricted := map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}
	for _, namespace := range []string{"team-system", "team-a", "team-b", "elsewhere", releaseNamespace} {
		labels := map[string]string(nil)
		if strings.HasSuffix(namespace, "-system") {
			labels = restricted
		}
		if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if len(warnings.texts) > 0 {
			t.Errorf("the API server warned while installing the chart:\n%s", strings.Join(warnings.texts, "\n"))
		}
	})

	t.Run("watchNamespaces", func(t *testing.T) {
		release := render(t, "team", "team-system", map[string]any{"watchNamespaces": []any{"team-a", "team-b"}})
		install(t, admin, release)
		stop := runManager(t, cfg, scheme, release)
		defer stop()
		for _, namespace := range []string{"team-a", "team-b"} {
			createFirstEndpoint(t, admin, release, namespace)
		}
		createFirstEndpoint(t, admin, release, "elsewhere")
		for _, namespace := range []string{"team-a", "team-b"} {
			expectReady(t, admin, namespace)
		}
		// The operator neither sees nor may read what it does not watch.
		endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
		if err := admin.Get(ctx, types.NamespacedName{Namespace: "elsewhere", Name: "hello"}, endpoint); err != nil {
			t.Fatal(err)
		}
		if len(endpoint.Status.Conditions) != 0 {
			t.Errorf("the endpoint in an unwatched namespace was reconciled: %+v", endpoint.Status.Conditions)
		}
		operator := operatorClient(t, cfg, scheme, release)
		for _, namespace := range []string{"elsewhere", ""} {
			err := operator.List(ctx, &fulfillmentv1alpha1.WebhookEndpointList{}, client.InNamespace(namespace))
			if !apierrors.IsForbidden(err) {
				t.Errorf("the operator's ServiceAccount lists WebhookEndpoints in %q: %v, want Forbidden", namespace, err)
			}
		}
	})

	t.Run("all namespaces", func(t *testing.T) {
		release := render(t, releaseName, releaseNamespace, nil)
		install(t, admin, release)
		stop := runManager(t, cfg, scheme, release)
		defer stop()
		// The endpoint the namespaced operator left alone, and a new one.
		expectReady(t, admin, "elsewhere")
		if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bots"}}); err != nil {
			t.Fatal(err)
		}
		createFirstEndpoint(t, admin, release, "bots")
		expectReady(t, admin, "bots")
	})
}

// install creates what `helm install` would: the rendered objects but those whose CRDs the API server lacks (the
// Prometheus Operator's); the CRDs of crds/ are already installed by envtest.
func install(t *testing.T, admin client.Client, release *release) {
	t.Helper()
	for _, object := range release.objects {
		if object.GetAPIVersion() == "monitoring.coreos.com/v1" {
			continue
		}
		if err := admin.Create(t.Context(), object.DeepCopy()); err != nil {
			t.Fatalf("installing %s %s/%s: %v", object.GetKind(), object.GetNamespace(), object.GetName(), err)
		}
	}
}

// managerContainer is the chart's manager Deployment, its pod's service account and container.
func managerPod(t *testing.T, release *release) (namespace, serviceAccount string, manager corev1.Container) {
	t.Helper()
	for _, object := range release.objects {
		if object.GetKind() == "Deployment" {
			deployment := as[appsv1.Deployment](t, object)
			return deployment.Namespace, deployment.Spec.Template.Spec.ServiceAccountName, deployment.Spec.Template.Spec.Containers[0]
		}
	}
	t.Fatal("the release has no Deployment")
	return "", "", corev1.Container{}
}

// operatorConfig is cfg impersonating the chart's ServiceAccount, with the groups the API server gives one.
func operatorConfig(t *testing.T, cfg *rest.Config, release *release) *rest.Config {
	t.Helper()
	namespace, serviceAccount, _ := managerPod(t, release)
	operator := rest.CopyConfig(cfg)
	operator.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + namespace + ":" + serviceAccount,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
	return operator
}

func operatorClient(t *testing.T, cfg *rest.Config, scheme *runtime.Scheme, release *release) client.Client {
	t.Helper()
	operator, err := client.New(operatorConfig(t, cfg, release), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return operator
}

// runManager runs the manager as main.go does with the flags and environment of the chart's Deployment (leader
// election, watched namespaces, fulfillment image), as the chart's ServiceAccount; stop ends it and fails the
// test if it ended with an error.
func runManager(t *testing.T, cfg *rest.Config, scheme *runtime.Scheme, release *release) (stop func()) {
	t.Helper()
	namespace, _, manager := managerPod(t, release)
	image := envValue(manager, "WEBHOOKSERVER_IMAGE")
	if image == "" {
		t.Fatal("the chart sets no WEBHOOKSERVER_IMAGE")
	}
	watched := map[string]cache.Config{}
	for _, arg := range manager.Args {
		if list, ok := strings.CutPrefix(arg, "--watch-namespaces="); ok {
			for _, ns := range strings.Split(list, ",") {
				watched[ns] = cache.Config{}
			}
		}
	}
	if len(watched) == 0 {
		watched = nil
	}
	mgr, err := ctrl.NewManager(operatorConfig(t, cfg, release), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         slices.Contains(manager.Args, "--leader-elect"),
		LeaderElectionID:       "fulfillment-operator.fulfillment.dev",
		// In a pod, the namespace it runs in; here, the release's, where the chart grants the Lease.
		LeaderElectionNamespace:       namespace,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cache.Options{DefaultNamespaces: watched, ByObject: controllers.CacheByObject()},
		// Both subtests run the controllers in one process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := controllers.Setup(ctx, mgr, controllers.Options{Image: image, OperatorNamespace: namespace,
		PodReports: &controllers.PodReportReader{}, NamespacesUncached: watched != nil}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("the manager stopped with %v", err)
		}
	}
}

// createFirstEndpoint creates, in namespace, the WebhookEndpoint and IntentRoute that NOTES.txt shows.
func createFirstEndpoint(t *testing.T, admin client.Client, release *release, namespace string) {
	t.Helper()
	_, manifest, found := strings.Cut(release.notes, "<<'YAML'\n")
	manifest, _, closed := strings.Cut(manifest, "\n  YAML\n")
	if !found || !closed {
		t.Fatalf("NOTES.txt holds no manifest between <<'YAML' and YAML:\n%s", release.notes)
	}
	objects, err := decodeObjects([]byte(unindent(manifest, "  ")))
	if err != nil {
		t.Fatalf("the manifest of NOTES.txt: %v", err)
	}
	kinds := []string{}
	for _, object := range objects {
		object.SetNamespace(namespace)
		kinds = append(kinds, object.GetKind())
		if err := admin.Create(t.Context(), object); err != nil {
			t.Fatalf("creating the %s of NOTES.txt: %v", object.GetKind(), err)
		}
	}
	if !slices.Equal(kinds, []string{"WebhookEndpoint", "IntentRoute"}) {
		t.Fatalf("NOTES.txt creates %v, want a WebhookEndpoint and an IntentRoute", kinds)
	}
}

func unindent(text, indent string) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		lines[i] = strings.TrimPrefix(line, indent)
	}
	return strings.Join(lines, "\n")
}

// expectReady waits for the endpoint "hello" of namespace to be Ready with its route accepted and Ready, writing
// the status the Deployment controller would once its pods are available (envtest runs no controller-manager).
func expectReady(t *testing.T, admin client.Client, namespace string) {
	t.Helper()
	ctx := t.Context()
	key := types.NamespacedName{Namespace: namespace, Name: "hello"}
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{}
	route := &fulfillmentv1alpha1.IntentRoute{}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, readyTimeout, true, func(ctx context.Context) (bool, error) {
		if err := playDeploymentController(ctx, admin, key); err != nil {
			return false, nil //nolint:nilerr // not created yet, or a conflict with the operator's write: try again
		}
		if err := admin.Get(ctx, key, endpoint); err != nil {
			return false, err
		}
		if err := admin.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "hello-ping"}, route); err != nil {
			return false, err
		}
		return controllers.EndpointIsReady(endpoint) && endpoint.Status.Routes != nil && endpoint.Status.Routes.Accepted == 1 &&
			conditionTrue(route.Status.Conditions, fulfillmentv1alpha1.ConditionReady), nil
	})
	if err != nil {
		t.Fatalf("endpoint %s is not Ready with its route: %v\nendpoint status: %+v\nroute status: %+v", key, err,
			endpoint.Status, route.Status)
	}
	if endpoint.Status.HMACSecretName == "" {
		t.Errorf("the endpoint reports no generated HMAC Secret: %+v", endpoint.Status)
	}
}

func conditionTrue(conditions []metav1.Condition, conditionType string) bool {
	for _, condition := range conditions {
		if condition.Type == conditionType {
			return condition.Status == metav1.ConditionTrue
		}
	}
	return false
}

// playDeploymentController marks the endpoint's Deployment rolled out with every replica available, unless it
// already is at its generation.
func playDeploymentController(ctx context.Context, admin client.Client, key types.NamespacedName) error {
	deployment := &appsv1.Deployment{}
	if err := admin.Get(ctx, key, deployment); err != nil {
		return err
	}
	replicas := ptr.Deref(deployment.Spec.Replicas, 1)
	if deployment.Status.ObservedGeneration == deployment.Generation && deployment.Status.AvailableReplicas == replicas {
		return nil
	}
	now := metav1.Now()
	deployment.Status = appsv1.DeploymentStatus{
		ObservedGeneration: deployment.Generation, Replicas: replicas, UpdatedReplicas: replicas,
		ReadyReplicas: replicas, AvailableReplicas: replicas,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
			LastUpdateTime: now, LastTransitionTime: now, Reason: "MinimumReplicasAvailable"}},
	}
	return admin.Status().Update(ctx, deployment)
}

// warningRecorder keeps the API server's warnings.
type warningRecorder struct {
	mu    sync.Mutex
	texts []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.texts = append(w.texts, text)
}

// testWriter sends the manager's log to the test's, shown when the test fails or with -v, until the test ends:
// a goroutine of the API server's clients may still log after that.
type testWriter struct {
	t      *testing.T
	mu     sync.Mutex
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}
