package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestEveryConditionReasonIsDocumented reads the API's Reason constants from its source, so that a reason added
// to a condition cannot reach users' status without a line in operator.md saying what it means.
func TestEveryConditionReasonIsDocumented(t *testing.T) {
	reasons := conditionReasons(t, "../api/v1alpha1")
	if len(reasons) < 40 {
		t.Fatalf("found only %d Reason constants in api/v1alpha1: the parser no longer sees them", len(reasons))
	}
	page, err := os.ReadFile("operator.md")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, reason := range reasons {
		if !strings.Contains(string(page), "`"+reason+"`") {
			missing = append(missing, reason)
		}
	}
	if len(missing) > 0 {
		t.Errorf("docs/operator.md does not name these condition reasons (add them to \"Condition reasons\"): %s",
			strings.Join(missing, ", "))
	}
}

// conditionReasons returns the values of the string constants named Reason* in the package's non-test files.
func conditionReasons(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(node ast.Node) bool {
			spec, ok := node.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range spec.Names {
				if !strings.HasPrefix(name.Name, "Reason") || i >= len(spec.Values) {
					continue
				}
				if literal, ok := spec.Values[i].(*ast.BasicLit); ok && literal.Kind == token.STRING {
					if value, err := strconv.Unquote(literal.Value); err == nil {
						seen[value] = true
					}
				}
			}
			return true
		})
	}
	reasons := make([]string, 0, len(seen))
	for reason := range seen {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	return reasons
}
