package results

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// A batch's observations go to the database as one binary COPY encoded here. pgx's CopyFrom
// encodes value by value through its type map, planning each value again (and, for an id given
// as text, failing a plan and parsing the text before the one that works): a profile of ingest
// found it costing twice the database's own work per row. The rows of a batch have seven
// fixed columns, so they are written straight into the COPY binary format instead.

const copyObservationsSQL = `COPY observations (observed_at, port, rtt_us, scan_id, scanner_id, job_id, address) FROM STDIN WITH (FORMAT binary)`

// postgresEpoch is where timestamptz counts microseconds from.
var postgresEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// CopyObservations encodes a batch's observations as the binary COPY that Insert sends: the
// statement and its data. Exported so a benchmark can measure the same COPY alone.
func CopyObservations(b Batch) (sql string, data []byte, err error) {
	var ids [3]uuid.UUID
	for i, s := range []string{b.ScanID, b.ScannerID, b.JobID} {
		if ids[i], err = uuid.Parse(s); err != nil {
			return "", nil, err
		}
	}
	// The header: signature, flags, no extension.
	data = make([]byte, 0, 19+len(b.Observations)*114+2)
	data = append(data, copySignature...)
	data = binary.BigEndian.AppendUint32(data, 0)
	data = binary.BigEndian.AppendUint32(data, 0)
	for _, o := range b.Observations {
		data = binary.BigEndian.AppendUint16(data, 7)
		data = field(data, 8)
		data = binary.BigEndian.AppendUint64(data, uint64(o.ObservedAt.UnixMicro()-postgresEpoch))
		data = field(data, 4)
		data = binary.BigEndian.AppendUint32(data, uint32(o.Port))
		data = field(data, 4)
		data = binary.BigEndian.AppendUint32(data, uint32(o.RTTMicros))
		for _, id := range ids {
			data = field(data, 16)
			data = append(data, id[:]...)
		}
		data = appendInet(data, o)
	}
	return copyObservationsSQL, binary.BigEndian.AppendUint16(data, 0xffff), nil // -1: no more rows
}

func field(data []byte, size int) []byte { return binary.BigEndian.AppendUint32(data, uint32(size)) }

// appendInet writes an address as PostgreSQL's inet: family (2 for IPv4, 3 for IPv6), prefix
// bits, is_cidr, length, bytes. A zero address is NULL, as pgx sends it.
func appendInet(data []byte, o Observation) []byte {
	switch a := o.Address; {
	case a.Is4():
		v := a.As4()
		return append(append(field(data, 8), 2, 32, 0, 4), v[:]...)
	case a.Is6():
		v := a.As16()
		return append(append(field(data, 20), 3, 128, 0, 16), v[:]...)
	default:
		return binary.BigEndian.AppendUint32(data, 0xffffffff)
	}
}
