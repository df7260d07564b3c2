package config_test

import (
	"net/http"
	"testing"
	"time"
)

type version struct {
	Version int
	Change  string
	At      time.Time
	Actor   string
	Spec    map[string]any
}

type fieldChange struct {
	Field    string
	Old, New any
}

type diff struct {
	From, To int
	Changes  []fieldChange
}

func changed(d diff) map[string]fieldChange {
	out := map[string]fieldChange{}
	for _, c := range d.Changes {
		out[c.Field] = c
	}
	return out
}

func TestEveryChangeIsAVersionThatCanBeReadAndDiffed(t *testing.T) {
	t.Parallel()
	srv, c, clock := start(t)
	created := clock.Now()
	id := create(t, c, "/api/v1/subnets", map[string]any{"name": "core", "cidr": "10.0.0.0/24", "tags": []string{"prod"}})
	clock.Advance(time.Minute)
	patch(t, c, "/api/v1/subnets/"+id, map[string]any{"name": "core-net"})
	clock.Advance(time.Minute)
	patch(t, c, "/api/v1/subnets/"+id, map[string]any{"cidr": "10.0.0.0/23", "tags": []string{}})
	// A change that changes nothing makes no version.
	if o := patch(t, c, "/api/v1/subnets/"+id, map[string]any{"cidr": "10.0.0.0/23"}); o["version"] != 3.0 {
		t.Fatalf("a no-op change moved the version to %v", o["version"])
	}

	var page struct{ Items []version }
	get(t, c, "/api/v1/subnets/"+id+"/versions", &page)
	if len(page.Items) != 3 || page.Items[0].Version != 3 || page.Items[2].Version != 1 {
		t.Fatalf("versions, newest first: %+v", page.Items)
	}
	if v := page.Items[2]; v.Change != "create" || !v.At.Equal(created) || v.Actor != "owner" || v.Spec["name"] != "core" {
		t.Fatalf("version 1: %+v", v)
	}
	var v2 version
	get(t, c, "/api/v1/subnets/"+id+"/versions/2", &v2)
	if v2.Spec["name"] != "core-net" || v2.Spec["cidr"] != "10.0.0.0/24" || !v2.At.Equal(created.Add(time.Minute)) {
		t.Fatalf("version 2: %+v", v2)
	}

	var d diff
	get(t, c, "/api/v1/subnets/"+id+"/diff?from=1&to=3", &d)
	ch := changed(d)
	if len(d.Changes) != 3 || ch["name"].Old != "core" || ch["name"].New != "core-net" || ch["cidr"].New != "10.0.0.0/23" || ch["tags"].New != nil {
		t.Fatalf("diff 1..3: %+v", d)
	}
	get(t, c, "/api/v1/subnets/"+id+"/diff", &d) // the latest change
	if d.From != 2 || d.To != 3 || len(d.Changes) != 2 {
		t.Fatalf("default diff: %+v", d)
	}
	get(t, c, "/api/v1/subnets/"+id+"/diff?from=0&to=1", &d) // the creation
	if ch := changed(d); d.From != 0 || ch["name"].New != "core" || ch["name"].Old != nil {
		t.Fatalf("diff 0..1: %+v", d)
	}
	wantError(t, c.Get("/api/v1/subnets/"+id+"/diff?from=3&to=2"), http.StatusBadRequest, "unknown_version", "from")
	wantError(t, c.Get("/api/v1/subnets/"+id+"/diff?to=9"), http.StatusBadRequest, "unknown_version", "to")
	if r := c.Get("/api/v1/subnets/" + id + "/versions/9"); r.Status != http.StatusNotFound {
		t.Fatalf("a version that does not exist: %d", r.Status)
	}
	// Versions belong to one kind: the subnet's history is not a template's.
	if r := c.Get("/api/v1/templates/" + id + "/versions"); r.Status != http.StatusNotFound {
		t.Fatalf("a subnet's history read as a template's: %d", r.Status)
	}

	// Every change was audited in its transaction, with its field-level diff.
	if n := countRows(t, srv, "audit_log", "action = 'subnet.update' AND resource_id = $1 AND diff @> '[{\"field\": \"cidr\", \"new\": \"10.0.0.0/23\"}]'", id); n != 1 {
		t.Fatalf("%d audit records of the CIDR change", n)
	}

	// The history outlives the object: deletion is its last version.
	if r := c.Delete("/api/v1/subnets/" + id); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	get(t, c, "/api/v1/subnets/"+id+"/versions", &page)
	if len(page.Items) != 4 || page.Items[0].Change != "delete" || page.Items[0].Spec["name"] != "core-net" {
		t.Fatalf("history after deletion: %+v", page.Items)
	}
	// And it cannot be rewritten, even by mipo's own database role.
	if _, err := srv.DBs.Config.Exec(t.Context(), `DELETE FROM config_versions`); err == nil {
		t.Fatal("config_versions accepted a DELETE")
	}
}

func TestATemplateDiffNamesNestedFields(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	f := makeFixture(t, c)
	patch(t, c, "/api/v1/templates/"+f.template, map[string]any{"timing": map[string]any{"rate_limit": 50}, "subnets": []string{f.core, f.lab}})
	var d diff
	get(t, c, "/api/v1/templates/"+f.template+"/diff", &d)
	ch := changed(d)
	if len(d.Changes) != 2 || ch["timing.rate_limit"].Old != 1000.0 || ch["timing.rate_limit"].New != 50.0 {
		t.Fatalf("diff: %+v", d)
	}
	if news, _ := ch["subnets"].New.([]any); len(news) != 2 {
		t.Fatalf("subnets change: %+v", ch["subnets"])
	}
}
