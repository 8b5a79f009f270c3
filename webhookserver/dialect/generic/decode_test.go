package generic_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/generic"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialecttest"
)

func TestDecodeFixture(t *testing.T) {
	req, err := dialecttest.Decode(generic.New(), post("application/json", string(dialecttest.Fixture(t, "generic-event-request.json"))))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := dialecttest.Request{
		Dialect:    generic.Name,
		Event:      "intent_matched",
		Intent:     "GetAccountBalance",
		Session:    "abc123",
		Parameters: map[string]any{"user_id": "456"},
		Headers:    map[string]string{"content-type": "application/json"},
	}
	wantBody := map[string]any{"event": "intent_matched", "intent": "GetAccountBalance", "timestamp": "2025-06-24T12:34:56Z",
		"session": map[string]any{"id": "abc123", "parameters": map[string]any{"user_id": "456"}}}
	if got := dialecttest.Fields(req); !reflect.DeepEqual(got, want) {
		t.Errorf("Decode:\n got %#v\nwant %#v", got, want)
	}
	if !reflect.DeepEqual(req.Body(), wantBody) {
		t.Errorf("Body:\n got %#v\nwant %#v", req.Body(), wantBody)
	}
}

// TestDecodeFormats checks that every format gives the same object: what a JSON sender would send.
func TestDecodeFormats(t *testing.T) {
	orderCreated := map[string]any{"event": "order.created", "id": "d-1",
		"session": map[string]any{"id": "s-1", "parameters": map[string]any{"user": "ann", "tier": "gold"}}}
	tests := map[string]struct {
		in       dialect.Input
		wantBody map[string]any
	}{
		"JSON with a charset": {
			in:       post("application/json; charset=utf-8", `{"event":"order.created","id":"d-1","session":{"id":"s-1","parameters":{"user":"ann","tier":"gold"}}}`),
			wantBody: orderCreated,
		},
		"structured JSON suffix": {
			in:       post("application/cloudevents+json", `{"event":"order.created","id":"d-1","session":{"id":"s-1","parameters":{"user":"ann","tier":"gold"}}}`),
			wantBody: orderCreated,
		},
		"no content type is read as JSON": {
			in:       post("", `{"event":"order.created","id":"d-1","session":{"id":"s-1","parameters":{"user":"ann","tier":"gold"}}}`),
			wantBody: orderCreated,
		},
		"form with dotted names": {
			in:       post("application/x-www-form-urlencoded", "event=order.created&id=d-1&session.id=s-1&session.parameters.user=ann&session.parameters.tier=gold"),
			wantBody: orderCreated,
		},
		"XML": {
			in: post("application/xml", `<?xml version="1.0" encoding="UTF-8"?>
				<webhook xmlns="urn:example"><event>order.created</event><id> d-1 </id><!-- legacy -->
				<session><id>s-1</id><parameters><user>ann</user><tier>gold</tier></parameters></session></webhook>`),
			wantBody: orderCreated,
		},
		"XML in ISO-8859-1": {
			in: post("text/xml", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><webhook><event>order.created</event>"+
				"<id>d-1</id><session><id>s-1</id><parameters><user>ann</user><tier>gold</tier></parameters></session>"+
				"<note>caf\xe9</note></webhook>"),
			wantBody: withField(orderCreated, "note", "café"),
		},
		"GET with the query string": {
			in: dialect.Input{Method: http.MethodGet, Query: url.Values{"event": {"order.created"}, "id": {"d-1"},
				"session.id": {"s-1"}, "session.parameters.user": {"ann"}, "session.parameters.tier": {"gold"}}},
			wantBody: orderCreated,
		},
		"GET with a body reads the body": {
			in: dialect.Input{Method: http.MethodGet, Header: http.Header{"Content-Type": {"application/json"}},
				Query: url.Values{"event": {"ignored"}},
				Body:  []byte(`{"event":"order.created","id":"d-1","session":{"id":"s-1","parameters":{"user":"ann","tier":"gold"}}}`)},
			wantBody: orderCreated,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(generic.New(), tt.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(req.Body(), tt.wantBody) {
				t.Errorf("Body:\n got %#v\nwant %#v", req.Body(), tt.wantBody)
			}
			if req.Event != "order.created" || req.Session != "s-1" || req.DeliveryID != "d-1" ||
				!reflect.DeepEqual(req.Parameters, map[string]any{"user": "ann", "tier": "gold"}) {
				t.Errorf("Decode fields: %+v", req)
			}
		})
	}
}

func TestDecodeFlatFormats(t *testing.T) {
	tests := map[string]struct {
		in          dialect.Input
		wantBody    map[string]any
		wantSession string
	}{
		"form: repeated names, session_id": {
			in:          post("application/x-www-form-urlencoded", "session_id=s-2&tag=a&tag=b&a..b=literal&empty="),
			wantBody:    map[string]any{"session_id": "s-2", "tag": []any{"a", "b"}, "a..b": "literal", "empty": ""},
			wantSession: "s-2",
		},
		"XML: attributes, text beside children, repeated elements, empty elements": {
			in: post("application/xml", `<r kind="x"><item>1</item><item>2</item><item>3</item>`+
				`<note lang="en">hi</note><mixed>a<b>c</b></mixed><empty/><session_id>s-3</session_id></r>`),
			wantBody: map[string]any{"@kind": "x", "item": []any{"1", "2", "3"}, "note": map[string]any{"@lang": "en", "#text": "hi"},
				"mixed": map[string]any{"#text": "a", "b": "c"}, "empty": "", "session_id": "s-3"},
			wantSession: "s-3",
		},
		"XML: an empty root": {
			in:       post("application/xml", `<webhook/>`),
			wantBody: map[string]any{},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(generic.New(), tt.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(req.Body(), tt.wantBody) {
				t.Errorf("Body:\n got %#v\nwant %#v", req.Body(), tt.wantBody)
			}
			if req.Session != tt.wantSession {
				t.Errorf("Session = %q, want %q", req.Session, tt.wantSession)
			}
		})
	}
}

// TestDecodeSenders checks the event names and delivery ids of senders that do not write the Generic format.
// A sender's headers count only when the codec is given that sender (the endpoint verifies its signature).
func TestDecodeSenders(t *testing.T) {
	gitHubPullRequest := withHeader(withHeader(post("application/json", `{"action":"opened","number":7}`),
		"X-GitHub-Event", "pull_request"), "X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	shopifyOrder := withHeader(withHeader(post("application/json", `{"id":820982911946154508}`),
		"X-Shopify-Topic", "orders/create"), "X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
	standardWebhook := withHeader(post("application/json", `{"type":"invoice.paid","id":"inv_1"}`), "webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	stripeEvent := post("application/json", `{"id":"evt_test_1","object":"event","type":"invoice.paid"}`)
	spoofed := withHeader(withHeader(withHeader(withHeader(withHeader(stripeEvent, "Webhook-Id", "fresh-1"),
		"X-GitHub-Event", "charge.refunded"), "X-GitHub-Delivery", "fresh-2"),
		"X-Shopify-Topic", "refunds/create"), "X-Shopify-Webhook-Id", "fresh-3")
	tests := map[string]struct {
		sender         generic.Sender
		in             dialect.Input
		wantEvent      string
		wantDeliveryID string
	}{
		"Standard Webhooks: webhook-id over the payload's id": {
			sender:         generic.StandardWebhooks,
			in:             standardWebhook,
			wantEvent:      "invoice.paid",
			wantDeliveryID: "msg_p5jXN8AQM9LWM0D4loKWxJek",
		},
		"GitHub": {
			sender:         generic.GitHub,
			in:             gitHubPullRequest,
			wantEvent:      "pull_request",
			wantDeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		},
		"Shopify: the order id is not the delivery id": {
			sender:         generic.Shopify,
			in:             shopifyOrder,
			wantEvent:      "orders/create",
			wantDeliveryID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
		},
		"another sender's headers are not read": {
			sender:         generic.StandardWebhooks,
			in:             withHeader(withHeader(standardWebhook, "X-GitHub-Event", "push"), "X-GitHub-Delivery", "d-2"),
			wantEvent:      "invoice.paid",
			wantDeliveryID: "msg_p5jXN8AQM9LWM0D4loKWxJek",
		},
		"GitHub's headers without the GitHub sender": {
			in:        gitHubPullRequest,
			wantEvent: "",
		},
		"Shopify's headers without the Shopify sender: the order id": {
			sender:         generic.GitHub,
			in:             shopifyOrder,
			wantDeliveryID: "820982911946154508",
		},
		"webhook-id without the Standard Webhooks sender: the payload's id": {
			sender:         generic.Shopify,
			in:             standardWebhook,
			wantEvent:      "invoice.paid",
			wantDeliveryID: "inv_1",
		},
		"Stripe: headers cannot change the signed event": {
			in:             spoofed,
			wantEvent:      "invoice.paid",
			wantDeliveryID: "evt_test_1",
		},
		"a large numeric id is kept exactly": {
			in:             post("application/json", `{"event":"e","id":820982911946154508}`),
			wantEvent:      "e",
			wantDeliveryID: "820982911946154508",
		},
		"a small numeric id": {
			in:             post("application/json", `{"event":"e","id":42}`),
			wantEvent:      "e",
			wantDeliveryID: "42",
		},
		"an id of another type is no delivery id": {
			in:        post("application/json", `{"event":"e","id":{"kind":"order"}}`),
			wantEvent: "e",
		},
		"Stripe": {
			in:             post("application/json", `{"id":"evt_test_1","object":"event","type":"ping"}`),
			wantEvent:      "ping",
			wantDeliveryID: "evt_test_1",
		},
		"Slack Events API": {
			in:             post("application/json", `{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention","text":"hi"}}`),
			wantEvent:      "app_mention",
			wantDeliveryID: "Ev08MFMKH6",
		},
		"Slack slash command": {
			in: post("application/x-www-form-urlencoded", string(dialecttest.Fixture(t, "slack-body.txt"))),
		},
		"Generic event over the sender's type": {
			in:        post("application/json", `{"event":"mine","type":"theirs"}`),
			wantEvent: "mine",
		},
		"Generic event over the sender's header": {
			sender:    generic.GitHub,
			in:        withHeader(post("application/json", `{"event":"mine"}`), "X-GitHub-Event", "theirs"),
			wantEvent: "mine",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(generic.New(generic.WithSender(tt.sender)), tt.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if req.Event != tt.wantEvent || req.DeliveryID != tt.wantDeliveryID {
				t.Errorf("Event, DeliveryID = %q, %q; want %q, %q", req.Event, req.DeliveryID, tt.wantEvent, tt.wantDeliveryID)
			}
		})
	}
}

func TestDecodeSlackCommandBody(t *testing.T) {
	req, err := dialecttest.Decode(generic.New(), post("application/x-www-form-urlencoded", string(dialecttest.Fixture(t, "slack-body.txt"))))
	if err != nil {
		t.Fatal(err)
	}
	if req.Body()["command"] != "/webhook-collect" || req.Body()["text"] != "" || req.Body()["team_id"] != "T1DC2JH3J" {
		t.Errorf("Body = %v", req.Body())
	}
}

func TestDecodeMalformed(t *testing.T) {
	tests := map[string]struct {
		in        dialect.Input
		wantField string
	}{
		"empty JSON body":               {post("application/json", ""), ""},
		"empty POST without a type":     {post("", "  "), ""},
		"malformed JSON":                {post("application/json", `{"event":}`), ""},
		"JSON array":                    {post("application/json", `[{"event":"e"}]`), ""},
		"event number":                  {post("application/json", `{"event":1}`), "event"},
		"event object with bad type":    {post("application/json", `{"event":{"type":2}}`), "event.type"},
		"intent array":                  {post("application/json", `{"intent":["a"]}`), "intent"},
		"session string":                {post("application/json", `{"session":"s-1"}`), "session"},
		"session id number":             {post("application/json", `{"session":{"id":1}}`), "session.id"},
		"session parameters array":      {post("application/json", `{"session":{"parameters":[]}}`), "session.parameters"},
		"session_id boolean":            {post("application/json", `{"session_id":true}`), "session_id"},
		"empty form":                    {post("application/x-www-form-urlencoded", ""), ""},
		"form with a bad escape":        {post("application/x-www-form-urlencoded", "event=%zz"), ""},
		"form with a name clash":        {post("application/x-www-form-urlencoded", "session=s&session.id=s-1"), "session.id"},
		"form session as a value":       {post("application/x-www-form-urlencoded", "session=s-1"), "session"},
		"empty XML":                     {post("application/xml", ""), ""},
		"XML not well-formed":           {post("application/xml", `<r><event>e</r>`), ""},
		"XML truncated":                 {post("application/xml", `<r><event>e</event>`), ""},
		"XML two roots":                 {post("application/xml", `<r/><r/>`), ""},
		"XML text after the root":       {post("application/xml", `<r/>tail`), ""},
		"XML root with only text":       {post("text/xml", `<r>hello</r>`), ""},
		"XML nested too deep":           {post("application/xml", strings.Repeat("<a>", 100)+strings.Repeat("</a>", 100)), ""},
		"XML in an unsupported charset": {post("application/xml", `<?xml version="1.0" encoding="EBCDIC"?><r/>`), ""},
		"XML undefined entity":          {post("application/xml", `<r><a>&nbsp;</a></r>`), ""},
		"XML session id as object":      {post("application/xml", `<r><session><id><x>1</x></id></session></r>`), "session.id"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(generic.New(), tt.in)
			if req != nil {
				t.Errorf("Decode returned a request with an error: %+v", req)
			}
			dialecttest.WantDecodeError(t, err, tt.wantField)
		})
	}
}

func TestDecodeUnsupportedMediaType(t *testing.T) {
	for _, contentType := range []string{"text/plain", "multipart/form-data; boundary=x", "application/octet-stream", "json"} {
		t.Run(contentType, func(t *testing.T) {
			_, err := dialecttest.Decode(generic.New(), post(contentType, `{"event":"e"}`))
			var mediaTypeErr *dialect.UnsupportedMediaTypeError
			if !errors.As(err, &mediaTypeErr) {
				t.Fatalf("want a *dialect.UnsupportedMediaTypeError, got %T: %v", err, err)
			}
			if want, _, _ := strings.Cut(contentType, ";"); mediaTypeErr.MediaType != want {
				t.Errorf("MediaType = %q, want %q", mediaTypeErr.MediaType, want)
			}
			for _, accepted := range []string{"application/json", "application/x-www-form-urlencoded", "text/xml", "application/*+xml"} {
				if !strings.Contains(err.Error(), accepted) {
					t.Errorf("error %q does not offer %s, which is read", err, accepted)
				}
			}
		})
	}
}

func post(contentType, body string) dialect.Input {
	header := http.Header{}
	if contentType != "" {
		header.Set("Content-Type", contentType)
	}
	return dialect.Input{Method: http.MethodPost, Header: header, Body: []byte(body)}
}

func withHeader(in dialect.Input, name, value string) dialect.Input {
	in.Header.Set(name, value)
	return in
}

func withField(object map[string]any, name string, value any) map[string]any {
	with := map[string]any{name: value}
	for k, v := range object {
		with[k] = v
	}
	return with
}

// Form bodies and query strings are bounded in fields and in the nesting of dotted names, XML bodies in markup,
// and the error says which bound and its value.
func TestDecodeBounds(t *testing.T) {
	nested := func(levels int) string { return strings.Repeat("a.", levels-1) + "b=1" }
	fields := func(n int) string {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("f%d=x", i)
		}
		return strings.Join(names, "&")
	}
	get := func(query string) dialect.Input {
		values, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		return dialect.Input{Method: http.MethodGet, Header: http.Header{}, Query: values}
	}
	tests := map[string]struct {
		in      dialect.Input
		wantErr string
	}{
		"a form at the field bound":         {in: post("application/x-www-form-urlencoded", fields(dialect.MaxFormFields))},
		"a form over the field bound":       {in: post("application/x-www-form-urlencoded", fields(dialect.MaxFormFields+1)), wantErr: "the form body has 1001 fields, over the limit of 1000"},
		"a query over the field bound":      {in: get(fields(dialect.MaxFormFields + 1)), wantErr: "the query string has 1001 fields, over the limit of 1000"},
		"a name at the depth bound":         {in: post("application/x-www-form-urlencoded", "event=e&"+nested(dialect.MaxFormDepth))},
		"a name over the depth bound":       {in: post("application/x-www-form-urlencoded", "event=e&"+nested(dialect.MaxFormDepth+1)), wantErr: "the name nests 65 levels deep, over the limit of 64"},
		"a query name over the depth bound": {in: get("event=e&" + nested(dialect.MaxFormDepth+1)), wantErr: "the name nests 65 levels deep, over the limit of 64"},
		"the form bomb":                     {in: post("application/x-www-form-urlencoded", "event=x&"+nested(1<<19)), wantErr: "the name nests 524288 levels deep, over the limit of 64"},
		"names over the object bound": {in: post("application/x-www-form-urlencoded", strings.ReplaceAll(fields(600), "=", ".a.b=")),
			wantErr: "the dotted names of the form body make more than 1000 objects, the limit"},
		"a literal name with many dots": {in: post("application/x-www-form-urlencoded", "event=e&"+strings.Repeat("a..", 1000)+"=1")},
		"XML at the markup bound":       {in: post("application/xml", `<r event="e">`+strings.Repeat("<a/>", dialect.MaxXMLMarkup-3)+"</r>")},
		"XML over the markup bound": {in: post("application/xml", `<r event="e">`+strings.Repeat("<a/>", dialect.MaxXMLMarkup-2)+"</r>"),
			wantErr: "the XML body has 20001 tags and attributes (< and =), over the limit of 20000"},
		"XML of many attributes": {in: post("application/xml", "<r "+strings.Repeat(`a="" `, 1<<18)+"/>"),
			wantErr: "the XML body has 262145 tags and attributes (< and =), over the limit of 20000"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := dialecttest.Decode(generic.New(), tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			dialecttest.CheckFuzzError(t, err)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || len(err.Error()) > 200 {
				t.Errorf("Decode: %v; want an error of at most 200 bytes saying %q", err, tt.wantErr)
			}
		})
	}
}

// TestDecodeQuery checks where a request's event comes from when it has a query string: a request without a body
// of any method reads it, a body wins over the query fields of the same name, and on an endpoint whose signature
// covers only the body the query string never enters the event.
func TestDecodeQuery(t *testing.T) {
	query := func(raw string) url.Values {
		values, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		return values
	}
	withQuery := func(in dialect.Input, method, raw string) dialect.Input {
		in.Method, in.Query = method, query(raw)
		return in
	}
	bodiless := func(method, raw string) dialect.Input {
		return dialect.Input{Method: method, Header: http.Header{}, Query: query(raw)}
	}
	unsigned, signed := generic.New(), generic.FromSettings(dialect.Settings{SignedBy: "Stripe"})
	tests := map[string]struct {
		codec     dialect.Codec
		in        dialect.Input
		wantBody  map[string]any
		wantEvent string
	}{
		"PUT without a body": {codec: unsigned, in: bodiless(http.MethodPut, "event=user.updated&user_id=7"),
			wantBody: map[string]any{"event": "user.updated", "user_id": "7"}, wantEvent: "user.updated"},
		"PATCH without a body": {codec: unsigned, in: bodiless(http.MethodPatch, "event=user.patched&session.id=s-1"),
			wantBody: map[string]any{"event": "user.patched", "session": map[string]any{"id": "s-1"}}, wantEvent: "user.patched"},
		"DELETE without a body": {codec: unsigned, in: bodiless(http.MethodDelete, "event=user.deleted"),
			wantBody: map[string]any{"event": "user.deleted"}, wantEvent: "user.deleted"},
		"DELETE without a body or a query": {codec: unsigned, in: bodiless(http.MethodDelete, ""),
			wantBody: map[string]any{}},
		"POST without a body reads its query": {codec: unsigned, in: bodiless(http.MethodPost, "event=ping"),
			wantBody: map[string]any{"event": "ping"}, wantEvent: "ping"},
		"a JSON body wins over the query": {codec: unsigned,
			in: withQuery(post("application/json", `{"event":"order.created","session":{"id":"from-body"}}`), http.MethodPut,
				"event=order.deleted&session.id=from-query&session.parameters.tier=gold&user_id=7"),
			wantBody: map[string]any{"event": "order.created", "user_id": "7",
				"session": map[string]any{"id": "from-body", "parameters": map[string]any{"tier": "gold"}}},
			wantEvent: "order.created"},
		"a form body wins over the query": {codec: unsigned,
			in:       withQuery(post("application/x-www-form-urlencoded", "event=a&x=body"), http.MethodPatch, "event=b&y=query"),
			wantBody: map[string]any{"event": "a", "x": "body", "y": "query"}, wantEvent: "a"},
		"a body value is not replaced by a query object": {codec: unsigned,
			in:       withQuery(post("application/json", `{"event":"e","data":"flat"}`), http.MethodPost, "data.id=s-9"),
			wantBody: map[string]any{"event": "e", "data": "flat"}, wantEvent: "e"},
		"a body object is not replaced by a query value": {codec: unsigned,
			in:       withQuery(post("application/json", `{"event":"e","data":{"a":1}}`), http.MethodPost, "data=flat"),
			wantBody: map[string]any{"event": "e", "data": map[string]any{"a": float64(1)}}, wantEvent: "e"},
		"the query fills in an XML body": {codec: unsigned,
			in:       withQuery(post("application/xml", `<r><event>e</event></r>`), http.MethodPost, "event=x&user_id=7"),
			wantBody: map[string]any{"event": "e", "user_id": "7"}, wantEvent: "e"},
		"signed: a body ignores the query": {codec: signed,
			in:       withQuery(post("application/json", `{"event":"order.created"}`), http.MethodPost, "event=order.deleted&admin=true"),
			wantBody: map[string]any{"event": "order.created"}, wantEvent: "order.created"},
		"signed: a request without a body does not read the query": {codec: signed,
			in:       bodiless(http.MethodGet, "event=order.deleted"),
			wantBody: map[string]any{}},
		"signed sender: the query stays out": {codec: generic.New(generic.WithSender(generic.GitHub)),
			in:       withQuery(post("application/json", `{"action":"opened"}`), http.MethodPost, "event=push"),
			wantBody: map[string]any{"action": "opened"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := dialecttest.Decode(tt.codec, tt.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(req.Body(), tt.wantBody) {
				t.Errorf("Body:\n got %#v\nwant %#v", req.Body(), tt.wantBody)
			}
			if req.Event != tt.wantEvent {
				t.Errorf("Event = %q, want %q", req.Event, tt.wantEvent)
			}
			// The query string reaches routes as request.query whatever the codec merges.
			for name, values := range tt.in.Query {
				if req.Query[name] != values[0] {
					t.Errorf("Query[%q] = %q, want %q", name, req.Query[name], values[0])
				}
			}
		})
	}
}

// A request that carries a body by its method but has neither a body nor a query string is refused as empty,
// as before query strings were read for every method; the query's bounds hold when it is merged into a body.
func TestDecodeQueryRefusals(t *testing.T) {
	tests := map[string]struct {
		codec   dialect.Codec
		in      dialect.Input
		wantErr string
	}{
		"PUT with nothing":        {codec: generic.New(), in: dialect.Input{Method: http.MethodPut, Header: http.Header{}}, wantErr: "empty body"},
		"signed POST, query only": {codec: generic.New(generic.WithSignedBody()), in: dialect.Input{Method: http.MethodPost, Header: http.Header{}, Query: url.Values{"event": {"e"}}}, wantErr: "empty body"},
		"a query name clash beside a body": {codec: generic.New(),
			in: dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"event":"e"}`),
				Query: url.Values{"a": {"1"}, "a.b": {"2"}}}, wantErr: `"a" is set both as a value and as an object`},
		"a query over the depth bound beside a body": {codec: generic.New(),
			in: dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"event":"e"}`),
				Query: url.Values{strings.Repeat("a.", dialect.MaxFormDepth) + "b": {"1"}}}, wantErr: "over the limit of 64"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := dialecttest.Decode(tt.codec, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decode error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
