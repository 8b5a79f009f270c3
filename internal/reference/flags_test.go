package reference

import (
	"flag"
	"testing"
	"time"
)

func TestFlagTable(t *testing.T) {
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.String("pod-name", EnvPlaceholder("POD_NAME"), "the pod's name")
	fs.Bool("leader-elect", false, "elect a leader")
	fs.Duration("timeout", 30*time.Second, "a `deadline` for <endpoint>-config | others")
	fs.String("config", "", "a file")
	want := "| flag | type | default | description |\n|---|---|---|---|\n" +
		"| `--config` | string |  | a file |\n" +
		"| `--leader-elect` | bool | `false` | elect a leader |\n" +
		"| `--pod-name` | string | env `POD_NAME` | the pod's name |\n" +
		"| `--timeout` | deadline | `30s` | a deadline for &lt;endpoint&gt;-config \\| others |\n"
	if got := FlagTable(fs); got != want {
		t.Errorf("FlagTable:\n%s\nwant:\n%s", got, want)
	}
}
