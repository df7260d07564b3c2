// Package migrations holds the goose migrations of mipo's three databases, embedded into the
// binary. Each folder belongs to one database; a module adds its tables in a new numbered file
// of the database it uses, and never edits a migration that has shipped.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed config/*.sql results/*.sql jobs/*.sql
var files embed.FS

// FS returns the migrations of one database: "config", "results" or "jobs".
func FS(database string) fs.FS {
	sub, err := fs.Sub(files, database)
	if err != nil {
		panic(err)
	}
	return sub
}
