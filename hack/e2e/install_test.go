package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster"
)

// TestOperatorRunsFromInstallYAML: the stack's operator is install.yaml's Deployment run as a process. It
// authenticates as the Deployment's ServiceAccount, with no permission but what install.yaml binds, leads
// through the Lease its --leader-elect asks for, and with that alone brings a sample endpoint (generated key,
// StatefulSet, claim) to Ready.
func TestOperatorRunsFromInstallYAML(t *testing.T) {
	t.Run("the operator authenticates as install.yaml's ServiceAccount", func(t *testing.T) {
		who := kubectl(t, "--kubeconfig", cluster.OperatorKubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		if who != devcluster.OperatorUser {
			t.Errorf("the operator is %q, want %s", who, devcluster.OperatorUser)
		}
	})

	t.Run("only install.yaml's bindings grant the operator anything", func(t *testing.T) {
		bindings := operatorBindings(t, "clusterrolebindings", "")
		if want := []string{"fulfillment-operator-manager-rolebinding"}; !slices.Equal(bindings, want) {
			t.Errorf("ClusterRoleBindings naming the operator: %v, want %v", bindings, want)
		}
		bindings = operatorBindings(t, "rolebindings", "fulfillment-system")
		if want := []string{"fulfillment-operator-leader-election-rolebinding"}; !slices.Equal(bindings, want) {
			t.Errorf("RoleBindings naming the operator in fulfillment-system: %v, want %v", bindings, want)
		}
	})

	t.Run("the operator holds its leader election Lease", func(t *testing.T) {
		holder := kubectl(t, "get", "lease", "fulfillment-operator.fulfillment.dev", "-n", "fulfillment-system",
			"-o", "jsonpath={.spec.holderIdentity}")
		if holder == "" {
			t.Error("the Lease has no holder")
		}
	})

	t.Run("a sample endpoint reaches Ready", func(t *testing.T) {
		const ns = "e2e-install"
		kubectl(t, "create", "namespace", ns)
		t.Cleanup(func() { _, _ = kubectlResult("delete", "namespace", ns, "--wait=false") })
		kubectl(t, "apply", "-n", ns, "-f", "config/samples/generic-events/")
		kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "webhookendpoint/payments-events", "--timeout=120s")
		if key := secretValue(t, ns, "payments-events-hmac", "secret"); !strings.HasPrefix(key, "whsec_") {
			t.Error("the generated signing key is not in whsec_ format")
		}
	})
}

// operatorBindings are the names of the role bindings of a kind that name the operator, as its
// ServiceAccount or as its user name.
func operatorBindings(t *testing.T, kind, namespace string) []string {
	t.Helper()
	args := []string{"get", kind, "-o", "json"}
	if namespace != "" {
		args = append(args, "-n", namespace)
	}
	var list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
			Subjects []rbacv1.Subject      `json:"subjects"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(kubectl(t, args...)), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, binding := range list.Items {
		for _, subject := range binding.Subjects {
			serviceAccount := subject.Kind == rbacv1.ServiceAccountKind &&
				"system:serviceaccount:"+subject.Namespace+":"+subject.Name == devcluster.OperatorUser
			if serviceAccount || (subject.Kind == rbacv1.UserKind && subject.Name == devcluster.OperatorUser) {
				names = append(names, binding.Metadata.Name)
				break
			}
		}
	}
	slices.Sort(names)
	return names
}
