package blackbox

import (
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// legacyManifest is a Generic endpoint whose routes answer from a template or call upstream in each body format.
func legacyManifest(upstream string) string {
	return fmt.Sprintf(`
apiVersion: fulfillment.dev/v1alpha1
kind: WebhookEndpoint
metadata: {name: legacy}
spec:
  dialect: Generic
  path: /legacy
  auth: {allowUnauthenticated: true}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: greet}
spec:
  endpointRef: {name: legacy}
  match: {events: [greet]}
  respond:
    text: Hello ${params.name}
    parameters: {echo: params, greeted: 'true'}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: xml-call}
spec:
  endpointRef: {name: legacy}
  match: {events: [xml.call]}
  call:
    url: %[1]s/xml
    bodyFormat: XML
    body: '{"account": params.account, "note": params.note, "lines": ["a", "b"]}'
    respond:
      text: Balance ${response.body.balance} ${response.body.currency}
      parameters: {overdrawn: response.body.flags.overdrawn}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: form-call}
spec:
  endpointRef: {name: legacy}
  match: {events: [form.call]}
  call:
    url: %[1]s/form
    bodyFormat: Form
    body: '{"account": params.account, "tags": ["a", "b"], "address": {"city": params.city}}'
    respond:
      text: Status ${response.body.status} in ${response.body.branch.city}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: text-call}
spec:
  endpointRef: {name: legacy}
  match: {events: [text.call]}
  call:
    url: %[1]s/text
    method: GET
    respond:
      text: Upstream said ${response.body}
---
apiVersion: fulfillment.dev/v1alpha1
kind: IntentRoute
metadata: {name: failing}
spec:
  endpointRef: {name: legacy}
  match: {events: [fail]}
  call: {url: "%[1]s/down", method: GET}
`, upstream)
}

// legacyUpstream answers in XML, as a form and in plain text, and records what each call sent.
type legacyUpstream struct {
	*httptest.Server
	mu          sync.Mutex
	contentType map[string]string
	body        map[string]string
}

func (u *legacyUpstream) sent(path string) (contentType, body string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.contentType[path], u.body[path]
}

func startLegacy(t *testing.T) (*server, *legacyUpstream) {
	u := &legacyUpstream{contentType: map[string]string{}, body: map[string]string{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.contentType[r.URL.Path], u.body[r.URL.Path] = r.Header.Get("Content-Type"), string(body)
		u.mu.Unlock()
		switch r.URL.Path {
		case "/xml":
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			_, _ = io.WriteString(w, `<?xml version="1.0"?><result><balance>12.50</balance><currency>EUR</currency>`+
				`<flags overdrawn="no"><overdrawn>false</overdrawn></flags></result>`)
		case "/form":
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			_, _ = io.WriteString(w, "status=active&branch.city=Li%C3%A8ge")
		case "/text":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "all good")
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(u.Close)
	dir := t.TempDir()
	writeFile(t, dir, "legacy.yaml", legacyManifest(u.URL))
	return startServer(t, "--manifests", dir), u
}

// xmlAnswer is the Generic answer in XML, as a legacy consumer would read it with encoding/xml.
type xmlAnswer struct {
	XMLName         xml.Name `xml:"response"`
	FulfillmentText string   `xml:"fulfillmentText"`
	Parameters      struct {
		Fields []xmlField `xml:",any"`
	} `xml:"parameters"`
}

// xmlField is an element named by its key, or an <entry name="key"> for a key that is no XML name.
type xmlField struct {
	XMLName xml.Name
	Name    string     `xml:"name,attr"`
	Nil     string     `xml:"nil,attr"`
	Text    string     `xml:",chardata"`
	Fields  []xmlField `xml:",any"`
}

// field is the child of f for key, found as a legacy consumer finds it.
func field(fields []xmlField, key string) *xmlField {
	for i, f := range fields {
		if f.XMLName.Local == key && f.Name == "" || f.XMLName.Local == "entry" && f.Name == key {
			return &fields[i]
		}
	}
	return nil
}

func parseXMLAnswer(t *testing.T, resp *http.Response, content []byte) xmlAnswer {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, content)
	}
	if mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mediaType != "application/xml" {
		t.Errorf("Content-Type %q, want application/xml", resp.Header.Get("Content-Type"))
	}
	var answer xmlAnswer
	if err := xml.Unmarshal(content, &answer); err != nil {
		t.Fatalf("the answer is not the XML documented: %v\n%s", err, content)
	}
	return answer
}

func TestGenericAnswersXMLCallersInXML(t *testing.T) {
	s, _ := startLegacy(t)
	xmlHeader := http.Header{"Content-Type": {"application/xml"}}

	resp, content := s.post("/legacy", []byte(`<?xml version="1.0"?><request><event>greet</event>`+
		`<session><id>s-1</id><parameters><name>Ann</name><city>Liège</city></parameters></session></request>`), xmlHeader)
	answer := parseXMLAnswer(t, resp, content)
	if answer.FulfillmentText != "Hello Ann" {
		t.Errorf("fulfillmentText %q, want %q", answer.FulfillmentText, "Hello Ann")
	}
	echo := field(answer.Parameters.Fields, "echo")
	if greeted := field(answer.Parameters.Fields, "greeted"); greeted == nil || greeted.Text != "true" || echo == nil {
		t.Fatalf("parameters %+v", answer.Parameters.Fields)
	}
	if city := field(echo.Fields, "city"); city == nil || city.Text != "Liège" {
		t.Errorf("parameters.echo %+v, want city Liège", echo.Fields)
	}

	t.Run("a fallback is XML too", func(t *testing.T) {
		resp, content := s.post("/legacy", []byte(`<request><event>nobody.handles.this</event></request>`), xmlHeader)
		parseXMLAnswer(t, resp, content)
		if resp.Header.Get("Fulfillment-Fallback") != "no_route" {
			t.Errorf("Fulfillment-Fallback %q, want no_route", resp.Header.Get("Fulfillment-Fallback"))
		}
	})

	t.Run("a replayed duplicate keeps its format", func(t *testing.T) {
		event := []byte(`<request><id>delivery-1</id><event>greet</event><session><parameters><name>Bo</name></parameters></session></request>`)
		s.post("/legacy", event, xmlHeader)
		resp, content := s.post("/legacy", event, xmlHeader)
		if answer := parseXMLAnswer(t, resp, content); answer.FulfillmentText != "Hello Bo" || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replayed %v: %s", resp.Header, content)
		}
	})

	t.Run("an error answer is XML too", func(t *testing.T) {
		for name, tc := range map[string]struct {
			body   string
			status int
			code   string
		}{
			"malformed":     {`<request><event>greet</request>`, http.StatusBadRequest, "malformed_request"},
			"action failed": {`<request><event>fail</event></request>`, http.StatusBadGateway, "action_failed"},
		} {
			resp, content := s.post("/legacy", []byte(tc.body), http.Header{"Content-Type": {"text/xml"}})
			var refusal struct {
				XMLName xml.Name `xml:"error"`
				Code    string   `xml:"code"`
				Message string   `xml:"message"`
			}
			if err := xml.Unmarshal(content, &refusal); err != nil || resp.StatusCode != tc.status || refusal.Code != tc.code || refusal.Message == "" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
				t.Errorf("%s: %d %s %s (%v)", name, resp.StatusCode, resp.Header.Get("Content-Type"), content, err)
			}
		}
		// Refused by the server before the dialect reads the request: the method is not the endpoint's.
		resp, content := s.do(http.MethodPut, "/legacy", nil, http.Header{"Accept": {"application/xml"}})
		var refusal struct {
			XMLName xml.Name `xml:"error"`
			Code    string   `xml:"code"`
		}
		if err := xml.Unmarshal(content, &refusal); err != nil || resp.StatusCode != http.StatusMethodNotAllowed ||
			refusal.Code == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
			t.Errorf("a refused method: %d %s %s (%v)", resp.StatusCode, resp.Header.Get("Content-Type"), content, err)
		}
	})
}

func TestGenericAnswersInTheFormatAcceptAsksFor(t *testing.T) {
	s, _ := startLegacy(t)
	event := []byte(`{"event":"greet","session":{"parameters":{"name":"Ann"}}}`)

	resp, content := s.post("/legacy", event, http.Header{"Accept": {"application/json;q=0.5, application/xml"}})
	if answer := parseXMLAnswer(t, resp, content); answer.FulfillmentText != "Hello Ann" {
		t.Errorf("fulfillmentText %q", answer.FulfillmentText)
	}

	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	resp, content = s.post("/legacy", []byte("event=greet&session.parameters.name=Ann"), form)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(content), `"fulfillmentText":"Hello Ann"`) {
		t.Errorf("a form caller is answered JSON: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), content)
	}

	form.Set("Accept", "application/x-www-form-urlencoded")
	resp, content = s.post("/legacy", []byte("event=greet&session.parameters.name=Ann"), form)
	values, err := url.ParseQuery(string(content))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || err != nil ||
		values.Get("fulfillmentText") != "Hello Ann" || values.Get("parameters.echo.name") != "Ann" {
		t.Errorf("a form caller that accepts a form: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), content)
	}
}

// Every name and value of the request is escaped where it lands in the XML answer: none makes markup.
func TestGenericXMLAnswerEscapesHostileParameters(t *testing.T) {
	s, _ := startLegacy(t)
	const hostileName, hostileValue = `a b"><evil x="1`, `</fulfillmentText><evil/>&amp;]]>`
	event := fmt.Sprintf(`{"event":"greet","session":{"parameters":{"name":%q,%q:"v","xmlns":"w","1st":"x","ok":"\u0001ctl"}}}`,
		hostileValue, hostileName)
	resp, content := s.post("/legacy", []byte(event), http.Header{"Accept": {"application/xml"}})
	if strings.Contains(string(content), "<evil") {
		t.Errorf("a value made markup: %s", content)
	}
	answer := parseXMLAnswer(t, resp, content)
	if answer.FulfillmentText != "Hello "+hostileValue {
		t.Errorf("fulfillmentText %q, want %q", answer.FulfillmentText, "Hello "+hostileValue)
	}
	echo := field(answer.Parameters.Fields, "echo")
	if echo == nil {
		t.Fatalf("no echo in %s", content)
	}
	for key, want := range map[string]string{hostileName: "v", "xmlns": "w", "1st": "x", "name": hostileValue, "ok": "\uFFFDctl"} {
		if got := field(echo.Fields, key); got == nil || got.Text != want {
			t.Errorf("parameter %q: %+v, want %q", key, got, want)
		}
	}
}

func TestCallSendsAndReadsXML(t *testing.T) {
	s, up := startLegacy(t)
	resp, content := s.post("/legacy", []byte(`{"event":"xml.call","session":{"parameters":{"account":"A-1","note":"<b>&"}}}`), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), `"fulfillmentText":"Balance 12.50 EUR"`) ||
		!strings.Contains(string(content), `"overdrawn":"false"`) {
		t.Errorf("answer %d %s", resp.StatusCode, content)
	}
	contentType, body := up.sent("/xml")
	if mediaType, _, _ := mime.ParseMediaType(contentType); mediaType != "application/xml" {
		t.Errorf("the call sent Content-Type %q", contentType)
	}
	var sent struct {
		XMLName xml.Name `xml:"request"`
		Account string   `xml:"account"`
		Note    string   `xml:"note"`
		Lines   []string `xml:"lines"`
	}
	if err := xml.Unmarshal([]byte(body), &sent); err != nil || sent.Account != "A-1" || sent.Note != "<b>&" ||
		strings.Join(sent.Lines, ",") != "a,b" {
		t.Errorf("the call sent %s (%v)", body, err)
	}
}

func TestCallSendsAndReadsForms(t *testing.T) {
	s, up := startLegacy(t)
	resp, content := s.post("/legacy", []byte(`{"event":"form.call","session":{"parameters":{"account":"A 1&x=2","city":"Namur"}}}`), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), `"fulfillmentText":"Status active in Liège"`) {
		t.Errorf("answer %d %s", resp.StatusCode, content)
	}
	contentType, body := up.sent("/form")
	sent, err := url.ParseQuery(body)
	if contentType != "application/x-www-form-urlencoded" || err != nil || sent.Get("account") != "A 1&x=2" ||
		strings.Join(sent["tags"], ",") != "a,b" || sent.Get("address.city") != "Namur" || len(sent) != 3 {
		t.Errorf("the call sent %s %s", contentType, body)
	}
}

func TestCallReadsAPlainTextAnswer(t *testing.T) {
	s, _ := startLegacy(t)
	resp, content := s.post("/legacy", []byte(`{"event":"text.call"}`), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(content), `"fulfillmentText":"Upstream said all good"`) {
		t.Errorf("answer %d %s", resp.StatusCode, content)
	}
}
