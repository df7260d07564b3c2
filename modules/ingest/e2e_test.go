package ingest_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
	"mipo/modules/rbac/rbactest"
	"mipo/modules/scanners"
	"mipo/modules/scanners/scannersapi"
)

// The whole path, with real parts only: a freshly built mipo-scanner installed and registered
// by the install script that a real `mipo serve --role=ingest` serves (over TLS, trusted by
// pin), a manager issuing the token, a job against listeners on 127.0.0.1 and ::1, and the
// ingest process SIGKILLed in the middle of the result stream and started again. Afterwards the
// results database holds exactly the open ports, each once.
func TestEndToEndProvisionScanKillIngestRestart(t *testing.T) {
	for _, tool := range []string{"go", "curl", "sh", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the end-to-end test needs %s on PATH: %v", tool, err)
		}
	}
	ctx := context.Background()
	bin := apptest.Binaries(t)

	dbs := apptest.Databases(t)
	data := t.TempDir()
	settings := map[string]string{
		"MIPO_DATA_DIR": data, "MIPO_TLS": "on", "MIPO_SCANNER_BINARY": filepath.Join(bin, "mipo-scanner"),
		"MIPO_CONFIG_DSN": dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN": dbs.DSN(app.DBResults), "MIPO_JOBS_DSN": dbs.DSN(app.DBJobs),
		"MIPO_SHUTDOWN_TIMEOUT": "2s",
	}
	// The manager runs in this process, the ingest node as its own process; they share the data
	// directory (secrets and the self-signed certificate) as compose's services do.
	mcfg := settings
	mcfg["MIPO_ROLE"] = app.RoleManager
	cfg, err := app.LoadConfig(mcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := app.EnsureCertificate(data)
	if err != nil {
		t.Fatal(err)
	}
	pin, _ := app.CertificatePin(cert)
	scannersapi.ResetCaches()

	ingestAddr := apptest.FreeAddr(t)
	ingest := startIngest(t, bin, data, dbs, ingestAddr)
	manager := apptest.Start(t, cfg, dbs, app.Options{})
	owner := rbactest.Owner(t, manager)
	if r := owner.Patch("/api/v1/settings", map[string]string{"public_fqdn": ingestAddr}); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}

	// Provision: the one-liner, run as an operator would, in the mode that needs no root.
	var tok struct{ Secret, Command, Pin, SHA256 string }
	r := owner.Post("/api/v1/scanners/tokens", map[string]any{"name": "e2e-scanner", "expires_in_minutes": 10})
	r.JSON(t, &tok)
	if r.Status != http.StatusCreated || tok.Pin != pin || !strings.Contains(tok.Command, "--pinnedpubkey '"+pin+"'") || len(tok.SHA256) != 64 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	home := t.TempDir()
	dir := filepath.Join(home, "mipo-scanner")
	// A capacity that is not a positive integer is refused before anything is downloaded.
	bad := filepath.Join(home, "bad")
	refused := exec.Command("sh", "-c", strings.Replace(tok.Command, "| sudo sh -s --", "| sh -s -- --no-systemd --dir '"+bad+"' --max-rate abc", 1))
	refused.Env = append(os.Environ(), "HOME="+home)
	if out, err := refused.CombinedOutput(); err == nil || !strings.Contains(string(out), "--max-rate must be a positive integer below 1000000000, not 'abc'") {
		t.Fatalf("--max-rate abc: %v\n%s", err, out)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf("--max-rate abc left %s behind: %v", bad, err)
	}
	// The capacity flags reach register's config; they are loose enough for the scan below.
	oneLiner := strings.Replace(tok.Command, "| sudo sh -s --", "| sh -s -- --no-systemd --dir '"+dir+"' --max-rate 1234 --max-concurrency 77 --max-jobs 2", 1)
	install := exec.Command("sh", "-c", oneLiner)
	install.Env = refused.Env
	out, err := install.CombinedOutput()
	if err != nil {
		t.Fatalf("the install command failed: %v\n%s\n%s", err, oneLiner, out)
	}
	if !strings.Contains(string(out), "checksum ok: "+tok.SHA256) || !strings.Contains(string(out), `registered as "e2e-scanner"`) {
		t.Fatalf("install output:\n%s", out)
	}
	for _, f := range []string{"config.json", "config.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st, err)
		}
	}
	var capa struct {
		MaxRate        int `json:"max_rate"`
		MaxConcurrency int `json:"max_concurrency"`
		MaxJobs        int `json:"max_jobs"`
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "config.json")); err != nil || json.Unmarshal(raw, &capa) != nil ||
		capa.MaxRate != 1234 || capa.MaxConcurrency != 77 || capa.MaxJobs != 2 {
		t.Fatalf("config.json's capacity %+v (%v), want the install flags'", capa, err)
	}
	// The same token a second time is refused.
	again := exec.Command("sh", "-c", strings.Replace(oneLiner, "'"+dir+"'", "'"+dir+"-again'", 1))
	again.Env = install.Env
	if out, err := again.CombinedOutput(); err == nil || !strings.Contains(string(out), "already used") {
		t.Fatalf("a used token installed again: %v\n%s", err, out)
	}

	var list struct{ Items []scanners.Scanner }
	owner.Get("/api/v1/scanners").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "e2e-scanner" || list.Items[0].Binding != "127.0.0.1" {
		t.Fatalf("scanners after install: %+v", list.Items)
	}
	scannerID := list.Items[0].ID

	// Listeners on both loopbacks, on the same ports, and some ports known to be closed.
	open := listenBoth(t, 150)
	closed := closedPorts(t, 20)
	portList := append(slices.Clone(open), closed...)
	ports, err := portset.FromPorts(portList...)
	if err != nil {
		t.Fatal(err)
	}

	// Batches of 7 make the 300 open ports a stream of 43 requests.
	scannerLog := &bytes.Buffer{}
	run := exec.Command(filepath.Join(dir, "mipo-scanner"), "run", "--config", filepath.Join(dir, "config.json"), "--test-batch-size", "7")
	run.Stdout, run.Stderr = scannerLog, scannerLog
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		run.Process.Signal(syscall.SIGTERM)
		run.Wait()
		if t.Failed() {
			t.Logf("mipo-scanner said:\n%s", scannerLog)
		}
	})
	apptest.WaitFor(t, 30*time.Second, "the scanner's first heartbeat", func() bool {
		var s scanners.Scanner
		owner.Get("/api/v1/scanners/"+scannerID).JSON(t, &s)
		return s.Status == scanners.StatusOnline && s.Metrics != nil && s.Version != ""
	})

	// The job is created in a transaction, and before it commits (so before any scanner can see
	// it) this test holds batch 10 of its results: the ingest node storing batch 10 waits on
	// that row, in the middle of the stream, until it is killed.
	const held = 10
	jtx, err := manager.App.DB.Jobs.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	targets, _ := netset.Parse("127.0.0.1,::1")
	scanID := uuid.NewString()
	ids, err := jobs.Create(ctx, jtx, time.Now(), jobs.New{ScanID: scanID, Kind: jobs.KindVantage, ScannerID: scannerID,
		Targets: targets, Ports: ports, TimeoutMS: 1000, Retries: 1, Concurrency: 100})
	if err != nil {
		t.Fatal(err)
	}
	jobID := ids[0]
	lock, err := manager.App.DB.Results.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	// Attempt 1: the scanner's first lease of the job (a row of attempt 0, from before attempts
	// were kept, would count for every attempt and be answered as a duplicate, not waited on).
	if _, err := lock.Exec(ctx, `INSERT INTO result_batches (job_id, attempt, batch, scan_id, scanner_id, results, received_at)
		VALUES ($1, 1, $2, $3, $4, 0, now())`, jobID, held, scanID, scannerID); err != nil {
		t.Fatal(err)
	}
	if err := jtx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	results := manager.App.DB.Results
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := results.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	apptest.WaitFor(t, 60*time.Second, "batches 1-9 stored and batch 10 waiting", func() bool {
		return count(`SELECT count(*) FROM result_batches WHERE job_id = $1`, jobID) == held-1 &&
			count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 1
	})
	if err := ingest.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	ingest.Wait()
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	stored, mid := count(`SELECT count(*) FROM result_batches WHERE job_id = $1`, jobID), count(`SELECT count(*) FROM observations WHERE job_id = $1`, jobID)
	if stored != held-1 || mid != count(`SELECT COALESCE(sum(results), 0) FROM result_batches WHERE job_id = $1`, jobID) || mid == 0 {
		t.Fatalf("after the kill: %d batches holding %d observations; want %d batches and their results only", stored, mid, held-1)
	}
	t.Logf("ingest killed with batch %d in flight: %d batches (%d results) stored", held, stored, mid)
	if j, _ := jobs.Get(ctx, manager.App.DB.Jobs, jobID); j.Finished() {
		t.Fatal("the job finished while its ingest was dead")
	}

	startIngest(t, bin, data, dbs, ingestAddr)
	// Completing writes the job, then its coverage: wait for both, or a look between them finds
	// no coverage.
	apptest.WaitFor(t, 120*time.Second, "the job to complete after ingest came back", func() bool {
		j, err := jobs.Get(ctx, manager.App.DB.Jobs, jobID)
		return err == nil && j.Finished() && count(`SELECT count(*) FROM job_coverage WHERE job_id = $1`, jobID) == 1
	})
	j, _ := jobs.Get(ctx, manager.App.DB.Jobs, jobID)
	if j.Status != jobs.Done || j.Batches == nil || *j.Batches <= held || *j.Batches != count(`SELECT count(*) FROM result_batches WHERE job_id = $1`, jobID) {
		t.Fatalf("job: %s, %v batches, error %q", j.Status, j.Batches, j.Error)
	}
	t.Logf("after the restart: job done with %d batches, %d results", *j.Batches, 2*len(open))
	want := map[string]bool{}
	for _, p := range open {
		want[fmt.Sprintf("127.0.0.1/%d", p)] = true
		want[fmt.Sprintf("::1/%d", p)] = true
	}
	rows, err := results.Query(ctx, `SELECT host(address) || '/' || port FROM observations WHERE job_id = $1`, jobID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d observations stored, want exactly %d", len(got), len(want))
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("observation %s is not an open listener (or a duplicate)", g)
		}
		delete(want, g)
	}
	if n := count(`SELECT COALESCE(sum(results), 0) FROM result_batches WHERE job_id = $1`, jobID); n != 2*len(open) {
		t.Fatalf("the ledger counts %d results", n)
	}
	var status string
	results.QueryRow(ctx, `SELECT status FROM job_coverage WHERE job_id = $1`, jobID).Scan(&status)
	if status != jobs.Done {
		t.Fatalf("coverage %q", status)
	}
}

// startIngest runs `mipo serve --role=ingest` and waits until it answers.
func startIngest(t *testing.T, bin, data string, dbs *apptest.DBs, addr string) *exec.Cmd {
	t.Helper()
	log := &bytes.Buffer{}
	cmd := exec.Command(filepath.Join(bin, "mipo"), "serve", "--role=ingest", "--listen", addr, "--tls", "on", "--data-dir", data)
	cmd.Env = append(os.Environ(), "MIPO_CONFIG_DSN="+dbs.DSN(app.DBConfig), "MIPO_RESULTS_DSN="+dbs.DSN(app.DBResults),
		"MIPO_JOBS_DSN="+dbs.DSN(app.DBJobs), "MIPO_LOG_FORMAT=text", "MIPO_LOG_LEVEL=warn",
		"MIPO_SCANNER_BINARY="+filepath.Join(bin, "mipo-scanner"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("ingest %d said:\n%s", cmd.Process.Pid, log)
		}
	})
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	apptest.WaitFor(t, 60*time.Second, "the ingest process to answer", func() bool {
		res, err := hc.Get("https://" + addr + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return cmd
}

// listenBoth opens n ports on both 127.0.0.1 and ::1, accepting until the test ends.
func listenBoth(t *testing.T, n int) []uint16 {
	t.Helper()
	var ports []uint16
	for tries := 0; len(ports) < n && tries < 10*n; tries++ {
		l4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l4.Addr().(*net.TCPAddr).Port
		l6, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port))
		if err != nil {
			l4.Close()
			continue
		}
		for _, ln := range []net.Listener{l4, l6} {
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
		ports = append(ports, uint16(port))
	}
	if len(ports) < n {
		t.Fatalf("only %d of %d ports could be opened on both loopbacks", len(ports), n)
	}
	slices.Sort(ports)
	return ports
}

// closedPorts returns ports that were free a moment ago on both loopbacks.
func closedPorts(t *testing.T, n int) []uint16 {
	var out []uint16
	for len(out) < n {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, uint16(ln.Addr().(*net.TCPAddr).Port))
		ln.Close()
	}
	return out
}
