package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func readVolume(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		if strings.HasPrefix(entry.Name(), "..") {
			continue
		}
		if entry.Type()&os.ModeSymlink == 0 {
			t.Errorf("%s is not a symlink into ..data", entry.Name())
		}
		content, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[entry.Name()] = string(content)
	}
	return files
}

func TestWriteAtomicLaysOutAndSwapsLikeTheKubelet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secret")
	changed, err := writeAtomic(dir, map[string][]byte{"username": []byte("a"), "password": []byte("b")}, 0o440)
	if err != nil || !changed {
		t.Fatalf("first write: changed %v, %v", changed, err)
	}
	if got := readVolume(t, dir); len(got) != 2 || got["username"] != "a" || got["password"] != "b" {
		t.Fatalf("files %v", got)
	}
	info, err := os.Stat(filepath.Join(dir, "password"))
	if err != nil || info.Mode().Perm() != 0o440 {
		t.Errorf("mode %v (%v), want 0440", info.Mode().Perm(), err)
	}
	first, _ := os.Readlink(filepath.Join(dir, dataLink))

	changed, err = writeAtomic(dir, map[string][]byte{"username": []byte("a"), "password": []byte("b")}, 0o440)
	if err != nil || changed {
		t.Fatalf("the same content again: changed %v, %v; want nothing written", changed, err)
	}

	changed, err = writeAtomic(dir, map[string][]byte{"username": []byte("a"), "token": []byte("c")}, 0o440)
	if err != nil || !changed {
		t.Fatalf("new content: changed %v, %v", changed, err)
	}
	if got := readVolume(t, dir); len(got) != 2 || got["token"] != "c" || got["username"] != "a" {
		t.Fatalf("after the swap: files %v, want username and token (password removed)", got)
	}
	second, _ := os.Readlink(filepath.Join(dir, dataLink))
	if second == first {
		t.Errorf("..data still points at %s", first)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("the previous data folder %s is still there (%v)", first, err)
	}
}

func TestProjectKeys(t *testing.T) {
	data := map[string][]byte{"a": []byte("1"), "b": []byte("2")}
	files, err := projectKeys(data, []corev1.KeyToPath{{Key: "a", Path: "dir/x"}}, false)
	if err != nil || len(files) != 1 || string(files["dir/x"]) != "1" {
		t.Errorf("items: %v, %v", files, err)
	}
	if _, err := projectKeys(data, []corev1.KeyToPath{{Key: "c", Path: "c"}}, false); err == nil ||
		!strings.Contains(err.Error(), `key "c" not found (keys: a, b)`) {
		t.Errorf("a missing key: %v", err)
	}
	if files, err := projectKeys(data, []corev1.KeyToPath{{Key: "c", Path: "c"}}, true); err != nil || len(files) != 0 {
		t.Errorf("a missing key of an optional volume: %v, %v", files, err)
	}
}
