package results

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/app/apptest"
)

// wantedScan stores one scan's observations from three scanners, with the repeats a real scan
// has (a port two scanners saw, a port one scanner reported in two batches), IPv4, IPv6 and
// IPv4-mapped addresses, and rows in two weeks' partitions and the default one; and another
// scan's rows at the same addresses, which must never show. It returns the scan's id.
func wantedScan(t *testing.T, pool app.ResultsDB) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := EnsurePartitions(ctx, pool, now.AddDate(0, 0, -7), now.Add(PartitionsAhead)); err != nil {
		t.Fatal(err)
	}
	scan, other := uuid.NewString(), uuid.NewString()
	scanners := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	r := rand.New(rand.NewPCG(1, 2))
	var addrs []netip.Addr
	for i := 0; i < 40; i++ {
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, 1, byte(i / 10), byte(i)}))
	}
	for i := 0; i < 10; i++ {
		addrs = append(addrs, netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i)), netip.MustParseAddr(fmt.Sprintf("::ffff:10.2.0.%d", i)))
	}
	times := []time.Time{now, now.Add(-time.Minute), now.AddDate(0, 0, -7), now.AddDate(0, 0, -400)} // the last: no partition
	jobs := map[string]string{}
	for s, scanner := range scanners {
		jobs[scan+scanner], jobs[other+scanner] = uuid.NewString(), uuid.NewString()
		for seq := 1; seq <= 2; seq++ {
			for _, id := range []string{scan, other} {
				var obs []Observation
				for _, a := range addrs {
					for p := uint16(1); p <= 6; p++ {
						if r.IntN(3) == 0 {
							obs = append(obs, Observation{Address: a, Port: p + uint16(s), ObservedAt: times[r.IntN(len(times))]})
						}
					}
				}
				if _, err := Insert(ctx, pool, Batch{JobID: jobs[id+scanner], ScanID: id, ScannerID: scanner, Seq: seq, Observations: obs}, now); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return scan
}

func portLine(o ScanPort) string {
	return fmt.Sprintf("%s %s:%d %s", o.ScannerID, o.Address, o.Port, o.ObservedAt.UTC().Format(time.RFC3339Nano))
}

// EachWantedOpenPort gives exactly what EachOpenPort gives of the wanted ports: every
// observation of each, with its scanner and time; reading by key and (past wantedByKeyMax)
// reading a scanner's rows again alike, and want sees every observation once.
func TestEachWantedOpenPortIsEachOpenPortFiltered(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	scan := wantedScan(t, pool)
	var all []ScanPort
	if err := EachOpenPort(ctx, pool, scan, func(o ScanPort) error { all = append(all, o); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) < 500 {
		t.Fatalf("the scan holds %d observations; the test needs many", len(all))
	}
	wants := map[string]func(Key) bool{
		"none":     func(Key) bool { return false },
		"all":      func(Key) bool { return true },
		"some":     func(k Key) bool { return (int(k.Address.As16()[15])+int(k.Port))%3 == 0 },
		"one":      func(k Key) bool { return k == all[len(all)/2].Key },
		"ipv6":     func(k Key) bool { return k.Address.Is6() && k.Port%2 == 0 },
		"unmapped": func(k Key) bool { return k.Address.Is4() && k.Address.As4()[1] == 2 },
	}
	defer func(n int) { wantedByKeyMax = n }(wantedByKeyMax)
	for _, max := range []int{wantedByKeyMax, 5, 0} {
		wantedByKeyMax = max
		for name, want := range wants {
			var expect, got []string
			for _, o := range all {
				if want(o.Key) {
					expect = append(expect, portLine(o))
				}
			}
			asked := 0
			err := EachWantedOpenPort(ctx, pool, scan, func(k Key) bool { asked++; return want(k) }, func(o ScanPort) error {
				got = append(got, portLine(o))
				return nil
			})
			if err != nil {
				t.Fatalf("%s (by key up to %d): %v", name, max, err)
			}
			slices.Sort(expect)
			slices.Sort(got)
			if asked != len(all) || !slices.Equal(got, expect) {
				t.Fatalf("%s (by key up to %d): asked about %d of %d observations; got %d, want %d:\n%s\nwant\n%s",
					name, max, asked, len(all), len(got), len(expect), strings.Join(got, "\n"), strings.Join(expect, "\n"))
			}
		}
	}
	if !slices.ContainsFunc(all, func(o ScanPort) bool { return wants["unmapped"](o.Key) }) {
		t.Fatalf("no IPv4-mapped address came back as IPv4")
	}
	stop := errors.New("stop")
	for _, max := range []int{wantedByKeyMax, 0} {
		wantedByKeyMax = max
		n := 0
		err := EachWantedOpenPort(ctx, pool, scan, func(Key) bool { return true }, func(ScanPort) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("by key up to %d: fn's error: %v after %d calls", max, err, n)
		}
	}
	if err := EachWantedOpenPort(ctx, pool, uuid.NewString(), func(Key) bool { t.Fatal("a scan with no rows"); return true }, nil); err != nil {
		t.Fatal(err)
	}
	if err := EachWantedOpenPort(ctx, pool, "x'; DROP TABLE observations; --", nil, nil); err == nil || !strings.Contains(err.Error(), "scan_id") {
		t.Fatalf("a scan id that is no uuid: %v", err)
	}
}

// The binary COPY reader reads what PostgreSQL sends, whichever way the stream is cut.
func TestBinaryCopyReaderReadsTheServersStreamCutAnywhere(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	var stream bytes.Buffer
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Conn().PgConn().CopyTo(ctx, &stream, `COPY (SELECT a::inet, p, t FROM (VALUES
			('10.0.0.1', 22, '2026-01-02T03:04:05.123456Z'::timestamptz), ('2001:db8::1', 65535, '1999-12-31T23:59:59.999999Z'),
			('::ffff:192.0.2.7', 1, '2000-01-01T00:00:00Z')) AS v(a, p, t)) TO STDOUT (FORMAT binary)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "10.0.0.1:22 2026-01-02T03:04:05.123456Z|[2001:db8::1]:65535 1999-12-31T23:59:59.999999Z|192.0.2.7:1 2000-01-01T00:00:00Z"
	read := func(chunks [][]byte) (string, bool, error) {
		var got []string
		r := &binaryCopyReader{fields: make([][]byte, 3), row: func(f [][]byte) error {
			k, err := keyOfCopy(f)
			if err != nil {
				return err
			}
			got = append(got, netip.AddrPortFrom(unmapped(k).Address, k.Port).String()+" "+pgTime(int64(binary.BigEndian.Uint64(f[2]))).UTC().Format(time.RFC3339Nano))
			return nil
		}}
		for _, c := range chunks {
			if n, err := r.Write(c); err != nil || n != len(c) {
				return "", false, fmt.Errorf("wrote %d of %d: %w", n, len(c), err)
			}
		}
		return strings.Join(got, "|"), r.done, nil
	}
	b := stream.Bytes()
	cuts := [][][]byte{{b}}
	for i := 1; i < len(b); i++ {
		cuts = append(cuts, [][]byte{b[:i], b[i:]})
	}
	bytewise := [][]byte{}
	for i := range b {
		bytewise = append(bytewise, b[i:i+1])
	}
	cuts = append(cuts, bytewise)
	for _, chunks := range cuts {
		got, done, err := read(chunks)
		if err != nil || got != want || !done {
			t.Fatalf("cut in %d: %v, done %v\ngot  %s\nwant %s", len(chunks), err, done, got, want)
		}
	}
	if _, done, _ := read([][]byte{b[:len(b)-2]}); done {
		t.Fatal("a stream without its trailer read as complete")
	}
	for name, bad := range map[string][]byte{
		"signature":     append([]byte("PGCOPY\n\xff\r\n\x01"), b[11:]...),
		"field count":   binary.BigEndian.AppendUint16(append([]byte{}, b[:19]...), 2),
		"null field":    binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(append([]byte{}, b[:19]...), 3), 0xffffffff),
		"after the end": append(append([]byte{}, b...), 0, 3),
	} {
		if _, _, err := read([][]byte{bad}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzBinaryCopyReader: any bytes, cut anywhere, give the same rows and the same verdict as
// uncut, and never a panic.
func FuzzBinaryCopyReader(f *testing.F) {
	header := []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	f.Add(append(append([]byte{}, header...), 0, 2, 0, 0, 0, 8, 2, 32, 0, 4, 10, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 22, 0xff, 0xff), 7)
	f.Add(header, 3)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		read := func(chunks ...[]byte) (string, error) {
			var got []string
			r := &binaryCopyReader{fields: make([][]byte, 2), row: func(f [][]byte) error {
				k, err := keyOfCopy(f)
				got = append(got, fmt.Sprint(k, err))
				return nil
			}}
			for _, c := range chunks {
				if _, err := r.Write(c); err != nil {
					return strings.Join(got, "|"), err
				}
			}
			return fmt.Sprint(strings.Join(got, "|"), r.done), nil
		}
		whole, errWhole := read(data)
		if cut < 0 || cut > len(data) {
			return
		}
		split, errSplit := read(data[:cut], data[cut:])
		if (errWhole == nil) != (errSplit == nil) || (errWhole == nil && whole != split) {
			t.Fatalf("whole %q %v; cut at %d %q %v", whole, errWhole, cut, split, errSplit)
		}
	})
}
