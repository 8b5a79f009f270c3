package config_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
)

// promQL is one PromQL expression of the shipped monitoring, named by where it is.
type promQL struct {
	where, expr string
}

// TestMonitoringSelectsExportedMetrics: every metric an alert or a dashboard panel selects is one the fulfillment
// server or the operator exports. Both run for real (the server in process on a sample-like configuration with a
// few requests, the manager on envtest), and their /metrics are scraped, so that a renamed metric, on either
// side, fails here instead of leaving a panel empty or an alert silent.
func TestMonitoringSelectsExportedMetrics(t *testing.T) {
	exported := scrapeFulfillmentServer(t)
	for name, kind := range scrapeManager(t) {
		exported[name] = kind
	}
	shipped := append(ruleExpressions(t), dashboardExpressions(t)...)
	if len(shipped) < 20 {
		t.Fatalf("found %d expressions in the rules and the dashboard: the files were not read as expected", len(shipped))
	}
	// A shipped alert with one metric renamed, as a change of the server would leave it.
	var renamed []promQL
	for _, e := range ruleExpressions(t) {
		if e.where == "alert FulfillmentLatencyNearDeadline" {
			renamed = append(renamed, promQL{e.where, strings.ReplaceAll(e.expr, "fulfillment_endpoint_deadline_seconds", "fulfillment_endpoint_timeout_seconds")})
		}
	}
	for name, tc := range map[string]struct {
		exprs []promQL
		want  []string
	}{
		"the shipped alerts and dashboard":             {exprs: shipped},
		"a shipped alert with a renamed metric":        {exprs: renamed, want: []string{"fulfillment_endpoint_timeout_seconds"}},
		"a misspelt counter":                           {exprs: []promQL{{"row", `rate(fulfillment_request_total[5m]) > 0`}}, want: []string{"fulfillment_request_total"}},
		"a misspelt operator metric":                   {exprs: []promQL{{"row", `fulfillment_operator_endpoint_readiness == 0`}}, want: []string{"fulfillment_operator_endpoint_readiness"}},
		"a bucket of a family that is not a histogram": {exprs: []promQL{{"row", `fulfillment_routes_bucket`}}, want: []string{"fulfillment_routes_bucket"}},
		"a histogram's buckets, sum and count": {exprs: []promQL{{"row",
			`sum(rate(fulfillment_request_duration_seconds_bucket[5m])) + sum(fulfillment_upstream_duration_seconds_sum) + sum(fulfillment_request_duration_seconds_count)`}}},
		"a selector by __name__": {exprs: []promQL{{"row", `{__name__="fulfillment_fallbacks_totals"}`}}, want: []string{"fulfillment_fallbacks_totals"}},
		"a selector by a list of names": {exprs: []promQL{{"row", `{__name__=~"fulfillment_routes|fulfillment_operator_endpoint_readys"}`}},
			want: []string{"fulfillment_operator_endpoint_readys"}},
	} {
		t.Run(name, func(t *testing.T) {
			var missing []string
			for _, e := range tc.exprs {
				names, err := selectedMetrics(e.expr)
				if err != nil {
					t.Errorf("%s: %v", e.where, err)
					continue
				}
				for _, n := range names {
					if !isExported(n, exported) {
						missing = append(missing, n)
						if tc.want == nil {
							t.Errorf("%s selects %s, which neither the fulfillment server nor the operator exports", e.where, n)
						}
					}
				}
			}
			if tc.want != nil && !slices.Equal(missing, tc.want) {
				t.Errorf("reported as missing %v, want %v", missing, tc.want)
			}
		})
	}
}

// TestAlertsHaveRunbooks: every alert has a severity, a summary and a description, and its runbook_url names a
// section of docs/alerts.md.
func TestAlertsHaveRunbooks(t *testing.T) {
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "alerts.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\w+)$`).FindAllStringSubmatch(string(content), -1) {
		sections[strings.ToLower(m[1])] = true
	}
	const prefix = "https://github.com/fulfillment-dev/fulfillment-operator/blob/main/docs/alerts.md#"
	for _, rule := range readRules(t) {
		if rule.Alert == "" {
			continue
		}
		if !slices.Contains([]string{"warning", "critical"}, rule.Labels["severity"]) {
			t.Errorf("%s: severity %q, want warning or critical", rule.Alert, rule.Labels["severity"])
		}
		if rule.Annotations["summary"] == "" || rule.Annotations["description"] == "" {
			t.Errorf("%s: needs a summary and a description", rule.Alert)
		}
		anchor, ok := strings.CutPrefix(rule.Annotations["runbook_url"], prefix)
		if !ok || anchor != strings.ToLower(rule.Alert) || !sections[anchor] {
			t.Errorf("%s: runbook_url %q must be %s%s, a section of docs/alerts.md", rule.Alert, rule.Annotations["runbook_url"], prefix, strings.ToLower(rule.Alert))
		}
	}
}

// nameAlternatives is a __name__ regular expression that lists names: a|b|c.
var nameAlternatives = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\|[a-zA-Z_:][a-zA-Z0-9_:]*)*$`)

// TestRulesLoadInPrometheus: the PrometheusRule's groups are what Prometheus loads from a rule file (the
// Prometheus Operator writes them there): each expression parses, each duration is one, and each annotation is a
// template Prometheus expands.
func TestRulesLoadInPrometheus(t *testing.T) {
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "prometheus", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(content, &rule); err != nil {
		t.Fatal(err)
	}
	ruleFile, err := yaml.Marshal(rule.Spec)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(ruleFile, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.Default())
	for _, err := range errs {
		t.Error(err)
	}
	if groups != nil && len(groups.Groups) == 0 {
		t.Error("the PrometheusRule has no rule groups")
	}
}

// selectedMetrics parses expr as Prometheus does and lists the metric names its selectors select.
func selectedMetrics(expr string) ([]string, error) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		selector, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		selected := []string{selector.Name}
		for _, m := range selector.LabelMatchers {
			switch {
			case m.Name != model.MetricNameLabel:
			case m.Type == labels.MatchEqual:
				selected = []string{m.Value}
			case m.Type == labels.MatchRegexp && nameAlternatives.MatchString(m.Value):
				selected = strings.Split(m.Value, "|")
			}
		}
		if selected[0] == "" {
			return fmt.Errorf("%s selects no metric by name (or by a list of names)", selector)
		}
		names = append(names, selected...)
		return nil
	})
	return names, nil
}

// isExported tells whether the scraped families hold name: a family, or a histogram's (or summary's) series.
func isExported(name string, exported map[string]string) bool {
	if _, ok := exported[name]; ok {
		return true
	}
	for suffix, kinds := range map[string][]string{"_bucket": {"histogram"}, "_sum": {"histogram", "summary"}, "_count": {"histogram", "summary"}} {
		if family, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(kinds, exported[family]) {
			return true
		}
	}
	return false
}

type alertRule struct {
	Alert       string            `json:"alert"`
	Record      string            `json:"record"`
	Expr        string            `json:"expr"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func readRules(t *testing.T) []alertRule {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "prometheus", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string `json:"kind"`
		Spec struct {
			Groups []struct {
				Rules []alertRule `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(content, &rule); err != nil {
		t.Fatal(err)
	}
	if rule.Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml holds a %q", rule.Kind)
	}
	var rules []alertRule
	for _, group := range rule.Spec.Groups {
		rules = append(rules, group.Rules...)
	}
	return rules
}

func ruleExpressions(t *testing.T) []promQL {
	var exprs []promQL
	for _, rule := range readRules(t) {
		exprs = append(exprs, promQL{"alert " + rule.Alert + rule.Record, rule.Expr})
	}
	return exprs
}

// grafanaVariables are the dashboard's variables, replaced by values of the same kind so that Prometheus's parser
// reads the query as Grafana sends it.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m")

// labelValues is a Grafana label_values(selector, label) variable query.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// dashboardExpressions are the queries of every panel and of the variables that take a selector.
func dashboardExpressions(t *testing.T) []promQL {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "grafana", "fulfillment-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var board struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(content, &board); err != nil {
		t.Fatal(err)
	}
	var exprs []promQL
	for _, panel := range board.Panels {
		for _, target := range panel.Targets {
			exprs = append(exprs, promQL{"panel " + panel.Title, grafanaVariables.Replace(target.Expr)})
		}
	}
	for _, variable := range board.Templating.List {
		query, _ := variable.Query.(string)
		if variable.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", variable.Name, query)
			continue
		}
		exprs = append(exprs, promQL{"variable " + variable.Name, m[1]})
	}
	return exprs
}

// scrapeFulfillmentServer runs the fulfillment server in process on two endpoints, a synchronous one whose routes
// call an upstream and an Async one, sends the requests that give each metric of the dashboard and the alerts a
// series (answers, a fallback, an auth failure, upstream calls that fail until the circuit opens, a replay, a
// queued event), and returns the families of its /metrics.
func scrapeFulfillmentServer(t *testing.T) map[string]string {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusServiceUnavailable) // a failure that counts towards opening the circuit
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id": 7}`)
	}))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	manifests := fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: orders-token, namespace: shop}
stringData: {token: s3cret-token}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: orders, namespace: shop}
spec:
  dialect: Generic
  path: /orders
  timeout: 2s
  fallback: {text: "Sorry."}
  auth: {bearer: {secretRef: {name: orders-token, key: token}}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: created, namespace: shop}
spec:
  endpointRef: {name: orders}
  match: {events: [order.created]}
  call: {url: %[1]q, method: POST, retry: {attempts: 1}, respond: {text: "Order ${response.body.id}"}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: failed, namespace: shop}
spec:
  endpointRef: {name: orders}
  match: {events: [order.failed]}
  call: {url: %[2]q, method: POST, retry: {attempts: 1}, respond: {text: "never"}}
---
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: events, namespace: shop}
spec:
  dialect: Generic
  path: /events
  auth: {allowUnauthenticated: true}
  delivery: {mode: Async, queue: Local}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: apply, namespace: shop}
spec:
  endpointRef: {name: events}
  match: {events: [invoice.paid]}
  respond: {text: "applied"}
`, upstream.URL+"/created", upstream.URL+"/broken")
	if err := os.WriteFile(filepath.Join(dir, "bots.yaml"), []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Source: &server.ManifestSource{Paths: []string{dir}, Endpoint: "shop/orders,shop/events"},
		QueueDir: t.TempDir(), ReloadInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var listeners server.Listeners
	for _, l := range []*net.Listener{&listeners.Webhook, &listeners.Metrics} {
		if *l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, listeners) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("the server stopped with %v", err)
		}
	})
	base := "http://" + listeners.Webhook.Addr().String()
	send := func(path, token, body string, want int) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		var resp *http.Response
		for range 100 { // the first configuration loads after the listeners open
			if resp, err = http.DefaultClient.Do(req.Clone(context.Background())); err == nil && resp.StatusCode != http.StatusServiceUnavailable {
				break
			}
			if err == nil {
				resp.Body.Close()
			}
			req.Body = io.NopCloser(strings.NewReader(body))
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s %s: %d %s, want %d", path, body, resp.StatusCode, answer, want)
		}
	}
	const token = "s3cret-token"
	send("/orders", token, `{"event":"order.created","id":"o-1"}`, http.StatusOK)
	send("/orders", token, `{"event":"order.created","id":"o-1"}`, http.StatusOK) // a replay
	send("/orders", token, `{"event":"order.unknown","id":"o-2"}`, http.StatusOK) // the fallback
	send("/orders", "wrong", `{"event":"order.created","id":"o-3"}`, http.StatusUnauthorized)
	for i := range 6 { // the circuit opens after 5 consecutive failures
		send("/orders", token, fmt.Sprintf(`{"event":"order.failed","id":"f-%d"}`, i), http.StatusBadGateway)
	}
	send("/events", "", `{"event":"invoice.paid","id":"evt-1"}`, http.StatusAccepted)
	metricsURL := "http://" + listeners.Metrics.Addr().String() + "/metrics"
	var families map[string]string
	deadline := time.Now().Add(10 * time.Second)
	for { // the queued event is delivered by a worker
		families = scrape(t, metricsURL)
		if _, ok := families["fulfillment_delivery_attempts_total"]; ok || time.Now().After(deadline) {
			return families
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrapeManager runs the operator's manager (controllers.Setup) on envtest with its metrics server on a loopback
// port, gives it an endpoint with a generated, rotated HMAC key and a SelfSigned certificate, and returns the
// families of its /metrics once the endpoint is reconciled.
func scrapeManager(t *testing.T) map[string]string {
	t.Helper()
	env := testenv.New()
	cfg, err := testenv.Start(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	scheme := clientgoscheme.Scheme
	if err := fulfillmentv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	address := freeLoopbackAddress(t)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: address},
		Cache: cache.Options{ByObject: controllers.CacheByObject()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	if err := controllers.Setup(ctx, mgr, controllers.Options{Image: "example.com/fulfillment:test"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("the manager stopped with %v", err)
		}
	})
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "events"},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Dialect: fulfillmentv1alpha1.DialectGeneric,
			Auth: fulfillmentv1alpha1.EndpointAuth{HMAC: &fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeStandardWebhooks,
				Rotation: &fulfillmentv1alpha1.KeyRotation{Interval: metav1.Duration{Duration: 24 * time.Hour}}}},
			TLS: &fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSelfSigned},
		},
	}
	if err := k8s.Create(ctx, endpoint); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(endpoint), endpoint); err != nil {
			t.Fatal(err)
		}
		reconciled := meta.FindStatusCondition(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionReady) != nil &&
			endpoint.Status.Certificate != nil && endpoint.Status.LastKeyRotationTime != nil
		if reconciled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint's status was not written: %+v", endpoint.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The reconcile records the endpoint's metrics right after writing its status: wait for its four series.
	for {
		families := scrape(t, "http://"+address+"/metrics")
		own := 0
		for name := range families {
			if strings.HasPrefix(name, "fulfillment_operator_") {
				own++
			}
		}
		if own >= 4 || time.Now().After(deadline) {
			return families
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeLoopbackAddress is a loopback address with a port nobody listens on, for a server that takes an address
// rather than a listener.
func freeLoopbackAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return address
}

// scrape reads a /metrics page in Prometheus's text format and returns its families with their types.
func scrape(t *testing.T, address string) map[string]string {
	t.Helper()
	var resp *http.Response
	var err error
	for range 100 { // the manager's metrics server starts with the manager
		if resp, err = http.Get(address); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", address, resp.Status)
	}
	families := map[string]string{}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for lines.Scan() {
		if fields := strings.Fields(lines.Text()); len(fields) == 4 && fields[0] == "#" && fields[1] == "TYPE" {
			families[fields[2]] = fields[3]
		}
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	if len(families) == 0 {
		t.Fatalf("GET %s: no metric families", address)
	}
	return families
}
