package endpoint

import (
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// dialectRules are the rules of the endpoint's dialect (the optional interfaces of package dialect), looked up
// once when the endpoint is compiled rather than on every request. A zero field is the default rule.
type dialectRules struct {
	// errors writes errors in the dialect's shape; nil is the server's JSON error.
	errors dialect.ErrorEncoder
	// negotiator writes errors in the caller's format; nil is errors.
	negotiator dialect.ErrorNegotiator
	// noRoute refuses a request no route matches; nil answers the fallback.
	noRoute dialect.NoRouteRefuser
	// reportsFailures answers an action failure without a route fallback as an error, not a fallback.
	reportsFailures bool
	// checkAnswer refuses a forwarded answer the platform would refuse; nil sends every one.
	checkAnswer func(body []byte) error
	// defaultTimeout is the deadline when spec.timeout is not set.
	defaultTimeout time.Duration
	// extraPaths are the paths the platform calls beside the webhook, made from the webhook's path.
	extraPaths func(webhookPath string) []dialect.ExtraPath
}

// rulesOf finds the rules codec implements.
func rulesOf(codec dialect.Codec) dialectRules {
	rules := dialectRules{defaultTimeout: dialect.DefaultTimeout}
	rules.errors, _ = codec.(dialect.ErrorEncoder)
	rules.negotiator, _ = codec.(dialect.ErrorNegotiator)
	rules.noRoute, _ = codec.(dialect.NoRouteRefuser)
	if reporter, ok := codec.(dialect.FailureReporter); ok {
		rules.reportsFailures = reporter.ReportsFailures()
	}
	if checker, ok := codec.(dialect.AnswerChecker); ok {
		rules.checkAnswer = checker.CheckAnswer
	}
	if timeouter, ok := codec.(dialect.DefaultTimeouter); ok {
		rules.defaultTimeout = timeouter.DefaultTimeout()
	}
	if pather, ok := codec.(dialect.ExtraPather); ok {
		rules.extraPaths = pather.ExtraPaths
	}
	return rules
}

// ExtraPaths are the paths the endpoint's platform calls beside the webhook (Rasa's GET /health and
// /actions); none for most dialects.
func (e *Endpoint) ExtraPaths() []dialect.ExtraPath {
	if e.rules.extraPaths == nil {
		return nil
	}
	return e.rules.extraPaths(e.Path)
}
