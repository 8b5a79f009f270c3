package config_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// releaseImage stands for a release's IMG: the tag make build-installer pins everywhere.
const releaseImage = "registry.example/fulfillment-operator:v9.8.7"

// TestInstallerAppliesToFreshCluster: the dist/install.yaml of `make build-installer` goes onto an empty API
// server with one `kubectl apply --server-side`, and what it creates is a working, hardened operator install.
func TestInstallerAppliesToFreshCluster(t *testing.T) {
	installYAML := buildInstaller(t, releaseImage)
	objects := decodeObjects(t, installYAML)
	checkApplyOrder(t, objects)

	env := &envtest.Environment{BinaryAssetsDirectory: testenv.Assets()} // no CRDs: install.yaml brings them
	if _, err := testenv.Start(env); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	admin, kubeconfig := adminUser(t, env)

	apply := exec.Command(kubectl(t), "apply", "--server-side", "-f", installYAML)
	apply.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "KUBECACHEDIR="+t.TempDir())
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply --server-side -f install.yaml: %v\n%s", err, out)
	}

	clients, err := kubernetes.NewForConfig(admin.Config())
	if err != nil {
		t.Fatal(err)
	}
	checkAllCreated(t, installYAML, kubeconfig, objects)
	checkCRDsEstablished(t, admin, objects)
	deployment := operatorDeployment(t, clients)
	checkPinnedImage(t, deployment)
	checkHardenedPod(t, clients, deployment)
	checkOperatorPermissions(t, clients, deployment)
}

// buildInstaller runs make build-installer for image into a temporary DIST and returns install.yaml's path.
// The generated files are not regenerated (-o manifests): make verify-generated checks them.
func buildInstaller(t *testing.T, image string) string {
	t.Helper()
	dist := t.TempDir()
	cmd := exec.Command("make", "-s", "--no-print-directory", "-o", "manifests", "build-installer",
		"IMG="+image, "DIST="+dist, "KUBECTL="+kubectl(t))
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-installer: %v\n%s", err, out)
	}
	return filepath.Join(dist, "install.yaml")
}

func decodeObjects(t *testing.T, path string) []unstructured.Unstructured {
	t.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objects []unstructured.Unstructured
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(content), 4096)
	for {
		var object unstructured.Unstructured
		err := decoder.Decode(&object.Object)
		if errors.Is(err, io.EOF) {
			return objects
		}
		if err != nil {
			t.Fatal(err)
		}
		if object.Object != nil {
			objects = append(objects, object)
		}
	}
}

// checkApplyOrder: the CRDs and the Namespace come before everything else, so that a plain apply (or a GitOps
// tool applying in file order) never meets an object whose namespace or kind does not exist yet; every
// namespaced object is in the operator's namespace.
func checkApplyOrder(t *testing.T, objects []unstructured.Unstructured) {
	t.Helper()
	kinds := map[string]int{}
	firstOther := -1
	for i, object := range objects {
		kind := object.GetKind()
		kinds[kind]++
		foundation := kind == "CustomResourceDefinition" || kind == "Namespace"
		if !foundation && firstOther < 0 {
			firstOther = i
		}
		if foundation && firstOther >= 0 {
			t.Errorf("%s %s comes after %s %s", kind, object.GetName(), objects[firstOther].GetKind(), objects[firstOther].GetName())
		}
		if ns := object.GetNamespace(); ns != "" && ns != "fulfillment-system" {
			t.Errorf("%s %s is in namespace %q, want fulfillment-system", kind, object.GetName(), ns)
		}
	}
	for kind, want := range map[string]int{"CustomResourceDefinition": 3, "Namespace": 1, "ServiceAccount": 1, "ClusterRole": 3,
		"ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1, "Service": 1, "Deployment": 1} {
		if kinds[kind] != want {
			t.Errorf("install.yaml has %d %s, want %d", kinds[kind], kind, want)
		}
	}
}

// adminUser provisions a cluster admin and writes its kubeconfig for kubectl.
func adminUser(t *testing.T, env *envtest.Environment) (*envtest.AuthenticatedUser, string) {
	t.Helper()
	user, err := env.AddUser(envtest.User{Name: "installer-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	content, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return user, path
}

// checkAllCreated: the API server holds every object of install.yaml, by kind and name.
func checkAllCreated(t *testing.T, installYAML, kubeconfig string, objects []unstructured.Unstructured) {
	t.Helper()
	get := exec.Command(kubectl(t), "get", "-f", installYAML, "-o", "name")
	get.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "KUBECACHEDIR="+t.TempDir())
	out, err := get.Output()
	if err != nil {
		t.Fatalf("kubectl get -f install.yaml: %v", err)
	}
	names := strings.Fields(string(out))
	if len(names) != len(objects) {
		t.Errorf("the API server holds %d of install.yaml's %d objects: %v", len(names), len(objects), names)
	}
}

func checkCRDsEstablished(t *testing.T, admin *envtest.AuthenticatedUser, objects []unstructured.Unstructured) {
	t.Helper()
	client, err := apiextensionsclient.NewForConfig(admin.Config())
	if err != nil {
		t.Fatal(err)
	}
	for _, object := range objects {
		if object.GetKind() != "CustomResourceDefinition" {
			continue
		}
		deadline := time.Now().Add(30 * time.Second)
		for !established(t, client, object.GetName()) {
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s is not Established", object.GetName())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func established(t *testing.T, client apiextensionsclient.Interface, name string) bool {
	crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, condition := range crd.Status.Conditions {
		if condition.Type == apiextensionsv1.Established {
			return condition.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

func operatorDeployment(t *testing.T, clients kubernetes.Interface) *appsv1.Deployment {
	t.Helper()
	deployment, err := clients.AppsV1().Deployments("fulfillment-system").Get(context.Background(),
		"fulfillment-operator-controller-manager", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return deployment
}

// checkPinnedImage: the operator and the fulfillment pods it creates both run the release image.
func checkPinnedImage(t *testing.T, deployment *appsv1.Deployment) {
	t.Helper()
	containers := deployment.Spec.Template.Spec.Containers
	if len(containers) != 1 || containers[0].Name != "manager" {
		t.Fatalf("the operator's pod has containers %v, want one named manager", containers)
	}
	manager := containers[0]
	if manager.Image != releaseImage {
		t.Errorf("manager image %q, want %q", manager.Image, releaseImage)
	}
	if manager.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy %q: a pinned tag should be pulled once", manager.ImagePullPolicy)
	}
	var fulfillmentImage []string
	for _, env := range manager.Env {
		if env.Name == "WEBHOOKSERVER_IMAGE" {
			fulfillmentImage = append(fulfillmentImage, env.Value)
		}
	}
	for _, arg := range manager.Args {
		if value, ok := strings.CutPrefix(arg, "--webhookserver-image="); ok {
			fulfillmentImage = append(fulfillmentImage, value)
		}
	}
	if len(fulfillmentImage) != 1 || fulfillmentImage[0] != releaseImage {
		t.Errorf("the fulfillment image (WEBHOOKSERVER_IMAGE, --webhookserver-image) is %v, want [%s]", fulfillmentImage, releaseImage)
	}
}

// checkHardenedPod: the operator's pod template passes the restricted Pod Security Standard, which its
// namespace enforces. The API server's PodSecurity admission judges a server-side dry run of the pod; a
// privileged pod is refused first, so that the check cannot pass by the admission being off.
func checkHardenedPod(t *testing.T, clients kubernetes.Interface, deployment *appsv1.Deployment) {
	t.Helper()
	ctx := context.Background()
	namespace, err := clients.CoreV1().Namespaces().Get(ctx, "fulfillment-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if level := namespace.Labels["pod-security.kubernetes.io/enforce"]; level != "restricted" {
		t.Errorf("namespace fulfillment-system enforces Pod Security %q, want restricted", level)
	}
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "manager-", Namespace: "fulfillment-system"},
		Spec: *deployment.Spec.Template.Spec.DeepCopy()}
	privileged := pod.DeepCopy()
	privileged.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	if _, err := clients.CoreV1().Pods("fulfillment-system").Create(ctx, privileged, dryRun); err == nil {
		t.Fatal("a privileged pod was admitted into fulfillment-system: Pod Security is not enforced")
	}
	if _, err := clients.CoreV1().Pods("fulfillment-system").Create(ctx, pod, dryRun); err != nil {
		t.Errorf("the operator's pod is refused in its own namespace: %v", err)
	}
	container := pod.Spec.Containers[0].SecurityContext
	if container == nil || !ptr.Deref(container.ReadOnlyRootFilesystem, false) {
		t.Error("the manager container's root filesystem is writable")
	}
	if podContext := pod.Spec.SecurityContext; podContext == nil || ptr.Deref(podContext.RunAsUser, 0) == 0 {
		t.Error("the operator's pod names no non-root user (the image's distroless nonroot user is 65532)")
	}
}

// checkOperatorPermissions: install.yaml's bindings give the Deployment's ServiceAccount what the manager needs:
// its API cluster-wide, the fulfillment pods' objects, and its leader election Lease in its own namespace.
func checkOperatorPermissions(t *testing.T, clients kubernetes.Interface, deployment *appsv1.Deployment) {
	t.Helper()
	user := "system:serviceaccount:fulfillment-system:" + deployment.Spec.Template.Spec.ServiceAccountName
	// Denied: the check can fail, and the operator holds no more than it needs.
	if allowed(t, clients, user, authorizationv1.ResourceAttributes{Resource: "nodes", Verb: "delete"}) {
		t.Errorf("%s may delete nodes", user)
	}
	for _, attributes := range []authorizationv1.ResourceAttributes{
		{Group: "fulfillment.dev", Resource: "webhookendpoints", Verb: "watch"},
		{Group: "fulfillment.dev", Resource: "webhookendpoints", Subresource: "status", Verb: "patch", Namespace: "bots"},
		{Group: "apps", Resource: "deployments", Verb: "create", Namespace: "bots"},
		{Resource: "secrets", Verb: "create", Namespace: "bots"},
		{Group: "coordination.k8s.io", Resource: "leases", Verb: "update", Namespace: "fulfillment-system"},
	} {
		if !allowed(t, clients, user, attributes) {
			t.Errorf("%s may not %s %s/%s %s in %q", user, attributes.Verb, attributes.Group, attributes.Resource,
				attributes.Subresource, attributes.Namespace)
		}
	}
}

// allowed asks the API server's authorizer whether the ServiceAccount user may do what attributes say.
func allowed(t *testing.T, clients kubernetes.Interface, user string, attributes authorizationv1.ResourceAttributes) bool {
	t.Helper()
	review, err := clients.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &attributes,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:fulfillment-system", "system:authenticated"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return review.Status.Allowed
}
