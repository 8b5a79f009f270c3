package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/delivery"
)

// The admin listener serves the dead-letter operations: listing shows queued events (bodies included) and
// replaying re-runs their side effects, so they are never on the metrics listener, which a cluster's
// NetworkPolicy opens to the namespace. It listens on loopback unless a token protects it.

// checkAdminListen refuses an admin listener that other hosts can reach without a token.
func checkAdminListen(address, tokenFile string) error {
	if address == "" || tokenFile != "" || isLoopback(address) {
		return nil
	}
	return fmt.Errorf("--admin-listen %s is reachable from other hosts and no --admin-token-file is set, so anyone "+
		"who reaches it could read and replay queued events: either keep the admin listener on loopback "+
		"(--admin-listen 127.0.0.1:9091, reached with kubectl port-forward or kubectl exec), or give "+
		"--admin-token-file FILE holding a random token that every admin request must send as a bearer token", address)
}

// isLoopback reports whether a listen address binds only loopback. An empty host binds every interface, and a
// host name other than localhost may resolve to anything.
func isLoopback(address string) bool {
	host, _, err := net.SplitHostPort(address)
	return err == nil && isLoopbackHost(host)
}

// isLoopbackHost reports whether host, without its port, names only loopback: localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ReadAdminToken reads the admin token from a file (surrounding whitespace, such as a final newline, is not
// part of it). The server reads it on every admin request, so a rotated Secret applies at once.
func ReadAdminToken(path string) ([]byte, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the admin token: %w", err)
	}
	token := bytes.TrimSpace(content)
	if len(token) == 0 {
		return nil, fmt.Errorf("the admin token file %s is empty: put a random token in it (for example the output of `openssl rand -hex 32`)", path)
	}
	return token, nil
}

// adminHandler serves the dead-letter operations on the admin listener, behind the admin token when one is set.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/deadletters", s.listDeadLetters)
	mux.HandleFunc("POST /admin/deadletters/replay", s.replayDeadLetter)
	mux.HandleFunc("POST /admin/deadletters/purge", s.purgeDeadLetters)
	// A browser on the machine that port-forwards the listener reaches it too: a page of any site could make it
	// replay or purge (a cross-site POST needs no preflight), which this refuses.
	handler := http.NewCrossOriginProtection().Handler(mux)
	if s.opts.AdminTokenFile == "" {
		return requireLoopbackHost(handler)
	}
	return s.requireAdminToken(handler)
}

// requireLoopbackHost lets through only requests addressed to a loopback host, as the admin commands,
// kubectl exec and kubectl port-forward send them. A site whose name the browser was made to resolve to
// 127.0.0.1 (DNS rebinding) is same-origin to the browser, and could otherwise read the dead letters.
func requireLoopbackHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !isLoopbackHost(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")) {
			writeError(w, http.StatusForbidden, "host_not_loopback",
				"the admin listener without --admin-token-file answers only requests to a loopback host (127.0.0.1, [::1], localhost)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdminToken lets through only requests with `Authorization: Bearer <token>`, compared in constant time.
func (s *Server) requireAdminToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := ReadAdminToken(s.opts.AdminTokenFile)
		if err != nil {
			s.log.Error("admin request refused: the admin token cannot be read", "error", err.Error())
			writeError(w, http.StatusServiceUnavailable, "admin_token_unavailable", "the server cannot read its admin token; see its log")
			return
		}
		s.learnSecret(token)
		if failure := auth.NewBearer("", token).Check(&auth.Request{Header: r.Header}); failure != nil {
			w.Header().Set("WWW-Authenticate", challenge(failure))
			writeError(w, http.StatusUnauthorized, failure.Reason,
				"send Authorization: Bearer <token>, the token in the server's --admin-token-file")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// learnSecret adds a value read outside a reload to the redaction set, once.
func (s *Server) learnSecret(value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.known, func(known []byte) bool { return bytes.Equal(known, value) }) {
		s.learnSecrets([][]byte{value})
	}
}

// listDeadLetters serves GET /admin/deadletters?endpoint=ns/name[&limit=N].
func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if text := r.URL.Query().Get("limit"); text != "" {
		var err error
		if limit, err = strconv.Atoi(text); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_limit", "limit must be a whole number (0 or less lists every dead letter)")
			return
		}
	}
	queue, ok := s.deadLetterQueue(w, r)
	if !ok {
		return
	}
	events, err := queue.DeadLetters(r.Context(), limit)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "queue_unavailable", err.Error())
		return
	}
	writeJSON(w, map[string]any{"deadLetters": events})
}

// replayDeadLetter serves POST /admin/deadletters/replay?endpoint=ns/name&id=ID.
func (s *Server) replayDeadLetter(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeError(w, http.StatusBadRequest, "id_required", "name the dead letter to replay with ?id=ID (see GET /admin/deadletters)")
		return
	}
	queue, ok := s.deadLetterQueue(w, r)
	if !ok {
		return
	}
	if err := queue.Replay(r.Context(), id); err != nil {
		writeQueueError(w, err)
		return
	}
	writeJSON(w, map[string]any{"replayed": true})
}

// purgeDeadLetters serves POST /admin/deadletters/purge?endpoint=ns/name&id=ID (one dead letter) or &all=true
// (every dead letter of the endpoint).
func (s *Server) purgeDeadLetters(w http.ResponseWriter, r *http.Request) {
	id, all := r.URL.Query().Get("id"), r.URL.Query().Get("all") == "true"
	if (id == "") == !all {
		writeError(w, http.StatusBadRequest, "id_or_all_required", "give either ?id=ID (one dead letter) or ?all=true (every one of the endpoint)")
		return
	}
	queue, ok := s.deadLetterQueue(w, r)
	if !ok {
		return
	}
	if all {
		purged, err := queue.PurgeAll(r.Context())
		if err != nil {
			writeQueueError(w, err)
			return
		}
		writeJSON(w, map[string]any{"purged": purged})
		return
	}
	if err := queue.Purge(r.Context(), id); err != nil {
		writeQueueError(w, err)
		return
	}
	writeJSON(w, map[string]any{"purged": 1})
}

// deadLetterQueue is the queue of the endpoint the request names (?endpoint=namespace/name or name), or the only
// queue when it names none; otherwise it answers the error and returns false.
func (s *Server) deadLetterQueue(w http.ResponseWriter, r *http.Request) (delivery.Queue, bool) {
	name := r.URL.Query().Get("endpoint")
	var queue delivery.Queue
	for _, e := range s.current.Load().endpoints {
		if e.Queue() != nil && (name == "" || e.Namespace+"/"+e.Name == name || e.Name == name) {
			if queue != nil {
				writeError(w, http.StatusBadRequest, "endpoint_required", "several endpoints have queues: name one with ?endpoint=namespace/name")
				return nil, false
			}
			queue = e.Queue()
		}
	}
	if queue == nil {
		writeError(w, http.StatusNotFound, "no_queue", "no Async endpoint matches")
		return nil, false
	}
	return queue, true
}

func writeQueueError(w http.ResponseWriter, err error) {
	if errors.Is(err, delivery.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no dead letter has this id")
		return
	}
	writeError(w, http.StatusServiceUnavailable, "queue_unavailable", err.Error())
}

func writeJSON(w http.ResponseWriter, value any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(value)
}
