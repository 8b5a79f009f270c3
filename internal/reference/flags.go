package reference

import (
	"flag"
	"fmt"
	"regexp"
	"strings"
)

// EnvPlaceholder is the getenv a binary's flag definitions get when its reference is rendered: a default read
// from the environment variable NAME becomes "$NAME", which the table shows as that variable, whatever the
// environment of the test.
func EnvPlaceholder(name string) string { return "$" + name }

var envPlaceholder = regexp.MustCompile(`^\$([A-Z][A-Z0-9_]*)$`)

// FlagTable renders the flags of fs as a Markdown table, in the order -h lists them.
func FlagTable(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString("| flag | type | default | description |\n|---|---|---|---|\n")
	fs.VisitAll(func(f *flag.Flag) {
		_, usage := flag.UnquoteUsage(f)
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-" // a one-letter flag is written as kubectl's -n
		}
		fmt.Fprintf(&b, "| `%s%s` | %s | %s | %s |\n", dashes, f.Name, flagType(f), flagDefault(f), cell(usage))
	})
	return b.String()
}

// flagType is the type a value must have: the Type of values that name one (pflag's convention, which
// controller-runtime's zap flags follow), else what -h prints.
func flagType(f *flag.Flag) string {
	if typed, ok := f.Value.(interface{ Type() string }); ok {
		return typed.Type()
	}
	if name, _ := flag.UnquoteUsage(f); name != "" {
		return name
	}
	return "bool"
}

// flagDefault is the default as a table shows it: empty for none, the environment variable a default comes
// from (see EnvPlaceholder), or the value.
func flagDefault(f *flag.Flag) string {
	if f.DefValue == "" {
		return ""
	}
	if match := envPlaceholder.FindStringSubmatch(f.DefValue); match != nil {
		return "env `" + match[1] + "`"
	}
	return "`" + cell(f.DefValue) + "`"
}
