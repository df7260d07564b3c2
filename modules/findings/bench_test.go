package findings

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"testing"

	"github.com/google/uuid"

	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/results"
)

// benchRules is ten thousand baselines: 100 site-wide /16 groups, 1,900 /24 subnets and 8,000
// single addresses, in every mode.
func benchRules() []Rule {
	var rules []Rule
	modes := []string{ModeAllow, ModeOnly, ModeNothing, ModeAllow}
	for i := 0; i < 100; i++ {
		rules = append(rules, Rule{ID: fmt.Sprintf("g%d", i), Kind: KindGroup, Mode: ModeAllow,
			Prefixes: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16)}, Ports: portset.MustParse("22,443")})
	}
	for i := 0; i < 1900; i++ {
		rules = append(rules, Rule{ID: fmt.Sprintf("s%d", i), Kind: KindSubnet, Mode: modes[i%4],
			Prefixes: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i % 100), byte(i / 100), 0}), 24)}, Ports: portset.MustParse("80,8080-8090")})
	}
	for i := 0; i < 8000; i++ {
		rules = append(rules, Rule{ID: fmt.Sprintf("a%d", i), Kind: KindAddress, Mode: modes[i%4],
			Prefixes: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i % 100), byte(i / 100 % 19), byte(i)}), 32)}, Ports: portset.MustParse("3306,5432")})
	}
	return rules
}

// BenchmarkEvaluateMillion judges a scan's 1,000,000 open ports (100,000 addresses × 10 ports)
// against 10,000 baselines: compile the policy, then judge every observation, as Evaluate does
// after a scan (the database reads and writes are measured separately).
func BenchmarkEvaluateMillion(b *testing.B) {
	rules := benchRules()
	obs := make([]netip.Addr, 0, 100_000)
	for i := 0; i < 100_000; i++ {
		obs = append(obs, netip.AddrFrom4([4]byte{10, byte(i % 100), byte(i / 100 % 20), byte(i / 2000)}))
	}
	ports := []uint16{22, 80, 443, 3306, 5432, 8080, 8443, 9000, 25, 53}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		j := newJudge(rules)
		violations := 0
		for _, a := range obs {
			for _, p := range ports {
				if j.violates(a, p) {
					violations++
				}
			}
		}
		if violations == 0 {
			b.Fatal("no violations: the benchmark judges nothing")
		}
		b.ReportMetric(float64(len(obs)*len(ports)), "observations/op")
	}
}

// BenchmarkEvaluateScanInTheDatabase is the whole of a scan's judgement as the event bus runs
// it, against the real databases: read the 10,000 baselines (100 /16, 1,900 /24 and 8,000
// single addresses, through the API as an operator makes them) and the live findings, stream
// the keys of the scan's 1,000,000 open ports (100,000 addresses × 10 ports, 1% of addresses
// with one port no baseline allows) from the results database and judge them, read the 1,000
// unexpected ones whole, and write them as findings. The phases' times go to stderr.
// Setup takes a minute or two; run it alone:
//
//	go test ./modules/findings/ -run '^$' -bench EvaluateScanInTheDatabase -benchtime 1x
func BenchmarkEvaluateScanInTheDatabase(b *testing.B) {
	f, scanID := millionScan(b)
	ctx := context.Background()
	// Each judgement's phases (read_config, read_results, write) on stderr.
	f.svc.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		out, err := f.svc.EvaluateScan(ctx, scanID)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 && len(out.Opened) != 1000 {
			b.Fatalf("the first judgement opened %d findings; the data holds 1000", len(out.Opened))
		}
	}
	b.ReportMetric(1_000_000, "observations/op")
}

// millionScan is the benchmark's data: 10,000 baselines made through the API and one
// completed scan of 1,000,000 open ports that covered 10.0.0.0/8, all ports.
func millionScan(b testing.TB) (*fixture, string) {
	f := newFixture(b, "manager")
	ctx := context.Background()
	allowed := "22,25,53,80,443,3306,5432,8080,8443,9000"
	for i := 0; i < 100; i++ {
		f.baseline(map[string]any{"name": fmt.Sprintf("site-%d", i), "scope_kind": "cidr", "scope_ref": fmt.Sprintf("10.%d.0.0/16", i), "mode": "allow", "ports": allowed})
	}
	for i := 0; i < 1900; i++ {
		f.baseline(map[string]any{"name": fmt.Sprintf("net-%d", i), "scope_kind": "cidr", "scope_ref": fmt.Sprintf("10.%d.%d.0/24", i%100, i/100), "mode": "allow", "ports": "8081"})
	}
	for i := 0; i < 8000; i++ {
		f.baseline(map[string]any{"name": fmt.Sprintf("host-%d", i), "scope_kind": "address", "scope_ref": fmt.Sprintf("10.%d.%d.%d", i%100, i/100%19, i%250+1), "mode": "only", "ports": allowed})
	}
	scanID, jobID := uuid.NewString(), uuid.NewString()
	now := f.clock.Now()
	ports := []uint16{22, 25, 53, 80, 443, 3306, 5432, 8080, 8443, 9000}
	obs := make([]results.Observation, 0, 10_000)
	for i, seq := 0, 1; i < 100_000; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i % 100), byte(i / 100 % 20), byte(i/2000 + 1)})
		for k, p := range ports {
			if i%100 == 0 && k == 0 {
				p = 3389 // allowed by no baseline: a finding
			}
			obs = append(obs, results.Observation{Address: a, Port: p, ObservedAt: now})
		}
		if len(obs) == cap(obs) {
			if _, err := results.Insert(ctx, f.svc.Results, results.Batch{JobID: jobID, ScanID: scanID, ScannerID: f.scanner, Seq: seq, Observations: obs}, now); err != nil {
				b.Fatal(err)
			}
			obs, seq = obs[:0], seq+1
		}
	}
	all, err := netset.Parse("10.0.0.0/8")
	if err != nil {
		b.Fatal(err)
	}
	if err := results.RecordCoverage(ctx, f.svc.Results, results.Coverage{JobID: jobID, ScanID: scanID, ScannerID: f.scanner,
		Targets: all, Ports: portset.MustParse("1-65535"), Status: "done", CompletedAt: now}); err != nil {
		b.Fatal(err)
	}
	return f, scanID
}
