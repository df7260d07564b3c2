package discovery

import (
	"maps"
	"slices"
	"strings"
)

// Origin says where a discovered subnet came from.
type Origin struct {
	Source  string            `json:"source" doc:"The discovery source's name."`
	Kind    string            `json:"kind" doc:"aws, azure, gcp, netbox or cmdb."`
	Account string            `json:"account,omitempty" doc:"The cloud account, subscription or project, or the CMDB's account column."`
	Region  string            `json:"region,omitempty" doc:"The cloud region, or NetBox site."`
	Ref     string            `json:"ref,omitempty" doc:"The object's id at the source (vpc-…, a resource id, a NetBox prefix id, a CSV line)."`
	Tags    map[string]string `json:"tags,omitempty" doc:"The source's own tags or labels on the object."`
}

// Proposed is one subnet a source reports.
type Proposed struct {
	CIDR   string `json:"cidr"`
	Name   string `json:"name" doc:"The name the source gives the network, when it gives one."`
	Origin Origin `json:"origin"`
}

// Item is what discovery remembers about a CIDR a source reported, with the operator's
// decision: active (kept in step), pinned (kept as it is, even when the source drops it),
// excluded (never in the group), retired (the source dropped it).
type Item struct {
	CIDR     string `json:"cidr"`
	SubnetID string `json:"subnet_id" doc:"The config subnet that holds it."`
	Name     string `json:"name"`
	Origin   Origin `json:"origin"`
	State    string `json:"state" doc:"active, pinned, excluded or retired."`
}

// Diff is what a run would change in the source's group.
type Diff struct {
	Add      []Proposed `json:"add" doc:"Subnets the source reports for the first time (or again after retiring them)."`
	Change   []Proposed `json:"change" doc:"Subnets whose name or origin (tags, account, region) changed, as they will be."`
	Retire   []Item     `json:"retire" doc:"Subnets the source no longer reports; they leave the group."`
	Pinned   []string   `json:"pinned" doc:"CIDRs kept as they are because an operator pinned them."`
	Excluded []string   `json:"excluded" doc:"CIDRs the source reports that an operator excluded."`
}

// Empty reports whether applying the diff changes nothing.
func (d Diff) Empty() bool { return len(d.Add)+len(d.Change)+len(d.Retire) == 0 }

// plan compares what a source reports with what discovery holds for it. It is pure: the same
// inputs give the same diff, sorted by CIDR, so a dry run and the apply that follows agree.
func plan(current []Item, proposed []Proposed) Diff {
	have := map[string]Item{}
	for _, it := range current {
		have[it.CIDR] = it
	}
	d := Diff{Add: []Proposed{}, Change: []Proposed{}, Retire: []Item{}, Pinned: []string{}, Excluded: []string{}}
	seen := map[string]bool{}
	for _, p := range dedupe(proposed) {
		seen[p.CIDR] = true
		it, ok := have[p.CIDR]
		switch {
		case !ok || it.State == "retired":
			d.Add = append(d.Add, p)
		case it.State == "excluded":
			d.Excluded = append(d.Excluded, p.CIDR)
		case it.State == "pinned":
			d.Pinned = append(d.Pinned, p.CIDR)
		case it.Name != p.Name || !sameOrigin(it.Origin, p.Origin):
			d.Change = append(d.Change, p)
		}
	}
	for _, it := range current {
		if seen[it.CIDR] {
			continue
		}
		switch it.State {
		case "active":
			d.Retire = append(d.Retire, it)
		case "pinned":
			d.Pinned = append(d.Pinned, it.CIDR)
		}
	}
	slices.SortFunc(d.Retire, func(a, b Item) int { return strings.Compare(a.CIDR, b.CIDR) })
	slices.Sort(d.Pinned)
	return d
}

// dedupe keeps the first report of each CIDR (a VPC and its only subnet can share one),
// sorted by CIDR.
func dedupe(in []Proposed) []Proposed {
	seen := map[string]bool{}
	var out []Proposed
	for _, p := range in {
		if !seen[p.CIDR] {
			seen[p.CIDR] = true
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Proposed) int { return strings.Compare(a.CIDR, b.CIDR) })
	return out
}

func sameOrigin(a, b Origin) bool {
	return a.Source == b.Source && a.Kind == b.Kind && a.Account == b.Account && a.Region == b.Region && a.Ref == b.Ref && maps.Equal(a.Tags, b.Tags)
}
