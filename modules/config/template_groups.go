package config

import (
	"context"
	"mipo/app"
)

// TemplateGroupSpec is a template group as the API takes it: templates launched together.
type TemplateGroupSpec struct {
	Base
	Templates []string `json:"templates,omitempty" doc:"Ids of the templates in the group, in launch order."`
}

// TemplateGroup is a template group as the API shows it.
type TemplateGroup struct {
	Meta
	TemplateGroupSpec
}

func (s *TemplateGroupSpec) validate() (err error) {
	s.Templates, err = checkIDs("templates", s.Templates)
	return err
}

func (s *TemplateGroupSpec) references() []refField {
	return []refField{{"templates", kindTemplate, s.Templates}}
}

func newTemplateGroups(e *env) *family[TemplateGroupSpec, *TemplateGroupSpec, TemplateGroup] {
	return &family[TemplateGroupSpec, *TemplateGroupSpec, TemplateGroup]{
		kind: kindTemplateGroup, path: "/api/v1/template-groups", plural: "template groups", view: "templates:view", edit: "templates:write",
		query: ObjectQuery{},
		sorts: []string{"name", "created_at", "updated_at"},
		present: func(_ context.Context, _ app.Querier, objs []object[TemplateGroupSpec]) ([]TemplateGroup, error) {
			out := make([]TemplateGroup, len(objs))
			for i, o := range objs {
				out[i] = TemplateGroup{Meta: o.Meta, TemplateGroupSpec: o.Spec}
			}
			return out, nil
		},
		env: e,
	}
}
