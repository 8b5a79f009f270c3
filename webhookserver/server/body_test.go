package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadBody(t *testing.T) {
	tests := map[string]struct {
		body          string
		contentLength int64
		limit         int64
		want          string
		wantErr       func(error) bool
	}{
		"declared length":                {body: `{"a":1}`, contentLength: 7, limit: 100, want: `{"a":1}`},
		"unknown length":                 {body: `{"a":1}`, contentLength: -1, limit: 100, want: `{"a":1}`},
		"longer than declared, kept":     {body: `{"a":1}xyz`, contentLength: 7, limit: 100, want: `{"a":1}xyz`},
		"shorter than declared":          {body: `{"a"`, contentLength: 7, limit: 100, wantErr: func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		"declared at the limit":          {body: `0123456789`, contentLength: 10, limit: 10, want: `0123456789`},
		"longer than declared and limit": {body: `0123456789AB`, contentLength: 10, limit: 10, wantErr: isMaxBytes},
		"unknown length over the limit":  {body: `0123456789AB`, contentLength: -1, limit: 10, wantErr: isMaxBytes},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			reader := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(tt.body)), tt.limit)
			got, err := readBody(reader, tt.contentLength)
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("readBody = %q, %v; want an error", got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, []byte(tt.want)) {
				t.Fatalf("readBody = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func isMaxBytes(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}
