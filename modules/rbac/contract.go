package rbac

import "mipo/modules/rbac/rbacapi"

// The rbac module's own code names the contract's types and errors as its own.
type (
	Account    = rbacapi.Account
	Identity   = rbacapi.Identity
	RoleRef    = rbacapi.RoleRef
	RoleChange = rbacapi.RoleChange
)

var ErrNoAccount = rbacapi.ErrNoAccount

// init fills in the calls the contract promises the other modules.
func init() {
	rbacapi.NewSignIns = NewSignIns
	rbacapi.AccountByIdentity = AccountByIdentity
	rbacapi.AccountByEmail = AccountByEmail
	rbacapi.LinkIdentity = LinkIdentity
	rbacapi.CreateFromIdentity = CreateFromIdentity
	rbacapi.SetRoles = SetRoles
	rbacapi.RolesByID = RolesByID
}
