package main

import (
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/reference"
)

// TestFlagReference keeps the manager part of docs/reference/flags.md what the flag definitions say.
func TestFlagReference(t *testing.T) {
	flags, _ := newFlagSet(reference.EnvPlaceholder)
	reference.Check(t, "docs/reference/flags.md", "manager", "\n"+reference.FlagTable(flags)+"\n")
}
