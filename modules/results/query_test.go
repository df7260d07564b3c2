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

// universe of the random scans: 16 IPv4 and 8 IPv6 addresses, ports 1-12.
var universe = func() []netip.Addr {
	var out []netip.Addr
	for i := 0; i < 16; i++ {
		out = append(out, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	for i := 0; i < 8; i++ {
		out = append(out, netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i)))
	}
	return out
}()

type fakeScan struct {
	id       string
	cover    map[string]results.Covered // by scanner
	observed map[string][]results.Key   // by scanner
}

func randomSubset[T any](r *rand.Rand, all []T, p float64) []T {
	var out []T
	for _, v := range all {
		if r.Float64() < p {
			out = append(out, v)
		}
	}
	return out
}

func randomScan(t *testing.T, r *rand.Rand, scanners []string) fakeScan {
	s := fakeScan{id: uuid.NewString(), cover: map[string]results.Covered{}, observed: map[string][]results.Key{}}
	var ports []uint16
	for p := uint16(1); p <= 12; p++ {
		ports = append(ports, p)
	}
	covPorts, _ := portset.FromPorts(randomSubset(r, ports, 0.7)...)
	for _, sc := range scanners {
		if r.IntN(5) == 0 {
			continue // this scanner took no part
		}
		var targets netset.Set
		for _, a := range randomSubset(r, universe, 0.6) {
			targets.AddRange(a, a)
		}
		s.cover[sc] = results.Covered{ScannerID: sc, Targets: targets, Ports: covPorts}
		// Observations mostly inside the coverage; some outside, as a partial job leaves them.
		for _, a := range universe {
			for _, p := range ports {
				inside := targets.Contains(a) && covPorts.Contains(p)
				if inside && r.IntN(3) == 0 || !inside && r.IntN(25) == 0 {
					s.observed[sc] = append(s.observed[sc], results.Key{Address: a, Port: p})
				}
			}
		}
	}
	return s
}

func store(t *testing.T, pool app.ResultsDB, s fakeScan) {
	ctx := context.Background()
	for sc, cov := range s.cover {
		job := uuid.NewString()
		var obs []results.Observation
		for _, k := range s.observed[sc] {
			obs = append(obs, results.Observation{Address: k.Address, Port: k.Port, ObservedAt: time.Now()})
		}
		if _, err := results.Insert(ctx, pool, results.Batch{JobID: job, ScanID: s.id, ScannerID: sc, Seq: 1, Observations: obs}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := results.RecordCoverage(ctx, pool, results.Coverage{JobID: job, ScanID: s.id, ScannerID: sc, Targets: cov.Targets, Ports: cov.Ports, Status: "done", CompletedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

// bruteDiff enumerates the whole universe, as the definition says.
func bruteDiff(a, b fakeScan, byScanner bool, scanners []string) (opened, closed []string) {
	views := map[string][2]map[results.Key]bool{}
	cov := map[string][2][]results.Covered{}
	for _, sc := range scanners {
		key := ""
		if byScanner {
			key = sc
		}
		v := views[key]
		for i, s := range []fakeScan{a, b} {
			if v[i] == nil {
				v[i] = map[results.Key]bool{}
			}
			for _, k := range s.observed[sc] {
				v[i][k] = true
			}
			if c, ok := s.cover[sc]; ok {
				cc := cov[key]
				cc[i] = append(cc[i], c)
				cov[key] = cc
			}
		}
		views[key] = v
	}
	covers := func(cs []results.Covered, k results.Key) bool {
		for _, c := range cs {
			if c.Contains(k) {
				return true
			}
		}
		return false
	}
	for key, v := range views {
		for _, addr := range universe {
			for p := uint16(1); p <= 12; p++ {
				k := results.Key{Address: addr, Port: p}
				if !covers(cov[key][0], k) || !covers(cov[key][1], k) {
					continue
				}
				label := fmt.Sprintf("%s %s:%d", key, addr, p)
				switch {
				case v[1][k] && !v[0][k]:
					opened = append(opened, label)
				case v[0][k] && !v[1][k]:
					closed = append(closed, label)
				}
			}
		}
	}
	sort.Strings(opened)
	sort.Strings(closed)
	return
}

func labels(cs []results.Change) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %s:%d", c.ScannerID, c.Address, c.Port))
	}
	sort.Strings(out)
	return out
}

// keySetStates are the ways a diff reads two scans: both from their observations (running
// scans), the earlier from its key set (one completed, one not), both from key sets. Each
// step makes the next state's key set; chunks of 5 keys, so the random scans' few dozen keys
// cross chunk boundaries.
var keySetStates = []string{"no key sets", "the earlier scan's key set", "both key sets"}

func makeKeySetFor(t *testing.T, pool app.ResultsDB, state int, a, b fakeScan) {
	t.Helper()
	s := []fakeScan{a, b}[max(state-1, 0)]
	if state == 0 {
		return
	}
	n, err := results.MakeKeySet(context.Background(), pool, s.id)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[results.Key]bool{}
	for _, keys := range s.observed {
		for _, k := range keys {
			distinct[k] = true
		}
	}
	if n != len(distinct) {
		t.Fatalf("the key set counts %d distinct open ports, the scan has %d", n, len(distinct))
	}
}

// DiffScans against brute-force enumeration on random scans: coverage gaps, observations
// outside coverage, scanners missing from one scan, IPv4 and IPv6, pooled and per scanner;
// read from observations, key sets, and one of each.
func TestDiffMatchesBruteForce(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	defer results.SetKeySetChunk(5)()
	r := rand.New(rand.NewPCG(1, 2))
	scanners := []string{uuid.NewString(), uuid.NewString()}
	for round := 0; round < 40; round++ {
		a, b := randomScan(t, r, scanners), randomScan(t, r, scanners)
		store(t, pool, a)
		store(t, pool, b)
		for state, name := range keySetStates {
			makeKeySetFor(t, pool, state, a, b)
			for _, byScanner := range []bool{false, true} {
				d, err := results.DiffScans(context.Background(), pool, a.id, b.id, byScanner)
				if err != nil {
					t.Fatal(err)
				}
				wantOpened, wantClosed := bruteDiff(a, b, byScanner, scanners)
				if got := labels(d.Opened); !slices.Equal(got, nilToEmpty(wantOpened)) {
					t.Fatalf("round %d, %s, byScanner %v: opened\n got %v\nwant %v", round, name, byScanner, got, wantOpened)
				}
				if got := labels(d.Closed); !slices.Equal(got, nilToEmpty(wantClosed)) {
					t.Fatalf("round %d, %s, byScanner %v: closed\n got %v\nwant %v", round, name, byScanner, got, wantClosed)
				}
			}
		}
	}
}

func nilToEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestHistoryFiltersAndPages(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	scan, scanner := uuid.NewString(), uuid.NewString()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var obs []results.Observation
	for i := 0; i < 50; i++ {
		addr := netip.AddrFrom4([4]byte{10, byte(i % 2), 0, byte(i)})
		obs = append(obs, results.Observation{Address: addr, Port: uint16(20 + i%3), ObservedAt: base.Add(time.Duration(i) * time.Minute)})
	}
	obs = append(obs, results.Observation{Address: netip.MustParseAddr("2001:db8::5"), Port: 443, ObservedAt: base})
	if _, err := results.Insert(ctx, pool, results.Batch{JobID: uuid.NewString(), ScanID: scan, ScannerID: scanner, Seq: 1, Observations: obs}, base); err != nil {
		t.Fatal(err)
	}
	var all []results.Observed
	cursor := ""
	for {
		page, err := results.History(ctx, pool, results.HistoryQuery{Subnet: "10.1.0.0/16", Ports: "20-21", Limit: 4, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	want := 0
	for i := 0; i < 50; i++ {
		if i%2 == 1 && 20+i%3 <= 21 {
			want++
		}
	}
	if len(all) != want {
		t.Fatalf("paged %d observations, want %d", len(all), want)
	}
	for i, o := range all {
		if !netip.MustParsePrefix("10.1.0.0/16").Contains(netip.MustParseAddr(o.Address)) || o.Port > 21 || (i > 0 && o.ObservedAt.After(all[i-1].ObservedAt)) {
			t.Fatalf("row %d breaks the filter or the order: %+v", i, o)
		}
	}
	page, _ := results.History(ctx, pool, results.HistoryQuery{Subnet: "2001:db8::/32", Scanner: scanner, From: base.Format(time.RFC3339)})
	if len(page.Items) != 1 || page.Items[0].Service != "https" {
		t.Fatalf("IPv6 subnet query with a service label: %+v", page.Items)
	}
	for _, q := range []results.HistoryQuery{{Subnet: "10.0.0.1/8"}, {Ports: "0"}, {Scanner: "x"}, {From: "today"}, {Limit: 5000}, {Cursor: "garbage"}} {
		if _, err := results.History(ctx, pool, q); err == nil {
			t.Errorf("%+v was accepted", q)
		}
	}
}

func TestVantageAndTimeline(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	a, b := uuid.NewString(), uuid.NewString()
	cov := netset.Set{}
	cov.AddRange(netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1"))
	ports := portset.MustParse("1-100")
	put := func(scan, scanner string, open ...uint16) {
		var obs []results.Observation
		for _, p := range open {
			obs = append(obs, results.Observation{Address: netip.MustParseAddr("127.0.0.1"), Port: p, ObservedAt: time.Now()})
		}
		job := uuid.NewString()
		results.Insert(ctx, pool, results.Batch{JobID: job, ScanID: scan, ScannerID: scanner, Seq: 1, Observations: obs}, time.Now())
		results.RecordCoverage(ctx, pool, results.Coverage{JobID: job, ScanID: scan, ScannerID: scanner, Targets: cov, Ports: ports, Status: "done", CompletedAt: time.Now()})
	}
	s1, s2, s3 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	put(s1, a, 22, 80)
	put(s1, b, 22)
	v, err := results.CompareVantage(ctx, pool, s1)
	if err != nil || len(v.Rows) != 2 || v.Partial != 1 || v.Rows[1].Port != 80 || !slices.Equal(v.Rows[1].MissedBy, []string{b}) {
		t.Fatalf("vantage %+v %v", v, err)
	}
	put(s2, a, 22)
	put(s3, a, 22, 80)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tl, err := results.Timeline(ctx, pool, netip.MustParseAddr("127.0.0.1"), []results.ScanRef{{ID: s1, At: t0}, {ID: s2, At: t0.Add(time.Hour)}, {ID: s3, At: t0.Add(2 * time.Hour)}})
	if err != nil || len(tl) != 2 {
		t.Fatalf("timeline %+v %v", tl, err)
	}
	p80 := tl[1]
	if p80.Port != 80 || len(p80.Spans) != 2 || p80.Spans[0].ClosedScan != s2 || p80.Spans[1].ClosedAt != nil || !p80.Spans[1].FirstSeen.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("port 80 opened, closed at the second scan and opened again: %+v", p80)
	}
}
