package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/reference"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/send"
)

// TestFlagReference keeps the webhookserver part of docs/reference/flags.md what the flag definitions say.
func TestFlagReference(t *testing.T) {
	serve, _ := serveFlags(reference.EnvPlaceholder)
	hmacKey, _ := hmacKeyFlags()
	deadLetters, _ := deadLetterFlags("list")
	sendFlags, _ := send.Flags()
	var page strings.Builder
	for _, command := range []struct {
		title string
		flags *flag.FlagSet
	}{
		{"webhookserver serve", serve},
		{"webhookserver hmac-key", hmacKey},
		{"webhookserver deadletters list, replay, purge", deadLetters},
		{"webhookserver send", sendFlags},
	} {
		page.WriteString("\n### " + command.title + "\n\n" + reference.FlagTable(command.flags))
	}
	page.WriteString("\n")
	reference.Check(t, "docs/reference/flags.md", "webhookserver", page.String())
}

// The GC runway is on unless turned off: the operator's Deployment passes no flag for it.
func TestGCRunwayIsOnByDefault(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--gc-runway=false"}, false}} {
		flags, opts := serveFlags(reference.EnvPlaceholder)
		if err := flags.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if opts.gcRunway != tc.want {
			t.Errorf("serve %v: gc runway %v, want %v", tc.args, opts.gcRunway, tc.want)
		}
	}
}
