package netset

import (
	"net/netip"
	"testing"
)

func TestSplitSlash8(t *testing.T) {
	chunks := Split(mustParse(t, "10.0.0.0/8"), 1<<16)
	if len(chunks) != 256 {
		t.Fatalf("got %d batches, want 256", len(chunks))
	}
	for i, c := range chunks {
		want := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16)
		if ps := c.Prefixes(); len(ps) != 1 || ps[0] != want {
			t.Fatalf("batch %d = %s, want %s", i, c, want)
		}
	}
}

// Batches fill across intervals and cut inside them, so the count is
// ceil(n / max) per family whatever the shape of the set.
func TestSplitFillsAcrossIntervals(t *testing.T) {
	s := mustParse(t, "10.0.0.1,10.0.0.3,10.0.0.5-10.0.0.10,2001:db8::/126")
	var got []string
	for _, c := range Split(s, 4) {
		got = append(got, c.String())
	}
	want := []string{"10.0.0.1,10.0.0.3,10.0.0.5-10.0.0.6", "10.0.0.7-10.0.0.10", "2001:db8::/126"}
	if len(got) != len(want) {
		t.Fatalf("Split = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("batch %d = %s, want %s", i, got[i], want[i])
		}
	}
}

// A /32 of IPv6 in 65,536-address batches is 2^80 batches: Chunks must
// hand them out one at a time, and stopping early must stop it.
func TestChunksIsLazy(t *testing.T) {
	n := 0
	for c := range mustParse(t, "2001:db8::/32,::/0").Chunks(1 << 16) {
		if c.CountV6().Uint64() != 1<<16 {
			t.Fatalf("batch %d = %s", n, c)
		}
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("got %d batches before stopping, want 3", n)
	}
}

func TestSplitTopOfSpace(t *testing.T) {
	top := mustParse(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124,255.255.255.240/28")
	chunks := Split(top, 16)
	if len(chunks) != 2 || chunks[0].String() != "255.255.255.240/28" || chunks[1].String() != "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124" {
		t.Fatalf("Split = %v", chunks)
	}
	if got := Split(Set{}, 16); len(got) != 0 {
		t.Errorf("Split(empty) = %v", got)
	}
}

func TestChunksRefusesZero(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Chunks(0) did not panic")
		}
	}()
	mustParse(t, "10.0.0.0/8").Chunks(0)
}
