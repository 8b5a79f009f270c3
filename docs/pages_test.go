package docs_test

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/delivery"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/generic"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
)

// fence is a fenced code block of a page: its info string, its text and the line it starts on.
type fence struct {
	info string
	text string
	line int
}

// fences returns the fenced code blocks of a page and, for each, the marker comment (<!-- kind: attrs -->) right
// before it, or "" when it has none.
func fences(t *testing.T, page string) ([]fence, []string) {
	t.Helper()
	content, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(content), "\n")
	var blocks []fence
	var markers []string
	marker := ""
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if blockStart.MatchString(line) {
			marker = line
			continue
		}
		trimmed := strings.TrimLeft(line, " ")
		if !strings.HasPrefix(trimmed, "```") {
			if strings.TrimSpace(line) != "" {
				marker = "" // a marker belongs to the block right after it
			}
			continue
		}
		// A block in a list item is indented; its lines lose the fence's indentation.
		indent := strings.Repeat(" ", len(line)-len(trimmed))
		start := i
		var text []string
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimLeft(lines[i], " "), "```"); i++ {
			text = append(text, strings.TrimPrefix(lines[i], indent))
		}
		blocks = append(blocks, fence{info: strings.TrimPrefix(trimmed, "```"), text: strings.Join(text, "\n"), line: start + 1})
		markers = append(markers, marker)
		marker = ""
	}
	return blocks, markers
}

var attrPattern = regexp.MustCompile(`([a-z-]+)=("[^"]*"|\S+)`)

// markerAttrs parses a marker's attributes; a value may be double-quoted.
func markerAttrs(marker string) (string, map[string]string) {
	m := blockStart.FindStringSubmatch(marker)
	if m == nil {
		return "", nil
	}
	attrs := map[string]string{}
	for _, a := range attrPattern.FindAllStringSubmatch(m[2], -1) {
		attrs[a[1]] = strings.Trim(a[2], `"`)
	}
	return m[1], attrs
}

// TestGenericBodies decodes the bodies of generic.md with the Generic decoder and compares request.body with
// the JSON block that follows each. A marker may name the method (POST when it does not) and a query string.
func TestGenericBodies(t *testing.T) {
	blocks, markers := fences(t, "generic.md")
	checked := 0
	for i, b := range blocks {
		kind, attrs := markerAttrs(markers[i])
		if kind != "generic-body" {
			continue
		}
		where := fmt.Sprintf("generic.md:%d", b.line)
		if i+1 >= len(blocks) || blocks[i+1].info != "json" {
			t.Fatalf("%s: a generic-body block must be followed by the json block of request.body", where)
		}
		header := http.Header{"Content-Type": {attrs["content-type"]}}
		method := cmp.Or(attrs["method"], http.MethodPost)
		query, err := url.ParseQuery(attrs["query"])
		if err != nil {
			t.Fatalf("%s: query: %v", where, err)
		}
		request, err := generic.New().Decode(dialect.Input{Method: method, Header: header, Query: query, Body: []byte(b.text)})
		if err != nil {
			t.Errorf("%s: decode: %v", where, err)
			continue
		}
		want := canonical(parseJSON(t, where, blocks[i+1].text))
		if got := canonical(request.Request().Body()); got != want {
			t.Errorf("%s: request.body is %s, the page says %s", where, got, want)
		}
		checked++
	}
	if checked < 2 {
		t.Errorf("generic.md: %d body examples checked, want the form and the XML one", checked)
	}
}

// TestSignatureExamples verifies each signed request of generic.md with the scheme's checker, and that a
// changed body is refused.
func TestSignatureExamples(t *testing.T) {
	blocks, markers := fences(t, "generic.md")
	schemes := map[string]bool{}
	for i, b := range blocks {
		kind, attrs := markerAttrs(markers[i])
		if kind != "signature" {
			continue
		}
		where := fmt.Sprintf("generic.md:%d", b.line)
		header, body := parseHTTP(t, where, b.text)
		spec := &fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACScheme(attrs["scheme"])}
		if spec.Scheme == fulfillmentv1alpha1.HMACSchemeGeneric {
			spec.Generic = &fulfillmentv1alpha1.GenericHMAC{Header: attrs["header"], Prefix: attrs["prefix"]}
		}
		var opts []auth.HMACOption
		if now := attrs["now"]; now != "" {
			unix, err := strconv.ParseInt(now, 10, 64)
			if err != nil {
				t.Fatalf("%s: now: %v", where, err)
			}
			opts = append(opts, auth.WithHMACClock(func() time.Time { return time.Unix(unix, 0) }))
		}
		checker, err := auth.NewHMAC(spec, [][]byte{[]byte(attrs["secret"])}, opts...)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if failure := checker.Check(&auth.Request{Header: header, Body: body}); failure != nil {
			t.Errorf("%s: %s refuses the page's request: %s", where, spec.Scheme, failure.Reason)
		}
		changed := append(append([]byte(nil), body...), ' ')
		if failure := checker.Check(&auth.Request{Header: header, Body: changed}); failure == nil || failure.Reason != auth.ReasonInvalidSignature {
			t.Errorf("%s: %s accepts a changed body", where, spec.Scheme)
		}
		schemes[attrs["scheme"]] = true
	}
	for _, scheme := range []string{"StandardWebhooks", "GitHub", "Stripe", "Slack", "Shopify", "Generic"} {
		if !schemes[scheme] {
			t.Errorf("generic.md has no signed request for %s", scheme)
		}
	}
}

// parseHTTP reads an HTTP request written in a page: request line, headers, a blank line, the body.
func parseHTTP(t *testing.T, where, text string) (http.Header, []byte) {
	t.Helper()
	head, body, ok := strings.Cut(text, "\n\n")
	if !ok {
		t.Fatalf("%s: no blank line between the headers and the body", where)
	}
	header := http.Header{}
	scanner := bufio.NewScanner(strings.NewReader(head))
	scanner.Scan() // the request line
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), ": ")
		if !ok {
			t.Fatalf("%s: not a header: %q", where, scanner.Text())
		}
		header.Add(name, value)
	}
	return header, []byte(body)
}

// manifestPages are the pages whose WebhookEndpoint and IntentRoute manifests must load and compile.
var manifestPages = []string{"generic.md", "platforms.md", "sizing.md", "environments.md", "dialogflow-es.md", "dialogflow-cx.md", "rasa.md",
	"tracing.md", "gateways.md", "../README.md"}

// TestManifests loads the manifests of each page (every yaml block with a fulfillment.dev object) as
// `webhookserver serve --manifests` does, with the CRDs' admission, and compiles every endpoint with its
// routes. Secrets a page does not show get placeholder values of the right form.
func TestManifests(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range manifestPages {
		t.Run(page, func(t *testing.T) {
			blocks, _ := fences(t, page)
			dir := t.TempDir()
			n := 0
			for _, b := range blocks {
				if b.info != "yaml" || !strings.Contains(b.text, "apiVersion: fulfillment.dev/v1alpha1") {
					continue
				}
				n++
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("block-%02d-line-%d.yaml", n, b.line)), []byte(b.text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if n == 0 {
				t.Skipf("%s has no manifests", page)
			}
			manifests, err := config.LoadManifests(dir)
			if err != nil {
				t.Fatalf("%s: the manifests are refused:\n%v", page, err)
			}
			opts := endpoint.Options{
				Env:      env,
				QueueDir: t.TempDir(),
				Stores: func(string, func() (idempotency.Store, error)) (idempotency.Store, error) {
					return nil, nil
				},
				Queues: func(string, func() (delivery.Queue, error)) (delivery.Queue, error) { return nil, nil },
			}
			routes := 0
			for _, spec := range manifests.File.Endpoints {
				if _, err := endpoint.Compile(spec, placeholderSecrets{manifests.Secrets}, opts); err != nil {
					t.Errorf("%s: %v", page, err)
				}
				routes += len(spec.Routes)
			}
			t.Logf("%s: %d manifest blocks, %d endpoints, %d routes compiled", page, n, len(manifests.File.Endpoints), routes)
		})
	}
}

// placeholderSecrets are the Secrets of the manifests, and for any other a value of the form the server reads.
type placeholderSecrets struct{ shown config.MapSecrets }

func (s placeholderSecrets) Secret(namespace, name, key string) ([]byte, error) {
	if value, err := s.shown.Secret(namespace, name, key); err == nil {
		return value, nil
	} else if _, found := s.shown[namespace+"/"+name]; found {
		return nil, err // a Secret the page shows must have the key
	}
	switch {
	case key == hmackey.SecretKey:
		return []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), nil
	case key == hmackey.PreviousSecretKey:
		return nil, errors.New("no previous key")
	case strings.Contains(name, "redis"):
		return []byte("redis://redis.example.svc:6379/0"), nil
	}
	return []byte("placeholder-" + key), nil
}

// linkedPages are the pages whose links to other pages and headings are checked.
var linkedPages = []string{"expressions.md", "generic.md", "platforms.md", "troubleshooting.md", "sizing.md", "environments.md",
	"dialogflow-es.md", "dialogflow-cx.md", "rasa.md", "install.md", "tracing.md", "alerts.md", "gateways.md", "operator.md",
	"gitops.md", "benchmarks.md", "webhookserver.md", "dev.md", "architecture.md", "reference/flags.md", "reference/metrics.md",
	"../README.md"}

var (
	linkPattern    = regexp.MustCompile(`\]\(([^)\s]*)\)`)
	headingPattern = regexp.MustCompile(`(?m)^#+ (.+)$`)
)

// TestLinks checks that every relative link of the pages names a file that exists and, with #anchor, one of
// its headings (as GitHub makes anchors of them).
func TestLinks(t *testing.T) {
	anchors := map[string]map[string]bool{}
	anchorsOf := func(page string) map[string]bool {
		if a, ok := anchors[page]; ok {
			return a
		}
		content, err := os.ReadFile(page)
		if err != nil {
			return nil
		}
		a := map[string]bool{}
		for _, m := range headingPattern.FindAllStringSubmatch(string(content), -1) {
			a[slug(m[1])] = true
		}
		anchors[page] = a
		return a
	}
	for _, page := range linkedPages {
		content, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		for _, m := range linkPattern.FindAllStringSubmatch(string(content), -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			if file == "" {
				file = page
			} else {
				file = filepath.Join(filepath.Dir(page), file) // relative to the page, as GitHub reads it
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s: link to %s: %v", page, target, err)
				continue
			}
			if anchor != "" && !anchorsOf(file)[anchor] {
				t.Errorf("%s: link to %s: %s has no heading with that anchor", page, target, file)
			}
		}
	}
}

// slug is the anchor GitHub gives a heading: lower case, spaces as hyphens, punctuation other than - and _
// dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}
