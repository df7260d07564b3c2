package scans

import (
	"net/http"
	"strings"
	"testing"
)

// A template's scope is weighed against the launch limit while it is drafted (POST
// /templates/check, which saves nothing) and when it is saved (refused, naming subnets); a
// template without scanners saves with a warning.
func TestTemplateScopeIsCheckedWhileDraftedAndRefusedAtSave(t *testing.T) {
	f := newFixtureWith(t, nil, map[string]string{"MIPO_DISPATCH_INTERVAL": "1h", "MIPO_SCAN_MAX_PROBES": "1000000"})
	a := f.scanner("scanner-a", 1000)
	small := f.create("/api/v1/subnets", map[string]any{"name": "small", "cidr": "127.0.0.0/24"})
	big := f.create("/api/v1/subnets", map[string]any{"name": "big", "cidr": "2001:db8::/48"})
	ports := f.create("/api/v1/port-lists", map[string]any{"name": "every port", "ports": "1-65535"})
	draft := func(subnet string, scanners ...string) map[string]any {
		return map[string]any{"name": "draft", "subnets": []string{subnet}, "port_lists": []string{ports},
			"scanners": map[string]any{"mode": "pool", "scanner_ids": scanners}}
	}
	type check struct {
		HostCount string `json:"host_count"`
		Probes    string
		Limit     string
		TooLarge  bool `json:"too_large"`
		Problems  []struct{ Field, Code, Message string }
		Warnings  []struct{ Field, Code string }
	}
	var c check
	r := f.owner.Post("/api/v1/templates/check", draft(small, a.id))
	r.JSON(t, &c)
	if r.Status != http.StatusOK || c.HostCount != "256" || c.Probes != "16776960" || c.Limit != "1000000" || !c.TooLarge ||
		len(c.Problems) != 1 || c.Problems[0].Field != "subnets" || c.Problems[0].Code != "scope_too_large" || len(c.Warnings) != 0 {
		t.Fatalf("a /24 × 65535 ports against a limit of a million: %d %s", r.Status, r.Body)
	}
	c = check{}
	f.owner.Post("/api/v1/templates/check", draft(big)).JSON(t, &c)
	if c.HostCount != "1208925819614629174706176" || !c.TooLarge || len(c.Warnings) != 1 || c.Warnings[0].Code != "no_scanners" {
		t.Fatalf("a /48 without scanners: %+v", c)
	}
	c = check{}
	f.owner.Post("/api/v1/templates/check", map[string]any{"name": "x", "subnets": []string{}, "port_lists": []string{ports}}).JSON(t, &c)
	if len(c.Problems) != 1 || c.Problems[0].Field != "subnets" || c.Problems[0].Code != "no_targets" {
		t.Fatalf("a draft with no subnets yet: %+v", c)
	}

	// At save: refused with the field, nothing stored.
	r = f.owner.Post("/api/v1/templates", draft(big, a.id))
	if r.Status != http.StatusUnprocessableEntity || r.ErrorField() != "subnets" || r.ErrorCode() != "scope_too_large" ||
		!strings.Contains(string(r.Body), "MIPO_SCAN_MAX_PROBES") {
		t.Fatalf("saving a /48 × 65535: %d %s", r.Status, r.Body)
	}
	var list struct{ Items []any }
	f.owner.Get("/api/v1/templates").JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a refused template was stored: %+v", list.Items)
	}
	// Within the limit it saves, and growing it past the limit by an edit is refused too.
	few := f.create("/api/v1/port-lists", map[string]any{"name": "web ports", "ports": "22,80,443"})
	body := draft(small)
	body["port_lists"] = []string{few}
	id := f.create("/api/v1/templates", body)
	if r := f.owner.Patch("/api/v1/templates/"+id, map[string]any{"port_lists": []string{ports}}); r.Status != http.StatusUnprocessableEntity || r.ErrorField() != "subnets" {
		t.Fatalf("an edit past the limit: %d %s", r.Status, r.Body)
	}
}
