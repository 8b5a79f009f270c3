package opbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// auditCounter counts one user's API requests by verb and resource from the API server's audit log: the
// manager is a process of its own, so its requests are counted where they arrive.
type auditCounter struct {
	policyPath, logPath string
	user                string
	offset              int64
	counts              requestCounts
}

// newAuditCounter writes, into dir, an audit policy that logs the metadata of user's requests and nothing else.
func newAuditCounter(dir, user string) (*auditCounter, error) {
	a := &auditCounter{policyPath: filepath.Join(dir, "audit-policy.yaml"), logPath: filepath.Join(dir, "audit.log"),
		user: user, counts: requestCounts{}}
	policy := fmt.Sprintf(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [%q]
- level: None
`, user)
	return a, os.WriteFile(a.policyPath, []byte(policy), 0o600)
}

// auditEvent is what the counter reads of an audit event.
type auditEvent struct {
	Stage string `json:"stage"`
	Verb  string `json:"verb"`
	User  struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	RequestURI string `json:"requestURI"`
}

// key names a request "verb resource[/subresource]", once: a watch when it starts, others when they complete.
func (e auditEvent) key() (string, bool) {
	switch {
	case e.Verb == "watch" && e.Stage != "ResponseStarted", e.Verb != "watch" && e.Stage != "ResponseComplete":
		return "", false
	case e.ObjectRef == nil:
		return e.Verb + " " + e.RequestURI, true
	case e.ObjectRef.Subresource != "":
		return e.Verb + " " + e.ObjectRef.Resource + "/" + e.ObjectRef.Subresource, true
	}
	return e.Verb + " " + e.ObjectRef.Resource, true
}

// snapshot reads the events logged since the last one and returns the counts so far.
func (a *auditCounter) snapshot(b *testing.B) requestCounts {
	f, err := os.Open(a.logPath)
	if err != nil {
		b.Fatalf("the audit log: %v", err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(a.offset, io.SeekStart); err != nil {
		b.Fatal(err)
	}
	reader := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := reader.ReadBytes('\n')
		if err != nil { // a line not written in full yet is read next time
			break
		}
		a.offset += int64(len(line))
		var event auditEvent
		if err := json.Unmarshal(line, &event); err != nil {
			b.Fatalf("the audit log: %v: %s", err, line)
		}
		if key, ok := event.key(); ok && event.User.Username == a.user {
			a.counts[key]++
		}
	}
	out := make(requestCounts, len(a.counts))
	for k, v := range a.counts {
		out[k] = v
	}
	return out
}

type requestCounts map[string]int

func (c requestCounts) minus(base requestCounts) requestCounts {
	out := requestCounts{}
	for k, v := range c {
		if d := v - base[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func isWrite(key string) bool {
	verb, _, _ := strings.Cut(key, " ")
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// bookkeeping requests are events and leases: not the objects the operator manages.
func bookkeeping(key string) bool {
	return strings.Contains(key, "events") || strings.Contains(key, "leases")
}

// count is the number of requests whose key matches.
func (c requestCounts) count(matches func(key string) bool) int {
	n := 0
	for k, v := range c {
		if matches(k) {
			n += v
		}
	}
	return n
}

func (c requestCounts) total() int { return c.count(func(string) bool { return true }) }

// writes are the requests that change something, events and leases excluded.
func (c requestCounts) writes() int {
	return c.count(func(k string) bool { return isWrite(k) && !bookkeeping(k) })
}

// allWrites are the requests that change something, events and leases included.
func (c requestCounts) allWrites() int { return c.count(isWrite) }

// bookkeeping counts the requests on events and leases.
func (c requestCounts) bookkeeping() int { return c.count(bookkeeping) }

func (c requestCounts) reads() int { return c.total() - c.allWrites() }

func (c requestCounts) table() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c[keys[i]] != c[keys[j]] {
			return c[keys[i]] > c[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "  %7d  %s\n", c[k], k)
	}
	return sb.String()
}
