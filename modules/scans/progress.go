package scans

import (
	"context"
	"time"

	"mipo/app"
	"mipo/modules/jobs/jobsapi"
)

// Progress is a scan's live state, computed from its jobs.
type Progress struct {
	Status        string     `json:"status"`
	HostsTotal    int64      `json:"hosts_total" doc:"Addresses to probe, summed over jobs (a vantage scan counts each scanner's pass)."`
	HostsDone     int64      `json:"hosts_done"`
	PortsTotal    int64      `json:"ports_total" doc:"Connection attempts to make."`
	PortsProbed   int64      `json:"ports_probed"`
	JobsTotal     int        `json:"jobs_total"`
	JobsDone      int        `json:"jobs_done"`
	JobsFailed    int        `json:"jobs_failed"`
	JobsActive    int        `json:"jobs_active"`
	JobsQueued    int        `json:"jobs_queued"`
	Percent       float64    `json:"percent"`
	RatePerSecond float64    `json:"rate_per_second" doc:"Connection attempts per second since the scan started."`
	ETA           *time.Time `json:"eta" doc:"When the scan should end at the current rate; when it ended, once it has; null when unknown."`
}

// progressOf computes a scan's progress at now.
func progressOf(ctx context.Context, db app.Querier, s *Scan, now time.Time) (Progress, error) {
	st, err := jobsapi.StateOf(ctx, db, s.ID)
	if err != nil {
		return Progress{}, err
	}
	p := Progress{Status: s.Status, HostsTotal: st.HostsTotal, HostsDone: st.HostsDone, PortsTotal: st.PortsTotal,
		PortsProbed: st.PortsProbed, JobsTotal: st.Jobs, JobsDone: st.Done, JobsFailed: st.Failed, JobsActive: st.Active, JobsQueued: st.Queued}
	if st.PortsTotal > 0 {
		p.Percent = min(100, 100*float64(st.PortsProbed)/float64(st.PortsTotal))
	}
	if st.Finished() && st.Failed == 0 && st.Cancelled == 0 {
		p.Percent = 100
	}
	if s.StartedAt != nil && s.FinishedAt != nil && !s.Open() {
		// Ended: the rate it kept from start to end, and the ETA is when it ended.
		if elapsed := s.FinishedAt.Sub(*s.StartedAt).Seconds(); elapsed > 0 && st.PortsProbed > 0 {
			p.RatePerSecond = float64(st.PortsProbed) / elapsed
		}
		end := *s.FinishedAt
		p.ETA = &end
	}
	if s.StartedAt != nil && s.Open() {
		if elapsed := now.Sub(*s.StartedAt).Seconds(); elapsed > 0 && st.PortsProbed > 0 {
			p.RatePerSecond = float64(st.PortsProbed) / elapsed
			left := float64(st.PortsTotal-st.PortsProbed) / p.RatePerSecond
			eta := now.Add(time.Duration(left * float64(time.Second)))
			p.ETA = &eta
		}
	}
	return p, nil
}
