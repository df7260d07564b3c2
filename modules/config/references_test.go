package config_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"mipo/app"
	"mipo/app/apptest"
	_ "mipo/modules/config"
	"mipo/modules/config/configapi"
)

// scheduled stands in for another module's use of templates: a schedule naming one.
var scheduled sync.Map // template id → schedule name

func init() {
	configapi.RegisterUsers(configapi.KindTemplate, func(_ context.Context, _ app.Querier, id string) ([]string, error) {
		if name, ok := scheduled.Load(id); ok {
			return []string{`schedule "` + name.(string) + `"`}, nil
		}
		return nil, nil
	})
}

type ref struct{ ID, Kind, Name string }

type object struct {
	ID        string
	Name      string
	Version   int
	Refs      []ref
	UsedBy    []ref  `json:"used_by"`
	HostCount string `json:"host_count"`
}

func refNames(rs []ref) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

// fixture is a small configuration: two subnets, a group of one of them, a port list, and a
// template using the subnet, the group and the list.
type fixture struct {
	core, lab, group, exclusion, list, template string
}

func makeFixture(t *testing.T, c *apptest.Client) fixture {
	var f fixture
	f.core = create(t, c, "/api/v1/subnets", map[string]any{"name": "core", "cidr": "10.0.0.0/24"})
	f.lab = create(t, c, "/api/v1/subnets", map[string]any{"name": "lab", "cidr": "10.0.1.0/24"})
	f.group = create(t, c, "/api/v1/subnet-groups", map[string]any{"name": "offices", "subnets": []string{f.core}})
	f.exclusion = create(t, c, "/api/v1/exclusions", map[string]any{"name": "printers", "targets": "10.0.0.9", "global": false})
	f.list = create(t, c, "/api/v1/port-lists", map[string]any{"name": "ssh", "ports": "22"})
	f.template = create(t, c, "/api/v1/templates", map[string]any{"name": "weekly",
		"subnets": []string{f.core}, "subnet_groups": []string{f.group}, "exclusions": []string{f.exclusion}, "port_lists": []string{f.list}})
	return f
}

func TestARenameShowsEverywhereAndChangesNoScope(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	f := makeFixture(t, c)
	var before map[string]any
	get(t, c, "/api/v1/templates/"+f.template+"/scope", &before)

	patch(t, c, "/api/v1/subnets/"+f.core, map[string]any{"name": "core-network"})

	var group, tmpl, subnet object
	get(t, c, "/api/v1/subnet-groups/"+f.group, &group)
	get(t, c, "/api/v1/templates/"+f.template, &tmpl)
	get(t, c, "/api/v1/subnets/"+f.core, &subnet)
	if !slices.Equal(refNames(group.Refs), []string{"core-network"}) {
		t.Fatalf("the group still names %v", refNames(group.Refs))
	}
	if !slices.Contains(refNames(tmpl.Refs), "core-network") || slices.Contains(refNames(tmpl.Refs), "core") {
		t.Fatalf("the template names %v", refNames(tmpl.Refs))
	}
	if !slices.Equal(refNames(subnet.UsedBy), []string{"offices", "weekly"}) {
		t.Fatalf("the subnet is used by %v", refNames(subnet.UsedBy))
	}
	// Objects refer to each other by id: the template and group did not change, so they kept
	// their versions, and the template's scope is what it was.
	if tmpl.Version != 1 || group.Version != 1 || subnet.Version != 2 {
		t.Fatalf("versions after a rename: template %d, group %d, subnet %d", tmpl.Version, group.Version, subnet.Version)
	}
	var after map[string]any
	get(t, c, "/api/v1/templates/"+f.template+"/scope", &after)
	if after["host_count"] != before["host_count"] || after["host_count"] != "255" {
		t.Fatalf("scope before %v, after %v", before["host_count"], after["host_count"])
	}
}

func TestDeletingSomethingInUseIsRefusedNamingTheUsers(t *testing.T) {
	t.Parallel()
	srv, c, _ := start(t)
	f := makeFixture(t, c)
	plGroup := create(t, c, "/api/v1/port-list-groups", map[string]any{"name": "admin", "lists": []string{f.list}})
	tGroup := create(t, c, "/api/v1/template-groups", map[string]any{"name": "nightly", "templates": []string{f.template}})

	wantError(t, c.Delete("/api/v1/subnets/"+f.core), http.StatusConflict, "in_use", "",
		`subnet "core" is used by subnet group "offices", template "weekly"`)
	wantError(t, c.Delete("/api/v1/subnet-groups/"+f.group), http.StatusConflict, "in_use", "", `template "weekly"`)
	wantError(t, c.Delete("/api/v1/exclusions/"+f.exclusion), http.StatusConflict, "in_use", "", `template "weekly"`)
	wantError(t, c.Delete("/api/v1/port-lists/"+f.list), http.StatusConflict, "in_use", "", `port list group "admin"`, `template "weekly"`)
	wantError(t, c.Delete("/api/v1/templates/"+f.template), http.StatusConflict, "in_use", "", `template group "nightly"`)
	var refused struct {
		Error struct {
			Detail struct {
				UsedBy []ref `json:"used_by"`
			}
		}
	}
	c.Delete("/api/v1/subnets/"+f.core).JSON(t, &refused)
	if got := refused.Error.Detail.UsedBy; len(got) != 2 || got[0].ID != f.group || got[1].ID != f.template {
		t.Fatalf("detail.used_by = %+v", got)
	}
	if n := countRows(t, srv, "config_versions", "change = 'delete'"); n != 0 {
		t.Fatalf("refused deletions recorded %d versions", n)
	}

	// Unused objects go, and once their users are gone, so do they: top down.
	if r := c.Delete("/api/v1/subnets/" + f.lab); r.Status != http.StatusNoContent {
		t.Fatalf("deleting an unused subnet: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/api/v1/template-groups/" + tGroup, "/api/v1/templates/" + f.template, "/api/v1/port-list-groups/" + plGroup,
		"/api/v1/port-lists/" + f.list, "/api/v1/exclusions/" + f.exclusion, "/api/v1/subnet-groups/" + f.group, "/api/v1/subnets/" + f.core} {
		if r := c.Delete(path); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d %s", path, r.Status, r.Body)
		}
		if r := c.Get(path); r.Status != http.StatusNotFound {
			t.Fatalf("GET %s after deleting it: %d", path, r.Status)
		}
	}
	if n := countRows(t, srv, "config_refs", "true"); n != 0 {
		t.Fatalf("%d references left behind", n)
	}
}

func TestSubnetGroupCyclesAreRefusedNamingTheCycle(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	s := create(t, c, "/api/v1/subnets", map[string]any{"name": "s", "cidr": "10.0.0.0/24"})
	a := create(t, c, "/api/v1/subnet-groups", map[string]any{"name": "a", "subnets": []string{s}})
	b := create(t, c, "/api/v1/subnet-groups", map[string]any{"name": "b", "groups": []string{a}})
	cg := create(t, c, "/api/v1/subnet-groups", map[string]any{"name": "c", "groups": []string{b}})

	wantError(t, c.Patch("/api/v1/subnet-groups/"+a, map[string]any{"groups": []string{cg}}), http.StatusBadRequest, "group_cycle", "groups[0]",
		`"a" → "c" → "b" → "a"`)
	wantError(t, c.Patch("/api/v1/subnet-groups/"+b, map[string]any{"groups": []string{a, b}}), http.StatusBadRequest, "group_cycle", "groups[1]",
		"cannot contain itself")
	wantError(t, c.Patch("/api/v1/subnet-groups/"+a, map[string]any{"groups": []string{b}}), http.StatusBadRequest, "group_cycle", "groups[0]",
		`"a" → "b" → "a"`)
	var group object
	get(t, c, "/api/v1/subnet-groups/"+a, &group)
	if group.Version != 1 {
		t.Fatalf("a refused change made version %d", group.Version)
	}
	// A diamond is no cycle: d holds b and c, both of which hold a.
	d := create(t, c, "/api/v1/subnet-groups", map[string]any{"name": "d", "groups": []string{b, cg}})
	get(t, c, "/api/v1/subnet-groups/"+d, &group)
	if group.HostCount != "256" {
		t.Fatalf("d counts %s addresses, want the 256 of s once", group.HostCount)
	}
}

func TestReferencesMustBeLiveObjectsOfTheRightKind(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	f := makeFixture(t, c)
	missing := "6f1c1a8e-0000-4000-8000-000000000000"
	wantError(t, c.Post("/api/v1/subnet-groups", map[string]any{"name": "g", "subnets": []string{f.core, missing}}),
		http.StatusBadRequest, "unknown_subnet", "subnets[1]", "no subnet has id "+missing)
	wantError(t, c.Post("/api/v1/subnet-groups", map[string]any{"name": "g", "subnets": []string{f.list}}),
		http.StatusBadRequest, "wrong_kind", "subnets[0]", "is a port list, not a subnet")
	wantError(t, c.Post("/api/v1/subnet-groups", map[string]any{"name": "g", "subnets": []string{"core"}}),
		http.StatusBadRequest, "invalid_id", "subnets[0]", `"core" is not an id`)
	wantError(t, c.Patch("/api/v1/templates/"+f.template, map[string]any{"port_list_groups": []string{f.group}}),
		http.StatusBadRequest, "wrong_kind", "port_list_groups[0]", "is a subnet group, not a port list group")
	// Repeated ids count once.
	id := create(t, c, "/api/v1/port-list-groups", map[string]any{"name": "twice", "lists": []string{f.list, f.list}})
	var g struct{ Lists []string }
	get(t, c, "/api/v1/port-list-groups/"+id, &g)
	if len(g.Lists) != 1 {
		t.Fatalf("lists = %v", g.Lists)
	}
}

func TestAnotherModulesUseAlsoRefusesDeletion(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	f := makeFixture(t, c)
	scheduled.Store(f.template, "nightly")
	defer scheduled.Delete(f.template)
	wantError(t, c.Delete("/api/v1/templates/"+f.template), http.StatusConflict, "in_use", "", `template "weekly" is used by schedule "nightly"`)
	scheduled.Delete(f.template)
	if r := c.Delete("/api/v1/templates/" + f.template); r.Status != http.StatusNoContent {
		t.Fatalf("deleting once the schedule is gone: %d %s", r.Status, r.Body)
	}
}
