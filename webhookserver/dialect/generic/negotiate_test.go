package generic

import (
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := map[string]struct {
		body      bodyFormat
		mediaType string
		accept    string
		want      answerFormat
	}{
		"JSON, no Accept":                    {body: jsonBody, want: jsonAnswer},
		"XML, no Accept":                     {body: xmlBody, mediaType: "application/xml", want: xmlAnswer},
		"text/xml, no Accept":                {body: xmlBody, mediaType: "text/xml", want: textXMLAnswer},
		"form, no Accept":                    {body: formBody, want: jsonAnswer},
		"XML, */*":                           {body: xmlBody, mediaType: "application/xml", accept: "*/*", want: xmlAnswer},
		"JSON, */*":                          {body: jsonBody, accept: "*/*", want: jsonAnswer},
		"JSON, Accept XML":                   {body: jsonBody, accept: "application/xml", want: xmlAnswer},
		"JSON, Accept text/xml":              {body: jsonBody, accept: "text/xml", want: textXMLAnswer},
		"XML, Accept JSON":                   {body: xmlBody, mediaType: "application/xml", accept: "application/json", want: jsonAnswer},
		"form, Accept form":                  {body: formBody, accept: "application/x-www-form-urlencoded", want: formAnswer},
		"form, Accept form or anything":      {body: formBody, accept: "application/x-www-form-urlencoded, */*;q=0.1", want: formAnswer},
		"q-values: XML preferred":            {body: jsonBody, accept: "application/json;q=0.5, application/xml", want: xmlAnswer},
		"q-values: JSON preferred":           {body: xmlBody, mediaType: "application/xml", accept: "application/xml;q=0.4,application/json;q=0.9", want: jsonAnswer},
		"specific range beats the wildcard":  {body: jsonBody, accept: "*/*;q=0.9, application/json;q=0.1", want: xmlAnswer},
		"type wildcard":                      {body: jsonBody, accept: "text/*", want: textXMLAnswer},
		"q=0 refuses":                        {body: xmlBody, mediaType: "application/xml", accept: "application/xml;q=0, */*", want: textXMLAnswer},
		"nothing acceptable: the default":    {body: jsonBody, accept: "image/png", want: jsonAnswer},
		"nothing acceptable for XML: XML":    {body: xmlBody, mediaType: "application/xml", accept: "image/png", want: xmlAnswer},
		"case and spaces":                    {body: jsonBody, accept: " Application/XML ; Q=1 ", want: xmlAnswer},
		"malformed ranges are skipped":       {body: jsonBody, accept: "xml, /json, */xml, application/xml;q=2, text/xml;q=abc", want: jsonAnswer},
		"a too long q-value is not one":      {body: jsonBody, accept: "application/xml;q=0.99999999", want: jsonAnswer},
		"ranges past the limit are not read": {body: jsonBody, accept: strings.Repeat("image/png,", maxAcceptRanges) + "application/xml", want: jsonAnswer},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := negotiate(tt.body, tt.mediaType, tt.accept); got != tt.want {
				t.Errorf("negotiate(%v, %q, %q) = %v, want %v", tt.body, tt.mediaType, tt.accept, got, tt.want)
			}
		})
	}
}
