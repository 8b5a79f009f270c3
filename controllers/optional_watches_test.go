package controllers

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestOptionalWatchesAddAKindInstalledLater: a kind installed at start is watched at once, one installed later
// when discovery is next asked, each once; a failed discovery or watch is tried again.
func TestOptionalWatchesAddAKindInstalledLater(t *testing.T) {
	var mu sync.Mutex
	checks := map[schema.GroupVersionKind]int{}
	watched := map[schema.GroupVersionKind]int{}
	failWatchOnce := true
	w := &optionalWatches{
		kinds:    []schema.GroupVersionKind{httpRouteGVK, certificateGVK},
		interval: time.Millisecond,
		installed: func(gvk schema.GroupVersionKind) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			checks[gvk]++
			switch {
			case gvk == httpRouteGVK:
				return true, nil
			case checks[gvk] == 1:
				return false, errors.New("discovery: the server is currently unable to handle the request")
			default:
				return checks[gvk] >= 4, nil // cert-manager is installed after the operator started
			}
		},
		watch: func(gvk schema.GroupVersionKind) error {
			mu.Lock()
			defer mu.Unlock()
			if gvk == certificateGVK && failWatchOnce {
				failWatchOnce = false
				return errors.New("the cache is not started")
			}
			watched[gvk]++
			return nil
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("Start did not return once every kind was watched")
	}
	if watched[httpRouteGVK] != 1 || watched[certificateGVK] != 1 {
		t.Errorf("watched %v, want each kind once", watched)
	}
	if checks[httpRouteGVK] != 1 || checks[certificateGVK] != 5 {
		t.Errorf("discovery asked %v: want HTTPRoute once, Certificate until installed and watched", checks)
	}
}

func TestOptionalWatchesStopWithTheManager(t *testing.T) {
	w := &optionalWatches{kinds: []schema.GroupVersionKind{certificateGVK}, interval: time.Hour,
		installed: func(schema.GroupVersionKind) (bool, error) { return false, nil },
		watch:     func(schema.GroupVersionKind) error { t.Error("watched a kind that is not installed"); return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Start(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return when the context ended")
	}
}
