package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/config/configapi"
)

// Events discovery emits; an alarm rule turns discovery.failed into an alarm and
// discovery.recovered resolves it. The subject is the source id.
const (
	EventFailed    = "discovery.failed"
	EventRecovered = "discovery.recovered"
	EventApplied   = "discovery.applied"
)

// Run is one run of a source as the API shows it.
type Run struct {
	ID         string     `json:"id"`
	SourceID   string     `json:"source_id"`
	Trigger    string     `json:"trigger" doc:"manual, dry_run or schedule."`
	Status     string     `json:"status" doc:"dry_run, pending_approval, applied, rejected, failed or superseded."`
	Diff       Diff       `json:"diff"`
	RowErrors  []RowError `json:"row_errors" doc:"Rows of an export that could not be read, by line and column."`
	Error      string     `json:"error,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt time.Time  `json:"finished_at"`
	proposed   []Proposed
}

// RunInput is the body of POST /api/v1/discovery/sources/:id/run.
type RunInput struct {
	DryRun        bool   `json:"dry_run" doc:"Compute and show the diff; change nothing."`
	AcceptPartial bool   `json:"accept_partial" doc:"cmdb: apply the good rows even though some rows are bad."`
	Upload        string `json:"upload,omitempty" maxlen:"33554432" doc:"cmdb: the export itself (CSV or JSON text), for a source without a URL; it is kept for scheduled runs."`
}

// runner runs sources: on demand, on their schedules, and when a pending run is approved.
type runner struct {
	m       *app.Mount
	managed configapi.Managed
	rnd     *rand.Rand
}

func (r *runner) system(ctx context.Context) context.Context {
	return app.WithPrincipal(ctx, app.System("discovery"))
}

// run fetches a source and, unless it is a dry run or needs approval, applies the diff. A
// fetch that fails (or an export with bad rows nobody accepted) changes nothing but the
// source's status and the run's record, and emits discovery.failed.
func (r *runner) run(ctx context.Context, sourceID, trigger string, in RunInput) (*Run, error) {
	src, err := getSource(ctx, r.m.ConfigDB, sourceID, false)
	if err != nil {
		return nil, err
	}
	if in.Upload != "" && (src.Kind != "cmdb" || src.Settings.URL != "") {
		return nil, app.Invalid("upload", "no_upload", "only a cmdb source without a URL takes an uploaded export")
	}
	upload := src.upload
	if in.Upload != "" {
		upload = in.Upload
	}
	run := &Run{ID: uuid.NewString(), SourceID: src.ID, Trigger: trigger, StartedAt: r.m.Clock.Now().UTC(), RowErrors: []RowError{}}
	proposed, rowErrors, ferr := r.fetch(ctx, src, upload)
	run.RowErrors = append(run.RowErrors, rowErrors...)
	run.proposed = proposed
	if ferr == nil && len(rowErrors) > 0 && !(in.AcceptPartial || trigger == "schedule" && src.AcceptPartial) {
		ferr = fmt.Errorf("%d rows of the export are bad (the first: %s); accept a partial import to apply the rest", len(rowErrors), rowErrors[0])
	}
	run.FinishedAt = r.m.Clock.Now().UTC()
	if ferr != nil {
		run.Status, run.Error = "failed", ferr.Error()
		return run, r.fail(ctx, src, run)
	}
	err = app.InTx(ctx, r.m.ConfigDB, func(ctx context.Context, ch *app.Change) error {
		src, err := getSource(ctx, ch.Tx, sourceID, true)
		if err != nil {
			return err
		}
		switch {
		case in.DryRun:
			run.Status = "dry_run"
			if run.Diff, err = r.diff(ctx, ch.Tx, src, proposed); err != nil {
				return err
			}
		case src.RequireApproval:
			run.Status = "pending_approval"
			if run.Diff, err = r.diff(ctx, ch.Tx, src, proposed); err != nil {
				return err
			}
			if _, err := ch.Tx.Exec(ctx, `UPDATE discovery_runs SET status = 'superseded' WHERE source_id = $1 AND status = 'pending_approval'`, src.ID); err != nil {
				return err
			}
		default:
			run.Status = "applied"
			if run.Diff, err = r.apply(ctx, ch.Tx, src, proposed); err != nil {
				return err
			}
		}
		if in.Upload != "" && !in.DryRun {
			if _, err := ch.Tx.Exec(ctx, `UPDATE discovery_sources SET upload = $2 WHERE id = $1`, src.ID, in.Upload); err != nil {
				return err
			}
		}
		if err := r.finish(ctx, ch, src, run); err != nil {
			return err
		}
		return auditapi.Record(ctx, ch.Tx, auditapi.Entry{Action: "discovery.run", ResourceType: "discovery_source", ResourceID: src.ID, ResourceName: src.Name,
			Detail: map[string]any{"run": run.ID, "status": run.Status, "trigger": trigger, "add": len(run.Diff.Add),
				"change": len(run.Diff.Change), "retire": len(run.Diff.Retire), "bad_rows": len(run.RowErrors)}})
	})
	return run, err
}

func (r *runner) fetch(ctx context.Context, src *Source, upload string) (p []Proposed, bad []RowError, err error) {
	secret := ""
	if src.secret != "" {
		if secret, err = r.m.Secrets.Open(secretPurpose(src.ID), src.secret); err != nil {
			return nil, nil, err
		}
	}
	f, err := newFetch(src, secret, upload)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	defer func() {
		if v := recover(); v != nil { // a provider answer the SDK cannot digest fails the source, not the process
			err = fmt.Errorf("reading the source failed: %v", v)
		}
	}()
	return fetchers[src.Kind](ctx, f)
}

func secretPurpose(sourceID string) string { return "discovery.source." + sourceID + ".secret" }

// diff computes what applying proposed would change, without changing it.
func (r *runner) diff(ctx context.Context, tx pgx.Tx, src *Source, proposed []Proposed) (Diff, error) {
	cur, err := items(ctx, tx, src.ID)
	if err != nil {
		return Diff{}, err
	}
	return plan(cur, proposed), nil
}

// apply brings the source's group in step with proposed, through the config module, as the
// discovery actor: new and changed subnets first, then the group's members, then retired
// subnets (which a group no longer holds, so they can go).
func (r *runner) apply(ctx context.Context, tx pgx.Tx, src *Source, proposed []Proposed) (Diff, error) {
	d, err := r.diff(ctx, tx, src, proposed)
	if err != nil {
		return d, err
	}
	sys := r.system(ctx)
	now := r.m.Clock.Now().UTC()
	cur, err := items(ctx, tx, src.ID)
	if err != nil {
		return d, err
	}
	ids := map[string]string{}
	for _, it := range cur {
		ids[it.CIDR] = it.SubnetID
	}
	for _, p := range append(append([]Proposed{}, d.Add...), d.Change...) {
		id := ids[p.CIDR]
		if id == "" {
			id = uuid.NewString()
		}
		if _, err := r.managed.PutSubnet(sys, tx, id, subnetSpec(src.Name, p)); err != nil {
			return d, fmt.Errorf("subnet %s: %w", p.CIDR, err)
		}
		origin, _ := json.Marshal(p.Origin)
		if _, err := tx.Exec(ctx, `INSERT INTO discovery_subnets (source_id, cidr, subnet_id, name, origin, state, seen_at)
			VALUES ($1, $2, $3, $4, $5, 'active', $6)
			ON CONFLICT (source_id, cidr) DO UPDATE SET name = $4, origin = $5, state = 'active', seen_at = $6`,
			src.ID, p.CIDR, id, p.Name, origin, now); err != nil {
			return d, err
		}
	}
	for _, it := range d.Retire {
		if _, err := tx.Exec(ctx, `UPDATE discovery_subnets SET state = 'retired' WHERE source_id = $1 AND cidr = $2`, src.ID, it.CIDR); err != nil {
			return d, err
		}
	}
	if err := r.syncGroup(sys, tx, src); err != nil {
		return d, err
	}
	for _, it := range d.Retire {
		if err := r.retire(sys, tx, it.SubnetID); err != nil {
			return d, err
		}
	}
	return d, nil
}

// syncGroup sets the managed group's members to the source's active and pinned subnets.
func (r *runner) syncGroup(ctx context.Context, tx pgx.Tx, src *Source) error {
	rows, err := tx.Query(ctx, `SELECT subnet_id::text FROM discovery_subnets WHERE source_id = $1 AND state IN ('active', 'pinned') ORDER BY cidr`, src.ID)
	if err != nil {
		return err
	}
	members, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	_, err = r.managed.PutSubnetGroup(ctx, tx, src.GroupID, groupSpec(src.Name, members))
	return err
}

// retire deletes a subnet the group no longer holds. One an operator has also put in a
// template directly stays (the config module refuses, naming its users): discovery does not
// take away what a person chose.
func (r *runner) retire(ctx context.Context, tx pgx.Tx, subnetID string) error {
	if ok, err := configapi.SubnetExists(ctx, tx, subnetID); err != nil || !ok {
		return err
	}
	if _, err := tx.Exec(ctx, `SAVEPOINT retire`); err != nil {
		return err
	}
	err := r.managed.RemoveSubnet(ctx, tx, subnetID)
	var e *app.Error
	if errors.As(err, &e) && e.Status == http.StatusConflict {
		_, err = tx.Exec(ctx, `ROLLBACK TO SAVEPOINT retire`)
		return err
	}
	return err
}

// subnetSpec is how a discovered subnet is written to the config module: named after its
// source, tagged with its origin.
func subnetSpec(source string, p Proposed) configapi.SubnetSpec {
	s := configapi.SubnetSpec{CIDR: p.CIDR}
	s.Name = app.Truncate(source, 20) + " " + p.CIDR
	s.Description = app.Truncate(p.Name, 200)
	tags := []string{"discovery:" + app.Truncate(source, 50), "kind:" + p.Origin.Kind}
	if p.Origin.Account != "" {
		tags = append(tags, "account:"+p.Origin.Account)
	}
	if p.Origin.Region != "" {
		tags = append(tags, "region:"+p.Origin.Region)
	}
	for k, v := range p.Origin.Tags {
		if len(tags) < 32 {
			tags = append(tags, k+"="+v)
		}
	}
	for i, t := range tags {
		tags[i] = app.Truncate(stripCommas(t), 64)
	}
	s.Tags = tags
	return s
}

func stripCommas(s string) string {
	out := []rune(s)
	for i, c := range out {
		if c == ',' || c < 0x20 {
			out[i] = ' '
		}
	}
	return string(out)
}

// finish records the run and the source's status, and emits discovery.recovered when a
// failing source works again.
func (r *runner) finish(ctx context.Context, ch *app.Change, src *Source, run *Run) error {
	if err := insertRun(ctx, ch.Tx, run); err != nil {
		return err
	}
	if src.LastStatus == "failed" {
		ch.AfterCommit(func(ctx context.Context) {
			_ = r.m.Events.Emit(ctx, EventRecovered, src.ID, map[string]any{"source": src.Name, "source_id": src.ID, "run": run.ID})
		})
	}
	if run.Status == "applied" && !run.Diff.Empty() {
		ch.AfterCommit(func(ctx context.Context) {
			_ = r.m.Events.Emit(ctx, EventApplied, src.ID, map[string]any{"source": src.Name, "source_id": src.ID, "run": run.ID,
				"add": len(run.Diff.Add), "change": len(run.Diff.Change), "retire": len(run.Diff.Retire)})
		})
	}
	_, err := ch.Tx.Exec(ctx, `UPDATE discovery_sources SET last_run_at = $2, last_status = 'ok', last_error = '' WHERE id = $1`, src.ID, run.FinishedAt)
	return err
}

// fail records a failed run and emits discovery.failed. Nothing else changes.
func (r *runner) fail(ctx context.Context, src *Source, run *Run) error {
	run.Diff = Diff{Add: []Proposed{}, Change: []Proposed{}, Retire: []Item{}, Pinned: []string{}, Excluded: []string{}}
	return app.InTx(ctx, r.m.ConfigDB, func(ctx context.Context, ch *app.Change) error {
		if err := insertRun(ctx, ch.Tx, run); err != nil {
			return err
		}
		if _, err := ch.Tx.Exec(ctx, `UPDATE discovery_sources SET last_run_at = $2, last_status = 'failed', last_error = $3 WHERE id = $1`,
			src.ID, run.FinishedAt, run.Error); err != nil {
			return err
		}
		ch.AfterCommit(func(ctx context.Context) {
			_ = r.m.Events.Emit(ctx, EventFailed, src.ID, map[string]any{"source": src.Name, "source_id": src.ID, "kind": src.Kind,
				"run": run.ID, "error": run.Error})
		})
		return auditapi.Record(ctx, ch.Tx, auditapi.Entry{Action: "discovery.run", ResourceType: "discovery_source", ResourceID: src.ID, ResourceName: src.Name,
			Outcome: "failure", Detail: map[string]any{"run": run.ID, "error": run.Error, "bad_rows": len(run.RowErrors)}})
	})
}

func insertRun(ctx context.Context, tx pgx.Tx, run *Run) error {
	proposed, _ := json.Marshal(nonNil(run.proposed))
	diff, _ := json.Marshal(run.Diff)
	bad, _ := json.Marshal(run.RowErrors)
	_, err := tx.Exec(ctx, `INSERT INTO discovery_runs (id, source_id, trigger, status, proposed, diff, row_errors, error, started_at, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, run.ID, run.SourceID, run.Trigger, run.Status, proposed, diff, bad, run.Error, run.StartedAt, run.FinishedAt)
	return err
}

func nonNil(p []Proposed) []Proposed {
	if p == nil {
		return []Proposed{}
	}
	return p
}

// approve applies a pending run's proposal, as it is diffed now, or rejects it.
func (r *runner) decide(ctx context.Context, tx pgx.Tx, runID string, approve bool) (*Run, error) {
	run, err := getRun(ctx, tx, runID, true)
	if err != nil {
		return nil, err
	}
	if run.Status != "pending_approval" {
		return nil, app.Conflict("not_pending", "the run is "+run.Status+", not waiting for approval")
	}
	src, err := getSource(ctx, tx, run.SourceID, true)
	if err != nil {
		return nil, err
	}
	run.Status = "rejected"
	if approve {
		run.Status = "applied"
		if run.Diff, err = r.apply(ctx, tx, src, run.proposed); err != nil {
			return nil, err
		}
	}
	diff, _ := json.Marshal(run.Diff)
	if _, err := tx.Exec(ctx, `UPDATE discovery_runs SET status = $2, diff = $3 WHERE id = $1`, run.ID, run.Status, diff); err != nil {
		return nil, err
	}
	return run, auditapi.Record(ctx, tx, auditapi.Entry{Action: "discovery.run." + map[bool]string{true: "approve", false: "reject"}[approve],
		ResourceType: "discovery_source", ResourceID: src.ID, ResourceName: src.Name, Detail: map[string]any{"run": run.ID, "add": len(run.Diff.Add),
			"change": len(run.Diff.Change), "retire": len(run.Diff.Retire)}})
}

const runColumns = `id::text, source_id::text, trigger, status, proposed, diff, row_errors, error, started_at, finished_at`

func scanRun(row pgx.Row) (*Run, error) {
	run := &Run{}
	var proposed, diff, bad []byte
	err := row.Scan(&run.ID, &run.SourceID, &run.Trigger, &run.Status, &proposed, &diff, &bad, &run.Error, &run.StartedAt, &run.FinishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("discovery run")
	}
	if err != nil {
		return nil, err
	}
	for raw, v := range map[*[]byte]any{&proposed: &run.proposed, &diff: &run.Diff, &bad: &run.RowErrors} {
		if err := json.Unmarshal(*raw, v); err != nil {
			return nil, err
		}
	}
	return run, nil
}

func getRun(ctx context.Context, db app.Querier, id string, lock bool) (*Run, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, app.NotFound("discovery run")
	}
	q := `SELECT ` + runColumns + ` FROM discovery_runs WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	return scanRun(db.QueryRow(ctx, q, id))
}

func listRuns(ctx context.Context, db app.Querier, sourceID string) ([]*Run, error) {
	rows, err := db.Query(ctx, `SELECT `+runColumns+` FROM discovery_runs WHERE source_id::text = $1 ORDER BY started_at DESC LIMIT 50`, sourceID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Run, error) { return scanRun(r) })
}
