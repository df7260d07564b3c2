package auditapi

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
)

// FieldChange is one field's old and new value in a record's diff.
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// Redacted stands in for a secret's value in a diff: the record says that it changed, never
// what it was or became.
const Redacted = "[redacted]"

// secretNames are masked whatever the struct says, as a second line of defence.
var secretNames = map[string]bool{"password": true, "password_hash": true, "secret": true, "secret_hash": true,
	"token": true, "token_hash": true, "api_key": true, "key_hash": true, "private_key": true}

// Diff compares two values field by field, by their JSON form (so `json:"-"` fields never
// appear). before is nil for a creation and after is nil for a deletion. Struct fields tagged
// `audit:"secret"` are masked.
func Diff(before, after any) []FieldChange {
	secrets := secretFields(before)
	for k := range secretFields(after) {
		secrets[k] = true
	}
	old, new := toMap(before), toMap(after)
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range new {
		keys[k] = true
	}
	var out []FieldChange
	for k := range keys {
		o, n := old[k], new[k]
		if reflect.DeepEqual(o, n) {
			continue
		}
		if secrets[k] || secretNames[k] {
			o, n = maskIfSet(o), maskIfSet(n)
		}
		out = append(out, FieldChange{Field: k, Old: o, New: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func maskIfSet(v any) any {
	if v == nil || v == "" {
		return v
	}
	return Redacted
}

func toMap(v any) map[string]any {
	if v == nil || (reflect.ValueOf(v).Kind() == reflect.Pointer && reflect.ValueOf(v).IsNil()) {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"value": "(not representable: " + err.Error() + ")"}
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		var v any
		json.Unmarshal(b, &v)
		return map[string]any{"value": v}
	}
	return m
}

// secretFields returns the JSON names of a struct's fields tagged audit:"secret".
func secretFields(v any) map[string]bool {
	out := map[string]bool{}
	if v == nil {
		return out
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Tag.Get("audit") != "secret" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		out[name] = true
	}
	return out
}
