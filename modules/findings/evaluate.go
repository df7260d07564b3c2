package findings

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/results/resultsapi"
	"mipo/modules/settings/settingsapi"
)

// Event types the module emits; the alarms module's rules turn them into alarms, which its
// routes send through its channels.
const (
	EventDetected        = "findings.detected"           // a scan opened or reopened findings: one event per scan
	EventAcceptExpired   = "findings.acceptance_expired" // accepted findings whose acceptance ran out: one event per sweep
	maxFindingsInMessage = 200
)

// Service is the module's work on its own tables, given the pools it owns and reads.
type Service struct {
	Config  app.ConfigDB
	Results app.ResultsDB
	Events  *app.Bus
	Clock   app.Clock
	Log     *slog.Logger
}

// Outcome is what judging one scan did.
type Outcome struct {
	ScanID   string     `json:"scan_id"`
	Opened   []*Finding `json:"opened"`
	Reopened []*Finding `json:"reopened"`
	Seen     int        `json:"seen" doc:"Live findings the scan saw open again."`
	Closed   int        `json:"closed" doc:"Live findings the scan covered and saw closed."`
}

// Notice is one finding in a notification.
type Notice struct {
	Address string `json:"address"`
	Port    int    `json:"port"`
	Service string `json:"service,omitempty"`
	Kind    string `json:"kind" doc:"new, reopened or acceptance_expired."`
	ID      string `json:"id"`
}

// NoticePayload is the payload of the module's events: the findings of one scan (or one
// expiry sweep) together, and a link to the findings page filtered to them.
type NoticePayload struct {
	ScanID   string   `json:"scan_id,omitempty"`
	Count    int      `json:"count"`
	Findings []Notice `json:"findings" doc:"At most 200; count says how many there are."`
	Link     string   `json:"link"`
}

// EvaluateScan judges a completed scan: every open port its baseline does not allow, and that
// is not a live finding yet, becomes a finding (a new one, or the next occurrence of one that
// closed); every live finding the scan saw open again is bumped; every live finding the scan
// covered but did not see open is closed. A live finding outside the scan's coverage is left as
// it is: a scan that did not probe a port says nothing about it. Safe to run twice for a scan.
func (s *Service) EvaluateScan(ctx context.Context, scanID string) (*Outcome, error) {
	ctx = app.WithPrincipal(ctx, app.System("findings"))
	started := time.Now()
	cov, err := resultsapi.CoverageOf(ctx, s.Results, scanID)
	if err != nil {
		return nil, err
	}
	covered := resultsapi.Merged(cov)
	var rules []Rule
	live := map[resultsapi.Key]*Finding{}
	err = app.ReadSnapshot(ctx, s.Config, func(ctx context.Context, tx pgx.Tx) error {
		bs, err := listBaselines(ctx, tx)
		if err != nil {
			return err
		}
		if rules, err = Resolve(ctx, tx, bs); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+findingColumns+` FROM findings WHERE state <> 'closed'`)
		fs, err := app.Collect(rows, err, scanFinding)
		for _, f := range fs {
			live[keyOf(f)] = f
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	j := newJudge(rules)
	readConfig := time.Since(started)
	type fresh struct {
		resultsapi.ScanPort
		chain []string
	}
	var found []fresh
	first := map[resultsapi.Key]int{} // a port reported twice is one finding, first seen at its earliest report
	seen := map[string]resultsapi.ScanPort{}
	// Of a scan's open ports only two kinds matter: live findings, and ports the baselines do
	// not allow. The results module reads every port's key, and the details of those alone.
	want := func(k resultsapi.Key) bool {
		if _, ok := live[k]; ok {
			return true
		}
		return !j.verdict(k.Address).Allows(k.Port)
	}
	err = resultsapi.EachWantedOpenPort(ctx, s.Results, scanID, want, func(o resultsapi.ScanPort) error {
		if f, ok := live[o.Key]; ok {
			if prev, ok := seen[f.ID]; !ok || o.ObservedAt.After(prev.ObservedAt) {
				seen[f.ID] = o
			}
			return nil
		}
		if i, ok := first[o.Key]; ok {
			if o.ObservedAt.Before(found[i].ObservedAt) {
				found[i].ScanPort = o
			}
			return nil
		}
		if v := j.verdict(o.Address); !v.Allows(o.Port) {
			first[o.Key] = len(found)
			found = append(found, fresh{o, v.Chain})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	readResults := time.Since(started) - readConfig
	var closing []string
	for k, f := range live {
		if _, ok := seen[f.ID]; !ok && covered.Contains(k) {
			closing = append(closing, f.ID)
		}
	}
	out := &Outcome{ScanID: scanID, Seen: len(seen), Closed: len(closing), Opened: []*Finding{}, Reopened: []*Finding{}}
	now := s.Clock.Now()
	err = app.InTx(ctx, s.Config, func(ctx context.Context, ch *app.Change) error {
		tx := ch.Tx
		if len(found) > 0 {
			ids, addrs, ports, scanners, at, chains := make([]string, len(found)), make([]string, len(found)), make([]int32, len(found)),
				make([]string, len(found)), make([]time.Time, len(found)), make([]string, len(found))
			for i, f := range found {
				ids[i], addrs[i], ports[i], scanners[i], at[i] = uuid.NewString(), f.Address.String(), int32(f.Port), f.ScannerID, f.ObservedAt
				chains[i] = pgTextArray(f.chain)
			}
			rows, err := tx.Query(ctx, `INSERT INTO findings (id, address, port, occurrence, state, scanner_id, baselines, first_seen_at, last_seen_at,
				first_scan_id, last_scan_id, updated_at)
				SELECT u.id::uuid, u.a::inet, u.p, coalesce((SELECT max(occurrence) FROM findings f WHERE f.address = u.a::inet AND f.port = u.p), 0) + 1,
					'open', u.s, u.c::text[], u.t, u.t, $7, $7, $8
				FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::text[]) AS u(id, a, p, s, t, c)
				RETURNING `+findingColumns, ids, addrs, ports, scanners, at, chains, scanID, now)
			created, err := app.Collect(rows, err, scanFinding)
			if err != nil {
				return err
			}
			events := &pgx.Batch{} // one round trip for every new finding's first event
			for _, f := range created {
				action := "opened"
				if f.Occurrence > 1 {
					action = "reopened"
					out.Reopened = append(out.Reopened, f)
				} else {
					out.Opened = append(out.Opened, f)
				}
				queueEvent(events, f.ID, now, action, "", &scanID, nil, f)
			}
			if err := tx.SendBatch(ctx, events).Close(); err != nil {
				return err
			}
		}
		if len(seen) > 0 {
			ids, scanners, at := make([]string, 0, len(seen)), make([]string, 0, len(seen)), make([]time.Time, 0, len(seen))
			for id, o := range seen {
				ids, scanners, at = append(ids, id), append(scanners, o.ScannerID), append(at, o.ObservedAt)
			}
			if _, err := tx.Exec(ctx, `UPDATE findings f SET last_seen_at = greatest(f.last_seen_at, u.t), last_scan_id = $4, scanner_id = u.s, updated_at = $5
				FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS u(id, s, t) WHERE f.id = u.id`, ids, scanners, at, scanID, now); err != nil {
				return err
			}
		}
		if len(closing) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE findings SET state = 'closed', closed_at = $2, closed_scan_id = $3, updated_at = $2
				WHERE id = ANY($1::uuid[]) AND state <> 'closed'`, closing, now, scanID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO finding_events (finding_id, at, action, scan_id) SELECT id, $2, 'closed', $3 FROM unnest($1::uuid[]) AS id`,
				closing, now, scanID); err != nil {
				return err
			}
		}
		if len(found)+len(closing)+len(seen) == 0 {
			return nil
		}
		if n := len(out.Opened) + len(out.Reopened); n > 0 {
			payload := s.noticeOf(ctx, tx, scanID, out)
			ch.AfterCommit(func(ctx context.Context) {
				if err := s.Events.Emit(ctx, EventDetected, scanID, payload); err != nil {
					s.Log.Error("findings: announcing a scan's findings", "scan", scanID, "err", err)
				}
			})
		}
		return auditapi.Record(ctx, tx, auditapi.Entry{Action: "findings.evaluate", ResourceType: "scan", ResourceID: scanID,
			Detail: map[string]any{"opened": len(out.Opened), "reopened": len(out.Reopened), "seen": len(seen), "closed": len(closing)}})
	})
	if err == nil && s.Log != nil {
		s.Log.Debug("findings: judged a scan", "scan", scanID, "opened", len(out.Opened), "reopened", len(out.Reopened), "seen", len(seen),
			"closed", len(closing), "read_config", readConfig, "read_results", readResults, "write", time.Since(started)-readConfig-readResults)
	}
	return out, err
}

func (s *Service) noticeOf(ctx context.Context, tx pgx.Tx, scanID string, out *Outcome) NoticePayload {
	p := NoticePayload{ScanID: scanID, Count: len(out.Opened) + len(out.Reopened), Link: s.link(ctx, tx, "/findings?scan="+scanID)}
	for _, group := range []struct {
		kind string
		fs   []*Finding
	}{{"new", out.Opened}, {"reopened", out.Reopened}} {
		for _, f := range group.fs {
			if len(p.Findings) < maxFindingsInMessage {
				p.Findings = append(p.Findings, Notice{Address: f.Address, Port: f.Port, Service: resultsapi.ServiceName(uint16(f.Port)), Kind: group.kind, ID: f.ID})
			}
		}
	}
	return p
}

// link is a page of mipo's UI: absolute when the public FQDN is set, else a path.
func (s *Service) link(ctx context.Context, db app.Querier, path string) string {
	if st, err := settingsapi.Load(ctx, db); err == nil && st.PublicFQDN != "" {
		return "https://" + st.PublicFQDN + path
	}
	return path
}

func keyOf(f *Finding) resultsapi.Key {
	a, _ := parseAddr(f.Address)
	return resultsapi.Key{Address: a, Port: uint16(f.Port)}
}

// pgTextArray writes a text[] literal of ids (uuids: nothing to quote).
func pgTextArray(ids []string) string {
	out := "{"
	for i, id := range ids {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprintf("%q", id)
	}
	return out + "}"
}
