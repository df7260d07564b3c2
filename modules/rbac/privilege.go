package rbac

import (
	"context"
	"strings"

	"mipo/app"
)

// The two rules that keep users:write and roles:write from turning into more power than the
// actor holds. Every place that grants scopes or changes an account goes through them.

// mayGrant refuses to let anyone hand out scopes they do not hold themselves.
func mayGrant(actor *app.Principal, field string, scopes []string) error {
	if missing := lacking(actor, scopes); len(missing) > 0 {
		return &app.Error{Status: 403, Code: "scope_escalation", Field: field,
			Message: "you cannot grant scopes you do not hold yourself: " + strings.Join(missing, ", ")}
	}
	return nil
}

// mayActOn refuses to let an actor change or delete an account stronger than their own: only
// the owner changes the owner, and nobody else touches a user holding a scope the actor
// lacks. Without it, users:write would reset a stronger user's password or email and sign in
// as them. An owner's API token is not the owner: changing the owner takes the owner's session.
func mayActOn(ctx context.Context, db app.Querier, actor *app.Principal, userID string) error {
	if actor == nil || actor.Kind == app.PrincipalSystem {
		return nil
	}
	var owner bool
	var scopes []string
	if err := db.QueryRow(ctx, `SELECT u.owner, `+scopesOfUser+` FROM users u WHERE u.id = $1`, userID).Scan(&owner, &scopes); err != nil {
		return err
	}
	if owner && !(actor.Owner && actor.UserID == userID) {
		return app.Forbidden("owner_only", "only the owner can change the owner's account")
	}
	if missing := lacking(actor, scopes); len(missing) > 0 {
		return app.Forbidden("stronger_account", "this user holds scopes you do not: "+strings.Join(missing, ", ")+
			"; only someone holding all of them may change or delete the account")
	}
	return nil
}

// lacking lists the scopes the actor does not hold; mipo's own work holds them all.
func lacking(actor *app.Principal, scopes []string) []string {
	if actor == nil || actor.Kind == app.PrincipalSystem {
		return nil
	}
	var missing []string
	for _, s := range scopes {
		if !actor.Can(s) {
			missing = append(missing, s)
		}
	}
	return missing
}
