package results

import (
	"context"
	"net/netip"
	"sort"

	"mipo/app"
)

// HostScanner is one scanner's view of a host: every port it ever saw open there, each with
// its timeline.
type HostScanner struct {
	ScannerID string         `json:"scanner_id"`
	Ports     []PortTimeline `json:"ports"`
}

// Host is everything known of one address: per scanner, every port ever seen open.
type Host struct {
	Address  string        `json:"address"`
	Scans    int           `json:"scans" doc:"Completed scans considered."`
	Open     int           `json:"open" doc:"Ports open now (their latest span has not closed), counted per scanner."`
	Scanners []HostScanner `json:"scanners"`
}

// HostHistory lays out an address's history per scanner, from the given completed scans
// (oldest first). A span closes when a later scan had the same scanner probe the port and
// find it closed; a scan in which that scanner did not probe it says nothing either way.
func HostHistory(ctx context.Context, pool app.ResultsDB, address netip.Addr, scans []ScanRef) (*Host, error) {
	address = address.Unmap()
	h := &Host{Address: address.String(), Scans: len(scans), Scanners: []HostScanner{}}
	ids := make([]string, len(scans))
	for i, s := range scans {
		ids[i] = s.ID
	}
	rows, err := pool.Query(ctx, `SELECT DISTINCT scanner_id::text, scan_id::text, port FROM observations
		WHERE address = $1 AND scan_id = ANY ($2::uuid[])`, address, ids)
	if err != nil {
		return nil, err
	}
	open := map[string]map[string]map[uint16]bool{} // scanner → scan → port
	seen := map[string]map[string]bool{}            // scans in which each scanner saw something
	for rows.Next() {
		var scanner, scan string
		var port int32
		if err := rows.Scan(&scanner, &scan, &port); err != nil {
			rows.Close()
			return nil, err
		}
		if open[scanner] == nil {
			open[scanner], seen[scanner] = map[string]map[uint16]bool{}, map[string]bool{}
		}
		if open[scanner][scan] == nil {
			open[scanner][scan] = map[uint16]bool{}
		}
		open[scanner][scan][uint16(port)] = true
		seen[scanner][scan] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(open) == 0 {
		return h, nil
	}
	// What each scan covered, per scanner: only scans from the first in which the address was
	// seen open matter, since nothing can close before it opened.
	first := len(scans)
	for i, s := range scans {
		for sc := range open {
			if seen[sc][s.ID] && i < first {
				first = i
			}
		}
	}
	coverage := map[string]map[string]Covered{} // scan → scanner → covered
	for _, s := range scans[first:] {
		cov, err := CoverageOf(ctx, pool, s.ID)
		if err != nil {
			return nil, err
		}
		coverage[s.ID] = cov
	}
	for sc, byScan := range open {
		ports := map[uint16]bool{}
		for _, ps := range byScan {
			for p := range ps {
				ports[p] = true
			}
		}
		cov := map[string]Covered{}
		for id, c := range coverage {
			cov[id] = c[sc]
		}
		hs := HostScanner{ScannerID: sc}
		for p := range ports {
			spans := spansOf(Key{Address: address, Port: p}, scans, byScan, cov)
			if len(spans) > 0 && spans[len(spans)-1].ClosedAt == nil {
				h.Open++
			}
			hs.Ports = append(hs.Ports, PortTimeline{Port: int(p), Service: ServiceName(p), Spans: spans})
		}
		sort.Slice(hs.Ports, func(i, j int) bool { return hs.Ports[i].Port < hs.Ports[j].Port })
		h.Scanners = append(h.Scanners, hs)
	}
	sort.Slice(h.Scanners, func(i, j int) bool { return h.Scanners[i].ScannerID < h.Scanners[j].ScannerID })
	return h, nil
}
