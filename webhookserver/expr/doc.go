// Package expr is the expression language of the fulfillment server: the CEL environment, ${...}
// templates and JSON values with templates inside, all compiled once when the configuration loads and
// evaluated per request under cost limits.
//
// # Variables
//
//	request   dialect, intent, action, tag, event, text, languageCode, session, method (strings),
//	          parameters and body (maps of JSON values), headers and query (maps of strings)
//	params    request.parameters
//	response  status (int), headers (map of strings, lower-case names), body (a JSON value);
//	          only in the respond of a call action: compile with WithResponse
//	endpoint  name, namespace
//
// request, response and endpoint are typed objects: a misspelt field (request.intnet) is a compile error,
// and has(request.tag) is true when the field is not empty. A missing key of a map is an evaluation error
// (params.account when there is none): test it with has(params.account), or read it as an optional value,
// params.?account.orValue("none").
//
// JSON numbers are CEL doubles, as in protobuf's JSON mapping and Dialogflow: params.count == 2 and
// params.count > 1 hold (numeric comparisons cross types), but arithmetic does not mix types, so write
// params.count + 1.0 or int(params.count) + 1.
//
// # Libraries
//
// The standard library plus the extensions Kubernetes offers: strings (lowerAscii, split, format, ...),
// base64 encoders, math, lists (including lists.range(n), n at most 10,000), sets, two-variable
// comprehensions, optional values, cel.bind and regex (regex.extract, regex.replace), and url.rawPath and
// url.rawQuery for URL templates (below). Nothing reads the clock or a random source: an evaluation depends
// on its variables only.
//
// # Templates
//
// A template is text with ${expr} parts. "$${" writes a literal "${" (so a literal "$" just before an
// expression is written ${"$"}${expr}); any other "$" is literal. An expression may contain braces and
// strings: ${ {"a": 1}.a } and ${"}"} are one expression each. Values are written as text as follows:
//
//	string                       as it is
//	int, uint                    decimal: 42
//	double                       shortest form that reads back the same, no exponent from 1e-6 to 1e21:
//	                             1234.56, 2.0 -> 2, 0.1 -> 0.1, 1e21 -> 1e+21 (as encoding/json writes it)
//	bool                         true, false
//	null, optional.none()        nothing
//	list, map, request...        compact JSON: {"a":[1,2]}
//	bytes                        base64
//	timestamp, duration          as string() writes them: 2024-01-02T03:04:05Z, 3600s
//
// A template without expressions renders to its text without evaluating anything.
//
// # URL templates
//
// A URL template (CompileURLTemplate, for call.url) treats its values as data: each is written as text, then
// percent-encoded for where it stands, so that a value cannot add a path segment, a query parameter or a
// fragment, nor change the host:
//
//	scheme, host   a host name, with or without a port: letters, digits, '-', '.', ':' and digits;
//	               anything else fails
//	port           digits
//	path           one path segment (url.PathEscape); "." and ".." are written %2E and %2E%2E; empty
//	               between two '/' fails
//	query          a key or value (url.QueryEscape)
//	fragment       as a path segment
//
// ${url.rawPath(expr)} in the path and ${url.rawQuery(expr)} in the query insert a value as it is, for an
// already encoded path or query the route trusts (one in the body of a signed event, say), once checked to
// be encoded URL text without '#' (nor '?', "." or ".." segments in a path). They stand alone in a ${...}
// and only in a URL template.
//
// # Results
//
// Program.Eval and Value.Render return JSON-compatible Go values: nil, bool, int64, float64, string, []any
// and map[string]any. A uint converts to int64 (float64 beyond its range), bytes to a base64 string, a
// timestamp or duration to its string() form, an optional to its value or nil, map keys to strings. NaN and
// infinities are evaluation errors, since JSON has no form for them.
//
// # Costs
//
// Compiling estimates the worst-case cost of an expression, taking every list and map of request data to
// hold MaxCollectionSize entries and every string MaxStringSize characters, and refuses an expression whose
// estimate exceeds MaxEstimatedCost: a loop over request data passes, a loop nested in another does not.
// An expression with a loop (a comprehension: all, exists, map, filter...) is tracked when evaluated: it stops
// with ErrCostLimit once its actual cost exceeds MaxRuntimeCost, whatever the size of the data, and when its
// context is done. An expression without a loop runs a bounded number of steps, each at most linear in the size
// of its inputs (which the server bounds), so it is not tracked: tracking made a guard several times slower.
//
// # Errors
//
// Compile errors are *CompileError, with CEL's message and the line:column in the expression. Evaluation
// errors are *EvalError, whose messages never quote request data.
package expr
