package app

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestCompressGzipsLargeAnswersOnlyForClientsThatAcceptIt(t *testing.T) {
	e := echo.New()
	e.Use(compress())
	big := `{"items":[` + strings.Repeat(`{"action":"subnet.create","resource":"office"},`, 200) + `{}]}`
	e.GET("/big", func(c echo.Context) error { return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, []byte(big)) })
	e.GET("/small", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]int{"n": 1}) })
	e.GET("/fail", func(c echo.Context) error {
		return c.Blob(http.StatusUnprocessableEntity, echo.MIMEApplicationJSON, []byte(big))
	})
	e.GET("/pre", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentEncoding, "gzip")
		return c.Blob(http.StatusOK, "text/javascript", []byte("already gzip, passed through as it is"))
	})
	get := func(path, accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	for _, path := range []string{"/big", "/fail"} {
		rec := get(path, "gzip, deflate, br")
		if rec.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
			t.Fatalf("%s: headers %v", path, rec.Header())
		}
		if rec.Body.Len() > len(big)/5 {
			t.Errorf("%s: %d bytes compressed from %d", path, rec.Body.Len(), len(big))
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(zr)
		if string(body) != big {
			t.Errorf("%s: decompressed body differs", path)
		}
		if want := map[string]int{"/big": 200, "/fail": 422}[path]; rec.Code != want {
			t.Errorf("%s: status %d, want %d", path, rec.Code, want)
		}
	}
	if rec := get("/big", ""); rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != big {
		t.Errorf("a client that asks for no encoding got %q", rec.Header().Get("Content-Encoding"))
	}
	if rec := get("/small", "gzip"); rec.Header().Get("Content-Encoding") != "" || !bytes.Contains(rec.Body.Bytes(), []byte(`"n":1`)) {
		t.Errorf("a small answer is sent as it is, got %q %q", rec.Header().Get("Content-Encoding"), rec.Body.String())
	}
	if rec := get("/pre", "gzip"); rec.Header().Get("Content-Encoding") != "gzip" || rec.Body.String() != "already gzip, passed through as it is" {
		t.Errorf("an answer already encoded is compressed twice: %q", rec.Body.String())
	}
}
