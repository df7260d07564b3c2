package results

import (
	"context"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Open now (open_now, sql/results/00250) is what each template's latest completed scan found
// open, one row per scanner, address and port, with when the port opened in the template's
// scans. It is kept when a scan completes (recordOutcome), and by the first read that finds a
// template's rows of an older scan than its latest (a read moments after a completion, or the
// first after an upgrade). Keeping a template compares the scan's keys with the template's rows,
// both in key order, and writes only the difference: a rescan that changes nothing writes one
// row of open_now_scans. So ingest writes nothing for it, and the Open ports page reads a small
// table whatever the years of history kept.

// keptScan is the scan a template's rows of open_now are of.
type keptScan struct {
	Template, Scan string
	First, Last    *time.Time // the scan's oldest and newest observations (nil: it has none)
}

// keepChanges is how many added or removed ports keepOpenNow sends in one statement.
const keepChanges = 10_000

// keepOpenNow makes a template's rows of open_now the open ports of scan, its latest completed
// scan, in one transaction, unless they already are; two keepers of one template take turns on
// its open_now_scans row.
func keepOpenNow(ctx context.Context, pool app.ResultsDB, scan ScanRef) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO open_now_scans (template_id) VALUES ($1) ON CONFLICT DO NOTHING`, scan.TemplateID); err != nil {
			return err
		}
		var held *string
		var had []string
		if err := tx.QueryRow(ctx, `SELECT scan_id::text, scanners::text[] FROM open_now_scans WHERE template_id = $1 FOR UPDATE`,
			scan.TemplateID).Scan(&held, &had); err != nil {
			return err
		}
		if held != nil && *held == scan.ID {
			return nil
		}
		var first, last *time.Time
		if err := tx.QueryRow(ctx, `SELECT min(observed_at), max(observed_at) FROM observations WHERE scan_id = $1`, scan.ID).Scan(&first, &last); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, inIndexOrderSQL); err != nil {
			return err
		}
		keys, err := scanKeysOf(ctx, tx, scan.ID)
		if err != nil {
			return err
		}
		k := keptScan{Template: scan.TemplateID, Scan: scan.ID, First: first, Last: last}
		for _, sc := range sortedUnion(keys.scanners, had) {
			found := &mergedKeys{streams: keys.streams(tx, []string{sc}, diffChunkMax)}
			if err := keepScanner(ctx, tx, k, sc, found); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE open_now_scans SET scan_id = $2, finished_at = $3, scanners = $4::uuid[], first_observed = $5,
			last_observed = $6, kept_at = now() WHERE template_id = $1`, scan.TemplateID, scan.ID, scan.At, keys.scanners, first, last)
		return err
	})
}

// keepScanner merges one scanner's rows of a template (held) with the keys its scan found:
// a row whose port the scan did not find goes, a key the rows lack comes in, with the time
// the scan saw it as first_seen. A removal or addition is behind both streams' read-ahead,
// so neither stream reads what the merge wrote.
func keepScanner(ctx context.Context, tx pgx.Tx, k keptScan, scanner string, found *mergedKeys) error {
	held := &openNowStream{tx: tx, template: k.Template, scanner: scanner}
	if _, ok, err := held.peek(ctx); err != nil || !ok {
		if err == nil { // no rows yet: every port is new, taken in one pass over the scan
			_, err = tx.Exec(ctx, addScannerSQL, k.Template, scanner, k.Scan, k.First, k.Last)
		}
		return err
	}
	var gone, added []Key
	flush := func(min int) error {
		if len(gone) >= min && len(gone) > 0 {
			if err := dropOpen(ctx, tx, k, scanner, gone); err != nil {
				return err
			}
			gone = gone[:0]
		}
		if len(added) >= min && len(added) > 0 {
			if err := addOpen(ctx, tx, k, scanner, added); err != nil {
				return err
			}
			added = added[:0]
		}
		return nil
	}
	for {
		a, okA, err := held.peek(ctx)
		if err != nil {
			return err
		}
		b, okB, err := found.peek(ctx)
		if err != nil {
			return err
		}
		if !okA && !okB {
			return flush(0)
		}
		switch c := compareKeys(a, b, okA, okB); {
		case c < 0:
			gone = append(gone, a)
			held.pop()
		case c > 0:
			added = append(added, b)
			found.pop()
		default:
			held.pop()
			found.pop()
		}
		if err := flush(keepChanges); err != nil {
			return err
		}
	}
}

func keyArrays(keys []Key) ([]netip.Addr, []int32) {
	addrs, ports := make([]netip.Addr, len(keys)), make([]int32, len(keys))
	for i, k := range keys {
		addrs[i], ports[i] = k.Address, int32(k.Port)
	}
	return addrs, ports
}

const dropOpenSQL = `DELETE FROM open_now o USING unnest($3::inet[], $4::int[]) k(a, p)
	WHERE o.template_id = $1 AND o.scanner_id = $2 AND o.address = k.a AND o.port = k.p`

func dropOpen(ctx context.Context, tx pgx.Tx, k keptScan, scanner string, keys []Key) error {
	addrs, ports := keyArrays(keys)
	_, err := tx.Exec(ctx, dropOpenSQL, k.Template, scanner, addrs, ports)
	return err
}

// addOpenSQL adds ports that opened, each first seen when the scan first saw it: one probe of
// the scan's index, inside the scan's weeks, per port that opened.
const addOpenSQL = `INSERT INTO open_now (first_seen, port, template_id, scanner_id, address)
	SELECT COALESCE((SELECT min(o.observed_at) FROM observations o WHERE o.scan_id = $3 AND o.scanner_id = $2 AND o.address = k.a
		AND o.port = k.p AND o.observed_at BETWEEN $4 AND $5), $4), k.p, $1, $2, k.a
	FROM unnest($6::inet[], $7::int[]) k(a, p)`

// addScannerSQL adds every port a scanner's scan found, to a template that has no rows of the
// scanner: one pass over the scan's rows of it, in its index's order, instead of a probe each.
const addScannerSQL = `INSERT INTO open_now (first_seen, port, template_id, scanner_id, address)
	SELECT min(observed_at), port, $1, $2, address FROM observations
	WHERE scan_id = $3 AND scanner_id = $2 AND observed_at BETWEEN $4 AND $5 GROUP BY address, port`

func addOpen(ctx context.Context, tx pgx.Tx, k keptScan, scanner string, keys []Key) error {
	addrs, ports := keyArrays(keys)
	_, err := tx.Exec(ctx, addOpenSQL, k.Template, scanner, k.Scan, k.First, k.Last, addrs, ports)
	return err
}

// openNowStream reads one scanner's rows of a template in key order, a chunk at a time.
type openNowStream struct {
	tx                pgx.Tx
	template, scanner string
	keyBuf
}

func (s *openNowStream) peek(ctx context.Context) (Key, bool, error) { return s.next(ctx, s.fill) }

// openNowChunkSQL reads a chunk of one scanner's rows of a template after a key.
const openNowChunkSQL = `SELECT address, port FROM open_now WHERE template_id = $1 AND scanner_id = $2 AND (address, port) > ($3::inet, $4)
	ORDER BY address, port LIMIT $5`

// beforeEveryKey is a key before any: 0.0.0.0/0 sorts before every address, IPv4 before IPv6.
var beforeEveryKey = netip.MustParsePrefix("0.0.0.0/0")

func (s *openNowStream) fill(ctx context.Context) error {
	after, port := beforeEveryKey, int32(-1)
	if s.after != nil {
		after, port = netip.PrefixFrom(s.after.Address, s.after.Address.BitLen()), int32(s.after.Port)
	}
	rows, err := s.tx.Query(ctx, openNowChunkSQL, s.template, s.scanner, after, port, diffChunkMax)
	s.buf, err = app.Collect(rows, err, func(row pgx.Row) (Key, error) {
		var k Key
		var port int32
		err := row.Scan(&k.Address, &port)
		k.Port = uint16(port)
		return k, err
	})
	s.pos = 0
	if err == nil {
		s.filled(diffChunkMax)
	}
	return err
}

// keptScans returns what the rows of open_now are of for the templates of the given scans, each
// template's latest completed scan, keeping first any template whose rows are of another scan
// (so config's latest scan wins, even over a later one a config restore took back). They come
// in the order of scans.
func keptScans(ctx context.Context, pool app.ResultsDB, scans []ScanRef) ([]keptScan, error) {
	read := func() (map[string]keptScan, error) {
		templates := make([]string, len(scans))
		for i, s := range scans {
			templates[i] = s.TemplateID
		}
		rows, err := pool.Query(ctx, `SELECT template_id::text, scan_id::text, first_observed, last_observed FROM open_now_scans
			WHERE template_id = ANY ($1::uuid[]) AND scan_id IS NOT NULL`, templates)
		list, err := app.Collect(rows, err, func(row pgx.Row) (keptScan, error) {
			var k keptScan
			return k, row.Scan(&k.Template, &k.Scan, &k.First, &k.Last)
		})
		byTemplate := map[string]keptScan{}
		for _, k := range list {
			byTemplate[k.Template] = k
		}
		return byTemplate, err
	}
	kept, err := read()
	if err != nil {
		return nil, err
	}
	stale := false
	for _, s := range scans {
		if kept[s.TemplateID].Scan != s.ID {
			if err := keepOpenNow(ctx, pool, s); err != nil {
				return nil, err
			}
			stale = true
		}
	}
	if stale {
		if kept, err = read(); err != nil {
			return nil, err
		}
	}
	out := make([]keptScan, 0, len(scans))
	for _, s := range scans {
		if k, ok := kept[s.TemplateID]; ok {
			out = append(out, k)
		}
	}
	return out, nil
}
