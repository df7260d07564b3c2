package app

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

// Who may call a route. Scope is one of these markers or a resource:action scope such as
// "users:write"; it is a required field, so a route cannot be declared without a check.
const (
	Public     = "public"      // anyone, no credentials (login, health, the UI's files)
	SignedIn   = "signed-in"   // any signed-in user or token, no particular scope
	ScannerKey = "scanner-key" // a mipo-scanner's API key
)

// Guard kinds: the kernel asks the module that provides a guard to check each non-public route.
const (
	GuardUser    = "user"    // sessions and API tokens, and their scopes
	GuardScanner = "scanner" // scanner API keys and source-address bindings
)

// TxMode says how a route's writes are wrapped.
type TxMode int

const (
	// TxAuto (the default): a state-changing /api/v1 route runs in one config transaction that
	// must carry an audit record; reads run without one.
	TxAuto TxMode = iota
	// TxOwn: the handler opens its own transactions, for example login, which must record a
	// failed attempt while refusing it.
	TxOwn
	// TxNone: the route changes no state even though its method is POST (a test message, say).
	TxNone
)

// A Route is declared once, completely: path, method, handler, who may call it, and what it
// takes and returns. The OpenAPI document and the scope table are generated from it.
type Route struct {
	Method  string
	Path    string // echo syntax: /api/v1/users/:id
	Scope   string // resource:action, or Public, SignedIn, ScannerKey
	Handler echo.HandlerFunc

	Summary     string
	Description string
	Request     any // the JSON body type, as a zero value
	Response    any // the success body type, as a zero value; nil means no body
	Query       any // a struct whose `query` tags are the query parameters
	Status      int // the success status; 200 when zero
	Tx          TxMode
	Sensitive   bool   // reading it is audited (keys, tokens, profiles, secrets)
	Produces    string // content type of a non-JSON success body (text/csv, text/x-shellscript, …)
	Module      string // set by the kernel
}

var scopePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$`)

func (r *Route) validate() error {
	where := fmt.Sprintf("route %s %s of module %s", r.Method, r.Path, r.Module)
	switch {
	case r.Method == "" || r.Path == "" || r.Handler == nil:
		return fmt.Errorf("%s: method, path and handler are required", where)
	case r.Scope == "":
		return fmt.Errorf("%s declares no scope: give it a resource:action scope, or app.SignedIn, app.ScannerKey or app.Public", where)
	case r.Scope != Public && r.Scope != SignedIn && r.Scope != ScannerKey && !scopePattern.MatchString(r.Scope):
		return fmt.Errorf("%s: scope %q is not resource:action", where, r.Scope)
	case r.Scope == ScannerKey && !strings.HasPrefix(r.Path, "/scanner/"):
		return fmt.Errorf("%s: scanner-key routes live under /scanner/", where)
	}
	return nil
}

// Guard returns which guard checks this route, or "" for public routes.
func (r *Route) Guard() string {
	switch r.Scope {
	case Public:
		return ""
	case ScannerKey:
		return GuardScanner
	default:
		return GuardUser
	}
}

// Mutates reports whether the route's method changes state.
func (r *Route) Mutates() bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
}

// changeWrapped reports whether the kernel wraps the route in a Change.
func (r *Route) changeWrapped() bool {
	return r.Tx == TxAuto && r.Mutates() && strings.HasPrefix(r.Path, "/api/")
}

// A GuardFunc builds the middleware that checks one route. It must answer 401 or 403 in the
// one error shape, and on success put the Principal in the request context.
type GuardFunc func(r Route) echo.MiddlewareFunc
