package settings

import "mipo/modules/settings/settingsapi"

// The settings module's own code names the contract's types as its own.
type (
	Settings = settingsapi.Settings
	Patch    = settingsapi.Patch
)

// init fills in the calls the contract promises the other modules.
func init() {
	settingsapi.Load = Load
	settingsapi.Apply = Apply
}
