package findings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/configapi"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

// BaselineInput is what a person says about a scope: which ports are expected there.
type BaselineInput struct {
	Name           string   `json:"name" doc:"A unique name, such as dmz-web."`
	Description    string   `json:"description"`
	ScopeKind      string   `json:"scope_kind" doc:"subnet_group, subnet, cidr or address."`
	ScopeRef       string   `json:"scope_ref" doc:"The subnet group's or subnet's id, or the CIDR (10.1.0.0/16) or single address."`
	Mode           string   `json:"mode" doc:"allow: these ports and what wider baselines allow; only: exactly these ports; nothing: no port is expected (narrower baselines may still allow some)."`
	Ports          string   `json:"ports" doc:"Explicit ports, such as 22,443,8000-8100."`
	PortLists      []string `json:"port_lists" doc:"Port list ids whose ports are expected."`
	PortListGroups []string `json:"port_list_groups" doc:"Port list group ids whose lists' ports are expected."`
}

// Baseline is a baseline as stored, with its version.
type Baseline struct {
	ID string `json:"id"`
	BaselineInput
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// BaselineVersion is one version of a baseline; Body is nil for the deletion.
type BaselineVersion struct {
	Version int       `json:"version"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Body    *Baseline `json:"body"`
}

// validate normalises the input and checks what needs no database; it names the field at fault.
func (in *BaselineInput) validate() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return app.Invalid("name", "invalid_name", "name is required, at most 100 characters")
	}
	switch in.Mode {
	case ModeAllow, ModeOnly, ModeNothing:
	case "":
		in.Mode = ModeAllow
	default:
		return app.Invalid("mode", "invalid_mode", "mode must be allow, only or nothing")
	}
	in.ScopeRef = strings.TrimSpace(in.ScopeRef)
	switch in.ScopeKind {
	case KindGroup, KindSubnet:
		if _, err := uuid.Parse(in.ScopeRef); err != nil {
			return app.Invalid("scope_ref", "invalid_id", "scope_ref must be the "+strings.ReplaceAll(in.ScopeKind, "_", " ")+"'s id")
		}
	case KindCIDR:
		p, err := netset.ParseCIDR(in.ScopeRef)
		if err != nil {
			return app.Invalid("scope_ref", "invalid_cidr", err.Error())
		}
		in.ScopeRef = p.String()
	case KindAddress:
		a, err := netip.ParseAddr(in.ScopeRef)
		if err != nil || a.Zone() != "" {
			return app.Invalid("scope_ref", "invalid_address", "scope_ref must be one IPv4 or IPv6 address, such as 10.0.0.5")
		}
		in.ScopeRef = a.Unmap().String()
	default:
		return app.Invalid("scope_kind", "invalid_scope_kind", "scope_kind must be subnet_group, subnet, cidr or address")
	}
	in.Ports = strings.TrimSpace(in.Ports)
	if in.Ports != "" {
		ps, err := portset.Parse(in.Ports)
		if err != nil {
			return app.Invalid("ports", "invalid_ports", err.Error())
		}
		in.Ports = ps.String()
	}
	for _, f := range []struct {
		field string
		ids   *[]string
	}{{"port_lists", &in.PortLists}, {"port_list_groups", &in.PortListGroups}} {
		if *f.ids == nil {
			*f.ids = []string{}
		}
		for _, id := range *f.ids {
			if _, err := uuid.Parse(id); err != nil {
				return app.Invalid(f.field, "invalid_id", f.field+" must hold ids")
			}
		}
	}
	if in.Mode == ModeNothing && (in.Ports != "" || len(in.PortLists) > 0 || len(in.PortListGroups) > 0) {
		return app.Invalid("ports", "nothing_with_ports", "a baseline that allows nothing names no ports, port lists or groups")
	}
	return nil
}

// checkReferences makes sure what the input names exists, naming the field that does not.
func checkReferences(ctx context.Context, db app.Querier, in *BaselineInput) error {
	type ref struct{ field, kind, id string }
	var refs []ref
	switch in.ScopeKind {
	case KindGroup:
		refs = append(refs, ref{"scope_ref", configapi.KindSubnetGroup, in.ScopeRef})
	case KindSubnet:
		refs = append(refs, ref{"scope_ref", configapi.KindSubnet, in.ScopeRef})
	}
	for _, id := range in.PortLists {
		refs = append(refs, ref{"port_lists", configapi.KindPortList, id})
	}
	for _, id := range in.PortListGroups {
		refs = append(refs, ref{"port_list_groups", configapi.KindPortListGroup, id})
	}
	for _, r := range refs {
		ok, err := configapi.Exists(ctx, db, r.kind, r.id)
		if err != nil {
			return err
		}
		if !ok {
			return app.Invalid(r.field, "unknown_reference", fmt.Sprintf("%s %s does not exist", strings.ReplaceAll(r.kind, "_", " "), r.id))
		}
	}
	return nil
}

const baselineColumns = `id, name, description, scope_kind, scope_ref, mode, ports, port_lists::text[], port_list_groups::text[], version, created_at, updated_at`

func scanBaseline(row pgx.Row) (*Baseline, error) {
	b := &Baseline{}
	err := row.Scan(&b.ID, &b.Name, &b.Description, &b.ScopeKind, &b.ScopeRef, &b.Mode, &b.Ports, &b.PortLists, &b.PortListGroups,
		&b.Version, &b.CreatedAt, &b.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("baseline")
	}
	return b, err
}

func listBaselines(ctx context.Context, db app.Querier) ([]*Baseline, error) {
	rows, err := db.Query(ctx, `SELECT `+baselineColumns+` FROM baselines ORDER BY lower(name)`)
	return app.Collect(rows, err, scanBaseline)
}

func getBaseline(ctx context.Context, db app.Querier, id string, lock bool) (*Baseline, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, app.NotFound("baseline")
	}
	q := `SELECT ` + baselineColumns + ` FROM baselines WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	return scanBaseline(db.QueryRow(ctx, q, id))
}

func actorName(ctx context.Context) string {
	if p := app.PrincipalFrom(ctx); p != nil {
		return p.Name
	}
	return ""
}

func addVersion(ctx context.Context, tx pgx.Tx, id string, version int, body *Baseline, at time.Time) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO baseline_versions (baseline_id, version, body, at, actor) VALUES ($1, $2, $3, $4, $5)`,
		id, version, raw, at, actorName(ctx))
	return err
}

func nameTaken(err error) error {
	if app.IsUniqueViolation(err) {
		return app.Invalid("name", "name_taken", "another baseline has this name")
	}
	return err
}

func createBaseline(ctx context.Context, tx pgx.Tx, in BaselineInput, now time.Time) (*Baseline, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if err := checkReferences(ctx, tx, &in); err != nil {
		return nil, err
	}
	b, err := scanBaseline(tx.QueryRow(ctx, `INSERT INTO baselines (id, name, description, scope_kind, scope_ref, mode, ports, port_lists,
		port_list_groups, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10) RETURNING `+baselineColumns,
		uuid.NewString(), in.Name, in.Description, in.ScopeKind, in.ScopeRef, in.Mode, in.Ports, in.PortLists, in.PortListGroups, now))
	if err != nil {
		return nil, nameTaken(err)
	}
	return b, addVersion(ctx, tx, b.ID, b.Version, b, now)
}

func updateBaseline(ctx context.Context, tx pgx.Tx, id string, in BaselineInput, now time.Time) (before, after *Baseline, err error) {
	if before, err = getBaseline(ctx, tx, id, true); err != nil {
		return nil, nil, err
	}
	if err := in.validate(); err != nil {
		return nil, nil, err
	}
	if err := checkReferences(ctx, tx, &in); err != nil {
		return nil, nil, err
	}
	after, err = scanBaseline(tx.QueryRow(ctx, `UPDATE baselines SET name = $2, description = $3, scope_kind = $4, scope_ref = $5, mode = $6,
		ports = $7, port_lists = $8, port_list_groups = $9, version = version + 1, updated_at = $10 WHERE id = $1 RETURNING `+baselineColumns,
		id, in.Name, in.Description, in.ScopeKind, in.ScopeRef, in.Mode, in.Ports, in.PortLists, in.PortListGroups, now))
	if err != nil {
		return nil, nil, nameTaken(err)
	}
	return before, after, addVersion(ctx, tx, id, after.Version, after, now)
}

func deleteBaseline(ctx context.Context, tx pgx.Tx, id string, now time.Time) (*Baseline, error) {
	b, err := getBaseline(ctx, tx, id, true)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM baselines WHERE id = $1`, id); err != nil {
		return nil, err
	}
	return b, addVersion(ctx, tx, id, b.Version+1, nil, now)
}

func baselineVersions(ctx context.Context, db app.Querier, id string) ([]BaselineVersion, error) {
	rows, err := db.Query(ctx, `SELECT version, at, actor, body FROM baseline_versions WHERE baseline_id = $1 ORDER BY version`, id)
	return app.Collect(rows, err, func(r pgx.Row) (BaselineVersion, error) {
		var v BaselineVersion
		var raw []byte
		if err := r.Scan(&v.Version, &v.At, &v.Actor, &raw); err != nil {
			return v, err
		}
		if raw != nil {
			v.Body = &Baseline{}
			return v, json.Unmarshal(raw, v.Body)
		}
		return v, nil
	})
}

// baselinesUsing names the baselines that name a configuration object, so the config module
// refuses to delete a subnet, group or port list a baseline still needs.
func baselinesUsing(ctx context.Context, db app.Querier, id string) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT 'baseline "' || name || '"' FROM baselines
		WHERE (scope_kind IN ('subnet', 'subnet_group') AND scope_ref = $1) OR $1::uuid = ANY (port_lists) OR $1::uuid = ANY (port_list_groups)
		ORDER BY name`, id)
	return app.Collect(rows, err, func(r pgx.Row) (string, error) { var s string; return s, r.Scan(&s) })
}

// Resolve turns stored baselines into rules: subnets and groups become their CIDRs and port
// lists their ports, as they are now.
func Resolve(ctx context.Context, db app.Querier, bs []*Baseline) ([]Rule, error) {
	rules := make([]Rule, 0, len(bs))
	for _, b := range bs {
		r := Rule{ID: b.ID, Kind: b.ScopeKind, Mode: b.Mode}
		var err error
		switch b.ScopeKind {
		case KindGroup:
			r.Prefixes, err = configapi.Prefixes(ctx, db, nil, []string{b.ScopeRef})
		case KindSubnet:
			r.Prefixes, err = configapi.Prefixes(ctx, db, []string{b.ScopeRef}, nil)
		case KindCIDR:
			var p netip.Prefix
			p, err = netip.ParsePrefix(b.ScopeRef)
			r.Prefixes = []netip.Prefix{p}
		case KindAddress:
			var a netip.Addr
			a, err = netip.ParseAddr(b.ScopeRef)
			r.Prefixes = []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}
		}
		if err != nil {
			return nil, fmt.Errorf("baseline %s: %w", b.Name, err)
		}
		if b.Mode != ModeNothing {
			explicit, err := portset.Parse(b.Ports)
			if err != nil && b.Ports != "" {
				return nil, fmt.Errorf("baseline %s: %w", b.Name, err)
			}
			listed, err := configapi.Ports(ctx, db, b.PortLists, b.PortListGroups)
			if err != nil {
				return nil, fmt.Errorf("baseline %s: %w", b.Name, err)
			}
			r.Ports = explicit.Union(listed)
		}
		rules = append(rules, r)
	}
	return rules, nil
}
