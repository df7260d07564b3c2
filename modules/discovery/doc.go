// Package discovery keeps subnets in step with where an organisation already records its
// networks: cloud accounts (AWS, Azure, Google Cloud), NetBox, and CMDB exports. Each source
// owns one managed subnet group; a run fetches what the source reports, computes the diff
// against what it reported before (honouring the operator's pins and exclusions), and applies
// it through the config module's exported Go API — never its tables — as the "discovery"
// actor, so every change is a new version with its audit record. A failed fetch changes
// nothing and emits discovery.failed (discovery.recovered when the source works again).
package discovery
