package findings

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/alarms"
	_ "mipo/modules/audit"
	_ "mipo/modules/config"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	"mipo/modules/results"
	_ "mipo/modules/scans"
	_ "mipo/modules/settings"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// fixture is a mipo process (the roles given) on fresh databases, with a clock the test moves
// and the module's service for the test to call as the event bus would.
type fixture struct {
	t       testing.TB
	srv     *apptest.Server
	owner   *apptest.Client
	clock   *app.FakeClock
	svc     *Service
	scanner string
}

func newFixture(t testing.TB, roles string) *fixture {
	t.Helper()
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off", "MIPO_ROLE": roles,
		"MIPO_SESSION_IDLE": "720h", "MIPO_SESSION_MAX": "720h",
		"MIPO_CONFIG_DSN": dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": dbs.DSN("jobs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := app.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	srv := apptest.Start(t, cfg, dbs, app.Options{Clock: clock})
	svc := &Service{Config: srv.App.DB.ConfigDB(), Results: srv.App.DB.ResultsDB(), Events: srv.App.Events, Clock: clock, Log: srv.App.Log}
	return &fixture{t: t, srv: srv, owner: rbactest.Owner(t, srv), clock: clock, svc: svc, scanner: uuid.NewString()}
}

// baseline creates a baseline through the API.
func (f *fixture) baseline(body map[string]any) Baseline {
	f.t.Helper()
	r := f.owner.Post("/api/v1/baselines", body)
	if r.Status != http.StatusCreated {
		f.t.Fatalf("baseline: %d %s", r.Status, r.Body)
	}
	var b Baseline
	r.JSON(f.t, &b)
	return b
}

// scanResults stores a finished scan's results as ingest would: the open ports ("10.0.0.1:22")
// and what its one job covered (targets and ports). It returns the scan's id.
func (f *fixture) scanResults(targets, ports string, open ...string) string {
	f.t.Helper()
	ctx := context.Background()
	scanID, jobID := uuid.NewString(), uuid.NewString()
	f.clock.Advance(time.Minute)
	now := f.clock.Now()
	var obs []results.Observation
	for _, o := range open {
		host, port, _ := strings.Cut(o, ":")
		p, _ := strconv.Atoi(port)
		obs = append(obs, results.Observation{Address: netip.MustParseAddr(host), Port: uint16(p), ObservedAt: now})
	}
	if len(obs) > 0 {
		if _, err := results.Insert(ctx, f.svc.Results, results.Batch{JobID: jobID, ScanID: scanID, ScannerID: f.scanner, Seq: 1, Observations: obs}, now); err != nil {
			f.t.Fatal(err)
		}
	}
	ts, err := netset.Parse(targets)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := results.RecordCoverage(ctx, f.svc.Results, results.Coverage{JobID: jobID, ScanID: scanID, ScannerID: f.scanner,
		Targets: ts, Ports: portset.MustParse(ports), Status: "done", CompletedAt: now}); err != nil {
		f.t.Fatal(err)
	}
	return scanID
}

// judge evaluates a scan as the event bus's handler does.
func (f *fixture) judge(scanID string) *Outcome {
	f.t.Helper()
	out, err := f.svc.EvaluateScan(context.Background(), scanID)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// findings lists findings matching a query string through the API.
func (f *fixture) findings(query string) FindingsPage {
	f.t.Helper()
	r := f.owner.Get("/api/v1/findings?" + query)
	if r.Status != http.StatusOK {
		f.t.Fatalf("findings?%s: %d %s", query, r.Status, r.Body)
	}
	var p FindingsPage
	r.JSON(f.t, &p)
	return p
}

func (f *fixture) one(query string) *Finding {
	f.t.Helper()
	p := f.findings(query)
	if len(p.Items) != 1 {
		f.t.Fatalf("findings?%s: want 1, got %d: %s", query, len(p.Items), describe(p.Items))
	}
	return p.Items[0]
}

func describe(fs []*Finding) string {
	var parts []string
	for _, x := range fs {
		parts = append(parts, fmt.Sprintf("%s:%d#%d %s", x.Address, x.Port, x.Occurrence, x.State))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (f *fixture) auditCount(action, resourceID string) int {
	f.t.Helper()
	var n int
	if err := f.svc.Config.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1 AND resource_id = $2`, action, resourceID).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func parseSet(s string) (netset.Set, error) { return netset.Parse(s) }
