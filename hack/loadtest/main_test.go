package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for _, v := range []int64{0, 1, 255, 256, 257, 511, 512, 1000, 123456, 9876543, int64(time.Minute), int64(time.Hour)} {
		got := bucketValue(bucketOf(v))
		if v < 256 && got != v {
			t.Errorf("%d: bucket value %d, want exact", v, got)
		}
		if rel := math.Abs(float64(got-v)) / float64(max(v, 1)); rel > 0.004 {
			t.Errorf("%d: bucket value %d, %.2f%% off", v, got, rel*100)
		}
	}
	// Buckets are in increasing order of value.
	for i := 1; i < bucketOf(int64(time.Hour)); i++ {
		if bucketValue(i) <= bucketValue(i-1) {
			t.Fatalf("bucket %d value %d <= bucket %d value %d", i, bucketValue(i), i-1, bucketValue(i-1))
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 10000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 5 * time.Millisecond, 0.9: 9 * time.Millisecond, 0.99: 9900 * time.Microsecond} {
		got := h.quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.005 {
			t.Errorf("p%v = %v, want %v", q*100, got, want)
		}
	}
	if h.quantile(1) != 10*time.Millisecond || h.quantile(0) != time.Microsecond {
		t.Errorf("max %v min %v", h.quantile(1), h.quantile(0))
	}
}

func TestRunCountsStatusesAndHeaders(t *testing.T) {
	var calls atomic.Int64
	var mu sync.Mutex
	seen := map[string]bool{}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		duplicate := seen[string(body)]
		seen[string(body)] = true
		mu.Unlock()
		if duplicate || !strings.HasPrefix(string(body), `{"q":"`) || user != "u" || pass != "p" || r.Header.Get("X-Test") != "a b" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if n%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer server.Close()

	for _, rate := range []string{"0", "200"} {
		var out, errOut bytes.Buffer
		code := run([]string{"-url", server.URL, "-body", `{"q":"ID"}`, "-id-token", "ID", "-basic", "u:p", "-header", "X-Test: a b",
			"-c", "4", "-d", "300ms", "-warmup", "50ms", "-rate", rate, "-json"}, &out, &errOut)
		if code != 0 {
			t.Fatalf("rate %s: exit %d: %s", rate, code, errOut.String())
		}
		var result Result
		if err := json.Unmarshal(out.Bytes(), &result); err != nil {
			t.Fatal(err)
		}
		if result.Requests == 0 || result.Status["400"] != 0 || result.Status["200"] == 0 || result.Status["503"] == 0 ||
			result.Errors != result.Status["503"] {
			t.Errorf("rate %s: %+v", rate, result)
		}
		if rate != "0" && (result.ScheduledLatency == nil || math.Abs(result.Throughput-200) > 40) {
			t.Errorf("rate %s: throughput %.1f, scheduled %v", rate, result.Throughput, result.ScheduledLatency)
		}
	}
}

func TestRefusesRemoteHosts(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-url", "http://192.0.2.1/x", "-d", "1s"}, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "not a loopback address") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}
