package charts_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

const (
	releaseName      = "fulfillment-operator"
	releaseNamespace = "fulfillment-system"
	// prefix is the object name prefix of a release named after the chart, as config/default's namePrefix.
	prefix = "fulfillment-operator-"
)

// TestChartFilesInSync: crds/ and files/ are exactly what hack/sync-chart.sh copies from config/ now, so that
// the chart cannot install other CRDs or grant other permissions than config/default (`make chart` fixes it).
func TestChartFilesInSync(t *testing.T) {
	fresh := t.TempDir()
	cmd := exec.Command(filepath.Join(testenv.RepoRoot(), "hack", "sync-chart.sh"), fresh)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/sync-chart.sh: %v\n%s", err, out)
	}
	for _, dir := range []string{"crds", "files"} {
		want, got := readTree(t, filepath.Join(fresh, dir)), readTree(t, filepath.Join(chartDir(), dir))
		if len(want) == 0 {
			t.Fatalf("hack/sync-chart.sh wrote nothing into %s", dir)
		}
		for name, content := range want {
			if got[name] != content {
				t.Errorf("charts/fulfillment-operator/%s/%s differs from its source in config/: run `make chart`", dir, name)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("charts/fulfillment-operator/%s/%s has no source in config/ any more: run `make chart`", dir, name)
			}
		}
	}
}

// readTree is the content of each file of dir by name (dir holds no folders).
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, entry := range entries {
		content, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[entry.Name()] = string(content)
	}
	return files
}

// TestChartLint: `helm lint` finds nothing to warn about, with the default values and with every option on.
func TestChartLint(t *testing.T) {
	for name, values := range map[string]map[string]any{"defaults": nil, "everything on": everythingOn()} {
		result := lint.RunAll(chartDir(), values, releaseNamespace)
		for _, message := range result.Messages {
			if message.Severity >= support.WarningSev {
				t.Errorf("%s: %s", name, message)
			}
		}
	}
}

func everythingOn() map[string]any {
	return map[string]any{
		"watchNamespaces":  []any{"a", "b"},
		"metrics":          map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
		"prometheusRule":   map[string]any{"enabled": true},
		"grafanaDashboard": map[string]any{"enabled": true},
	}
}

// TestChartDefaultsRunManagerAsConfigDefault: with default values the chart installs config/default's operator:
// the manager container and pod of config/manager/manager.yaml (image aside), its generated ClusterRole bound to
// the chart's ServiceAccount, the leader election Role, the metrics Service and the aggregated user roles.
func TestChartDefaultsRunManagerAsConfigDefault(t *testing.T) {
	release := render(t, releaseName, releaseNamespace, nil)

	wantKinds := map[string]int{"ServiceAccount": 1, "ClusterRole": 3, "ClusterRoleBinding": 1, "Role": 1,
		"RoleBinding": 1, "Deployment": 1, "Service": 1}
	if diff := cmp.Diff(wantKinds, release.kinds()); diff != "" {
		t.Errorf("rendered kinds (-want +got):\n%s", diff)
	}
	for _, object := range release.objects {
		if namespaced := !strings.HasPrefix(object.GetKind(), "Cluster"); namespaced && object.GetNamespace() != releaseNamespace {
			t.Errorf("%s %s is in namespace %q, want the release's", object.GetKind(), object.GetName(), object.GetNamespace())
		}
	}

	role := as[rbacv1.ClusterRole](t, release.mustFind(t, "ClusterRole", "", prefix+"manager-role"))
	if diff := cmp.Diff(configRules(t, "config/rbac/role.yaml"), role.Rules); diff != "" {
		t.Errorf("the chart's manager ClusterRole differs from config/rbac/role.yaml (-want +got):\n%s", diff)
	}
	binding := as[rbacv1.ClusterRoleBinding](t, release.mustFind(t, "ClusterRoleBinding", "", prefix+"manager-rolebinding"))
	checkBinding(t, binding.RoleRef, binding.Subjects, "ClusterRole")

	leaderRole := as[rbacv1.Role](t, release.mustFind(t, "Role", releaseNamespace, prefix+"leader-election-role"))
	if diff := cmp.Diff(configRules(t, "config/rbac/leader_election_role.yaml"), leaderRole.Rules); diff != "" {
		t.Errorf("the leader election Role differs from config/rbac/leader_election_role.yaml (-want +got):\n%s", diff)
	}
	leaderBinding := as[rbacv1.RoleBinding](t, release.mustFind(t, "RoleBinding", releaseNamespace, prefix+"leader-election-rolebinding"))
	checkBinding(t, leaderBinding.RoleRef, leaderBinding.Subjects, "Role")

	for file, name := range map[string]string{"fulfillment_editor_role.yaml": "editor-role", "fulfillment_viewer_role.yaml": "viewer-role"} {
		want := configRole(t, "config/rbac/"+file)
		got := as[rbacv1.ClusterRole](t, release.mustFind(t, "ClusterRole", "", prefix+name))
		if diff := cmp.Diff(want.Rules, got.Rules); diff != "" {
			t.Errorf("%s differs from config/rbac/%s (-want +got):\n%s", name, file, diff)
		}
		for key, value := range want.Labels {
			if strings.HasPrefix(key, "rbac.authorization.k8s.io/") && got.Labels[key] != value {
				t.Errorf("%s lacks the aggregation label %s=%s of config/rbac/%s", name, key, value, file)
			}
		}
	}

	deployment := as[appsv1.Deployment](t, release.mustFind(t, "Deployment", releaseNamespace, prefix+"controller-manager"))
	checkRunsAsConfigDefault(t, deployment)
	image := configImage(t)
	manager := deployment.Spec.Template.Spec.Containers[0]
	if manager.Image != image || envValue(manager, "WEBHOOKSERVER_IMAGE") != image {
		t.Errorf("manager image %q, WEBHOOKSERVER_IMAGE %q; want both %q (config/manager's image)", manager.Image,
			envValue(manager, "WEBHOOKSERVER_IMAGE"), image)
	}

	service := as[corev1.Service](t, release.mustFind(t, "Service", releaseNamespace, prefix+"controller-manager-metrics"))
	if !selects(service.Spec.Selector, deployment.Spec.Template.Labels) || service.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("the metrics Service does not reach the manager's metrics port: %+v", service.Spec)
	}
	if !strings.Contains(release.notes, "kind: WebhookEndpoint") {
		t.Errorf("NOTES.txt shows no first endpoint:\n%s", release.notes)
	}
}

// checkRunsAsConfigDefault compares the manager's pod with config/manager/manager.yaml's.
func checkRunsAsConfigDefault(t *testing.T, deployment *appsv1.Deployment) {
	t.Helper()
	want := configDeployment(t)
	wantPod, gotPod := want.Spec.Template.Spec, deployment.Spec.Template.Spec
	if len(gotPod.Containers) != 1 {
		t.Fatalf("the manager pod has %d containers, want 1", len(gotPod.Containers))
	}
	wantManager, gotManager := wantPod.Containers[0], gotPod.Containers[0]
	for _, field := range []struct {
		name      string
		want, got any
	}{
		{"command", wantManager.Command, gotManager.Command},
		{"args", wantManager.Args, gotManager.Args},
		{"ports", wantManager.Ports, gotManager.Ports},
		{"liveness probe", wantManager.LivenessProbe, gotManager.LivenessProbe},
		{"readiness probe", wantManager.ReadinessProbe, gotManager.ReadinessProbe},
		{"container security context", wantManager.SecurityContext, gotManager.SecurityContext},
		{"resources", wantManager.Resources, gotManager.Resources},
		{"POD_NAMESPACE", envFrom(wantManager, "POD_NAMESPACE"), envFrom(gotManager, "POD_NAMESPACE")},
		{"pod security context", wantPod.SecurityContext, gotPod.SecurityContext},
		{"termination grace period", wantPod.TerminationGracePeriodSeconds, gotPod.TerminationGracePeriodSeconds},
		{"replicas", want.Spec.Replicas, deployment.Spec.Replicas},
		{"default container", want.Spec.Template.Annotations, deployment.Spec.Template.Annotations},
	} {
		if diff := cmp.Diff(field.want, field.got); diff != "" {
			t.Errorf("manager %s differs from config/manager/manager.yaml (-want +got):\n%s", field.name, diff)
		}
	}
	if gotPod.ServiceAccountName != prefix+"controller-manager" {
		t.Errorf("service account %q", gotPod.ServiceAccountName)
	}
}

// TestChartWatchNamespaces: with watchNamespaces the manager's rules are granted by a Role in each watched
// namespace, none cluster-wide, and the manager watches those namespaces only.
func TestChartWatchNamespaces(t *testing.T) {
	release := render(t, releaseName, releaseNamespace, map[string]any{"watchNamespaces": []any{"a", "b"}})
	if object := release.find("ClusterRole", "", prefix+"manager-role"); object != nil {
		t.Error("the manager ClusterRole is rendered although watchNamespaces is set")
	}
	if n := release.kinds()["ClusterRoleBinding"]; n != 0 {
		t.Errorf("%d ClusterRoleBindings rendered, want none", n)
	}
	want := configRules(t, "config/rbac/role.yaml")
	for _, namespace := range []string{"a", "b"} {
		role := as[rbacv1.Role](t, release.mustFind(t, "Role", namespace, prefix+"manager-role"))
		if diff := cmp.Diff(want, role.Rules); diff != "" {
			t.Errorf("the Role in %s differs from config/rbac/role.yaml (-want +got):\n%s", namespace, diff)
		}
		binding := as[rbacv1.RoleBinding](t, release.mustFind(t, "RoleBinding", namespace, prefix+"manager-rolebinding"))
		checkBinding(t, binding.RoleRef, binding.Subjects, "Role")
	}
	deployment := as[appsv1.Deployment](t, release.mustFind(t, "Deployment", releaseNamespace, prefix+"controller-manager"))
	if args := deployment.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--watch-namespaces=a,b") {
		t.Errorf("manager args %q lack --watch-namespaces=a,b", args)
	}
	if !strings.Contains(release.notes, "kubectl apply -n a") {
		t.Errorf("NOTES.txt does not create the first endpoint in a watched namespace:\n%s", release.notes)
	}
}

// TestChartMonitoring: the ServiceMonitor scrapes the metrics Service, the PrometheusRule carries
// config/prometheus/prometheusrule.yaml's groups and the dashboard ConfigMap config/grafana's dashboard, labelled
// for the Grafana sidecar.
func TestChartMonitoring(t *testing.T) {
	release := render(t, releaseName, releaseNamespace, map[string]any{
		"metrics":          map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "kube-prometheus-stack"}}},
		"prometheusRule":   map[string]any{"enabled": true, "labels": map[string]any{"release": "kube-prometheus-stack"}},
		"grafanaDashboard": map[string]any{"enabled": true, "namespace": "monitoring"},
	})

	monitor := release.mustFind(t, "ServiceMonitor", releaseNamespace, prefix+"controller-manager")
	service := as[corev1.Service](t, release.mustFind(t, "Service", releaseNamespace, prefix+"controller-manager-metrics"))
	selector, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	if len(selector) == 0 || !selects(selector, service.Labels) {
		t.Errorf("the ServiceMonitor selector %v does not select the metrics Service %v", selector, service.Labels)
	}
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	if len(endpoints) != 1 || endpoints[0].(map[string]any)["port"] != service.Spec.Ports[0].Name {
		t.Errorf("the ServiceMonitor endpoints %v do not scrape the Service's port %q", endpoints, service.Spec.Ports[0].Name)
	}
	if monitor.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("the ServiceMonitor lacks its extra labels: %v", monitor.GetLabels())
	}

	rule := release.mustFind(t, "PrometheusRule", releaseNamespace, prefix[:len(prefix)-1])
	source := &unstructured.Unstructured{}
	readYAML(t, "config/prometheus/prometheusrule.yaml", &source.Object)
	wantGroups, _, _ := unstructured.NestedSlice(source.Object, "spec", "groups")
	gotGroups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	if len(wantGroups) == 0 {
		t.Fatal("config/prometheus/prometheusrule.yaml has no spec.groups")
	}
	if diff := cmp.Diff(wantGroups, gotGroups); diff != "" {
		t.Errorf("the PrometheusRule's groups differ from config/prometheus/prometheusrule.yaml (-want +got):\n%s", diff)
	}
	if rule.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("the PrometheusRule lacks its extra labels: %v", rule.GetLabels())
	}

	dashboard := as[corev1.ConfigMap](t, release.mustFind(t, "ConfigMap", "monitoring", prefix+"dashboard"))
	if dashboard.Labels["grafana_dashboard"] != "1" {
		t.Errorf("the dashboard ConfigMap lacks the Grafana sidecar's label: %v", dashboard.Labels)
	}
	var want, got any
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "grafana", "fulfillment-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(content, &want); err != nil {
		t.Fatalf("config/grafana/fulfillment-dashboard.json: %v", err)
	}
	if err := json.Unmarshal([]byte(dashboard.Data["fulfillment-dashboard.json"]), &got); err != nil {
		t.Fatalf("the dashboard in the ConfigMap is not JSON: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the dashboard differs from config/grafana/fulfillment-dashboard.json (-want +got):\n%s", diff)
	}
}

// TestChartValues: each value lands where it says.
func TestChartValues(t *testing.T) {
	release := render(t, "ops", "operators", map[string]any{
		"image": map[string]any{"repository": "registry.example.com/fulfillment-operator", "tag": "v9.9.9",
			"pullPolicy": "Always", "pullSecrets": []any{"registry"}},
		"webhookserverImage": "registry.example.com/fulfillment-operator@sha256:" + strings.Repeat("a", 64),
		"replicas":           3,
		"extraArgs":          []any{"--require-secret-reference-label", "--zap-log-level=debug"},
		"resources":          map[string]any{"limits": map[string]any{"memory": "1Gi"}},
		"serviceAccount":     map[string]any{"annotations": map[string]any{"iam.example.com/role": "fulfillment"}},
		"nodeSelector":       map[string]any{"kubernetes.io/os": "linux"},
		"tolerations":        []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "operators", "effect": "NoSchedule"}},
		"priorityClassName":  "system-cluster-critical",
		"commonLabels":       map[string]any{"team": "platform"},
		"podLabels":          map[string]any{"sidecar.istio.io/inject": "false"},
		"podAnnotations":     map[string]any{"example.com/scrape": "true"},
		"rbac":               map[string]any{"aggregateToUserRoles": false},
	})
	for _, object := range release.objects {
		if object.GetLabels()["team"] != "platform" {
			t.Errorf("%s %s lacks the common label", object.GetKind(), object.GetName())
		}
	}
	if n := release.kinds()["ClusterRole"]; n != 1 {
		t.Errorf("%d ClusterRoles with aggregateToUserRoles false, want the manager's only", n)
	}
	// A release not named after the chart prefixes its names with both.
	deployment := as[appsv1.Deployment](t, release.mustFind(t, "Deployment", "operators", "ops-fulfillment-operator-controller-manager"))
	pod := deployment.Spec.Template
	manager := pod.Spec.Containers[0]
	for _, check := range []struct {
		what      string
		want, got any
	}{
		{"image", "registry.example.com/fulfillment-operator:v9.9.9", manager.Image},
		{"pull policy", corev1.PullAlways, manager.ImagePullPolicy},
		{"pull secrets", []corev1.LocalObjectReference{{Name: "registry"}}, pod.Spec.ImagePullSecrets},
		{"WEBHOOKSERVER_IMAGE", "registry.example.com/fulfillment-operator@sha256:" + strings.Repeat("a", 64), envValue(manager, "WEBHOOKSERVER_IMAGE")},
		{"replicas", int32(3), *deployment.Spec.Replicas},
		{"args", []string{"--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081",
			"--require-secret-reference-label", "--zap-log-level=debug"}, manager.Args},
		{"memory limit", "1Gi", manager.Resources.Limits.Memory().String()},
		{"node selector", map[string]string{"kubernetes.io/os": "linux"}, pod.Spec.NodeSelector},
		{"tolerations", 1, len(pod.Spec.Tolerations)},
		{"priority class", "system-cluster-critical", pod.Spec.PriorityClassName},
		{"pod label", "false", pod.Labels["sidecar.istio.io/inject"]},
		{"pod annotation", "true", pod.Annotations["example.com/scrape"]},
	} {
		if diff := cmp.Diff(check.want, check.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", check.what, diff)
		}
	}
	if !selects(deployment.Spec.Selector.MatchLabels, pod.Labels) {
		t.Errorf("the Deployment's selector %v does not select its pods %v", deployment.Spec.Selector.MatchLabels, pod.Labels)
	}
	account := release.mustFind(t, "ServiceAccount", "operators", "ops-fulfillment-operator-controller-manager")
	if account.GetAnnotations()["iam.example.com/role"] != "fulfillment" {
		t.Errorf("ServiceAccount annotations %v", account.GetAnnotations())
	}

	single := render(t, releaseName, releaseNamespace, map[string]any{"leaderElection": map[string]any{"enabled": false}})
	manager = as[appsv1.Deployment](t, single.mustFind(t, "Deployment", releaseNamespace, prefix+"controller-manager")).Spec.Template.Spec.Containers[0]
	if slices.Contains(manager.Args, "--leader-elect") || single.find("Role", releaseNamespace, prefix+"leader-election-role") != nil {
		t.Errorf("leader election is off, yet the manager has %q and the leader election Role is rendered", manager.Args)
	}
}

// TestChartSchemaRefusesBadValues: values.schema.json refuses a typo or a wrong type before anything renders.
func TestChartSchemaRefusesBadValues(t *testing.T) {
	for name, c := range map[string]struct {
		values map[string]any
		// where is what the refusal names: the value's path, or the unknown key.
		where string
	}{
		"replicas as a word":           {map[string]any{"replicas": "two"}, "'/replicas': got string, want integer"},
		"unknown top-level key":        {map[string]any{"replica": 2}, "additional properties 'replica' not allowed"},
		"unknown key under image":      {map[string]any{"image": map[string]any{"repo": "x"}}, "additional properties 'repo'"},
		"unknown pull policy":          {map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}, "'/image/pullPolicy'"},
		"invalid namespace name":       {map[string]any{"watchNamespaces": []any{"Team_A"}}, "'/watchNamespaces/0'"},
		"namespace listed twice":       {map[string]any{"watchNamespaces": []any{"a", "a"}}, "'/watchNamespaces': items at 0 and 1 are equal"},
		"flag without dashes":          {map[string]any{"extraArgs": []any{"leader-elect"}}, "'/extraArgs/0'"},
		"replicas without election":    {map[string]any{"replicas": 2, "leaderElection": map[string]any{"enabled": false}}, "'/replicas': maximum"},
		"ServiceMonitor, no Service":   {map[string]any{"metrics": map[string]any{"service": map[string]any{"enabled": false}, "serviceMonitor": map[string]any{"enabled": true}}}, "'/metrics/service/enabled'"},
		"scrape interval not duration": {map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{"interval": "often"}}}, "'/metrics/serviceMonitor/interval'"},
		"label value not a string":     {map[string]any{"commonLabels": map[string]any{"tier": 1}}, "'/commonLabels/tier'"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := renderValues(t, releaseName, releaseNamespace, c.values)
			if err == nil {
				t.Fatalf("the chart rendered with %v", c.values)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), c.where) {
				t.Errorf("refused, but not by the schema at %s: %v", c.where, err)
			}
		})
	}
	// The schema's conditions refuse only what they say: one replica without leader election is fine.
	if _, err := renderValues(t, releaseName, releaseNamespace, map[string]any{"replicas": 1,
		"leaderElection": map[string]any{"enabled": false}}); err != nil {
		t.Errorf("one replica without leader election refused: %v", err)
	}
}

// checkBinding checks that a binding grants the role of kind to the chart's ServiceAccount in its namespace.
func checkBinding(t *testing.T, ref rbacv1.RoleRef, subjects []rbacv1.Subject, kind string) {
	t.Helper()
	if ref.Kind != kind || !strings.HasPrefix(ref.Name, prefix) {
		t.Errorf("binding refers to %s %s, want a %s of the chart", ref.Kind, ref.Name, kind)
	}
	want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: prefix + "controller-manager", Namespace: releaseNamespace}}
	if diff := cmp.Diff(want, subjects); diff != "" {
		t.Errorf("binding to %s subjects (-want +got):\n%s", ref.Name, diff)
	}
}

// as converts a rendered object into its typed form.
func as[T any](t *testing.T, object *unstructured.Unstructured) *T {
	t.Helper()
	typed := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(object.Object, typed, true); err != nil {
		t.Fatalf("%s %s: %v", object.GetKind(), object.GetName(), err)
	}
	return typed
}

// readYAML reads a repository file into out.
func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), path))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(content, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func configRole(t *testing.T, path string) *rbacv1.ClusterRole {
	t.Helper()
	role := &rbacv1.ClusterRole{}
	readYAML(t, path, role)
	if len(role.Rules) == 0 {
		t.Fatalf("%s has no rules", path)
	}
	return role
}

// configRules are the rules of a role in config/rbac (a Role and a ClusterRole read alike).
func configRules(t *testing.T, path string) []rbacv1.PolicyRule { return configRole(t, path).Rules }

// configDeployment is the manager Deployment of config/manager/manager.yaml (after its Namespace).
func configDeployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "manager", "manager.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objects, err := decodeObjects(content)
	if err != nil {
		t.Fatal(err)
	}
	for _, object := range objects {
		if object.GetKind() == "Deployment" {
			return as[appsv1.Deployment](t, object)
		}
	}
	t.Fatal("config/manager/manager.yaml has no Deployment")
	return nil
}

// configImage is the image config/manager's kustomization sets (newName:newTag): the chart's default
// repository and appVersion must name the same release.
func configImage(t *testing.T) string {
	t.Helper()
	var kustomization struct {
		Images []struct{ NewName, NewTag string } `json:"images"`
	}
	readYAML(t, "config/manager/kustomization.yaml", &kustomization)
	if len(kustomization.Images) != 1 {
		t.Fatalf("config/manager/kustomization.yaml sets %d images, want 1", len(kustomization.Images))
	}
	return kustomization.Images[0].NewName + ":" + kustomization.Images[0].NewTag
}

func envValue(container corev1.Container, name string) string {
	for _, env := range container.Env {
		if env.Name == name {
			return env.Value
		}
	}
	return ""
}

func envFrom(container corev1.Container, name string) *corev1.EnvVarSource {
	for _, env := range container.Env {
		if env.Name == name {
			return env.ValueFrom
		}
	}
	return nil
}

// selects tells whether a selector's labels are all among labels.
func selects(selector, labels map[string]string) bool {
	for key, value := range selector {
		if labels[key] != value {
			return false
		}
	}
	return len(selector) > 0
}
