package config

import (
	"context"
	"encoding/json"
	"fmt"
	"mipo/app"
	"time"
)

// A snapshot reads objects as they were at one moment (from config_versions) or as they are
// now (from config_objects), loading each object once, in batches: resolving a template with
// ten thousand subnets costs a handful of queries, not ten thousand.
type snapshot struct {
	db      app.Querier
	at      time.Time
	current bool                // read the current state; at is ignored
	objects map[string]*snapped // id → the object, or nil when it did not exist
}

type snapped struct {
	kind    string
	version int
	spec    []byte
}

func snapshotAt(db app.Querier, at time.Time) *snapshot {
	return &snapshot{db: db, at: at, objects: map[string]*snapped{}}
}

func snapshotNow(db app.Querier) *snapshot {
	return &snapshot{db: db, current: true, objects: map[string]*snapped{}}
}

const (
	currentSQL = `SELECT id::text, kind, version, 'update', spec FROM config_objects WHERE id = ANY($1::uuid[])`
	// The latest version of each object written at or before $2; a deletion means it is gone.
	historySQL = `SELECT DISTINCT ON (object_id) object_id::text, kind, version, change, spec FROM config_versions
		WHERE object_id = ANY($1::uuid[]) AND at <= $2 ORDER BY object_id, version DESC`
)

// load reads the objects among ids not read yet.
func (s *snapshot) load(ctx context.Context, ids []string) error {
	var missing []string
	for _, id := range ids {
		if _, done := s.objects[id]; !done {
			missing = append(missing, id)
			s.objects[id] = nil
		}
	}
	if len(missing) == 0 {
		return nil
	}
	query, args := historySQL, []any{missing, s.at}
	if s.current {
		query, args = currentSQL, []any{missing}
	}
	return s.read(ctx, query, args...)
}

func (s *snapshot) read(ctx context.Context, query string, args ...any) error {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, change string
		o := &snapped{}
		if err := rows.Scan(&id, &o.kind, &o.version, &change, &o.spec); err != nil {
			return err
		}
		if change != "delete" {
			s.objects[id] = o
		}
	}
	return rows.Err()
}

// specs loads objects that must exist with the given kind and decodes their specs. A missing
// one means the history contradicts itself (a reference to something that did not exist), so
// it is an error: a scope with a silent hole in it would be worse.
func specs[S any](ctx context.Context, s *snapshot, kind string, ids []string) ([]S, error) {
	if err := s.load(ctx, ids); err != nil {
		return nil, err
	}
	out := make([]S, len(ids))
	for i, id := range ids {
		o := s.objects[id]
		if o == nil || o.kind != kind {
			return nil, fmt.Errorf("config: %s %s is referred to but %s", nouns[kind], id, s.missing())
		}
		if err := json.Unmarshal(o.spec, &out[i]); err != nil {
			return nil, fmt.Errorf("config: %s %s: %w", nouns[kind], id, err)
		}
	}
	return out, nil
}

func (s *snapshot) missing() string {
	if s.current {
		return "does not exist"
	}
	return "did not exist at " + s.at.Format(time.RFC3339Nano)
}

// subnetsIn returns every subnet id in the given subnets and subnet groups, following nested
// groups level by level. Each group is expanded once, so even a cycle could not loop.
func (s *snapshot) subnetsIn(ctx context.Context, subnetIDs, groupIDs []string) ([]string, error) {
	out := newIDSet(subnetIDs...)
	expanded := map[string]bool{}
	for level := groupIDs; len(level) > 0; {
		var next []string
		var todo []string
		for _, id := range level {
			if !expanded[id] {
				expanded[id] = true
				todo = append(todo, id)
			}
		}
		groups, err := specs[SubnetGroupSpec](ctx, s, kindSubnetGroup, todo)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			out.add(g.Subnets...)
			next = append(next, g.Groups...)
		}
		level = next
	}
	return out.ids, nil
}

// cidrs returns the CIDRs of subnets.
func (s *snapshot) cidrs(ctx context.Context, subnetIDs []string) ([]string, error) {
	subnets, err := specs[SubnetSpec](ctx, s, kindSubnet, subnetIDs)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(subnets))
	for i, sn := range subnets {
		out[i] = sn.CIDR
	}
	return out, nil
}

// exclusions returns the targets of the given exclusions and of every global one.
func (s *snapshot) exclusions(ctx context.Context, ids []string) ([]string, error) {
	global, err := s.globalExclusions(ctx)
	if err != nil {
		return nil, err
	}
	all := newIDSet(global...)
	all.add(ids...)
	list, err := specs[ExclusionSpec](ctx, s, kindExclusion, all.ids)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Targets
	}
	return out, nil
}

// globalExclusions returns the ids of the exclusions that were global at the snapshot's moment.
func (s *snapshot) globalExclusions(ctx context.Context) ([]string, error) {
	query, args := `SELECT id::text FROM config_objects WHERE kind = 'exclusion' AND (spec->>'global')::boolean ORDER BY id`, []any{}
	if !s.current {
		query, args = `SELECT id FROM (SELECT DISTINCT ON (object_id) object_id::text AS id, change, spec FROM config_versions
			WHERE kind = 'exclusion' AND at <= $1 ORDER BY object_id, version DESC) v
			WHERE change <> 'delete' AND (spec->>'global')::boolean ORDER BY id`, []any{s.at}
	}
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ports returns the port texts of the given port lists and of the lists in the given groups.
func (s *snapshot) ports(ctx context.Context, listIDs, groupIDs []string) ([]string, error) {
	ids := newIDSet(listIDs...)
	groups, err := specs[PortListGroupSpec](ctx, s, kindPortListGroup, groupIDs)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		ids.add(g.Lists...)
	}
	lists, err := specs[PortListSpec](ctx, s, kindPortList, ids.ids)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(lists))
	for i, l := range lists {
		out[i] = l.Ports
	}
	return out, nil
}

// idSet is a set of ids that remembers the order they came in.
type idSet struct {
	ids  []string
	seen map[string]bool
}

func newIDSet(ids ...string) *idSet {
	s := &idSet{seen: map[string]bool{}}
	s.add(ids...)
	return s
}

func (s *idSet) add(ids ...string) {
	for _, id := range ids {
		if !s.seen[id] {
			s.seen[id] = true
			s.ids = append(s.ids, id)
		}
	}
}
