package docs

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseExamples(t *testing.T) {
	for name, tc := range map[string]struct {
		document string
		want     []example
		err      string
	}{
		"commands, a continuation and their output": {
			document: "text\n<!-- runnable -->\n```console\n$ curl -s \\\n    localhost:8080/a\n{\"a\":1}\n$ true\n```\n",
			want: []example{
				{line: 4, command: "curl -s \\\n    localhost:8080/a", output: `{"a":1}`},
				{line: 7, command: "true", output: ""},
			},
		},
		"an unmarked block is not run": {
			document: "```console\n$ false\n```\n",
		},
		"a marker shown inside a code block is not one": {
			document: "````markdown\n<!-- runnable -->\n```console\n$ false\n```\n````\n",
		},
		"a marker must precede a block": {
			document: "<!-- runnable -->\n\n```console\n$ true\n```\n",
			err:      "line 1: <!-- runnable --> must be followed by a fenced code block",
		},
		"a runnable block starts with a command": {
			document: "<!-- runnable -->\n```console\n{\"a\":1}\n```\n",
			err:      `line 3: a runnable block starts with a command`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseExamples(tc.document)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseExamples:\n%#v\nwant:\n%#v", got, tc.want)
			}
		})
	}
}

func TestNormalizeReplacesWhatVaries(t *testing.T) {
	shown := "HTTP/1.1 200 OK\r\nX-Request-Id: 5ec4142a364be817\r\nDate: Wed, 02 Dec 2026 09:23:15 GMT\r\n\r\n" +
		`time=2026-12-02T09:21:39.202Z requestId=5ec4142a364be817 {"since":"2026-12-02T09:14:03Z"}` + "  \n\n"
	printed := "HTTP/1.1 200 OK\nX-Request-Id: 0123456789abcdef\nDate: Thu, 03 Dec 2026 10:00:00 GMT\n\n" +
		`time=2026-12-03T10:00:00.5Z requestId=0123456789abcdef {"since":"2026-12-03T10:00:00+01:00"}`
	if normalize(shown) != normalize(printed) {
		t.Errorf("normalize:\n%s\nand\n%s\ndiffer", normalize(shown), normalize(printed))
	}
	if normalize("HTTP/1.1 200 OK") == normalize("HTTP/1.1 404 Not Found") {
		t.Error("normalize hides a changed status")
	}
}

func TestListenersPointCommandsAtTheTestServer(t *testing.T) {
	l := listeners{"8080": "127.0.0.1:40001", "9090": "127.0.0.1:40002", "9091": "127.0.0.1:40003"}
	command := "curl localhost:8080/bank-bot; curl 127.0.0.1:9090/metrics; webhookserver deadletters list --admin http://localhost:9091; echo localhost:80800"
	want := "curl 127.0.0.1:40001/bank-bot; curl 127.0.0.1:40002/metrics; webhookserver deadletters list --admin http://127.0.0.1:40003; echo localhost:80800"
	if got := l.inCommand(command); got != want {
		t.Errorf("inCommand:\n%s\nwant:\n%s", got, want)
	}
	if got := l.inOutput("listening on 127.0.0.1:40001"); got != "listening on localhost:8080" {
		t.Errorf("inOutput: %s", got)
	}
}

func TestWithBinary(t *testing.T) {
	for command, want := range map[string]string{
		"bin/webhookserver send --endpoint a":              "/b/ws send --url localhost:8080 --endpoint a",
		"bin/webhookserver send --url localhost:9 | jq .a": "/b/ws send --url localhost:9 | jq .a",
		"true && bin/webhookserver version":                "true && /b/ws version",
		"curl -s localhost:8080/x":                         "curl -s localhost:8080/x",
		"cat mybin/webhookserver":                          "cat mybin/webhookserver",
	} {
		if got := withBinary(command, "/b/ws"); got != want {
			t.Errorf("withBinary(%q) = %q, want %q", command, got, want)
		}
	}
}
