package scanners

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Heartbeat records a scanner's heartbeat: its version, capacity and metrics, a row of history,
// and that it was seen now. A heartbeat from a scanner marked offline marks it online again,
// records it in the connection history and, once that has committed, emits scanner.online
// (as every event is emitted: after its change commits, never for a change rolled back).
func Heartbeat(ctx context.Context, pool app.ConfigDB, events Emitter, id string, hb HeartbeatReport, now time.Time) (cameOnline bool, err error) {
	var cameEvent StatusEvent
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var name string
		var online bool
		var lastSeen *time.Time
		var prevRaw []byte
		err := tx.QueryRow(ctx, `SELECT name, online, last_seen_at, metrics FROM scanners WHERE id = $1 FOR UPDATE`, id).
			Scan(&name, &online, &lastSeen, &prevRaw)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		m := Metrics{At: now, Load1: finite(hb.Load1), CPUPercent: math.Min(100, finite(hb.CPUPercent)),
			MemUsedBytes: clampInt(hb.MemUsed), MemTotalBytes: clampInt(hb.MemTotal),
			NetRxBytes: clampInt(hb.NetRx), NetTxBytes: clampInt(hb.NetTx), FDOpen: hb.FDOpen, FDLimit: hb.FDLimit}
		if prevRaw != nil {
			var prev Metrics
			if json.Unmarshal(prevRaw, &prev) == nil {
				m.NetRxRate, m.NetTxRate = rate(prev.NetRxBytes, m.NetRxBytes, prev.At, now), rate(prev.NetTxBytes, m.NetTxBytes, prev.At, now)
			}
		}
		metrics, err := jsonOf(m)
		if err != nil {
			return err
		}
		capacity, err := jsonOf(hb.Capacity)
		if err != nil {
			return err
		}
		src := hb.Source.Unmap().String()
		_, err = tx.Exec(ctx, `UPDATE scanners SET hostname = $2, version = $3, capacity = $4, metrics = $5, active_jobs = $6,
			last_seen_at = $7, last_address = $8, online = true, updated_at = $7 WHERE id = $1`,
			id, cleanHostname(hb.Hostname), app.Truncate(hb.Version, 64), capacity, metrics, hb.ActiveJobs, now, src)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO scanner_heartbeats (scanner_id, at, address, load1, cpu_percent, mem_used_bytes,
			mem_total_bytes, net_rx_bytes, net_tx_bytes, net_rx_rate, net_tx_rate, active_jobs, fd_open, fd_limit)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING`,
			id, now, src, m.Load1, m.CPUPercent, m.MemUsedBytes, m.MemTotalBytes, m.NetRxBytes, m.NetTxBytes, m.NetRxRate, m.NetTxRate, hb.ActiveJobs,
			m.FDOpen, m.FDLimit)
		if err != nil {
			return err
		}
		// A second heartbeat at the same instant is not history: it is not summarised either.
		if tag.RowsAffected() == 1 {
			if err := summarise(ctx, tx, id, now, m, hb.ActiveJobs); err != nil {
				return err
			}
		}
		if online {
			return nil
		}
		cameOnline = true
		if err := addConnection(ctx, tx, id, now, "online", src, ""); err != nil {
			return err
		}
		cameEvent = StatusEvent{ScannerID: id, Name: name, LastSeenAt: &now, Address: src}
		return nil
	})
	if err == nil && cameOnline {
		err = events.Emit(ctx, EventOnline, id, cameEvent)
	}
	return cameOnline, err
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return f
}

func clampInt(u uint64) int64 {
	if u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

// rate is bytes per second between two cumulative counters, or nil when the counter went back
// (a reboot) or no time passed.
func rate(prev, cur int64, prevAt, now time.Time) *float64 {
	dt := now.Sub(prevAt).Seconds()
	if dt <= 0 || cur < prev {
		return nil
	}
	r := float64(cur-prev) / dt
	return &r
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }

// CheckOffline marks offline every enabled scanner that was online and has not been heard from
// for OfflineAfter, records it in its connection history and emits scanner.offline for each.
// The conditional update makes it safe to run in several processes at once: each scanner goes
// offline once. It returns the ids it marked.
func CheckOffline(ctx context.Context, pool app.ConfigDB, events Emitter, now time.Time) ([]string, error) {
	return CheckOfflineAfter(ctx, pool, events, now, OfflineAfter)
}

// CheckOfflineAfter is CheckOffline with its own silence window (MIPO_SCANNER_OFFLINE_AFTER).
func CheckOfflineAfter(ctx context.Context, pool app.ConfigDB, events Emitter, now time.Time, after time.Duration) ([]string, error) {
	var ids []string
	var gone []StatusEvent
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE scanners SET online = false, updated_at = $1
			WHERE online AND NOT disabled AND COALESCE(last_seen_at, registered_at) < $2
			RETURNING id, name, last_seen_at, last_address`, now, now.Add(-after))
		if err != nil {
			return err
		}
		for rows.Next() {
			var e StatusEvent
			if err := rows.Scan(&e.ScannerID, &e.Name, &e.LastSeenAt, &e.Address); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range gone {
			silent := "never heard from"
			if e.LastSeenAt != nil {
				silent = fmt.Sprintf("no heartbeat for %s", now.Sub(*e.LastSeenAt).Round(time.Second))
			}
			if err := addConnection(ctx, tx, e.ScannerID, now, "offline", e.Address, silent); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range gone {
		errs = append(errs, events.Emit(ctx, EventOffline, e.ScannerID, e))
		ids = append(ids, e.ScannerID)
	}
	return ids, errors.Join(errs...)
}

func addConnection(ctx context.Context, db app.Querier, id string, at time.Time, event, address, detail string) error {
	_, err := db.Exec(ctx, `INSERT INTO scanner_connections (scanner_id, at, event, address, detail) VALUES ($1, $2, $3, $4, $5)`,
		id, at, event, address, detail)
	return err
}

// PruneHistory deletes heartbeat history older than before; it returns how many rows went.
// The summaries have their own retention (PruneSummaries).
func PruneHistory(ctx context.Context, db app.Querier, before time.Time) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM scanner_heartbeats WHERE at < $1`, before)
	return tag.RowsAffected(), err
}

// Connection is one entry of a scanner's connection history.
type Connection struct {
	At      time.Time `json:"at"`
	Event   string    `json:"event" doc:"registered, online, offline, disabled or enabled."`
	Address string    `json:"address"`
	Detail  string    `json:"detail"`
}

func connections(ctx context.Context, db app.Querier, id string, l app.List) (app.Page[Connection], error) {
	rows, err := db.Query(ctx, `SELECT at, event, address, detail FROM scanner_connections WHERE scanner_id = $1
		ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3`, id, l.Limit+1, l.Offset)
	if err != nil {
		return app.Page[Connection]{}, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Connection])
	if err != nil {
		return app.Page[Connection]{}, err
	}
	return app.Paginate(l, out), nil
}

// MetricsPoint is one bucket of a scanner's heartbeat history: averages over the bucket.
type MetricsPoint struct {
	At            time.Time `json:"at" doc:"Start of the bucket."`
	Heartbeats    int       `json:"heartbeats"`
	Load1         float64   `json:"load1"`
	CPUPercent    float64   `json:"cpu_percent"`
	MemUsedBytes  float64   `json:"mem_used_bytes"`
	MemTotalBytes float64   `json:"mem_total_bytes"`
	NetRxRate     *float64  `json:"net_rx_rate"`
	NetTxRate     *float64  `json:"net_tx_rate"`
	ActiveJobs    int       `json:"active_jobs" doc:"Most jobs running at once in the bucket."`
	FDOpen        *float64  `json:"fd_open" doc:"The scanner process's open file descriptors; null when no heartbeat in the bucket said."`
	FDLimit       *int      `json:"fd_limit" doc:"Its soft limit on file descriptors, the highest in the bucket."`
}

// pointColumns are the aggregates of a MetricsPoint after its bucket, in its fields' order.
const pointColumns = `count(*), avg(load1), avg(cpu_percent), avg(mem_used_bytes)::float8, avg(mem_total_bytes)::float8,
	avg(net_rx_rate), avg(net_tx_rate), max(active_jobs), avg(fd_open)::float8, max(fd_limit)`

// MetricsSeries is a scanner's metrics over a time window.
type MetricsSeries struct {
	ScannerID     string         `json:"scanner_id"`
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	BucketSeconds int            `json:"bucket_seconds"`
	Points        []MetricsPoint `json:"points"`
}

// MetricsQuery is the window of a metrics series.
type MetricsQuery struct {
	From   string `query:"from" json:"from,omitempty" doc:"Start, RFC 3339; default 24 hours before to."`
	To     string `query:"to" json:"to,omitempty" doc:"End, RFC 3339; default now."`
	Points int    `query:"points" json:"points,omitempty" doc:"Most buckets to return, 10 to 1000 (default 240)."`
}

func series(ctx context.Context, db app.Querier, id string, from, to time.Time, points int) (*MetricsSeries, error) {
	bucket := max(time.Minute, to.Sub(from)/time.Duration(points)).Round(time.Second)
	rows, err := db.Query(ctx, `
		SELECT date_bin($4::interval, at, $2) AS b, `+pointColumns+`
		FROM scanner_heartbeats WHERE scanner_id = $1 AND at >= $2 AND at <= $3
		GROUP BY b ORDER BY b`, id, from, to, bucket.String())
	if err != nil {
		return nil, err
	}
	pts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[MetricsPoint])
	if err != nil {
		return nil, err
	}
	if pts == nil {
		pts = []MetricsPoint{}
	}
	return &MetricsSeries{ScannerID: id, From: from, To: to, BucketSeconds: int(bucket / time.Second), Points: pts}, nil
}
