package backup

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mipo/app/apptest"
)

// startS3 runs s3rver (an S3-compatible server from npm) on a free loopback port, installing it
// into the user's cache on first use, and returns a target for a fresh bucket.
func startS3(t testing.TB) S3 {
	t.Helper()
	target, _ := startS3Logged(t)
	return target
}

// startS3Logged is startS3 that also returns the file where s3rver logs each request.
func startS3Logged(t testing.TB) (S3, string) {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "mipo-test", "s3rver")
	bin := filepath.Join(dir, "node_modules", "s3rver", "bin", "s3rver.js")
	if _, err := os.Stat(bin); err != nil {
		os.MkdirAll(dir, 0o755)
		t.Logf("installing s3rver from npm into %s", dir)
		if out, err := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "s3rver@3").CombinedOutput(); err != nil {
			t.Fatalf("npm install s3rver: %v\n%s", err, out)
		}
	}
	addr := apptest.FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	logPath := filepath.Join(t.TempDir(), "s3rver.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", bin, "-d", t.TempDir(), "-a", host, "-p", port, "--configure-bucket", "mipo-backups")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	apptest.WaitFor(t, 20*time.Second, "s3rver to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	time.Sleep(300 * time.Millisecond) // the bucket is configured just after the port opens
	return S3{Endpoint: addr, Bucket: "mipo-backups", Prefix: "site-a/", Region: "us-east-1", AccessKey: "S3RVER", SecretKey: "S3RVER", Insecure: true}, logPath
}

func TestReplicationListingRetentionAndRestoreFromS3(t *testing.T) {
	ctx := context.Background()
	dbs := apptest.Databases(t)
	seed(t, dbs.Databases, 4, 300, time.Now())
	s := newOwnedService(t, dbs)
	target := startS3(t)
	now := time.Now().UTC()
	s.Clock = func() time.Time { return now.Add(-10 * 24 * time.Hour) }
	old, err := s.Create(ctx, KindConfig, false)
	if err != nil {
		t.Fatal(err)
	}
	s.Clock = func() time.Time { return now.Add(-2 * 24 * time.Hour) }
	kept, err := s.Create(ctx, KindConfig, false)
	if err != nil {
		t.Fatal(err)
	}
	s.Clock = func() time.Time { return now }
	for _, m := range []*Manifest{old, kept} {
		if err := s.Replicate(ctx, target, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	remote, err := s.ListRemote(ctx, target)
	if err != nil || len(remote) != 2 || remote[0].ID != old.ID || remote[1].ID != kept.ID {
		t.Fatalf("listing: %v %v", remote, err)
	}
	// Retention of 5 days deletes exactly the 10-day-old backup, in the bucket and locally.
	gone, err := s.PruneRemote(ctx, target, KindConfig, 5)
	if err != nil || len(gone) != 1 || gone[0] != old.ID {
		t.Fatalf("remote retention deleted %v (%v), want only %s", gone, err, old.ID)
	}
	gone, err = s.Prune(KindConfig, 5)
	if err != nil || len(gone) != 1 || gone[0] != old.ID {
		t.Fatalf("local retention deleted %v (%v), want only %s", gone, err, old.ID)
	}
	if remote, _ := s.ListRemote(ctx, target); len(remote) != 1 || remote[0].ID != kept.ID {
		t.Fatalf("after retention the bucket holds %v", remote)
	}
	// Restore from the bucket alone: the local copy is gone.
	before := dumpRows(t, dbs.Databases)
	if err := os.RemoveAll(filepath.Join(s.Dir, kept.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.Fetch(ctx, target, kept.ID); err != nil {
		t.Fatal(err)
	}
	seed(t, dbs.Databases, 2, 0, time.Now()) // changes the restore must undo
	if err := s.Restore(ctx, []string{kept.ID}, nil); err != nil {
		t.Fatal(err)
	}
	after := dumpRows(t, dbs.Databases)
	for k := range before {
		if k[:7] == "results" {
			delete(before, k)
			delete(after, k)
		}
	}
	sameRows(t, before, after)
}

// A part larger than the multipart chunk goes up in pieces and comes back byte for byte.
func TestALargePartIsUploadedInPartsAndRestoresFromS3(t *testing.T) {
	ctx := context.Background()
	dbs := apptest.Databases(t)
	seed(t, dbs.Databases, 0, 150_000, time.Now()) // random ids: about 10 MiB encrypted
	s := newOwnedService(t, dbs)
	target, log := startS3Logged(t)
	defer func(old uint64) { partSize = old }(partSize)
	partSize = 5 << 20 // S3's smallest multipart chunk
	m, err := s.Create(ctx, KindResults, true)
	if err != nil {
		t.Fatal(err)
	}
	var largest int64
	for _, tb := range m.Parts() {
		largest = max(largest, tb.Bytes)
	}
	if largest <= int64(partSize) {
		t.Fatalf("the largest part has %d bytes, not above the %d-byte chunk", largest, partSize)
	}
	if err := s.Replicate(ctx, target, m.ID); err != nil {
		t.Fatal(err)
	}
	// The store saw the parts of a multipart upload.
	requests, _ := os.ReadFile(log)
	if !strings.Contains(string(requests), "partNumber=2") {
		t.Fatalf("the large part was not uploaded in parts; the store logged:\n%s", requests)
	}
	if err := os.RemoveAll(filepath.Join(s.Dir, m.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.Fetch(ctx, target, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, m.ID); err != nil {
		t.Fatalf("the fetched backup does not verify: %v", err)
	}
}
