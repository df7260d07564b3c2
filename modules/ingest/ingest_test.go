package ingest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
	"mipo/modules/scanners"
	"mipo/modules/scanners/scannersapi"
	"mipo/modules/scanners/scannerstest"

	_ "mipo/modules/audit"
	_ "mipo/modules/ingest"
	_ "mipo/modules/rbac"
	_ "mipo/modules/scans" // the results module ingest writes to asks scans about scans
	_ "mipo/modules/settings"
)

func TestMain(m *testing.M) { apptest.Main(m) }

var t0 = scannerstest.T0

func TestRequestsAreCheckedAgainstTheBinding(t *testing.T) {
	asn := scannerstest.ASNDatabase(t, map[string]uint32{"127.0.0.0/8": 64500, "192.0.2.0/24": 64501})
	e := scannerstest.Start(t, map[string]string{"MIPO_ASN_DATABASE": asn})
	reg, sc := e.Scanner(t, "bound")
	var s scanners.Scanner
	e.Owner.Get("/api/v1/scanners/"+reg.ScannerID).JSON(t, &s)
	if s.Binding != "127.0.0.1" {
		t.Fatalf("a scanner registered without a binding is bound to its address, got %q", s.Binding)
	}
	hb := func() *apptest.Response { return sc.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 2)) }
	for _, c := range []struct {
		binding string
		status  int
		code    string
	}{
		{"127.0.0.1", 200, ""},
		{"192.0.2.1", 403, scanners.CodeBindingMismatch},
		{"127.0.0.0/8", 200, ""},
		{"10.0.0.0/8", 403, scanners.CodeBindingMismatch},
		{"::1", 403, scanners.CodeBindingMismatch},
		{"AS64500", 200, ""},
		{"AS64501", 403, scanners.CodeBindingMismatch},
	} {
		if r := e.Owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": c.binding}); r.Status != http.StatusOK {
			t.Fatalf("binding %s: %d %s", c.binding, r.Status, r.Body)
		}
		r := hb()
		if r.Status != c.status || r.ErrorCode() != c.code {
			t.Fatalf("heartbeat from 127.0.0.1 with binding %s: %d %s", c.binding, r.Status, r.Body)
		}
	}
	// A forged X-Forwarded-For changes nothing: no proxy is trusted.
	e.Owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": "192.0.2.1"})
	sc.Header.Set("X-Forwarded-For", "192.0.2.1")
	scannerstest.WantError(t, "a forged X-Forwarded-For", hb(), http.StatusForbidden, scanners.CodeBindingMismatch)
	sc.Header.Del("X-Forwarded-For")

	for _, bad := range []string{"10.0.0.1/8", "AS0", "AS4294967296", "example.com", "0.0.0.0/0", "fe80::1%eth0", ""} {
		r := e.Owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": bad})
		if r.Status != http.StatusBadRequest || r.ErrorField() != "binding" {
			t.Fatalf("binding %q: %d %s", bad, r.Status, r.Body)
		}
	}
	var after scanners.Scanner
	e.Owner.Get("/api/v1/scanners/"+reg.ScannerID).JSON(t, &after)
	if after.Binding != "192.0.2.1" {
		t.Fatalf("a refused binding changed the scanner: %q", after.Binding)
	}
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.request_refused' AND resource_id = $1
		AND detail->>'code' = 'binding_mismatch'`, reg.ScannerID); n < 1 {
		t.Fatal("binding refusals are not audited")
	}
	if n := e.Count(t, app.DBJobs, `SELECT count(*) FROM events WHERE type = 'scanner.rejected' AND subject = $1`, reg.ScannerID); n < 1 {
		t.Fatal("binding refusals emit no event")
	}

	// A token's binding holds at registration too.
	tok := scannerstest.Provision(t, e.Owner, map[string]any{"binding": "198.51.100.0/24"})
	r := apptest.NewClient(t, e.Srv.URL).Post("/scanner/v1/register", map[string]any{"token": tok.Secret, "hostname": "x"})
	scannerstest.WantError(t, "registering from outside the token's binding", r, http.StatusForbidden, scanners.CodeBindingMismatch)
}

// A shortened offline window (MIPO_SCANNER_OFFLINE_AFTER, as tests of live pages set it) shortens
// the heartbeat interval told to scanners, so a running scanner stays online; the default stays
// once a minute.
func TestHeartbeatIntervalFollowsTheOfflineWindow(t *testing.T) {
	for _, c := range []struct {
		extra map[string]string
		want  int
	}{{nil, 60}, {map[string]string{"MIPO_SCANNER_OFFLINE_AFTER": "9s"}, 4}} {
		e := scannerstest.Start(t, c.extra)
		reg, sc := e.Scanner(t, "beat")
		if reg.HeartbeatSeconds != c.want {
			t.Errorf("window %v: registration says heartbeat every %d s, want %d", c.extra, reg.HeartbeatSeconds, c.want)
		}
		var hb struct {
			HeartbeatSeconds int `json:"heartbeat_seconds"`
		}
		r := sc.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1))
		r.JSON(t, &hb)
		if r.Status != http.StatusOK || hb.HeartbeatSeconds != c.want {
			t.Errorf("window %v: heartbeat answered %d %s, want heartbeat_seconds %d", c.extra, r.Status, r.Body, c.want)
		}
	}
}

func TestDisabledScannersAreRefusedAndGetNoJobs(t *testing.T) {
	e := scannerstest.Start(t, nil)
	reg, sc := e.Scanner(t, "soft")
	ctx := context.Background()
	if _, err := jobs.Create(ctx, e.Srv.App.DB.Jobs, t0, jobs.New{ScanID: uuid.NewString(), Kind: jobs.KindVantage, ScannerID: reg.ScannerID,
		Targets: mustSet(t, "127.0.0.1"), Ports: portset.MustParse("1"), TimeoutMS: 500}); err != nil {
		t.Fatal(err)
	}
	r := e.Owner.Post("/api/v1/scanners/"+reg.ScannerID+"/disable", nil)
	var s scanners.Scanner
	r.JSON(t, &s)
	if r.Status != http.StatusOK || s.Status != scanners.StatusDisabled {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	scannerstest.WantError(t, "a disabled scanner's heartbeat", sc.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1)), http.StatusForbidden, scanners.CodeDisabled)
	scannerstest.WantError(t, "a disabled scanner's lease", sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0}), http.StatusForbidden, scanners.CodeDisabled)
	healthy, err := scanners.Healthy(ctx, e.Srv.App.DB.Config, nil)
	if err != nil || len(healthy) != 0 {
		t.Fatalf("a disabled scanner is healthy: %v %v", healthy, err)
	}
	// It keeps its key and binding: enabling it is all it takes.
	e.Owner.Post("/api/v1/scanners/"+reg.ScannerID+"/enable", nil).JSON(t, &s)
	if s.Disabled || s.Binding != "127.0.0.1" {
		t.Fatalf("enabled: %+v", s)
	}
	if r := sc.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1)); r.Status != http.StatusOK {
		t.Fatalf("heartbeat after enable: %d %s", r.Status, r.Body)
	}
	if r := sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0}); r.Status != http.StatusOK {
		t.Fatalf("lease after enable: %d %s", r.Status, r.Body)
	}
	for _, action := range []string{"scanner.disable", "scanner.enable"} {
		if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = $1 AND resource_id = $2`, action, reg.ScannerID); n != 1 {
			t.Fatalf("%d %s audit records", n, action)
		}
	}
	var hist struct{ Items []scanners.Connection }
	e.Owner.Get("/api/v1/scanners/"+reg.ScannerID+"/connections").JSON(t, &hist)
	var events []string
	for _, c := range hist.Items {
		events = append(events, c.Event)
	}
	if got := strings.Join(events, ","); got != "online,enabled,disabled,registered" {
		t.Fatalf("connection history, newest first: %s", got)
	}
}

func mustSet(t *testing.T, s string) netset.Set {
	set, err := netset.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestTheJobProtocol(t *testing.T) {
	e := scannerstest.Start(t, nil)
	reg, sc := e.Scanner(t, "worker")
	_, osc := e.Scanner(t, "other")
	ctx := context.Background()
	scan := uuid.NewString()
	ids, err := jobs.Create(ctx, e.Srv.App.DB.Jobs, t0, jobs.New{ScanID: scan, Kind: jobs.KindVantage, ScannerID: reg.ScannerID,
		Targets: mustSet(t, "127.0.0.1,::1"), Ports: portset.MustParse("22,80,8000-8100"), TimeoutMS: 700, Retries: 1, RateLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	if r := osc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0}); r.Status != http.StatusNoContent {
		t.Fatalf("another scanner leased the job: %d %s", r.Status, r.Body)
	}
	r := sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 1})
	var lease struct {
		Job struct {
			ID        string `json:"id"`
			Targets   []map[string]string
			Ports     [][2]int
			TimeoutMS int `json:"timeout_ms"`
		}
	}
	r.JSON(t, &lease)
	if r.Status != http.StatusOK || lease.Job.ID != id || len(lease.Job.Targets) != 2 || len(lease.Job.Ports) != 3 || lease.Job.Ports[2] != [2]int{8000, 8100} || lease.Job.TimeoutMS != 700 {
		t.Fatalf("lease: %d %s", r.Status, r.Body)
	}
	base := "/scanner/v1/jobs/" + id
	if r := sc.Post(base+"/progress", map[string]int{"hosts_done": 1, "hosts_total": 2, "ports_probed": 103, "ports_total": 206}); r.Status != http.StatusOK || string(r.Body) != "{\"cancel\":false}\n" {
		t.Fatalf("progress: %d %s", r.Status, r.Body)
	}
	scannerstest.WantError(t, "another scanner's progress", osc.Post(base+"/progress", map[string]int{}), http.StatusGone, "job_gone")
	scannerstest.WantError(t, "another scanner's results", osc.Post(base+"/results", map[string]any{"batch": 1, "results": []any{}}), http.StatusGone, "job_gone")
	now := t0.Format(time.RFC3339Nano)
	batch := func(n int, rs ...[2]any) map[string]any {
		var out []map[string]any
		for _, r := range rs {
			out = append(out, map[string]any{"address": r[0], "port": r[1], "observed_at": now, "rtt_us": 84})
		}
		return map[string]any{"batch": n, "results": out}
	}
	accept := func(body map[string]any, dup bool) {
		t.Helper()
		r := sc.Post(base+"/results", body)
		var ack struct {
			Accepted  int
			Duplicate bool
		}
		r.JSON(t, &ack)
		if r.Status != http.StatusOK || ack.Duplicate != dup {
			t.Fatalf("results batch %v: %d %s", body["batch"], r.Status, r.Body)
		}
	}
	accept(batch(1, [2]any{"127.0.0.1", 22}, [2]any{"::1", 8080}), false)
	accept(batch(1, [2]any{"127.0.0.1", 22}, [2]any{"::1", 8080}), true)
	accept(batch(3, [2]any{"::ffff:127.0.0.1", 80}), false)
	scannerstest.WantError(t, "a result outside the job's targets", sc.Post(base+"/results", batch(4, [2]any{"10.0.0.1", 22})), http.StatusUnprocessableEntity, "outside_job")
	scannerstest.WantError(t, "a result outside the job's ports", sc.Post(base+"/results", batch(4, [2]any{"127.0.0.1", 443})), http.StatusUnprocessableEntity, "outside_job")
	scannerstest.WantError(t, "a result that is no address", sc.Post(base+"/results", batch(4, [2]any{"localhost", 22})), http.StatusUnprocessableEntity, "invalid_address")
	scannerstest.WantError(t, "batch 0", sc.Post(base+"/results", batch(0)), http.StatusBadRequest, "invalid_batch")
	scannerstest.WantError(t, "a port that is a string", sc.Post(base+"/results", map[string]any{"batch": 5, "results": []any{map[string]any{"port": "22"}}}),
		http.StatusBadRequest, "invalid_type")
	big := make([][2]any, 5001)
	for i := range big {
		big[i] = [2]any{"127.0.0.1", 22}
	}
	scannerstest.WantError(t, "a batch over 5,000", sc.Post(base+"/results", batch(6, big...)), http.StatusRequestEntityTooLarge, "too_large")

	r = sc.Post(base+"/complete", map[string]any{"status": "done", "hosts_done": 2, "ports_probed": 206, "batches": 3})
	scannerstest.WantError(t, "complete with batch 2 missing", r, http.StatusConflict, "missing_batches")
	var missing struct {
		Error struct{ Detail struct{ Missing []int } }
	}
	r.JSON(t, &missing)
	if len(missing.Error.Detail.Missing) != 1 || missing.Error.Detail.Missing[0] != 2 {
		t.Fatalf("missing detail: %s", r.Body)
	}
	accept(batch(2, [2]any{"127.0.0.1", 8000}), false)
	scannerstest.WantError(t, "a bad status", sc.Post(base+"/complete", map[string]any{"status": "finished"}), http.StatusBadRequest, "invalid_status")
	scannerstest.WantError(t, "negative CPU seconds", sc.Post(base+"/complete", map[string]any{"status": "done", "batches": 3, "cpu_seconds": -1}), http.StatusBadRequest, "invalid_cpu_seconds")
	for range 2 { // the second time, as after a lost answer
		if r := sc.Post(base+"/complete", map[string]any{"status": "done", "hosts_done": 2, "ports_probed": 206, "batches": 3, "cpu_seconds": 0.25}); r.Status != http.StatusOK {
			t.Fatalf("complete: %d %s", r.Status, r.Body)
		}
	}
	scannerstest.WantError(t, "progress after complete", sc.Post(base+"/progress", map[string]int{}), http.StatusGone, "job_gone")
	scannerstest.WantError(t, "complete as another status", sc.Post(base+"/complete", map[string]any{"status": "failed", "batches": 3}), http.StatusGone, "job_gone")
	scannerstest.WantError(t, "an unknown job", sc.Post("/scanner/v1/jobs/"+uuid.NewString()+"/progress", map[string]int{}), http.StatusGone, "job_gone")
	scannerstest.WantError(t, "a job id that is no UUID", sc.Post("/scanner/v1/jobs/nope/results", batch(1)), http.StatusGone, "job_gone")

	if n := e.Count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1`, id); n != 4 {
		t.Fatalf("%d observations stored, want 4", n)
	}
	if n := e.Count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1 AND address = '127.0.0.1' AND port = 80`, id); n != 1 {
		t.Fatal("an IPv4-mapped address is stored as IPv4")
	}
	var status string
	var targets []byte
	e.Srv.App.DB.Pool(app.DBResults).QueryRow(ctx, `SELECT status, targets FROM job_coverage WHERE job_id = $1`, id).Scan(&status, &targets)
	if status != "done" || !strings.Contains(string(targets), "::1") {
		t.Fatalf("coverage %s %s", status, targets)
	}
	j, _ := jobs.Get(ctx, e.Srv.App.DB.Jobs, id)
	if j.Status != jobs.Done || j.Batches == nil || *j.Batches != 3 {
		t.Fatalf("job after complete: %+v", j)
	}
	var fleet scanners.FleetHealth
	e.Owner.Get("/api/v1/scanners/health").JSON(t, &fleet)
	for _, s := range fleet.Scanners { // 206 probes in 0.25 CPU seconds
		if r := s.ProbesPerCPUSecond; s.ID == reg.ScannerID && (r == nil || *r != 824) || s.ID != reg.ScannerID && r != nil {
			t.Fatalf("fleet health: %s makes %v probes per CPU second", s.Name, r)
		}
	}
	// The scanner list shows active jobs from the jobs database.
	var list struct{ Items []scanners.Scanner }
	e.Owner.Get("/api/v1/scanners?sort=name").JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].Name != "other" || len(list.Items[1].ActiveJobs) != 0 {
		t.Fatalf("list %+v", list.Items)
	}
}

func TestAFailedJobClaimsNoCoverage(t *testing.T) {
	e := scannerstest.Start(t, nil)
	reg, sc := e.Scanner(t, "failing")
	ctx := context.Background()
	ids, err := jobs.Create(ctx, e.Srv.App.DB.Jobs, t0, jobs.New{ScanID: uuid.NewString(), Kind: jobs.KindVantage, ScannerID: reg.ScannerID,
		Targets: mustSet(t, "127.0.0.1"), Ports: portset.MustParse("1-1024"), TimeoutMS: 500})
	if err != nil {
		t.Fatal(err)
	}
	sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0})
	r := sc.Post("/scanner/v1/jobs/"+ids[0]+"/results", map[string]any{"batch": 1, "results": []any{map[string]any{"address": "127.0.0.1", "port": 22, "observed_at": t0}}})
	if r.Status != 200 {
		t.Fatal(r.Status, string(r.Body))
	}
	if r := sc.Post("/scanner/v1/jobs/"+ids[0]+"/complete", map[string]any{"status": "failed", "error": "stopped after max_duration_seconds (1s)", "batches": 1}); r.Status != 200 {
		t.Fatal(r.Status, string(r.Body))
	}
	var targets []byte
	e.Srv.App.DB.Pool(app.DBResults).QueryRow(ctx, `SELECT targets FROM job_coverage WHERE job_id = $1`, ids[0]).Scan(&targets)
	if string(targets) != "[]" {
		t.Fatalf("a failed job's coverage is %s, want none", targets)
	}
	if e.Count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1`, ids[0]) != 1 {
		t.Fatal("a failed job's partial results are kept")
	}
}

func TestLeaseWaitsThenAnswersNoContent(t *testing.T) {
	e := scannerstest.Start(t, nil)
	_, sc := e.Scanner(t, "idle")
	scannerstest.WantError(t, "a wait over a minute", sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 61}), http.StatusBadRequest, "invalid_wait")
	if r := sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 1}); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("lease with nothing queued: %d %s", r.Status, r.Body)
	}
}

func TestInstallScriptAndBinary(t *testing.T) {
	self, err := os.Executable() // any Linux executable will do as the binary handed out
	if err != nil {
		t.Fatal(err)
	}
	e := scannerstest.Start(t, map[string]string{"MIPO_SCANNER_BINARY": self})
	scannersapi.ResetCaches()
	anon := apptest.NewClient(t, e.Srv.URL)
	script := anon.Get("/scanner/install.sh")
	sum := anon.Get("/scanner/download/mipo-scanner.sha256")
	bin := anon.Get("/scanner/download/mipo-scanner")
	want, _ := os.ReadFile(self)
	if bin.Status != 200 || len(bin.Body) != len(want) || bin.Header.Get("X-Checksum-Sha256") == "" {
		t.Fatalf("binary: %d, %d bytes", bin.Status, len(bin.Body))
	}
	hash := strings.Fields(string(sum.Body))[0]
	if hash != bin.Header.Get("X-Checksum-Sha256") || !strings.Contains(string(script.Body), "SHA256='"+hash+"'") ||
		!strings.Contains(string(script.Body), "SERVER='"+e.Srv.URL+"'") || !strings.HasPrefix(string(script.Body), "#!/bin/sh") {
		t.Fatalf("install.sh:\n%s", script.Body)
	}
	var info scanners.InstallInfo
	e.Owner.Get("/api/v1/scanners/install").JSON(t, &info)
	if info.Binary == nil || info.Binary.SHA256 != hash || info.Server != e.Srv.URL || info.Pin != "" {
		t.Fatalf("install info %+v", info)
	}
	tok := scannerstest.Provision(t, e.Owner, nil)
	if tok.SHA256 != hash || !strings.Contains(tok.Command, "--sha256 "+hash) || strings.Contains(tok.Command, "pinnedpubkey") {
		t.Fatalf("command %s", tok.Command)
	}
	// The public FQDN setting names the server in the command.
	e.Owner.Patch("/api/v1/settings", map[string]string{"public_fqdn": "mipo.example.org"})
	tok = scannerstest.Provision(t, e.Owner, nil)
	if !strings.HasPrefix(tok.Command, "curl -fsSL 'https://mipo.example.org/scanner/install.sh' | sudo sh -s -- --server 'https://mipo.example.org' --token '"+tok.Secret+"'") {
		t.Fatalf("command %s", tok.Command)
	}
}

func TestAMissingBinaryIsExplained(t *testing.T) {
	e := scannerstest.Start(t, map[string]string{"MIPO_SCANNER_BINARY": "/nonexistent/mipo-scanner"})
	scannersapi.ResetCaches()
	anon := apptest.NewClient(t, e.Srv.URL)
	r := anon.Get("/scanner/download/mipo-scanner")
	if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "scanner_binary_missing" || !strings.Contains(string(r.Body), "make build") {
		t.Fatalf("missing binary: %d %s", r.Status, r.Body)
	}
	script := anon.Get("/scanner/install.sh")
	if script.Status != 200 || !strings.Contains(string(script.Body), "MISSING='this mipo has no mipo-scanner binary") {
		t.Fatalf("install.sh without a binary:\n%s", script.Body)
	}
	tok := scannerstest.Provision(t, e.Owner, nil)
	if tok.SHA256 != "" {
		t.Fatalf("a checksum without a binary: %+v", tok)
	}
	var raw map[string]any
	json.Unmarshal([]byte(e.Owner.Get("/api/v1/scanners/install").Body), &raw)
	if raw["binary"] != nil || !strings.Contains(raw["binary_error"].(string), "/nonexistent/mipo-scanner") {
		t.Fatalf("install info %v", raw)
	}
}
