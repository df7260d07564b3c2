package config

import (
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/configapi"
)

// Managed writes subnets and subnet groups on behalf of another module (discovery keeps a
// group per source in step with what the source reports). Every write goes through the same
// family code as the API: validated, versioned, and audited as the context's principal, in the
// caller's transaction. Callers never touch the config tables themselves.
type Managed struct {
	subnets *family[SubnetSpec, *SubnetSpec, Subnet]
	groups  *family[SubnetGroupSpec, *SubnetGroupSpec, SubnetGroup]
}

// NewManaged returns a writer whose versions carry times from clock.
func NewManaged(clock app.Clock) *Managed {
	e := &env{clock: clock}
	return &Managed{subnets: newSubnets(e), groups: newSubnetGroups(e)}
}

// PutSubnet creates the subnet with this id, or changes it to spec (a new version only when
// something differs). It reports whether it created the subnet.
func (m *Managed) PutSubnet(ctx context.Context, tx pgx.Tx, id string, spec configapi.SubnetSpec) (created bool, err error) {
	return put(ctx, tx, m.subnets, id, SubnetSpec{Base: Base{Name: spec.Name, Description: spec.Description}, CIDR: spec.CIDR, Tags: spec.Tags})
}

// PutSubnetGroup creates or changes a subnet group, like PutSubnet.
func (m *Managed) PutSubnetGroup(ctx context.Context, tx pgx.Tx, id string, spec configapi.SubnetGroupSpec) (created bool, err error) {
	return put(ctx, tx, m.groups, id, SubnetGroupSpec{Base: Base{Name: spec.Name, Description: spec.Description}, Subnets: spec.Subnets})
}

// RemoveSubnet deletes a subnet. A subnet something else still uses (a template an operator
// pointed at it, say) is refused with a 409 app.Error naming the users; callers may leave it.
func (m *Managed) RemoveSubnet(ctx context.Context, tx pgx.Tx, id string) error {
	return m.subnets.remove(ctx, tx, id)
}

// SubnetExists reports whether a subnet with this id is live.
func SubnetExists(ctx context.Context, db app.Querier, id string) (bool, error) {
	return exists(ctx, db, kindSubnet, id)
}

// SubnetGroupExists reports whether a subnet group with this id is live.
func SubnetGroupExists(ctx context.Context, db app.Querier, id string) (bool, error) {
	return exists(ctx, db, kindSubnetGroup, id)
}

func exists(ctx context.Context, db app.Querier, kind, id string) (bool, error) {
	_, err := getObject(ctx, db, kind, id)
	var e *app.Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

func put[S any, P spec[S], V any](ctx context.Context, tx pgx.Tx, f *family[S, P, V], id string, s S) (bool, error) {
	found, err := exists(ctx, tx, f.kind, id)
	if err != nil {
		return false, err
	}
	if !found {
		return true, f.create(ctx, tx, id, &s, false)
	}
	return false, f.update(ctx, tx, id, func(cur *S) error { *cur = s; return nil }, false)
}
