package config

import (
	"context"
	"mipo/app"
)

// PortListGroupSpec is a port list group as the API takes it: port lists scanned together.
type PortListGroupSpec struct {
	Base
	Lists []string `json:"lists,omitempty" doc:"Ids of the port lists in the group."`
}

// PortListGroup is a port list group as the API shows it.
type PortListGroup struct {
	Meta
	PortListGroupSpec
	Ports     string `json:"ports" doc:"Every port of every list in the group, once: the union, merged and sorted."`
	PortCount int    `json:"port_count"`
}

func (s *PortListGroupSpec) validate() (err error) {
	s.Lists, err = checkIDs("lists", s.Lists)
	return err
}

func (s *PortListGroupSpec) references() []refField {
	return []refField{{"lists", kindPortList, s.Lists}}
}

func newPortListGroups(e *env) *family[PortListGroupSpec, *PortListGroupSpec, PortListGroup] {
	return &family[PortListGroupSpec, *PortListGroupSpec, PortListGroup]{
		kind: kindPortListGroup, path: "/api/v1/port-list-groups", plural: "port list groups", view: "ports:view", edit: "ports:write",
		query:   ObjectQuery{},
		sorts:   []string{"name", "created_at", "updated_at"},
		present: presentPortListGroups,
		env:     e,
	}
}

func presentPortListGroups(ctx context.Context, db app.Querier, objs []object[PortListGroupSpec]) ([]PortListGroup, error) {
	snap := snapshotNow(db)
	out := make([]PortListGroup, len(objs))
	for i, o := range objs {
		texts, err := snap.ports(ctx, o.Spec.Lists, nil)
		if err != nil {
			return nil, err
		}
		set, err := computePorts(texts)
		if err != nil {
			return nil, err
		}
		out[i] = PortListGroup{Meta: o.Meta, PortListGroupSpec: o.Spec, Ports: set.String(), PortCount: set.Count()}
	}
	return out, nil
}
