package results

import (
	"context"
	"mipo/app"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// VantageRow is one open port of a scan run from several vantage points: which scanners saw
// it, and which covered it but could not reach it.
type VantageRow struct {
	Address  string   `json:"address"`
	Port     int      `json:"port"`
	Service  string   `json:"service"`
	SeenBy   []string `json:"seen_by"`
	MissedBy []string `json:"missed_by" doc:"Scanners that probed this port and found it closed: it is reachable from only some vantage points."`
}

// Vantage compares what each scanner of a scanner-group scan saw.
type Vantage struct {
	ScanID   string       `json:"scan_id"`
	Scanners []string     `json:"scanners"`
	Rows     []VantageRow `json:"rows"`
	Partial  int          `json:"partial" doc:"How many open ports only some vantage points reach."`
}

const vantageSQL = `SELECT address, port, array_agg(DISTINCT scanner_id::text ORDER BY scanner_id::text)
	FROM observations WHERE scan_id = $1 GROUP BY address, port ORDER BY address, port`

// CompareVantage lays a scan's observations side by side per scanner.
func CompareVantage(ctx context.Context, pool app.ResultsDB, scanID string) (*Vantage, error) {
	cov, err := CoverageOf(ctx, pool, scanID)
	if err != nil {
		return nil, err
	}
	v := &Vantage{ScanID: scanID, Scanners: []string{}, Rows: []VantageRow{}}
	for s := range cov {
		v.Scanners = append(v.Scanners, s)
	}
	sort.Strings(v.Scanners)
	rows, err := pool.Query(ctx, vantageSQL, scanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var addr netip.Addr
		var port int32
		var seen []string
		if err := rows.Scan(&addr, &port, &seen); err != nil {
			return nil, err
		}
		key := Key{Address: addr.Unmap(), Port: uint16(port)}
		row := VantageRow{Address: key.Address.String(), Port: int(port), Service: ServiceName(key.Port), SeenBy: seen, MissedBy: []string{}}
		for _, s := range v.Scanners {
			if !slices.Contains(seen, s) && cov[s].Contains(key) {
				row.MissedBy = append(row.MissedBy, s)
			}
		}
		if len(row.MissedBy) > 0 {
			v.Partial++
		}
		v.Rows = append(v.Rows, row)
	}
	return v, rows.Err()
}

// Span is one stretch of time a port was open.
type Span struct {
	FirstSeen  time.Time  `json:"first_seen" doc:"The first scan that found it open."`
	FirstScan  string     `json:"first_scan"`
	LastSeen   time.Time  `json:"last_seen" doc:"The last scan that found it open."`
	ClosedAt   *time.Time `json:"closed_at" doc:"The first later scan that probed it and found it closed; null while it is open."`
	ClosedScan string     `json:"closed_scan,omitempty"`
}

// PortTimeline is the history of one port of an address.
type PortTimeline struct {
	Port    int    `json:"port"`
	Service string `json:"service"`
	Spans   []Span `json:"spans"`
}

const timelineSQL = `SELECT DISTINCT scan_id::text, port FROM observations WHERE address = $1 AND scan_id = ANY ($2::uuid[])`

// Timeline says, for each port ever seen open at an address, when it was first seen open and
// when it closed, from the given scans (oldest first). A scan that did not cover the address
// and port says nothing about it either way.
func Timeline(ctx context.Context, pool app.ResultsDB, address netip.Addr, scans []ScanRef) ([]PortTimeline, error) {
	ids := make([]string, len(scans))
	for i, s := range scans {
		ids[i] = s.ID
	}
	rows, err := pool.Query(ctx, timelineSQL, address, ids)
	if err != nil {
		return nil, err
	}
	open := map[string]map[uint16]bool{}
	ports := map[uint16]bool{}
	for rows.Next() {
		var scan string
		var port int32
		if err := rows.Scan(&scan, &port); err != nil {
			rows.Close()
			return nil, err
		}
		if open[scan] == nil {
			open[scan] = map[uint16]bool{}
		}
		open[scan][uint16(port)] = true
		ports[uint16(port)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	coverage := map[string]Covered{}
	for _, s := range scans {
		cov, err := CoverageOf(ctx, pool, s.ID)
		if err != nil {
			return nil, err
		}
		coverage[s.ID] = merge(cov)
	}
	var out []PortTimeline
	for port := range ports {
		out = append(out, PortTimeline{Port: int(port), Service: ServiceName(port), Spans: spansOf(Key{Address: address.Unmap(), Port: port}, scans, open, coverage)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, nil
}

// spansOf walks the scans in time order: an observation opens (or extends) a span; a scan that
// covered the port without seeing it open closes the span.
func spansOf(k Key, scans []ScanRef, open map[string]map[uint16]bool, coverage map[string]Covered) []Span {
	var spans []Span
	var cur *Span
	for _, s := range scans {
		switch {
		case open[s.ID][k.Port]:
			if cur == nil {
				spans = append(spans, Span{FirstSeen: s.At, FirstScan: s.ID})
				cur = &spans[len(spans)-1]
			}
			cur.LastSeen = s.At
		case cur != nil && coverage[s.ID].Contains(k):
			at := s.At
			cur.ClosedAt, cur.ClosedScan = &at, s.ID
			cur = nil
		}
	}
	return spans
}
