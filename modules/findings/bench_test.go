package findings

import (
	"fmt"
	"net/netip"
	"testing"

	"mipo/modules/config/portset"
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
