package config_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"mipo/modules/rbac/rbactest"
)

func TestSubnetValidationErrorsNameTheFieldAndTheFix(t *testing.T) {
	t.Parallel()
	srv, c, _ := start(t)
	cases := []struct {
		body        map[string]any
		code, field string
		says        []string
	}{
		{map[string]any{"name": "core", "cidr": "10.0.0.1/24"}, "invalid_cidr", "cidr",
			[]string{"10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?"}},
		{map[string]any{"name": "core", "cidr": "2001:db8::1/32"}, "invalid_cidr", "cidr", []string{"did you mean 2001:db8::/32?"}},
		{map[string]any{"name": "core", "cidr": "10.0.0.0"}, "invalid_cidr", "cidr", []string{"has no prefix length", "10.0.0.0/32"}},
		{map[string]any{"name": "core", "cidr": "10.0.0.0/33"}, "invalid_cidr", "cidr", []string{"IPv4 allows 0 to 32"}},
		{map[string]any{"name": "core", "cidr": "intranet.example.com/24"}, "invalid_cidr", "cidr", []string{"host name"}},
		{map[string]any{"name": "core", "cidr": ""}, "invalid_cidr", "cidr", []string{"no CIDR given"}},
		{map[string]any{"name": "  ", "cidr": "10.0.0.0/24"}, "invalid_name", "name", []string{"give a name"}},
		{map[string]any{"name": "core", "cidr": "10.0.0.0/24", "tags": []string{"a,b"}}, "invalid_tag", "tags", []string{"without commas"}},
		{map[string]any{"name": "core", "cidr": "10.0.0.0/24", "cdir": "x"}, "unknown_field", "cdir", nil},
		{map[string]any{"name": "core", "cidr": 24}, "invalid_type", "cidr", nil},
	}
	for _, tc := range cases {
		wantError(t, c.Post("/api/v1/subnets", tc.body), http.StatusBadRequest, tc.code, tc.field, tc.says...)
	}
	// Bad input changes nothing: no object, no version, no audit record.
	if n := countRows(t, srv, "config_objects", "kind = 'subnet'") + countRows(t, srv, "config_versions", "kind = 'subnet'") +
		countRows(t, srv, "audit_log", "action LIKE 'subnet.%'"); n != 0 {
		t.Fatalf("refused requests left %d rows behind", n)
	}
	// The suggestion is machine-readable too, for a UI to offer.
	var body struct {
		Error struct{ Detail struct{ Suggestion string } }
	}
	c.Post("/api/v1/subnets", map[string]any{"name": "core", "cidr": "10.0.0.1/24"}).JSON(t, &body)
	if body.Error.Detail.Suggestion != "10.0.0.0/24" {
		t.Fatalf("detail.suggestion = %q", body.Error.Detail.Suggestion)
	}
}

func TestSubnetHostCountsAreExact(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	for cidr, want := range map[string]string{
		"10.0.0.0/24":    "256",
		"10.0.0.7/32":    "1",
		"0.0.0.0/0":      "4294967296",
		"2001:db8::/32":  "79228162514264337593543950336",
		"::/0":           "340282366920938463463374607431768211456",
		"2001:db8::/127": "2",
	} {
		id := create(t, c, "/api/v1/subnets", map[string]any{"name": cidr, "cidr": cidr})
		var s struct {
			CIDR, Family string
			HostCount    string `json:"host_count"`
		}
		get(t, c, "/api/v1/subnets/"+id, &s)
		if s.HostCount != want {
			t.Errorf("%s: host_count %s, want %s", cidr, s.HostCount, want)
		}
		var check struct {
			CIDR, First, Last string
			HostCount         string `json:"host_count"`
		}
		get(t, c, "/api/v1/subnets/check?cidr="+url.QueryEscape(cidr), &check)
		if check.HostCount != want || check.CIDR != s.CIDR {
			t.Errorf("check %s: %+v", cidr, check)
		}
	}
	var check struct{ First, Last string }
	get(t, c, "/api/v1/subnets/check?cidr="+url.QueryEscape("192.168.4.0/22"), &check)
	if check.First != "192.168.4.0" || check.Last != "192.168.7.255" {
		t.Fatalf("check 192.168.4.0/22: %+v", check)
	}
	wantError(t, c.Get("/api/v1/subnets/check?cidr="+url.QueryEscape("192.168.4.1/22")), http.StatusBadRequest, "invalid_cidr", "cidr", "did you mean 192.168.4.0/22?")
}

func TestSubnetNamesAreUniqueIgnoringCase(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	create(t, c, "/api/v1/subnets", map[string]any{"name": "Office", "cidr": "10.1.0.0/16"})
	wantError(t, c.Post("/api/v1/subnets", map[string]any{"name": "office ", "cidr": "10.2.0.0/16"}), http.StatusConflict, "name_taken", "name", `"office"`)
	// Another kind may use the name.
	create(t, c, "/api/v1/exclusions", map[string]any{"name": "Office", "targets": "10.1.0.1", "global": false})
}

func TestSubnetListSortsFiltersAndPages(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	for _, s := range []map[string]any{
		{"name": "b-dmz", "cidr": "192.168.0.0/24", "tags": []string{"prod", "dmz"}},
		{"name": "a-lab", "cidr": "10.20.0.0/16", "tags": []string{"lab"}, "description": "the test lab"},
		{"name": "c-v6", "cidr": "2001:db8:1::/48", "tags": []string{"prod"}},
		{"name": "d-wide", "cidr": "10.0.0.0/8"},
	} {
		create(t, c, "/api/v1/subnets", s)
	}
	for query, want := range map[string][]string{
		"":                         {"a-lab", "b-dmz", "c-v6", "d-wide"},
		"?sort=-name":              {"d-wide", "c-v6", "b-dmz", "a-lab"},
		"?sort=cidr":               {"d-wide", "a-lab", "b-dmz", "c-v6"},
		"?tag=prod":                {"b-dmz", "c-v6"},
		"?family=ipv6":             {"c-v6"},
		"?family=ipv4&sort=-cidr":  {"b-dmz", "a-lab", "d-wide"},
		"?contains=10.20.3.4":      {"a-lab", "d-wide"},
		"?contains=2001:db8:1::99": {"c-v6"},
		"?q=LAB":                   {"a-lab"},
		"?q=192.168":               {"b-dmz"},
	} {
		if got := names(t, c, "/api/v1/subnets"+query); !slices.Equal(got, want) {
			t.Errorf("GET /api/v1/subnets%s = %v, want %v", query, got, want)
		}
	}
	var page struct {
		Items      []struct{ Name string }
		NextCursor string `json:"next_cursor"`
	}
	get(t, c, "/api/v1/subnets?limit=3", &page)
	if len(page.Items) != 3 || page.NextCursor == "" {
		t.Fatalf("first page: %+v", page)
	}
	if got := names(t, c, "/api/v1/subnets?limit=3&cursor="+page.NextCursor); !slices.Equal(got, []string{"d-wide"}) {
		t.Fatalf("second page: %v", got)
	}
	wantError(t, c.Get("/api/v1/subnets?family=ipv5"), http.StatusBadRequest, "invalid_family", "family")
	wantError(t, c.Get("/api/v1/subnets?contains=10.0.0.300"), http.StatusBadRequest, "invalid_address", "contains")
	wantError(t, c.Get("/api/v1/subnets?sort=tags"), http.StatusBadRequest, "invalid_sort", "sort")
}

func TestConfigurationNeedsItsScopes(t *testing.T) {
	t.Parallel()
	srv, owner, _ := start(t)
	viewer := rbactest.UserWithScopes(t, srv, owner, "targets:view")
	create(t, owner, "/api/v1/subnets", map[string]any{"name": "core", "cidr": "10.0.0.0/24"})
	if r := viewer.Get("/api/v1/subnets"); r.Status != http.StatusOK {
		t.Fatalf("targets:view cannot list subnets: %d", r.Status)
	}
	for _, r := range []struct {
		method, path string
	}{{"POST", "/api/v1/subnets"}, {"GET", "/api/v1/port-lists"}, {"GET", "/api/v1/templates"}, {"GET", "/api/v1/port-catalog"}} {
		var body any
		if r.method == "POST" {
			body = map[string]any{"name": "x", "cidr": "10.9.0.0/16"}
		}
		if res := viewer.Do(r.method, r.path, body); res.Status != http.StatusForbidden {
			t.Errorf("%s %s with only targets:view: %d", r.method, r.path, res.Status)
		}
	}
}
