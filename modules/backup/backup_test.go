package backup

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/audit"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// testAuditKey keys the audit records tests write, as MIPO_AUDIT_KEY keys a process's.
var testAuditKey = []byte("0123456789abcdef0123456789abcdef")

func verifyAudit(t testing.TB, dbs *app.Databases) audit.Verification {
	t.Helper()
	v, err := audit.Verify(context.Background(), audit.Chain{Config: dbs.Config, Jobs: dbs.Jobs, Key: testAuditKey})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newService(t testing.TB, dbs *app.Databases) *Service {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	k, err := NewKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	return &Service{DB: dbs, Keys: k, Dir: t.TempDir(), Install: "test-install", AuditKey: testAuditKey}
}

// newOwnedService is newService with the test databases' owner for restores, as mipo has it.
func newOwnedService(t testing.TB, dbs *apptest.DBs) *Service {
	t.Helper()
	s := newService(t, dbs.Databases)
	s.OpenOwner = func(ctx context.Context) (*app.Databases, func(), error) {
		owner, err := app.OpenDatabases(ctx, dbs.OwnerDSN(app.DBConfig), dbs.OwnerDSN(app.DBResults), dbs.OwnerDSN(app.DBJobs))
		if err != nil {
			return nil, nil, err
		}
		return owner, owner.Close, nil
	}
	return s
}

// seed writes audit records (the config database's chain) and observations.
func seed(t testing.TB, dbs *app.Databases, records, observations int, at time.Time) {
	t.Helper()
	ctx := app.WithAuditKey(context.Background(), testAuditKey)
	for i := range records {
		if err := audit.RecordNow(ctx, dbs.ConfigDB(), audit.Entry{Action: "test.seed", ResourceType: "test", ResourceID: fmt.Sprint(i),
			After: map[string]any{"n": i, "text": "tab\tand\nnewline"}, Actor: &audit.Actor{Kind: "system", Name: "seed"}}); err != nil {
			t.Fatal(err)
		}
	}
	if observations > 0 {
		_, err := dbs.Results.Exec(ctx, `INSERT INTO observations (observed_at, scan_id, job_id, scanner_id, address, port, rtt_us)
			SELECT $1::timestamptz + i * interval '1 ms', gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
				('10.0.0.0'::inet + i), 1 + i % 65535, i % 1000 FROM generate_series(1, $2) i`, at, observations)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// dumpRows reads every row of every table of the three databases as text, sorted, for a row
// by row comparison.
func dumpRows(t testing.TB, dbs *app.Databases) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	for _, name := range app.DatabaseNames {
		tables, err := listTables(ctx, dbs.Pool(name))
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			rows, err := dbs.Pool(name).Query(ctx, `SELECT t::text FROM `+pgx.Identifier{tb}.Sanitize()+` t ORDER BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			out[name+"."+tb] = vals
		}
	}
	return out
}

func sameRows(t testing.TB, want, got map[string][]string) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Errorf("%s: %d rows after restore, %d before", k, len(g), len(w))
			continue
		}
		for i := range w {
			if w[i] != g[i] {
				t.Errorf("%s row %d differs:\n before %s\n after  %s", k, i, w[i], g[i])
				break
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("table %s appeared after restore", k)
		}
	}
}

// recreate drops the test's three databases and creates them empty, as a new machine's
// embedded cluster would, and reopens the pools.
func recreate(t testing.TB, dbs *apptest.DBs) {
	t.Helper()
	ctx := context.Background()
	dbs.Close()
	conn, err := pgx.Connect(ctx, apptest.SuperuserDSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, name := range dbs.Names {
		var owner string
		if err := conn.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, name).Scan(&owner); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `DROP DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+` OWNER `+pgx.Identifier{owner}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := app.OpenDatabases(ctx, dbs.DSN(app.DBConfig), dbs.DSN(app.DBResults), dbs.DSN(app.DBJobs))
	if err != nil {
		t.Fatal(err)
	}
	*dbs.Databases = *fresh
}

func TestBackupDropRestoreGivesIdenticalRowsAndAVerifyingChain(t *testing.T) {
	ctx := context.Background()
	dbs := apptest.Databases(t)
	seed(t, dbs.Databases, 20, 5000, time.Now().Add(-time.Hour))
	s := newOwnedService(t, dbs)
	cfgBackup, err := s.Create(ctx, KindConfig, false)
	if err != nil {
		t.Fatal(err)
	}
	resBackup, err := s.Create(ctx, KindResults, false)
	if err != nil {
		t.Fatal(err)
	}
	if resBackup.Incremental || cfgBackup.AuditHead == nil || cfgBackup.AuditHead.Count != 20 {
		t.Fatalf("first results backup must be full and the config backup carry the audit head: %+v %+v", resBackup, cfgBackup.AuditHead)
	}
	before := dumpRows(t, dbs.Databases)
	recreate(t, dbs)
	var steps []string
	if err := s.Restore(ctx, []string{cfgBackup.ID, resBackup.ID}, func(step string, done, total int64) { steps = append(steps, step) }); err != nil {
		t.Fatal(err)
	}
	sameRows(t, before, dumpRows(t, dbs.Databases))
	if v := verifyAudit(t, dbs.Databases); !v.OK || v.Checked != 20 {
		t.Fatalf("audit chain after restore: %+v", v)
	}
	if steps[len(steps)-1] != "done" {
		t.Fatalf("progress did not end in done: %v", steps)
	}
	// The restored install works on: a new audit record links to the restored chain.
	seed(t, dbs.Databases, 1, 0, time.Now())
	if v := verifyAudit(t, dbs.Databases); !v.OK {
		t.Fatalf("a record written after restore breaks the chain: %+v", v)
	}
}

func TestAFullAndTwoIncrementalsRestoreExactly(t *testing.T) {
	ctx := context.Background()
	dbs := apptest.Databases(t)
	s := newOwnedService(t, dbs)
	base := time.Now().Add(-2 * time.Hour)
	seed(t, dbs.Databases, 0, 3000, base)
	full, err := s.Create(ctx, KindResults, false)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, dbs.Databases, 0, 2000, base.Add(time.Minute))
	// A late delivery: observed before the full backup, committed after it.
	seed(t, dbs.Databases, 0, 7, base.Add(-time.Hour))
	inc1, err := s.Create(ctx, KindResults, false)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, dbs.Databases, 0, 1000, base.Add(2*time.Minute))
	inc2, err := s.Create(ctx, KindResults, false)
	if err != nil {
		t.Fatal(err)
	}
	if !inc1.Incremental || inc1.Parent != full.ID || !inc2.Incremental || inc2.Parent != inc1.ID {
		t.Fatalf("chain: %s <- %s(%v) <- %s(%v)", full.ID, inc1.Parent, inc1.Incremental, inc2.Parent, inc2.Incremental)
	}
	if got := findDatabase(inc1, app.DBResults).Tables; tableRows(got, "observations") != 2007 {
		t.Fatalf("first incremental holds %d observations, want the 2007 committed since the full", tableRows(got, "observations"))
	}
	if got := findDatabase(inc2, app.DBResults).Tables; tableRows(got, "observations") != 1000 {
		t.Fatalf("second incremental holds %d observations, want 1000", tableRows(got, "observations"))
	}
	before := dumpRows(t, dbs.Databases)
	recreate(t, dbs)
	if err := s.Restore(ctx, []string{inc2.ID}, nil); err != nil {
		t.Fatal(err)
	}
	after := dumpRows(t, dbs.Databases)
	for k := range before {
		if !strings.HasPrefix(k, "results.") {
			delete(before, k)
		}
	}
	for k := range after {
		if !strings.HasPrefix(k, "results.") {
			delete(after, k)
		}
	}
	sameRows(t, before, after)
}

func tableRows(ts []Table, name string) int64 {
	for _, t := range ts {
		if t.Name == name {
			return t.Rows
		}
	}
	return -1
}

// Each damage is refused before anything changes: the rows stay as they were.
func TestDamagedBackupsAndAWrongKeyAreRefusedAndChangeNothing(t *testing.T) {
	ctx := context.Background()
	dbs := apptest.Databases(t)
	seed(t, dbs.Databases, 5, 500, time.Now())
	s := newOwnedService(t, dbs)
	m, err := s.Create(ctx, KindConfig, false)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, dbs.Databases, 3, 0, time.Now()) // the live data moves on: a restore would undo this
	before := dumpRows(t, dbs.Databases)
	var part string
	for _, tb := range findDatabase(m, app.DBConfig).Tables {
		if tb.Name == "audit_log" {
			part = filepath.Join(s.Dir, m.ID, tb.Part)
		}
	}
	for _, tc := range []struct {
		name   string
		damage func() (undo func())
		want   string
	}{
		{"flipped byte", func() func() { return editFile(t, part, func(b []byte) []byte { b[len(b)/2] ^= 1; return b }) }, "SHA-256 does not match"},
		{"truncated part", func() func() { return editFile(t, part, func(b []byte) []byte { return b[:len(b)/2] }) }, "truncated"},
		{"wrong key", func() func() {
			good := s.Keys
			other := newService(t, nil).Keys
			s.Keys = other
			return func() { s.Keys = good }
		}, "different MIPO_BACKUP_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			undo := tc.damage()
			defer undo()
			err := s.Restore(ctx, []string{m.ID}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want an error saying %q", err, tc.want)
			}
			if _, err := s.Verify(ctx, m.ID); err == nil {
				t.Fatal("verify passed a damaged backup")
			}
			sameRows(t, before, dumpRows(t, dbs.Databases))
		})
	}
	if _, err := s.Verify(ctx, m.ID); err != nil {
		t.Fatalf("the undamaged backup must verify: %v", err)
	}
}

// A flipped byte inside the ciphertext whose checksum was also rewritten (an attacker with
// the folder but not the key) still fails: the segment's authentication tag catches it.
func TestACiphertextChangeWithAMatchingChecksumStillFails(t *testing.T) {
	ctx := context.Background()
	dbs := apptest.Databases(t)
	seed(t, dbs.Databases, 3, 100, time.Now())
	s := newOwnedService(t, dbs)
	m, err := s.Create(ctx, KindResults, false)
	if err != nil {
		t.Fatal(err)
	}
	tab := findDatabase(m, app.DBResults).Tables
	for i := range tab {
		if tab[i].Name == "observations" {
			path := filepath.Join(s.Dir, m.ID, tab[i].Part)
			editFile(t, path, func(b []byte) []byte { b[len(b)-20] ^= 0x80; return b })
			b, _ := os.ReadFile(path)
			if err := checkPart(path, tab[i]); err == nil {
				t.Fatal("checksum did not notice")
			}
			r, err := s.openPart(m, tab[i])
			if err == nil {
				_, err = countLines(r)
				r.Close()
			}
			var damaged *DamagedError
			if !errors.As(err, &damaged) {
				t.Fatalf("decrypting an altered segment: %v (%d bytes)", err, len(b))
			}
		}
	}
}

func editFile(t testing.TB, path string, edit func([]byte) []byte) (undo func()) {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edit(append([]byte(nil), orig...)), 0o600); err != nil {
		t.Fatal(err)
	}
	return func() { os.WriteFile(path, orig, 0o600) }
}

// A backup that passes every checksum but whose rows do not add up (here: a manifest re-signed
// with the key to claim one row more) fails in the fresh schema; the live rows stay, and the
// half-built copy is gone.
func TestARestoreThatFailsItsRowCountLeavesTheLiveDatabasesAsTheyWere(t *testing.T) {
	ctx := context.Background()
	dbs := apptest.Databases(t)
	seed(t, dbs.Databases, 3, 50, time.Now())
	s := newOwnedService(t, dbs)
	m, err := s.Create(ctx, KindResults, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, tb := range m.Databases[0].Tables {
		if tb.Name == "observations" {
			m.Databases[0].Tables[i].Total++
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, m.ID, manifestFile), m.seal(s.Keys), 0o600); err != nil {
		t.Fatal(err)
	}
	seed(t, dbs.Databases, 0, 10, time.Now())
	before := dumpRows(t, dbs.Databases)
	err = s.Restore(ctx, []string{m.ID}, nil)
	var re *RestoreError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "has 50 rows after the restore; the backup counted 51") {
		t.Fatalf("restore: %v", err)
	}
	sameRows(t, before, dumpRows(t, dbs.Databases))
	var leftover bool
	dbs.Results.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, restoreSchema).Scan(&leftover)
	if leftover {
		t.Fatal("the failed restore left its schema behind")
	}
}
