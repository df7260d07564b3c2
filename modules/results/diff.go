package results

import (
	"context"
	"net/netip"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// DiffRequest asks for one page of a diff.
type DiffRequest struct {
	From, To string
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

// DiffPage returns one page of what changed between two scans. Each scan's keys are read per
// scanner in (address, port) order — a completed scan's from its key set (keyset.go), a few
// dozen packed chunks; any other's straight off the (scan, scanner, address, port) index as
// binary COPY (as EachWantedOpenPort reads them) in chunks that start where the last ended —
// and merged here: a page costs the keys up to its last change, never a sort of either scan
// nor a whole row, whatever the size of history or of the diff. One read-only snapshot serves
// every chunk, so a page never mixes two states of a scan.
func DiffPage(ctx context.Context, pool app.ResultsDB, r DiffRequest) (*Diff, error) {
	if r.Limit < 0 {
		return nil, app.Invalid("limit", "invalid_limit", "limit must be a positive whole number")
	}
	for _, f := range []struct{ field, id string }{{"from", r.From}, {"to", r.To}} {
		if _, err := uuid.Parse(f.id); err != nil {
			return nil, app.Invalid(f.field, "invalid_id", f.field+" must be a scan id")
		}
	}
	var after diffCursor
	var afterKey Key
	if r.Cursor != "" {
		err := app.DecodeCursor(r.Cursor, &after)
		addr, aerr := netip.ParseAddr(after.Address)
		if err != nil || aerr != nil || addr.Zone() != "" || after.Port < 1 || after.Port > 65535 {
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
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, inIndexOrderSQL); err != nil {
		return nil, err
	}
	from, err := scanKeysOf(ctx, tx, r.From)
	if err != nil {
		return nil, err
	}
	to, err := scanKeysOf(ctx, tx, r.To)
	if err != nil {
		return nil, err
	}
	chunk := diffChunkMax
	if r.Limit > 0 {
		chunk = min(max(2*r.Limit, 1000), diffChunkMax)
	}
	d := &Diff{From: r.From, To: r.To, Opened: []Change{}, Closed: []Change{}}
	// Each group is merged on its own: per scanner when comparing scanner by scanner (in
	// scanner order), else one group pooling every scanner.
	groups := [][2][]keySource{}
	names := []string{""}
	if r.ByScanner {
		names = sortedUnion(from.scanners, to.scanners)
		for _, sc := range names {
			groups = append(groups, [2][]keySource{from.streams(tx, []string{sc}, chunk), to.streams(tx, []string{sc}, chunk)})
		}
	} else {
		groups = append(groups, [2][]keySource{from.streams(tx, from.scanners, chunk), to.streams(tx, to.scanners, chunk)})
	}
	n, last, lastScanner := 0, Key{}, ""
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
			shown := unmapped(key)
			if !covered || !cov.Contains(shown) {
				continue
			}
			if r.Limit > 0 && n == r.Limit {
				// One more change exists: the page ends at the last one taken. The cursor
				// holds the address as stored, where the next page's streams resume.
				d.NextCursor = app.EncodeCursor(diffCursor{Scanner: lastScanner, Address: last.Address.String(), Port: int(last.Port)})
				return d, nil
			}
			ch := Change{ScannerID: sc, Address: shown.Address.String(), Port: int(key.Port), Service: ServiceName(key.Port)}
			if opened {
				d.Opened = append(d.Opened, ch)
			} else {
				d.Closed = append(d.Closed, ch)
			}
			last, lastScanner = key, sc
			n++
		}
	}
	return d, nil
}

// inIndexOrderSQL makes the diff's snapshot read its streams off the index, in order. A scan is
// diffed when it completes, before its fresh rows are analysed: the planner, believing a scan
// has a few dozen rows, would rather bitmap-scan and sort all of them, for every chunk (a
// million-row scan's chunk of 128k keys took 1.4 to 2.3 s that way, 0.2 s off the index).
const inIndexOrderSQL = `SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)`

// diffChunkMax is the most keys a diff reads from one stream at a time: a COPY per 128k keys
// costs little next to their transfer, and holds 4 MB per stream, not the whole scan. A paged
// diff starts with smaller chunks and doubles them, so a page of few changes reads few keys
// and a page whose changes are sparse still reads few COPYs.
const diffChunkMax = 1 << 17

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
func scannersOf(ctx context.Context, q app.Querier, scan string) ([]string, error) {
	rows, err := q.Query(ctx, scannersOfSQL, scan)
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

// scanKeys is where a diff reads one scan's keys: its key set when it has a current one (a
// completed scan), else its observations (a running scan, or one completed a moment ago).
type scanKeys struct {
	scan     string
	scanners []string // those with observations, in order
	set      bool
}

func scanKeysOf(ctx context.Context, tx pgx.Tx, scan string) (scanKeys, error) {
	scanners, _, ok, err := keySetOf(ctx, tx, scan)
	if err == nil && !ok {
		scanners, err = scannersOf(ctx, tx, scan)
	}
	return scanKeys{scan: scan, scanners: scanners, set: ok}, err
}

// streams makes one stream per wanted scanner that has observations in the scan; chunk is
// the first chunk of a stream read from the observations.
func (s scanKeys) streams(tx pgx.Tx, want []string, chunk int) []keySource {
	var out []keySource
	for _, sc := range want {
		switch {
		case !slices.Contains(s.scanners, sc):
		case s.set:
			out = append(out, &chunkStream{tx: tx, scan: s.scan, scanner: sc})
		default:
			out = append(out, &keyStream{tx: tx, scan: s.scan, scanner: sc, chunk: chunk})
		}
	}
	return out
}

// keySource gives one scanner's keys of one scan in (address, port) order, addresses as
// stored: from its observations (keyStream) or its key set (chunkStream).
type keySource interface {
	peek(ctx context.Context) (Key, bool, error)
	pop()
	resume(after Key) // start just after a page's cursor
}

// keyStream reads one scanner's keys of one scan in (address, port) order, addresses as
// stored (so the order is the index's), a chunk at a time, each starting after the last key.
type keyStream struct {
	tx            pgx.Tx
	scan, scanner string
	chunk         int
	keyBuf
}

func (s *keyStream) peek(ctx context.Context) (Key, bool, error) { return s.next(ctx, s.fill) }

// keyBuf is what both key sources keep: the keys read ahead, where the next one is, the key a
// page resumes after, and whether the source is read to its end.
type keyBuf struct {
	buf   []Key
	pos   int
	after *Key
	done  bool
}

// next is the next key, filling buf when it is used up until the source is done.
func (b *keyBuf) next(ctx context.Context, fill func(context.Context) error) (Key, bool, error) {
	for b.pos == len(b.buf) {
		if b.done {
			return Key{}, false, nil
		}
		if err := fill(ctx); err != nil {
			return Key{}, false, err
		}
	}
	return b.buf[b.pos], true, nil
}

func (b *keyBuf) pop() { b.pos++ }

func (b *keyBuf) resume(after Key) { b.after = &after }

// filled notes a chunk of at most chunk keys just read into buf: a short one is the source's
// end, and the next chunk starts after its last key.
func (b *keyBuf) filled(chunk int) {
	b.done = len(b.buf) < chunk
	if len(b.buf) > 0 {
		last := b.buf[len(b.buf)-1]
		b.after = &last
	}
}

func (s *keyStream) fill(ctx context.Context) error {
	s.buf, s.pos = s.buf[:0], 0
	c := portsCopy{scan: s.scan, scanner: s.scanner, after: s.after, limit: s.chunk}
	err := copyRows(ctx, s.tx, c.sql(), 2, func(f [][]byte) error {
		k, err := keyOfCopy(f)
		s.buf = append(s.buf, k)
		return err
	})
	if err != nil {
		return err
	}
	s.filled(s.chunk)
	s.chunk = min(2*s.chunk, diffChunkMax)
	return nil
}

// mergedKeys merges streams into one ordered sequence of distinct keys.
type mergedKeys struct {
	streams []keySource
	// head is the next key while held: a value, as a pointer cost an allocation per key.
	head Key
	held bool
}

// start resumes every stream just after a page's cursor.
func (m *mergedKeys) start(after Key) {
	for _, s := range m.streams {
		s.resume(after)
	}
}

func (m *mergedKeys) peek(ctx context.Context) (Key, bool, error) {
	if m.held {
		return m.head, true, nil
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
	m.head, m.held = best, true
	return best, true, nil
}

func (m *mergedKeys) pop() { m.held = false }

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
