package server

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
)

// dependencyCheckInterval is how often the required dependencies (Redis stores and queues) are pinged. The
// probes read the last results: a probe never waits for Redis, and a slow Redis never piles up pings.
const dependencyCheckInterval = time.Second

// dependencies keeps the last result of each required dependency's ping, by identity.
type dependencies struct {
	mu sync.Mutex
	// down holds the dependencies whose last ping failed, with the error, for the logs only.
	down map[string]string
	// kick asks for a check now (after a reload added a dependency).
	kick chan struct{}
}

func newDependencies() *dependencies {
	return &dependencies{down: map[string]string{}, kick: make(chan struct{}, 1)}
}

// isDown says whether the dependency of identity failed its last ping. One not checked yet counts as up, so that
// a reload does not turn every replica unready at once while the first ping runs.
func (d *dependencies) isDown(identity string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, down := d.down[identity]
	return down
}

// checkNow asks the checker to run without waiting for its next tick.
func (d *dependencies) checkNow() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// checkDependencies pings the current snapshot's required dependencies every dependencyCheckInterval (or when
// kicked) until ctx is done. One round runs at a time; each ping is bounded by its store's own timeout.
func (s *Server) checkDependencies(ctx context.Context) {
	ticker := time.NewTicker(dependencyCheckInterval)
	defer ticker.Stop()
	for {
		s.checkDependenciesOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-s.deps.kick:
		}
	}
}

// checkDependenciesOnce pings each dependency of the current snapshot once.
func (s *Server) checkDependenciesOnce(ctx context.Context) {
	snap := s.current.Load()
	if snap == nil {
		return
	}
	pings, kinds := map[string]func(context.Context) error{}, map[string]string{}
	for _, e := range snap.endpoints {
		for _, dep := range e.Dependencies() {
			pings[dep.Identity], kinds[dep.Identity] = dep.Ping, dep.Kind
		}
	}
	s.recordPings(ctx, pings, kinds)
}

// recordPings runs pings (by identity) concurrently and records the results: dependencies not in pings are
// forgotten, and a change is logged (the error never holds the Redis URL: go-redis reports the address only,
// and the logger redacts secrets).
func (s *Server) recordPings(ctx context.Context, pings map[string]func(context.Context) error, kinds map[string]string) {
	results := make(map[string]error, len(pings))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for identity, ping := range pings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := ping(ctx)
			mu.Lock()
			results[identity] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // shutting down: the pings were cut short, not failed
	}
	s.deps.mu.Lock()
	defer s.deps.mu.Unlock()
	for identity := range s.deps.down {
		if _, used := pings[identity]; !used {
			delete(s.deps.down, identity)
		}
	}
	for identity, err := range results {
		_, wasDown := s.deps.down[identity]
		switch {
		case err != nil && !wasDown:
			s.deps.down[identity] = err.Error()
			s.log.Error("required dependency down: not ready", "dependency", kinds[identity], "error", err.Error())
		case err == nil && wasDown:
			delete(s.deps.down, identity)
			s.log.Info("required dependency back: ready", "dependency", kinds[identity])
		}
	}
}

// unavailable lists, one line each, the endpoints of snap whose required dependencies are down, as
// "endpoint NAMESPACE/NAME: KIND unreachable". It names no URL, so it can be a health body.
func unavailable(endpoints []*endpoint.Endpoint, isDown func(identity string) bool) []string {
	var problems []string
	for _, e := range endpoints {
		problems = append(problems, endpointUnavailable(e, isDown)...)
	}
	sort.Strings(problems)
	return problems
}

// endpointUnavailable is unavailable for one endpoint.
func endpointUnavailable(e *endpoint.Endpoint, isDown func(identity string) bool) []string {
	var problems []string
	for _, dep := range e.Dependencies() {
		if isDown(dep.Identity) {
			problems = append(problems, fmt.Sprintf("endpoint %s/%s: %s unreachable", e.Namespace, e.Name, dep.Kind))
		}
	}
	return problems
}
