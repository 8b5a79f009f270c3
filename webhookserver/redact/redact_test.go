package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerRedactsEverywhere(t *testing.T) {
	var out bytes.Buffer
	secrets := &Secrets{}
	secrets.Set([][]byte{[]byte("hunter2-password\n"), []byte("tok"), []byte("whsec_abc123"), []byte("whsec_abc123xyz")})
	log := slog.New(NewHandler(slog.NewJSONHandler(&out, nil), secrets))

	log.With("fixed", "Bearer whsec_abc123").Info("login with hunter2-password failed",
		"error", errors.New("upstream said: whsec_abc123xyz is wrong"),
		"list", []string{"a", "hunter2-password"},
		slog.Group("request", "header", "hunter2-password"),
		"short", "tok")
	text := out.String()
	for _, secret := range []string{"hunter2-password", "whsec_abc123", "abc123xyz"} {
		if strings.Contains(text, secret) {
			t.Errorf("log contains %q: %s", secret, text)
		}
	}
	if strings.Count(text, Placeholder) != 5 {
		t.Errorf("want 5 redactions: %s", text)
	}
	if !strings.Contains(text, `"short":"tok"`) {
		t.Errorf("a value too short to be a secret was redacted: %s", text)
	}
}
