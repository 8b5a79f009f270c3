package opbench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// countObjects counts the objects of every namespaced resource the API server serves in the benchmark's
// namespaces (opbench-*): what the operator and the cluster's controllers made of the endpoints and routes.
func countObjects(ctx context.Context, admin *rest.Config) (string, error) {
	config := rest.CopyConfig(admin)
	// Listing every resource lists deprecated ones (v1 Endpoints) too: their warnings say nothing here.
	config.WarningHandler = rest.NoWarnings{}
	discoveryClient, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return "", err
	}
	metadataClient, err := metadata.NewForConfig(config)
	if err != nil {
		return "", err
	}
	lists, err := discoveryClient.ServerPreferredNamespacedResources()
	if err != nil {
		return "", err
	}
	counts := map[string]int{}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return "", err
		}
		for _, resource := range list.APIResources {
			if strings.Contains(resource.Name, "/") || !slices.Contains(resource.Verbs, "list") {
				continue
			}
			objects, err := metadataClient.Resource(gv.WithResource(resource.Name)).List(ctx, metav1.ListOptions{})
			if err != nil {
				return "", fmt.Errorf("listing %s: %w", resource.Name, err)
			}
			for _, object := range objects.Items {
				if strings.HasPrefix(object.Namespace, "opbench-") {
					counts[resource.Name]++
				}
			}
		}
	}
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, name := range names {
		fmt.Fprintf(&sb, "  %7d  %s\n", counts[name], name)
	}
	return sb.String(), nil
}

// processMemory reads VmRSS and VmHWM (the peak resident size) in MiB from /proc/<pid>/status.
func processMemory(pid int) (rss, peak float64) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, 0
	}
	defer func() { _ = f.Close() }()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if name == "VmRSS" {
			rss = kb / 1024
		} else {
			peak = kb / 1024
		}
	}
	return rss, peak
}

// childProcesses are this process's children running the binary named comm (as /proc/<pid>/stat says it): the
// local kubelet starts the pods' containers as such children.
func childProcesses(comm string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 || s[open+1:closing] != comm {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == self {
			pids = append(pids, pid)
		}
	}
	return pids
}
