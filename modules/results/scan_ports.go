package results

import (
	"context"
	"net/netip"
	"time"

	"mipo/app"
)

// ScanPort is one address and port a scan found open: which scanner saw it first, and when.
type ScanPort struct {
	Key
	ScannerID  string
	ObservedAt time.Time
}

// EachOpenPort calls fn for every distinct address and port a scan found open, ordered by
// address then port (the order of the scan's index, so nothing is sorted), however many
// scanners or batches reported it. It is how other modules judge a scan's results (findings)
// without reading the observations table.
func EachOpenPort(ctx context.Context, pool app.ResultsDB, scanID string, fn func(ScanPort) error) error {
	rows, err := pool.Query(ctx, `SELECT DISTINCT ON (address, port) address, port, scanner_id::text, observed_at
		FROM observations WHERE scan_id = $1 ORDER BY address, port, observed_at`, scanID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o ScanPort
		var addr netip.Addr
		var port int32
		if err := rows.Scan(&addr, &port, &o.ScannerID, &o.ObservedAt); err != nil {
			return err
		}
		o.Key = Key{Address: addr.Unmap(), Port: uint16(port)}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Merged is what a scan's scanners covered together: a pool scan's coverage, where it does not
// matter which scanner probed an address.
func Merged(cov map[string]Covered) Covered { return merge(cov) }
