package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/config/catalog"
	"mipo/modules/config/portset"
)

// PortListSpec is a port list as the API takes it.
type PortListSpec struct {
	Base
	Ports string `json:"ports" maxlen:"1048576" doc:"TCP ports and ranges such as 22,80,443,8000-8100; stored merged and sorted."`
}

// PortList is a port list as the API shows it.
type PortList struct {
	Meta
	PortListSpec
	PortCount int `json:"port_count" doc:"How many ports the list holds."`
}

// PortListQuery is the query of GET /api/v1/port-lists.
type PortListQuery struct {
	ObjectQuery
	Builtin string `query:"builtin" json:"builtin,omitempty" doc:"true: only the built-in starter lists; false: only your own."`
}

// PortsCheck is what GET /api/v1/port-lists/check says about valid ports.
type PortsCheck struct {
	Ports     string `json:"ports" doc:"The ports as they will be stored: merged and sorted."`
	PortCount int    `json:"port_count"`
}

// PortsQuery is the query of GET /api/v1/port-lists/check.
type PortsQuery struct {
	Ports string `query:"ports" json:"ports" doc:"Ports and ranges as typed, such as 22,80,443,8000-8100."`
}

func (s *PortListSpec) validate() error {
	set, err := parsePorts("ports", s.Ports)
	if err != nil {
		return err
	}
	s.Ports = set.String()
	return nil
}

func (s *PortListSpec) references() []refField { return nil }

// parsePorts reads ports as the operator typed them, naming the item at fault.
func parsePorts(field, text string) (portset.Set, error) {
	set, err := portset.Parse(text)
	var pe *portset.ParseError
	if errors.As(err, &pe) {
		e := app.Invalid(field, "invalid_ports", pe.Error())
		detail := map[string]any{"offset": pe.Offset}
		if pe.Suggestion != "" {
			detail["suggestion"] = pe.Suggestion
		}
		return set, e.WithDetail(detail)
	}
	return set, err
}

func newPortLists(e *env) *family[PortListSpec, *PortListSpec, PortList] {
	return &family[PortListSpec, *PortListSpec, PortList]{
		kind: kindPortList, path: "/api/v1/port-lists", plural: "port lists", view: "ports:view", edit: "ports:write",
		query:   PortListQuery{},
		sorts:   []string{"name", "created_at", "updated_at"},
		filter:  func(c echo.Context, w *app.Where) error { return boolFilter(c, w, "builtin", "o.builtin") },
		present: presentPortLists,
		env:     e,
	}
}

func presentPortLists(_ context.Context, _ app.Querier, objs []object[PortListSpec]) ([]PortList, error) {
	out := make([]PortList, len(objs))
	for i, o := range objs {
		set, err := portset.Parse(o.Spec.Ports)
		if err != nil {
			return nil, err
		}
		out[i] = PortList{Meta: o.Meta, PortListSpec: o.Spec, PortCount: set.Count()}
	}
	return out, nil
}

func checkPortsRoute() app.Route {
	return app.Route{Method: http.MethodGet, Path: "/api/v1/port-lists/check", Scope: "ports:view", Query: PortsQuery{}, Response: PortsCheck{},
		Summary: "Check ports as a port list would: the normalised form and the count, or the error a port list would get",
		Handler: func(c echo.Context) error {
			set, err := parsePorts("ports", c.QueryParam("ports"))
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, PortsCheck{Ports: set.String(), PortCount: set.Count()})
		}}
}

// starterListNamespace makes the ids of the built-in port lists: the same on every
// installation, so automation can name top-100 by id anywhere.
var starterListNamespace = uuid.MustParse("8a4c7a55-2f0e-4c36-9d1e-3d5c0b6e3f10")

func starterListID(name string) string {
	return uuid.NewSHA1(starterListNamespace, []byte("port_list/"+name)).String()
}

// syncStarterLists keeps the built-in port lists in step with the catalog shipped in this
// binary: missing ones are created and changed ones get a new version, each audited as
// mipo's own doing. A list whose name an operator has taken meanwhile is left out.
func syncStarterLists(ctx context.Context, tx pgx.Tx, pl *family[PortListSpec, *PortListSpec, PortList], lists []catalog.List) error {
	for _, l := range lists {
		want := PortListSpec{Base: Base{Name: l.Name, Description: l.Description}, Ports: l.Ports.String()}
		id := starterListID(l.Name)
		o, err := getObject(ctx, tx, kindPortList, id)
		switch {
		case isNotFound(err):
			var taken bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM config_objects WHERE kind = $1 AND lower(name) = lower($2))`, kindPortList, l.Name).Scan(&taken); err != nil {
				return err
			}
			if !taken {
				if err := pl.create(ctx, tx, id, &want, true); err != nil {
					return err
				}
			}
		case err != nil:
			return err
		default:
			have, err := pl.canonical(o.spec)
			if err != nil {
				return err
			}
			if wanted, _ := json.Marshal(want); !bytes.Equal(have, wanted) {
				if err := pl.update(ctx, tx, id, func(s *PortListSpec) error { *s = want; return nil }, true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var e *app.Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
