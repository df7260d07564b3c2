package netset

import (
	"iter"
	"slices"
)

// Chunks cuts s into consecutive batches of at most maxAddresses
// addresses, for the dispatcher to hand to scanners. It walks intervals
// in order and fills each batch up to the limit, cutting an interval
// where the batch is full, so every batch but the last of each family
// holds exactly maxAddresses. A batch never mixes IPv4 and IPv6, since a
// scanner may reach only one. Batches are computed from interval
// endpoints as they are requested: an IPv6 /64 yields 2^64/maxAddresses
// batches without ever holding them all. maxAddresses 0 panics: a batch
// that holds nothing would never finish the scope.
func (s Set) Chunks(maxAddresses uint64) iter.Seq[Set] {
	if maxAddresses == 0 {
		panic("netset: Chunks needs maxAddresses of at least 1")
	}
	return func(yield func(Set) bool) {
		if chunkFamily(s.v4, maxAddresses, func(b spans) bool { return yield(Set{v4: b}) }) {
			chunkFamily(s.v6, maxAddresses, func(b spans) bool { return yield(Set{v6: b}) })
		}
	}
}

// Split returns Chunks as a slice, for scopes whose batch count is known
// to be small; check s.Count() against maxAddresses first when it is not.
func Split(s Set, maxAddresses uint64) []Set {
	return slices.Collect(s.Chunks(maxAddresses))
}

// chunkFamily yields batches of one family. It reports false when the
// consumer stopped early.
func chunkFamily(in spans, maxAddresses uint64, yield func(spans) bool) bool {
	var batch spans
	room := maxAddresses
	for _, sp := range in {
		for {
			width := sp.last.sub(sp.first)
			if width.below(room) {
				batch = append(batch, sp)
				room -= width.lo + 1
				break
			}
			cut := sp.first.add(u128{lo: room - 1})
			batch = append(batch, span{sp.first, cut})
			if !yield(batch) {
				return false
			}
			// cut < sp.last here, so the rest is never empty.
			batch, room = nil, maxAddresses
			sp.first = cut.addOne()
		}
		if room == 0 {
			if !yield(batch) {
				return false
			}
			batch, room = nil, maxAddresses
		}
	}
	return len(batch) == 0 || yield(batch)
}
