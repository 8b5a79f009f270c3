package kubelet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// dataLink is the symlink a volume's files point through, as the kubelet's atomic writer lays them out:
// <volume>/<key> -> ..data/<key>, ..data -> ..<timestamp>. Swapping ..data with one rename changes every file
// at once, so a reader never sees a half-written Secret (the server's reload relies on this).
const dataLink = "..data"

// writeAtomic makes dir hold exactly files (relative paths) with mode, through a new timestamped folder and one
// rename of ..data. It returns false without touching anything when the content is already there.
func writeAtomic(dir string, files map[string][]byte, mode os.FileMode) (bool, error) {
	if same, err := holds(dir, files); err != nil || same {
		return false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	stamped, err := os.MkdirTemp(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05."))
	if err != nil {
		return false, err
	}
	for name, content := range files {
		path := filepath.Join(stamped, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(path, content, mode); err != nil {
			return false, err
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, dataLink))
	tmpLink := filepath.Join(dir, dataLink+"_tmp")
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(stamped), tmpLink); err != nil {
		return false, err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataLink)); err != nil {
		return false, err
	}
	if err := linkTopLevel(dir, files); err != nil {
		return false, err
	}
	if old != "" && old != filepath.Base(stamped) {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// linkTopLevel points <dir>/<first path element> at ..data for every file and removes links for keys that are
// gone.
func linkTopLevel(dir string, files map[string][]byte) error {
	want := map[string]bool{}
	for name := range files {
		want[strings.SplitN(name, "/", 2)[0]] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, entry := range entries {
		if name := entry.Name(); !strings.HasPrefix(name, "..") && !want[name] {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	for name := range want {
		link := filepath.Join(dir, name)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join(dataLink, name) {
			continue
		}
		_ = os.Remove(link)
		if err := os.Symlink(filepath.Join(dataLink, name), link); err != nil {
			return err
		}
	}
	return nil
}

// errDiffers stops the walk of holds at the first difference.
var errDiffers = errors.New("the volume differs")

// holds tells whether dir's ..data already has exactly files.
func holds(dir string, files map[string][]byte) (bool, error) {
	data := filepath.Join(dir, dataLink)
	if _, err := os.Stat(data); os.IsNotExist(err) {
		return false, nil
	}
	found := 0
	err := filepath.WalkDir(data+"/", func(path string, entry os.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		rel, err := filepath.Rel(data, path)
		if err != nil {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if want, ok := files[rel]; !ok || !bytes.Equal(want, content) {
			return errDiffers
		}
		found++
		return nil
	})
	if errors.Is(err, errDiffers) {
		return false, nil
	}
	return err == nil && found == len(files), err
}

// projectKeys turns a ConfigMap's or Secret's data into the files of its volume: every key, or only items
// (key -> path) when given. A missing item key is an error unless the volume is optional.
func projectKeys(data map[string][]byte, items []corev1.KeyToPath, optional bool) (map[string][]byte, error) {
	if len(items) == 0 {
		return data, nil
	}
	files := map[string][]byte{}
	for _, item := range items {
		content, ok := data[item.Key]
		if !ok {
			if optional {
				continue
			}
			keys := make([]string, 0, len(data))
			for key := range data {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("key %q not found (keys: %s)", item.Key, strings.Join(keys, ", "))
		}
		files[item.Path] = content
	}
	return files, nil
}
