package endpoint

import (
	"net/http"
	"strings"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

func compileRequestFields(t *testing.T, environmentFrom, versionFrom string) (*Endpoint, error) {
	t.Helper()
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	spec := configfile.Endpoint{Name: "events", Namespace: "ns", Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
		Dialect: fulfillmentv1alpha1.DialectGeneric, Auth: fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true},
		EnvironmentFrom: environmentFrom, VersionFrom: versionFrom}}
	return Compile(spec, config.MapSecrets{}, Options{Env: env})
}

// An expression that does not compile refuses the configuration, naming its field.
func TestCompileRefusesRequestFieldsThatDoNotCompile(t *testing.T) {
	_, err := compileRequestFields(t, `request.headers[`, `request.nope`)
	if err == nil {
		t.Fatal("Compile accepted expressions that do not compile")
	}
	for _, field := range []string{"spec.environmentFrom", "spec.versionFrom"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("the error does not name %s: %v", field, err)
		}
	}
}

// The decode stage applies environmentFrom and versionFrom over the dialect's values; a failure, a value that is
// not a string or one too long for any route gives "".
func TestStageDecodeDerivesEnvironmentAndVersion(t *testing.T) {
	tests := map[string]struct {
		environmentFrom, versionFrom string
		body                         string
		wantEnvironment, wantVersion string
	}{
		"dialect defaults": {"", "", `{"object":"event","type":"t","livemode":false,"api_version":"2024-06-20"}`, "test", "2024-06-20"},
		"from the body": {`request.body.mode`, `request.body.meta.schema`, `{"event":"e","mode":"staging","version":"1","meta":{"schema":"3"}}`,
			"staging", "3"},
		"reading the default": {`request.environment == "test" ? "sandbox" : "prod"`, `"v" + request.version`,
			`{"object":"event","type":"t","livemode":false,"api_version":"2"}`, "sandbox", "v2"},
		"missing field":   {`request.body.mode`, `request.body.meta.schema`, `{"event":"e","version":"1"}`, "", ""},
		"not a string":    {`request.body.mode`, `request.body.n`, `{"event":"e","mode":1,"n":true}`, "", ""},
		"too long":        {`request.body.mode`, "", `{"event":"e","mode":"` + strings.Repeat("x", maxFieldLen+1) + `"}`, "", ""},
		"longest kept":    {`request.body.mode`, "", `{"event":"e","mode":"` + strings.Repeat("x", maxFieldLen) + `"}`, strings.Repeat("x", maxFieldLen), ""},
		"default bounded": {"", "", `{"event":"e","version":"` + strings.Repeat("1", maxFieldLen+1) + `"}`, "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := compileRequestFields(t, tc.environmentFrom, tc.versionFrom)
			if err != nil {
				t.Fatal(err)
			}
			in := dialect.Input{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.body)}
			decoded, refused := e.decode(in)
			if refused != nil {
				t.Fatalf("refused: %d %s", refused.Status, refused.Body)
			}
			if req := decoded.Request(); req.Environment != tc.wantEnvironment || req.Version != tc.wantVersion {
				t.Errorf("environment, version = %q, %q, want %q, %q", req.Environment, req.Version, tc.wantEnvironment, tc.wantVersion)
			}
		})
	}
}
