package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

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
	// Change a character well inside the secret: the last one carries two unused bits, so some
	// replacements of it decode to the same bytes (and "A" may be the character already there).
	i := len(tok) - 10
	swap := byte('A')
	if tok[i] == swap {
		swap = 'B'
	}
	_, other, _ := ParseCredential("msk", tok[:i]+string(swap)+tok[i+1:])
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

// edgeBody has a field of each kind CheckInput holds to what the databases store.
type edgeBody struct {
	Name  string `json:"name"`
	Notes string `json:"notes" maxlen:"4096"`
	embeddedEdge
	Batch int      `json:"batch"`
	Count int64    `json:"count"`
	Bytes uint64   `json:"bytes"`
	Tags  []string `json:"tags"`
	Items []struct {
		Port int    `json:"port"`
		Text string `json:"text"`
	} `json:"items"`
	Extra map[string]any `json:"extra"`
}

type embeddedEdge struct {
	Description string `json:"description"`
}

func bindEdge(body []byte) (edgeBody, error) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	var v edgeBody
	return v, BindJSON(echo.New().NewContext(req, httptest.NewRecorder()), &v)
}

func TestCheckInputNamesTheFieldAtFault(t *testing.T) {
	long := strings.Repeat("x", MaxText+1)
	for body, want := range map[string]string{
		`{"name":"a\u0000b"}`:                                 "name invalid_character",
		`{"name":"` + long + `"}`:                             "name too_long",
		`{"description":"` + long + `"}`:                      "description too_long",
		`{"tags":["ok","\u0000"]}`:                            "tags[1] invalid_character",
		`{"items":[{"port":1},{"port":4611686018427387904}]}`: "items[1].port out_of_range",
		`{"batch":2147483648}`:                                "batch out_of_range",
		`{"batch":-2147483649}`:                               "batch out_of_range",
		`{"bytes":18446744073709551615}`:                      "bytes out_of_range",
		`{"extra":{"k":["\u0000"]}}`:                          "extra.k[0] invalid_character",
		`{"notes":"` + strings.Repeat("é", 2048) + `"}`:       "",
		`{"notes":"` + strings.Repeat("é", 2049) + `"}`:       "notes too_long",
		`{"name":"` + long[1:] + `","count":9223372036854775807,"bytes":9223372036854775807,"batch":-2147483648}`: "",
	} {
		_, err := bindEdge([]byte(body))
		got := ""
		if e, ok := err.(*Error); ok {
			got = e.Field + " " + e.Code
			if e.Status != http.StatusBadRequest || !strings.Contains(e.Message, e.Field) {
				t.Errorf("%.60s: %#v", body, e)
			}
		} else if err != nil {
			t.Fatalf("%.60s: %v", body, err)
		}
		if got != want && !(want == "" && err == nil) {
			t.Errorf("%.60s: got %q, want %q", body, got, want)
		}
	}
}

// FuzzCheckInput: whatever a body holds, the edge either refuses it with a 400 naming a field
// or hands the handler only text and numbers the databases can store.
func FuzzCheckInput(f *testing.F) {
	for _, s := range []string{`{"name":"owner\u0000"}`, `{"batch":4611686018427387904}`, `{"items":[{"port":-1,"text":"x"}]}`,
		`{"bytes":18446744073709551615,"count":-9223372036854775808}`, `{"extra":{"\u0000":1e400}}`, `{"description":"ok","tags":[""]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := bindEdge(body)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Status != 400 || e.Code == "" {
				t.Fatalf("%q: %#v", body, err)
			}
			return
		}
		texts := append([]string{v.Name, v.Description}, v.Tags...)
		for _, it := range v.Items {
			texts = append(texts, it.Text)
			if it.Port != int(int32(it.Port)) {
				t.Fatalf("%q accepted port %d", body, it.Port)
			}
		}
		for _, s := range texts {
			if strings.ContainsRune(s, 0) || len(s) > MaxText {
				t.Fatalf("%q accepted text %q", body, s)
			}
		}
		if len(v.Notes) > 4096 || v.Batch != int(int32(v.Batch)) || v.Bytes > 1<<63-1 {
			t.Fatalf("%q accepted %+v", body, v)
		}
	})
}

// FuzzCheckParam: a query or path parameter is refused with a 400 naming it, or is UTF-8
// without a NUL.
func FuzzCheckParam(f *testing.F) {
	f.Add("q", "web server")
	f.Add("id", "00000000-0000-4000-8000-000000000000")
	f.Fuzz(func(t *testing.T, name, value string) {
		err := checkParam(name, value)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Status != 400 || !utf8.ValidString(e.Field) || strings.ContainsRune(e.Field, 0) {
				t.Fatalf("%q=%q: %#v", name, value, err)
			}
			return
		}
		if !utf8.ValidString(value) || strings.ContainsRune(value, 0) || !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
			t.Fatalf("%q=%q passed", name, value)
		}
	})
}

// BenchmarkCheckInput: the edge's walk over a full results batch (5,000 results), the largest
// body a scanner sends.
func BenchmarkCheckInput(b *testing.B) {
	type result struct {
		Address    string `json:"address"`
		Port       int    `json:"port"`
		ObservedAt string `json:"observed_at"`
		RTTMicros  int64  `json:"rtt_us"`
	}
	batch := struct {
		Batch   int      `json:"batch"`
		Results []result `json:"results"`
	}{Batch: 1, Results: make([]result, 5000)}
	for i := range batch.Results {
		batch.Results[i] = result{Address: "10.0.0.1", Port: 1 + i, ObservedAt: "2026-11-23T11:20:00.123456Z", RTTMicros: 84}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckInput(&batch); err != nil {
			b.Fatal(err)
		}
	}
}
