package controllers

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// maxRetryDelay caps the backoff between retries of a failed reconcile. client-go's default grows to 16
// minutes, so an endpoint refused by something outside the operator (an admission policy, a quota, a webhook)
// would wait that long after the cause is removed; nothing else requeues it.
const maxRetryDelay = 30 * time.Second

// retryLimiter is client-go's default controller rate limiter with the per-object backoff capped at
// maxRetryDelay: exponential from 5 ms per object, and 10 retries a second (burst 100) overall.
func retryLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, maxRetryDelay),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}
