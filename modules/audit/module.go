package audit

import (
	"mipo/app"
)

func init() {
	app.Register(app.Module{
		Name:      "audit",
		Databases: []string{app.DBConfig},
		Requires:  []string{"rbac"},
		Provision: func(m *app.Mount) error {
			m.Routes(handlers{m}.routes()...)
			return nil
		},
	})
	app.RegisterCommand(verifyCommand)
}
