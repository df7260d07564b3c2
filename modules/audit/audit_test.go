package audit_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/audit"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func start(t testing.TB) (*apptest.Server, *apptest.Client) {
	t.Helper()
	dbs := apptest.Databases(t)
	srv := apptest.Start(t, apptest.Config(t, dbs, app.RoleManager), dbs, app.Options{})
	return srv, rbactest.Owner(t, srv)
}

type page struct {
	Items      []audit.AuditRecord `json:"items"`
	NextCursor string              `json:"next_cursor"`
}

func TestEveryChangeIsRecordedWithItsDiffAndSecretsMasked(t *testing.T) {
	srv, owner := start(t)
	r := owner.Post("/api/v1/users", map[string]any{"username": "erin", "display_name": "Erin", "password": "first-secret-passphrase"})
	var u struct{ ID string }
	r.JSON(t, &u)
	owner.Patch("/api/v1/users/"+u.ID, map[string]any{"display_name": "Erin B.", "password": "second-secret-passphrase"})

	var p page
	owner.Get("/api/v1/audit?resource_type=user&resource_id="+u.ID).JSON(t, &p)
	if len(p.Items) != 2 || p.Items[0].Action != "user.update" || p.Items[1].Action != "user.create" {
		t.Fatalf("want update then create, got %+v", p.Items)
	}
	upd := p.Items[0]
	if upd.Actor.Kind != "user" || upd.Actor.Name != "owner" || upd.SourceIP != "127.0.0.1" || upd.UserAgent == "" || upd.Outcome != "success" {
		t.Fatalf("actor and origin not recorded: %+v", upd)
	}
	found := false
	for _, d := range upd.Diff {
		if d.Field == "display_name" && d.Old == "Erin" && d.New == "Erin B." {
			found = true
		}
	}
	if !found {
		t.Fatalf("the diff lacks display_name Erin → Erin B.: %+v", upd.Diff)
	}
	raw := owner.Get("/api/v1/audit?limit=500").Body
	if strings.Contains(string(raw), "passphrase") {
		t.Fatal("a password reached the audit log")
	}
	// Filters: action prefix, outcome, time window, actor.
	owner.Get("/api/v1/audit?action=user.*&actor=owner").JSON(t, &p)
	for _, it := range p.Items {
		if !strings.HasPrefix(it.Action, "user.") {
			t.Fatalf("action prefix filter let %s through", it.Action)
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	owner.Get("/api/v1/audit?from="+future).JSON(t, &p)
	if len(p.Items) != 0 {
		t.Fatal("a time window in the future found records")
	}
	if r := owner.Get("/api/v1/audit?from=yesterday"); r.Status != http.StatusBadRequest || r.ErrorField() != "from" {
		t.Fatalf("a bad time: %d %s", r.Status, r.Body)
	}
	if r := owner.Get("/api/v1/audit?outcome=maybe"); r.ErrorField() != "outcome" {
		t.Fatalf("a bad outcome: %d %s", r.Status, r.Body)
	}
	_ = srv
}

func TestKeysetPagination(t *testing.T) {
	_, owner := start(t)
	for i := 0; i < 7; i++ {
		owner.Post("/api/v1/roles", map[string]any{"name": "r" + string(rune('a'+i)), "scopes": []string{}})
	}
	seen := map[int64]bool{}
	cursor := ""
	for pages := 0; pages < 20; pages++ {
		var p page
		owner.Get("/api/v1/audit?action=role.create&limit=3&cursor="+cursor).JSON(t, &p)
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("record %d on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 10 { // 3 built-in roles created at start + 7
		t.Fatalf("paged through %d role.create records, want 10", len(seen))
	}
}

func TestTheApplicationRoleCannotRewriteTheLog(t *testing.T) {
	srv, _ := start(t)
	ctx := context.Background()
	for _, stmt := range []string{
		`UPDATE audit_log SET action = 'nothing.happened'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		if _, err := srv.DBs.Config.Exec(ctx, stmt); err == nil {
			t.Fatalf("mipo's own database role ran %q", stmt)
		}
	}
	// Even a superuser is stopped by the trigger while it is enabled.
	su, err := pgx.Connect(ctx, apptest.SuperuserDSN(srv.DBs.Names["config"]))
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close(ctx)
	if _, err := su.Exec(ctx, `DELETE FROM audit_log`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("the trigger did not refuse a superuser's DELETE: %v", err)
	}
}

func TestVerifyNamesTheFirstAlteredRecord(t *testing.T) {
	srv, owner := start(t)
	for i := 0; i < 5; i++ {
		owner.Post("/api/v1/roles", map[string]any{"name": "role" + string(rune('a'+i)), "scopes": []string{}})
	}
	var v audit.Verification
	owner.Get("/api/v1/audit/verify").JSON(t, &v)
	if !v.OK || v.Checked < 8 {
		t.Fatalf("an untouched log must verify: %+v", v)
	}
	ctx := context.Background()
	su, err := pgx.Connect(ctx, apptest.SuperuserDSN(srv.DBs.Names["config"]))
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close(ctx)
	var victim int64
	su.QueryRow(ctx, `SELECT id FROM audit_log WHERE action = 'role.create' AND detail = '{}' ORDER BY id DESC OFFSET 2 LIMIT 1`).Scan(&victim)
	// A superuser switches the trigger off and edits bytes of one record.
	if _, err := su.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := su.Exec(ctx, `UPDATE audit_log SET diff = jsonb_set(diff, '{0,new}', '"tampered"') WHERE id = $1`, victim); err != nil {
		t.Fatal(err)
	}
	owner.Get("/api/v1/audit/verify").JSON(t, &v)
	if v.OK || v.FirstBadID == nil || *v.FirstBadID != victim {
		t.Fatalf("verify must name record %d, got %+v", victim, v)
	}
	// Removing a record is caught at the record after it.
	var last int64
	su.QueryRow(ctx, `SELECT max(id) FROM audit_log`).Scan(&last)
	su.Exec(ctx, `DELETE FROM audit_log WHERE id = $1`, victim)
	v, err = audit.Verify(ctx, srv.DBs.Config)
	if err != nil || v.OK || *v.FirstBadID <= victim || *v.FirstBadID > last {
		t.Fatalf("a removed record must break the chain after it: %+v %v", v, err)
	}
	// `mipo audit verify` says the same and fails.
	cmd := app.NewCLI()
	cmd.SetArgs([]string{"audit", "verify", "--data-dir", t.TempDir(), "--config-dsn", srv.DBs.DSN("config"),
		"--results-dsn", srv.DBs.DSN("results"), "--jobs-dsn", srv.DBs.DSN("jobs")})
	cmd.SetOut(&strings.Builder{})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "broken at record") {
		t.Fatalf("mipo audit verify: %v", err)
	}
}

func TestARequestWhoseAuditRecordFailsChangesNothing(t *testing.T) {
	srv, owner := start(t)
	ctx := context.Background()
	su, err := pgx.Connect(ctx, apptest.SuperuserDSN(srv.DBs.Names["config"]))
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close(ctx)
	if _, err := su.Exec(ctx, `REVOKE INSERT ON audit_log FROM mipo`); err != nil {
		t.Fatal(err)
	}
	r := owner.Post("/api/v1/roles", map[string]any{"name": "unrecorded", "scopes": []string{}})
	if r.Status != http.StatusInternalServerError || r.ErrorCode() != "internal" {
		t.Fatalf("a change whose record cannot be written answered %d %s", r.Status, r.Body)
	}
	var n int
	srv.DBs.Config.QueryRow(ctx, `SELECT count(*) FROM roles WHERE name = 'unrecorded'`).Scan(&n)
	if n != 0 {
		t.Fatal("the change was kept without its audit record")
	}
}

func TestConcurrentWritersKeepTheChainIntact(t *testing.T) {
	srv, owner := start(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				owner.Post("/api/v1/roles", map[string]any{"name": "c" + string(rune('a'+i)) + string(rune('a'+j)), "scopes": []string{}})
			}
		}()
	}
	wg.Wait()
	v, err := audit.Verify(context.Background(), srv.DBs.Config)
	if err != nil || !v.OK {
		t.Fatalf("concurrent writers broke the chain: %+v %v", v, err)
	}
}

func TestExportJSONLAndCSV(t *testing.T) {
	_, owner := start(t)
	owner.Post("/api/v1/roles", map[string]any{"name": "exported", "scopes": []string{"audit:view"}})
	r := owner.Get("/api/v1/audit/export?format=jsonl&action=role.create")
	if r.Status != 200 || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", r.Status, r.Header)
	}
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	var last audit.AuditRecord
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Action != "role.create" || len(lines) != 4 {
		t.Fatalf("jsonl export of role.create: %d lines, last %+v (%v)", len(lines), last, err)
	}
	r = owner.Get("/api/v1/audit/export?format=csv&action=role.create")
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][8] != "action" || rows[4][8] != "role.create" {
		t.Fatalf("csv export: %v rows, err %v", len(rows), err)
	}
	if r := owner.Get("/api/v1/audit/export?format=xml"); r.ErrorField() != "format" {
		t.Fatalf("an unknown format: %d %s", r.Status, r.Body)
	}
	var p page
	owner.Get("/api/v1/audit?action=audit.export").JSON(t, &p)
	if len(p.Items) < 2 {
		t.Fatal("exports are not recorded")
	}
}

// An export of 100,000 records streams: the server's heap stays flat while tens of megabytes
// go out.
func TestExportOfAHundredThousandRecordsStreamsWithFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 100,000 records")
	}
	srv, owner := start(t)
	ctx := context.Background()
	filler := strings.Repeat("x", 600)
	_, err := srv.DBs.Config.Exec(ctx, `
		INSERT INTO audit_log (id, at, actor_kind, action, outcome, detail, prev_hash, hash)
		SELECT nextval('audit_log_id_seq'), now(), 'system', 'bulk.test', 'success', jsonb_build_object('filler', $1::text, 'n', g), '\x00', '\x00'
		FROM generate_series(1, 100000) g`, filler)
	if err != nil {
		t.Fatal(err)
	}
	// Collect garbage eagerly, so the heap measures what the export holds on to, not what it
	// has dropped and the collector has not yet taken.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	req, _ := http.NewRequest(http.MethodGet, owner.Base+"/api/v1/audit/export?format=jsonl&action=bulk.test", nil)
	for k, v := range owner.Header {
		req.Header[k] = v
	}
	res, err := owner.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	lines, bytes := 0, 0
	for sc.Scan() {
		lines++
		bytes += len(sc.Bytes())
	}
	res.Body.Close()
	close(stop)
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("exported %d records, %d MB; heap grew by at most %.1f MB", lines, bytes>>20, float64(grew)/(1<<20))
	if lines != 100000 {
		t.Fatalf("exported %d records, want 100000", lines)
	}
	if grew > 24<<20 || bytes < 60<<20 {
		t.Fatalf("the export is not streamed: %d MB sent, heap grew %d MB", bytes>>20, grew>>20)
	}
}

func FuzzQueryFilters(f *testing.F) {
	f.Add("owner", "user.*", "user", "success", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
	f.Add("", "%_\\*", "", "maybe", "yesterday", "")
	f.Fuzz(func(t *testing.T, actor, action, resource, outcome, from, to string) {
		q := audit.Query{Actor: actor, Action: action, ResourceType: resource, Outcome: outcome, From: from, To: to}
		if err := audit.CheckQuery(q); err != nil {
			if e, ok := err.(*app.Error); !ok || e.Status != 400 || e.Field == "" {
				t.Fatalf("a bad filter must be a 400 naming its field: %#v", err)
			}
		}
	})
}

func BenchmarkAuditInsert(b *testing.B) {
	dbs := apptest.Databases(b)
	ctx := app.WithPrincipal(context.Background(), app.System("bench"))
	before := map[string]any{"name": "a", "scopes": []string{"x:y"}}
	after := map[string]any{"name": "b", "scopes": []string{"x:y", "z:w"}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := audit.RecordNow(ctx, dbs.ConfigDB(), audit.Entry{Action: "bench.update", ResourceType: "bench", ResourceID: "1", Before: before, After: after}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
