package results_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/results"
)

func week(t time.Time) time.Time {
	t = t.UTC().Truncate(24 * time.Hour)
	return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7)) // back to Monday
}

func partitionOf(t *testing.T, pool app.ResultsDB, scan string) string {
	t.Helper()
	var name string
	if err := pool.QueryRow(context.Background(), `SELECT tableoid::regclass::text FROM observations WHERE scan_id = $1`, scan).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// The partitions job makes the weeks ahead; a result whose week has no partition still lands
// (in the default partition), and moves to its week when that week's partition is made.
func TestPartitionsAheadAndResultOutsideLands(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	now := time.Now().UTC()
	if _, err := results.EnsurePartitions(ctx, pool, now, now.Add(results.PartitionsAhead)); err != nil {
		t.Fatal(err)
	}
	parts, err := results.Partitions(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	covered := func(at time.Time) string {
		for _, p := range parts {
			if !p.From.IsZero() && !at.Before(p.From) && at.Before(p.To) {
				return p.Name
			}
		}
		return ""
	}
	for d := time.Duration(0); d < results.PartitionsAhead; d += 24 * time.Hour {
		if covered(now.Add(d)) == "" {
			t.Fatalf("no partition %v ahead: %+v", d, parts)
		}
	}
	if last := parts[len(parts)-1]; last.Name != "observations_default" || !last.From.IsZero() {
		t.Fatalf("the default partition is missing: %+v", parts)
	}

	// A result from 2001, long before any partition.
	old := time.Date(2001, 5, 9, 12, 0, 0, 0, time.UTC)
	scan := uuid.NewString()
	if _, err := results.Insert(ctx, pool, results.Batch{JobID: uuid.NewString(), ScanID: scan, ScannerID: uuid.NewString(), Seq: 1,
		Observations: []results.Observation{{Address: netip.MustParseAddr("127.0.0.1"), Port: 22, ObservedAt: old}}}, now); err != nil {
		t.Fatal(err)
	}
	if got := partitionOf(t, pool, scan); got != "observations_default" {
		t.Fatalf("a result outside every partition is in %s", got)
	}
	made, err := results.EnsurePartitions(ctx, pool, old, old.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := "observations_w" + week(old).Format("20060102")
	if !slices.Equal(made, []string{want}) {
		t.Fatalf("made %v, want %s", made, want)
	}
	if got := partitionOf(t, pool, scan); got != want {
		t.Fatalf("the result stayed in %s, want %s", got, want)
	}
	// Again: nothing to make.
	if made, err := results.EnsurePartitions(ctx, pool, old, old.Add(time.Hour)); err != nil || len(made) != 0 {
		t.Fatalf("second run made %v %v", made, err)
	}
}

// Retention drops exactly the weeks that ended before its limit, keeps the rest, and says so
// in the audit log.
func TestRetentionDropsExactlyOlderPartitions(t *testing.T) {
	dbs := apptest.Databases(t)
	own := dbs.Owner(t)
	pool, config := own.ResultsDB(), own.ConfigDB()
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC) // a Monday afternoon
	if _, err := results.EnsurePartitions(ctx, pool, now.AddDate(0, 0, -70), now.Add(results.PartitionsAhead)); err != nil {
		t.Fatal(err)
	}
	retention := 30 * 24 * time.Hour
	cutoff := now.Add(-retention)
	// One scan of one observation in the middle of each of the last ten weeks, each with its
	// key set.
	keptSets := 0
	for w := 0; w < 10; w++ {
		at := week(now).AddDate(0, 0, -7*w+3)
		scan := uuid.NewString()
		if _, err := results.Insert(ctx, pool, results.Batch{JobID: uuid.NewString(), ScanID: scan, ScannerID: uuid.NewString(), Seq: 1,
			Observations: []results.Observation{{Address: netip.MustParseAddr("127.0.0.1"), Port: uint16(w + 1), ObservedAt: at}}}, now); err != nil {
			t.Fatal(err)
		}
		if _, err := results.MakeKeySet(ctx, pool, scan); err != nil {
			t.Fatal(err)
		}
		if !at.Before(cutoff) {
			keptSets++
		}
	}
	before, _ := results.Partitions(ctx, pool)
	var want []string
	for _, p := range before {
		if !p.To.IsZero() && !p.To.After(cutoff) {
			want = append(want, p.Name)
		}
	}
	if len(want) < 5 {
		t.Fatalf("the set-up should leave weeks to drop: %v", before)
	}
	dropped, err := results.ApplyRetention(ctx, pool, config, now, retention)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dropped)
	sort.Strings(want)
	if !slices.Equal(dropped, want) {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
	after, _ := results.Partitions(ctx, pool)
	if len(after) != len(before)-len(want) {
		t.Fatalf("%d partitions left of %d, %d dropped", len(after), len(before), len(want))
	}
	var oldest time.Time
	if err := pool.QueryRow(ctx, `SELECT min(observed_at) FROM observations`).Scan(&oldest); err != nil {
		t.Fatal(err)
	}
	if oldest.Before(week(cutoff)) {
		t.Fatalf("an observation of %s outlived a %v retention", oldest, retention)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM observations`).Scan(&n); err != nil || n < 4 || n > 6 {
		t.Fatalf("%d observations kept of 10 (%v)", n, err)
	}
	// A scan with observations older than the cutoff keeps no key set: its diff reads what is
	// left of it.
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM scan_key_sets`).Scan(&n); err != nil || n != keptSets {
		t.Fatalf("%d key sets kept, want %d (%v)", n, keptSets, err)
	}
	var audited int
	config.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'results.retention' AND detail->'dropped_partitions' ? $1`, want[0]).Scan(&audited)
	if audited != 1 {
		t.Fatalf("the drop was audited %d times", audited)
	}
	// Nothing left to drop: nothing dropped, nothing audited.
	if again, err := results.ApplyRetention(ctx, pool, config, now, retention); err != nil || len(again) != 0 {
		t.Fatalf("second run dropped %v %v", again, err)
	}
}

// The latest-state table, kept by ingest, says what history says: random sequences of scans by
// several scanners (ports that open, close and reopen, jobs that cover part of the universe),
// then for every scanner, address and port, the state walked from history (observations and
// coverage, scan by scan) equals the row of latest_ports, or its absence.
func TestLatestStateMatchesHistory(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 20))
	scanners := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var scans []fakeScan
	for i := 0; i < 30; i++ {
		s := randomScan(t, r, scanners)
		at := t0.Add(time.Duration(i) * time.Minute)
		for sc, cov := range s.cover {
			job := uuid.NewString()
			var obs []results.Observation
			for j, k := range s.observed[sc] {
				obs = append(obs, results.Observation{Address: k.Address, Port: k.Port, ObservedAt: at.Add(time.Duration(j) * time.Millisecond)})
			}
			// Two batches, the second sometimes empty.
			cut := r.IntN(len(obs) + 1)
			for seq, part := range [][]results.Observation{obs[:cut], obs[cut:]} {
				if _, err := results.Insert(ctx, pool, results.Batch{JobID: job, ScanID: s.id, ScannerID: sc, Seq: seq + 1, Observations: part}, at); err != nil {
					t.Fatal(err)
				}
			}
			status := "done"
			targets := cov.Targets
			if r.IntN(8) == 0 {
				status, targets = "failed", netset.Set{} // partial: claims no coverage
			}
			if err := results.RecordCoverage(ctx, pool, results.Coverage{JobID: job, ScanID: s.id, ScannerID: sc, Targets: targets, Ports: cov.Ports, Status: status, CompletedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		scans = append(scans, s)
	}

	// What history says, from the database's own history.
	type state struct {
		first, last time.Time
		scan        string
	}
	want := map[string]state{}
	label := func(sc string, k results.Key) string { return fmt.Sprintf("%s %s:%d", sc, k.Address, k.Port) }
	for _, s := range scans {
		rows, err := pool.Query(ctx, `SELECT scanner_id::text, address, port, observed_at FROM observations WHERE scan_id = $1`, s.id)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]time.Time{}
		for rows.Next() {
			var sc string
			var a netip.Addr
			var p int32
			var at time.Time
			rows.Scan(&sc, &a, &p, &at)
			seen[label(sc, results.Key{Address: a.Unmap(), Port: uint16(p)})] = at
		}
		rows.Close()
		cov, err := results.CoverageOf(ctx, pool, s.id)
		if err != nil {
			t.Fatal(err)
		}
		for l, at := range seen {
			st, ok := want[l]
			if !ok {
				st.first = at
			}
			st.last, st.scan = at, s.id
			want[l] = st
		}
		for _, sc := range scanners {
			c, ok := cov[sc]
			if !ok {
				continue
			}
			for _, a := range universe {
				for p := uint16(1); p <= 12; p++ {
					k := results.Key{Address: a, Port: p}
					if _, open := seen[label(sc, k)]; !open && c.Contains(k) {
						delete(want, label(sc, k))
					}
				}
			}
		}
	}

	got := map[string]state{}
	for _, sc := range scanners {
		cursor := ""
		for {
			page, err := results.CurrentOpen(ctx, pool, results.LatestQuery{Scanner: sc, Limit: 7, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Items {
				got[label(o.ScannerID, results.Key{Address: netip.MustParseAddr(o.Address), Port: uint16(o.Port)})] = state{o.FirstSeen, o.LastSeen, o.LastScan}
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("latest state holds %d open ports, history says %d", len(got), len(want))
	}
	for l, w := range want {
		g, ok := got[l]
		if !ok || !g.first.Equal(w.first) || !g.last.Equal(w.last) || g.scan != w.scan {
			t.Errorf("%s: latest %+v (present %v), history %+v", l, g, ok, w)
		}
	}
	for l := range got {
		if _, ok := want[l]; !ok {
			t.Errorf("%s is open in the latest state, closed in history", l)
		}
	}
	// A subnet filter reads only the subnet.
	page, err := results.CurrentOpen(ctx, pool, results.LatestQuery{Subnet: netip.MustParsePrefix("2001:db8::/32"), Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range page.Items {
		if !netip.MustParseAddr(o.Address).Is6() {
			t.Fatalf("%s outside the subnet", o.Address)
		}
	}
	for _, q := range []results.LatestQuery{{Limit: 20_000}, {Scanner: "x"}, {Cursor: "garbage"}} {
		if _, err := results.CurrentOpen(ctx, pool, q); err == nil {
			t.Errorf("%+v was accepted", q)
		}
	}
}

// A diff read page by page, whatever the page size, is the whole diff, in order.
func TestDiffPagesConcatenateToTheWholeDiff(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	scanners := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	defer results.SetKeySetChunk(5)()
	for round := 0; round < 12*len(keySetStates); round++ {
		a, b := randomScan(t, r, scanners), randomScan(t, r, scanners)
		store(t, pool, a)
		store(t, pool, b)
		for state := range round%len(keySetStates) + 1 {
			makeKeySetFor(t, pool, state, a, b)
		}
		for _, byScanner := range []bool{false, true} {
			whole, err := results.DiffScans(ctx, pool, a.id, b.id, byScanner)
			if err != nil {
				t.Fatal(err)
			}
			limit := 1 + r.IntN(9)
			var opened, closed []results.Change
			cursor, pages := "", 0
			for {
				page, err := results.DiffPage(ctx, pool, results.DiffRequest{From: a.id, To: b.id, ByScanner: byScanner, Limit: limit, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				if n := len(page.Opened) + len(page.Closed); n > limit || n < limit && page.NextCursor != "" {
					t.Fatalf("a page of %d changes with limit %d (next %q)", n, limit, page.NextCursor)
				}
				opened, closed = append(opened, page.Opened...), append(closed, page.Closed...)
				pages++
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			if !slices.Equal(opened, whole.Opened) && len(opened)+len(whole.Opened) > 0 || !slices.Equal(closed, whole.Closed) && len(closed)+len(whole.Closed) > 0 {
				t.Fatalf("round %d (%s) byScanner %v limit %d: %d pages\nopened %v\n want %v\nclosed %v\n want %v", round, keySetStates[round%len(keySetStates)], byScanner, limit, pages, opened, whole.Opened, closed, whole.Closed)
			}
		}
	}
	if _, err := results.DiffPage(ctx, pool, results.DiffRequest{From: uuid.NewString(), To: uuid.NewString(), Cursor: "garbage"}); err == nil {
		t.Fatal("a forged cursor was accepted")
	}
}

var _ = portset.All
