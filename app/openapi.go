package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"
	"github.com/labstack/echo/v4"
)

// The OpenAPI 3.1 document is generated from the route table: each module's routes carry their
// request, response and query types, and the kernel assembles them. It describes the API of
// every role, whichever roles this process runs, so one document serves all clients.

// OpenAPIDocument returns the OpenAPI document for the routes of every role, built once.
func (a *App) OpenAPIDocument() ([]byte, error) {
	a.openapiOnce.Do(func() {
		routes := a.routes
		if len(a.Config.Roles) != len(Roles) {
			all := *a.Config
			all.Roles = Roles
			full, err := New(&all, Options{Registry: a.registry, Logger: a.Log})
			if err != nil {
				a.openapiErr = err
				return
			}
			routes = full.routes
		}
		a.openapi, a.openapiErr = BuildOpenAPI(routes)
	})
	return a.openapi, a.openapiErr
}

type openapiCache struct {
	openapiOnce sync.Once
	openapi     []byte
	openapiErr  error
}

func (a *App) openapiRoute() Route {
	return Route{Method: http.MethodGet, Path: "/api/v1/openapi.json", Scope: Public,
		Summary: "This OpenAPI 3.1 document: every route of every role, with the scope each needs",
		Handler: func(c echo.Context) error {
			doc, err := a.OpenAPIDocument()
			if err != nil {
				return err
			}
			return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc)
		}}
}

// InOpenAPI reports whether a route belongs in the API document: the admin API and the
// scanner API, not health probes or the web UI's files.
func InOpenAPI(r Route) bool {
	return strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/scanner/")
}

var packagePath = regexp.MustCompile(`[A-Za-z0-9_.-]+/`)

var echoParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// OpenAPIPath turns echo's /users/:id into OpenAPI's /users/{id}.
func OpenAPIPath(p string) string { return echoParam.ReplaceAllString(p, "{$1}") }

type schemaBuilder struct {
	r       *jsonschema.Reflector
	defs    map[string]*jsonschema.Schema
	types   map[string]reflect.Type
	failure error
}

func newSchemaBuilder() *schemaBuilder {
	b := &schemaBuilder{defs: map[string]*jsonschema.Schema{}, types: map[string]reflect.Type{}}
	b.r = &jsonschema.Reflector{Anonymous: true, Namer: b.name, LookupComment: docTag}
	return b
}

// name is a type's component name: package.Type, with generic arguments spelled out, so two
// modules' types of the same name never collide (rbac.User, app.Page_rbac.User). A module's
// contract package (modules/scanners/scannersapi) holds the module's own types, so they keep
// the module's name (scanners.Scanner): moving a type there does not rename it in the document.
func (b *schemaBuilder) name(t reflect.Type) string {
	name := moduleOfContract(t.Name()) // generic arguments are spelled with their package paths
	pkg := moduleOfContract(t.PkgPath())
	pkg = pkg[strings.LastIndex(pkg, "/")+1:]
	if i := strings.Index(name, "["); i >= 0 {
		// Arguments may be generic themselves (Page[Version[Spec]]): drop package paths,
		// pointers and slice marks everywhere, and spell each [ as _.
		args := packagePath.ReplaceAllString(name[i+1:len(name)-1], "")
		name = name[:i] + "_" + strings.NewReplacer("*", "", "[]", "", "[", "_", "]", "", ",", "_").Replace(args)
	}
	full := name
	if pkg != "" {
		full = pkg + "." + name
	}
	b.types[full] = t
	return full
}

var contractPath = regexp.MustCompile(`/([a-z0-9_]+)/([a-z0-9_]+)api\b`)

// moduleOfContract turns each path of a contract package (…/scanners/scannersapi) in s into its
// module's path (…/scanners).
func moduleOfContract(s string) string {
	return contractPath.ReplaceAllStringFunc(s, func(p string) string {
		m := contractPath.FindStringSubmatch(p)
		if m[1] != m[2] {
			return p
		}
		return "/" + m[1]
	})
}

// docTag supplies descriptions from `doc:"…"` struct tags.
func docTag(t reflect.Type, field string) string {
	if field == "" || t.Kind() != reflect.Struct {
		return ""
	}
	if f, ok := t.FieldByName(field); ok {
		return f.Tag.Get("doc")
	}
	return ""
}

// ref returns a schema for v's type, adding its definitions to the components.
func (b *schemaBuilder) ref(v any) *jsonschema.Schema {
	s := b.r.Reflect(v)
	for name, d := range s.Definitions {
		b.defs[name] = d
	}
	s.Definitions = nil
	s.Version = ""
	return s
}

// nullablePointers marks pointer fields without omitempty as nullable: Go sends them as null.
func (b *schemaBuilder) nullablePointers() {
	for name, def := range b.defs {
		t := b.types[name]
		if t == nil || t.Kind() != reflect.Struct || def.Properties == nil {
			continue
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			jname, opts, _ := strings.Cut(tag, ",")
			if f.Type.Kind() != reflect.Pointer || strings.Contains(opts, "omitempty") || jname == "-" {
				continue
			}
			if jname == "" {
				jname = f.Name
			}
			if p, ok := def.Properties.Get(jname); ok {
				desc := p.Description
				p.Description = ""
				def.Properties.Set(jname, &jsonschema.Schema{AnyOf: []*jsonschema.Schema{p, {Type: "null"}}, Description: desc})
			}
		}
	}
}

type operation struct {
	OperationID string                `json:"operationId"`
	Summary     string                `json:"summary,omitempty"`
	Description string                `json:"description,omitempty"`
	Tags        []string              `json:"tags"`
	Parameters  []parameter           `json:"parameters,omitempty"`
	RequestBody *requestBody          `json:"requestBody,omitempty"`
	Responses   map[string]*response  `json:"responses"`
	Security    []map[string][]string `json:"security"`
	Scope       string                `json:"x-mipo-scope"`
}

type parameter struct {
	Name        string             `json:"name"`
	In          string             `json:"in"`
	Required    bool               `json:"required,omitempty"`
	Description string             `json:"description,omitempty"`
	Schema      *jsonschema.Schema `json:"schema"`
}

type requestBody struct {
	Required bool                 `json:"required"`
	Content  map[string]mediaType `json:"content"`
}

type response struct {
	Description string               `json:"description"`
	Content     map[string]mediaType `json:"content,omitempty"`
}

type mediaType struct {
	Schema *jsonschema.Schema `json:"schema"`
}

// BuildOpenAPI assembles the document for a route table.
func BuildOpenAPI(routes []Route) ([]byte, error) {
	b := newSchemaBuilder()
	errorSchema := b.ref(ErrorBody{})
	paths := map[string]map[string]*operation{}
	for _, r := range routes {
		if !InOpenAPI(r) {
			continue
		}
		op := &operation{
			OperationID: operationID(r), Summary: r.Summary, Description: r.Description, Tags: []string{r.Module},
			Responses: map[string]*response{"default": {Description: "An error in the one error shape", Content: jsonContent(errorSchema)}},
			Security:  security(r), Scope: r.Scope,
		}
		for _, m := range echoParam.FindAllStringSubmatch(r.Path, -1) {
			op.Parameters = append(op.Parameters, parameter{Name: m[1], In: "path", Required: true, Schema: &jsonschema.Schema{Type: "string"}})
		}
		if r.Query != nil {
			op.Parameters = append(op.Parameters, queryParameters(reflect.TypeOf(r.Query))...)
		}
		if r.Request != nil {
			op.RequestBody = &requestBody{Required: true, Content: jsonContent(b.ref(r.Request))}
		}
		op.Responses[successStatus(r)] = successResponse(b, r)
		path := OpenAPIPath(r.Path)
		if paths[path] == nil {
			paths[path] = map[string]*operation{}
		}
		paths[path][strings.ToLower(r.Method)] = op
	}
	b.nullablePointers()
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "mipo API", "version": Version,
			"description": "Every action of the mipo web UI, for automation. Admin API routes take a session cookie (with the X-CSRF-Token header on changes) or an API token as 'Authorization: Bearer mipo_…'; x-mipo-scope names the scope each needs. Scanner API routes take a scanner key."},
		"paths": paths,
		"components": map[string]any{
			"schemas": b.defs,
			"securitySchemes": map[string]any{
				"session":    map[string]any{"type": "apiKey", "in": "cookie", "name": "mipo_session", "description": "Over TLS the cookie is named __Host-mipo_session."},
				"apiToken":   map[string]any{"type": "http", "scheme": "bearer", "description": "A mipo API token (mipo_…)."},
				"scannerKey": map[string]any{"type": "http", "scheme": "bearer", "description": "A scanner's API key (msk_…)."},
			},
		},
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(raw, []byte(`"#/$defs/`), []byte(`"#/components/schemas/`)), nil
}

func jsonContent(s *jsonschema.Schema) map[string]mediaType {
	return map[string]mediaType{"application/json": {Schema: s}}
}

func successStatus(r Route) string {
	if r.Status == 0 {
		return "200"
	}
	return strconv.Itoa(r.Status)
}

func successResponse(b *schemaBuilder, r Route) *response {
	res := &response{Description: http.StatusText(max(r.Status, 200))}
	switch {
	case r.Produces != "":
		res.Content = map[string]mediaType{r.Produces: {Schema: &jsonschema.Schema{Type: "string"}}}
	case r.Response != nil:
		res.Content = jsonContent(b.ref(r.Response))
	}
	return res
}

func security(r Route) []map[string][]string {
	switch r.Scope {
	case Public:
		return []map[string][]string{}
	case ScannerKey:
		return []map[string][]string{{"scannerKey": {}}}
	default:
		return []map[string][]string{{"session": {}}, {"apiToken": {}}}
	}
}

func operationID(r Route) string {
	id := strings.ToLower(r.Method) + strings.NewReplacer("/api/v1/", "_", "/scanner/v1/", "_scanner_", "/", "_", ":", "by_", "-", "_", ".", "_").Replace(r.Path)
	return strings.TrimRight(id, "_")
}

// queryParameters reads a query struct's `query` tags (embedded structs included).
func queryParameters(t reflect.Type) []parameter {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []parameter
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, queryParameters(f.Type)...)
			continue
		}
		name := f.Tag.Get("query")
		if name == "" {
			continue
		}
		out = append(out, parameter{Name: name, In: "query", Description: f.Tag.Get("doc"), Schema: &jsonschema.Schema{Type: scalarType(f.Type)}})
	}
	return out
}

func scalarType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	default:
		return "string"
	}
}
