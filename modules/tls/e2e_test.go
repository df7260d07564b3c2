package tls

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
)

// A real mipo-scanner, provisioned with the pin of mipo's self-signed certificate, keeps
// heartbeating when mipo switches to an uploaded certificate signed by a CA the scanner's
// system roots hold ($SSL_CERT_FILE): across the switch, and after a restart, when it must
// accept the new certificate on a fresh handshake although its pin is stale.
func TestScannerKeepsHeartbeatingAcrossASwitchToATrustedCertificate(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 60-second heartbeat")
	}
	bin := apptest.Binaries(t)
	dbs := apptest.Databases(t)
	addr := apptest.FreeAddr(t)
	base := "https://" + addr
	apptest.StartProcess(t, filepath.Join(bin, "mipo"), []string{
		"MIPO_CONFIG_DSN=" + dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN=" + dbs.DSN(app.DBResults), "MIPO_JOBS_DSN=" + dbs.DSN(app.DBJobs),
		"MIPO_LOG_FORMAT=text", "MIPO_LOG_LEVEL=warn", "MIPO_SCANNER_BINARY=" + filepath.Join(bin, "mipo-scanner"),
	}, "serve", "--role=all", "--listen", addr, "--tls", "on", "--data-dir", t.TempDir())

	insecure := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: insecure}
	apptest.WaitFor(t, 60*time.Second, "mipo to answer", func() bool {
		res, err := hc.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == http.StatusOK
	})
	// The API clients below trust mipo as an operator's browser does after "continue anyway".
	http.DefaultTransport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	owner := rbactest.Owner(t, &apptest.Server{URL: base})
	if r := owner.Patch("/api/v1/settings", map[string]string{"public_fqdn": addr}); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
	var tok struct{ Secret, Pin, Command string }
	r := owner.Post("/api/v1/scanners/tokens", map[string]any{"name": "tls-scanner", "expires_in_minutes": 10})
	r.JSON(t, &tok)
	if r.Status != http.StatusCreated || tok.Pin == "" || !strings.Contains(tok.Command, base) {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}

	ca := newTestCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.root.Raw}), 0o644)
	scannerEnv := []string{"SSL_CERT_FILE=" + caFile}
	cfgPath := filepath.Join(dir, "config.json")
	reg := apptest.StartProcess(t, filepath.Join(bin, "mipo-scanner"), scannerEnv,
		"register", "--server", base, "--token", tok.Secret, "--pin", tok.Pin, "--config", cfgPath)
	if err := reg.Err(); err != nil {
		t.Fatalf("register: %v\n%s", err, reg.Output())
	}
	lastSeen := func() time.Time {
		var list struct {
			Items []struct {
				LastSeenAt *time.Time `json:"last_seen_at"`
			}
		}
		owner.Get("/api/v1/scanners").JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].LastSeenAt == nil {
			return time.Time{}
		}
		return *list.Items[0].LastSeenAt
	}
	run := apptest.StartProcess(t, filepath.Join(bin, "mipo-scanner"), scannerEnv, "run", "--config", cfgPath)
	apptest.WaitFor(t, 30*time.Second, "the first heartbeat", func() bool { return !lastSeen().IsZero() })

	leaf, key := ca.leaf(t, time.Now(), "127.0.0.1")
	if r := owner.Post("/api/v1/tls/certificate", Upload{Certificate: pemChain(leaf, ca.inter), Key: key}); r.Status != http.StatusBadRequest || r.ErrorCode() != "chain_incomplete" {
		t.Fatalf("a chain without its root, the test CA not among mipo's roots: %d %s", r.Status, r.Body)
	}
	if r := owner.Post("/api/v1/tls/certificate", Upload{Certificate: pemChain(leaf, ca.inter, ca.root), Key: key}); r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	switched := time.Now()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(leaf.SerialNumber) != 0 {
		t.Fatal("a new connection does not get the uploaded certificate")
	}
	conn.Close()

	apptest.WaitFor(t, 100*time.Second, "a heartbeat after the switch", func() bool { return lastSeen().After(switched) })
	if strings.Contains(run.Output(), "heartbeat failed") {
		t.Fatalf("a heartbeat failed:\n%s", run.Output())
	}

	// Restarted, the scanner handshakes anew: its pin no longer matches, the roots vouch.
	run.Cmd.Process.Signal(os.Interrupt)
	<-run.Exited()
	restarted := time.Now()
	run = apptest.StartProcess(t, filepath.Join(bin, "mipo-scanner"), scannerEnv, "run", "--config", cfgPath)
	apptest.WaitFor(t, 30*time.Second, "a heartbeat after the restart", func() bool { return lastSeen().After(restarted) })
	if strings.Contains(run.Output(), "heartbeat failed") {
		t.Fatalf("a heartbeat failed after the restart:\n%s", run.Output())
	}
}
