package all_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDialectNamesStayInDialects keeps every dialect rule behind the dialect's interface: outside dialect/ no
// code of the server spells a dialect's name, so that adding a dialect touches dialect/<name>/ and the
// registration only.
func TestDialectNamesStayInDialects(t *testing.T) {
	root := filepath.Join("..", "..") // webhookserver
	names := []string{`"DialogflowES"`, `"DialogflowCX"`, `"Rasa"`, `"Generic"`}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == filepath.Join(root, "dialect") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		source, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(source), "\n") {
			for _, name := range names {
				if strings.Contains(line, name) {
					t.Errorf("%s:%d spells the dialect name %s: put the rule behind the dialect's interface in dialect/", path, i+1, name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
