package wire

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// credentialHeaders are left out of model.Request.Headers. Authentication has already checked them, and keeping
// them out of what routes and templates see means no expression, log line or upstream call can leak them.
var credentialHeaders = map[string]bool{"authorization": true, "proxy-authorization": true, "cookie": true}

// Headers flattens request headers as model.Request.Headers wants them: lower-case names, values joined with
// ", ", credentials left out. It returns nil for no headers.
func Headers(header http.Header) map[string]string {
	if len(header) == 0 {
		return nil
	}
	flat := make(map[string]string, len(header))
	for name, values := range header {
		lower := strings.ToLower(name)
		if credentialHeaders[lower] {
			continue
		}
		if len(values) == 1 {
			flat[lower] = values[0]
		} else {
			flat[lower] = strings.Join(values, ", ")
		}
	}
	return flat
}

// Query flattens the URL query as model.Request.Query wants it: the first value of each name. It returns nil
// for no query, and for a query of more than dialect.MaxFormFields fields, which is r's error.
func Query(r *Reader, query url.Values) map[string]string {
	if len(query) == 0 {
		return nil
	}
	if err := dialect.CheckFieldCount(len(query), "the query string"); err != nil {
		if r.err == nil {
			r.err = err
		}
		return nil
	}
	flat := make(map[string]string, len(query))
	for name, values := range query {
		if len(values) > 0 {
			flat[name] = values[0]
		}
	}
	return flat
}
