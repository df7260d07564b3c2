package findings

import (
	"strings"
	"testing"
	"time"
)

// FuzzBaselineInput: whatever a client sends, validation either names a field or leaves an
// input that validates to itself (so what is stored is what the evaluator reads), and never
// panics.
func FuzzBaselineInput(f *testing.F) {
	f.Add("web", "cidr", "10.0.0.0/8", "allow", "22,80-90")
	f.Add("a", "address", "::ffff:10.0.0.1", "only", "443")
	f.Add("n", "address", "fe80::1%eth0", "nothing", "")
	f.Add("", "subnet", "not-a-uuid", "x", "0")
	f.Add("g", "subnet_group", "8a1f2b9e-8d0c-4f55-9c57-2f7e1d6e2c11", "allow", "65536")
	f.Fuzz(func(t *testing.T, name, kind, ref, mode, ports string) {
		in := BaselineInput{Name: name, ScopeKind: kind, ScopeRef: ref, Mode: mode, Ports: ports}
		if err := in.validate(); err != nil {
			return
		}
		again := in
		if err := again.validate(); err != nil || again.ScopeRef != in.ScopeRef || again.Ports != in.Ports {
			t.Fatalf("a validated input does not validate to itself: %+v → %+v (%v)", in, again, err)
		}
	})
}

// FuzzFindingsQuery: the list's filters either refuse, naming a field, or become SQL
// conditions with every value a parameter, never spliced in.
func FuzzFindingsQuery(f *testing.F) {
	f.Add("live", "10.0.0.0/8", "10.0.0.1", "22,80", "7d")
	f.Add("open,closed", "::/0", "::1", "1-65535", "90m")
	f.Add("nope", "10.0.0.0/33", "x", "0", "-1d")
	f.Fuzz(func(t *testing.T, state, subnet, addr, port, age string) {
		q := Query{State: state, Subnet: subnet, Address: addr, Port: port, MinAge: age, MaxAge: age}
		w, err := q.where(time.Unix(1e9, 0))
		if err != nil {
			return
		}
		for _, v := range []string{subnet, addr} {
			if len(v) > 3 && strings.Contains(w.SQL(), v) {
				t.Fatalf("input %q spliced into SQL: %s", v, w.SQL())
			}
		}
	})
}
