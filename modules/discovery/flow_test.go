package discovery

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/alarms"
	_ "mipo/modules/audit"
	_ "mipo/modules/config"
	_ "mipo/modules/ingest"
	_ "mipo/modules/jobs" // fills in jobsapi
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/results" // scans reads outcomes through resultsapi
	_ "mipo/modules/scanners"
	_ "mipo/modules/scans"
	_ "mipo/modules/settings"
)

func TestMain(m *testing.M) { apptest.Main(m) }

type fixture struct {
	t     *testing.T
	srv   *apptest.Server
	owner *apptest.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dbs := apptest.Databases(t)
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off", "MIPO_DISPATCH_INTERVAL": "1h",
		"MIPO_CONFIG_DSN": dbs.DSN("config"), "MIPO_RESULTS_DSN": dbs.DSN("results"), "MIPO_JOBS_DSN": dbs.DSN("jobs")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := apptest.Start(t, cfg, dbs, app.Options{})
	return &fixture{t: t, srv: srv, owner: rbactest.Owner(t, srv)}
}

func (f *fixture) must(r *apptest.Response, status int, v any) {
	f.t.Helper()
	if r.Status != status {
		f.t.Fatalf("got %d, want %d: %s", r.Status, status, r.Body)
	}
	if v != nil {
		r.JSON(f.t, v)
	}
}

func (f *fixture) source(body map[string]any) Source {
	var s Source
	f.must(f.owner.Post("/api/v1/discovery/sources", body), http.StatusCreated, &s)
	return s
}

func (f *fixture) run(id string, in map[string]any) Run {
	f.t.Helper()
	var r Run
	f.must(f.owner.Post("/api/v1/discovery/sources/"+id+"/run", in), http.StatusOK, &r)
	return r
}

// members lists the CIDRs of the group's subnets.
func (f *fixture) members(groupID string) []string {
	f.t.Helper()
	var g struct{ Subnets []string }
	f.must(f.owner.Get("/api/v1/subnet-groups/"+groupID), http.StatusOK, &g)
	var out []string
	for _, id := range g.Subnets {
		var s struct{ CIDR string }
		f.must(f.owner.Get("/api/v1/subnets/"+id), http.StatusOK, &s)
		out = append(out, s.CIDR)
	}
	slices.Sort(out)
	return out
}

func (f *fixture) subnetID(sourceID, cidr string) string {
	var items app.Page[Item]
	f.must(f.owner.Get("/api/v1/discovery/sources/"+sourceID+"/subnets"), http.StatusOK, &items)
	for _, it := range items.Items {
		if it.CIDR == cidr {
			return it.SubnetID
		}
	}
	f.t.Fatalf("no discovered %s", cidr)
	return ""
}

func (f *fixture) versions(subnetID string) []string {
	var v app.Page[struct{ Change, Actor string }]
	f.must(f.owner.Get("/api/v1/subnets/"+subnetID+"/versions"), http.StatusOK, &v)
	var out []string
	for _, x := range v.Items {
		out = append(out, x.Change+" by "+x.Actor)
	}
	return out
}

func (f *fixture) events(typ string) int {
	var n int
	f.srv.DBs.Jobs.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = $1`, typ).Scan(&n)
	return n
}

func csvOf(rows ...string) string { return "cidr,name\n" + strings.Join(rows, "\n") + "\n" }

func TestAddChangeRemovalFlowThroughToTheGroupWithVersions(t *testing.T) {
	f := newFixture(t)
	src := f.source(map[string]any{"name": "cmdb", "kind": "cmdb", "settings": map[string]any{"format": "csv"}})

	dry := f.run(src.ID, map[string]any{"dry_run": true, "upload": csvOf("127.0.1.0/24,a", "127.0.2.0/24,b")})
	if dry.Status != "dry_run" || len(dry.Diff.Add) != 2 || len(f.members(src.GroupID)) != 0 {
		t.Fatalf("a dry run changed something or proposed the wrong diff: %+v %v", dry, f.members(src.GroupID))
	}
	f.run(src.ID, map[string]any{"upload": csvOf("127.0.1.0/24,a", "127.0.2.0/24,b")})
	if got := f.members(src.GroupID); !slices.Equal(got, []string{"127.0.1.0/24", "127.0.2.0/24"}) {
		t.Fatalf("group after the first run: %v", got)
	}
	one, two := f.subnetID(src.ID, "127.0.1.0/24"), f.subnetID(src.ID, "127.0.2.0/24")

	r := f.run(src.ID, map[string]any{"upload": csvOf("127.0.1.0/24,renamed", "127.0.3.0/24,c")})
	if len(r.Diff.Add) != 1 || len(r.Diff.Change) != 1 || len(r.Diff.Retire) != 1 {
		t.Fatalf("diff: %+v", r.Diff)
	}
	if got := f.members(src.GroupID); !slices.Equal(got, []string{"127.0.1.0/24", "127.0.3.0/24"}) {
		t.Fatalf("group after the change: %v", got)
	}
	if v := f.versions(one); !slices.Equal(v, []string{"update by discovery", "create by discovery"}) {
		t.Fatalf("versions of the changed subnet: %v", v)
	}
	if r := f.owner.Get("/api/v1/subnets/" + two); r.Status != http.StatusNotFound {
		t.Fatalf("the retired subnet is still live: %d", r.Status)
	}
	if v := f.versions(two); len(v) != 2 || v[0] != "delete by discovery" {
		t.Fatalf("versions of the retired subnet: %v", v)
	}
	var gv app.Page[struct{ Version int }]
	f.must(f.owner.Get("/api/v1/subnet-groups/"+src.GroupID+"/versions"), http.StatusOK, &gv)
	if len(gv.Items) != 3 {
		t.Fatalf("the group has %d versions, want 3 (created, first run, change)", len(gv.Items))
	}
}

func TestPinningAndExclusionHoldAcrossRuns(t *testing.T) {
	f := newFixture(t)
	src := f.source(map[string]any{"name": "cmdb", "kind": "cmdb", "settings": map[string]any{"format": "csv"}})
	f.run(src.ID, map[string]any{"upload": csvOf("127.0.1.0/24,a", "127.0.2.0/24,b")})
	f.must(f.owner.Patch("/api/v1/discovery/sources/"+src.ID+"/subnets?cidr=127.0.1.0/24", map[string]any{"state": "pinned"}), http.StatusOK, nil)
	f.must(f.owner.Patch("/api/v1/discovery/sources/"+src.ID+"/subnets?cidr=127.0.2.0/24", map[string]any{"state": "excluded"}), http.StatusOK, nil)
	if got := f.members(src.GroupID); !slices.Equal(got, []string{"127.0.1.0/24"}) {
		t.Fatalf("excluding did not take the subnet out: %v", got)
	}
	for range 2 { // the source drops the pinned subnet and still reports the excluded one
		r := f.run(src.ID, map[string]any{"upload": csvOf("127.0.2.0/24,b", "127.0.9.0/24,new")})
		if got := f.members(src.GroupID); !slices.Equal(got, []string{"127.0.1.0/24", "127.0.9.0/24"}) {
			t.Fatalf("after a run: %v (diff %+v)", got, r.Diff)
		}
	}
}

func TestAFailedSourceEmitsTheEventAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	src := f.source(map[string]any{"name": "cmdb", "kind": "cmdb", "settings": map[string]any{"format": "csv"}})
	f.run(src.ID, map[string]any{"upload": csvOf("127.0.1.0/24,a")})

	r := f.run(src.ID, map[string]any{"upload": csvOf("127.0.5.0/24,new", "127.0.6.300/24,bad")})
	if r.Status != "failed" || len(r.RowErrors) != 1 || r.RowErrors[0].Line != 3 || r.RowErrors[0].Column != "cidr" {
		t.Fatalf("a partial export applied without consent: %+v", r)
	}
	if got := f.members(src.GroupID); !slices.Equal(got, []string{"127.0.1.0/24"}) {
		t.Fatalf("a failed run changed the group: %v", got)
	}
	apptest.WaitFor(t, 10*time.Second, "discovery.failed", func() bool { return f.events(EventFailed) == 1 })
	apptest.WaitFor(t, 20*time.Second, "the discovery alarm", func() bool { return f.alarmState(src.ID) == "open" })

	r = f.run(src.ID, map[string]any{"upload": csvOf("127.0.5.0/24,new", "127.0.6.300/24,bad"), "accept_partial": true})
	if r.Status != "applied" {
		t.Fatalf("accepted partial import: %+v", r)
	}
	if got := f.members(src.GroupID); !slices.Equal(got, []string{"127.0.5.0/24"}) {
		t.Fatalf("the good rows were not applied: %v", got)
	}
	apptest.WaitFor(t, 10*time.Second, "discovery.recovered", func() bool { return f.events(EventRecovered) == 1 })
	apptest.WaitFor(t, 20*time.Second, "the discovery alarm resolved", func() bool { return f.alarmState(src.ID) == "resolved" })
}

// alarmState is the state of the alarms module's alarm about a source, "" when there is none.
func (f *fixture) alarmState(sourceID string) string {
	var page struct {
		Items []struct{ Subject, State string }
	}
	f.must(f.owner.Get("/api/v1/alarms?rule=discovery.source.failed"), http.StatusOK, &page)
	for _, a := range page.Items {
		if a.Subject == sourceID {
			return a.State
		}
	}
	return ""
}

// scanner registers a scanner as mipo-scanner would.
func (f *fixture) scanner() string {
	var tok struct{ Secret string }
	f.must(f.owner.Post("/api/v1/scanners/tokens", map[string]any{"name": "s1"}), http.StatusCreated, &tok)
	c := apptest.NewClient(f.t, f.srv.URL)
	var reg struct {
		ScannerID string `json:"scanner_id"`
	}
	f.must(c.Post("/scanner/v1/register", map[string]any{"token": tok.Secret, "hostname": "s1", "version": "test",
		"capacity": map[string]int{"max_concurrency": 10, "max_rate": 100, "fd_limit": 1024}}), http.StatusOK, &reg)
	return reg.ScannerID
}

func TestAScanLaunchedAfterADiscoveryRunCoversTheNewSubnet(t *testing.T) {
	f := newFixture(t)
	src := f.source(map[string]any{"name": "cmdb", "kind": "cmdb", "settings": map[string]any{"format": "csv"}})
	f.run(src.ID, map[string]any{"upload": csvOf("127.0.1.0/24,a")})
	var list struct{ ID string }
	f.must(f.owner.Post("/api/v1/port-lists", map[string]any{"name": "discovered-web", "ports": "80"}), http.StatusCreated, &list)
	var tmpl struct{ ID string }
	f.must(f.owner.Post("/api/v1/templates", map[string]any{"name": "discovered", "subnet_groups": []string{src.GroupID},
		"port_lists": []string{list.ID}, "scanners": map[string]any{"mode": "pool", "scanner_ids": []string{f.scanner()}},
		"timing": map[string]any{"rate_limit": 0, "timeout_ms": 500, "retries": 1, "max_duration_seconds": 600}}), http.StatusCreated, &tmpl)

	launch := func() string {
		var l struct{ Items []struct{ ID string } }
		f.must(f.owner.Post("/api/v1/scans", map[string]any{"template_id": tmpl.ID}), http.StatusCreated, &l)
		return string(f.owner.Get("/api/v1/scans/" + l.Items[0].ID).Body)
	}
	before := launch()
	f.run(src.ID, map[string]any{"upload": csvOf("127.0.1.0/24,a", "127.0.4.0/24,new")})
	after := launch()
	if strings.Contains(before, "127.0.4.0") || !strings.Contains(after, "127.0.4.0") {
		t.Fatalf("frozen scopes: before %s\nafter %s", before, after)
	}
	if !strings.Contains(after, `"addresses":"512"`) || !strings.Contains(before, `"addresses":"256"`) {
		t.Fatalf("address counts: before %s\nafter %s", before, after)
	}
}

func TestCredentialsAreSealedAndReadingThemIsAudited(t *testing.T) {
	f := newFixture(t)
	src := f.source(map[string]any{"name": "nb", "kind": "netbox", "secret": "tok-123", "settings": map[string]any{"url": "https://netbox.example"}})
	var raw string
	f.srv.DBs.Config.QueryRow(context.Background(), `SELECT secret FROM discovery_sources WHERE id = $1`, src.ID).Scan(&raw)
	if raw == "" || strings.Contains(raw, "tok-123") {
		t.Fatalf("the secret is stored as %q", raw)
	}
	var c Credentials
	f.must(f.owner.Get("/api/v1/discovery/sources/"+src.ID+"/credentials"), http.StatusOK, &c)
	if c.Secret != "tok-123" {
		t.Fatalf("credentials: %+v", c)
	}
	var n int
	f.srv.DBs.Config.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE resource_id = $1 AND action = 'discovery_source.credentials.read'`, src.ID).Scan(&n)
	if n == 0 {
		t.Fatal("reading the credentials left no audit record")
	}
	if r := f.owner.Post("/api/v1/discovery/sources", map[string]any{"name": "x", "kind": "aws", "settings": map[string]any{"access_key_id": "A"}}); r.Status != http.StatusBadRequest || r.ErrorField() != "settings.regions" {
		t.Fatalf("bad source: %d %s", r.Status, r.Body)
	}
	_ = fmt.Sprint
}

func TestANetBoxThatStopsAnsweringChangesNothing(t *testing.T) {
	f := newFixture(t)
	var broken atomic.Bool
	nb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "down for maintenance", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/ipam/prefixes/" {
			fmt.Fprint(w, `{"count":1,"next":null,"previous":null,"results":[{"id":1,"prefix":"127.0.20.0/24","tags":[]}]}`)
			return
		}
		fmt.Fprint(w, `{"count":0,"next":null,"previous":null,"results":[]}`)
	}))
	defer nb.Close()
	src := f.source(map[string]any{"name": "nb", "kind": "netbox", "settings": map[string]any{"url": nb.URL}})
	if r := f.run(src.ID, map[string]any{}); r.Status != "applied" {
		t.Fatalf("first run: %+v", r)
	}
	broken.Store(true)
	r := f.run(src.ID, map[string]any{})
	if r.Status != "failed" || !strings.Contains(r.Error, "502") {
		t.Fatalf("run against a broken NetBox: %+v", r)
	}
	if got := f.members(src.GroupID); !slices.Equal(got, []string{"127.0.20.0/24"}) {
		t.Fatalf("a failed run changed the group: %v", got)
	}
	apptest.WaitFor(t, 10*time.Second, "discovery.failed", func() bool { return f.events(EventFailed) == 1 })
}
