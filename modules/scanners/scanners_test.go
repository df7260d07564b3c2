package scanners_test

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/scanners"
	"mipo/modules/scanners/scannerstest"

	_ "mipo/modules/audit"
	_ "mipo/modules/ingest" // scanners register and report through the scanner API
	_ "mipo/modules/jobs"   // fills in jobsapi
	_ "mipo/modules/rbac"
	_ "mipo/modules/scans"
	_ "mipo/modules/settings"
)

// The scanners module's behaviour through the real server: provisioning, keys, bindings,
// presence, groups and the firewall export. (What ingest does with a request is tested in
// modules/ingest.)

func TestMain(m *testing.M) { apptest.Main(m) }

var t0 = scannerstest.T0

func TestASNBindingsNeedTheDatabase(t *testing.T) {
	e := scannerstest.Start(t, nil)
	reg, _ := e.Scanner(t, "no-asn")
	r := e.Owner.Patch("/api/v1/scanners/"+reg.ScannerID, map[string]any{"binding": "AS64500"})
	if r.Status != http.StatusBadRequest || r.ErrorCode() != "asn_database_missing" || r.ErrorField() != "binding" {
		t.Fatalf("an ASN binding without a database: %d %s", r.Status, r.Body)
	}
	r = e.Owner.Post("/api/v1/scanners/tokens", map[string]any{"binding": "AS64500"})
	if r.Status != http.StatusBadRequest || r.ErrorCode() != "asn_database_missing" {
		t.Fatalf("a token with an ASN binding without a database: %d %s", r.Status, r.Body)
	}
}

func TestRotatingAKeyKillsTheOldOneAtOnce(t *testing.T) {
	e := scannerstest.Start(t, nil)
	reg, old := e.Scanner(t, "rotor")
	r := e.Owner.Post("/api/v1/scanners/"+reg.ScannerID+"/rotate-key", nil)
	var nk scanners.NewKey
	r.JSON(t, &nk)
	if r.Status != http.StatusOK || !strings.HasPrefix(nk.APIKey, "msk_") || nk.APIKey == reg.APIKey || !strings.HasPrefix(nk.APIKey, nk.Scanner.KeyPrefix+"_") {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	scannerstest.WantError(t, "the old key", old.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1)), http.StatusUnauthorized, scanners.CodeInvalidKey)
	fresh := scannerstest.Scanner(t, e.Srv.URL, nk.APIKey)
	if r := fresh.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1)); r.Status != http.StatusOK {
		t.Fatalf("the new key: %d %s", r.Status, r.Body)
	}
	// The key is never shown again: the scanner and its key read give only the prefix, and the
	// read is audited.
	for _, path := range []string{"/api/v1/scanners/" + reg.ScannerID, "/api/v1/scanners/" + reg.ScannerID + "/key", "/api/v1/scanners"} {
		if b := e.Owner.Get(path).Body; strings.Contains(string(b), nk.APIKey) || strings.Contains(string(b), strings.TrimPrefix(nk.APIKey, nk.Scanner.KeyPrefix)) {
			t.Fatalf("%s shows the key", path)
		}
	}
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.key.read' AND resource_id = $1`, reg.ScannerID); n != 1 {
		t.Fatal("reading the key was not audited")
	}
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM audit_log WHERE action = 'scanner.rotate_key' AND resource_id = $1`, reg.ScannerID); n != 1 {
		t.Fatal("the rotation was not audited")
	}
	var hashed int
	e.Srv.App.DB.Pool(app.DBConfig).QueryRow(context.Background(), `SELECT count(*) FROM scanners WHERE key_hash = $1 OR key_lookup = $2`,
		[]byte(nk.APIKey), nk.APIKey).Scan(&hashed)
	if hashed != 0 {
		t.Fatal("the key is stored as it is")
	}
	// Garbage in the Authorization header is a 401 too.
	old.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
	scannerstest.WantError(t, "no bearer key", old.Post("/scanner/v1/heartbeat", scannerstest.Heartbeat(1, 1)), http.StatusUnauthorized, scanners.CodeInvalidKey)
}

func TestScannersGoOfflineAfterTwoSilentMinutesAndComeBack(t *testing.T) {
	e := scannerstest.Start(t, nil)
	reg, sc := e.Scanner(t, "quiet")
	ctx := context.Background()
	pool, bus := e.Srv.App.DB.ConfigDB(), e.Srv.App.Events
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
		return e.Count(t, app.DBJobs, `SELECT count(*) FROM events WHERE type = $1 AND subject = $2`, typ, reg.ScannerID)
	}
	e.Clock.Advance(2 * time.Minute)
	if _, err := scanners.CheckOffline(ctx, pool, bus, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if status() != scanners.StatusOnline || events(scanners.EventOffline) != 0 {
		t.Fatal("offline after exactly 2 minutes; the rule is more than 2 minutes")
	}
	e.Clock.Advance(time.Second)
	if _, err := scanners.CheckOffline(ctx, pool, bus, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if status() != scanners.StatusOffline || events(scanners.EventOffline) != 1 {
		t.Fatalf("after 2m1s of silence: status %s, %d offline events", status(), events(scanners.EventOffline))
	}
	scanners.CheckOffline(ctx, pool, bus, e.Clock.Now().Add(time.Hour))
	if events(scanners.EventOffline) != 1 {
		t.Fatal("an offline scanner went offline again")
	}
	if h, _ := scanners.Healthy(ctx, pool, []string{reg.ScannerID}); len(h) != 0 {
		t.Fatal("an offline scanner is healthy")
	}
	e.Clock.Advance(10 * time.Minute)
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
	e.Owner.Get("/api/v1/scanners/"+reg.ScannerID+"/connections").JSON(t, &hist)
	if len(hist.Items) != 3 || hist.Items[0].Event != "online" || hist.Items[1].Event != "offline" || hist.Items[2].Event != "registered" {
		t.Fatalf("connection history %+v", hist.Items)
	}
	var series scanners.MetricsSeries
	if r := e.Owner.Get("/api/v1/scanners/" + reg.ScannerID + "/metrics?points=1000"); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	} else {
		r.JSON(t, &series)
	}
	if len(series.Points) != 2 {
		t.Fatalf("metrics series %+v", series)
	}
	var fleet scanners.FleetHealth
	e.Owner.Get("/api/v1/scanners/health").JSON(t, &fleet)
	if fleet.Online != 1 || len(fleet.Scanners) != 1 || len(fleet.Scanners[0].Sparklines.At) == 0 {
		t.Fatalf("fleet health %+v", fleet)
	}
	scannerstest.WantError(t, "a bad window", e.Owner.Get("/api/v1/scanners/"+reg.ScannerID+"/metrics?from=yesterday"), http.StatusBadRequest, "invalid_time")
}

// A heartbeat's file-descriptor use is kept with the scanner and in its history; one that does
// not say (an older scanner) leaves them null rather than zero.
func TestHeartbeatsKeepFDUseWhenTheScannerSaysIt(t *testing.T) {
	e := scannerstest.Start(t, nil)
	reg, sc := e.Scanner(t, "fds")
	ctx := context.Background()
	beat := func(fd map[string]any) *scanners.Metrics {
		t.Helper()
		hb := scannerstest.Heartbeat(1, 1)
		maps.Copy(hb["metrics"].(map[string]any), fd)
		if r := sc.Post("/scanner/v1/heartbeat", hb); r.Status != http.StatusOK {
			t.Fatal(r.Status, string(r.Body))
		}
		h, err := scanners.Healthy(ctx, e.Srv.App.DB.ConfigDB(), []string{reg.ScannerID})
		if err != nil || len(h) != 1 {
			t.Fatalf("healthy: %+v %v", h, err)
		}
		return h[0].Metrics
	}
	if m := beat(map[string]any{"fd_open": 40, "fd_limit": 1024}); m.FDOpen == nil || *m.FDOpen != 40 || m.FDLimit == nil || *m.FDLimit != 1024 {
		t.Fatalf("fd use not kept: %+v", m)
	}
	var series scanners.MetricsSeries
	e.Owner.Get("/api/v1/scanners/"+reg.ScannerID+"/metrics").JSON(t, &series)
	if p := series.Points; len(p) != 1 || p[0].FDOpen == nil || *p[0].FDOpen != 40 || p[0].FDLimit == nil || *p[0].FDLimit != 1024 {
		t.Fatalf("fd use not in the history: %+v", series)
	}
	e.Clock.Advance(time.Hour)
	if m := beat(nil); m.FDOpen != nil || m.FDLimit != nil {
		t.Fatalf("a heartbeat without fd use: %+v", m)
	}
	if n := e.Count(t, app.DBConfig, `SELECT count(*) FROM scanner_heartbeats WHERE scanner_id = $1 AND fd_open IS NULL AND fd_limit IS NULL`, reg.ScannerID); n != 1 {
		t.Fatalf("%d heartbeats without fd use stored as null, want 1", n)
	}
}
