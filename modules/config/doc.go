// Package config is mipo's scan configuration: subnets, subnet groups, exclusions, the port
// catalog, port lists, port list groups, scan templates and template groups.
//
// Every object family shares one life cycle, written once in objects.go and versions.go: a name
// unique within its family, a spec (the fields the API takes), references to other objects by
// id (so a rename shows everywhere at once), and a version history. Every change appends a
// version; deleting an object that another refers to is refused, naming the users.
//
// ResolveScope is what the scans module builds on: it reads the history, not the current
// state, so it can say exactly what a template meant at any past moment. Address and port
// arithmetic goes through netset and portset, on intervals: nothing here may ever enumerate
// addresses, because a scope of 10.0.0.0/8 or an IPv6 /64 must cost what a /24 does.
//
// The package reads and writes only its own tables (config_objects, config_refs,
// config_versions). Scanner ids in templates belong to the scanners module and are kept as
// plain uuids, without a foreign key.
package config
