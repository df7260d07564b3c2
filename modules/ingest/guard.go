package ingest

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/scanners"
)

// EventRejected is emitted for a refused scanner request; subject is the scanner's id when its
// key was known, else empty.
const EventRejected = "scanner.rejected"

// Rejection is the payload of scanner.rejected.
type Rejection struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	ScannerID  string `json:"scanner_id,omitempty"`
	Source     string `json:"source"`
	Path       string `json:"path"`
	Suppressed int    `json:"suppressed" doc:"Refusals of the same kind from the same scanner or address not recorded since the last record."`
}

// guard checks every /scanner/v1 route but register: the API key, that the scanner is enabled,
// and that the request comes from inside its binding.
type guard struct {
	m       *app.Mount
	asn     *scanners.ASNDatabase
	refused *refusalLog
}

type identityKey struct{}

// scannerOf returns the scanner a guarded request acts as.
func scannerOf(c echo.Context) *scanners.Identity {
	id, _ := c.Request().Context().Value(identityKey{}).(*scanners.Identity)
	return id
}

func sourceOf(c echo.Context) netip.Addr {
	a, err := netip.ParseAddr(c.RealIP())
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func (g *guard) middleware(r app.Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			key, _ := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
			id, err := scanners.Authenticate(ctx, g.m.ConfigDB, g.asn, strings.TrimSpace(key), sourceOf(c))
			var ref *scanners.Refusal
			if errors.As(err, &ref) {
				g.refused.record(ctx, ref, c.Path())
				return ref.APIError()
			}
			if err != nil {
				return err // the database: a 5xx the scanner retries
			}
			ctx = app.WithPrincipal(ctx, &app.Principal{Kind: app.PrincipalScanner, ID: id.ID, Name: id.Name})
			c.SetRequest(c.Request().WithContext(context.WithValue(ctx, identityKey{}, id)))
			return next(c)
		}
	}
}

// refusalLog writes refused requests to the audit log and the event bus. A scanner left
// running after it was disabled, or a stranger knocking, repeats its refusal every minute or
// faster; so each kind of refusal (scanner or address, and code) is recorded at once, then at
// most once a minute per process, each record counting those suppressed since the last. Every
// refusal is logged.
type refusalLog struct {
	m    *app.Mount
	pool func() app.ConfigDB

	mu   sync.Mutex
	last map[string]*refusalWindow
}

type refusalWindow struct {
	at         time.Time
	suppressed int
}

const refusalEvery = time.Minute

func newRefusalLog(m *app.Mount) *refusalLog {
	return &refusalLog{m: m, pool: func() app.ConfigDB { return m.ConfigDB }, last: map[string]*refusalWindow{}}
}

// admit says whether a refusal of this kind is recorded now, and how many were suppressed.
func (l *refusalLog) admit(key string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.last) > 10000 { // forget old windows rather than grow without bound
		for k, w := range l.last {
			if now.Sub(w.at) > refusalEvery {
				delete(l.last, k)
			}
		}
	}
	w := l.last[key]
	if w != nil && now.Sub(w.at) < refusalEvery {
		w.suppressed++
		return false, 0
	}
	n := 0
	if w != nil {
		n = w.suppressed
	}
	l.last[key] = &refusalWindow{at: now}
	return true, n
}

func (l *refusalLog) record(ctx context.Context, ref *scanners.Refusal, path string) {
	l.m.Log.Warn("scanner request refused", "code", ref.Code, "scanner", ref.ScannerID, "source", ref.Source, "path", path, "reason", ref.Message)
	who := ref.ScannerID
	if who == "" {
		who = "ip:" + ref.Source
	}
	ok, suppressed := l.admit(who+"/"+ref.Code, time.Now())
	if !ok {
		return
	}
	ctx = context.WithoutCancel(ctx)
	rej := Rejection{Code: ref.Code, Message: ref.Message, ScannerID: ref.ScannerID, Source: ref.Source, Path: path, Suppressed: suppressed}
	actor := &auditapi.Actor{Kind: "anonymous", Name: ref.Source}
	if ref.ScannerID != "" {
		actor = &auditapi.Actor{Kind: app.PrincipalScanner, ID: ref.ScannerID, Name: ref.ScannerName}
	}
	err := auditapi.RecordNow(ctx, l.pool(), auditapi.Entry{Action: "scanner.request_refused", ResourceType: "scanner", ResourceID: ref.ScannerID,
		Outcome: auditapi.Failure, Actor: actor,
		Detail: map[string]any{"code": ref.Code, "reason": ref.Message, "source": ref.Source, "path": path, "suppressed": suppressed}})
	if err != nil {
		l.m.Log.Error("refused scanner request not written to the audit log", "err", err)
	}
	if err := l.m.Events.Emit(ctx, EventRejected, ref.ScannerID, rej); err != nil {
		l.m.Log.Error("scanner.rejected event not emitted", "err", err)
	}
}

// Interface guard: the scanner guard is what the kernel asks for GuardScanner routes.
var _ app.GuardFunc = (&guard{}).middleware
