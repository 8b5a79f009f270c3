// Package docs_test checks the examples of the documentation against the code, so that a page cannot drift
// from what the server does: expressions and templates are evaluated on the sample requests in requests/,
// decoded by the server's own dialect decoders; manifests are admitted and compiled as the server loads them.
//
// An example block is an HTML comment naming its kind and inputs, followed by a Markdown table:
//
//	<!-- examples: dialect=DialogflowES request=es-balance-checking.json query=channel=web endpoint=bots/bank-bot -->
//	| expression | value |
//	|---|---|
//	| `params.account` | `"checking"` |
//
// Kinds: examples (expression -> JSON value), templates (template -> text), url-templates (call.url -> URL),
// values (payload JSON -> rendered JSON). A value cell is JSON, in which 3.0 is a double and 3 an int; or
// error: `text` (evaluation fails, its message contains text); or compile error: `text`. The inputs: dialect,
// request (a file in requests/), query (the URL query), endpoint (namespace/name), response (a file in
// requests/: the upstream answer, status 200, Content-Type application/json).
package docs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/all"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// block is one example table of a page.
type block struct {
	page  string
	line  int
	kind  string
	attrs map[string]string
	rows  []row
}

type row struct {
	line     int
	input    string
	expected string
}

var blockStart = regexp.MustCompile(`^<!-- ([a-z-]+): (.*) -->$`)

// readBlocks returns the example blocks of page.
func readBlocks(t *testing.T, page string) []block {
	t.Helper()
	content, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(content), "\n")
	var blocks []block
	for i := 0; i < len(lines); i++ {
		m := blockStart.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		b := block{page: page, line: i + 1, kind: m[1], attrs: map[string]string{}}
		for _, field := range strings.Fields(m[2]) {
			key, value, _ := strings.Cut(field, "=")
			b.attrs[key] = value
		}
		// The table's header and separator, then its rows.
		i += 3
		for ; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
			cells := tableCells(lines[i])
			if len(cells) != 2 {
				t.Fatalf("%s:%d: want 2 cells, got %d", page, i+1, len(cells))
			}
			b.rows = append(b.rows, row{line: i + 1, input: codeSpan(cells[0]), expected: cells[1]})
		}
		if len(b.rows) == 0 {
			t.Fatalf("%s:%d: an example block without rows", page, b.line)
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// tableCells splits a Markdown table row on the pipes that are not escaped, and unescapes the others.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cell.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

// codeSpan is the text of a Markdown code span, in single or double backticks.
func codeSpan(s string) string {
	if strings.HasPrefix(s, "``") && strings.HasSuffix(s, "``") && len(s) >= 4 {
		return strings.TrimSpace(s[2 : len(s)-2])
	}
	if strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`") && len(s) >= 2 {
		return s[1 : len(s)-1]
	}
	return s
}

// expectation is what a value cell says.
type expectation struct {
	compileError, evalError string // the message must contain this
	value                   string // the value cell's text
}

func parseExpectation(cell string) expectation {
	switch {
	case strings.HasPrefix(cell, "compile error: "):
		return expectation{compileError: codeSpan(strings.TrimPrefix(cell, "compile error: "))}
	case strings.HasPrefix(cell, "error: "):
		return expectation{evalError: codeSpan(strings.TrimPrefix(cell, "error: "))}
	}
	return expectation{value: codeSpan(cell)}
}

// vars builds the variables of a block: its request decoded by its dialect, its endpoint and response.
func vars(t *testing.T, b block) *expr.Vars {
	t.Helper()
	codec, err := all.ForName(b.attrs["dialect"])
	if err != nil {
		t.Fatalf("%s:%d: %v", b.page, b.line, err)
	}
	body, err := os.ReadFile(filepath.Join("requests", b.attrs["request"]))
	if err != nil {
		t.Fatalf("%s:%d: %v", b.page, b.line, err)
	}
	var query url.Values
	if q := b.attrs["query"]; q != "" {
		if query, err = url.ParseQuery(q); err != nil {
			t.Fatalf("%s:%d: query: %v", b.page, b.line, err)
		}
	}
	header := http.Header{
		"Content-Type":  {"application/json"},
		"X-Request-Id":  {"req-1"},
		"Authorization": {"Basic ZGlhbG9nZmxvdzpjaGFuZ2UtbWU="},
	}
	decoded, err := codec.Decode(dialect.Input{Method: http.MethodPost, Header: header, Query: query, Body: body})
	if err != nil {
		t.Fatalf("%s:%d: decode %s: %v", b.page, b.line, b.attrs["request"], err)
	}
	request := decoded.Request()
	request.Dialect = b.attrs["dialect"] // as the endpoint sets it
	v := &expr.Vars{Request: request}
	if ns, name, ok := strings.Cut(b.attrs["endpoint"], "/"); ok {
		v.Endpoint = expr.Endpoint{Namespace: ns, Name: name}
	}
	if file := b.attrs["response"]; file != "" {
		content, err := os.ReadFile(filepath.Join("requests", file))
		if err != nil {
			t.Fatalf("%s:%d: %v", b.page, b.line, err)
		}
		var decoded any
		if err := json.Unmarshal(content, &decoded); err != nil {
			t.Fatalf("%s:%d: %s: %v", b.page, b.line, file, err)
		}
		v.Response = &expr.Response{Status: http.StatusOK, Headers: map[string]string{"content-type": "application/json"}, Body: decoded}
	}
	return v
}

// canonical writes a JSON value so that two equal values read the same: map keys sorted, ", " and ": " as
// separators, a double always with a decimal point or exponent (3.0) and an int without (3). Decoded JSON
// (json.Number) is written by the same rules, from its text.
func canonical(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			f, _ := v.Float64()
			return canonical(f)
		}
		i, _ := v.Int64()
		return canonical(i)
	case string:
		b, _ := json.Marshal(v)
		return string(b)
	case []any:
		parts := make([]string, len(v))
		for i, item := range v {
			parts[i] = canonical(item)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = canonical(k) + ": " + canonical(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("<%T %v>", v, v)
}

// parseJSON decodes a value cell, keeping the text of numbers.
func parseJSON(t *testing.T, where, text string) any {
	t.Helper()
	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.UseNumber()
	var v any
	if err := decoder.Decode(&v); err != nil {
		t.Fatalf("%s: the expected value %s is not JSON: %v", where, text, err)
	}
	return v
}

// check compares an outcome with a row's expectation.
func check(t *testing.T, where string, want expectation, compileErr, evalErr error, got func() string) {
	t.Helper()
	switch {
	case want.compileError != "":
		if compileErr == nil || !strings.Contains(compileErr.Error(), want.compileError) {
			t.Errorf("%s: want a compile error with %q, got %v", where, want.compileError, compileErr)
		}
	case compileErr != nil:
		t.Errorf("%s: does not compile: %v", where, compileErr)
	case want.evalError != "":
		if evalErr == nil || !strings.Contains(evalErr.Error(), want.evalError) {
			t.Errorf("%s: want an error with %q, got %v", where, want.evalError, evalErr)
		}
	case evalErr != nil:
		t.Errorf("%s: fails: %v", where, evalErr)
	default:
		if g := got(); g != want.value {
			t.Errorf("%s: got %s, the page says %s", where, g, want.value)
		}
	}
}

// examplePages are the pages whose example blocks TestExpressionExamples evaluates.
var examplePages = []string{"expressions.md", "dialogflow-es.md", "dialogflow-cx.md"}

// TestExpressionExamples evaluates every example of the example pages.
func TestExpressionExamples(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var blocks []block
	for _, page := range examplePages {
		pageBlocks := readBlocks(t, page)
		if len(pageBlocks) == 0 {
			t.Errorf("%s has no example block", page)
		}
		blocks = append(blocks, pageBlocks...)
	}
	kinds := map[string]int{}
	for _, b := range blocks {
		if b.page == "expressions.md" {
			kinds[b.kind]++
		}
		v := vars(t, b)
		var opts []expr.CompileOption
		if v.Response != nil {
			opts = append(opts, expr.WithResponse())
		}
		for _, r := range b.rows {
			where := fmt.Sprintf("%s:%d", b.page, r.line)
			want := parseExpectation(r.expected)
			if want.value != "" && (b.kind == "examples" || b.kind == "values") {
				want.value = canonical(parseJSON(t, where, want.value))
			}
			switch b.kind {
			case "examples":
				p, compileErr := env.Compile(r.input, opts...)
				var value any
				var evalErr error
				if compileErr == nil {
					value, evalErr = p.Eval(ctx, v)
				}
				check(t, where, want, compileErr, evalErr, func() string { return canonical(value) })
			case "templates", "url-templates":
				compile := env.CompileTemplate
				if b.kind == "url-templates" {
					compile = env.CompileURLTemplate
				}
				tmpl, compileErr := compile(r.input, opts...)
				var text string
				var evalErr error
				if compileErr == nil {
					text, evalErr = tmpl.Render(ctx, v)
				}
				check(t, where, want, compileErr, evalErr, func() string { return text })
			case "values":
				var raw any // decoded as the server decodes a payload: integers as int64
				if err := utiljson.Unmarshal([]byte(r.input), &raw); err != nil {
					t.Fatalf("%s: the payload is not JSON: %v", where, err)
				}
				value, compileErr := env.CompileValue(raw, opts...)
				var rendered any
				var evalErr error
				if compileErr == nil {
					rendered, evalErr = value.Render(ctx, v)
				}
				check(t, where, want, compileErr, evalErr, func() string { return canonical(rendered) })
			default:
				t.Fatalf("%s:%d: unknown example kind %q", b.page, b.line, b.kind)
			}
		}
	}
	// A page whose markers were edited away would pass with nothing checked.
	for _, kind := range []string{"examples", "templates", "url-templates", "values"} {
		if kinds[kind] == 0 {
			t.Errorf("expressions.md has no %s block", kind)
		}
	}
}
