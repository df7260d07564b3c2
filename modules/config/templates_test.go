package config_test

import (
	"net/http"
	"slices"
	"testing"
)

type template struct {
	ID       string
	Version  int
	Subnets  []string
	Scanners struct {
		Mode            string
		ScannerIDs      []string `json:"scanner_ids"`
		ScannerGroupIDs []string `json:"scanner_group_ids"`
	}
	Timing struct {
		RateLimit          int `json:"rate_limit"`
		TimeoutMS          int `json:"timeout_ms"`
		Retries            int
		MaxDurationSeconds int `json:"max_duration_seconds"`
	}
}

func TestTemplateDefaultsAndPartialChanges(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t)
	f := makeFixture(t, c)
	var tmpl template
	get(t, c, "/api/v1/templates/"+f.template, &tmpl)
	if tmpl.Scanners.Mode != "pool" || tmpl.Timing.RateLimit != 1000 || tmpl.Timing.TimeoutMS != 1000 || tmpl.Timing.Retries != 1 || tmpl.Timing.MaxDurationSeconds != 86400 {
		t.Fatalf("defaults: %+v", tmpl)
	}
	// A partial timing keeps the other timing fields.
	id := create(t, c, "/api/v1/templates", map[string]any{"name": "fast", "subnets": []string{f.lab}, "port_lists": []string{f.list},
		"timing": map[string]any{"retries": 0}})
	get(t, c, "/api/v1/templates/"+id, &tmpl)
	if tmpl.Timing.Retries != 0 || tmpl.Timing.TimeoutMS != 1000 {
		t.Fatalf("partial timing: %+v", tmpl.Timing)
	}
	group := "0b8f5d6e-1d2c-4c3b-9a8f-7e6d5c4b3a21"
	patch(t, c, "/api/v1/templates/"+id, map[string]any{"scanners": map[string]any{"mode": "vantage", "scanner_group_ids": []string{group}}})
	get(t, c, "/api/v1/templates/"+id, &tmpl)
	if tmpl.Version != 2 || tmpl.Scanners.Mode != "vantage" || !slices.Equal(tmpl.Scanners.ScannerGroupIDs, []string{group}) || tmpl.Timing.Retries != 0 {
		t.Fatalf("after the change: %+v", tmpl)
	}
}

func TestTemplateValidationErrorsNameTheField(t *testing.T) {
	t.Parallel()
	srv, c, _ := start(t)
	f := makeFixture(t, c)
	ok := func(change map[string]any) map[string]any {
		body := map[string]any{"name": "t", "subnets": []string{f.core}, "port_lists": []string{f.list}}
		for k, v := range change {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
		return body
	}
	scanner := "7d9e1f4a-3b2c-4d5e-8f6a-1b2c3d4e5f60"
	cases := []struct {
		body        map[string]any
		code, field string
		says        string
	}{
		{ok(map[string]any{"subnets": nil}), "no_targets", "subnets", "at least one subnet or subnet group"},
		{ok(map[string]any{"port_lists": []string{}}), "no_ports", "port_lists", "at least one port list or port list group"},
		{ok(map[string]any{"timing": map[string]any{"rate_limit": -1}}), "out_of_range", "timing.rate_limit", "from 0 to 1000000"},
		{ok(map[string]any{"timing": map[string]any{"timeout_ms": 10}}), "out_of_range", "timing.timeout_ms", "from 50 to 60000 milliseconds"},
		{ok(map[string]any{"timing": map[string]any{"retries": 11}}), "out_of_range", "timing.retries", "from 0 to 10"},
		{ok(map[string]any{"timing": map[string]any{"max_duration_seconds": 40000000}}), "out_of_range", "timing.max_duration_seconds", "0: no limit"},
		{ok(map[string]any{"timing": map[string]any{"rate_limit": "fast"}}), "invalid_type", "timing.rate_limit", ""},
		{ok(map[string]any{"scanners": map[string]any{"mode": "all"}}), "invalid_mode", "scanners.mode", "pool or vantage"},
		{ok(map[string]any{"scanners": map[string]any{"mode": "vantage"}}), "no_scanner_groups", "scanners.scanner_group_ids", "at least one scanner group"},
		{ok(map[string]any{"scanners": map[string]any{"mode": "vantage", "scanner_ids": []string{scanner}, "scanner_group_ids": []string{scanner}}}),
			"wrong_mode", "scanners.scanner_ids", "pool mode"},
		{ok(map[string]any{"scanners": map[string]any{"mode": "pool", "scanner_group_ids": []string{scanner}}}), "wrong_mode", "scanners.scanner_group_ids", "vantage mode"},
		{ok(map[string]any{"scanners": map[string]any{"mode": "pool", "scanner_ids": []string{"scanner-1"}}}), "invalid_id", "scanners.scanner_ids[0]", "not an id"},
		{ok(map[string]any{"exclusions": []string{f.core}}), "wrong_kind", "exclusions[0]", "is a subnet, not an exclusion"},
		{ok(map[string]any{"name": "weekly"}), "name_taken", "name", `a template named "weekly" exists`},
	}
	for _, tc := range cases {
		status := http.StatusBadRequest
		if tc.code == "name_taken" {
			status = http.StatusConflict
		}
		wantError(t, c.Post("/api/v1/templates", tc.body), status, tc.code, tc.field, tc.says)
	}
	if n := countRows(t, srv, "config_objects", "kind = 'template'"); n != 1 {
		t.Fatalf("%d templates after refused creations", n)
	}
	// A template naming scanners in a pool is fine; the scanners module owns their existence.
	create(t, c, "/api/v1/templates", ok(map[string]any{"scanners": map[string]any{"mode": "pool", "scanner_ids": []string{scanner}}}))
}
