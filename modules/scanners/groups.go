package scanners

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/configapi"
)

// Group is a set of scanners at one network location: a scan given to a group runs from every
// one of its scanners, so each vantage point's view can be compared.
type Group struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Location    string     `json:"location" doc:"The network location its scanners see from, such as dmz-frankfurt."`
	Description string     `json:"description"`
	Scanners    []GroupRef `json:"scanners" doc:"Its members, by name."`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// GroupInput is the body of POST /api/v1/scanner-groups.
type GroupInput struct {
	Name        string   `json:"name"`
	Location    string   `json:"location"`
	Description string   `json:"description"`
	ScannerIDs  []string `json:"scanner_ids" doc:"Its members."`
}

// GroupUpdate is the body of PATCH /api/v1/scanner-groups/{id}; absent fields are left as they are.
type GroupUpdate struct {
	Name        *string   `json:"name,omitempty"`
	Location    *string   `json:"location,omitempty"`
	Description *string   `json:"description,omitempty"`
	ScannerIDs  *[]string `json:"scanner_ids,omitempty" doc:"Its members (replaces the list)."`
}

var errGroupNotFound = app.NotFound("scanner group")

const groupColumns = `g.id, g.name, g.location, g.description, g.created_at, g.updated_at,
	COALESCE((SELECT json_agg(json_build_object('id', s.id, 'name', s.name) ORDER BY lower(s.name))
		FROM scanner_group_members m JOIN scanners s ON s.id = m.scanner_id WHERE m.group_id = g.id), '[]')`

func scanGroup(row pgx.Row) (*Group, error) {
	g := &Group{}
	err := row.Scan(&g.ID, &g.Name, &g.Location, &g.Description, &g.CreatedAt, &g.UpdatedAt, &g.Scanners)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errGroupNotFound
	}
	return g, err
}

// GetGroup loads one scanner group.
func GetGroup(ctx context.Context, db app.Querier, id string) (*Group, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errGroupNotFound
	}
	return scanGroup(db.QueryRow(ctx, `SELECT `+groupColumns+` FROM scanner_groups g WHERE g.id = $1`, id))
}

// GroupMembers returns the ids of a group's scanners (enabled or not, online or not: ask
// Healthy which of them may work now), sorted by scanner name.
func GroupMembers(ctx context.Context, db app.Querier, groupID string) ([]string, error) {
	if _, err := GetGroup(ctx, db, groupID); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT s.id FROM scanner_group_members m JOIN scanners s ON s.id = m.scanner_id
		WHERE m.group_id = $1 ORDER BY lower(s.name), s.id`, groupID)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if ids == nil {
		ids = []string{}
	}
	return ids, err
}

// GroupQuery filters the group list.
type GroupQuery struct {
	app.ListQuery
	Q string `query:"q" json:"q,omitempty" doc:"Text in the name, location or description."`
}

func listGroups(ctx context.Context, db app.Querier, l app.List, q string) (app.Page[*Group], error) {
	like := app.Contains(q)
	order := map[string]string{"name": "lower(g.name)", "location": "lower(g.location)", "created_at": "g.created_at"}[l.Sort]
	rows, err := db.Query(ctx, `SELECT `+groupColumns+` FROM scanner_groups g
		WHERE $1 = '' OR g.name ILIKE $2 OR g.location ILIKE $2 OR g.description ILIKE $2
		ORDER BY `+order+` `+l.Direction()+`, g.id LIMIT $3 OFFSET $4`, q, like, l.Limit+1, l.Offset)
	out, err := app.Collect(rows, err, scanGroup)
	if err != nil {
		return app.Page[*Group]{}, err
	}
	return app.Paginate(l, out), nil
}

func validateGroup(name, location, description string) error {
	if err := validateName("name", name); err != nil {
		return err
	}
	if err := validateText("location", location, 128); err != nil {
		return err
	}
	return validateText("description", description, 512)
}

func groupNameFree(ctx context.Context, db app.Querier, name, exceptID string) error {
	var taken bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM scanner_groups WHERE lower(name) = lower($1) AND id::text <> $2)`,
		name, exceptID).Scan(&taken); err != nil {
		return err
	}
	if taken {
		return &app.Error{Status: 409, Code: "name_taken", Message: "another scanner group is called " + name, Field: "name"}
	}
	return nil
}

// checkScannerIDs requires every id to name a scanner; it returns them deduplicated.
func checkScannerIDs(ctx context.Context, db app.Querier, field string, ids []string) ([]string, error) {
	return checkIDs(ctx, db, field, ids, "scanners", "scanner")
}

// checkGroupIDs requires every id to name a scanner group; it returns them deduplicated.
func checkGroupIDs(ctx context.Context, db app.Querier, field string, ids []string) ([]string, error) {
	return checkIDs(ctx, db, field, ids, "scanner_groups", "scanner group")
}

func checkIDs(ctx context.Context, db app.Querier, field string, ids []string, table, what string) ([]string, error) {
	out := []string{}
	for i, id := range ids {
		if _, err := uuid.Parse(id); err != nil {
			return nil, app.Invalid(fmt.Sprintf("%s[%d]", field, i), "invalid_id", fmt.Sprintf("%q is not a %s id", id, what))
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	rows, err := db.Query(ctx, `SELECT id::text FROM `+table+` WHERE id = ANY ($1::uuid[])`, out)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if !slices.Contains(found, strings.ToLower(id)) {
			return nil, app.Invalid(fmt.Sprintf("%s[%d]", field, i), "unknown_id", fmt.Sprintf("there is no %s with id %s", what, id))
		}
	}
	return out, nil
}

func createGroup(ctx context.Context, tx pgx.Tx, in GroupInput, now time.Time) (*Group, error) {
	in.Name, in.Location, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Location), strings.TrimSpace(in.Description)
	if err := validateGroup(in.Name, in.Location, in.Description); err != nil {
		return nil, err
	}
	if err := groupNameFree(ctx, tx, in.Name, ""); err != nil {
		return nil, err
	}
	members, err := checkScannerIDs(ctx, tx, "scanner_ids", in.ScannerIDs)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	if _, err := tx.Exec(ctx, `INSERT INTO scanner_groups (id, name, location, description, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, id, in.Name, in.Location, in.Description, now); err != nil {
		return nil, uniqueName(err)
	}
	if err := setMembers(ctx, tx, id, members); err != nil {
		return nil, err
	}
	return GetGroup(ctx, tx, id)
}

// uniqueName turns a race on a unique name into the same 409 as the check before it.
func uniqueName(err error) error {
	if app.IsUniqueViolation(err) {
		return &app.Error{Status: 409, Code: "name_taken", Message: "that name is taken", Field: "name"}
	}
	return err
}

func setMembers(ctx context.Context, tx pgx.Tx, groupID string, scannerIDs []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM scanner_group_members WHERE group_id = $1`, groupID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO scanner_group_members (group_id, scanner_id) SELECT $1, unnest($2::uuid[])`, groupID, scannerIDs)
	return err
}

func updateGroup(ctx context.Context, tx pgx.Tx, id string, in GroupUpdate, now time.Time) (before, after *Group, err error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, nil, errGroupNotFound
	}
	if before, err = scanGroup(tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM scanner_groups g WHERE g.id = $1 FOR UPDATE OF g`, id)); err != nil {
		return nil, nil, err
	}
	name, location, description := before.Name, before.Location, before.Description
	if in.Name != nil {
		name = strings.TrimSpace(*in.Name)
	}
	if in.Location != nil {
		location = strings.TrimSpace(*in.Location)
	}
	if in.Description != nil {
		description = strings.TrimSpace(*in.Description)
	}
	if err := validateGroup(name, location, description); err != nil {
		return nil, nil, err
	}
	if err := groupNameFree(ctx, tx, name, id); err != nil {
		return nil, nil, err
	}
	if in.ScannerIDs != nil {
		members, err := checkScannerIDs(ctx, tx, "scanner_ids", *in.ScannerIDs)
		if err != nil {
			return nil, nil, err
		}
		if err := setMembers(ctx, tx, id, members); err != nil {
			return nil, nil, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE scanner_groups SET name = $2, location = $3, description = $4, updated_at = $5 WHERE id = $1`,
		id, name, location, description, now); err != nil {
		return nil, nil, uniqueName(err)
	}
	after, err = GetGroup(ctx, tx, id)
	return before, after, err
}

// deleteGroup removes a group no template names; templates refer to groups by id, so deleting
// one in use would silently leave vantage templates without scanners.
func deleteGroup(ctx context.Context, tx pgx.Tx, id string) (*Group, error) {
	g, err := GetGroup(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	users, err := configapi.TemplatesUsingScanners(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return nil, app.Conflict("in_use", "the scanner group is used by template "+strings.Join(users, ", template ")+"; change those templates first").
			WithDetail(map[string]any{"templates": users})
	}
	_, err = tx.Exec(ctx, `DELETE FROM scanner_groups WHERE id = $1`, id)
	return g, err
}
