package expr

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// attack is what a chatbot user types to leave the path segment a URL template gives them.
const attack = "../../admin/users/42?delete=true&x="

func TestURLTemplateEncodesValuesForWhereTheyStand(t *testing.T) {
	tests := map[string]struct {
		src   string
		value any // params.v
		want  string
	}{
		"the README's route":             {"http://bank-api/accounts/${params.v}/balance", attack, "http://bank-api/accounts/..%2F..%2Fadmin%2Fusers%2F42%3Fdelete=true&x=/balance"},
		"a plain value is unchanged":     {"http://bank-api/accounts/${params.v}/balance", "checking-1.2_x~", "http://bank-api/accounts/checking-1.2_x~/balance"},
		"'#' does not truncate the path": {"http://h/a/${params.v}/b", "x#y", "http://h/a/x%23y/b"},
		"'%' is data":                    {"http://h/a/${params.v}", "%2F", "http://h/a/%252F"},
		"dot-dot alone":                  {"http://h/a/${params.v}/b", "..", "http://h/a/%2E%2E/b"},
		"one dot alone":                  {"http://h/a/${params.v}/b", ".", "http://h/a/%2E/b"},
		"dots in a name":                 {"http://h/a/${params.v}", "v1..2", "http://h/a/v1..2"},
		"part of a segment":              {"http://h/v${params.v}/x", "1/../../y", "http://h/v1%2F..%2F..%2Fy/x"},
		"empty at the end of the path":   {"http://h/a/${params.v}", "", "http://h/a/"},
		"a number":                       {"http://h/items/${params.v}", 42.0, "http://h/items/42"},
		"query value":                    {"http://h/search?q=${params.v}&lang=en", "a b&lang=xx#frag", "http://h/search?q=a+b%26lang%3Dxx%23frag&lang=en"},
		"query key":                      {"http://h/search?${params.v}=1", "a=b&c", "http://h/search?a%3Db%26c=1"},
		"fragment":                       {"http://h/p#${params.v}", "a b#c", "http://h/p#a%20b%23c"},
		"host":                           {"https://${params.v}.bank.example/x", "eu-west-1", "https://eu-west-1.bank.example/x"},
		"port":                           {"http://h:${params.v}/x", "8080", "http://h:8080/x"},
		"host and port":                  {"http://${params.v}/x", "api.internal:8443", "http://api.internal:8443/x"},
		"raw path":                       {"http://h/files/${url.rawPath(params.v)}?v=1", "reports/2024/q1%20final.pdf", "http://h/files/reports/2024/q1%20final.pdf?v=1"},
		"raw query":                      {"http://h/list?${url.rawQuery(params.v)}", "page=2&size=10&next=/a?b", "http://h/list?page=2&size=10&next=/a?b"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := renderURL(t, tc.src, tc.value)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tc.want {
				t.Errorf("Render = %q, want %q", got, tc.want)
			}
			assertSentAsRendered(t, got)
		})
	}
}

// renderURL compiles the URL template src and renders it with value as params.v.
func renderURL(t *testing.T, src string, value any) (string, error) {
	t.Helper()
	tmpl, err := testEnv(t).CompileURLTemplate(src)
	if err != nil {
		t.Fatalf("CompileURLTemplate(%q): %v", src, err)
	}
	return tmpl.Render(context.Background(), testVars(withParams(map[string]any{"v": value})))
}

// assertSentAsRendered checks that Go's client puts the rendered URL on the wire as it is: if it encoded the
// path again from its decoded form, a value's %2F would become '/'.
func assertSentAsRendered(t *testing.T, rendered string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rendered, nil)
	if err != nil {
		t.Fatalf("the rendered URL does not parse: %v", err)
	}
	_, afterScheme, _ := strings.Cut(rendered, "://")
	want, _, _ := strings.Cut(afterScheme[len(req.URL.Host):], "#") // a fragment is never sent
	if sent := req.URL.RequestURI(); sent != want {
		t.Errorf("sent as %q, rendered %q", sent, want)
	}
}

func TestURLTemplateRefusesValuesThatCannotStandWhereTheyAre(t *testing.T) {
	tests := map[string]struct {
		src   string
		value string
		want  string
	}{
		"a path in the host":       {"http://${params.v}/x", "evil.example/", "must be a host name or port"},
		"userinfo in the host":     {"http://${params.v}/x", "user@evil.example", "must be a host name or port"},
		"a letter in the port":     {"http://h:${params.v}/x", "80a", "must be digits"},
		"a host in the port":       {"http://h:${params.v}/x", "80.evil", "must be digits"},
		"a letter after the colon": {"http://${params.v}/x", "h:80a", "must be a host name or port"},
		"an empty port":            {"http://${params.v}/x", "h:", "must be a host name or port"},
		"an empty host":            {"http://${params.v}/x", "", "must be a host name or port"},
		"an IPv6 zone in the host": {"http://${params.v}/x", "[fe80::1%eth0]", "must be a host name or port"},
		"CR LF in the host":        {"http://${params.v}/x", "h\r\nX-Evil: 1", "must be a host name or port"},
		"the scheme":               {"${params.v}://h/x", "file:///etc/passwd?", "must be a host name or port"},
		"empty between slashes":    {"http://h/a/${params.v}/b", "", `the path would hold "//"`},
		"raw path with a query":    {"http://h/${url.rawPath(params.v)}", "a?delete=true", "must be an encoded path"},
		"raw path with '#'":        {"http://h/${url.rawPath(params.v)}", "a#b", "must be an encoded path"},
		"raw path with CR LF":      {"http://h/${url.rawPath(params.v)}", "a\r\nb", "must be an encoded path"},
		"raw path with a space":    {"http://h/${url.rawPath(params.v)}", "a b", "must be an encoded path"},
		"raw path with a bad '%'":  {"http://h/${url.rawPath(params.v)}", "a%2", "must be an encoded path"},
		"raw path climbing":        {"http://h/api/${url.rawPath(params.v)}", "x/../../admin", "no '.' or '..' segment"},
		"raw path of one dot":      {"http://h/api/${url.rawPath(params.v)}", "./x", "no '.' or '..' segment"},
		"raw query with '#'":       {"http://h/?${url.rawQuery(params.v)}", "a=1#b", "must be an encoded query"},
		"raw query with a tab":     {"http://h/?${url.rawQuery(params.v)}", "a=1\tb", "must be an encoded query"},
		"raw query with non-ASCII": {"http://h/?${url.rawQuery(params.v)}", "a=é", "must be an encoded query"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := renderURL(t, tc.src, tc.value)
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("Render = %q, %v; want an *EvalError", got, err)
			}
			assertContainsInOrder(t, err.Error(), []string{tc.want})
			if tc.value != "" && strings.Contains(err.Error(), tc.value) {
				t.Errorf("the error quotes the value: %v", err)
			}
		})
	}
}

func TestURLTemplateCompileErrors(t *testing.T) {
	env := testEnv(t)
	tests := map[string]struct {
		src  string
		want string
	}{
		"raw path in the query":       {"http://h/x?a=${url.rawPath(params.p)}", "url.rawPath is for the path of the URL"},
		"raw path in the host":        {"http://${url.rawPath(params.p)}/x", "url.rawPath is for the path of the URL"},
		"raw query in the path":       {"http://h/${url.rawQuery(params.q)}", "url.rawQuery is for the query of the URL"},
		"raw mixed with text":         {"http://h/${url.rawPath(params.p) + '/x'}", "must be the whole of a ${...}"},
		"raw inside a raw":            {"http://h/${url.rawPath(url.rawPath(params.p))}", "must be the whole of a ${...}"},
		"raw inside a conditional":    {"http://h/${has(params.p) ? url.rawPath(params.p) : 'x'}", "must be the whole of a ${...}"},
		"a raw value of another type": {"http://h/${url.rawPath(1)}", "found no matching overload for 'url.rawPath'"},
		"a space in the literal":      {"http://h/my files/${params.p}", `' ' must be percent-encoded in a URL: write %20`},
		"a brace in the literal":      {"http://h/{id}/${params.p}", `'{' must be percent-encoded in a URL: write %7B`},
		"non-ASCII in the literal":    {"http://h/käse/${params.p}", "must be percent-encoded in a URL: write %C3"},
		"a lone '%' in the literal":   {"http://h/100%/${params.p}", "write a literal '%' as %25"},
		"a space in a literal URL":    {"http://h/a b", `' ' must be percent-encoded`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := env.CompileURLTemplate(tc.src)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("CompileURLTemplate(%q) error = %v, want a *CompileError", tc.src, err)
			}
			assertContainsInOrder(t, err.Error(), []string{tc.want})
		})
	}
}

func TestRawURLFunctionsAreOnlyForURLs(t *testing.T) {
	env := testEnv(t)
	const want = "url.rawPath and url.rawQuery are only for the URL of a call (call.url)"
	if _, err := env.CompileTemplate("see ${url.rawPath(params.account)}"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("CompileTemplate: %v, want %q", err, want)
	}
	if _, err := env.Compile(`{"q": url.rawQuery(params.account)}`); err == nil || !strings.Contains(err.Error(), "must be the whole of a ${...}") {
		t.Errorf("Compile: %v", err)
	}
	if _, err := env.Compile("url.rawQuery(params.account)"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Compile: %v, want %q", err, want)
	}
	if _, err := env.CompileValue(map[string]any{"link": "${url.rawPath(params.account)}"}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("CompileValue: %v, want %q", err, want)
	}
	// The program a URL template shares with a text template does not make the raw function legal there.
	if _, err := env.CompileURLTemplate("http://h/${url.rawPath(params.account)}"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.CompileTemplate("${url.rawPath(params.account)}"); err == nil {
		t.Error("a text template accepted url.rawPath after a URL template compiled it")
	}
}

func TestURLPositions(t *testing.T) {
	tests := map[string]urlPosition{
		"":                   inOrigin,
		"http":               inOrigin,
		"http://":            inOrigin,
		"http://x.":          inOrigin,
		"http://h:":          inPort,
		"http://h/":          inPath,
		"http://h/a/x/":      inPath,
		"http://h?":          inQuery,
		"http://h/p?a=":      inQuery,
		"http://h/p?a=x&b=":  inQuery,
		"http://h/p?next=/x": inQuery,
		"http://h/p#":        inFragment,
		"http://h/p?a=1#x":   inFragment,
	}
	for before, want := range tests {
		if got := positionAfter(before); got != want {
			t.Errorf("positionAfter(%q) = %d, want %d", before, got, want)
		}
	}
}
