package results

import (
	"context"
	"encoding/json"
	"time"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

const coverageSQL = `SELECT scanner_id, targets, ports, completed_at FROM job_coverage WHERE scan_id = $1`

// CoverageOf returns what each scanner of a scan covered, from its completed jobs.
func CoverageOf(ctx context.Context, pool app.ResultsDB, scanID string) (map[string]Covered, error) {
	rows, err := pool.Query(ctx, coverageSQL, scanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Covered{}
	for rows.Next() {
		var scanner, ports string
		var targets []byte
		var at time.Time
		if err := rows.Scan(&scanner, &targets, &ports, &at); err != nil {
			return nil, err
		}
		var t netset.Set
		if err := json.Unmarshal(targets, &t); err != nil {
			return nil, err
		}
		p, err := portset.Parse(ports)
		if err != nil && ports != "" {
			return nil, err
		}
		c := out[scanner]
		c.ScannerID, c.Targets, c.Ports = scanner, c.Targets.Union(t), c.Ports.Union(p)
		if at.After(c.At) {
			c.At = at
		}
		out[scanner] = c
	}
	return out, rows.Err()
}
