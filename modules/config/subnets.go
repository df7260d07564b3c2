package config

import (
	"context"
	"errors"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/config/netset"
)

// SubnetSpec is a subnet as the API takes it: a named IPv4 or IPv6 network.
type SubnetSpec struct {
	Base
	CIDR string   `json:"cidr" doc:"An IPv4 or IPv6 network such as 10.0.0.0/24 or 2001:db8::/48, without host bits set."`
	Tags []string `json:"tags,omitempty" doc:"Labels to find subnets by, up to 32."`
}

// Subnet is a subnet as the API shows it.
type Subnet struct {
	Meta
	SubnetSpec
	Family    string `json:"family" doc:"ipv4 or ipv6."`
	HostCount string `json:"host_count" doc:"Addresses in the subnet, network and broadcast addresses included, as a decimal string: an IPv6 count can exceed what a JSON number holds exactly."`
}

// ObjectQuery is the query every object list takes.
type ObjectQuery struct {
	app.ListQuery
	Q    string `query:"q" json:"q,omitempty" doc:"Text in the name or description (for subnets also the CIDR, for exclusions the addresses)."`
	Uses string `query:"uses" json:"uses,omitempty" doc:"Only objects that refer to the object with this id."`
}

// SubnetQuery is the query of GET /api/v1/subnets.
type SubnetQuery struct {
	ObjectQuery
	Tag      string `query:"tag" json:"tag,omitempty" doc:"Only subnets with this tag."`
	Family   string `query:"family" json:"family,omitempty" doc:"ipv4 or ipv6."`
	Contains string `query:"contains" json:"contains,omitempty" doc:"Only subnets that contain this address."`
}

// CIDRCheck is what GET /api/v1/subnets/check says about a valid CIDR.
type CIDRCheck struct {
	CIDR      string `json:"cidr" doc:"The CIDR as it will be stored."`
	Family    string `json:"family" doc:"ipv4 or ipv6."`
	HostCount string `json:"host_count" doc:"Addresses in it, as a decimal string."`
	First     string `json:"first" doc:"Its first address."`
	Last      string `json:"last" doc:"Its last address."`
}

// CIDRQuery is the query of GET /api/v1/subnets/check.
type CIDRQuery struct {
	CIDR string `query:"cidr" json:"cidr" doc:"The CIDR to check, as typed."`
}

func (s *SubnetSpec) validate() error {
	p, err := parseCIDR("cidr", s.CIDR)
	if err != nil {
		return err
	}
	s.CIDR = p.String()
	s.Tags, err = checkTags(s.Tags)
	return err
}

func (s *SubnetSpec) references() []refField { return nil }

// parseCIDR reads operator input strictly, turning netset's explanation (with its suggested
// fix, such as 10.0.0.0/24 for 10.0.0.1/24) into an error on the field.
func parseCIDR(field, text string) (netip.Prefix, error) {
	p, err := netset.ParseCIDR(text)
	var pe *netset.ParseError
	if errors.As(err, &pe) {
		e := app.Invalid(field, "invalid_cidr", pe.Error())
		if pe.Suggestion != "" {
			e = e.WithDetail(map[string]any{"suggestion": pe.Suggestion})
		}
		return p, e
	}
	return p, err
}

func ipFamily(p netip.Prefix) string {
	if p.Addr().Is4() {
		return "ipv4"
	}
	return "ipv6"
}

func newSubnets(e *env) *family[SubnetSpec, *SubnetSpec, Subnet] {
	return &family[SubnetSpec, *SubnetSpec, Subnet]{
		kind: kindSubnet, path: "/api/v1/subnets", plural: "subnets", view: "targets:view", edit: "targets:write",
		query:   SubnetQuery{},
		sorts:   []string{"name", "cidr", "created_at", "updated_at"},
		sortSQL: map[string]string{"cidr": "(o.spec->>'cidr')::cidr"},
		search:  []string{"o.spec->>'cidr'"},
		filter:  filterSubnets,
		present: presentSubnets,
		env:     e,
	}
}

func presentSubnets(_ context.Context, _ app.Querier, objs []object[SubnetSpec]) ([]Subnet, error) {
	out := make([]Subnet, len(objs))
	for i, o := range objs {
		p, err := netip.ParsePrefix(o.Spec.CIDR)
		if err != nil {
			return nil, err
		}
		out[i] = Subnet{Meta: o.Meta, SubnetSpec: o.Spec, Family: ipFamily(p), HostCount: prefixCount(p)}
	}
	return out, nil
}

func prefixCount(p netip.Prefix) string {
	s, _ := netset.FromPrefix(p)
	return s.Count().String()
}

func filterSubnets(c echo.Context, w *app.Where) error {
	if tag := c.QueryParam("tag"); tag != "" {
		w.Add("o.spec->'tags' ? " + w.Arg(tag))
	}
	switch c.QueryParam("family") {
	case "":
	case "ipv4":
		w.Add("family((o.spec->>'cidr')::cidr) = 4")
	case "ipv6":
		w.Add("family((o.spec->>'cidr')::cidr) = 6")
	default:
		return app.Invalid("family", "invalid_family", "family must be ipv4 or ipv6")
	}
	if raw := c.QueryParam("contains"); raw != "" {
		a, err := netip.ParseAddr(raw)
		if err != nil || a.Zone() != "" {
			return app.Invalid("contains", "invalid_address", raw+" is not an IP address")
		}
		w.Add("(o.spec->>'cidr')::cidr >>= " + w.Arg(a.Unmap().String()) + "::inet")
	}
	return nil
}

// checkRoute answers whether a CIDR is valid as the operator types it, with what it holds.
func checkCIDRRoute() app.Route {
	return app.Route{Method: http.MethodGet, Path: "/api/v1/subnets/check", Scope: "targets:view", Query: CIDRQuery{}, Response: CIDRCheck{},
		Summary: "Check a CIDR as a subnet would: the normalised form and its address count, or the error a subnet would get",
		Handler: func(c echo.Context) error {
			p, err := parseCIDR("cidr", c.QueryParam("cidr"))
			if err != nil {
				return err
			}
			set, _ := netset.FromPrefix(p)
			iv := set.Intervals()[0]
			return c.JSON(http.StatusOK, CIDRCheck{CIDR: p.String(), Family: ipFamily(p), HostCount: set.Count().String(),
				First: iv.First.String(), Last: iv.Last.String()})
		}}
}
