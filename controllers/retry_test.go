package controllers

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestRetryLimiterBacksOffUpToTheCap(t *testing.T) {
	limiter := retryLimiter()
	failing := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "bots", Name: "bank-bot"}}
	if first := limiter.When(failing); first > 10*time.Millisecond {
		t.Fatalf("first retry after %v, want within 10ms", first)
	}
	var last time.Duration
	for range 40 {
		last = limiter.When(failing)
	}
	if last != maxRetryDelay {
		t.Fatalf("after 40 failures the retry waits %v, want the cap %v", last, maxRetryDelay)
	}
	other := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "bots", Name: "other"}}
	if delay := limiter.When(other); delay > 10*time.Millisecond {
		t.Fatalf("another object's first retry waits %v: backoff must be per object", delay)
	}
	limiter.Forget(failing)
	if delay := limiter.When(failing); delay > 10*time.Millisecond {
		t.Fatalf("after a success the retry waits %v, want the backoff reset", delay)
	}
}
