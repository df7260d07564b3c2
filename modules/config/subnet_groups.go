package config

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// SubnetGroupSpec is a subnet group as the API takes it: subnets, and other groups whose
// subnets belong to this one too.
type SubnetGroupSpec struct {
	Base
	Subnets []string `json:"subnets,omitempty" doc:"Ids of the subnets in the group."`
	Groups  []string `json:"groups,omitempty" doc:"Ids of subnet groups whose subnets belong to this group too, to any depth; no group may end up inside itself."`
}

// SubnetGroup is a subnet group as the API shows it.
type SubnetGroup struct {
	Meta
	SubnetGroupSpec
	SubnetCount int    `json:"subnet_count" doc:"Distinct subnets in the group, nested groups included."`
	HostCount   string `json:"host_count" doc:"Distinct addresses in the group, nested groups included and overlaps counted once, as a decimal string."`
}

func (s *SubnetGroupSpec) validate() (err error) {
	if s.Subnets, err = checkIDs("subnets", s.Subnets); err != nil {
		return err
	}
	s.Groups, err = checkIDs("groups", s.Groups)
	return err
}

func (s *SubnetGroupSpec) references() []refField {
	return []refField{{"subnets", kindSubnet, s.Subnets}, {"groups", kindSubnetGroup, s.Groups}}
}

func newSubnetGroups(e *env) *family[SubnetGroupSpec, *SubnetGroupSpec, SubnetGroup] {
	return &family[SubnetGroupSpec, *SubnetGroupSpec, SubnetGroup]{
		kind: kindSubnetGroup, path: "/api/v1/subnet-groups", plural: "subnet groups", view: "targets:view", edit: "targets:write",
		query:   ObjectQuery{},
		sorts:   []string{"name", "created_at", "updated_at"},
		verify:  verifyNoCycle,
		present: presentSubnetGroups,
		env:     e,
	}
}

func presentSubnetGroups(ctx context.Context, db app.Querier, objs []object[SubnetGroupSpec]) ([]SubnetGroup, error) {
	snap := snapshotNow(db)
	out := make([]SubnetGroup, len(objs))
	for i, o := range objs {
		ids, err := snap.subnetsIn(ctx, o.Spec.Subnets, o.Spec.Groups)
		if err != nil {
			return nil, err
		}
		cidrs, err := snap.cidrs(ctx, ids)
		if err != nil {
			return nil, err
		}
		set, err := computeTargets(cidrs, nil)
		if err != nil {
			return nil, err
		}
		out[i] = SubnetGroup{Meta: o.Meta, SubnetGroupSpec: o.Spec, SubnetCount: len(ids), HostCount: set.Count().String()}
	}
	return out, nil
}

// subnetGroupsLock serialises changes to how subnet groups nest: two concurrent changes could
// each add one half of a cycle, and neither would see the other's half.
const subnetGroupsLock = 0x73676370 // "sgcp"

// verifyNoCycle refuses a group that would end up inside itself, naming the cycle.
func verifyNoCycle(ctx context.Context, tx pgx.Tx, id string, s *SubnetGroupSpec) error {
	for i, g := range s.Groups {
		if g == id {
			return app.Invalid(fmt.Sprintf("groups[%d]", i), "group_cycle", "a group cannot contain itself")
		}
	}
	if len(s.Groups) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, subnetGroupsLock); err != nil {
		return err
	}
	children, names, err := subnetGroupNesting(ctx, tx)
	if err != nil {
		return err
	}
	children[id], names[id] = s.Groups, s.Name
	for i, g := range s.Groups {
		path := pathTo(children, g, id)
		if path == nil {
			continue
		}
		cycle := append([]string{id}, path...)
		named := make([]string, len(cycle))
		for j, c := range cycle {
			named[j] = fmt.Sprintf("%q", names[c])
		}
		return app.Invalid(fmt.Sprintf("groups[%d]", i), "group_cycle",
			"this would put the group inside itself: "+strings.Join(named, " → ")).WithDetail(map[string]any{"cycle": cycle})
	}
	return nil
}

// subnetGroupNesting reads which subnet group contains which, and every group's name.
func subnetGroupNesting(ctx context.Context, tx pgx.Tx) (children map[string][]string, names map[string]string, err error) {
	rows, err := tx.Query(ctx, `SELECT g.id::text, g.name, COALESCE(array_agg(r.to_id::text) FILTER (WHERE c.id IS NOT NULL), '{}')
		FROM config_objects g
		LEFT JOIN config_refs r ON r.from_id = g.id
		LEFT JOIN config_objects c ON c.id = r.to_id AND c.kind = 'subnet_group'
		WHERE g.kind = 'subnet_group' GROUP BY g.id, g.name`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	children, names = map[string][]string{}, map[string]string{}
	for rows.Next() {
		var id, name string
		var kids []string
		if err := rows.Scan(&id, &name, &kids); err != nil {
			return nil, nil, err
		}
		children[id], names[id] = kids, name
	}
	return children, names, rows.Err()
}

// pathTo returns the shortest chain from → … → to along children, or nil when there is none.
func pathTo(children map[string][]string, from, to string) []string {
	parent := map[string]string{from: from}
	for queue := []string{from}; len(queue) > 0; queue = queue[1:] {
		n := queue[0]
		if n == to {
			path := []string{n}
			for n != from {
				n = parent[n]
				path = append([]string{n}, path...)
			}
			return path
		}
		for _, c := range children[n] {
			if _, seen := parent[c]; !seen {
				parent[c] = n
				queue = append(queue, c)
			}
		}
	}
	return nil
}
