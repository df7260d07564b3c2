package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// sourceHash is scripts/source-hash.mjs in Go: the same files, the same order, the same lines.
func sourceHash(t *testing.T) (string, int) {
	t.Helper()
	files := []string{"package.json", "package-lock.json", "vite.config.ts", "tsconfig.json", "svelte.config.js", "index.html"}
	for _, tree := range []string{"src", "public"} {
		err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && !strings.Contains(d.Name(), ".test.") {
				files = append(files, filepath.ToSlash(p))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", tree, err)
		}
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		h.Write([]byte(f + "\x00" + hex.EncodeToString(sum[:]) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil)), len(files)
}

func TestDistIsBuiltFromTheCurrentSources(t *testing.T) {
	want, n := sourceHash(t)
	stamp, err := fs.ReadFile(DistDirFS, ".source-hash")
	if err != nil {
		t.Fatalf("ui/dist has no .source-hash: run `make ui` and commit ui/dist (%v)", err)
	}
	if got := strings.TrimSpace(string(stamp)); got != want {
		t.Fatalf("ui/dist is out of date with ui/src (%d source files hash to %s, dist was built from %s): run `make ui` and commit ui/dist", n, want, got)
	}
}

var assetRef = regexp.MustCompile(`(?:src|href)="(/[^"]+)"`)

func TestIndexReferencesOnlyEmbeddedFilesAndNoInlineScript(t *testing.T) {
	index, err := fs.ReadFile(DistDirFS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := assetRef.FindAllSubmatch(index, -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d files; want the script and the stylesheet at least", len(refs))
	}
	for _, m := range refs {
		p := strings.TrimPrefix(string(m[1]), "/")
		if _, err := fs.Stat(DistDirFS, p); err != nil {
			t.Errorf("index.html references /%s, which is not in ui/dist", p)
		}
	}
	// The Content-Security-Policy allows no inline script: every <script> must have a src.
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAll(index, -1) {
		if !bytes.Contains(tag, []byte(" src=")) {
			t.Errorf("index.html has an inline script %s; the CSP would block it", tag)
		}
	}
	if bytes.Contains(index, []byte(" style=")) || bytes.Contains(index, []byte("<style")) {
		t.Error("index.html has inline style; the CSP would block it")
	}
}
