package netset

import (
	"slices"
	"sort"
)

// span is an inclusive interval of addresses within one family.
type span struct{ first, last u128 }

// spans is one family's part of a Set. Every function here keeps, and may
// rely on, the invariant: sorted by first, first <= last, and any two
// neighbours separated by at least one address (merged, non-overlapping,
// non-adjacent). Functions never write into their inputs, so Sets can
// share backing arrays safely.
type spans []span

// joins reports whether b, which starts no earlier than a, overlaps or
// touches a, so the two must become one interval.
func joins(a, b span) bool {
	if !a.last.less(b.first) {
		return true
	}
	return a.last != maxU128 && a.last.addOne() == b.first
}

// appendMerged appends s to out, which is merged and ends no later than s
// starts, widening out's last interval instead when the two join.
func appendMerged(out spans, s span) spans {
	if n := len(out); n > 0 && joins(out[n-1], s) {
		if out[n-1].last.less(s.last) {
			out[n-1].last = s.last
		}
		return out
	}
	return append(out, s)
}

// normalize sorts and merges arbitrary intervals in place. It is the one
// place unsorted input becomes a valid spans, at O(n log n).
func normalize(in []span) spans {
	slices.SortFunc(in, func(a, b span) int { return a.first.cmp(b.first) })
	out := in[:0]
	for _, s := range in {
		out = appendMerged(out, s)
	}
	return slices.Clip(out)
}

func union(a, b spans) spans {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make(spans, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || (i < len(a) && a[i].first.less(b[j].first)) {
			out = appendMerged(out, a[i])
			i++
		} else {
			out = appendMerged(out, b[j])
			j++
		}
	}
	return slices.Clip(out)
}

func intersect(a, b spans) spans {
	var out spans
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		first, last := a[i].first, a[i].last
		if first.less(b[j].first) {
			first = b[j].first
		}
		if b[j].last.less(last) {
			last = b[j].last
		}
		if !last.less(first) {
			out = append(out, span{first, last})
		}
		// The interval that ends first cannot meet anything further on.
		if a[i].last.less(b[j].last) {
			i++
		} else {
			j++
		}
	}
	return out
}

func subtract(a, b spans) spans {
	var out spans
	j := 0
	for _, s := range a {
		for j < len(b) && b[j].last.less(s.first) {
			j++
		}
		cur, covered := s.first, false
		for ; j < len(b) && !s.last.less(b[j].first); j++ {
			if cur.less(b[j].first) {
				out = append(out, span{cur, b[j].first.subOne()})
			}
			if !b[j].last.less(s.last) {
				// b[j] covers the rest of s and may reach into the next
				// interval of a, so it stays current.
				covered = true
				break
			}
			cur = b[j].last.addOne()
		}
		if !covered {
			out = append(out, span{cur, s.last})
		}
	}
	return out
}

func (ss spans) contains(x u128) bool {
	i := sort.Search(len(ss), func(i int) bool { return !ss[i].last.less(x) })
	return i < len(ss) && !x.less(ss[i].first)
}

// containsAll reports whether every interval of b lies inside a. Because
// a is merged, each interval of b must fit inside a single one of a's.
func (ss spans) containsAll(b spans) bool {
	i := 0
	for _, s := range b {
		for i < len(ss) && ss[i].last.less(s.first) {
			i++
		}
		if i == len(ss) || s.first.less(ss[i].first) || ss[i].last.less(s.last) {
			return false
		}
	}
	return true
}

// widthSum returns the number of addresses minus the number of intervals.
// Adding the interval count back as a big.Int gives the exact total even
// for ::/0, whose 2^128 addresses do not fit in 128 bits.
func (ss spans) widthSum() u128 {
	var sum u128
	for _, s := range ss {
		sum = sum.add(s.last.sub(s.first))
	}
	return sum
}
