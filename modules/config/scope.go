package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

// ResolveScope returns the scope template templateID meant at the moment at: the template's
// version current at that moment, and each object it refers to (subnets, groups nested to any
// depth, exclusions, port lists and groups) at its version current at that moment, as were the
// global exclusions. A change counts from the time it was made, so resolving at the time of a
// change sees it. Addresses are computed on intervals only, in time and memory proportional to
// the number of subnets and exclusions, never to the number of addresses.
//
// The past is settled; the present is not: a change that commits while the present is being
// resolved may be seen by some of its reads and not others. To read one snapshot, pass a
// transaction opened REPEATABLE READ.
//
// A template that did not exist at that moment is an *app.Error with status 404.
func ResolveScope(ctx context.Context, db app.Querier, templateID string, at time.Time) (*Scope, error) {
	notFound := &app.Error{Status: http.StatusNotFound, Code: "not_found",
		Message: fmt.Sprintf("template %s did not exist at %s", templateID, at.UTC().Format(time.RFC3339Nano))}
	if !isUUID(templateID) {
		return nil, notFound
	}
	snap := snapshotAt(db, at)
	if err := snap.load(ctx, []string{templateID}); err != nil {
		return nil, err
	}
	o := snap.objects[templateID]
	if o == nil || o.kind != kindTemplate {
		return nil, notFound
	}
	var t TemplateSpec
	if err := json.Unmarshal(o.spec, &t); err != nil {
		return nil, err
	}
	in, err := snap.inputs(ctx, &t)
	if err != nil {
		return nil, err
	}
	targets, ports, err := in.compute()
	if err != nil {
		return nil, err
	}
	return &Scope{TemplateID: templateID, TemplateVersion: o.version, TemplateName: t.Name, At: at.UTC(),
		Targets: targets, Ports: ports,
		ScannerMode: t.Scanners.Mode, ScannerIDs: orEmpty(t.Scanners.ScannerIDs), ScannerGroupIDs: orEmpty(t.Scanners.ScannerGroupIDs),
		RateLimit: t.Timing.RateLimit, TimeoutMS: t.Timing.TimeoutMS, Retries: t.Timing.Retries,
		MaxDurationSeconds: t.Timing.MaxDurationSeconds}, nil
}

// scopeInputs is what a template's scope is computed from: texts read from the snapshot.
type scopeInputs struct {
	cidrs      []string // the subnets' CIDRs, groups flattened
	exclusions []string // the exclusions' targets, global ones included
	ports      []string // the port lists' ports, groups flattened
}

func (s *snapshot) inputs(ctx context.Context, t *TemplateSpec) (scopeInputs, error) {
	var in scopeInputs
	subnetIDs, err := s.subnetsIn(ctx, t.Subnets, t.SubnetGroups)
	if err != nil {
		return in, err
	}
	if in.cidrs, err = s.cidrs(ctx, subnetIDs); err != nil {
		return in, err
	}
	if in.exclusions, err = s.exclusions(ctx, t.Exclusions); err != nil {
		return in, err
	}
	in.ports, err = s.ports(ctx, t.PortLists, t.PortListGroups)
	return in, err
}

// compute is the arithmetic of a scope, with no database: the union of the subnets minus the
// union of the exclusions, and the union of the port lists.
func (in scopeInputs) compute() (netset.Set, portset.Set, error) {
	targets, err := computeTargets(in.cidrs, in.exclusions)
	if err != nil {
		return targets, portset.Set{}, err
	}
	ports, err := computePorts(in.ports)
	return targets, ports, err
}

func computeTargets(cidrs, exclusions []string) (netset.Set, error) {
	prefixes := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return netset.Set{}, fmt.Errorf("config: stored CIDR %q: %w", c, err)
		}
		prefixes[i] = p
	}
	include, err := netset.FromPrefixes(prefixes...)
	if err != nil {
		return include, err
	}
	exclude := make([]netset.Set, len(exclusions))
	for i, text := range exclusions {
		if exclude[i], err = netset.Parse(text); err != nil {
			return include, fmt.Errorf("config: stored exclusion %q: %w", text, err)
		}
	}
	return include.Subtract(netset.Set{}.Union(exclude...)), nil
}

func computePorts(texts []string) (portset.Set, error) {
	sets := make([]portset.Set, len(texts))
	for i, text := range texts {
		var err error
		if sets[i], err = portset.Parse(text); err != nil {
			return portset.Set{}, fmt.Errorf("config: stored port list %q: %w", text, err)
		}
	}
	return portset.Set{}.Union(sets...), nil
}

func orEmpty(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// TemplateGroupMembers returns the ids of the templates in a template group, in the group's
// order, as the group is now: launching a group launches these.
func TemplateGroupMembers(ctx context.Context, db app.Querier, groupID string) ([]string, error) {
	if !isUUID(groupID) {
		return nil, app.NotFound("template group")
	}
	var raw []byte
	err := db.QueryRow(ctx, `SELECT spec FROM config_objects WHERE id = $1 AND kind = $2`, groupID, kindTemplateGroup).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("template group")
	}
	if err != nil {
		return nil, err
	}
	var g TemplateGroupSpec
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, err
	}
	return orEmpty(g.Templates), nil
}

// TemplatesUsingScanners returns the names of the templates that name a scanner or scanner
// group id, sorted: the scanners module refuses to delete what a template still uses.
func TemplatesUsingScanners(ctx context.Context, db app.Querier, scannerOrGroupID string) ([]string, error) {
	id, err := uuid.Parse(scannerOrGroupID)
	if err != nil {
		return []string{}, nil // templates hold only uuids
	}
	rows, err := db.Query(ctx, `SELECT name FROM config_objects WHERE kind = $1
		AND (spec->'scanners'->'scanner_ids' ? $2 OR spec->'scanners'->'scanner_group_ids' ? $2)
		ORDER BY lower(name)`, kindTemplate, id.String())
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return orEmpty(names), err
}

// SubnetGroupCIDRs returns the CIDRs of every subnet in a subnet group as it is now, nested
// groups included: how other modules filter by a group. An unknown group is a 400 naming field.
func SubnetGroupCIDRs(ctx context.Context, db app.Querier, groupID, field string) ([]string, error) {
	ok, err := SubnetGroupExists(ctx, db, groupID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, app.Invalid(field, "unknown_group", "no subnet group with that id")
	}
	s := snapshotNow(db)
	ids, err := s.subnetsIn(ctx, nil, []string{groupID})
	if err != nil {
		return nil, err
	}
	return s.cidrs(ctx, ids)
}
