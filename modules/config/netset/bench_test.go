package netset

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// randomPrefixes returns n prefixes inside base with lengths from minBits
// to maxBits, host bits cleared. A fixed seed keeps runs comparable.
func randomPrefixes(rng *rand.Rand, n int, base netip.Prefix, minBits, maxBits int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	first := u128From(base.Addr())
	room := lowMask(base.Addr().BitLen() - base.Bits())
	for i := range out {
		off := u128{hi: rng.Uint64() & room.hi, lo: rng.Uint64() & room.lo}
		a := first.add(off).addr6()
		if base.Addr().Is4() {
			a = first.add(off).addr4()
		}
		out[i], _ = a.Prefix(minBits + rng.IntN(maxBits-minBits+1))
	}
	return out
}

// The dispatcher's job for a large scope: 10,000 overlapping subnets of
// both families merged, then 1,000 exclusions taken out.
func BenchmarkUnion10kSubtract1k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	subnets := append(randomPrefixes(rng, 5000, netip.MustParsePrefix("10.0.0.0/8"), 12, 28),
		randomPrefixes(rng, 5000, netip.MustParsePrefix("2001:db8::/32"), 40, 64)...)
	exclusions := append(randomPrefixes(rng, 500, netip.MustParsePrefix("10.0.0.0/8"), 24, 32),
		randomPrefixes(rng, 500, netip.MustParsePrefix("2001:db8::/32"), 64, 128)...)
	b.ReportAllocs()
	var scope Set
	for b.Loop() {
		in, _ := FromPrefixes(subnets...)
		out, _ := FromPrefixes(exclusions...)
		scope = in.Subtract(out)
	}
	b.ReportMetric(float64(len(scope.v4)+len(scope.v6)), "intervals")
}

func BenchmarkSlash8Minus1kExclusions(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	exclusions := randomPrefixes(rng, 1000, netip.MustParsePrefix("10.0.0.0/8"), 24, 32)
	b.ReportAllocs()
	var scope Set
	for b.Loop() {
		in, _ := FromPrefix(netip.MustParsePrefix("10.0.0.0/8"))
		out, _ := FromPrefixes(exclusions...)
		scope = in.Subtract(out)
	}
	b.ReportMetric(float64(len(scope.v4)), "intervals")
}

func BenchmarkSplitSlash8(b *testing.B) {
	scope, _ := FromPrefix(netip.MustParsePrefix("10.0.0.0/8"))
	b.ReportAllocs()
	var chunks []Set
	for b.Loop() {
		chunks = Split(scope, 1<<16)
	}
	b.ReportMetric(float64(len(chunks)), "batches")
}
