package results

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

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

// wantedByKeyMax is how many wanted ports of one scanner the second pass of EachWantedOpenPort
// reads by key; past it, reading the scanner's rows again in one pass is cheaper. A key costs
// an index probe in every weekly partition (the runtime role reads observations through the
// parent only, and the scan's weeks are not known): about 1.5 µs each, so 5,000 keys against a
// year of weeks cost about what a million-row scanner's second stream does.
var wantedByKeyMax = 5_000

// EachWantedOpenPort is EachOpenPort for a caller that needs the details of few of a scan's
// ports, as findings does (of a million open ports, those its baselines do not allow). want
// sees the address and port of every observation the scan stored (a port reported twice, twice)
// and says whether the caller needs it; fn then gets every observation of each wanted port,
// scanner and time included, exactly as EachOpenPort would have given them.
//
// It reads in two passes over one snapshot. The first streams only (address, port), one
// scanner at a time, as binary COPY through the (scan, scanner, address, port) index: half the
// bytes of whole rows, and less work per row than a query's result rows. The second reads the
// wanted ports by key through the same index (or, when a scanner has very many, its rows again).
func EachWantedOpenPort(ctx context.Context, pool app.ResultsDB, scanID string, want func(Key) bool, fn func(ScanPort) error) error {
	if _, err := uuid.Parse(scanID); err != nil {
		return app.Invalid("scan_id", "invalid_id", "scan_id must be a uuid")
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, scannersOfSQL, scanID)
	if err != nil {
		return err
	}
	scanners, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, scanner := range scanners {
		wanted := map[Key]struct{}{} // as stored: an IPv4-mapped address stays IPv6, to be found again
		err := copyRows(ctx, tx, portsCopy{scan: scanID, scanner: scanner}.sql(), 2, func(f [][]byte) error {
			k, err := keyOfCopy(f)
			if err != nil {
				return err
			}
			if want(unmapped(k)) {
				wanted[k] = struct{}{}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(wanted) == 0 {
			continue
		}
		if len(wanted) > wantedByKeyMax {
			err = copyRows(ctx, tx, portsCopy{scan: scanID, scanner: scanner, withTime: true}.sql(), 3, func(f [][]byte) error {
				k, err := keyOfCopy(f)
				if err != nil {
					return err
				}
				if _, ok := wanted[k]; !ok {
					return nil
				}
				if len(f[2]) != 8 {
					return fmt.Errorf("results: observed_at of %d bytes in binary COPY", len(f[2]))
				}
				return fn(ScanPort{Key: unmapped(k), ScannerID: scanner, ObservedAt: pgTime(int64(binary.BigEndian.Uint64(f[2])))})
			})
		} else {
			err = eachByKey(ctx, tx, scanID, scanner, wanted, fn)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// scanPortsByKeySQL reads one scanner's observations of given ports of a scan, one index probe
// per port. OFFSET 0 keeps the lateral subquery a subquery: as a plain join, the planner, when
// the scan's rows are fresh and not analysed yet, may hash all of the scan's rows instead.
const scanPortsByKeySQL = `SELECT o.address, o.port, o.observed_at FROM unnest($3::inet[], $4::int[]) AS k(address, port)
	CROSS JOIN LATERAL (SELECT address, port, observed_at FROM observations
		WHERE scan_id = $1 AND scanner_id = $2 AND address = k.address AND port = k.port OFFSET 0) AS o`

func eachByKey(ctx context.Context, tx pgx.Tx, scanID, scanner string, wanted map[Key]struct{}, fn func(ScanPort) error) error {
	addrs, ports := make([]netip.Addr, 0, len(wanted)), make([]int32, 0, len(wanted))
	for k := range wanted {
		addrs, ports = append(addrs, k.Address), append(ports, int32(k.Port))
	}
	rows, err := tx.Query(ctx, scanPortsByKeySQL, scanID, scanner, addrs, ports)
	if err != nil {
		return err
	}
	defer rows.Close()
	o := ScanPort{ScannerID: scanner}
	var addr netip.Addr
	var port int32
	_, err = pgx.ForEachRow(rows, []any{&addr, &port, &o.ObservedAt}, func() error {
		o.Key = Key{Address: addr.Unmap(), Port: uint16(port)}
		return fn(o)
	})
	return err
}

// portsCopy picks one scanner's observations of a scan for a binary COPY: address and port,
// and the time too when withTime. COPY takes no parameters, so every value goes into the text
// as a literal made here from a parsed value: both ids are uuids (the scan's checked on entry,
// the scanner's read from a uuid column), so MustParse cannot fail and quoting them is safe.
type portsCopy struct {
	scan, scanner string
	withTime      bool
	// A diff's stream and a key set's chunk set these: the rows come in (address, port) order,
	// straight off the (scan, scanner, address, port) index, from just after after, at most
	// limit of them (0: every row, in no order). No bound on observed_at: it is not in the
	// index, so one would fetch every row from the table, where the index alone answers once
	// the table is vacuumed (the whole diff of two 1M-row scans took 1.2-1.4 s without it,
	// 2.0-2.2 s with).
	after *Key
	limit int
}

// query is the COPY's SELECT.
func (c portsCopy) query() string {
	cols := "address, port"
	if c.withTime {
		cols += ", observed_at"
	}
	q := `SELECT ` + cols + ` FROM observations WHERE scan_id = '` + uuid.MustParse(c.scan).String() +
		`' AND scanner_id = '` + uuid.MustParse(c.scanner).String() + `'`
	if c.after != nil {
		q += fmt.Sprintf(` AND (address, port) > ('%s'::inet, %d)`, c.after.Address.WithZone("").String(), c.after.Port)
	}
	if c.limit > 0 {
		q += fmt.Sprintf(` ORDER BY address, port LIMIT %d`, c.limit)
	}
	return q
}

func (c portsCopy) sql() string { return `COPY (` + c.query() + `) TO STDOUT (FORMAT binary)` }

// unmapped is the key with an IPv4-mapped IPv6 address as IPv4, as EachOpenPort gives it.
func unmapped(k Key) Key { return Key{Address: k.Address.Unmap(), Port: k.Port} }

// keyOfCopy reads an address (inet) and port (integer) in PostgreSQL's binary format, the
// address as stored.
func keyOfCopy(f [][]byte) (Key, error) {
	a, p := f[0], f[1]
	if len(p) != 4 || len(a) < 4 || int(a[3]) != len(a)-4 {
		return Key{}, fmt.Errorf("results: malformed address or port in binary COPY")
	}
	var addr netip.Addr
	switch a[3] {
	case 4:
		addr = netip.AddrFrom4([4]byte(a[4:8]))
	case 16:
		addr = netip.AddrFrom16([16]byte(a[4:20]))
	default:
		return Key{}, fmt.Errorf("results: an address of %d bytes in binary COPY", a[3])
	}
	return Key{Address: addr, Port: uint16(binary.BigEndian.Uint32(p))}, nil
}

// pgTime is a timestamptz in PostgreSQL's binary format: microseconds since 2000-01-01 UTC.
func pgTime(us int64) time.Time { return time.UnixMicro(us + postgresEpoch) }

// copyRows runs a COPY ... TO STDOUT (FORMAT binary) and calls row with each row's fields
// (which it must not keep: they are reused); every field must be non-null, and every row
// have n of them.
func copyRows(ctx context.Context, tx pgx.Tx, sql string, n int, row func([][]byte) error) error {
	r := &binaryCopyReader{fields: make([][]byte, n), row: row}
	if _, err := tx.Conn().PgConn().CopyTo(ctx, r, sql); err != nil {
		return err
	}
	if !r.done {
		return fmt.Errorf("results: binary COPY ended without its trailer")
	}
	return nil
}

// copySignature opens every binary COPY stream.
var copySignature = []byte("PGCOPY\n\xff\r\n\x00")

// binaryCopyReader parses PostgreSQL's binary COPY format as the stream arrives: a header,
// then per row a 16-bit field count and each field as a 32-bit length and its bytes, then a
// count of -1. A row split across writes waits in buf for the rest.
type binaryCopyReader struct {
	buf    []byte
	header bool
	done   bool
	fields [][]byte
	row    func([][]byte) error
}

func (r *binaryCopyReader) Write(p []byte) (int, error) {
	data := p
	if len(r.buf) > 0 {
		r.buf = append(r.buf, p...)
		data = r.buf
	}
	used, err := r.parse(data)
	r.buf = append(r.buf[:0], data[used:]...)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// parse consumes whole items of data and returns how many bytes they took.
func (r *binaryCopyReader) parse(data []byte) (int, error) {
	at := 0
	if !r.header {
		if len(data) < len(copySignature)+8 {
			return 0, nil
		}
		if !bytes.Equal(data[:len(copySignature)], copySignature) {
			return 0, fmt.Errorf("results: not a binary COPY stream")
		}
		ext := int(binary.BigEndian.Uint32(data[len(copySignature)+4:]))
		at = len(copySignature) + 8 + ext
		if len(data) < at {
			return 0, nil
		}
		r.header = true
	}
	for at < len(data) {
		if r.done {
			return at, fmt.Errorf("results: data after the binary COPY trailer")
		}
		if len(data)-at < 2 {
			return at, nil
		}
		count := int16(binary.BigEndian.Uint16(data[at:]))
		if count == -1 {
			r.done = true
			at += 2
			continue
		}
		if int(count) != len(r.fields) {
			return at, fmt.Errorf("results: a binary COPY row of %d fields, not %d", count, len(r.fields))
		}
		next := at + 2
		for i := range r.fields {
			if len(data)-next < 4 {
				return at, nil
			}
			size := int32(binary.BigEndian.Uint32(data[next:]))
			if size < 0 {
				return at, fmt.Errorf("results: a null field in binary COPY")
			}
			next += 4
			if len(data)-next < int(size) {
				return at, nil
			}
			r.fields[i] = data[next : next+int(size)]
			next += int(size)
		}
		if err := r.row(r.fields); err != nil {
			return at, err
		}
		at = next
	}
	return at, nil
}
