package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"mipo/app/apptest"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
	"mipo/modules/jobs"
	"mipo/modules/rbac/rbactest"
	"mipo/modules/scanners/scannerstest"
)

// The route fuzz: every POST, PATCH and PUT route of the OpenAPI document receives bodies
// generated from its request schema and then mutated (wrong types, NUL characters, huge text,
// huge and negative numbers, missing and extra fields, broken JSON), against a running mipo
// signed in as the owner, with real objects behind the path ids. No answer may be a 5xx: bad
// input is the client's fault and must be answered as such. The seed is fixed, so a failure
// repeats; the count is bounded, so it runs in `make test`.

const (
	fuzzSeed     = 20261130
	fuzzPerRoute = 48
)

// schemaDoc is the part of the OpenAPI document the fuzz reads.
type schemaDoc struct {
	Paths map[string]map[string]struct {
		RequestBody *struct {
			Content map[string]struct {
				Schema *schema `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Scope string `json:"x-mipo-scope"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

type schema struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Format     string             `json:"format"`
	Properties map[string]*schema `json:"properties"`
	Items      *schema            `json:"items"`
	AnyOf      []*schema          `json:"anyOf"`
}

// UnmarshalJSON reads `true` (any value at all) as a schema without a type.
func (s *schema) UnmarshalJSON(b []byte) error {
	if string(b) == "true" || string(b) == "false" {
		return nil
	}
	type plain schema
	return json.Unmarshal(b, (*plain)(s))
}

type fuzzRoute struct {
	method, path, scope string
	body                *schema
}

func TestFuzzEveryWriteRouteNeverAnswers5xx(t *testing.T) {
	srv, _ := allRoutes(t)
	owner := rbactest.Owner(t, srv)
	fx := newFuzzFixture(t, srv, owner)
	raw, err := srv.App.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc schemaDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	routes := writeRoutes(doc)
	if len(routes) < 30 {
		t.Fatalf("only %d write routes in the OpenAPI document", len(routes))
	}
	g := &bodyGen{rng: rand.New(rand.NewPCG(fuzzSeed, 7)), defs: doc.Components.Schemas, ids: fx.anyIDs}
	tried, classes, total := map[string]int{}, map[string]map[int]int{}, 0
	for _, r := range routes {
		c := owner
		if r.scope == "scanner-key" {
			c = fx.scanner
		}
		path := fx.concrete(r.path)
		for i := range budget(r, g) {
			body := g.body(r.body, i)
			res := c.Do(r.method, path, body)
			key := r.method + " " + r.path
			tried[key]++
			if classes[key] == nil {
				classes[key] = map[int]int{}
			}
			classes[key][res.Status/100]++
			total++
			if res.Status >= 500 {
				t.Errorf("%s %s answered %d to %.300q: %.300s", r.method, r.path, res.Status, body, res.Body)
			}
		}
	}
	for _, k := range sortedKeys(tried) {
		t.Logf("%4d  %-40s 2xx %2d  4xx %2d  5xx %d", tried[k], k, classes[k][2], classes[k][4], classes[k][5])
	}
	t.Logf("%d requests over %d routes (seed %d)", total, len(tried), fuzzSeed)
}

// budget is how many bodies a route gets: half for routes that hash a password (Argon2id, by
// design slow), so the whole walk stays well under a minute on a busy machine.
func budget(r fuzzRoute, g *bodyGen) int {
	if s := g.resolve(r.body); s != nil {
		for name := range s.Properties {
			if strings.Contains(name, "password") {
				return fuzzPerRoute / 2
			}
		}
	}
	return fuzzPerRoute
}

// writeRoutes lists the document's POST, PATCH and PUT operations in a fixed order, with those
// that end the session or the scanner's key last.
func writeRoutes(doc schemaDoc) []fuzzRoute {
	var out []fuzzRoute
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method != "post" && method != "patch" && method != "put" {
				continue
			}
			r := fuzzRoute{method: strings.ToUpper(method), path: path, scope: op.Scope}
			if op.RequestBody != nil {
				r.body = op.RequestBody.Content["application/json"].Schema
			}
			out = append(out, r)
		}
	}
	last := func(r fuzzRoute) int {
		for i, s := range []string{"/complete", "/disable", "/rotate-key", "/auth/password", "/auth/logout"} {
			if strings.HasSuffix(r.path, s) {
				return i + 1
			}
		}
		return 0
	}
	slices.SortFunc(out, func(a, b fuzzRoute) int {
		if d := last(a) - last(b); d != 0 {
			return d
		}
		return strings.Compare(a.path+a.method, b.path+b.method)
	})
	return out
}

// fuzzFixture holds one real object of each kind, so path ids and id fields reach the code
// behind the lookups, and a scanner with a leased job for the scanner API.
type fuzzFixture struct {
	t       *testing.T
	ids     map[string]string // collection path → an object's id
	anyIDs  []string
	scanner *apptest.Client
	jobID   string
}

func newFuzzFixture(t *testing.T, srv *apptest.Server, owner *apptest.Client) *fuzzFixture {
	fx := &fuzzFixture{t: t, ids: map[string]string{}}
	create := func(path string, body map[string]any) string {
		t.Helper()
		r := owner.Post(path, body)
		var v struct {
			ID    string
			Items []struct{ ID string } // a launch answers its scans
			Token struct{ ID string }   // a new token comes with its secret
		}
		if json.Unmarshal(r.Body, &v); v.ID == "" && len(v.Items) > 0 {
			v.ID = v.Items[0].ID
		}
		if v.ID == "" {
			v.ID = v.Token.ID
		}
		if r.Status != http.StatusCreated && r.Status != http.StatusOK || v.ID == "" {
			t.Fatalf("fixture %s: %d %s", path, r.Status, r.Body)
		}
		fx.ids[path] = v.ID
		fx.anyIDs = append(fx.anyIDs, v.ID)
		return v.ID
	}
	tok := scannerstest.Provision(t, owner, nil)
	reg := scannerstest.Register(t, srv.URL, tok.Secret, "fuzz-scanner")
	fx.scanner = scannerstest.Scanner(t, srv.URL, reg.APIKey)
	fx.ids["/api/v1/scanners"] = reg.ScannerID
	fx.anyIDs = append(fx.anyIDs, reg.ScannerID)
	subnet := create("/api/v1/subnets", map[string]any{"name": "fuzz-net", "cidr": "127.0.0.0/30"})
	ports := create("/api/v1/port-lists", map[string]any{"name": "fuzz-ports", "ports": "22,80"})
	create("/api/v1/exclusions", map[string]any{"name": "fuzz-ex", "targets": "127.0.0.3", "global": false})
	create("/api/v1/subnet-groups", map[string]any{"name": "fuzz-subnets", "subnets": []string{subnet}})
	create("/api/v1/port-list-groups", map[string]any{"name": "fuzz-port-lists", "lists": []string{ports}})
	tmpl := create("/api/v1/templates", map[string]any{"name": "fuzz-template", "subnets": []string{subnet}, "port_lists": []string{ports},
		"scanners": map[string]any{"mode": "pool", "scanner_ids": []string{reg.ScannerID}}})
	create("/api/v1/template-groups", map[string]any{"name": "fuzz-templates", "templates": []string{tmpl}})
	create("/api/v1/scanner-groups", map[string]any{"name": "fuzz-group", "scanner_ids": []string{reg.ScannerID}})
	create("/api/v1/schedules", map[string]any{"name": "fuzz-schedule", "template_id": tmpl, "timing": map[string]any{"preset": "daily"}})
	create("/api/v1/roles", map[string]any{"name": "fuzz-role", "description": "", "scopes": []string{"targets:view"}})
	create("/api/v1/users", map[string]any{"username": "fuzz-user", "password": "a fuzz user's password", "roles": []string{}})
	create("/api/v1/scans", map[string]any{"template_id": tmpl})
	create("/api/v1/tokens", map[string]any{"name": "fuzz-token", "scopes": []string{"targets:view"}, "expires_in_days": 1})

	// A job of the scanner's own, leased, for the scanner API's job routes.
	ctx := context.Background()
	targets, _ := netset.Parse("127.0.0.1")
	ids, err := jobs.Create(ctx, srv.App.DB.Jobs, time.Now(), jobs.New{ScanID: fx.ids["/api/v1/scans"], Kind: jobs.KindVantage,
		ScannerID: reg.ScannerID, Targets: targets, Ports: portset.MustParse("22,80"), TimeoutMS: 500, RateLimit: 10})
	if err != nil {
		t.Fatal(err)
	}
	fx.jobID = ids[0]
	for range 5 { // the dispatcher's jobs of the scan may come first
		var lease struct{ Job struct{ ID string } }
		r := fx.scanner.Post("/scanner/v1/jobs/lease", map[string]int{"wait_seconds": 0})
		if r.Status != http.StatusOK {
			break
		}
		r.JSON(t, &lease)
		if lease.Job.ID == fx.jobID {
			break
		}
	}
	return fx
}

var pathID = regexp.MustCompile(`\{[a-z_]+\}`)

// concrete fills a path's ids with the fixture's objects: /api/v1/subnets/{id} takes the
// subnet's, /scanner/v1/jobs/{id}/results the leased job's.
func (fx *fuzzFixture) concrete(path string) string {
	if strings.HasPrefix(path, "/scanner/v1/jobs/{") {
		return pathID.ReplaceAllString(path, fx.jobID)
	}
	i := strings.Index(path, "/{")
	if i < 0 {
		return path
	}
	id, ok := fx.ids[path[:i]]
	if !ok {
		fx.t.Logf("no fixture object for %s: its id is one that exists nowhere", path)
		id = "00000000-0000-4000-8000-000000000000"
	}
	return pathID.ReplaceAllString(path, id)
}

// bodyGen makes request bodies: one valid-looking body from the schema, then mutations of it.
type bodyGen struct {
	rng  *rand.Rand
	defs map[string]*schema
	ids  []string
}

func (g *bodyGen) resolve(s *schema) *schema {
	for s != nil && (s.Ref != "" || len(s.AnyOf) > 0) {
		if s.Ref != "" {
			s = g.defs[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
		} else {
			s = s.AnyOf[0]
		}
	}
	return s
}

// value is a plausible value for a property: ids where ids go, addresses where addresses go.
func (g *bodyGen) value(name string, s *schema, depth int) any {
	s = g.resolve(s)
	if s == nil || depth > 6 {
		return nil
	}
	switch s.Type {
	case "object":
		obj := map[string]any{}
		for _, k := range sortedKeys(s.Properties) { // in order, so the seed decides everything
			obj[k] = g.value(k, s.Properties[k], depth+1)
		}
		return obj
	case "array":
		return []any{g.value(strings.TrimSuffix(name, "s"), s.Items, depth+1)}
	case "integer":
		if name == "wait_seconds" { // a lease's long poll: do not wait
			return 0
		}
		return []int{0, 1, 5, 22, 60, 1000}[g.rng.IntN(6)]
	case "number":
		return g.rng.Float64() * 100
	case "boolean":
		return g.rng.IntN(2) == 0
	}
	if s.Format == "date-time" {
		return time.Now().UTC().Format(time.RFC3339Nano)
	}
	return g.text(name)
}

func (g *bodyGen) text(name string) string {
	switch {
	case strings.HasSuffix(name, "id") || strings.HasSuffix(name, "_ids") || name == "subnet" || name == "list" || name == "template" || name == "role" || name == "group":
		if len(g.ids) > 0 {
			return g.ids[g.rng.IntN(len(g.ids))]
		}
	case name == "cidr":
		return "10.20.0.0/24"
	case name == "targets" || name == "address" || name == "binding":
		return "127.0.0.1"
	case name == "ports":
		return "22,80,8000-8010"
	case name == "email":
		return "fuzz@example.org"
	case name == "scope":
		return "targets:view"
	case name == "status":
		return []string{"done", "failed", "cancelled"}[g.rng.IntN(3)]
	case name == "mode":
		return []string{"pool", "vantage"}[g.rng.IntN(2)]
	case name == "preset":
		return "daily"
	case name == "cron":
		return "*/5 * * * *"
	case name == "timezone":
		return "Europe/Berlin"
	case name == "start" || name == "end":
		return "02:30"
	case name == "day":
		return "mon"
	case strings.Contains(name, "password"):
		return "a fuzz password long enough"
	}
	return fmt.Sprintf("fuzz-%s-%d", name, g.rng.IntN(1000))
}

// body returns the i-th body for a route: the first is as generated, the rest mutated.
func (g *bodyGen) body(s *schema, i int) []byte {
	var v any = map[string]any{}
	if s != nil {
		v = g.value("", s, 0)
	}
	if i > 0 {
		v = g.mutate(v)
	}
	raw, _ := json.Marshal(v)
	if i > 0 && g.rng.IntN(8) == 0 {
		raw = g.breakJSON(raw)
	}
	return raw
}

// mutate changes one place of v, chosen at random, or v as a whole.
func (g *bodyGen) mutate(v any) any {
	switch x := v.(type) {
	case map[string]any:
		keys := sortedKeys(x)
		switch n := g.rng.IntN(10); {
		case n == 0 || len(keys) == 0:
			return g.weird()
		case n == 1:
			delete(x, keys[g.rng.IntN(len(keys))])
		case n == 2:
			x[g.text("extra")] = g.weird()
		default:
			k := keys[g.rng.IntN(len(keys))]
			x[k] = g.mutate(x[k])
		}
		return x
	case []any:
		if len(x) == 0 || g.rng.IntN(4) == 0 {
			return append(x, g.weird())
		}
		if g.rng.IntN(6) == 0 { // many copies of one item: duplicates, big batches
			out := make([]any, 1+g.rng.IntN(6000))
			for i := range out {
				out[i] = x[0]
			}
			return out
		}
		i := g.rng.IntN(len(x))
		x[i] = g.mutate(x[i])
		return x
	}
	return g.weird()
}

var hugeNumbers = []any{int64(1) << 62, int64(math.MaxInt64), int64(math.MinInt64), uint64(math.MaxUint64), -1, -2147483649, 2147483648,
	json.Number("1e308"), json.Number("-1e308"), json.Number("1.5"), json.Number("123456789012345678901234567890"), 0}

// weird is a value of a wrong type or out of any range.
func (g *bodyGen) weird() any {
	switch g.rng.IntN(9) {
	case 0:
		return hugeNumbers[g.rng.IntN(len(hugeNumbers))]
	case 1:
		return "nul\x00inside"
	case 2:
		return strings.Repeat(string(rune('a'+g.rng.IntN(26))), 1<<(10+g.rng.IntN(8)))
	case 3:
		b := make([]byte, 3000+g.rng.IntN(3000))
		for i := range b {
			b[i] = byte(' ' + g.rng.IntN(95))
		}
		return string(b)
	case 4:
		return nil
	case 5:
		return []any{"x", 1, nil}
	case 6:
		return map[string]any{"nested": map[string]any{"deep": []any{true}}}
	case 7:
		return []string{"1970-01-01T00:00:00Z", "2099-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "not a time", "\u202e\ufeff", "../../etc/passwd", "'; DROP TABLE users; --"}[g.rng.IntN(7)]
	default:
		return g.rng.IntN(2) == 0
	}
}

// breakJSON makes the body invalid JSON, or a JSON value that is not an object.
func (g *bodyGen) breakJSON(raw []byte) []byte {
	switch g.rng.IntN(6) {
	case 0:
		return raw[:g.rng.IntN(len(raw)+1)]
	case 1:
		return append(raw, []byte(` {"again": 1}`)...)
	case 2:
		return []byte(strings.Repeat("[", 20000))
	case 3:
		return []byte(`"\ud800 \xff\xfe"`)
	case 4:
		return []byte("null")
	default:
		return []byte{}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
