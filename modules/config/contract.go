package config

import (
	"mipo/app"
	"mipo/modules/config/configapi"
)

// Scope is configapi.Scope: the scans module freezes it into each scan.
type Scope = configapi.Scope

// The calls other modules make, through configapi, the config module's contract.
func init() {
	configapi.NewManaged = func(clock app.Clock) configapi.Managed { return NewManaged(clock) }
	configapi.SubnetExists = SubnetExists
	configapi.Exists = Exists
	configapi.Prefixes = Prefixes
	configapi.Ports = Ports
	configapi.SubnetGroupCIDRs = SubnetGroupCIDRs
	configapi.TemplatesUsingScanners = TemplatesUsingScanners
	configapi.ResolveScope = ResolveScope
	configapi.TemplateGroupMembers = TemplateGroupMembers
}
