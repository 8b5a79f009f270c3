package controllers

import (
	"bytes"
	"strings"
	"testing"
)

func TestCopySecretsLaysOutEveryKeyAndMountsWhatDoesNotFit(t *testing.T) {
	big := bytes.Repeat([]byte("k"), maxSecretCopiesBytes/2+1)
	copies := CopySecrets([]SecretSnapshot{
		{Name: "pay-basic", Version: "7", Data: map[string][]byte{"username": []byte("u"), "password": []byte("p")}},
		{Name: "bank-basic", Version: "3", Data: map[string][]byte{"password": []byte("b")}},
		{Name: "long", Version: "1", Data: map[string][]byte{strings.Repeat("x", 250): []byte("v")}},
		{Name: "big-a", Version: "4", Data: map[string][]byte{"key": big}},
		{Name: "big-b", Version: "5", Data: map[string][]byte{"key": big}},
	})
	want := map[string]string{"bank-basic_password": "b", "pay-basic_username": "u", "pay-basic_password": "p", "big-a_key": string(big)}
	if len(copies.Data) != len(want) {
		t.Fatalf("copied keys %d, want %d", len(copies.Data), len(want))
	}
	for key, value := range want {
		if string(copies.Data[key]) != value {
			t.Errorf("copy %s = %.20q, want %.20q", key, copies.Data[key], value)
		}
	}
	if got := strings.Join(copies.Mounted, ","); got != "big-b,long" {
		t.Errorf("mounted on their own: %s, want big-b (past the size) and long (its key's copy is no valid key)", got)
	}
	if want := "bank-basic=3,big-a=4,big-b=5:mounted,long=1:mounted,pay-basic=7"; copies.Versions != want {
		t.Errorf("versions %q, want %q", copies.Versions, want)
	}
	versions, mounted := parseSecretVersions(copies.Versions)
	if versions["pay-basic"] != "7" || versions["long"] != "1" || !mounted["long"] || mounted["pay-basic"] {
		t.Errorf("parsed back as %v, mounted %v", versions, mounted)
	}
	data, ok := copiedData(copies.Data, "pay-basic")
	if !ok || len(data) != 2 || string(data["username"]) != "u" || string(data["password"]) != "p" {
		t.Errorf("pay-basic read back from the copies as %q, %v", data, ok)
	}
	if _, ok := copiedData(copies.Data, "pay"); ok {
		t.Errorf("a Secret whose name prefixes another's read that one's copies")
	}
}
