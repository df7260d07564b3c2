// Package ui holds mipo's web interface, built (Svelte + TypeScript + Vite, sources in src/) into
// dist/ and embedded here, so `go build` needs no Node.js. modules/webui serves it; `make ui`
// rebuilds dist/ and stamps dist/.source-hash, which embed_test.go checks against src/.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var distDir embed.FS

// DistDirFS is the built interface: index.html, assets/ (content-hashed names) and the files
// copied from public/.
var DistDirFS = mustSub(distDir, "dist")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
