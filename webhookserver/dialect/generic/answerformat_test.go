package generic

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// TestAnswerFollowsTheCaller: the answer and its Content-Type take the format the request negotiated.
func TestAnswerFollowsTheCaller(t *testing.T) {
	answer := &model.Answer{Text: "Hi <b>", Parameters: map[string]any{"user": "ann", "bad key": "v", "gone": nil},
		Messages: []model.Message{{Text: "one"}}}
	tests := map[string]struct {
		contentType, accept, body string
		wantType, want            string
	}{
		"XML": {contentType: "application/xml", body: "<request><intent>i</intent></request>", wantType: "application/xml; charset=utf-8",
			want: xml.Header + `<response><fulfillmentText>Hi &lt;b&gt;</fulfillmentText><messages><message><text>one</text></message></messages>` +
				`<parameters><entry name="bad key">v</entry><gone nil="true"/><user>ann</user></parameters></response>`},
		"form": {contentType: "application/x-www-form-urlencoded", body: "intent=i", wantType: "application/json",
			want: `{"fulfillmentText":"Hi \u003cb\u003e","parameters":{"bad key":"v","gone":null,"user":"ann"},"messages":[{"text":"one"}]}`},
		"form accepting form": {contentType: "application/x-www-form-urlencoded", accept: "application/x-www-form-urlencoded", body: "intent=i",
			wantType: "application/x-www-form-urlencoded",
			want:     "fulfillmentText=Hi+%3Cb%3E&messages.message.0.text=one&parameters.bad+key=v&parameters.gone=&parameters.user=ann"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			header := http.Header{"Content-Type": {tt.contentType}}
			if tt.accept != "" {
				header.Set("Accept", tt.accept)
			}
			d, err := New().Decode(dialect.Input{Method: http.MethodPost, Header: header, Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			body, err := d.Encode(answer)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.(interface{ ContentType() string }).ContentType(); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
			if string(body) != tt.want {
				t.Errorf("answer %s\nwant   %s", body, tt.want)
			}
		})
	}
}

// Rich messages take the shape of their JSON in XML and form answers too.
func TestRichMessagesFollowTheCaller(t *testing.T) {
	answer := &model.Answer{Messages: []model.Message{
		{Image: &model.Image{URL: "https://example.com/a.png?x=1&y=2", AccessibilityText: "a"}},
		{Card: &model.Card{Title: "Gold", Buttons: []model.Button{{Text: "Buy", Postback: "buy"}, {Text: "No", Postback: "No"}}}},
		{QuickReplies: &model.QuickReplies{Title: "Size?", Replies: []string{"S", "M"}}},
	}}
	tests := map[string]struct{ accept, want string }{
		"XML": {accept: "application/xml", want: xml.Header + `<response><messages>` +
			`<message><image><accessibilityText>a</accessibilityText><url>https://example.com/a.png?x=1&amp;y=2</url></image></message>` +
			`<message><card><buttons><postback>buy</postback><text>Buy</text></buttons><buttons><postback>No</postback><text>No</text></buttons><title>Gold</title></card></message>` +
			`<message><quickReplies><replies>S</replies><replies>M</replies><title>Size?</title></quickReplies></message>` +
			`</messages></response>`},
		"form": {accept: "application/x-www-form-urlencoded", want: "messages.message.0.image.accessibilityText=a" +
			"&messages.message.0.image.url=https%3A%2F%2Fexample.com%2Fa.png%3Fx%3D1%26y%3D2" +
			"&messages.message.1.card.buttons.0.postback=buy&messages.message.1.card.buttons.0.text=Buy" +
			"&messages.message.1.card.buttons.1.postback=No&messages.message.1.card.buttons.1.text=No" +
			"&messages.message.1.card.title=Gold" +
			"&messages.message.2.quickReplies.replies=S&messages.message.2.quickReplies.replies=M" +
			"&messages.message.2.quickReplies.title=Size%3F"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			header := http.Header{"Content-Type": {"application/json"}, "Accept": {tt.accept}}
			d, err := New().Decode(dialect.Input{Method: http.MethodPost, Header: header, Body: []byte(`{"event":"e"}`)})
			if err != nil {
				t.Fatal(err)
			}
			body, err := d.Encode(answer)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.want {
				t.Errorf("answer %s\nwant   %s", body, tt.want)
			}
		})
	}
}

func TestErrorFollowsTheCaller(t *testing.T) {
	c := New().(codec)
	body, contentType := c.EncodeErrorFor(http.Header{"Accept": {"text/xml"}}, 400, "malformed_request", `a <"b">`)
	if contentType != "text/xml; charset=utf-8" ||
		string(body) != xml.Header+`<error><code>malformed_request</code><message>a &lt;&#34;b&#34;&gt;</message></error>` {
		t.Errorf("XML error %s: %s", contentType, body)
	}
	body, contentType = c.EncodeErrorFor(http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, 400, "c", "m")
	if contentType != "application/json" || string(body) != `{"error":{"code":"c","message":"m"}}` {
		t.Errorf("form caller's error %s: %s", contentType, body)
	}
	body, _ = c.EncodeErrorFor(http.Header{"Accept": {"application/x-www-form-urlencoded"}}, 400, "c", "m&x=1")
	if values, err := url.ParseQuery(string(body)); err != nil || values.Get("error.message") != "m&x=1" || len(values) != 2 {
		t.Errorf("form error %s", body)
	}
}
