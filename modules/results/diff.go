package results

import (
	"context"
	"net/netip"
	"sort"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/catalog"
)

// Key is one address and port.
type Key struct {
	Address netip.Addr
	Port    uint16
}

// Change is a port that opened or closed between two scans, as one scanner saw it.
type Change struct {
	ScannerID string `json:"scanner_id,omitempty"`
	Address   string `json:"address"`
	Port      int    `json:"port"`
	Service   string `json:"service" doc:"The port catalog's name for the port."`
}

// Diff is what changed between two scans, counting only what both covered: an address or
// port outside either scan's coverage is neither opened nor closed.
type Diff struct {
	From   string   `json:"from" doc:"The earlier scan."`
	To     string   `json:"to" doc:"The later scan."`
	Opened []Change `json:"opened"`
	Closed []Change `json:"closed"`
}

// DiffScans compares two scans. byScanner compares each scanner with itself (a vantage scan,
// where each scanner's view is the point); otherwise all scanners' results are pooled. The
// database does the heavy part: a full outer join on the index of each scan's observations
// returns only the rows present on one side.
func DiffScans(ctx context.Context, pool app.ResultsDB, from, to string, byScanner bool) (*Diff, error) {
	covFrom, err := CoverageOf(ctx, pool, from)
	if err != nil {
		return nil, err
	}
	covTo, err := CoverageOf(ctx, pool, to)
	if err != nil {
		return nil, err
	}
	common := commonCoverage(covFrom, covTo, byScanner)
	rows, err := diffRows(ctx, pool, from, to, byScanner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	d := &Diff{From: from, To: to, Opened: []Change{}, Closed: []Change{}}
	for rows.Next() {
		var scanner string
		var addr netip.Addr
		var port int32
		var opened bool
		if err := rows.Scan(&scanner, &addr, &port, &opened); err != nil {
			return nil, err
		}
		key := Key{addr.Unmap(), uint16(port)}
		sc := ""
		if byScanner {
			sc = scanner
		}
		cov, ok := common[sc]
		if !ok || !cov.Contains(key) {
			continue
		}
		ch := Change{ScannerID: sc, Address: key.Address.String(), Port: int(port), Service: ServiceName(key.Port)}
		if opened {
			d.Opened = append(d.Opened, ch)
		} else {
			d.Closed = append(d.Closed, ch)
		}
	}
	sortChanges(d.Opened)
	sortChanges(d.Closed)
	return d, rows.Err()
}

// diffRows returns the observations present in only one of two scans. The database does the
// heavy part: each scan's distinct observations, one merge join, and only the differences
// cross the wire. Pooled diffs group every scanner under the nil uuid, so both cases join on
// plain equality. Each scan's rows come out of the (scan, scanner, address, port) index
// already in join order, so this transaction steers the planner to a merge join over two
// index scans: the hash plan it picks by itself spills a million-row aggregate to disk and
// takes more than twice as long (BenchmarkDiffOneMillion).
func diffRows(ctx context.Context, pool app.ResultsDB, from, to string, byScanner bool) (pgx.Rows, error) {
	scannerCol := "'00000000-0000-0000-0000-000000000000'::uuid"
	if byScanner {
		scannerCol = "scanner_id"
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'; SET LOCAL enable_hashagg = off; SET LOCAL enable_hashjoin = off`); err != nil {
		tx.Rollback(ctx)
		return nil, err
	}
	rows, err := tx.Query(ctx, `
		SELECT COALESCE(a.scanner_id, b.scanner_id)::text, COALESCE(a.address, b.address), COALESCE(a.port, b.port), a.address IS NULL
		FROM (SELECT DISTINCT `+scannerCol+` AS scanner_id, address, port FROM observations WHERE scan_id = $1) a
		FULL OUTER JOIN (SELECT DISTINCT `+scannerCol+` AS scanner_id, address, port FROM observations WHERE scan_id = $2) b
		  ON a.scanner_id = b.scanner_id AND a.address = b.address AND a.port = b.port
		WHERE a.address IS NULL OR b.address IS NULL`, from, to)
	if err != nil {
		tx.Rollback(ctx)
		return nil, err
	}
	return &txRows{Rows: rows, tx: tx, ctx: ctx}, nil
}

// txRows ends its read-only transaction when the rows are closed.
type txRows struct {
	pgx.Rows
	tx  pgx.Tx
	ctx context.Context
}

func (r *txRows) Close() {
	r.Rows.Close()
	r.tx.Rollback(r.ctx)
}

// commonCoverage is, per scanner (or for the pooled "" key), what both scans covered.
func commonCoverage(a, b map[string]Covered, byScanner bool) map[string]Covered {
	out := map[string]Covered{}
	if !byScanner {
		out[""] = merge(a).Intersect(merge(b))
		return out
	}
	for s, ca := range a {
		if cb, ok := b[s]; ok {
			out[s] = ca.Intersect(cb)
		}
	}
	return out
}

func sortChanges(cs []Change) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.ScannerID != b.ScannerID {
			return a.ScannerID < b.ScannerID
		}
		if a.Address != b.Address {
			return netip.MustParseAddr(a.Address).Less(netip.MustParseAddr(b.Address))
		}
		return a.Port < b.Port
	})
}

// ServiceName labels a port with the catalog's service name, or "" when it has none.
func ServiceName(port uint16) string {
	if e, ok := catalog.Lookup(port); ok {
		return e.Name
	}
	return ""
}
