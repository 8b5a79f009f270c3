package main

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The selector every fulfillment panel filters on: the endpoints chosen in the dashboard's variables (label
// endpoint is namespace/name, on the server's metrics and on the operator's).
const endpoints = `endpoint=~"$endpoint"`

// controllers selects the operator's two controllers in controller-runtime's metrics.
const controllers = `controller=~"webhookendpoint|intentroute"`

// dashboardJSON is the dashboard as Grafana imports it, indented and ending in a newline.
func dashboardJSON() ([]byte, error) {
	board, err := fulfillmentDashboard().Build()
	if err != nil {
		return nil, fmt.Errorf("building the dashboard: %w", err)
	}
	numberPanels(&board)
	content, err := json.MarshalIndent(board, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(content, '\n'), nil
}

// numberPanels gives every row and panel its own id, which Grafana's links to a panel (viewPanel=ID) use.
//
//nolint:staticcheck // the classic JSON model, see fulfillmentDashboard
func numberPanels(board *dashboard.Dashboard) {
	for i, panel := range board.Panels {
		id := uint32(i + 1)
		switch {
		case panel.Panel != nil:
			panel.Panel.Id = &id
		case panel.RowPanel != nil:
			panel.RowPanel.Id = id
		}
	}
}

// fulfillmentDashboard is built in the classic dashboard JSON model, which the SDK marks deprecated in favour of
// the v2 schema: every Grafana release and provisioning sidecar imports the classic model, and v2 only Grafana 12
// with its dynamic dashboards.
//
//nolint:staticcheck // the classic JSON model, deprecated in the SDK only
func fulfillmentDashboard() *dashboard.DashboardBuilder {
	builder := dashboard.NewDashboardBuilder("Webhook fulfillment").
		Uid("fulfillment-operator").
		Description("WebhookEndpoints served by webhookserver, and the fulfillment-operator that runs them.").
		Tags([]string{"fulfillment", "webhook"}).
		Refresh("1m").
		Time("now-3h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")).
		WithVariable(namespaceVariable()).
		WithVariable(endpointVariable())
	for _, row := range rows() {
		builder = builder.WithRow(dashboard.NewRowBuilder(row.title))
		for _, panel := range row.panels {
			builder = builder.WithPanel(panel)
		}
	}
	return builder
}

// endpointSeries select one series per endpoint: the servers' for the endpoints they serve, and the operator's
// for every WebhookEndpoint, also one whose pods never started.
const endpointSeries = `{__name__=~"fulfillment_routes|fulfillment_operator_endpoint_ready"`

// namespaceVariable lists the namespaces of the endpoints, taken from the endpoint label.
func namespaceVariable() *dashboard.QueryVariableBuilder {
	query := `label_values(` + endpointSeries + `}, endpoint)`
	return dashboard.NewQueryVariableBuilder("namespace").Label("Namespace").
		Datasource(datasourceRef()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).Definition(query).
		Regex(`/^([^/]+)\/.*/`).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		IncludeAll(true).AllValue(".*")
}

// endpointVariable lists the endpoints (namespace/name) of the chosen namespace.
func endpointVariable() *dashboard.QueryVariableBuilder {
	query := `label_values(` + endpointSeries + `, endpoint=~"$namespace/.*"}, endpoint)`
	return dashboard.NewQueryVariableBuilder("endpoint").Label("Endpoint").
		Datasource(datasourceRef()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).IncludeAll(true)
}

func datasourceRef() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

type row struct {
	title  string
	panels []cog.Builder[dashboard.Panel]
}

func rows() []row {
	return []row{
		{"Requests", []cog.Builder[dashboard.Panel]{
			graph("Requests by status code and outcome", "reqps", "Answers per second by HTTP status code, and how many of them were the fallback: a chatbot dialect answers 200 with the fallback when an action fails.",
				query(`sum by (code) (rate(fulfillment_requests_total{`+endpoints+`}[$__rate_interval]))`, "{{code}}"),
				query(`sum(rate(fulfillment_fallbacks_total{`+endpoints+`, delivery="sync"}[$__rate_interval]))`, "of which fallback")),
			graph("Requests by route", "reqps", "Answers per second by the IntentRoute that answered; empty when none matched.",
				query(`sum by (route) (rate(fulfillment_requests_total{`+endpoints+`}[$__rate_interval]))`, "{{route}}")),
			graph("Latency against the deadline", "s", "Quantiles of the time to answer, and the endpoint's deadline (spec.timeout) they must stay under.",
				latency(0.5), latency(0.95), latency(0.99),
				query(`max by (endpoint) (fulfillment_endpoint_deadline_seconds{`+endpoints+`})`, "deadline {{endpoint}}")),
			graph("Fallbacks by reason", "reqps", "Fallback answers per second by reason (no_route, action_failed, deadline, answer_invalid) and delivery.",
				query(`sum by (reason, delivery) (rate(fulfillment_fallbacks_total{`+endpoints+`}[$__rate_interval]))`, "{{reason}} ({{delivery}})")),
			graph("Auth failures by reason", "reqps", "Refused requests per second by authentication method and reason.",
				query(`sum by (method, reason) (rate(fulfillment_auth_failures_total{`+endpoints+`}[$__rate_interval]))`, "{{method}}: {{reason}}")),
			graph("Action errors", "reqps", "Action failures answered with an error instead of a fallback (Generic without a route fallback).",
				query(`sum by (reason, delivery) (rate(fulfillment_action_errors_total{`+endpoints+`}[$__rate_interval]))`, "{{reason}} ({{delivery}})")),
		}},
		{"Upstreams", []cog.Builder[dashboard.Panel]{
			graph("Upstream latency by route (p95)", "s", "95th percentile of the time spent in call and forward actions, retries included.",
				query(`histogram_quantile(0.95, sum by (le, route) (rate(fulfillment_upstream_duration_seconds_bucket{`+endpoints+`}[$__rate_interval])))`, "{{route}}")),
			graph("Upstream errors by route", "reqps", "Call and forward actions that failed, by route and reason.",
				query(`sum by (route, outcome) (rate(fulfillment_upstream_requests_total{`+endpoints+`, outcome!="ok"}[$__rate_interval]))`, "{{route}}: {{outcome}}")),
			circuitStates(),
		}},
		{"Async delivery", []cog.Builder[dashboard.Panel]{
			graph("Queue depth", "short", "Events waiting in the delivery queues of Async endpoints, by state.",
				query(`sum by (endpoint, state) (fulfillment_queue_events{`+endpoints+`, state!="dead"})`, "{{endpoint}} {{state}}")),
			graph("Oldest waiting event", "s", "Age of the oldest event waiting in each Async endpoint's queue.",
				query(`max by (endpoint) (fulfillment_queue_oldest_event_age_seconds{`+endpoints+`})`, "{{endpoint}}")),
			graph("Dead letters", "short", "Events that exhausted delivery.maxAttempts; replay or drop them with the admin operations.",
				query(`max by (endpoint) (fulfillment_queue_events{`+endpoints+`, state="dead"})`, "{{endpoint}}")),
			graph("Delivery attempts", "ops", "Attempts to process queued events, by result.",
				query(`sum by (result) (rate(fulfillment_delivery_attempts_total{`+endpoints+`}[$__rate_interval]))`, "{{result}}")),
		}},
		{"Idempotency and configuration", []cog.Builder[dashboard.Panel]{
			graph("Idempotency replays", "reqps", "Duplicates answered from the idempotency store (replayed) and store errors.",
				query(`sum by (result, delivery) (rate(fulfillment_idempotency_total{`+endpoints+`}[$__rate_interval]))`, "{{result}} ({{delivery}})")),
			graph("Configuration reloads", "short", "Configuration loads by result, and replicas still serving an older configuration because the newest was refused.",
				query(`sum by (result) (increase(fulfillment_config_reloads_total[$__rate_interval]))`, "{{result}}"),
				query(`count(fulfillment_config_last_reload_successful == 0)`, "replicas refusing the newest configuration")),
		}},
		{"Operator", []cog.Builder[dashboard.Panel]{
			stat.NewPanelBuilder().Title("Ready endpoints").Unit("short").Span(12).Height(8).
				Description("WebhookEndpoints whose Ready condition is True, and those that are not.").
				Datasource(datasourceRef()).
				WithTarget(query(`sum(fulfillment_operator_endpoint_ready{`+endpoints+`})`, "Ready").RefId(refID(0))).
				WithTarget(query(`count(fulfillment_operator_endpoint_ready{`+endpoints+`} == 0) or vector(0)`, "not Ready").RefId(refID(1))),
			graph("Reconciles", "ops", "Reconciles per second of the operator's controllers, by result.",
				query(`sum by (controller, result) (rate(controller_runtime_reconcile_total{`+controllers+`}[$__rate_interval]))`, "{{controller}} {{result}}")),
			graph("Reconcile errors", "ops", "Reconciles that returned an error; the endpoint's status and the operator's log say why.",
				query(`sum by (controller) (rate(controller_runtime_reconcile_errors_total{`+controllers+`}[$__rate_interval]))`, "{{controller}}")),
			graph("Work queue", "short", "Objects waiting to be reconciled, and the 99th percentile of how long they wait.",
				query(`sum by (name) (workqueue_depth{name=~"webhookendpoint|intentroute"})`, "{{name}} depth"),
				query(`histogram_quantile(0.99, sum by (le, name) (rate(workqueue_queue_duration_seconds_bucket{name=~"webhookendpoint|intentroute"}[$__rate_interval])))`, "{{name}} wait p99")),
			graph("HMAC key age", "s", "Age of each generated HMAC key and the rotation interval it must stay under.",
				query(`max by (endpoint) (fulfillment_operator_hmac_key_age_seconds{`+endpoints+`})`, "age {{endpoint}}"),
				query(`max by (endpoint) (fulfillment_operator_hmac_key_rotation_interval_seconds{`+endpoints+`})`, "interval {{endpoint}}")),
			graph("Certificate time left", "s", "Time until the serving certificate expires: on the endpoint's status, and in the replicas serving it.",
				query(`min by (endpoint) (fulfillment_operator_certificate_not_after_seconds{`+endpoints+`}) - time()`, "status {{endpoint}}"),
				query(`min(fulfillment_tls_certificate_not_after_seconds > 0) - time()`, "served")),
		}},
	}
}

// graph is a time series panel, half the dashboard's width.
func graph(title, unit, description string, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	panel := timeseries.NewPanelBuilder().Title(title).Description(description).Unit(unit).Min(0).
		Span(12).Height(8).Datasource(datasourceRef())
	for i, target := range targets {
		panel = panel.WithTarget(target.RefId(refID(i)))
	}
	return panel
}

// refID names a panel's i-th query as Grafana does: A, B, C...
func refID(i int) string {
	return string(rune('A' + i))
}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(datasourceRef()).Expr(expr).LegendFormat(legend)
}

// latency is a quantile of the request duration per endpoint.
func latency(quantile float64) *prometheus.DataqueryBuilder {
	expr := fmt.Sprintf(`histogram_quantile(%g, sum by (le, endpoint) (rate(fulfillment_request_duration_seconds_bucket{%s}[$__rate_interval])))`, quantile, endpoints)
	return query(expr, fmt.Sprintf("p%g {{endpoint}}", quantile*100))
}

// circuitStates shows each upstream's circuit breaker (0 closed, 1 half-open, 2 open). Breakers are per
// upstream, shared by every endpoint that calls it, so the panel does not filter on endpoints.
func circuitStates() *timeseries.PanelBuilder {
	mapping := dashboard.ValueMapping{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			"0": {Text: cog.ToPtr("closed"), Color: cog.ToPtr("green")},
			"1": {Text: cog.ToPtr("half-open"), Color: cog.ToPtr("orange")},
			"2": {Text: cog.ToPtr("open"), Color: cog.ToPtr("red")},
		}}}
	return graph("Circuit breakers", "short", "State of each upstream's circuit breaker: an open one answers the fallback at once instead of calling the upstream.",
		query(`max by (upstream) (fulfillment_upstream_circuit_state)`, "{{upstream}}")).
		Max(2).Mappings([]dashboard.ValueMapping{mapping})
}
