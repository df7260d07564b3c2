package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// When neither the data directory nor the fallback place can be reached by the PostgreSQL
// user, the error names the directory, the user and the fix; nothing is loosened.
func TestEmbeddedPlacementErrorNamesDirectoryUserAndFix(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs only as root: only then does PostgreSQL run as another user")
	}
	private := t.TempDir()
	os.Chmod(private, 0o700) // root's, as /root is
	old := PlacementRoot
	PlacementRoot = filepath.Join(private, "fallback")
	t.Cleanup(func() { PlacementRoot = old })
	pg, err := NewEmbeddedPG(filepath.Join(private, "data", "postgres"), os.Getenv("MIPO_PG_BIN"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Skip(err)
	}
	err = pg.Start(context.Background())
	if err == nil {
		pg.Stop()
		t.Fatal("the cluster started where its user cannot reach")
	}
	for _, want := range []string{private, "user " + pg.user, "MIPO_DATA_DIR", "chmod o+x"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if fi, _ := os.Stat(private); fi.Mode().Perm() != 0o700 {
		t.Fatalf("%s was loosened to %v", private, fi.Mode().Perm())
	}
}
