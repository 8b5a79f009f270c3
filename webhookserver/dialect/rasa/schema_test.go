package rasa_test

import (
	"bytes"
	"os"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// actionResponseSchema is testdata/action-response.schema.json: what Rasa accepts from an action server, as
// its own schema and event parsers read it (the file says where each part comes from).
var actionResponseSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	text, err := os.ReadFile("testdata/action-response.schema.json")
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
	if err != nil {
		return nil, err
	}
	compiler := jsonschema.NewCompiler()
	if err := compiler.AddResource("action-response.schema.json", doc); err != nil {
		return nil, err
	}
	return compiler.Compile("action-response.schema.json")
})

// checkSchema fails t when body is not an answer Rasa accepts.
func checkSchema(t *testing.T, body []byte) {
	t.Helper()
	schema, err := actionResponseSchema()
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	answer, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if err := schema.Validate(answer); err != nil {
		t.Errorf("Rasa would refuse %s:\n%v", body, err)
	}
}

// The schema refuses what Rasa does, so that checkSchema can fail.
func TestSchemaRefuses(t *testing.T) {
	schema, err := actionResponseSchema()
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"no responses":          `{"events":[]}`,
		"event without a kind":  `{"events":[{"timestamp":null,"name":"a","value":1}],"responses":[]}`,
		"slot without a value":  `{"events":[{"event":"slot","timestamp":null,"name":"a"}],"responses":[]}`,
		"timestamp as a string": `{"events":[{"event":"restart","timestamp":"now"}],"responses":[]}`,
		"reminder without zone": `{"events":[{"event":"reminder","timestamp":null,"intent":"i","entities":null,"date_time":"2026-01-02T03:04:05","name":null,"kill_on_user_msg":true}],"responses":[]}`,
		"unknown event":         `{"events":[{"event":"bogus","timestamp":null}],"responses":[]}`,
		"response not object":   `{"events":[],"responses":["hi"]}`,
		"button without title":  `{"events":[],"responses":[{"text":"t","buttons":[{"payload":"p"}]}]}`,
		"template with text":    `{"events":[],"responses":[{"response":"utter_x","text":"t"}]}`,
		"empty response":        `{"events":[],"responses":[{}]}`,
	} {
		answer, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(answer) == nil {
			t.Errorf("%s: the schema accepts %s", name, body)
		}
	}
}
