package config

import (
	"context"
	"fmt"
	"math/big"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/config/configapi"
	"mipo/modules/config/netset"
	"mipo/modules/config/portset"
)

// DraftCheck is what a template as drafted would scan, checked against the launch limit.
type DraftCheck struct {
	HostCount string    `json:"host_count" doc:"Addresses the scope holds now, as a decimal string."`
	PortCount int       `json:"port_count"`
	Probes    string    `json:"probes" doc:"Connection attempts per scan: addresses × ports, as a decimal string."`
	Limit     string    `json:"limit" doc:"The launch limit (MIPO_SCAN_MAX_PROBES), as a decimal string; \"0\" when none is known."`
	TooLarge  bool      `json:"too_large"`
	Problems  []Finding `json:"problems" doc:"What would refuse the save, each naming its field."`
	Warnings  []Finding `json:"warnings" doc:"What would be saved but not launch as meant (no scanners, an empty scope)."`
}

// Finding is one problem or warning of a draft, naming the field it is about.
type Finding struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// draftScope computes what a template spec scans, from the objects as they are now.
func draftScope(ctx context.Context, db app.Querier, s *TemplateSpec) (netset.Set, portset.Set, error) {
	in, err := snapshotNow(db).inputs(ctx, s)
	if err != nil {
		return netset.Set{}, portset.Set{}, err
	}
	return in.compute()
}

// scopeTooLarge is the save-time refusal, on the field that makes the scope: the subnets.
func scopeTooLarge(targets netset.Set, ports portset.Set) error {
	limit := configapi.LaunchLimit()
	if limit <= 0 {
		return nil
	}
	probes := new(big.Int).Mul(targets.Count(), big.NewInt(int64(ports.Count())))
	if probes.Cmp(big.NewInt(limit)) <= 0 {
		return nil
	}
	return (&app.Error{Status: http.StatusUnprocessableEntity, Code: "scope_too_large", Field: "subnets",
		Message: fmt.Sprintf("the scope holds %s addresses × %d ports = %s connection attempts, more than the launch limit of %d (MIPO_SCAN_MAX_PROBES): narrow the subnets or the ports",
			targets.Count(), ports.Count(), probes, limit)}).
		WithDetail(map[string]string{"addresses": targets.Count().String(), "probes": probes.String(), "limit": fmt.Sprint(limit)})
}

// verifyTemplate refuses, at save, a template whose scope no scan could launch.
func verifyTemplate(ctx context.Context, tx pgx.Tx, _ string, s *TemplateSpec) error {
	targets, ports, err := draftScope(ctx, tx, s)
	if err != nil {
		return err
	}
	return scopeTooLarge(targets, ports)
}

// checkTemplateRoute evaluates a draft template without saving it, so the form can say what
// it would scan, and what is wrong with it, as it changes.
func checkTemplateRoute(e *env) app.Route {
	return app.Route{Method: http.MethodPost, Path: "/api/v1/templates/check", Scope: "templates:view", Tx: app.TxNone,
		Request: TemplateSpec{}, Response: DraftCheck{},
		Summary:     "What a draft template would scan (addresses, ports, connection attempts) against the launch limit, and what would refuse or spoil its save; nothing is saved",
		Description: "Problems name the field the save would refuse; warnings (no scanners, an empty scope) are saved but keep the template from launching as meant.",
		Handler: func(c echo.Context) error {
			s := newTemplateSpec() // absent fields take their defaults, as at create
			if err := c.Bind(&s); err != nil {
				return app.Invalid("body", "invalid_json", "the body must be a template as JSON")
			}
			if s.Scanners.Mode == "" {
				s.Scanners.Mode = ModePool
			}
			return c.JSON(http.StatusOK, checkDraft(c.Request().Context(), e.pool(), &s))
		}}
}

func checkDraft(ctx context.Context, db app.Querier, s *TemplateSpec) DraftCheck {
	out := DraftCheck{HostCount: "0", Probes: "0", Limit: fmt.Sprint(configapi.LaunchLimit()), Problems: []Finding{}, Warnings: []Finding{}}
	finding := func(err error) Finding {
		if e, ok := err.(*app.Error); ok {
			return Finding{Field: e.Field, Code: e.Code, Message: e.Message}
		}
		return Finding{Field: "", Code: "invalid", Message: err.Error()}
	}
	if err := s.validate(); err != nil {
		out.Problems = append(out.Problems, finding(err))
	}
	if len(s.Subnets)+len(s.SubnetGroups) > 0 && len(s.PortLists)+len(s.PortListGroups) > 0 {
		if err := checkRefs(ctx, db, s.references()); err != nil {
			out.Problems = append(out.Problems, finding(err))
			return out
		}
		targets, ports, err := draftScope(ctx, db, s)
		if err != nil {
			out.Problems = append(out.Problems, finding(err))
			return out
		}
		out.HostCount, out.PortCount = targets.Count().String(), ports.Count()
		out.Probes = new(big.Int).Mul(targets.Count(), big.NewInt(int64(ports.Count()))).String()
		if err := scopeTooLarge(targets, ports); err != nil {
			out.TooLarge = true
			out.Problems = append(out.Problems, finding(err))
		}
		if targets.IsEmpty() || ports.IsEmpty() {
			out.Warnings = append(out.Warnings, Finding{Field: "exclusions", Code: "empty_scope", Message: "the exclusions leave nothing to scan: a launch would be refused"})
		}
	}
	if s.Scanners.Mode == ModePool && len(s.Scanners.ScannerIDs) == 0 {
		out.Warnings = append(out.Warnings, Finding{Field: "scanners.scanner_ids", Code: "no_scanners",
			Message: "no scanners are named: the template saves, but cannot be launched until one is"})
	}
	return out
}
