package netset

import "net/netip"

// Prefixes returns the fewest CIDR blocks that together hold exactly the
// addresses of s, in ascending order, IPv4 first: for display and for
// exports to tools that only speak CIDR. An interval of n addresses needs
// at most 2*log2(n) blocks, so this stays small for any set.
func (s Set) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, sp := range s.v4 {
		out = appendPrefixes(out, sp, 32, u128.addr4)
	}
	for _, sp := range s.v6 {
		out = appendPrefixes(out, sp, 128, u128.addr6)
	}
	return out
}

// appendPrefixes cuts one interval into blocks greedily: at each step the
// largest block that starts aligned at the current address and does not
// run past the end. Greedy is optimal here because a smaller first block
// could only force more blocks later.
func appendPrefixes(out []netip.Prefix, sp span, famBits int, toAddr func(u128) netip.Addr) []netip.Prefix {
	first := sp.first
	for {
		k := min(first.trailingZeros(), famBits, largestBlock(sp.last.sub(first)))
		out = append(out, netip.PrefixFrom(toAddr(first), famBits-k))
		blockLast := first.add(lowMask(k))
		if blockLast == sp.last {
			return out
		}
		first = blockLast.addOne()
	}
}

// largestBlock returns the largest k with 2^k addresses fitting in an
// interval of width+1 addresses.
func largestBlock(width u128) int {
	if width == maxU128 {
		return 128
	}
	return width.addOne().bitLen() - 1
}
