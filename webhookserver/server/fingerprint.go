package server

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// atomicWriterLink is the link the kubelet swaps to update a mounted ConfigMap or Secret at once: a folder
// that has it changes only when the link's target does.
const atomicWriterLink = "..data"

// racyWindow is how long after its last modification a file is read again on every fingerprint: a second
// write within the file system's timestamp granularity could keep its size and modification time (git's
// "racily clean" files).
const racyWindow = 2 * time.Second

// fingerprinter hashes the files under some paths, by name and content, so that a change is noticed by
// comparing two fingerprints, and does so cheaply enough to run every reload interval over a gateway's thousands
// of Secret files: a file is read again only when its size or modification time changed (or within
// racyWindow of its last change), and a folder the kubelet writes is known by its atomicWriterLink's target,
// without looking at its files. The zero value is ready to use.
type fingerprinter struct {
	mu    sync.Mutex
	known map[string]fileSum
}

// fileSum is a file's content hash, as of its size and modification time.
type fileSum struct {
	size  int64
	mtime time.Time
	sum   [sha256.Size]byte
}

// fingerprint hashes every file under paths; missing paths hash as missing.
func (f *fingerprinter) fingerprint(paths ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := make(map[string]fileSum, len(f.known))
	hash := sha256.New()
	for _, root := range paths {
		var items []string // "<path>\x00<content hash or link target>", sorted before hashing
		err := filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if entry.IsDir() {
				if target, linkErr := os.Readlink(filepath.Join(path, atomicWriterLink)); linkErr == nil {
					items = append(items, path+"\x00link:"+target)
					return filepath.SkipDir
				}
				return nil
			}
			if sum, ok := f.fileSum(path, seen); ok {
				items = append(items, path+"\x00"+hex.EncodeToString(sum[:]))
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		slices.Sort(items)
		_, _ = io.WriteString(hash, strings.Join(items, "\x00")+"\x01")
	}
	f.known = seen
	return hex.EncodeToString(hash.Sum(nil)), nil
}

// contentSum is one file's content hash, read again only when it may have changed.
func (f *fingerprinter) contentSum(path string) ([sha256.Size]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.known == nil {
		f.known = map[string]fileSum{}
	}
	return f.fileSum(path, f.known)
}

// fileSum hashes the file at path (following links, as mounted volumes need), records it in seen, and says
// false for what is not a readable regular file (a dangling link, or a link to a folder walked on its own).
func (f *fingerprinter) fileSum(path string, seen map[string]fileSum) ([sha256.Size]byte, bool) {
	info, err := os.Stat(path)
	if err != nil || info.IsDir() {
		return [sha256.Size]byte{}, false
	}
	if known, ok := f.known[path]; ok && known.size == info.Size() && known.mtime.Equal(info.ModTime()) &&
		time.Since(info.ModTime()) > racyWindow {
		seen[path] = known
		return known.sum, true
	}
	file, err := os.Open(path)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	defer file.Close()
	digest := sha256.New()
	if _, err := io.Copy(digest, file); err != nil {
		return [sha256.Size]byte{}, false
	}
	sum := fileSum{size: info.Size(), mtime: info.ModTime()}
	digest.Sum(sum.sum[:0])
	seen[path] = sum
	return sum.sum, true
}
