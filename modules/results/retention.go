package results

import (
	"context"
	"time"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// settingRetention is how long observations are kept. The default keeps them forever, as the
// product promises (compliance evidence); a limit drops whole weekly partitions, never rows
// one by one, and each drop is written to the audit log.
var settingRetention = app.IntSetting("MIPO_RESULTS_RETENTION_DAYS", 0, 0, 36500,
	"How many days of port observations to keep; 0 keeps them forever. Older weeks are dropped whole, and each drop is audited.")

// partitionsEvery is how often the partitions job runs: far more often than a week turns, so
// a missed run or two changes nothing.
const partitionsEvery = time.Hour

// maintainPartitions keeps the weeks ahead ready and, under a retention limit, drops the weeks
// that ended before it, recording what it dropped in the audit log.
func maintainPartitions(ctx context.Context, m *app.Mount, retention time.Duration) error {
	now := m.Clock.Now()
	from, err := oldestUnpartitioned(ctx, m.ResultsDB, now.Add(-7*24*time.Hour))
	if err != nil {
		return err
	}
	if _, err := EnsurePartitions(ctx, m.ResultsDB, from, now.Add(PartitionsAhead)); err != nil {
		return err
	}
	if retention <= 0 {
		return nil
	}
	_, err = ApplyRetention(ctx, m.ResultsDB, m.ConfigDB, now, retention)
	return err
}

// oldestUnpartitioned is where the job's window starts: a week ago, or earlier when the default
// partition holds older rows — results delivered long after their week, or a restore, whose
// rows land in the weeks the fresh schema has (only the current ones) and the default for the
// rest. Creating their weeks moves them out, so the default stays small and time-bounded
// queries prune again. At most ten years back: the partition function's own bound.
func oldestUnpartitioned(ctx context.Context, pool app.ResultsDB, weekAgo time.Time) (time.Time, error) {
	var oldest *time.Time
	err := pool.QueryRow(ctx, `SELECT min(observed_at) FROM observations_default WHERE observed_at < $1`, weekAgo).Scan(&oldest)
	if err != nil || oldest == nil {
		return weekAgo, err
	}
	if floor := weekAgo.Add(-519 * 7 * 24 * time.Hour); oldest.Before(floor) {
		return floor, nil
	}
	return *oldest, nil
}

// ApplyRetention drops the partitions whose week ended more than retention before now and
// records the drop (which partitions, the cutoff) in the audit log. It returns what it dropped.
func ApplyRetention(ctx context.Context, results app.ResultsDB, config app.ConfigDB, now time.Time, retention time.Duration) ([]string, error) {
	cutoff := now.Add(-retention).UTC()
	dropped, err := DropPartitionsBefore(ctx, results, cutoff)
	if err != nil || len(dropped) == 0 {
		return dropped, err
	}
	// The drop cannot share a transaction with the audit record (two databases): it is
	// recorded right after, and a failure to record is an error the job logs.
	return dropped, auditapi.RecordNow(ctx, config, auditapi.Entry{Action: "results.retention", ResourceType: "results",
		Detail: map[string]any{"dropped_partitions": dropped, "cutoff": cutoff.Format(time.RFC3339), "retention_days": int(retention / (24 * time.Hour))},
		Actor:  &auditapi.Actor{Kind: "system", Name: "results retention"}})
}
