package results

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// A completed scan's key set (scan_key_sets, scan_key_chunks) is its open ports as each scanner
// found them: the distinct (address, port) keys in order, packed, in chunks of keySetChunk.
// It is made once, when the scan completes (ComputeOutcome), from one pass over the scan's
// observations; every later diff of the scan reads a few dozen chunks instead of a million
// index entries, whatever the size of the history. It is current while the scan has the
// batches it was made from: a batch stored later makes it stale, and the diff reads the
// observations until it is made again.

// keySetChunk is how many keys one chunk holds: about half a megabyte of IPv4 keys, so a page
// of a diff reads little past its cursor and a whole diff few rows.
var keySetChunk = 1 << 16

// packKey appends a key, its address as stored, packed so that packed keys sort as keys do
// (and as the index does): a family byte (4 before 6), the address, the port, big-endian.
func packKey(dst []byte, k Key) []byte {
	if k.Address.Is4() {
		a := k.Address.As4()
		dst = append(append(dst, 4), a[:]...)
	} else {
		a := k.Address.As16()
		dst = append(append(dst, 6), a[:]...)
	}
	return binary.BigEndian.AppendUint16(dst, k.Port)
}

// unpackKeys appends the keys packed in b to dst.
func unpackKeys(dst []Key, b []byte) ([]Key, error) {
	for len(b) > 0 {
		switch {
		case b[0] == 4 && len(b) >= 7:
			dst = append(dst, Key{Address: netip.AddrFrom4([4]byte(b[1:5])), Port: binary.BigEndian.Uint16(b[5:7])})
			b = b[7:]
		case b[0] == 6 && len(b) >= 19:
			dst = append(dst, Key{Address: netip.AddrFrom16([16]byte(b[1:17])), Port: binary.BigEndian.Uint16(b[17:19])})
			b = b[19:]
		default:
			return dst, fmt.Errorf("results: a malformed key set chunk")
		}
	}
	return dst, nil
}

// keySetSQL finds a scan's current key set: one made when the scan had the batches it has now.
const keySetSQL = `SELECT scanners::text[], distinct_keys FROM scan_key_sets
	WHERE scan_id = $1 AND batches = (SELECT count(*) FROM result_batches WHERE scan_id = $1)`

// keySetOf returns the scanners and distinct keys of a scan's current key set; ok is false
// when it has none (not made yet, or stale).
func keySetOf(ctx context.Context, q app.Querier, scan string) (scanners []string, distinct int, ok bool, err error) {
	err = q.QueryRow(ctx, keySetSQL, scan).Scan(&scanners, &distinct)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, false, nil
	}
	return scanners, distinct, err == nil, err
}

// MakeKeySet makes a scan's key set, unless it has a current one, and returns the scan's
// distinct open (address, port) keys across its scanners. The set is read and written in one
// snapshot with the batch count it is checked against, so a batch stored meanwhile leaves it
// stale, never wrong.
func MakeKeySet(ctx context.Context, pool app.ResultsDB, scan string) (distinct int, err error) {
	if _, err := uuid.Parse(scan); err != nil {
		return 0, app.Invalid("scan_id", "invalid_id", "scan_id must be a uuid")
	}
	err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		_, n, ok, err := keySetOf(ctx, tx, scan)
		if err != nil || ok {
			distinct = n
			return err
		}
		distinct, err = makeKeySet(ctx, tx, scan)
		return err
	})
	return distinct, err
}

func makeKeySet(ctx context.Context, tx pgx.Tx, scan string) (int, error) {
	if _, err := tx.Exec(ctx, inIndexOrderSQL); err != nil {
		return 0, err
	}
	scanners, err := scannersOf(ctx, tx, scan)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM scan_key_sets WHERE scan_id = $1`, scan); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO scan_key_sets (scan_id, scanners, batches, distinct_keys, made_at)
		VALUES ($1, $2::uuid[], (SELECT count(*) FROM result_batches WHERE scan_id = $1), 0, now())`, scan, scanners); err != nil {
		return 0, err
	}
	for _, sc := range scanners {
		if err := writeKeyChunks(ctx, tx, scan, sc); err != nil {
			return 0, err
		}
	}
	// The pooled count merges the scanners' chunks just written: a port two scanners found
	// is one open port of the scan.
	streams := make([]keySource, len(scanners))
	for i, sc := range scanners {
		streams[i] = &chunkStream{tx: tx, scan: scan, scanner: sc}
	}
	distinct, err := countKeys(ctx, &mergedKeys{streams: streams})
	if err != nil {
		return 0, err
	}
	// The oldest observation, for retention: one more pass over the scan's rows, once.
	_, err = tx.Exec(ctx, `UPDATE scan_key_sets SET distinct_keys = $2, first_observed = (`+oldestOfScanSQL+`) WHERE scan_id = $1`, scan, distinct)
	return distinct, err
}

const oldestOfScanSQL = `SELECT min(observed_at) FROM observations WHERE scan_id = $1`

// writeKeyChunks writes one scanner's keys of a scan, read as a diff reads them (keyStream),
// once each, keySetChunk to a chunk, so a scan of any size holds a chunk or two in memory. A
// port the scanner reported twice (two jobs) comes twice in a row and is taken once.
func writeKeyChunks(ctx context.Context, tx pgx.Tx, scan, scanner string) error {
	keys := &keyStream{tx: tx, scan: scan, scanner: scanner, chunk: keySetChunk}
	var packed []byte
	var last Key
	taken, n, seq := false, 0, 0
	flush := func() error {
		_, err := tx.Exec(ctx, `INSERT INTO scan_key_chunks (scan_id, scanner_id, seq, last_key, keys) VALUES ($1, $2, $3, $4, $5)`,
			scan, scanner, seq, packKey(nil, last), packed)
		packed, n, seq = packed[:0], 0, seq+1
		return err
	}
	for {
		k, ok, err := keys.peek(ctx)
		if err != nil || !ok {
			if err == nil && n > 0 {
				err = flush()
			}
			return err
		}
		keys.pop()
		if taken && k == last {
			continue
		}
		packed, last, taken, n = packKey(packed, k), k, true, n+1
		if n == keySetChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// countKeys counts the distinct keys of a merge.
func countKeys(ctx context.Context, m *mergedKeys) (int, error) {
	n := 0
	for {
		_, ok, err := m.peek(ctx)
		if err != nil || !ok {
			return n, err
		}
		m.pop()
		n++
	}
}

// chunkStream reads one scanner's keys of a scan from its key set, a chunk at a time.
type chunkStream struct {
	tx            pgx.Tx
	scan, scanner string
	seq           int // the next chunk's
	keyBuf
}

func (s *chunkStream) peek(ctx context.Context) (Key, bool, error) { return s.next(ctx, s.fill) }

const chunkSQL = `SELECT seq, keys FROM scan_key_chunks WHERE scan_id = $1 AND scanner_id = $2 AND seq >= $3
	AND last_key > $4 ORDER BY seq LIMIT 1`

// fill reads the next chunk: when resuming, the first whose last key is past the cursor.
func (s *chunkStream) fill(ctx context.Context) error {
	after := []byte{} // before every key (a nil one would be NULL)
	if s.after != nil {
		after = packKey(nil, *s.after)
	}
	var seq int
	var packed []byte
	err := s.tx.QueryRow(ctx, chunkSQL, s.scan, s.scanner, s.seq, after).Scan(&seq, &packed)
	if errors.Is(err, pgx.ErrNoRows) {
		s.done, s.buf, s.pos = true, s.buf[:0], 0
		return nil
	}
	if err != nil {
		return err
	}
	if s.buf, err = unpackKeys(s.buf[:0], packed); err != nil {
		return err
	}
	s.pos, s.seq = 0, seq+1
	if s.after != nil {
		for s.pos < len(s.buf) && compareKeys(s.buf[s.pos], *s.after, true, true) <= 0 {
			s.pos++
		}
		s.after = nil
	}
	return nil
}
