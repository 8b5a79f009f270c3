// Package send is webhookserver send: it builds a request in an endpoint's dialect, authenticates it as the
// endpoint requires, sends it and shows the answer, so that an integration is tested with one command. The
// endpoint and its Secrets come from manifests (the files webhookserver serve reads) or from a cluster.
package send

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
)

// Options are the flags of send.
type Options struct {
	Manifests stringList
	Endpoint  string

	Intent, Action, Tag, Event, Text string
	Params                           params
	Data                             string
	Environment, Language, Session   string
	Headers                          headers

	URL                       string
	CertFile, KeyFile, CAFile string
	Timeout                   time.Duration
	PrintCurl                 bool

	Kubeconfig, Context, Namespace string
}

// Flags defines the flags of send.
func Flags() (*flag.FlagSet, *Options) {
	opts := &Options{}
	flags := flag.NewFlagSet("send", flag.ContinueOnError)
	flags.Var(&opts.Manifests, "manifests", "YAML files or folders with the WebhookEndpoint and its Secrets, as webhookserver serve reads them (repeatable)")
	flags.StringVar(&opts.Endpoint, "endpoint", "", "the WebhookEndpoint to send to: its name, or namespace/name")
	flags.StringVar(&opts.Intent, "intent", "", "the intent (Dialogflow ES and CX, Rasa's latest message, Generic's intent)")
	flags.StringVar(&opts.Action, "action", "", "the action (Dialogflow ES queryResult.action, Rasa next_action)")
	flags.StringVar(&opts.Tag, "tag", "", "the Dialogflow CX fulfillment tag")
	flags.StringVar(&opts.Event, "event", "", "the event (Generic event, Dialogflow CX triggerEvent)")
	flags.StringVar(&opts.Text, "text", "", "what the user said (Dialogflow ES and CX, Rasa)")
	flags.Var(&opts.Params, "param", "a session parameter (Rasa: slot) as name=value, a string, or name:=JSON, for example amount:=12.5 (repeatable)")
	flags.StringVar(&opts.Data, "data", "", "Generic: the JSON object the event is built on, inline or @file.json")
	flags.StringVar(&opts.Environment, "environment", "", "Dialogflow ES and CX: the environment in the session path (.../environments/E/...)")
	flags.StringVar(&opts.Language, "language", "", "Dialogflow ES and CX: the language code (default en)")
	flags.StringVar(&opts.Session, "session", "", "the session id (Rasa: sender id); a new random one by default")
	flags.Var(&opts.Headers, "header", "an extra request header, 'Name: value', for example an OIDC ID token as 'Authorization: Bearer TOKEN' (repeatable)")
	flags.StringVar(&opts.URL, "url", "", "where to send: a full URL, or a base URL the endpoint's path is added to (default http://127.0.0.1"+server.DefaultListen+", the local server; in a cluster, a port-forward to one of the endpoint's pods)")
	flags.StringVar(&opts.CertFile, "cert", "", "client certificate (PEM) for an endpoint with tls.clientAuth; needs --key")
	flags.StringVar(&opts.KeyFile, "key", "", "the PEM key of --cert")
	flags.StringVar(&opts.CAFile, "cacert", "", "PEM bundle to verify an HTTPS endpoint's certificate with (default: the system's)")
	flags.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "how long to wait for the answer")
	flags.BoolVar(&opts.PrintCurl, "print-curl", false, "print the equivalent curl command, signed, instead of sending (a signature with a timestamp is fresh for the endpoint's hmac.tolerance, 5m by default)")
	flags.StringVar(&opts.Kubeconfig, "kubeconfig", "", "read the WebhookEndpoint and its Secrets from the cluster of this kubeconfig instead of --manifests; --context or -n alone read $KUBECONFIG, else ~/.kube/config")
	flags.StringVar(&opts.Context, "context", "", "the kubeconfig context (default the current one)")
	flags.StringVar(&opts.Namespace, "n", "", "the namespace of the WebhookEndpoint in the cluster (default the context's)")
	return flags, opts
}

// stringList is a repeatable flag that also splits on commas.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

// Type names the flag's type in the flag reference (docs/reference/flags.md).
func (l *stringList) Type() string { return "list" }

func (l *stringList) Set(value string) error {
	for _, part := range strings.Split(value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// params are --param name=value (a string) or name:=JSON, in order.
type params map[string]any

func (p *params) String() string { return "" }

// Type names the flag's type in the flag reference.
func (p *params) Type() string { return "name=value" }

func (p *params) Set(value string) error {
	if *p == nil {
		*p = params{}
	}
	if name, raw, ok := strings.Cut(value, ":="); ok && name != "" && !strings.Contains(name, "=") {
		var parsed any
		if err := json.Unmarshal([]byte(raw), &parsed); err != nil {
			return fmt.Errorf("%s:=%s is not JSON (write a string as name=value)", name, raw)
		}
		(*p)[name] = parsed
		return nil
	}
	name, raw, ok := strings.Cut(value, "=")
	if !ok || name == "" || name == ":" {
		return fmt.Errorf("%q: give name=value, or name:=JSON", value)
	}
	(*p)[name] = raw
	return nil
}

// headers are --header 'Name: value', in order.
type headers [][2]string

func (h *headers) String() string { return "" }

// Type names the flag's type in the flag reference.
func (h *headers) Type() string { return "header" }

func (h *headers) Set(value string) error {
	name, v, ok := strings.Cut(value, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("%q: give 'Name: value'", value)
	}
	*h = append(*h, [2]string{name, strings.TrimSpace(v)})
	return nil
}
