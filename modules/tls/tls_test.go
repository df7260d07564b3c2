package tls

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/ingest"
	_ "mipo/modules/jobs" // fills in jobsapi
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/scanners" // fills in scannersapi
	"mipo/modules/scanners/scannerstest"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// start runs mipo (all roles) with TLS on, so the tls module manages a served certificate.
func start(t *testing.T, clock app.Clock) (*apptest.Server, *apptest.Client) {
	t.Helper()
	dbs := apptest.Databases(t)
	cfg := apptest.Config(t, dbs)
	cfg.TLS = true
	srv := apptest.Start(t, cfg, dbs, app.Options{Clock: clock})
	return srv, rbactest.Owner(t, srv)
}

func overview(t *testing.T, c *apptest.Client) Overview {
	t.Helper()
	var o Overview
	r := c.Get("/api/v1/tls")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/tls: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &o)
	return o
}

// An upload is checked, stored, audited and served at once; a refused one changes nothing.
func TestUploadReplacesTheServedCertificate(t *testing.T) {
	srv, owner := start(t, nil)
	before := overview(t, owner)
	if before.Active == nil || before.Active.Source != "self-signed" || !before.Active.SelfSigned || before.HSTS {
		t.Fatalf("at start: %+v", before)
	}
	ca := newTestCA(t)
	if r := owner.Patch("/api/v1/settings", map[string]string{"public_fqdn": "mipo.example.test"}); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
	bad, badKey := ca.leaf(t, time.Now(), "other.example.test")
	r := owner.Post("/api/v1/tls/certificate", Upload{Certificate: pemChain(bad, ca.inter, ca.root), Key: badKey})
	if r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "name_mismatch" || r.ErrorField() != "certificate" {
		t.Fatalf("a certificate for another name: %d %s", r.Status, r.Body)
	}

	// The chain carries its root: complete without the test CA among the system roots.
	leaf, key := ca.leaf(t, time.Now(), "mipo.example.test")
	r = owner.Post("/api/v1/tls/certificate", Upload{Certificate: pemChain(leaf, ca.inter, ca.root), Key: key})
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	after := overview(t, owner)
	if after.Active == nil || after.Active.Source != "uploaded" || after.Active.SelfSigned || !after.HSTS ||
		after.Active.Serial != leaf.SerialNumber.Text(16) {
		t.Fatalf("after the upload: %+v", after.Active)
	}
	if len(after.Certificates) != 2 || len(after.Active.Chain) != 3 {
		t.Fatalf("history %d, chain %d", len(after.Certificates), len(after.Active.Chain))
	}
	served := srv.App.Config.Certificate.Load()
	if served == nil || served.Leaf == nil || served.Leaf.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatal("the listener does not serve the uploaded certificate")
	}
	var audit struct{ Items []struct{ Action string } }
	owner.Get("/api/v1/audit?action=tls.certificate.upload").JSON(t, &audit)
	found := false
	for _, it := range audit.Items {
		found = found || it.Action == "tls.certificate.upload"
	}
	if !found {
		t.Fatalf("no audit record of the upload: %+v", audit.Items)
	}
}

func serviceOf(t *testing.T, srv *apptest.Server) *Service {
	t.Helper()
	s, ok := running.Load(srv.App.Config)
	if !ok {
		t.Fatal("the tls module is not running")
	}
	return s.(*Service)
}

// A changed FQDN re-signs the self-signed certificate for it, on the same key: the pin, and so
// every provisioned scanner, stays valid.
func TestSelfSignedFollowsTheFQDNAndKeepsThePin(t *testing.T) {
	srv, owner := start(t, nil)
	before := overview(t, owner)
	if r := owner.Patch("/api/v1/settings", map[string]string{"public_fqdn": "scan.example.test:8443"}); r.Status != http.StatusOK {
		t.Fatal(r.Status, string(r.Body))
	}
	if err := serviceOf(t, srv).FollowFQDN(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := overview(t, owner)
	if after.Active.ID == before.Active.ID || after.Active.Pin != before.Active.Pin || !strings.Contains(strings.Join(after.Active.Names, " "), "scan.example.test") {
		t.Fatalf("before %+v\nafter %+v", before.Active, after.Active)
	}
	if err := serviceOf(t, srv).FollowFQDN(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again := overview(t, owner); again.Active.ID != after.Active.ID {
		t.Fatal("re-signed although the certificate already covers the FQDN")
	}
}

// The expiry events go out once each: 14 days ahead and at expiry.
func TestExpiryEventsAt14DaysAndAtExpiry(t *testing.T) {
	clock := app.NewFakeClock(time.Now())
	srv, owner := start(t, clock)
	o := overview(t, owner)
	s := serviceOf(t, srv)
	count := func(typ string) (n int) {
		srv.App.DB.Jobs.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = $1 AND payload->>'certificate_id' = $2`, typ, o.Active.ID).Scan(&n)
		return
	}
	check := func(at time.Time, expiring, expired int) {
		t.Helper()
		clock.Set(at)
		for range 2 {
			if err := s.CheckExpiry(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if count(EventExpiring) != expiring || count(EventExpired) != expired {
			t.Fatalf("at %s: %d expiring, %d expired events", at, count(EventExpiring), count(EventExpired))
		}
	}
	check(o.Active.NotAfter.Add(-15*24*time.Hour), 0, 0)
	check(o.Active.NotAfter.Add(-13*24*time.Hour), 1, 0)
	check(o.Active.NotAfter.Add(time.Minute), 1, 1)
}

// The scanner page's question: which scanners hold a pin no longer served. Re-signing for a
// new FQDN keeps the key, so it strands nobody; a move to another certificate does.
func TestStalePinsNameTheScannersLeftBehind(t *testing.T) {
	srv, owner := start(t, nil)
	stale := func() StalePins {
		t.Helper()
		var out StalePins
		r := owner.Get("/api/v1/tls/stale-pins")
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r.JSON(t, &out)
		return out
	}
	tok := scannerstest.Provision(t, owner, map[string]any{"name": "pinned-scanner"})
	reg := scannerstest.Register(t, srv.URL, tok.Secret, "host-1")
	if got := stale(); len(got.Items) != 0 || got.CurrentPin == "" {
		t.Fatalf("right after registration: %+v", got)
	}
	setFQDN(t, owner, "renamed.example.test")
	if err := serviceOf(t, srv).FollowFQDN(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := stale(); len(got.Items) != 0 {
		t.Fatalf("after a rename on the same key: %+v", got)
	}
	ca := newTestCA(t)
	leaf, key := ca.leaf(t, time.Now(), "renamed.example.test")
	if r := owner.Post("/api/v1/tls/certificate", Upload{Certificate: pemChain(leaf, ca.inter, ca.root), Key: key}); r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	got := stale()
	if len(got.Items) != 1 || got.Items[0].ScannerID != reg.ScannerID || got.CurrentPin != "" || got.Items[0].Pin != tok.Pin {
		t.Fatalf("after the switch: %+v (token pin %s)", got, tok.Pin)
	}
}

// An ingest node run as its own process serves the certificate the manager stores.
func TestAnIngestNodeFollowsTheStoredCertificate(t *testing.T) {
	dbs := apptest.Databases(t)
	mcfg := apptest.Config(t, dbs, app.RoleManager)
	mcfg.TLS = true
	manager := apptest.Start(t, mcfg, dbs, app.Options{})
	owner := rbactest.Owner(t, manager)
	icfg := apptest.Config(t, dbs, app.RoleIngest)
	icfg.TLS = true
	icfg.SecretKey = mcfg.SecretKey // one .mipo.env for every process, as compose shares it
	ingest := apptest.Start(t, icfg, dbs, app.Options{})
	if got, want := ingest.App.Config.Certificate.Load(), manager.App.Config.Certificate.Load(); got == nil || got.Leaf.SerialNumber.Cmp(want.Leaf.SerialNumber) != 0 {
		t.Fatal("the ingest node does not serve the stored certificate at start")
	}
	ca := newTestCA(t)
	leaf, key := ca.leaf(t, time.Now(), "ingest.example.test")
	if r := owner.Post("/api/v1/tls/certificate", Upload{Certificate: pemChain(leaf, ca.inter, ca.root), Key: key}); r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	if err := serviceOf(t, ingest).Reload(context.Background()); err != nil { // what its job does every 10 s
		t.Fatal(err)
	}
	if got := ingest.App.Config.Certificate.Load(); got.Leaf.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatal("the ingest node still serves the old certificate")
	}
}
