package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// CSP is the Content-Security-Policy of every response this module sends. The build has no
// inline script or style and loads nothing from elsewhere; the API is same-origin.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Paths the interface never answers for: they belong to the APIs and the kernel.
var reserved = []string{"/api/", "/scanner/"}
var reservedExact = []string{"/api", "/scanner", "/healthz", "/readyz", "/metrics"}

// A file of the build, held in memory with its gzip form and its ETag (the build is a few
// hundred kilobytes; reading it once at start keeps requests free of disk and compression work).
type file struct {
	name    string
	body    []byte
	gz      []byte // nil when compression does not pay
	etag    string
	ctype   string
	modTime time.Time
}

type site struct {
	files map[string]*file // by path inside dist, "index.html", "assets/index-….js"
	index *file
}

func newSite(dist fs.FS) (*site, error) {
	s := &site{files: map[string]*file{}}
	err := fs.WalkDir(dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path.Base(p), ".") {
			return err
		}
		body, err := fs.ReadFile(dist, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := &file{name: p, body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: contentType(p)}
		if compressible(f.ctype) && len(body) > 512 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body)*9/10 {
				f.gz = buf.Bytes()
			}
		}
		s.files[p] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the embedded web interface: %w", err)
	}
	if s.index = s.files["index.html"]; s.index == nil {
		return nil, fmt.Errorf("the embedded web interface has no index.html: run `make ui`")
	}
	return s, nil
}

func contentType(p string) string {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") || strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

// asset serves /assets/*: names carry a content hash, so a name never changes meaning.
func (s *site) asset(c echo.Context) error {
	f := s.files["assets/"+c.Param("*")]
	if f == nil {
		return notFound(c)
	}
	return s.send(c, f, "public, max-age=31536000, immutable")
}

// page serves index.html for any page path, or a top-level file of the build (favicon.svg).
func (s *site) page(c echo.Context) error {
	p := c.Request().URL.Path
	for _, r := range reserved {
		if strings.HasPrefix(p, r) {
			return notFound(c)
		}
	}
	for _, r := range reservedExact {
		if p == r || strings.HasPrefix(p, r+"/") {
			return notFound(c)
		}
	}
	name := strings.TrimPrefix(p, "/")
	if f := s.files[name]; f != nil && !strings.Contains(name, "/") && name != "index.html" {
		return s.send(c, f, "public, max-age=3600")
	}
	// The app decides what a path shows; the shell must always be fresh, since it names the
	// current build's hashed assets.
	return s.send(c, s.index, "no-cache")
}

func (s *site) send(c echo.Context, f *file, cache string) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", cache)
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Add("Vary", "Accept-Encoding")
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := f.body
	if f.gz != nil && acceptsGzip(c.Request()) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	if c.Request().Method == http.MethodHead {
		h.Set("Content-Length", fmt.Sprint(len(body)))
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, f.ctype, body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) != "gzip" {
			continue
		}
		q := strings.TrimPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
			return false
		}
		return true
	}
	return false
}

// notFound is the answer the kernel gives a path no route claims, so the API's 404 is the same
// with or without this module.
func notFound(echo.Context) error { return echo.ErrNotFound }
