package config

import (
	"context"
	"errors"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/config/netset"
)

// ExclusionSpec is an exclusion as the API takes it: addresses never to scan, either
// everywhere (global) or in the templates that list it.
type ExclusionSpec struct {
	Base
	Targets string `json:"targets" maxlen:"1048576" doc:"Addresses, CIDRs and ranges such as 10.0.0.5, 10.1.0.0/16, 10.2.0.1-10.2.0.9, separated by commas or new lines; stored merged and normalised."`
	Global  bool   `json:"global" doc:"true: subtracted from every template's targets; false: only from the templates that list it."`
}

// Exclusion is an exclusion as the API shows it.
type Exclusion struct {
	Meta
	ExclusionSpec
	HostCount string `json:"host_count" doc:"Addresses excluded, as a decimal string."`
}

// ExclusionQuery is the query of GET /api/v1/exclusions.
type ExclusionQuery struct {
	ObjectQuery
	Global string `query:"global" json:"global,omitempty" doc:"true: only global exclusions; false: only per-template ones."`
}

func (s *ExclusionSpec) validate() error {
	set, err := parseTargets("targets", s.Targets)
	if err != nil {
		return err
	}
	s.Targets = set.String()
	return nil
}

func (s *ExclusionSpec) references() []refField { return nil }

// parseTargets reads a list of addresses, CIDRs and ranges as the operator typed it.
func parseTargets(field, text string) (netset.Set, error) {
	set, err := netset.Parse(text)
	var pe *netset.ParseError
	if errors.As(err, &pe) {
		e := app.Invalid(field, "invalid_targets", pe.Error())
		detail := map[string]any{"offset": pe.Offset}
		if pe.Suggestion != "" {
			detail["suggestion"] = pe.Suggestion
		}
		return set, e.WithDetail(detail)
	}
	return set, err
}

func newExclusions(e *env) *family[ExclusionSpec, *ExclusionSpec, Exclusion] {
	return &family[ExclusionSpec, *ExclusionSpec, Exclusion]{
		kind: kindExclusion, path: "/api/v1/exclusions", plural: "exclusions", view: "targets:view", edit: "targets:write",
		query:   ExclusionQuery{},
		sorts:   []string{"name", "created_at", "updated_at"},
		search:  []string{"o.spec->>'targets'"},
		filter:  filterExclusions,
		present: presentExclusions,
		env:     e,
	}
}

func presentExclusions(_ context.Context, _ app.Querier, objs []object[ExclusionSpec]) ([]Exclusion, error) {
	out := make([]Exclusion, len(objs))
	for i, o := range objs {
		set, err := netset.Parse(o.Spec.Targets)
		if err != nil {
			return nil, err
		}
		out[i] = Exclusion{Meta: o.Meta, ExclusionSpec: o.Spec, HostCount: set.Count().String()}
	}
	return out, nil
}

func filterExclusions(c echo.Context, w *app.Where) error {
	return boolFilter(c, w, "global", "(o.spec->>'global')::boolean")
}

// boolFilter adds a true/false query parameter as a condition on expr.
func boolFilter(c echo.Context, w *app.Where, name, expr string) error {
	switch c.QueryParam(name) {
	case "":
	case "true":
		w.Add(expr)
	case "false":
		w.Add("NOT " + expr)
	default:
		return app.Invalid(name, "invalid_boolean", name+" must be true or false")
	}
	return nil
}
