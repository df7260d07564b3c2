package results_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app"
	"mipo/app/apptest"
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

// Open now, kept at each scan's completion, says what history says: random sequences of scans
// of two templates by several scanners (ports that open, close and reopen, in both address
// families), each template kept at its scans in turn, some from their key sets and some from
// their observations, some kept twice, and some kept back at an older scan by a reader whose
// list of latest scans was stale. After every keeping, each template's rows are the open ports
// of the scan it was last kept at, per scanner, first seen when its current run of kept scans
// began, and the page merges the templates: first seen the earliest, scan and last seen of the
// template listed first (the latest finished).
func TestOpenNowMatchesHistory(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 20))
	scanners := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	templates := []string{uuid.NewString(), uuid.NewString()}
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	type scan struct {
		fakeScan
		template string
		at       time.Time
		seen     map[string]time.Time // by label: when it saw each port open
	}
	label := func(sc string, k results.Key) string { return fmt.Sprintf("%s %s:%d", sc, k.Address.Unmap(), k.Port) }
	var scans []scan
	completed := map[string][]int{} // by template: its scans, in order
	kept := map[string][]int{}      // by template: the scans it was kept at, in order
	type state struct {
		first, last time.Time
		scan        string
	}
	for i := 0; i < 40; i++ {
		s := scan{fakeScan: randomScan(t, r, scanners), template: templates[r.IntN(2)], at: t0.Add(time.Duration(i) * time.Minute), seen: map[string]time.Time{}}
		for sc, cov := range s.cover {
			job := uuid.NewString()
			var obs []results.Observation
			for j, k := range s.observed[sc] {
				o := results.Observation{Address: k.Address, Port: k.Port, ObservedAt: s.at.Add(time.Duration(j) * time.Millisecond)}
				obs, s.seen[label(sc, k)] = append(obs, o), o.ObservedAt
			}
			cut := r.IntN(len(obs) + 1) // two batches, the second sometimes empty
			for seq, part := range [][]results.Observation{obs[:cut], obs[cut:]} {
				if _, err := results.Insert(ctx, pool, results.Batch{JobID: job, ScanID: s.id, ScannerID: sc, Seq: seq + 1, Observations: part}, s.at); err != nil {
					t.Fatal(err)
				}
			}
			if err := results.RecordCoverage(ctx, pool, results.Coverage{JobID: job, ScanID: s.id, ScannerID: sc, Targets: cov.Targets, Ports: cov.Ports, Status: "done", CompletedAt: s.at}); err != nil {
				t.Fatal(err)
			}
		}
		if r.IntN(2) == 0 {
			if _, err := results.MakeKeySet(ctx, pool, s.id); err != nil {
				t.Fatal(err)
			}
		}
		scans = append(scans, s)
		completed[s.template] = append(completed[s.template], i)

		// The list a reader passes: each template's latest scan, or, now and then, an older one.
		latest := map[string]int{}
		for tm, list := range completed {
			latest[tm] = list[len(list)-1]
			if len(list) > 1 && r.IntN(5) == 0 {
				latest[tm] = list[r.IntN(len(list)-1)]
			}
		}
		for round := 0; round < 1+r.IntN(2); round++ { // kept twice, now and then
			var refs []results.ScanRef
			for tm, i := range latest {
				refs = append(refs, results.ScanRef{ID: scans[i].id, TemplateID: tm, At: scans[i].at})
			}
			slices.SortFunc(refs, func(a, b results.ScanRef) int { return b.At.Compare(a.At) })
			for tm, i := range latest {
				if k := kept[tm]; len(k) == 0 || k[len(k)-1] != i {
					kept[tm] = append(kept[tm], i)
				}
			}

			// What history says: per template, the walk of the scans it was kept at.
			want := map[string]state{}
			for _, ref := range refs {
				since := map[string]time.Time{}
				for _, i := range kept[ref.TemplateID] {
					next := map[string]time.Time{}
					for l, at := range scans[i].seen {
						if first, ok := since[l]; ok {
							at = first
						}
						next[l] = at
					}
					since = next
				}
				last := scans[kept[ref.TemplateID][len(kept[ref.TemplateID])-1]]
				for l, first := range since {
					w, ok := want[l]
					if !ok {
						w = state{first, last.seen[l], last.id} // refs come latest first: the first template's scan
					}
					if first.Before(w.first) {
						w.first = first
					}
					want[l] = w
				}
			}

			got := map[string]state{}
			var order []string
			for off := 0; ; off += 7 {
				page, err := results.OpenNowOf(ctx, pool, results.OpenScope{}, refs, app.List{Sort: "address", Limit: 7, Offset: off})
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Items {
					l := label(o.ScannerID, results.Key{Address: netip.MustParseAddr(o.Address), Port: uint16(o.Port)})
					got[l] = state{o.FirstSeen, o.LastSeen, o.ScanID}
					order = append(order, fmt.Sprintf("%s %05d %s", netip.MustParseAddr(o.Address).StringExpanded(), o.Port, o.ScannerID))
				}
				if page.NextCursor == "" {
					break
				}
			}
			if !slices.IsSortedFunc(order, func(a, b string) int {
				return compareOpenRows(a, b)
			}) {
				t.Fatalf("scan %d: open now is not in address order: %v", i, order)
			}
			if len(got) != len(want) {
				t.Errorf("scan %d: open now holds %d open ports, history says %d", i, len(got), len(want))
			}
			for l, w := range want {
				if g, ok := got[l]; !ok || !g.first.Equal(w.first) || !g.last.Equal(w.last) || g.scan != w.scan {
					t.Errorf("scan %d: %s: open now %+v (present %v), history %+v", i, l, g, ok, w)
				}
			}
			for l := range got {
				if _, ok := want[l]; !ok {
					t.Errorf("scan %d: %s is open now, closed in history", i, l)
				}
			}
			if t.Failed() {
				t.FailNow()
			}
			// Then the readers are up to date.
			for tm, list := range completed {
				latest[tm] = list[len(list)-1]
			}
		}
	}

	// A subnet filter reads only the subnet, a port list only its ports; bad filters name their field.
	var refs []results.ScanRef
	for tm, list := range completed {
		refs = append(refs, results.ScanRef{ID: scans[list[len(list)-1]].id, TemplateID: tm, At: scans[list[len(list)-1]].at})
	}
	page, err := results.OpenNowOf(ctx, pool, results.OpenScope{Query: results.OpenQuery{Subnet: "2001:db8::/32", Ports: "1-3"}}, refs, app.List{Sort: "address", Limit: 10_000})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("%d rows: %v", len(page.Items), err)
	}
	for _, o := range page.Items {
		if !netip.MustParseAddr(o.Address).Is6() || o.Port > 3 {
			t.Fatalf("%s:%d outside the filter", o.Address, o.Port)
		}
	}
	// Readers that find a template not yet kept, at once: one keeps it, the others wait for it
	// and find it kept; all read the same page.
	fresh := []results.ScanRef{{ID: refs[0].ID, TemplateID: uuid.NewString(), At: refs[0].At}}
	pages := make([]int, 4)
	var wg sync.WaitGroup
	for i := range pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := results.OpenNowOf(ctx, pool, results.OpenScope{}, fresh, app.List{Sort: "address", Limit: 10_000})
			if err != nil {
				t.Error(err)
			}
			pages[i] = len(p.Items)
		}()
	}
	wg.Wait()
	if pages[0] == 0 || len(slices.Compact(slices.Clone(pages))) != 1 {
		t.Errorf("readers keeping one template at once read %v rows", pages)
	}
	for field, q := range map[string]results.OpenQuery{"subnet": {Subnet: "10.0.0.0/33"}, "scanner": {Scanner: "x"}, "ports": {Ports: "0-70000"}} {
		_, err := results.OpenNowOf(ctx, pool, results.OpenScope{Query: q}, refs, app.List{Sort: "address", Limit: 10})
		if ae, ok := err.(*app.Error); !ok || ae.Field != field {
			t.Errorf("%+v: %v, want an error naming %s", q, err, field)
		}
	}
}

// compareOpenRows orders "address port scanner" rows as the page does: IPv4 before IPv6.
func compareOpenRows(a, b string) int {
	pa, pb := strings.Fields(a), strings.Fields(b)
	aa, ab := netip.MustParseAddr(pa[0]), netip.MustParseAddr(pb[0])
	if c := aa.Compare(ab); c != 0 {
		return c
	}
	return strings.Compare(pa[1]+pa[2], pb[1]+pb[2])
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
