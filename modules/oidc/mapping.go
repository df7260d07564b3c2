package oidc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mipo/app"
)

// RoleRule grants a role to whoever's claim holds a value: {"claim": "groups", "value":
// "netops", "role_id": …} matches a groups claim that is "netops" or a list containing it.
type RoleRule struct {
	Claim  string `json:"claim" doc:"A claim of the ID token or userinfo, such as groups, roles or department."`
	Value  string `json:"value" doc:"The value it must hold (or contain, for a list), compared exactly."`
	RoleID string `json:"role_id"`
}

func itoa(i int) string { return strconv.Itoa(i) }

func validateRules(rules []RoleRule) error {
	if len(rules) > 200 {
		return app.Invalid("role_rules", "too_many", "at most 200 rules")
	}
	for i, r := range rules {
		if strings.TrimSpace(r.Claim) == "" || len(r.Claim) > 100 || len(r.Value) > 500 {
			return app.Invalid("role_rules", "invalid_rule", "rule "+itoa(i+1)+" needs a claim name (up to 100 characters) and a value (up to 500)")
		}
	}
	return nil
}

// mapRoles is the role ids a person's claims earn under the rules: every matched rule's role,
// or the default role when none matched, or nothing (the sign-in is then refused).
func mapRoles(claims map[string]any, rules []RoleRule, defaultRole *string) []string {
	var out []string
	for _, r := range rules {
		if claimHolds(claims[r.Claim], r.Value) && !slices.Contains(out, r.RoleID) {
			out = append(out, r.RoleID)
		}
	}
	if len(out) == 0 && defaultRole != nil {
		out = append(out, *defaultRole)
	}
	return out
}

// claimHolds says whether a claim's value is want or, for a list, contains it. Providers send
// groups as a list, a space-separated string, or one string; numbers and booleans compare as
// their JSON text.
func claimHolds(v any, want string) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v == want || slices.Contains(strings.Fields(v), want)
	case []any:
		for _, e := range v {
			if claimHolds(e, want) {
				return true
			}
		}
		return false
	case []string:
		return slices.Contains(v, want)
	default:
		return fmt.Sprint(v) == want
	}
}

// emailVerified reads the email_verified claim, which some providers send as a string.
func emailVerified(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}
