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

// CoverageOf returns what each scanner of a scan covered, from its completed jobs. Each
// scanner's sets are unioned once, in one sort, not job by job: a scan of thousands of jobs
// over scattered ranges took most of a second pairwise.
func CoverageOf(ctx context.Context, pool app.ResultsDB, scanID string) (map[string]Covered, error) {
	rows, err := pool.Query(ctx, coverageSQL, scanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type parts struct {
		targets []netset.Set
		ports   []portset.Set
		at      time.Time
	}
	byScanner := map[string]*parts{}
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
		ps := byScanner[scanner]
		if ps == nil {
			ps = &parts{}
			byScanner[scanner] = ps
		}
		ps.targets, ps.ports = append(ps.targets, t), append(ps.ports, p)
		if at.After(ps.at) {
			ps.at = at
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]Covered, len(byScanner))
	for scanner, ps := range byScanner {
		out[scanner] = Covered{ScannerID: scanner, Targets: netset.Set{}.Union(ps.targets...), Ports: portset.Set{}.Union(ps.ports...), At: ps.at}
	}
	return out, nil
}
