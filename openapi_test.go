package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"mipo/app"
)

// fullApp builds (without a database) a process of every role, as the OpenAPI document sees it.
func fullApp(t *testing.T) *app.App {
	t.Helper()
	cfg, err := app.LoadConfig(map[string]string{"MIPO_DATA_DIR": t.TempDir(), "MIPO_TLS": "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type openapiDoc struct {
	Paths map[string]map[string]struct {
		Scope    string         `json:"x-mipo-scope"`
		Security []any          `json:"security"`
		Resp     map[string]any `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]any `json:"schemas"`
	} `json:"components"`
}

// Every /api and /scanner route is in the OpenAPI document with its scope, and the document
// names no route that does not exist.
func TestOpenAPIMatchesTheRouteTable(t *testing.T) {
	a := fullApp(t)
	raw, err := a.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc openapiDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	routes := map[string]string{}
	for _, r := range a.Routes() {
		if app.InOpenAPI(r) {
			routes[strings.ToLower(r.Method)+" "+app.OpenAPIPath(r.Path)] = r.Scope
		}
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := method + " " + path
			documented[key] = true
			scope, ok := routes[key]
			if !ok {
				t.Errorf("the document names %s, which is not a route", key)
				continue
			}
			if op.Scope != scope {
				t.Errorf("%s: the document says scope %q, the route needs %q", key, op.Scope, scope)
			}
			if _, ok := op.Resp["default"]; !ok || op.Security == nil {
				t.Errorf("%s: no error response or security in the document", key)
			}
		}
	}
	for key := range routes {
		if !documented[key] {
			t.Errorf("route %s is missing from the OpenAPI document", key)
		}
	}
	if len(routes) < 15 {
		t.Fatalf("only %d API routes: is every module imported?", len(routes))
	}
	// Every reference resolves.
	for _, ref := range bytes.Split(raw, []byte(`"$ref": "#/components/schemas/`))[1:] {
		name := string(ref[:bytes.IndexByte(ref, '"')])
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("a $ref names schema %s, which the document lacks", name)
		}
	}
}

// The web UI's API client is generated from ui/src/api/openapi.json: it must be the document
// the server serves, or the UI would call an API that is not there.
func TestTheUIsCopyOfTheOpenAPIDocumentIsCurrent(t *testing.T) {
	committed, err := os.ReadFile("ui/src/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	current, err := fullApp(t).OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(committed), bytes.TrimSpace(current)) {
		t.Fatal("ui/src/api/openapi.json differs from the server's document: run `make ui` and commit ui/")
	}
}
