package oidc

import (
	"slices"
	"testing"
)

func TestRulesMatchClaimValuesInEveryShapeProvidersSend(t *testing.T) {
	rules := []RoleRule{{Claim: "groups", Value: "netops", RoleID: "op"}, {Claim: "department", Value: "audit", RoleID: "view"},
		{Claim: "admin", Value: "true", RoleID: "adm"}, {Claim: "groups", Value: "netops-lead", RoleID: "op"}}
	def := "default"
	for _, c := range []struct {
		claims map[string]any
		want   []string
	}{
		{map[string]any{"groups": []any{"staff", "netops"}}, []string{"op"}},
		{map[string]any{"groups": "staff netops"}, []string{"op"}},
		{map[string]any{"groups": "netops-leads"}, []string{"default"}},                                 // exact, never a prefix
		{map[string]any{"department": "audit", "groups": []any{"netops-lead"}}, []string{"view", "op"}}, // in rule order
		{map[string]any{"admin": true}, []string{"adm"}},
		{map[string]any{"admin": "false"}, []string{"default"}},
		{map[string]any{}, []string{"default"}},
	} {
		if got := mapRoles(c.claims, rules, &def); !slices.Equal(got, c.want) {
			t.Errorf("%v: got %v, want %v", c.claims, got, c.want)
		}
	}
	if got := mapRoles(map[string]any{"groups": "nobody"}, rules, nil); len(got) != 0 {
		t.Errorf("no match and no default should give no role, got %v", got)
	}
}

func TestOnlyATrueEmailVerifiedCounts(t *testing.T) {
	for v, want := range map[any]bool{true: true, "true": true, false: false, "false": false, "yes": false, nil: false, 1.0: false} {
		if emailVerified(v) != want {
			t.Errorf("email_verified %v: want %v", v, want)
		}
	}
}

// FuzzClaimHolds feeds claim values a provider might send; matching must never panic and a
// value must always hold itself.
func FuzzClaimHolds(f *testing.F) {
	for _, s := range []string{"netops", "a b", "", " x ", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !claimHolds(v, v) || !claimHolds([]any{"x", v}, v) {
			t.Fatalf("%q does not hold itself", v)
		}
		claimHolds([]any{v, []any{v}, map[string]any{v: v}, 1.5, nil}, v)
	})
}
