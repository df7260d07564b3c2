package audit

import (
	"context"

	"mipo/app"
)

// The audit log names people: who signed in (or mistyped a username), from which address and
// browser, and the profiles in user records' diffs. The viewer role promises "no user
// profiles", and a custom role may hold audit:view without users:view too, so every audit
// read (list, one record, export) hides these fields from a reader without users:view, and
// that reader's actor filter matches actor ids only, never names. The rest of each record —
// what was done to which resource, when, with what outcome, and the hash chain — stays
// visible: the log keeps its use for them without becoming a user directory.

// Hidden stands in for a personal value the reader may not see.
const Hidden = "[hidden]"

// seesPeople reports whether the caller may read the personal fields of audit records.
func seesPeople(ctx context.Context) bool { return app.PrincipalFrom(ctx).Can("users:view") }

// personalKeys are the detail and diff fields, at any depth, that describe a person. "actor"
// is the actor filter an audit.export record keeps.
var personalKeys = map[string]bool{"username": true, "email": true, "display_name": true, "source_ip": true,
	"user_agent": true, "last_login_at": true, "actor": true,
	"subject": true} // a person's id at an OpenID Connect provider (sign-in records)

// personalResources are the resource types whose name is a person's (a user's username).
var personalResources = map[string]bool{"user": true}

// hidePersonal blanks what would tell its reader who someone is. Scanners and mipo's own
// jobs are not people: their names and addresses stay.
func hidePersonal(r *AuditRecord) {
	if r.Actor.Kind != app.PrincipalScanner && r.Actor.Kind != app.PrincipalSystem {
		r.Actor.Name, r.SourceIP, r.UserAgent = hidden(r.Actor.Name), hidden(r.SourceIP), hidden(r.UserAgent)
	}
	if personalResources[r.ResourceType] {
		r.ResourceName = hidden(r.ResourceName)
	}
	for i, d := range r.Diff {
		if personalKeys[d.Field] {
			r.Diff[i].Old, r.Diff[i].New = hiddenValue(d.Old), hiddenValue(d.New)
		} else {
			r.Diff[i].Old, r.Diff[i].New = hideIn(d.Old), hideIn(d.New)
		}
	}
	for k, v := range r.Detail {
		r.Detail[k] = hideKey(k, v)
	}
}

func hidden(s string) string {
	if s == "" {
		return s
	}
	return Hidden
}

func hiddenValue(v any) any {
	if v == nil || v == "" {
		return v
	}
	return Hidden
}

func hideKey(k string, v any) any {
	if personalKeys[k] {
		return hiddenValue(v)
	}
	return hideIn(v)
}

// hideIn walks decoded JSON and hides the values of personal keys wherever they are.
func hideIn(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = hideKey(k, e)
		}
	case []any:
		for i, e := range v {
			v[i] = hideIn(e)
		}
	}
	return v
}
