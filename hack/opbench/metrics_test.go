package opbench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// managerMetrics reads the manager process's Prometheus metrics.
type managerMetrics struct {
	address string
}

// reconcileLine is a sample of controller_runtime_reconcile_total: its labels and its value.
var reconcileLine = regexp.MustCompile(`^controller_runtime_reconcile_total\{(.*)\} (\S+)$`)

var labelPair = regexp.MustCompile(`(\w+)="([^"]*)"`)

// reconcileCounts are controller-runtime's controller_runtime_reconcile_total by "controller result".
type reconcileCounts map[string]float64

func (m *managerMetrics) reconciles(b *testing.B) reconcileCounts {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.address+"/metrics", nil)
	if err != nil {
		b.Fatal(err)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		b.Fatalf("the manager's metrics: %v", err)
	}
	defer func() { _ = response.Body.Close() }()
	out := reconcileCounts{}
	scanner := bufio.NewScanner(response.Body)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		match := reconcileLine.FindStringSubmatch(scanner.Text())
		if match == nil {
			continue
		}
		labels := map[string]string{}
		for _, pair := range labelPair.FindAllStringSubmatch(match[1], -1) {
			labels[pair[1]] = pair[2]
		}
		value, err := strconv.ParseFloat(match[2], 64)
		if err != nil {
			b.Fatalf("the manager's metrics: %q: %v", scanner.Text(), err)
		}
		out[labels["controller"]+" "+labels["result"]] += value
	}
	if err := scanner.Err(); err != nil {
		b.Fatalf("the manager's metrics: %v", err)
	}
	return out
}

func (r reconcileCounts) minus(base reconcileCounts) reconcileCounts {
	out := reconcileCounts{}
	for k, v := range r {
		if d := v - base[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func (r reconcileCounts) total() int {
	n := 0.0
	for _, v := range r {
		n += v
	}
	return int(n)
}

func (r reconcileCounts) String() string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.0f", k, r[k]))
	}
	return strings.Join(parts, ", ")
}

func freeAddress() (string, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = listener.Close() }()
	return listener.Addr().String(), nil
}
