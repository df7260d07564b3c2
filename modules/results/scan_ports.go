package results

import (
	"context"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// ScanPort is one address and port a scan found open: which scanner saw it, and when.
type ScanPort struct {
	Key
	ScannerID  string
	ObservedAt time.Time
}

// EachOpenPort calls fn for every observation a scan stored: each open address and port as
// each scanner reported it, in no particular order, so a port that two scanners (or a retried
// batch) reported comes more than once. It is one pass over the scan's rows with no sort — a
// million-observation scan streams in a second — and how other modules judge a scan's results
// (findings) without reading the observations table; the caller keeps what it needs of repeats.
func EachOpenPort(ctx context.Context, pool app.ResultsDB, scanID string, fn func(ScanPort) error) error {
	rows, err := pool.Query(ctx, `SELECT address, port, scanner_id::text, observed_at FROM observations WHERE scan_id = $1`, scanID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var o ScanPort
	var addr netip.Addr
	var port int32
	_, err = pgx.ForEachRow(rows, []any{&addr, &port, &o.ScannerID, &o.ObservedAt}, func() error {
		o.Key = Key{Address: addr.Unmap(), Port: uint16(port)}
		return fn(o)
	})
	return err
}

// Merged is what a scan's scanners covered together: a pool scan's coverage, where it does not
// matter which scanner probed an address.
func Merged(cov map[string]Covered) Covered { return merge(cov) }
