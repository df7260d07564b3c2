package app

import (
	"net/http"

	"github.com/klauspost/compress/gzhttp"
	"github.com/labstack/echo/v4"
)

// compress gzips responses for clients that accept it: API JSON is repetitive (50 audit rows
// are 42 KB as text, a few KB compressed) and the interface's lists are read over VPNs.
// klauspost's gzhttp decides per response: nothing under 1 KB, nothing already encoded (the
// interface's files carry their own precompressed gzip form and pass through untouched),
// nothing of a type that does not compress; it flushes, so streamed exports stay streamed.
// It wraps the echo response's writer rather than the response, so the access log and the
// metrics outside it keep reading the one status and size the handler wrote.
func compress() echo.MiddlewareFunc {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(1024), gzhttp.CompressionLevel(5))
	if err != nil {
		panic(err) // only for invalid options, which are constants here
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var err error
			res := c.Response()
			under := res.Writer
			wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				res.Writer = w
				c.SetRequest(r)
				err = next(c)
			})).ServeHTTP(under, c.Request())
			res.Writer = under
			return err
		}
	}
}
