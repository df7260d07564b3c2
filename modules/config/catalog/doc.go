// Package catalog is mipo's built-in port reference: well-known TCP ports
// with their service names and short descriptions, and the starter port
// lists (web, databases, remote-admin, top-100, top-1000, all) a new
// installation offers. Operators use it to build port lists; results use
// it to label open ports with a service.
//
// The data ships inside the binary (ports.tsv and lists.tsv, embedded), so
// the catalog is the same on every node and never needs a network or a
// database. The package must never fetch or update its data at run time,
// and never change what it returns: callers get copies, and the embedded
// files are the only source.
package catalog
