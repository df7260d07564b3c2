package app_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"mipo/app"
)

// A spreadsheet runs a cell that begins with = + - @ (and, in some, tab or CR) as a formula.
// Every such cell comes back prefixed with a single quote; every other cell is untouched.
func TestCSVWriterNeutralisesFormulaCells(t *testing.T) {
	cells := map[string]string{
		`=cmd|' /C calc'!A0`:             `'=cmd|' /C calc'!A0`,
		`=HYPERLINK("http://x.example")`: `'=HYPERLINK("http://x.example")`,
		"@SUM(1)":                        "'@SUM(1)",
		"+1+1":                           "'+1+1",
		"-2+3":                           "'-2+3",
		"\t=1":                           "'\t=1",
		"\r=1":                           "'\r=1",
		"plain":                          "plain",
		"":                               "",
		"a=b":                            "a=b",
		"'=already":                      "'=already",
	}
	var in []string
	for c := range cells {
		in = append(in, c)
	}
	var b strings.Builder
	w := app.NewCSVWriter(&b)
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil || len(rows) != 1 || len(rows[0]) != len(in) {
		t.Fatalf("read back %v %v", rows, err)
	}
	for i, got := range rows[0] {
		if want := cells[in[i]]; got != want {
			t.Errorf("cell %q came back %q, want %q", in[i], got, want)
		}
	}
}

func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"=1", "@x", "+", "-", "\t", "\r", "plain", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := app.CSVCell(s)
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("%q left a formula lead: %q", s, got)
		}
		if got != s && got != "'"+s {
			t.Fatalf("%q changed beyond a leading quote: %q", s, got)
		}
	})
}
