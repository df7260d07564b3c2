package results

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// DiffRequest asks for one page of a diff.
type DiffRequest struct {
	From, To string
	// FromSince and ToSince bound each scan's observations below (its launch, less the clock
	// skew ingest allows), so only the weekly partitions since then are read. Zero: no bound.
	FromSince, ToSince time.Time
	// ByScanner compares each scanner with itself (a vantage scan, where each scanner's view is
	// the point); otherwise all scanners' results are pooled.
	ByScanner bool
	Limit     int    // changes per page; 0 is every change
	Cursor    string // NextCursor of the previous page
}

// diffCursor is the last change of a page.
type diffCursor struct {
	Scanner string `json:"s,omitempty"`
	Address string `json:"a"`
	Port    int    `json:"p"`
}

// DiffScans compares two scans whole (every page at once): for tests and internal callers;
// the API pages with DiffPage.
func DiffScans(ctx context.Context, pool app.ResultsDB, from, to string, byScanner bool) (*Diff, error) {
	return DiffPage(ctx, pool, DiffRequest{From: from, To: to, ByScanner: byScanner})
}

// DiffPage returns one page of what changed between two scans. Each scan's observations are
// read per scanner in (address, port) order, straight off the (scan, scanner, address, port)
// index in chunks that start where the last ended, and merged here: a page costs the rows up to
// its last change, never a sort of either scan, whatever the size of history or of the diff.
func DiffPage(ctx context.Context, pool app.ResultsDB, r DiffRequest) (*Diff, error) {
	if r.Limit < 0 {
		return nil, app.Invalid("limit", "invalid_limit", "limit must be a positive whole number")
	}
	var after diffCursor
	var afterKey Key
	if r.Cursor != "" {
		err := app.DecodeCursor(r.Cursor, &after)
		addr, aerr := netip.ParseAddr(after.Address)
		if err != nil || aerr != nil || after.Port < 1 || after.Port > 65535 {
			return nil, app.Invalid("cursor", "invalid_cursor", "cursor is not one this server handed out; start again without it")
		}
		afterKey = Key{Address: addr, Port: uint16(after.Port)}
	}
	covFrom, err := CoverageOf(ctx, pool, r.From)
	if err != nil {
		return nil, err
	}
	covTo, err := CoverageOf(ctx, pool, r.To)
	if err != nil {
		return nil, err
	}
	common := commonCoverage(covFrom, covTo, r.ByScanner)
	scFrom, err := scannersOf(ctx, pool, r.From)
	if err != nil {
		return nil, err
	}
	scTo, err := scannersOf(ctx, pool, r.To)
	if err != nil {
		return nil, err
	}
	chunk := 10_000
	if r.Limit > 0 {
		chunk = min(max(2*r.Limit, 1000), 10_000)
	}
	d := &Diff{From: r.From, To: r.To, Opened: []Change{}, Closed: []Change{}}
	// Each group is merged on its own: per scanner when comparing scanner by scanner (in
	// scanner order), else one group pooling every scanner.
	groups := [][2][]*keyStream{}
	names := []string{""}
	if r.ByScanner {
		names = sortedUnion(scFrom, scTo)
		for _, sc := range names {
			groups = append(groups, [2][]*keyStream{
				streamsFor(pool, r.From, r.FromSince, []string{sc}, scFrom, chunk),
				streamsFor(pool, r.To, r.ToSince, []string{sc}, scTo, chunk)})
		}
	} else {
		groups = append(groups, [2][]*keyStream{
			streamsFor(pool, r.From, r.FromSince, scFrom, scFrom, chunk),
			streamsFor(pool, r.To, r.ToSince, scTo, scTo, chunk)})
	}
	n, last := 0, Change{}
	for gi, g := range groups {
		sc := names[gi]
		if r.Cursor != "" && r.ByScanner && sc < after.Scanner {
			continue
		}
		resume := r.Cursor != "" && (!r.ByScanner || sc == after.Scanner)
		a, b := &mergedKeys{streams: g[0]}, &mergedKeys{streams: g[1]}
		if resume {
			a.start(afterKey)
			b.start(afterKey)
		}
		cov, covered := common[sc]
		for {
			ka, okA, err := a.peek(ctx)
			if err != nil {
				return nil, err
			}
			kb, okB, err := b.peek(ctx)
			if err != nil {
				return nil, err
			}
			if !okA && !okB {
				break
			}
			var key Key
			var opened bool
			switch c := compareKeys(ka, kb, okA, okB); {
			case c == 0:
				a.pop()
				b.pop()
				continue
			case c < 0: // only in the earlier scan: closed
				key, opened = ka, false
				a.pop()
			default: // only in the later scan: opened
				key, opened = kb, true
				b.pop()
			}
			if !covered || !cov.Contains(key) {
				continue
			}
			if r.Limit > 0 && n == r.Limit {
				// One more change exists: the page ends at the last one taken.
				d.NextCursor = app.EncodeCursor(diffCursor{Scanner: last.ScannerID, Address: last.Address, Port: last.Port})
				return d, nil
			}
			ch := Change{ScannerID: sc, Address: key.Address.String(), Port: int(key.Port), Service: ServiceName(key.Port)}
			if opened {
				d.Opened = append(d.Opened, ch)
			} else {
				d.Closed = append(d.Closed, ch)
			}
			last = ch
			n++
		}
	}
	return d, nil
}

// compareKeys orders two stream heads; an exhausted stream sorts after everything.
func compareKeys(a, b Key, okA, okB bool) int {
	switch {
	case !okA:
		return 1
	case !okB:
		return -1
	}
	if c := a.Address.Compare(b.Address); c != 0 {
		return c
	}
	return int(a.Port) - int(b.Port)
}

const scannersOfSQL = `WITH RECURSIVE s(id) AS (
			(SELECT scanner_id FROM observations WHERE scan_id = $1 ORDER BY scanner_id LIMIT 1)
			UNION ALL
			SELECT (SELECT scanner_id FROM observations WHERE scan_id = $1 AND scanner_id > s.id ORDER BY scanner_id LIMIT 1)
			FROM s WHERE s.id IS NOT NULL)
		SELECT id::text FROM s WHERE id IS NOT NULL`

// scannersOf lists the scanners that stored observations for a scan, skipping through the
// (scan, scanner, ...) index one scanner at a time rather than reading the scan's rows.
func scannersOf(ctx context.Context, pool app.ResultsDB, scan string) ([]string, error) {
	rows, err := pool.Query(ctx, scannersOfSQL, scan)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func sortedUnion(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// streamsFor makes one stream per wanted scanner that has observations in the scan.
func streamsFor(pool app.ResultsDB, scan string, since time.Time, want, have []string, chunk int) []*keyStream {
	var out []*keyStream
	for _, sc := range want {
		if slices.Contains(have, sc) {
			out = append(out, &keyStream{pool: pool, scan: scan, scanner: sc, since: since, chunk: chunk})
		}
	}
	return out
}

// keyStream reads one scanner's observations of one scan in (address, port) order, a chunk at
// a time, each chunk starting after the last key read.
type keyStream struct {
	pool          app.ResultsDB
	scan, scanner string
	since         time.Time
	chunk         int
	buf           []Key
	pos           int
	after         *Key
	done          bool
}

func (s *keyStream) peek(ctx context.Context) (Key, bool, error) {
	for s.pos == len(s.buf) {
		if s.done {
			return Key{}, false, nil
		}
		if err := s.fill(ctx); err != nil {
			return Key{}, false, err
		}
	}
	return s.buf[s.pos], true, nil
}

func (s *keyStream) pop() { s.pos++ }

func (s *keyStream) fill(ctx context.Context) error {
	sql, args := diffChunkSQL(s.scan, s.scanner, s.since, s.after, s.chunk)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	s.buf, s.pos = s.buf[:0], 0
	for rows.Next() {
		var addr netip.Addr
		var port int32
		if err := rows.Scan(&addr, &port); err != nil {
			rows.Close()
			return err
		}
		s.buf = append(s.buf, Key{Address: addr.Unmap(), Port: uint16(port)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(s.buf) < s.chunk {
		s.done = true
	}
	if len(s.buf) > 0 {
		last := s.buf[len(s.buf)-1]
		s.after = &last
	}
	return nil
}

// diffChunkSQL is the one query a diff runs per chunk: an index range scan of
// (scan, scanner, address, port) from just after the last key, in index order, no sort.
func diffChunkSQL(scan, scanner string, since time.Time, after *Key, chunk int) (string, []any) {
	w := &app.Where{}
	w.Add("scan_id = " + w.Arg(scan) + "::uuid")
	w.Add("scanner_id = " + w.Arg(scanner) + "::uuid")
	if !since.IsZero() {
		w.Add("observed_at >= " + w.Arg(since))
	}
	if after != nil {
		w.Add("(address, port) > (" + w.Arg(after.Address) + "::inet, " + w.Arg(int32(after.Port)) + ")")
	}
	return `SELECT address, port FROM observations WHERE ` + w.SQL() + ` ORDER BY address, port LIMIT ` + w.Arg(chunk), w.Args()
}

// mergedKeys merges streams into one ordered sequence of distinct keys.
type mergedKeys struct {
	streams []*keyStream
	head    *Key
}

// start resumes every stream just after a page's cursor.
func (m *mergedKeys) start(after Key) {
	for _, s := range m.streams {
		a := after
		s.after = &a
	}
}

func (m *mergedKeys) peek(ctx context.Context) (Key, bool, error) {
	if m.head != nil {
		return *m.head, true, nil
	}
	var best Key
	found := false
	for _, s := range m.streams {
		k, ok, err := s.peek(ctx)
		if err != nil {
			return Key{}, false, err
		}
		if ok && (!found || compareKeys(k, best, true, true) < 0) {
			best, found = k, true
		}
	}
	if !found {
		return Key{}, false, nil
	}
	// Pop that key from every stream (a key seen twice, by two scanners of a pool or by two
	// jobs, is one fact).
	for _, s := range m.streams {
		for {
			k, ok, err := s.peek(ctx)
			if err != nil {
				return Key{}, false, err
			}
			if !ok || compareKeys(k, best, true, true) != 0 {
				break
			}
			s.pop()
		}
	}
	m.head = &best
	return best, true, nil
}

func (m *mergedKeys) pop() { m.head = nil }

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
