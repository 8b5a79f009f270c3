// Package reference renders the generated pages under docs/reference (every flag, every metric) from the
// binaries' own flag sets and metric registry, and checks that the committed pages are what the code renders.
//
// A page keeps its prose by hand; the tables sit between two marker lines, one pair per section:
//
//	<!-- BEGIN GENERATED section: make docs -->
//	...
//	<!-- END GENERATED section -->
//
// Each binary's test renders its sections and calls Check, which fails when a committed section differs and
// rewrites it instead when UPDATE_DOCS=1 (what `make docs` sets).
package reference

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// UpdateVariable is the environment variable that makes Check rewrite a stale section.
const UpdateVariable = "UPDATE_DOCS"

// Check compares the section of the committed page (a path from the repository root) with generated, and
// rewrites the section when UpdateVariable is 1.
func Check(t testing.TB, page, section, generated string) {
	t.Helper()
	path := filepath.Join(repoRoot(), page)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := beginMarker(section), endMarker(section)
	start, stop := bytes.Index(content, []byte(begin)), bytes.Index(content, []byte(end))
	if start < 0 || stop < start {
		t.Fatalf("%s has no generated section %s: it needs the lines\n%s%s", page, section, begin, end)
	}
	start += len(begin)
	committed := string(content[start:stop])
	if committed == generated {
		return
	}
	if os.Getenv(UpdateVariable) == "1" {
		updated := append(append(append([]byte{}, content[:start]...), generated...), content[stop:]...)
		if err := os.WriteFile(path, updated, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: section %s rewritten", page, section)
		return
	}
	t.Errorf("%s: section %s is not what the code generates (run make docs and commit the page); %s",
		page, section, firstDifference(committed, generated))
}

func beginMarker(section string) string {
	return "<!-- BEGIN GENERATED " + section + ": make docs -->\n"
}

func endMarker(section string) string { return "<!-- END GENERATED " + section + " -->" }

// firstDifference names the first line where the committed and the generated text differ, which is enough to
// see what changed without a diff tool.
func firstDifference(committed, generated string) string {
	committedLines, generatedLines := strings.Split(committed, "\n"), strings.Split(generated, "\n")
	for i := range max(len(committedLines), len(generatedLines)) {
		was, is := line(committedLines, i), line(generatedLines, i)
		if was != is {
			return fmt.Sprintf("line %d of the section:\ncommitted: %s\ngenerated: %s", i+1, was, is)
		}
	}
	return "they differ"
}

// line is lines[i], or "" past the end.
func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

// repoRoot is the root of the repository, found from this file's location so that any package's test finds it.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// cell makes text safe in a Markdown table cell: a | would end the cell, and a <word> would be read as HTML.
func cell(text string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ").Replace(text)
}
