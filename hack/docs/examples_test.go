// Package docs runs the documentation's runnable examples against the server they describe, so that an answer
// a document shows is the answer a reader gets. README.md in this folder says how a block is marked.
package docs

import (
	"fmt"
	"regexp"
	"strings"
)

// marker, alone on the line before a fenced code block, makes the block runnable.
const marker = "<!-- runnable -->"

// prompt starts a command line in a runnable block; every other line is output.
const prompt = "$ "

// example is one command of a runnable block and the output the document shows for it.
type example struct {
	line    int    // the command's line in the document
	command string // without the prompt; continuation lines stay, for bash to join
	output  string
}

// parseExamples returns the commands of the document's runnable blocks, in order.
func parseExamples(document string) ([]example, error) {
	lines := strings.Split(document, "\n")
	var examples []example
	for i := 0; i < len(lines); i++ {
		if fence := openingFence(lines[i]); fence != "" {
			i = closingFence(lines, i, fence)
			continue
		}
		if strings.TrimSpace(lines[i]) != marker {
			continue
		}
		if i+1 == len(lines) || openingFence(lines[i+1]) == "" {
			return nil, fmt.Errorf("line %d: %s must be followed by a fenced code block", i+1, marker)
		}
		end := closingFence(lines, i+1, openingFence(lines[i+1]))
		block, err := parseBlock(lines[i+2:end], i+3)
		if err != nil {
			return nil, err
		}
		examples = append(examples, block...)
		i = end
	}
	return examples, nil
}

// openingFence is the fence (``` or ~~~, or longer) that line opens, or "".
func openingFence(line string) string {
	trimmed := strings.TrimSpace(line)
	for _, char := range []string{"`", "~"} {
		if strings.HasPrefix(trimmed, char+char+char) {
			return trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, char))]
		}
	}
	return ""
}

// closingFence is the index of the line that closes the block opened at open (the last line when none does).
func closingFence(lines []string, open int, fence string) int {
	for i := open + 1; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
			return i
		}
	}
	return len(lines) - 1
}

// parseBlock splits a runnable block's lines into commands and their output; firstLine numbers body[0].
func parseBlock(body []string, firstLine int) ([]example, error) {
	if len(body) == 0 || !strings.HasPrefix(body[0], prompt) {
		return nil, fmt.Errorf("line %d: a runnable block starts with a command, a line beginning with %q", firstLine, prompt)
	}
	var examples []example
	for i := 0; i < len(body); {
		current := example{line: firstLine + i, command: strings.TrimPrefix(body[i], prompt)}
		for strings.HasSuffix(body[i], `\`) && i+1 < len(body) {
			i++
			current.command += "\n" + body[i]
		}
		var output []string
		for i++; i < len(body) && !strings.HasPrefix(body[i], prompt); i++ {
			output = append(output, body[i])
		}
		current.output = strings.Join(output, "\n")
		examples = append(examples, current)
	}
	return examples, nil
}

// variable are the values that differ from run to run. They are replaced in the document's output and in the
// command's alike before the two are compared, so a document can show real values.
var variable = []struct {
	pattern     *regexp.Regexp
	replacement string
}{
	{regexp.MustCompile(`\r\n`), "\n"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<time>"},
	{regexp.MustCompile(`(?mi)^(Date): .*$`), "$1: <date>"},
	{regexp.MustCompile(`(?mi)^(X-Request-Id): .*$`), "$1: <id>"},
	{regexp.MustCompile(`(requestId"?[=:]"?)[0-9a-f]{16}`), "${1}<id>"},
	{regexp.MustCompile(`(?m)[ \t]+$`), ""},
}

// normalize replaces the variable values of output and drops its trailing blank lines.
func normalize(output string) string {
	for _, v := range variable {
		output = v.pattern.ReplaceAllString(output, v.replacement)
	}
	return strings.TrimRight(output, "\n")
}

// documentedAddress matches the addresses of `make run-local` that a command may name: the webhook listener
// (8080), the metrics listener (9090) and the admin listener (9091).
var documentedAddress = regexp.MustCompile(`\b(localhost|127\.0\.0\.1):(8080|9090|9091)\b`)

// builtBinary is bin/webhookserver where a command runs it: the binary `make build` makes.
var builtBinary = regexp.MustCompile(`(^|[|;&(]\s*)bin/webhookserver( send\b)?`)

// withBinary runs binary, the one the test built, for bin/webhookserver. Its send goes to the local server's
// documented address (its default, unless the command gives --url), which inCommand then points at the test's
// server.
func withBinary(command, binary string) string {
	return builtBinary.ReplaceAllStringFunc(command, func(match string) string {
		m := builtBinary.FindStringSubmatch(match)
		replaced := m[1] + binary + m[2]
		if m[2] != "" && !strings.Contains(command, "--url") {
			replaced += " --url localhost:8080"
		}
		return replaced
	})
}

// listeners maps a documented port to the address the test's server listens on.
type listeners map[string]string

// inCommand points the command at the test's server.
func (l listeners) inCommand(command string) string {
	return documentedAddress.ReplaceAllStringFunc(command, func(address string) string {
		return l[address[strings.LastIndex(address, ":")+1:]]
	})
}

// inOutput writes the test server's addresses as the document does.
func (l listeners) inOutput(output string) string {
	for port, address := range l {
		output = strings.ReplaceAll(output, address, "localhost:"+port)
	}
	return output
}
