package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

const (
	// podReportTimeout bounds one GET /statusz.
	podReportTimeout = 2 * time.Second
	// podReportConcurrency bounds the reports read at once for one endpoint.
	podReportConcurrency = 8
	// Requeue intervals: while pods load, while something is wrong, and to notice later refusals (a Secret
	// the kubelet mounts a minute after the operator saw it) once every pod serves the configuration.
	configurationLoadingRecheck = 2 * time.Second
	configurationProblemRecheck = 10 * time.Second
	configurationServedRecheck  = time.Minute
	// gatewayLoadingRecheck is how often an endpoint waiting for its gateway's pods looks again on its own: the
	// gateway's status changes when they serve it, and that change reconciles the endpoints still waiting.
	gatewayLoadingRecheck = 30 * time.Second
)

// PodReportReader reads the report a webhookserver pod serves on its metrics port (GET /statusz).
type PodReportReader struct {
	// Client sends the requests; nil uses podReportClient.
	Client *http.Client
}

// podReportClient is shared by every read, so that connections to the pods are kept and reused rather than
// opened by a new transport per read (whose idle connections would then never be closed).
var podReportClient = &http.Client{Timeout: podReportTimeout, Transport: &http.Transport{
	Proxy: nil, MaxIdleConnsPerHost: 1, IdleConnTimeout: 90 * time.Second,
}}

// Read reads the reports of pods, at most podReportConcurrency at a time, in the pods' order.
func (r *PodReportReader) Read(ctx context.Context, pods []corev1.Pod) []PodReport {
	reports := make([]PodReport, len(pods))
	limit := make(chan struct{}, podReportConcurrency)
	var wg sync.WaitGroup
	for i := range pods {
		wg.Add(1)
		limit <- struct{}{}
		go func() {
			defer func() { <-limit; wg.Done() }()
			reports[i] = unreadReport(&pods[i], "")
			report, err := r.read(ctx, &pods[i])
			if err != nil {
				reports[i].Error = err.Error()
				return
			}
			reports[i].Report = report
		}()
	}
	wg.Wait()
	return reports
}

// unreadReport is what is known of a running pod before its report is read, and why it was not (err).
func unreadReport(pod *corev1.Pod, err string) PodReport {
	return PodReport{Pod: pod.Name, Found: true, Ready: podReady(pod), Controller: controllerKind(pod), Error: err}
}

func (r *PodReportReader) read(ctx context.Context, pod *corev1.Pod) (statusz.Report, error) {
	httpClient := r.Client
	if httpClient == nil {
		httpClient = podReportClient
	}
	ctx, cancel := context.WithTimeout(ctx, podReportTimeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(int(metricsContainerPort(pod)))) + statusz.Path
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return statusz.Report{}, err
	}
	response, err := httpClient.Do(request)
	if err != nil {
		return statusz.Report{}, err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return statusz.Report{}, fmt.Errorf("GET %s: %s", url, response.Status)
	}
	body, err := io.ReadAll(io.LimitReader(response.Body, statusz.MaxBytes+1))
	if err != nil {
		return statusz.Report{}, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > statusz.MaxBytes {
		return statusz.Report{}, fmt.Errorf("GET %s: the report is over %d bytes", url, statusz.MaxBytes)
	}
	var report statusz.Report
	if err := json.Unmarshal(body, &report); err != nil {
		return statusz.Report{}, fmt.Errorf("GET %s: %w", url, err)
	}
	return report, nil
}

// metricsContainerPort is the port of the pod's container port named metrics (MetricsPort when it has none).
func metricsContainerPort(pod *corev1.Pod) int32 {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == metricsPortName {
				return p.ContainerPort
			}
		}
	}
	return MetricsPort
}

// runningPods are the endpoint's pods that can answer: with an address, not terminating, sorted by name.
func runningPods(ctx context.Context, reader client.Reader, endpoint *fulfillmentv1alpha1.WebhookEndpoint) ([]corev1.Pod, error) {
	var pods corev1.PodList
	if err := reader.List(ctx, &pods, client.InNamespace(endpoint.Namespace), client.MatchingLabels(SelectorLabels(endpoint))); err != nil {
		return nil, err
	}
	var running []corev1.Pod
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp == nil && pod.Status.PodIP != "" {
			running = append(running, pod)
		}
	}
	slices.SortFunc(running, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return running, nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// configurationCheck says whether every ready pod serves the configuration want (status.configHash), from
// their reports; pods not ready take no traffic and are left out. A pod that refused it, or refused the Secrets
// it reads, stalls the endpoint until the configuration or the Secret changes: the pods keep serving the
// previous configuration. A pod still on an earlier one is waited for; a report that could not be read is
// neither: the endpoint is not Ready on it. ok is false with no reason when no pod is ready.
func configurationCheck(want string, reports []PodReport) endpointCheck {
	var refused, unread, loading []string
	ready := 0
	for _, pod := range reports {
		if !pod.Ready {
			continue
		}
		ready++
		switch r := pod.Report.Configuration; {
		case pod.Error != "":
			unread = append(unread, fmt.Sprintf("pod %s: %s", pod.Pod, pod.Error))
		case r.Refused != nil && r.Refused.Version == want && r.Serving == want:
			refused = append(refused, fmt.Sprintf("pod %s refuses the Secrets of this configuration and serves them as they "+
				"were before: %s", pod.Pod, r.Refused.Error))
		case r.Refused != nil && r.Refused.Version == want:
			refused = append(refused, fmt.Sprintf("pod %s refuses it and keeps serving configuration %s: %s",
				pod.Pod, shortHash(r.Serving), r.Refused.Error))
		case r.Serving != want:
			loading = append(loading, pod.Pod)
		}
	}
	short := shortHash(want)
	switch {
	case ready == 0:
		return endpointCheck{}
	case len(refused) > 0:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonConfigurationRefused, stalled: true, message: fmt.Sprintf(
			"configuration %s is not served: %s; fix what the error names (a Secret's content, usually), and the pods "+
				"load it within a minute of the change", short, strings.Join(refused, "; "))}
	case len(unread) > 0:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonConfigurationUnconfirmed, message: fmt.Sprintf(
			"could not confirm that the pods serve configuration %s: %s; the operator reads GET %s on each ready pod's "+
				"metrics port (the endpoint's NetworkPolicy admits the operator's namespace; run the manager with "+
				"--confirm-pod-configuration=false where it cannot reach pods)", short, strings.Join(unread, "; "), statusz.Path)}
	case len(loading) > 0:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonConfigurationLoading, message: fmt.Sprintf(
			"%d/%d ready pods serve configuration %s; waiting for %s (the kubelet updates the mounted ConfigMap within "+
				"about a minute)", ready-len(loading), ready, short, strings.Join(loading, ", "))}
	}
	return endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonAvailable, message: fmt.Sprintf(
		"%s configuration %s", plural(int32(ready), "ready pod serves", "ready pods serve"), short)}
}

// configurationRecheck is when to ask the pods again after check.
func configurationRecheck(check endpointCheck) time.Duration {
	switch {
	case check.ok:
		return configurationServedRecheck
	case check.reason == fulfillmentv1alpha1.ReasonConfigurationLoading:
		return configurationLoadingRecheck
	default:
		return configurationProblemRecheck
	}
}

// shortHash is the first 12 characters of a configuration hash, as messages show it.
func shortHash(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
