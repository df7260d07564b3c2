package catalog

import (
	"slices"
	"strconv"
	"strings"
)

// How well an entry matches a query; lower ranks come first. An operator
// typing "443" or "ssh" wants that exact port or service on top, then
// things that start with what they typed, then looser matches.
const (
	rankPort         = iota // the query is the port number
	rankName                // the query is the service name
	rankNamePrefix          // the name starts with the query
	rankPortPrefix          // the port number starts with the query
	rankNameContains        // the name contains the query
	rankDescription         // the description contains the query
	noMatch
)

// Search returns entries matching q by port number, name or description,
// case-insensitively, best matches first: exact port, exact name, name
// prefix, port prefix, name substring, description substring; ties in
// port order. limit <= 0 means no limit. An empty query matches nothing;
// use All to list the catalog.
func Search(q string, limit int) []Entry {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return nil
	}
	type hit struct {
		e    Entry
		rank int
	}
	var hits []hit
	for _, e := range entries() {
		if r := rank(e, q); r != noMatch {
			hits = append(hits, hit{e, r})
		}
	}
	// Entries are in port order already, so a stable sort by rank keeps
	// ties in port order.
	slices.SortStableFunc(hits, func(a, b hit) int { return a.rank - b.rank })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]Entry, len(hits))
	for i, h := range hits {
		out[i] = h.e
	}
	return out
}

// rank scores one entry against a lower-cased query.
func rank(e Entry, q string) int {
	port := strconv.Itoa(int(e.Port))
	name := strings.ToLower(e.Name)
	switch {
	case q == port:
		return rankPort
	case q == name:
		return rankName
	case strings.HasPrefix(name, q):
		return rankNamePrefix
	case strings.HasPrefix(port, q):
		return rankPortPrefix
	case strings.Contains(name, q):
		return rankNameContains
	case strings.Contains(strings.ToLower(e.Description), q):
		return rankDescription
	}
	return noMatch
}
