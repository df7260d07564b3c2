// mipo is one binary with role flags: see `mipo serve --help`. Modules register themselves in
// init(); importing a module's package here is all it takes to add it.
package main

import (
	"mipo/app"

	_ "mipo/modules/alarms"
	_ "mipo/modules/audit"
	_ "mipo/modules/backup"
	_ "mipo/modules/config"
	_ "mipo/modules/discovery"
	_ "mipo/modules/findings"
	_ "mipo/modules/health"
	_ "mipo/modules/home"
	_ "mipo/modules/ingest"
	_ "mipo/modules/jobs"
	_ "mipo/modules/oidc"
	_ "mipo/modules/rbac"
	_ "mipo/modules/results"
	_ "mipo/modules/scanners"
	_ "mipo/modules/scans"
	_ "mipo/modules/settings"
	_ "mipo/modules/tls"
	_ "mipo/modules/webui"
)

func main() { app.Main() }
