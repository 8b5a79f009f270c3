package send

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/all"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmacsign"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
)

// Target is the endpoint a request goes to, with what reads its Secrets.
type Target struct {
	Name, Namespace string
	Spec            fulfillmentv1alpha1.WebhookEndpointSpec
	Secrets         config.SecretSource
}

// Request is a request ready to send: everything but where it goes, which Resolve decides.
type Request struct {
	Method string
	// Path is the endpoint's path, added to a base URL.
	Path   string
	Header http.Header
	Body   []byte
	// TLS is set when the endpoint serves HTTPS.
	TLS bool
}

// Build makes the request opts describe in target's dialect and authenticates it as target requires, at now
// (the time signed timestamps carry).
func Build(target *Target, opts *Options, now time.Time) (*Request, error) {
	codec, err := all.New(string(target.Spec.Dialect), dialect.Settings{})
	if err != nil {
		return nil, err
	}
	builder, ok := codec.(dialect.SampleBuilder)
	if !ok {
		return nil, fmt.Errorf("webhookserver send cannot build %s requests yet", target.Spec.Dialect)
	}
	data, err := readData(opts.Data)
	if err != nil {
		return nil, err
	}
	body, err := builder.BuildSample(dialect.Sample{
		Intent: opts.Intent, Action: opts.Action, Tag: opts.Tag, Event: opts.Event, Text: opts.Text,
		Parameters: opts.Params, Environment: opts.Environment, Language: opts.Language, Session: opts.Session,
		Data: data, Now: now,
	})
	if err != nil {
		return nil, err
	}
	req := &Request{Method: method(target.Spec.Methods), Path: target.Spec.Path, Header: http.Header{}, Body: body,
		TLS: target.Spec.TLS != nil && target.Spec.TLS.Mode != "" && target.Spec.TLS.Mode != fulfillmentv1alpha1.TLSModeDisabled}
	if req.Path == "" {
		req.Path = "/webhook" // the CRD's default, for a spec read without admission
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(server.DebugHeader, server.DebugRoute)
	for _, h := range opts.Headers {
		req.Header.Add(h[0], h[1])
	}
	if err := authenticate(req, target, opts, now); err != nil {
		return nil, err
	}
	return req, nil
}

// readData reads --data: inline JSON, or @file.
func readData(data string) ([]byte, error) {
	if file, ok := strings.CutPrefix(data, "@"); ok {
		content, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		return content, nil
	}
	return []byte(data), nil
}

// method is POST when the endpoint takes it (the default), else the first it takes.
func method(methods []fulfillmentv1alpha1.HTTPMethod) string {
	if len(methods) == 0 {
		return http.MethodPost
	}
	for _, m := range methods {
		if m == http.MethodPost {
			return http.MethodPost
		}
	}
	return string(methods[0])
}

// authenticate adds every credential the endpoint checks. A method send cannot satisfy by itself (OIDC, a
// an OAuth2 access token, a client certificate) must be given with flags, and the error says which.
func authenticate(req *Request, target *Target, opts *Options, now time.Time) error {
	spec := target.Spec.Auth
	secret := func(name, key string) ([]byte, error) { return target.Secrets.Secret(target.Namespace, name, key) }
	var errs []error
	if b := spec.Basic; b != nil {
		username, err1 := secret(b.SecretRef.Name, "username")
		password, err2 := secret(b.SecretRef.Name, "password")
		if err := errors.Join(err1, err2); err != nil {
			errs = append(errs, fmt.Errorf("auth.basic: %w", err))
		} else {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(string(username)+":"+string(password))))
		}
	}
	if b := spec.Bearer; b != nil {
		token, err := secret(b.SecretRef.Name, b.SecretRef.Key)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("auth.bearer: %w", err))
		case b.Header == "" || strings.EqualFold(b.Header, "Authorization"):
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		default:
			req.Header.Set(b.Header, strings.TrimSpace(string(token)))
		}
	}
	if h := spec.HMAC; h != nil {
		name := hmackey.SecretName(target.Name, h)
		key, err := secret(name, hmackey.SecretKey)
		if err == nil {
			var signed http.Header
			signed, err = hmacsign.Sign(h, key, hmacsign.Message{ID: dialect.SampleID("msg_"), At: now, Body: req.Body})
			for header, values := range signed {
				req.Header[header] = values
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("auth.hmac: %w", err))
		}
	}
	if spec.OIDC != nil && req.Header.Get("Authorization") == "" {
		errs = append(errs, fmt.Errorf("auth.oidc: send cannot make an ID token of %s; get one for the audience (for example "+
			"gcloud auth print-identity-token --audiences=AUDIENCE) and give it with --header 'Authorization: Bearer TOKEN'", spec.OIDC.Issuer))
	}
	if spec.OAuth2 != nil && req.Header.Get("Authorization") == "" {
		errs = append(errs, errors.New("auth.oauth2: send cannot obtain an access token of the endpoint's authorization "+
			"server; get one with the scopes it requires and give it with --header 'Authorization: Bearer TOKEN'"))
	}
	if tls := target.Spec.TLS; tls != nil && tls.ClientAuth != nil && tls.ClientAuth.Mode == fulfillmentv1alpha1.ClientAuthRequire && opts.CertFile == "" {
		errs = append(errs, errors.New("tls.clientAuth: the endpoint requires a client certificate: give --cert and --key"))
	}
	return errors.Join(errs...)
}

// Resolve is the URL the request goes to: --url, with the endpoint's path added when it names none, or base
// (the local server, or a port-forward) with the path.
func (r *Request) Resolve(rawURL, base string) (*url.URL, error) {
	if rawURL == "" {
		rawURL = base
	}
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--url %q is not a URL: give, for example, http://127.0.0.1:8080 or https://bots.example.com/bank-bot", rawURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = r.Path
	}
	return u, nil
}

// localBase is the local server's address: webhookserver serve's default listener on loopback, HTTPS when the
// endpoint serves it.
func localBase(tls bool) string {
	_, port, _ := strings.Cut(server.DefaultListen, ":")
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://127.0.0.1:" + port
}

// portBase is a loopback base URL at port.
func portBase(tls bool, port int) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://127.0.0.1:" + strconv.Itoa(port)
}
