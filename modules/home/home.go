package home

import (
	"context"
	"time"

	"mipo/app"
	"mipo/modules/results/resultsapi"
	"mipo/modules/scanners/scannersapi"
	"mipo/modules/scans/scansapi"
)

// Home is the state at a glance. A section the caller may not see (scopes) is null.
type Home struct {
	At       time.Time           `json:"at"`
	Scanners *scannersapi.Counts `json:"scanners" doc:"Scanners online, offline and disabled (scanners:view)."`
	Running  []*scansapi.Scan    `json:"running" doc:"Pending and running scans, newest first (scans:view)."`
	Latest   []*scansapi.Scan    `json:"latest" doc:"Each template's latest finished scan with its outcome, newest first (scans:view)."`
	NextRuns []scansapi.NextRun  `json:"next_runs" doc:"The next scheduled launches (scans:view)."`
	Changes  *Changes            `json:"changes" doc:"Ports opened and closed lately (results:view)."`
	// Samples are the first changes of each latest scan, by scan id (results:view).
	Samples map[string]resultsapi.Sample `json:"samples" doc:"The first ports that opened and closed in each latest scan, by scan id (results:view)."`
}

// Changes are the ports that opened and closed over the last day and week.
type Changes struct {
	Opened24h int                     `json:"opened_24h"`
	Closed24h int                     `json:"closed_24h"`
	Opened7d  int                     `json:"opened_7d"`
	Closed7d  int                     `json:"closed_7d"`
	Days      []resultsapi.DayChanges `json:"days" doc:"The last 7 days, oldest first (UTC days)."`
}

// How much of each list the page shows.
const (
	maxRunning  = 20
	maxLatest   = 50
	maxNextRuns = 10
)

// Sources are the databases the home page reads, through their modules.
type Sources struct {
	Config  app.Querier
	Results app.ResultsDB
}

// Build assembles the home page for someone who may see what can says.
func Build(ctx context.Context, src Sources, can func(scope string) bool, now time.Time) (*Home, error) {
	h := &Home{At: now.UTC()}
	if can("scanners:view") {
		c, err := scannersapi.CountByStatus(ctx, src.Config)
		if err != nil {
			return nil, err
		}
		h.Scanners = &c
	}
	if can("scans:view") {
		var err error
		if h.Running, err = scansapi.InFlight(ctx, src.Config, maxRunning); err != nil {
			return nil, err
		}
		if h.Latest, err = scansapi.LatestPerTemplate(ctx, src.Config, maxLatest); err != nil {
			return nil, err
		}
		if h.NextRuns, err = scansapi.NextRuns(ctx, src.Config, maxNextRuns); err != nil {
			return nil, err
		}
		if err := scansapi.WithOutcomes(ctx, src.Results, h.Latest...); err != nil {
			return nil, err
		}
	}
	if can("results:view") {
		ch := &Changes{}
		var err error
		if ch.Opened24h, ch.Closed24h, err = resultsapi.ChangesSince(ctx, src.Results, now.Add(-24*time.Hour)); err != nil {
			return nil, err
		}
		from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -6)
		if ch.Days, err = resultsapi.ChangesPerDay(ctx, src.Results, from, now); err != nil {
			return nil, err
		}
		for _, d := range ch.Days {
			ch.Opened7d += d.Opened
			ch.Closed7d += d.Closed
		}
		h.Changes = ch
		if can("scans:view") {
			ids := make([]string, len(h.Latest))
			for i, s := range h.Latest {
				ids[i] = s.ID
			}
			outs, err := resultsapi.Outcomes(ctx, src.Results, ids)
			if err != nil {
				return nil, err
			}
			h.Samples = map[string]resultsapi.Sample{}
			for id, o := range outs {
				h.Samples[id] = o.Sample
			}
		}
	}
	for _, l := range [][]*scansapi.Scan{h.Running, h.Latest} {
		for _, s := range l {
			s.Scope = nil
		}
	}
	return h, nil
}
