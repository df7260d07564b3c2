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
	"mipo/modules/rbac/rbactest"
	"mipo/modules/scanners"
	"mipo/modules/scanners/scannerstest"

	_ "mipo/modules/audit"
	_ "mipo/modules/ingest"
	_ "mipo/modules/rbac"
	_ "mipo/modules/scans" // the results module ingest writes to asks scans about scans
	_ "mipo/modules/settings"
)

func TestMain(m *testing.M) { apptest.Main(m) }

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	srv   *apptest.Server
	owner *apptest.Client
	clock *app.FakeClock
}

// start runs mipo with every role on fresh databases and a fake clock, and signs the owner in.
func start(t *testing.T, extra map[string]string) *env {
	t.Helper()
	dbs := apptest.Databases(t)
	clock := app.NewFakeClock(t0)
	srv := apptest.Start(t, scannerstest.Config(t, dbs, extra), dbs, app.Options{Clock: clock})
	return &env{srv: srv, owner: rbactest.Owner(t, srv), clock: clock}
}

// scanner provisions and registers one scanner from 127.0.0.1.
func (e *env) scanner(t *testing.T, hostname string) (scannerstest.Registered, *apptest.Client) {
	t.Helper()
	tok := scannerstest.Provision(t, e.owner, nil)
	reg := scannerstest.Register(t, e.srv.URL, tok.Secret, hostname)
	return reg, scannerstest.Scanner(t, e.srv.URL, reg.APIKey)
}

func (e *env) count(t *testing.T, db, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.srv.App.DB.Pool(db).QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantError(t *testing.T, what string, r *apptest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("%s: got %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
}

func TestProvisioningTokensWorkOnceAndExpire(t *testing.T) {
	e := start(t, nil)
	tok := scannerstest.Provision(t, e.owner, map[string]any{"name": "scan-dmz-1", "expires_in_minutes": 5})
	if !strings.HasPrefix(tok.Secret, "mpt_") || !strings.Contains(tok.Command, tok.Secret) || !strings.Contains(tok.Command, "/scanner/install.sh") {
		t.Fatalf("token answer %+v", tok)
	}
	reg := scannerstest.Register(t, e.srv.URL, tok.Secret, "host-a")
	if reg.Name != "scan-dmz-1" || !strings.HasPrefix(reg.APIKey, "msk_") {
		t.Fatalf("registered %+v", reg)
	}
	body := map[string]any{"token": tok.Secret, "hostname": "host-b", "version": "test", "capacity": map[string]int{}}
	anon := apptest.NewClient(t, e.srv.URL)
	r := anon.Post("/scanner/v1/register", body)
	wantError(t, "a used token", r, http.StatusUnauthorized, scanners.CodeInvalidToken)
	if !strings.Contains(string(r.Body), "already used") {
		t.Fatalf("the refusal says why: %s", r.Body)
	}

	late := scannerstest.Provision(t, e.owner, map[string]any{"expires_in_minutes": 5})
	e.clock.Advance(5*time.Minute + time.Second)
	wantError(t, "an expired token", anon.Post("/scanner/v1/register", map[string]any{"token": late.Secret}), http.StatusUnauthorized, scanners.CodeInvalidToken)

	revoked := scannerstest.Provision(t, e.owner, nil)
	if r := e.owner.Delete("/api/v1/scanners/tokens/" + revoked.Token.ID); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	wantError(t, "a revoked token", anon.Post("/scanner/v1/register", map[string]any{"token": revoked.Secret}), http.StatusUnauthorized, scanners.CodeInvalidToken)
	wantError(t, "a made-up token", anon.Post("/scanner/v1/register", map[string]any{"token": "mpt_aaaaaaaaaaaaaaaa_" + strings.Repeat("x", 43)}),
		http.StatusUnauthorized, scanners.CodeInvalidToken)
	wantError(t, "no token", anon.Post("/scanner/v1/register", map[string]any{}), http.StatusBadRequest, "required")
	wantError(t, "a bad expiry", e.owner.Post("/api/v1/scanners/tokens", map[string]any{"expires_in_minutes": 100000}), http.StatusBadRequest, "invalid_expiry")

	if n := e.count(t, app.DBConfig, `SELECT count(*) FROM scanners`); n != 1 {
		t.Fatalf("%d scanners after one good registration", n)
	}
	// Each refusal is in the audit log and on the event bus (distinct kinds are not throttled:
	// they come from one address, but are recorded once a minute per kind).
	if n := e.count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.request_refused' AND outcome = 'failure'`); n < 1 {
		t.Fatal("refused registrations are not in the audit log")
	}
	if n := e.count(t, app.DBJobs, `SELECT count(*) FROM events WHERE type = 'scanner.rejected'`); n < 1 {
		t.Fatal("refused registrations emit no scanner.rejected event")
	}
	if n := e.count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.register' AND resource_id = $1`, reg.ScannerID); n != 1 {
		t.Fatalf("%d audit records of the registration", n)
	}
	// Listing tokens is an audited read, and shows no secret.
	list := e.owner.Get("/api/v1/scanners/tokens")
	if list.Status != http.StatusOK || strings.Contains(string(list.Body), tok.Secret) || !strings.Contains(string(list.Body), `"used"`) {
		t.Fatalf("token list: %d %s", list.Status, list.Body)
	}
	if n := e.count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner_token.list'`); n != 1 {
		t.Fatal("listing tokens was not audited")
	}
}

func TestRequestsAreCheckedAgainstTheBinding(t *testing.T) {
	asn := scannerstest.ASNDatabase(t, map[string]uint32{"127.0.0.0/8": 64500, "192.0.2.0/24": 64501})
	e := start(t, map[string]string{"MIPO_ASN_DATABASE": asn})
	reg, sc := e.scanner(t, "bound")
	var s scanners.Scanner
	e.owner.Get("/api/v1/scanners/"+reg.ScannerID).JSON(t, &s)
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
		if r := e.owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": c.binding}); r.Status != http.StatusOK {
			t.Fatalf("binding %s: %d %s", c.binding, r.Status, r.Body)
		}
		r := hb()
		if r.Status != c.status || r.ErrorCode() != c.code {
			t.Fatalf("heartbeat from 127.0.0.1 with binding %s: %d %s", c.binding, r.Status, r.Body)
		}
	}
	// A forged X-Forwarded-For changes nothing: no proxy is trusted.
	e.owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": "192.0.2.1"})
	sc.Header.Set("X-Forwarded-For", "192.0.2.1")
	wantError(t, "a forged X-Forwarded-For", hb(), http.StatusForbidden, scanners.CodeBindingMismatch)
	sc.Header.Del("X-Forwarded-For")

	for _, bad := range []string{"10.0.0.1/8", "AS0", "AS4294967296", "example.com", "0.0.0.0/0", "fe80::1%eth0", ""} {
		r := e.owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": bad})
		if r.Status != http.StatusBadRequest || r.ErrorField() != "binding" {
			t.Fatalf("binding %q: %d %s", bad, r.Status, r.Body)
		}
	}
	var after scanners.Scanner
	e.owner.Get("/api/v1/scanners/"+reg.ScannerID).JSON(t, &after)
	if after.Binding != "192.0.2.1" {
		t.Fatalf("a refused binding changed the scanner: %q", after.Binding)
	}
	if n := e.count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.request_refused' AND resource_id = $1
		AND detail->>'code' = 'binding_mismatch'`, reg.ScannerID); n < 1 {
		t.Fatal("binding refusals are not audited")
	}
	if n := e.count(t, app.DBJobs, `SELECT count(*) FROM events WHERE type = 'scanner.rejected' AND subject = $1`, reg.ScannerID); n < 1 {
		t.Fatal("binding refusals emit no event")
	}

	// A token's binding holds at registration too.
	tok := scannerstest.Provision(t, e.owner, map[string]any{"binding": "198.51.100.0/24"})
	r := apptest.NewClient(t, e.srv.URL).Post("/scanner/v1/register", map[string]any{"token": tok.Secret, "hostname": "x"})
	wantError(t, "registering from outside the token's binding", r, http.StatusForbidden, scanners.CodeBindingMismatch)
}

func TestASNBindingsNeedTheDatabase(t *testing.T) {
	e := start(t, nil)
	reg, _ := e.scanner(t, "no-asn")
	r := e.owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": "AS64500"})
	if r.Status != http.StatusBadRequest || r.ErrorCode() != "asn_database_missing" || r.ErrorField() != "binding" {
		t.Fatalf("an ASN binding without a database: %d %s", r.Status, r.Body)
	}
	r = e.owner.Post("/api/v1/scanners/tokens", map[string]any{"binding": "AS64500"})
	if r.Status != http.StatusBadRequest || r.ErrorCode() != "asn_database_missing" {
		t.Fatalf("a token with an ASN binding without a database: %d %s", r.Status, r.Body)
	}
}

func TestDisabledScannersAreRefusedAndGetNoJobs(t *testing.T) {
	e := start(t, nil)
	reg, sc := e.scanner(t, "soft")
	ctx := context.Background()
	if _, err := jobs.Create(ctx, e.srv.App.DB.Jobs, t0, jobs.New{ScanID: uuid.NewString(), Kind: jobs.KindVantage, ScannerID: reg.ScannerID,
		Targets: mustSet(t, "127.0.0.1"), Ports: portset.MustParse("1"), TimeoutMS: 500}); err != nil {
		t.Fatal(err)
	}
	r := e.owner.Post("/api/v1/scanners/"+reg.ScannerID+"/disable", nil)
	var s scanners.Scanner
	r.JSON(t, &s)
	if r.Status != http.StatusOK || s.Status != scanners.StatusDisabled {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	wantError(t, "a disabled scanner's heartbeat", sc.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1)), http.StatusForbidden, scanners.CodeDisabled)
	wantError(t, "a disabled scanner's lease", sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0}), http.StatusForbidden, scanners.CodeDisabled)
	healthy, err := scanners.Healthy(ctx, e.srv.App.DB.Config, nil)
	if err != nil || len(healthy) != 0 {
		t.Fatalf("a disabled scanner is healthy: %v %v", healthy, err)
	}
	// It keeps its key and binding: enabling it is all it takes.
	e.owner.Post("/api/v1/scanners/"+reg.ScannerID+"/enable", nil).JSON(t, &s)
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
		if n := e.count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = $1 AND resource_id = $2`, action, reg.ScannerID); n != 1 {
			t.Fatalf("%d %s audit records", n, action)
		}
	}
	var hist struct{ Items []scanners.Connection }
	e.owner.Get("/api/v1/scanners/"+reg.ScannerID+"/connections").JSON(t, &hist)
	var events []string
	for _, c := range hist.Items {
		events = append(events, c.Event)
	}
	if got := strings.Join(events, ","); got != "online,enabled,disabled,registered" {
		t.Fatalf("connection history, newest first: %s", got)
	}
}

func TestRotatingAKeyKillsTheOldOneAtOnce(t *testing.T) {
	e := start(t, nil)
	reg, old := e.scanner(t, "rotor")
	r := e.owner.Post("/api/v1/scanners/"+reg.ScannerID+"/rotate-key", nil)
	var nk scanners.NewKey
	r.JSON(t, &nk)
	if r.Status != http.StatusOK || !strings.HasPrefix(nk.APIKey, "msk_") || nk.APIKey == reg.APIKey || !strings.HasPrefix(nk.APIKey, nk.Scanner.KeyPrefix+"_") {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	wantError(t, "the old key", old.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1)), http.StatusUnauthorized, scanners.CodeInvalidKey)
	fresh := scannerstest.Scanner(t, e.srv.URL, nk.APIKey)
	if r := fresh.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1)); r.Status != http.StatusOK {
		t.Fatalf("the new key: %d %s", r.Status, r.Body)
	}
	// The key is never shown again: the scanner and its key read give only the prefix, and the
	// read is audited.
	for _, path := range []string{"/api/v1/scanners/" + reg.ScannerID, "/api/v1/scanners/" + reg.ScannerID + "/key", "/api/v1/scanners"} {
		if b := e.owner.Get(path).Body; strings.Contains(string(b), nk.APIKey) || strings.Contains(string(b), strings.TrimPrefix(nk.APIKey, nk.Scanner.KeyPrefix)) {
			t.Fatalf("%s shows the key", path)
		}
	}
	if n := e.count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.key.read' AND resource_id = $1`, reg.ScannerID); n != 1 {
		t.Fatal("reading the key was not audited")
	}
	if n := e.count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.rotate_key' AND resource_id = $1`, reg.ScannerID); n != 1 {
		t.Fatal("the rotation was not audited")
	}
	var hashed int
	e.srv.App.DB.Pool(app.DBConfig).QueryRow(context.Background(), `SELECT count(*) FROM scanners WHERE key_hash = $1 OR key_lookup = $2`,
		[]byte(nk.APIKey), nk.APIKey).Scan(&hashed)
	if hashed != 0 {
		t.Fatal("the key is stored as it is")
	}
	// Garbage in the Authorization header is a 401 too.
	old.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
	wantError(t, "no bearer key", old.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1)), http.StatusUnauthorized, scanners.CodeInvalidKey)
}

func TestScannersGoOfflineAfterTwoSilentMinutesAndComeBack(t *testing.T) {
	e := start(t, nil)
	reg, sc := e.scanner(t, "quiet")
	ctx := context.Background()
	pool, bus := e.srv.App.DB.Config, e.srv.App.Events
	if r := sc.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1000, 2000)); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
	status := func() string {
		s, err := scanners.Get(ctx, pool, reg.ScannerID)
		if err != nil {
			t.Fatal(err)
		}
		return s.Status
	}
	events := func(typ string) int {
		return e.count(t, app.DBJobs, `SELECT count(*) FROM events WHERE type = $1 AND subject = $2`, typ, reg.ScannerID)
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := scanners.CheckOffline(ctx, pool, bus, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if status() != scanners.StatusOnline || events(scanners.EventOffline) != 0 {
		t.Fatal("offline after exactly 2 minutes; the rule is more than 2 minutes")
	}
	e.clock.Advance(time.Second)
	if _, err := scanners.CheckOffline(ctx, pool, bus, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if status() != scanners.StatusOffline || events(scanners.EventOffline) != 1 {
		t.Fatalf("after 2m1s of silence: status %s, %d offline events", status(), events(scanners.EventOffline))
	}
	scanners.CheckOffline(ctx, pool, bus, e.clock.Now().Add(time.Hour))
	if events(scanners.EventOffline) != 1 {
		t.Fatal("an offline scanner went offline again")
	}
	if h, _ := scanners.Healthy(ctx, pool, []string{reg.ScannerID}); len(h) != 0 {
		t.Fatal("an offline scanner is healthy")
	}
	e.clock.Advance(10 * time.Minute)
	if r := sc.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(61000, 2000)); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
	if status() != scanners.StatusOnline || events(scanners.EventOnline) != 1 {
		t.Fatalf("after a heartbeat: status %s, %d online events", status(), events(scanners.EventOnline))
	}
	h, err := scanners.Healthy(ctx, pool, []string{reg.ScannerID})
	if err != nil || len(h) != 1 || h[0].Capacity.MaxConcurrency != 100 || h[0].Metrics == nil {
		t.Fatalf("healthy: %+v %v", h, err)
	}
	// 60,000 bytes in 12m01s.
	if r := h[0].Metrics.NetRxRate; r == nil || *r < 83 || *r > 84 {
		t.Fatalf("rx rate %v", r)
	}
	var hist struct{ Items []scanners.Connection }
	e.owner.Get("/api/v1/scanners/"+reg.ScannerID+"/connections").JSON(t, &hist)
	if len(hist.Items) != 3 || hist.Items[0].Event != "online" || hist.Items[1].Event != "offline" || hist.Items[2].Event != "registered" {
		t.Fatalf("connection history %+v", hist.Items)
	}
	var series scanners.MetricsSeries
	if r := e.owner.Get("/api/v1/scanners/" + reg.ScannerID + "/metrics?points=1000"); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	} else {
		r.JSON(t, &series)
	}
	if len(series.Points) != 2 {
		t.Fatalf("metrics series %+v", series)
	}
	var fleet scanners.FleetHealth
	e.owner.Get("/api/v1/scanners/health").JSON(t, &fleet)
	if fleet.Online != 1 || len(fleet.Scanners) != 1 || len(fleet.Scanners[0].Series) == 0 {
		t.Fatalf("fleet health %+v", fleet)
	}
	wantError(t, "a bad window", e.owner.Get("/api/v1/scanners/"+reg.ScannerID+"/metrics?from=yesterday"), http.StatusBadRequest, "invalid_time")
}

func mustSet(t *testing.T, s string) netset.Set {
	set, err := netset.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestTheJobProtocol(t *testing.T) {
	e := start(t, nil)
	reg, sc := e.scanner(t, "worker")
	_, osc := e.scanner(t, "other")
	ctx := context.Background()
	scan := uuid.NewString()
	ids, err := jobs.Create(ctx, e.srv.App.DB.Jobs, t0, jobs.New{ScanID: scan, Kind: jobs.KindVantage, ScannerID: reg.ScannerID,
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
	wantError(t, "another scanner's progress", osc.Post(base+"/progress", map[string]int{}), http.StatusGone, "job_gone")
	wantError(t, "another scanner's results", osc.Post(base+"/results", map[string]any{"batch": 1, "results": []any{}}), http.StatusGone, "job_gone")
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
	wantError(t, "a result outside the job's targets", sc.Post(base+"/results", batch(4, [2]any{"10.0.0.1", 22})), http.StatusUnprocessableEntity, "outside_job")
	wantError(t, "a result outside the job's ports", sc.Post(base+"/results", batch(4, [2]any{"127.0.0.1", 443})), http.StatusUnprocessableEntity, "outside_job")
	wantError(t, "a result that is no address", sc.Post(base+"/results", batch(4, [2]any{"localhost", 22})), http.StatusUnprocessableEntity, "invalid_address")
	wantError(t, "batch 0", sc.Post(base+"/results", batch(0)), http.StatusBadRequest, "invalid_batch")
	wantError(t, "a port that is a string", sc.Post(base+"/results", map[string]any{"batch": 5, "results": []any{map[string]any{"port": "22"}}}),
		http.StatusBadRequest, "invalid_type")
	big := make([][2]any, 5001)
	for i := range big {
		big[i] = [2]any{"127.0.0.1", 22}
	}
	wantError(t, "a batch over 5,000", sc.Post(base+"/results", batch(6, big...)), http.StatusRequestEntityTooLarge, "too_large")

	r = sc.Post(base+"/complete", map[string]any{"status": "done", "hosts_done": 2, "ports_probed": 206, "batches": 3})
	wantError(t, "complete with batch 2 missing", r, http.StatusConflict, "missing_batches")
	var missing struct {
		Error struct{ Detail struct{ Missing []int } }
	}
	r.JSON(t, &missing)
	if len(missing.Error.Detail.Missing) != 1 || missing.Error.Detail.Missing[0] != 2 {
		t.Fatalf("missing detail: %s", r.Body)
	}
	accept(batch(2, [2]any{"127.0.0.1", 8000}), false)
	wantError(t, "a bad status", sc.Post(base+"/complete", map[string]any{"status": "finished"}), http.StatusBadRequest, "invalid_status")
	for range 2 { // the second time, as after a lost answer
		if r := sc.Post(base+"/complete", map[string]any{"status": "done", "hosts_done": 2, "ports_probed": 206, "batches": 3}); r.Status != http.StatusOK {
			t.Fatalf("complete: %d %s", r.Status, r.Body)
		}
	}
	wantError(t, "progress after complete", sc.Post(base+"/progress", map[string]int{}), http.StatusGone, "job_gone")
	wantError(t, "complete as another status", sc.Post(base+"/complete", map[string]any{"status": "failed", "batches": 3}), http.StatusGone, "job_gone")
	wantError(t, "an unknown job", sc.Post("/scanner/v1/jobs/"+uuid.NewString()+"/progress", map[string]int{}), http.StatusGone, "job_gone")
	wantError(t, "a job id that is no UUID", sc.Post("/scanner/v1/jobs/nope/results", batch(1)), http.StatusGone, "job_gone")

	if n := e.count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1`, id); n != 4 {
		t.Fatalf("%d observations stored, want 4", n)
	}
	if n := e.count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1 AND address = '127.0.0.1' AND port = 80`, id); n != 1 {
		t.Fatal("an IPv4-mapped address is stored as IPv4")
	}
	var status string
	var targets []byte
	e.srv.App.DB.Pool(app.DBResults).QueryRow(ctx, `SELECT status, targets FROM job_coverage WHERE job_id = $1`, id).Scan(&status, &targets)
	if status != "done" || !strings.Contains(string(targets), "::1") {
		t.Fatalf("coverage %s %s", status, targets)
	}
	j, _ := jobs.Get(ctx, e.srv.App.DB.Jobs, id)
	if j.Status != jobs.Done || j.Batches == nil || *j.Batches != 3 {
		t.Fatalf("job after complete: %+v", j)
	}
	// The scanner list shows active jobs from the jobs database.
	var list struct{ Items []scanners.Scanner }
	e.owner.Get("/api/v1/scanners?sort=name").JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].Name != "other" || len(list.Items[1].ActiveJobs) != 0 {
		t.Fatalf("list %+v", list.Items)
	}
}

func TestAFailedJobClaimsNoCoverage(t *testing.T) {
	e := start(t, nil)
	reg, sc := e.scanner(t, "failing")
	ctx := context.Background()
	ids, err := jobs.Create(ctx, e.srv.App.DB.Jobs, t0, jobs.New{ScanID: uuid.NewString(), Kind: jobs.KindVantage, ScannerID: reg.ScannerID,
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
	e.srv.App.DB.Pool(app.DBResults).QueryRow(ctx, `SELECT targets FROM job_coverage WHERE job_id = $1`, ids[0]).Scan(&targets)
	if string(targets) != "[]" {
		t.Fatalf("a failed job's coverage is %s, want none", targets)
	}
	if e.count(t, app.DBResults, `SELECT count(*) FROM observations WHERE job_id = $1`, ids[0]) != 1 {
		t.Fatal("a failed job's partial results are kept")
	}
}

func TestLeaseWaitsThenAnswersNoContent(t *testing.T) {
	e := start(t, nil)
	_, sc := e.scanner(t, "idle")
	wantError(t, "a wait over a minute", sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 61}), http.StatusBadRequest, "invalid_wait")
	if r := sc.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 1}); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("lease with nothing queued: %d %s", r.Status, r.Body)
	}
}

func TestInstallScriptAndBinary(t *testing.T) {
	self, err := os.Executable() // any Linux executable will do as the binary handed out
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, map[string]string{"MIPO_SCANNER_BINARY": self})
	scanners.ResetCaches()
	anon := apptest.NewClient(t, e.srv.URL)
	script := anon.Get("/scanner/install.sh")
	sum := anon.Get("/scanner/download/mipo-scanner.sha256")
	bin := anon.Get("/scanner/download/mipo-scanner")
	want, _ := os.ReadFile(self)
	if bin.Status != 200 || len(bin.Body) != len(want) || bin.Header.Get("X-Checksum-Sha256") == "" {
		t.Fatalf("binary: %d, %d bytes", bin.Status, len(bin.Body))
	}
	hash := strings.Fields(string(sum.Body))[0]
	if hash != bin.Header.Get("X-Checksum-Sha256") || !strings.Contains(string(script.Body), "SHA256='"+hash+"'") ||
		!strings.Contains(string(script.Body), "SERVER='"+e.srv.URL+"'") || !strings.HasPrefix(string(script.Body), "#!/bin/sh") {
		t.Fatalf("install.sh:\n%s", script.Body)
	}
	var info scanners.InstallInfo
	e.owner.Get("/api/v1/scanners/install").JSON(t, &info)
	if info.Binary == nil || info.Binary.SHA256 != hash || info.Server != e.srv.URL || info.Pin != "" {
		t.Fatalf("install info %+v", info)
	}
	tok := scannerstest.Provision(t, e.owner, nil)
	if tok.SHA256 != hash || !strings.Contains(tok.Command, "--sha256 "+hash) || strings.Contains(tok.Command, "pinnedpubkey") {
		t.Fatalf("command %s", tok.Command)
	}
	// The public FQDN setting names the server in the command.
	e.owner.Patch("/api/v1/settings", map[string]string{"public_fqdn": "mipo.example.org"})
	tok = scannerstest.Provision(t, e.owner, nil)
	if !strings.HasPrefix(tok.Command, "curl -fsSL 'https://mipo.example.org/scanner/install.sh' | sudo sh -s -- --server 'https://mipo.example.org' --token '"+tok.Secret+"'") {
		t.Fatalf("command %s", tok.Command)
	}
}

func TestAMissingBinaryIsExplained(t *testing.T) {
	e := start(t, map[string]string{"MIPO_SCANNER_BINARY": "/nonexistent/mipo-scanner"})
	scanners.ResetCaches()
	anon := apptest.NewClient(t, e.srv.URL)
	r := anon.Get("/scanner/download/mipo-scanner")
	if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "scanner_binary_missing" || !strings.Contains(string(r.Body), "make build") {
		t.Fatalf("missing binary: %d %s", r.Status, r.Body)
	}
	script := anon.Get("/scanner/install.sh")
	if script.Status != 200 || !strings.Contains(string(script.Body), "MISSING='this mipo has no mipo-scanner binary") {
		t.Fatalf("install.sh without a binary:\n%s", script.Body)
	}
	tok := scannerstest.Provision(t, e.owner, nil)
	if tok.SHA256 != "" {
		t.Fatalf("a checksum without a binary: %+v", tok)
	}
	var raw map[string]any
	json.Unmarshal([]byte(e.owner.Get("/api/v1/scanners/install").Body), &raw)
	if raw["binary"] != nil || !strings.Contains(raw["binary_error"].(string), "/nonexistent/mipo-scanner") {
		t.Fatalf("install info %v", raw)
	}
}

func TestFirewallExportsEveryEnabledScanner(t *testing.T) {
	asn := scannerstest.ASNDatabase(t, map[string]uint32{"203.0.113.0/24": 64500, "2001:db8:ffff::/48": 64500, "127.0.0.0/8": 64501})
	e := start(t, map[string]string{"MIPO_ASN_DATABASE": asn})
	bindings := map[string]string{"edge-a": "192.0.2.10", "edge-b": "198.51.100.0/23", "edge-c": "2001:db8::/48", "edge-d": "AS64500", "edge-off": "192.0.2.99"}
	for _, name := range []string{"edge-a", "edge-b", "edge-c", "edge-d", "edge-off"} {
		reg, _ := e.scanner(t, name)
		if r := e.owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": bindings[name]}); r.Status != http.StatusOK {
			t.Fatal(r.Status, string(r.Body))
		}
		if name == "edge-off" {
			e.owner.Post("/api/v1/scanners/"+reg.ScannerID+"/disable", nil)
		}
	}
	get := func(format string) string {
		t.Helper()
		r := e.owner.Get("/api/v1/scanners/firewall?format=" + format)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", format, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "192.0.2.99") {
			t.Fatalf("%s exports a disabled scanner", format)
		}
		return string(r.Body)
	}
	ipt := get("iptables")
	for _, want := range []string{
		`iptables -A MIPO-SCANNERS -s 192.0.2.10/32 -m comment --comment "mipo scanner edge-a" -j ACCEPT`,
		`iptables -A MIPO-SCANNERS -s 198.51.100.0/23 -m comment --comment "mipo scanner edge-b" -j ACCEPT`,
		`ip6tables -A MIPO-SCANNERS -s 2001:db8::/48 -m comment --comment "mipo scanner edge-c" -j ACCEPT`,
		`iptables -A MIPO-SCANNERS -s 203.0.113.0/24 -m comment --comment "mipo scanner edge-d" -j ACCEPT`,
		`ip6tables -A MIPO-SCANNERS -s 2001:db8:ffff::/48 -m comment --comment "mipo scanner edge-d" -j ACCEPT`,
	} {
		if !strings.Contains(ipt, want) {
			t.Errorf("iptables lacks %s:\n%s", want, ipt)
		}
	}
	ngx := get("nginx")
	for _, want := range []string{"allow 192.0.2.10; # edge-a\n", "allow 198.51.100.0/23; # edge-b\n", "allow 2001:db8::/48; # edge-c\n",
		"allow 203.0.113.0/24; # edge-d\n", "allow 2001:db8:ffff::/48; # edge-d\n"} {
		if !strings.Contains(ngx, want) {
			t.Errorf("nginx lacks %q:\n%s", want, ngx)
		}
	}
	if !strings.HasSuffix(ngx, "deny all;\n") {
		t.Errorf("nginx does not end with deny all:\n%s", ngx)
	}
	var cf scanners.CloudflareExport
	if err := json.Unmarshal([]byte(get("cloudflare")), &cf); err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, r := range cf.Rules {
		values = append(values, r.Configuration.Target+":"+r.Configuration.Value)
	}
	if got := strings.Join(values, " "); got != "ip:192.0.2.10 ip_range:198.51.100.0/24 ip_range:198.51.101.0/24 ip_range:2001:db8::/48 asn:AS64500" {
		t.Errorf("cloudflare rules: %s", got)
	}
	if r := e.owner.Get("/api/v1/scanners/firewall?format=pf"); r.Status != http.StatusBadRequest || r.ErrorField() != "format" {
		t.Fatalf("an unknown format: %d %s", r.Status, r.Body)
	}
	if r := e.owner.Get("/api/v1/scanners/firewall?format=nginx&download=true"); !strings.Contains(r.Header.Get("Content-Disposition"), "mipo-scanners-nginx.conf") {
		t.Fatalf("download: %v", r.Header)
	}
	if n := e.count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.firewall_export'`); n != 4 {
		t.Fatalf("%d exports audited, want 4", n)
	}
}

func TestScannerGroups(t *testing.T) {
	e := start(t, nil)
	a, _ := e.scanner(t, "fra-1")
	b, _ := e.scanner(t, "fra-2")
	r := e.owner.Post("/api/v1/scanner-groups", map[string]any{"name": "Frankfurt DMZ", "location": "dmz-fra", "scanner_ids": []string{b.ScannerID, a.ScannerID}})
	var g scanners.Group
	r.JSON(t, &g)
	if r.Status != http.StatusCreated || len(g.Scanners) != 2 || g.Scanners[0].Name != "fra-1" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	ids, err := scanners.GroupMembers(context.Background(), e.srv.App.DB.Config, g.ID)
	if err != nil || len(ids) != 2 || ids[0] != a.ScannerID {
		t.Fatalf("members %v %v", ids, err)
	}
	wantError(t, "a taken name", e.owner.Post("/api/v1/scanner-groups", map[string]any{"name": "frankfurt dmz"}), http.StatusConflict, "name_taken")
	r = e.owner.Post("/api/v1/scanner-groups", map[string]any{"name": "x", "scanner_ids": []string{uuid.NewString()}})
	if r.Status != http.StatusBadRequest || r.ErrorField() != "scanner_ids[0]" {
		t.Fatalf("an unknown member: %d %s", r.Status, r.Body)
	}
	e.owner.Patch("/api/v1/scanner-groups/"+g.ID, map[string]any{"scanner_ids": []string{a.ScannerID}}).JSON(t, &g)
	var s scanners.Scanner
	e.owner.Get("/api/v1/scanners/"+a.ScannerID).JSON(t, &s)
	if len(g.Scanners) != 1 || len(s.Groups) != 1 || s.Groups[0].Name != "Frankfurt DMZ" {
		t.Fatalf("after update: %+v, scanner groups %+v", g, s.Groups)
	}
	var list struct{ Items []scanners.Scanner }
	e.owner.Get("/api/v1/scanners?group="+g.ID).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != a.ScannerID {
		t.Fatalf("filtered by group: %+v", list.Items)
	}
	if r := e.owner.Delete("/api/v1/scanner-groups/" + g.ID); r.Status != http.StatusNoContent {
		t.Fatal(r.Status, string(r.Body))
	}
	if _, err := scanners.GroupMembers(context.Background(), e.srv.App.DB.Config, g.ID); err == nil {
		t.Fatal("members of a deleted group")
	}
	// A token's groups are joined at registration.
	var grp scanners.Group
	e.owner.Post("/api/v1/scanner-groups", map[string]any{"name": "Berlin"}).JSON(t, &grp)
	tok := scannerstest.Provision(t, e.owner, map[string]any{"group_ids": []string{grp.ID}, "name": "ber-1"})
	reg := scannerstest.Register(t, e.srv.URL, tok.Secret, "whatever")
	e.owner.Get("/api/v1/scanners/"+reg.ScannerID).JSON(t, &s)
	if s.Name != "ber-1" || len(s.Groups) != 1 || s.Groups[0].ID != grp.ID {
		t.Fatalf("registered from a token with a group: %+v", s)
	}
}
