package settings

import (
	"mipo/app"
)

func init() {
	app.Register(app.Module{
		Name:      "settings",
		Databases: []string{app.DBConfig},
		Requires:  []string{"rbac"},
		Provision: func(m *app.Mount) error {
			m.Routes(handlers{m}.routes()...)
			return nil
		},
	})
}
