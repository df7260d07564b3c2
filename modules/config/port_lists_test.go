package config_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"mipo/app"
	"mipo/app/apptest"
)

type portList struct {
	ID, Name, Ports string
	Builtin         bool
	Version         int
	PortCount       int `json:"port_count"`
}

func TestStarterPortListsArePresentAndReadOnly(t *testing.T) {
	t.Parallel()
	srv, c, _ := start(t)
	var page struct{ Items []portList }
	get(t, c, "/api/v1/port-lists?builtin=true&limit=500", &page)
	byName := map[string]portList{}
	for _, l := range page.Items {
		byName[l.Name] = l
	}
	for name, count := range map[string]int{"web": -1, "databases": -1, "remote-admin": -1, "top-100": 100, "top-1000": 1000, "all": 65535} {
		l, ok := byName[name]
		if !ok || !l.Builtin {
			t.Fatalf("starter list %s missing: %+v", name, page.Items)
		}
		if count > 0 && l.PortCount != count {
			t.Errorf("%s holds %d ports, want %d", name, l.PortCount, count)
		}
	}
	if !slices.Contains(portsOf(byName["web"].Ports), "443") || !slices.Contains(portsOf(byName["databases"].Ports), "5432") {
		t.Fatalf("web %s, databases %s", byName["web"].Ports, byName["databases"].Ports)
	}
	web := byName["web"].ID
	wantError(t, c.Patch("/api/v1/port-lists/"+web, map[string]any{"ports": "80"}), http.StatusConflict, "builtin", "", "read-only")
	wantError(t, c.Delete("/api/v1/port-lists/"+web), http.StatusConflict, "builtin", "", "read-only")
	if names := names(t, c, "/api/v1/port-lists?builtin=false"); len(names) != 0 {
		t.Fatalf("own lists on a fresh install: %v", names)
	}

	// A restart changes nothing: the same ids, no new versions, no new audit records.
	audited := countRows(t, srv, "audit_log", "action = 'port_list.create'")
	apptest.Start(t, apptest.Config(t, srv.DBs, app.RoleManager), srv.DBs, app.Options{})
	if n := countRows(t, srv, "audit_log", "action LIKE 'port_list.%'"); n != audited || audited != 6 {
		t.Fatalf("starter lists audited %d times after a restart, %d before", n, audited)
	}
	if n := countRows(t, srv, "config_objects", "kind = 'port_list' AND builtin AND id = $1", web); n != 1 {
		t.Fatalf("the web list's id changed")
	}
}

func portsOf(list string) []string { return strings.Split(list, ",") }

func TestPortListsAreValidatedAndNormalised(t *testing.T) {
	t.Parallel()
	srv, c, _ := start(t)
	id := create(t, c, "/api/v1/port-lists", map[string]any{"name": "mine", "ports": " 443, 22,80-81,81, 8000-8100,8050"})
	var l portList
	get(t, c, "/api/v1/port-lists/"+id, &l)
	if l.Ports != "22,80-81,443,8000-8100" || l.PortCount != 105 {
		t.Fatalf("normalised: %+v", l)
	}
	cases := map[string][]string{
		"22,70000":   {"invalid_ports", `"70000" at position 4: ports are 1-65535`},
		"22;80":      {"invalid_ports", "not a port number"},
		"9000-8000":  {"invalid_ports", "9000-8000"},
		"":           {"invalid_ports", "no ports given"},
		"80-":        {"invalid_ports", "did you mean 80-65535?"},
		"http":       {"invalid_ports", "not a port number"},
		"22, 80 443": {"invalid_ports", "contains a space"},
	}
	for ports, want := range cases {
		wantError(t, c.Post("/api/v1/port-lists", map[string]any{"name": "bad", "ports": ports}), http.StatusBadRequest, want[0], "ports", want[1])
		wantError(t, c.Get("/api/v1/port-lists/check?ports="+url.QueryEscape(ports)), http.StatusBadRequest, want[0], "ports", want[1])
	}
	if n := countRows(t, srv, "config_objects", "name = 'bad'"); n != 0 {
		t.Fatal("a refused port list was stored")
	}
	var check struct {
		Ports     string
		PortCount int `json:"port_count"`
	}
	get(t, c, "/api/v1/port-lists/check?ports="+url.QueryEscape("443,22,21-23"), &check)
	if check.Ports != "21-23,443" || check.PortCount != 4 {
		t.Fatalf("check: %+v", check)
	}
}

func TestPortListGroupsAreTheDeduplicatedUnion(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	a := create(t, c, "/api/v1/port-lists", map[string]any{"name": "a", "ports": "22,80,443"})
	b := create(t, c, "/api/v1/port-lists", map[string]any{"name": "b", "ports": "80-90,443,3389"})
	g := create(t, c, "/api/v1/port-list-groups", map[string]any{"name": "both", "lists": []string{a, b}})
	var group struct {
		Ports     string
		PortCount int `json:"port_count"`
		Refs      []ref
	}
	get(t, c, "/api/v1/port-list-groups/"+g, &group)
	if group.Ports != "22,80-90,443,3389" || group.PortCount != 14 || !slices.Equal(refNames(group.Refs), []string{"a", "b"}) {
		t.Fatalf("group: %+v", group)
	}
	// A list's change shows in the group at once: the group refers to it.
	patch(t, c, "/api/v1/port-lists/"+a, map[string]any{"ports": "21"})
	get(t, c, "/api/v1/port-list-groups/"+g, &group)
	if group.Ports != "21,80-90,443,3389" {
		t.Fatalf("after changing list a: %s", group.Ports)
	}
}

func TestPortCatalogSearchesByNumberAndName(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	type entry struct {
		Port        int
		Name        string
		Description string
	}
	var page struct {
		Items      []entry
		NextCursor string `json:"next_cursor"`
	}
	get(t, c, "/api/v1/port-catalog?q=ssh", &page)
	if len(page.Items) == 0 || page.Items[0].Port != 22 {
		t.Fatalf("q=ssh: %+v", page.Items)
	}
	get(t, c, "/api/v1/port-catalog?q=5432", &page)
	if page.Items[0].Port != 5432 || page.Items[0].Name != "postgresql" {
		t.Fatalf("q=5432: %+v", page.Items)
	}
	get(t, c, "/api/v1/port-catalog?ports="+url.QueryEscape("22,80,443,8000-8100"), &page)
	var ports []int
	for _, e := range page.Items {
		ports = append(ports, e.Port)
	}
	if len(ports) < 4 || ports[0] != 22 || ports[1] != 80 || ports[2] != 443 || ports[len(ports)-1] > 8100 {
		t.Fatalf("ports=22,80,443,8000-8100: %v", ports)
	}
	get(t, c, "/api/v1/port-catalog?limit=10", &page)
	first := slices.Clone(page.Items)
	if len(first) != 10 || page.NextCursor == "" {
		t.Fatalf("first page: %d items, cursor %q", len(first), page.NextCursor)
	}
	get(t, c, "/api/v1/port-catalog?limit=10&cursor="+page.NextCursor, &page)
	if page.Items[0].Port <= first[9].Port {
		t.Fatalf("the second page starts at %d after %d", page.Items[0].Port, first[9].Port)
	}
	get(t, c, "/api/v1/port-catalog?sort=-port&limit=1", &page)
	if page.Items[0].Port < 40000 {
		t.Fatalf("highest port first: %+v", page.Items)
	}
	wantError(t, c.Get("/api/v1/port-catalog?ports=99999"), http.StatusBadRequest, "invalid_ports", "ports")
}
