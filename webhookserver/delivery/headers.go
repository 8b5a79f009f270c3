package delivery

import "net/textproto"

// storedHeaders are the request headers a queued event keeps, in canonical form: what the dialects read (the
// content type, the senders' event and delivery ids), what a forward action passes on, and what ties log lines
// together. Every other header is dropped. Credentials (Authorization, cookies, signatures, tokens in headers
// of the endpoint's choosing) were checked when the request arrived and are not checked again when the event
// is processed; a queue that kept them would hand them to whoever reads its file, its Redis keys or its dead
// letters. The W3C Trace Context headers are kept so that the event's delivery continues the trace of the
// request that queued it: an id and sampling flags, and vendors' trace state, never a credential.
var storedHeaders = canonicalSet(
	"Content-Type", "User-Agent", "X-Request-Id", "Accept", "Accept-Language",
	"Traceparent", "Tracestate",
	// Standard Webhooks
	"Webhook-Id", "Webhook-Timestamp",
	// GitHub
	"X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Hook-Id",
	// Shopify
	"X-Shopify-Topic", "X-Shopify-Webhook-Id", "X-Shopify-Shop-Domain", "X-Shopify-Api-Version",
)

func canonicalSet(names ...string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, name := range names {
		set[textproto.CanonicalMIMEHeaderKey(name)] = true
	}
	return set
}

// StoredHeaders returns the headers of header that a queued event keeps (a copy, under canonical names), or nil
// when it keeps none. Queues apply it when an event is stored and again whenever one is read back, so that an
// event stored with other headers (by an older version) never shows them.
func StoredHeaders(header map[string][]string) map[string][]string {
	var kept map[string][]string
	for name, values := range header {
		if !KeepsHeader(name) {
			continue
		}
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		if kept == nil {
			kept = make(map[string][]string, len(storedHeaders))
		}
		kept[canonical] = append(kept[canonical], values...)
	}
	return kept
}

// KeepsHeader reports whether a queued event keeps the header with this name (in any case).
func KeepsHeader(name string) bool {
	return storedHeaders[textproto.CanonicalMIMEHeaderKey(name)]
}
