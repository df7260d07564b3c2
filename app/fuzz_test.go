package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// The kernel's parsers of request input: JSON bodies, list parameters and bearer credentials.

type fuzzBody struct {
	Name   string   `json:"name"`
	Count  int      `json:"count"`
	Tags   []string `json:"tags"`
	Nested *struct {
		On bool `json:"on"`
	} `json:"nested"`
}

func FuzzBindJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{"nope":1}`, `{"count":"x"}`, `[]`, ``, `{"name":"a"} {}`, `{"nested":{"on":2}}`} {
		f.Add([]byte(s))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var v fuzzBody
		if err := BindJSON(e.NewContext(req, httptest.NewRecorder()), &v); err != nil {
			if e, ok := err.(*Error); !ok || e.Status != 400 || e.Code == "" || e.Message == "" {
				t.Fatalf("BindJSON must fail with a 400 in the error shape, got %#v", err)
			}
		}
	})
}

func FuzzParseList(f *testing.F) {
	f.Add("name", "50", "")
	f.Add("-created_at", "0", "eyJvIjo1MH0")
	f.Add("password", "x", "%%%")
	e := echo.New()
	f.Fuzz(func(t *testing.T, sort, limit, cursor string) {
		q := "/?" + url.Values{"sort": {sort}, "limit": {limit}, "cursor": {cursor}}.Encode()
		c := e.NewContext(httptest.NewRequest(http.MethodGet, q, nil), httptest.NewRecorder())
		l, err := ParseList(c, "name", "created_at")
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Field == "" {
				t.Fatalf("a bad list parameter must name its field: %#v", err)
			}
			return
		}
		if l.Sort != "name" && l.Sort != "created_at" || l.Limit < 1 || l.Limit > 500 || l.Offset < 0 {
			t.Fatalf("accepted an unsafe list: %+v", l)
		}
	})
}

func FuzzParseCredential(f *testing.F) {
	tok, _, _ := NewCredential("mipo")
	f.Add(tok)
	f.Add("mipo_short_x")
	f.Add("mipo_" + strings.Repeat("a", 16) + "_" + strings.Repeat("b", 43))
	f.Fuzz(func(t *testing.T, s string) {
		lookup, hash, ok := ParseCredential("mipo", s)
		if ok && (len(lookup) != 16 || len(hash) != 32 || !strings.HasPrefix(s, "mipo_"+lookup+"_")) {
			t.Fatalf("accepted a malformed credential %q", s)
		}
	})
}

func TestCredentialRoundTrip(t *testing.T) {
	tok, lookup, stored := NewCredential("msk")
	l, presented, ok := ParseCredential("msk", tok)
	if !ok || l != lookup || !CredentialMatches(stored, presented) {
		t.Fatal("a fresh credential does not match itself")
	}
	_, other, _ := ParseCredential("msk", tok[:len(tok)-1]+"A")
	if CredentialMatches(stored, other) {
		t.Fatal("a changed credential matches")
	}
	if _, _, ok := ParseCredential("mipo", tok); ok {
		t.Fatal("a credential parsed under another prefix")
	}
}

func TestWhereNumbersItsParameters(t *testing.T) {
	var w Where
	if w.SQL() != "TRUE" {
		t.Fatal("no condition must read TRUE")
	}
	w.Add("a = " + w.Arg(1))
	p := w.Arg("x")
	w.Add("(b = " + p + " OR c = " + p + ")")
	if w.SQL() != "a = $1 AND (b = $2 OR c = $2)" || len(w.Args()) != 2 || w.Args()[1] != "x" {
		t.Fatalf("%s %v", w.SQL(), w.Args())
	}
	if Contains(`50%_\`) != `%50\%\_\\%` {
		t.Fatalf("LIKE escaping: %s", Contains(`50%_\`))
	}
}
