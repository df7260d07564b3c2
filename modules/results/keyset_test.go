package results

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

// A key set holds each scanner's distinct keys once, in the index's order, addresses as
// stored, across chunk boundaries; and the scan's oldest observation, for retention.
func TestKeySetHoldsEachScannersPortsOnceInOrder(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	defer SetKeySetChunk(7)()
	scan := wantedScan(t, pool) // repeats by scanner and batch, IPv4, IPv6, mapped, old rows
	want := map[string]map[Key]bool{}
	if err := EachOpenPort(ctx, pool, scan, func(o ScanPort) error {
		if want[o.ScannerID] == nil {
			want[o.ScannerID] = map[Key]bool{}
		}
		want[o.ScannerID][o.Key] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := MakeKeySet(ctx, pool, scan); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT scanner_id::text, keys, last_key FROM scan_key_chunks WHERE scan_id = $1 ORDER BY scanner_id, seq`, scan)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]Key{}
	var scanner string
	var packed, last []byte
	for rows.Next() {
		if err := rows.Scan(&scanner, &packed, &last); err != nil {
			t.Fatal(err)
		}
		keys, err := unpackKeys(nil, packed)
		if err != nil || len(keys) == 0 || len(keys) > 7 || !slices.Equal(packKey(nil, keys[len(keys)-1]), last) {
			t.Fatalf("a chunk of %d keys, last key %x: %v", len(keys), last, err)
		}
		got[scanner] = append(got[scanner], keys...)
	}
	if rows.Err() != nil || len(got) != len(want) {
		t.Fatalf("key sets of %d scanners, want %d (%v)", len(got), len(want), rows.Err())
	}
	mapped := 0
	for sc, keys := range got {
		if !slices.IsSortedFunc(keys, func(a, b Key) int { return compareKeys(a, b, true, true) }) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
			t.Fatalf("scanner %s: keys out of order or repeated: %v", sc, keys)
		}
		seen := map[Key]bool{}
		for _, k := range keys {
			seen[unmapped(k)] = true
			if k.Address.Is4In6() {
				mapped++
			}
		}
		if len(seen) != len(keys) || !maps.Equal(seen, want[sc]) {
			t.Fatalf("scanner %s: the key set holds %d keys, the scan %d", sc, len(keys), len(want[sc]))
		}
	}
	if mapped == 0 {
		t.Fatal("IPv4-mapped addresses were not kept as stored")
	}
	var first, oldest time.Time
	if err := pool.QueryRow(ctx, `SELECT first_observed, (SELECT min(observed_at) FROM observations WHERE scan_id = $1) FROM scan_key_sets WHERE scan_id = $1`, scan).Scan(&first, &oldest); err != nil || !first.Equal(oldest) {
		t.Fatalf("first observed %s, oldest observation %s (%v)", first, oldest, err)
	}
}

// A batch stored after a scan's key set was made (a former holder's late results) makes it
// stale: the diff reads the scan's observations and shows the late port, and making the set
// again takes it in.
func TestALateBatchMakesAKeySetStale(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	now := time.Now()
	scanner := uuid.NewString()
	targets, _ := netset.Parse("10.9.0.0/24")
	scans := [2]string{uuid.NewString(), uuid.NewString()}
	for _, scan := range scans {
		job := uuid.NewString()
		if _, err := Insert(ctx, pool, Batch{JobID: job, ScanID: scan, ScannerID: scanner, Seq: 1,
			Observations: []Observation{{Address: netip.MustParseAddr("10.9.0.1"), Port: 22, ObservedAt: now}}}, now); err != nil {
			t.Fatal(err)
		}
		if err := RecordCoverage(ctx, pool, Coverage{JobID: job, ScanID: scan, ScannerID: scanner, Targets: targets, Ports: portset.MustParse("1-100"), Status: "done", CompletedAt: now}); err != nil {
			t.Fatal(err)
		}
		if n, err := MakeKeySet(ctx, pool, scan); err != nil || n != 1 {
			t.Fatalf("key set of %d keys: %v", n, err)
		}
	}
	if d, err := DiffScans(ctx, pool, scans[0], scans[1], true); err != nil || len(d.Opened)+len(d.Closed) != 0 {
		t.Fatalf("the same port in both scans: %+v %v", d, err)
	}
	if _, err := Insert(ctx, pool, Batch{JobID: uuid.NewString(), ScanID: scans[1], ScannerID: scanner, Seq: 1,
		Observations: []Observation{{Address: netip.MustParseAddr("10.9.0.2"), Port: 80, ObservedAt: now}}}, now); err != nil {
		t.Fatal(err)
	}
	d, err := DiffScans(ctx, pool, scans[0], scans[1], true)
	if err != nil || len(d.Opened) != 1 || d.Opened[0].Address != "10.9.0.2" || len(d.Closed) != 0 {
		t.Fatalf("the late port is not in the diff: %+v %v", d, err)
	}
	if n, err := MakeKeySet(ctx, pool, scans[1]); err != nil || n != 2 {
		t.Fatalf("the key set made again holds %d keys: %v", n, err)
	}
	if _, _, ok, err := keySetOf(ctx, pool, scans[1]); err != nil || !ok {
		t.Fatalf("the key set made again is not current: %v", err)
	}
}
