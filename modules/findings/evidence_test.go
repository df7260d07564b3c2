package findings

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
)

// insertScan records a completed scan the way the scans module's table holds it (the test
// stands in for the dispatcher), with its frozen scope.
func (f *fixture) insertScan(id, templateID, targets string, at time.Time) {
	f.t.Helper()
	scope := map[string]any{"template_id": templateID, "template_version": 1, "template_name": "lab", "at": at,
		"targets": json.RawMessage(mustJSON(f.t, targets)), "ports": "1-1024", "scanner_mode": "pool", "scanner_ids": []string{}, "scanner_group_ids": []string{}}
	raw, _ := json.Marshal(scope)
	_, err := f.svc.Config.Exec(context.Background(), `INSERT INTO scans (id, template_id, template_name, template_version, scope, mode, status,
		addresses, ports, probes, launched_by, created_at, started_at, finished_at)
		VALUES ($1, $2, 'lab', 1, $3, 'pool', 'completed', 256, 1024, 262144, 'owner', $4, $4, $4)`, id, templateID, raw, at)
	if err != nil {
		f.t.Fatal(err)
	}
}

func mustJSON(t testing.TB, targets string) []byte {
	t.Helper()
	s, err := parseSet(targets)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	return b
}

// untar reads an archive's files in order.
func untar(t *testing.T, b []byte) (names []string, files map[string][]byte) {
	t.Helper()
	files = map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		names, files[h.Name] = append(names, h.Name), body
	}
}

func retar(t *testing.T, names []string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n]))})
		tw.Write(files[n])
	}
	tw.Close()
	return buf.Bytes()
}

// runVerify runs `mipo evidence verify FILE` through the real command line.
func runVerify(t *testing.T, path string, extra ...string) (string, error) {
	t.Helper()
	cli := app.NewCLI()
	var out bytes.Buffer
	cli.SetOut(&out)
	cli.SetErr(&out)
	cli.SetArgs(append([]string{"evidence", "verify", path}, extra...))
	err := cli.Execute()
	return out.String(), err
}

func TestEvidencePackVerifiesAndNamesAnAlteredFile(t *testing.T) {
	f := newFixture(t, "manager")
	ctx := context.Background()
	start := f.clock.Now()
	f.baseline(map[string]any{"name": "lab", "scope_kind": "cidr", "scope_ref": "10.7.0.0/24", "mode": "allow", "ports": "22"})
	template := uuid.NewString()
	s1 := f.scanResults("10.7.0.0/24", "1-1024", "10.7.0.3:22", "10.7.0.3:80")
	f.insertScan(s1, template, "10.7.0.0/24", f.clock.Now())
	f.judge(s1)
	fd := f.one("address=10.7.0.3")
	if r := f.owner.Post("/api/v1/findings/"+fd.ID+"/triage", map[string]any{"action": "accept", "reason": "lab web server"}); r.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	s2 := f.scanResults("10.7.0.0/24", "1-1024", "10.7.0.3:22", "10.7.0.3:80", "10.7.0.4:443")
	f.insertScan(s2, template, "10.7.0.0/24", f.clock.Now())
	f.judge(s2)
	f.clock.Advance(time.Minute)

	q := "cidr=10.7.0.0/24&from=" + start.Format(time.RFC3339) + "&to=" + f.clock.Now().Add(time.Minute).Format(time.RFC3339)
	r := f.owner.Get("/api/v1/evidence-pack?" + q)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("evidence pack: %d %s", r.Status, r.Body)
	}
	pack := r.Body
	var n int
	f.svc.Config.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'evidence.export'`).Scan(&n)
	if n != 1 {
		t.Fatalf("making a pack must be audited once, got %d records", n)
	}
	if r := f.owner.Get("/api/v1/evidence-pack?cidr=10.7.0.0/24&from=" + start.Format(time.RFC3339)); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), `"field":"to"`) {
		t.Fatalf("a pack without an end: %d %s", r.Status, r.Body)
	}

	// An independent check: recompute every hash and verify the signature with the key the
	// settings page shows, using only the standard library.
	var key SigningKey
	f.owner.Get("/api/v1/evidence-key").JSON(t, &key)
	pub, _ := base64.StdEncoding.DecodeString(key.PublicKey)
	names, files := untar(t, pack)
	sig, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(files["manifest.sig"])))
	if !ed25519.Verify(pub, files["manifest.json"], sig) {
		t.Fatal("the manifest's signature does not verify with the settings page's key")
	}
	var m struct {
		Files []struct{ Name, SHA256 string }
	}
	json.Unmarshal(files["manifest.json"], &m)
	if len(m.Files) != len(names)-2 {
		t.Fatalf("the manifest lists %d files, the archive holds %d besides it and its signature", len(m.Files), len(names)-2)
	}
	for _, mf := range m.Files {
		sum := sha256.Sum256(files[mf.Name])
		if hex.EncodeToString(sum[:]) != mf.SHA256 {
			t.Fatalf("%s: hash differs from the manifest", mf.Name)
		}
	}
	for _, want := range []string{"scope.json", "scans.json", "diffs.json", "findings.json", "baselines.json", "audit.json", "audit_head.json"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the pack has no %s", want)
		}
	}
	for _, want := range []string{s1, s2, "lab web server", "10.7.0.4"} {
		if !bytes.Contains(pack, []byte(want)) {
			t.Errorf("the pack does not mention %s", want)
		}
	}
	if !strings.Contains(string(files["diffs.json"]), "10.7.0.4") {
		t.Errorf("the diff between the two scans must show 10.7.0.4:443 opening: %s", files["diffs.json"])
	}
	if !strings.Contains(string(files["audit.json"]), "finding.accept") {
		t.Errorf("the audit records must include the acceptance")
	}

	// The subcommand.
	dir := t.TempDir()
	good := filepath.Join(dir, "pack.tar")
	os.WriteFile(good, pack, 0o600)
	if out, err := runVerify(t, good, "--public-key", key.PublicKey); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("verify a good pack: %v\n%s", err, out)
	}

	// One flipped byte in any file is reported by that file's name.
	for _, name := range names {
		altered := map[string][]byte{}
		for k, v := range files {
			altered[k] = bytes.Clone(v)
		}
		b := altered[name]
		b[len(b)/2] ^= 0x01
		bad := filepath.Join(dir, "bad-"+name+".tar")
		os.WriteFile(bad, retar(t, names, altered), 0o600)
		out, err := runVerify(t, bad)
		wantName := name
		if name == "manifest.sig" {
			wantName = "manifest" // the signature no longer verifies (or no longer decodes)
		}
		if err == nil || !strings.Contains(out, "FAIL "+wantName) {
			t.Errorf("flipping a byte of %s: want a failure naming it, got err=%v\n%s", name, err, out)
		}
		v, err := VerifyPack(bytes.NewReader(retar(t, names, altered)), pub)
		if err != nil || v.OK() {
			t.Errorf("VerifyPack accepted a pack with %s altered", name)
		}
	}
}
