package scans

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
)

func mustSet(t testing.TB, s string) netset.Set {
	set, err := netset.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestExpandPoolBatchesPartitionTheScope(t *testing.T) {
	w := Work{ScanID: "s", Targets: mustSet(t, "10.0.0.0/22,10.0.8.0/24,2001:db8::/120"), Ports: portset.MustParse("1-100"), Mode: jobs.KindPool}
	scanners := []ScannerCapacity{{ScannerID: "a", MaxRate: 1000}, {ScannerID: "b", MaxRate: 200}}
	js, err := Expand(w, scanners, 10*time.Second) // the slower scanner: 200/s × 10 s / 100 ports = 20 addresses a job
	if err != nil {
		t.Fatal(err)
	}
	var union netset.Set
	total := big.NewInt(0)
	for i, j := range js {
		if j.Kind != jobs.KindPool || len(j.Pool) != 2 || j.Seq != i {
			t.Fatalf("job %d: %+v", i, j)
		}
		if n := j.Targets.Count(); n.Cmp(big.NewInt(20)) > 0 {
			t.Fatalf("job %d holds %s addresses, more than the batch size 20", i, n)
		}
		if !union.Intersect(j.Targets).IsEmpty() {
			t.Fatalf("job %d overlaps an earlier job", i)
		}
		union = union.Union(j.Targets)
		total.Add(total, j.Targets.Count())
	}
	if !union.Equal(w.Targets) || total.Cmp(w.Targets.Count()) != 0 {
		t.Fatal("the batches do not add up to the scope")
	}
}

func TestExpandVantageGivesEveryScannerTheWholeScope(t *testing.T) {
	w := Work{ScanID: "s", Targets: mustSet(t, "127.0.0.1,::1"), Ports: portset.MustParse("1-65535"), Mode: jobs.KindVantage}
	js, err := Expand(w, []ScannerCapacity{{ScannerID: "a"}, {ScannerID: "b"}, {ScannerID: "c"}}, time.Minute)
	if err != nil || len(js) != 3 {
		t.Fatalf("%d jobs, %v", len(js), err)
	}
	for _, j := range js {
		if j.Kind != jobs.KindVantage || !j.Targets.Equal(w.Targets) || j.ScannerID == "" {
			t.Fatalf("vantage job %+v", j)
		}
	}
}

func TestOversizeScopesAreRefusedWithTheirSize(t *testing.T) {
	err := CheckSize(mustSet(t, "2001:db8::/64"), portset.MustParse("22,80,443"), 100_000_000_000)
	if err == nil || !contains(err.Error(), "18446744073709551616 addresses × 3 ports = 55340232221128654848") || !contains(err.Error(), "100000000000") {
		t.Fatalf("want the size and the limit in the refusal, got %v", err)
	}
	if err := CheckSize(mustSet(t, "10.0.0.0/8"), portset.MustParse("1-1000"), 100_000_000_000); err != nil {
		t.Fatalf("a /8 × 1000 ports is within the default limit: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// BenchmarkExpandSlash8 expands and batches 10.0.0.0/8 × 1,000 ports for a pool of two
// scanners. Aim: under 1 s, with memory that does not grow with the address count.
func BenchmarkExpandSlash8(b *testing.B) {
	w := Work{ScanID: "s", Targets: mustSet(b, "10.0.0.0/8"), Ports: portset.MustParse("1-1000"), Mode: jobs.KindPool}
	scanners := []ScannerCapacity{{ScannerID: "a", MaxRate: 20000}, {ScannerID: "b", MaxRate: 20000}}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		if err := CheckSize(w.Targets, w.Ports, 100_000_000_000); err != nil {
			b.Fatal(err)
		}
		js, err := Expand(w, scanners, 5*time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		n = len(js)
	}
	b.ReportMetric(float64(n), "jobs")
}
