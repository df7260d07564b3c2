package results

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app/apptest"
)

// Every query the results module runs, EXPLAINed with sequential scans priced out of reach
// (enable_seqscan off): a sequential scan that remains is one no index can replace. The test
// fails when one covers every partition of observations (a query that does not name its weeks,
// nor use an index) or any other results table (each is read by key).
func TestEveryResultsQueryAvoidsScanningAllPartitions(t *testing.T) {
	pool := apptest.Databases(t).ResultsDB()
	ctx := context.Background()
	now := time.Now().UTC()
	if _, err := EnsurePartitions(ctx, pool, now.AddDate(0, 0, -8*7), now.Add(PartitionsAhead)); err != nil {
		t.Fatal(err)
	}
	scan, scanner := uuid.NewString(), uuid.NewString()
	for w := 0; w < 8; w++ {
		var obs []Observation
		for i := 0; i < 50; i++ {
			obs = append(obs, Observation{Address: netip.AddrFrom4([4]byte{10, 0, byte(w), byte(i)}), Port: uint16(1 + i%5), ObservedAt: now.AddDate(0, 0, -7*w)})
		}
		if _, err := Insert(ctx, pool, Batch{JobID: uuid.NewString(), ScanID: scan, ScannerID: scanner, Seq: 1, Observations: obs}, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	parts, err := Partitions(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}

	type query struct {
		name string
		sql  string
		args []any
	}
	var queries []query
	week := 7 * 24 * time.Hour
	cursor := historyCursor{At: now, Address: "10.0.0.1", Port: 1, Job: uuid.NewString()}
	for _, hq := range []HistoryQuery{{}, {Subnet: "10.0.0.0/16"}, {Ports: "22,80-90"}, {Scanner: scanner}, {Scan: scan},
		{From: now.AddDate(0, 0, -30).Format(time.RFC3339), To: now.Format(time.RFC3339)}, {Cursor: "x"}} {
		w, err := historyWhere(hq)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSpace(strings.ReplaceAll(strings.Trim(jsonOf(hq), "{}"), `"`, ""))
		if hq.Cursor != "" {
			w.Add("(observed_at, address, port, job_id) < (" + w.Arg(cursor.At) + ", " + w.Arg(netip.MustParseAddr(cursor.Address)) + ", " + w.Arg(int32(1)) + ", " + w.Arg(cursor.Job) + "::uuid)")
		}
		sql, args := historyWindowSQL(w, now.Add(-week), now, 101)
		queries = append(queries, query{"history " + name, sql, args})
		sql, args = historyWindowSQL(w, time.Time{}, parts[0].From, 101)
		queries = append(queries, query{"history before the oldest week " + name, sql, args})
		sql, args = exportWindowSQL(w, now.Add(-week), now)
		queries = append(queries, query{"export " + name, sql, args})
		sql, args = exportWindowSQL(w, now.Add(PartitionsAhead), time.Time{})
		queries = append(queries, query{"export beyond the weeks ahead " + name, sql, args})
	}
	after := Key{Address: netip.MustParseAddr("10.0.0.9"), Port: 3}
	for _, a := range []*Key{nil, &after} {
		queries = append(queries, query{"diff chunk (the COPY's query)", portsCopy{scan: scan, scanner: scanner, after: a, limit: 1000}.query(), nil})
	}
	queries = append(queries,
		query{"scanners of a scan", scannersOfSQL, []any{scan}},
		query{"a scan's open ports, one scanner's (the COPY's query)", portsCopy{scan: scan, scanner: scanner, withTime: true}.query(), nil},
		query{"a scan's wanted ports by key", scanPortsByKeySQL, []any{scan, scanner, []netip.Addr{netip.MustParseAddr("10.0.0.1")}, []int32{1}}},
		query{"vantage", vantageSQL, []any{scan}},
		query{"timeline", timelineSQL, []any{netip.MustParseAddr("10.0.0.1"), []string{scan}}},
		query{"coverage", coverageSQL, []any{scan}},
		query{"received batches", receivedBatchesSQL, []any{uuid.NewString(), 1}},
		query{"a job's stored pairs", sharedJobSQL, []any{scan, uuid.NewString(), now.Add(-time.Hour)}},
		query{"a scan's oldest observation, for its key set", oldestOfScanSQL, []any{scan}},
		query{"a scan's current key set", keySetSQL, []any{scan}},
		query{"a key set's chunk", chunkSQL, []any{scan, scanner, 0, []byte{4}}},
	)
	tmpl, first := uuid.NewString(), now.AddDate(0, 0, -7)
	kept := []keptScan{{Template: tmpl, Scan: scan, First: &first, Last: &now}}
	for _, oq := range []OpenQuery{{}, {Subnet: "10.0.0.0/8"}, {Scanner: scanner}, {Ports: "22,80-90"}} {
		for _, sort := range OpenSorts {
			w, err := openWhere(OpenScope{Query: oq}, []string{tmpl})
			if err != nil {
				t.Fatal(err)
			}
			queries = append(queries, query{"open now " + jsonOf(oq) + " by " + sort, openSQL(w, kept) + ` ORDER BY ` + openOrder(sort, "ASC") + ` LIMIT 51`, w.Args()})
		}
	}
	keys := []any{tmpl, scanner, []netip.Addr{netip.MustParseAddr("10.0.0.1")}, []int32{1}}
	queries = append(queries,
		query{"open now's chunk of a template's rows", openNowChunkSQL, []any{tmpl, scanner, beforeEveryKey, -1, 1000}},
		query{"open now: ports that closed", dropOpenSQL, keys},
		query{"open now: ports that opened", addOpenSQL, append([]any{tmpl, scanner, scan, first, now}, keys[2:]...)},
		query{"open now: a scanner's ports, all new", addScannerSQL, []any{tmpl, scanner, scan, first, now}},
	)

	for _, q := range queries {
		var plan string
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+q.sql, q.args...).Scan(&plan)
		})
		if err != nil {
			t.Fatalf("%s: %v\n%s", q.name, err, q.sql)
		}
		var doc []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(plan), &doc); err != nil {
			t.Fatal(err)
		}
		seq := map[string]bool{}
		doc[0].Plan.seqScans(seq)
		partsScanned := 0
		for rel := range seq {
			if strings.HasPrefix(rel, "observations_") {
				partsScanned++
			} else {
				t.Errorf("%s: a sequential scan of %s\n%s", q.name, rel, plan)
			}
		}
		if partsScanned == len(parts) {
			t.Errorf("%s: a sequential scan of every partition of observations\n%s\n%s", q.name, q.sql, plan)
		}
	}
}

type planNode struct {
	NodeType string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Plans    []planNode `json:"Plans"`
}

func (n planNode) seqScans(out map[string]bool) {
	if n.NodeType == "Seq Scan" {
		out[n.Relation] = true
	}
	for _, c := range n.Plans {
		c.seqScans(out)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
