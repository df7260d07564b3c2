package portset

import (
	"errors"
	"testing"
)

func TestParseNormalises(t *testing.T) {
	cases := map[string]string{
		"22,80,443,8000-8100":          "22,80,443,8000-8100",
		" 22 , 80,443 , 8000 - 8100 ,": "22,80,443,8000-8100",
		"443,22,23,21":                 "21-23,443",
		"22,80,22,79-81,1-1":           "1,22,79-81",
		"8000-8100,8050-8200,8201":     "8000-8201",
		"1-65535":                      "1-65535",
		"65535,1":                      "1,65535",
		"0080":                         "80",
		"\t22\n":                       "22",
	}
	for in, want := range cases {
		s, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if s.String() != want {
			t.Errorf("Parse(%q) = %s, want %s", in, s, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, msg, input string }{
		{"8100-8000", `"8100-8000" at position 1: range start is after its end; did you mean 8000-8100?`, "8100-8000"},
		{"22, 0", `"0" at position 5: ports are 1-65535`, "0"},
		{"22,http,80", `"http" at position 4: not a port number`, "http"},
		{"65536", `"65536" at position 1: ports are 1-65535`, "65536"},
		{"99999999999999999999", `"99999999999999999999" at position 1: ports are 1-65535`, "99999999999999999999"},
		{"0-100", `"0-100" at position 1: ports are 1-65535; did you mean 1-100?`, "0-100"},
		{"1000-70000", `"1000-70000" at position 1: ports are 1-65535; did you mean 1000-65535?`, "1000-70000"},
		{"70000-80", `"70000-80" at position 1: ports are 1-65535`, "70000-80"},
		{"-1024", `"-1024" at position 1: range has no start; did you mean 1-1024?`, "-1024"},
		{"60000-", `"60000-" at position 1: range has no end; did you mean 60000-65535?`, "60000-"},
		{"22 80", `"22 80" at position 1: contains a space; separate ports with commas`, "22 80"},
		{"1--2", `"1--2" at position 1: not a port number`, "1--2"},
		{"+5", `"+5" at position 1: not a port number`, "+5"},
		{"", "no ports given", ""},
		{" , ,", "no ports given", ""},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error = %v, want a *ParseError", c.in, err)
			continue
		}
		if err.Error() != c.msg {
			t.Errorf("Parse(%q) error\n got %s\nwant %s", c.in, err, c.msg)
		}
		if pe.Input != c.input || c.in[pe.Offset:pe.Offset+len(pe.Input)] != pe.Input {
			t.Errorf("Parse(%q) names %q at offset %d", c.in, pe.Input, pe.Offset)
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse(\"0\") did not panic")
		}
	}()
	MustParse("0")
}

func TestConstructors(t *testing.T) {
	if s, err := FromRange(8000, 8100); err != nil || s.String() != "8000-8100" {
		t.Errorf("FromRange = %s, %v", s, err)
	}
	for _, bad := range [][2]uint16{{0, 10}, {10, 9}} {
		if _, err := FromRange(bad[0], bad[1]); err == nil {
			t.Errorf("FromRange(%d, %d) accepted", bad[0], bad[1])
		}
	}
	if s, err := FromPorts(443, 80, 81, 80); err != nil || s.String() != "80-81,443" {
		t.Errorf("FromPorts = %s, %v", s, err)
	}
	if _, err := FromPorts(22, 0); err == nil {
		t.Error("FromPorts accepted port 0")
	}
	if All().Count() != 65535 || !All().Contains(1) || !All().Contains(65535) || All().Contains(0) {
		t.Errorf("All() = %s", All())
	}
}
