package alarms

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
)

// Route sends transitions of chosen severities and rules to a channel. An empty list matches
// everything, so a route with only a channel sends every transition of every alarm.
type Route struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ChannelID   string    `json:"channel_id"`
	ChannelName string    `json:"channel_name"`
	Transitions []string  `json:"transitions" doc:"opened, escalated, acknowledged, resolved; empty means all."`
	Severities  []string  `json:"severities" doc:"critical, major, minor, warning, info; empty means all."`
	Rules       []string  `json:"rules" doc:"Rule ids; empty means all."`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// RouteInput creates a route.
type RouteInput struct {
	Name        string   `json:"name"`
	ChannelID   string   `json:"channel_id"`
	Transitions []string `json:"transitions,omitempty"`
	Severities  []string `json:"severities,omitempty"`
	Rules       []string `json:"rules,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// RouteUpdate changes a route; absent fields are left as they are.
type RouteUpdate struct {
	Name        *string   `json:"name,omitempty"`
	ChannelID   *string   `json:"channel_id,omitempty"`
	Transitions *[]string `json:"transitions,omitempty"`
	Severities  *[]string `json:"severities,omitempty"`
	Rules       *[]string `json:"rules,omitempty"`
	Enabled     *bool     `json:"enabled,omitempty"`
}

var errRouteNotFound = app.NotFound("route")

const routeColumns = `r.id, r.name, r.channel_id, c.name, r.transitions, r.severities, r.rules, r.enabled, r.created_at, r.updated_at`

func scanRoute(row pgx.Row) (*Route, error) {
	r := &Route{}
	err := row.Scan(&r.ID, &r.Name, &r.ChannelID, &r.ChannelName, &r.Transitions, &r.Severities, &r.Rules, &r.Enabled, &r.CreatedAt, &r.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errRouteNotFound
	}
	return r, err
}

func getRoute(ctx context.Context, db app.Querier, id string) (*Route, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errRouteNotFound
	}
	return scanRoute(db.QueryRow(ctx, `SELECT `+routeColumns+` FROM alarm_routes r JOIN alarm_channels c ON c.id = r.channel_id WHERE r.id = $1`, id))
}

func listRoutes(ctx context.Context, db app.Querier) ([]*Route, error) {
	rows, err := db.Query(ctx, `SELECT `+routeColumns+` FROM alarm_routes r JOIN alarm_channels c ON c.id = r.channel_id
		ORDER BY lower(r.name)`)
	out, err := app.Collect(rows, err, scanRoute)
	if out == nil {
		out = []*Route{}
	}
	return out, err
}

// checkList validates a list against the allowed values, naming the field and the bad value.
func checkList(field string, got, allowed []string) ([]string, error) {
	out := []string{}
	for _, v := range got {
		if !slices.Contains(allowed, v) {
			return nil, app.Invalid(field, "invalid_value", strconv.Quote(v)+" is not one of "+strings.Join(allowed, ", "))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func (in *RouteInput) check(ctx context.Context, tx pgx.Tx) error {
	var err error
	if in.Name, err = checkName(in.Name); err != nil {
		return err
	}
	if _, err := GetChannel(ctx, tx, in.ChannelID); err != nil {
		return app.Invalid("channel_id", "unknown_channel", "channel_id names no channel")
	}
	if in.Transitions, err = checkList("transitions", in.Transitions, Transitions); err != nil {
		return err
	}
	if in.Severities, err = checkList("severities", in.Severities, Severities); err != nil {
		return err
	}
	in.Rules, err = checkList("rules", in.Rules, ruleIDs())
	return err
}

func createRoute(ctx context.Context, tx pgx.Tx, in RouteInput, now time.Time) (*Route, error) {
	if err := in.check(ctx, tx); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	_, err := tx.Exec(ctx, `INSERT INTO alarm_routes (id, name, channel_id, transitions, severities, rules, enabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, id, in.Name, in.ChannelID, in.Transitions, in.Severities, in.Rules,
		in.Enabled == nil || *in.Enabled, now)
	if err != nil {
		return nil, nameTaken(err, "route")
	}
	return getRoute(ctx, tx, id)
}

func updateRoute(ctx context.Context, tx pgx.Tx, id string, up RouteUpdate, now time.Time) (before, after *Route, err error) {
	if before, err = getRoute(ctx, tx, id); err != nil {
		return nil, nil, err
	}
	in := RouteInput{Name: before.Name, ChannelID: before.ChannelID, Transitions: before.Transitions, Severities: before.Severities,
		Rules: before.Rules, Enabled: &before.Enabled}
	for dst, src := range map[*string]*string{&in.Name: up.Name, &in.ChannelID: up.ChannelID} {
		if src != nil {
			*dst = *src
		}
	}
	for dst, src := range map[*[]string]*[]string{&in.Transitions: up.Transitions, &in.Severities: up.Severities, &in.Rules: up.Rules} {
		if src != nil {
			*dst = *src
		}
	}
	if up.Enabled != nil {
		in.Enabled = up.Enabled
	}
	if err := in.check(ctx, tx); err != nil {
		return nil, nil, err
	}
	_, err = tx.Exec(ctx, `UPDATE alarm_routes SET name = $2, channel_id = $3, transitions = $4, severities = $5, rules = $6, enabled = $7,
		updated_at = $8 WHERE id = $1`, id, in.Name, in.ChannelID, in.Transitions, in.Severities, in.Rules, *in.Enabled, now)
	if err != nil {
		return nil, nil, nameTaken(err, "route")
	}
	after, err = getRoute(ctx, tx, id)
	return before, after, err
}

func deleteRoute(ctx context.Context, tx pgx.Tx, id string) (*Route, error) {
	r, err := getRoute(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM alarm_routes WHERE id = $1`, id)
	return r, err
}

// matches reports whether a route wants a transition of an alarm.
func (r *Route) matches(kind, severity, rule string) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return r.Enabled && in(r.Transitions, kind) && in(r.Severities, severity) && in(r.Rules, rule)
}

// channelsFor is the set of channels a transition goes to, each once. An alarm about a failing
// channel is never routed to that channel: it could not arrive, and would fail again.
func channelsFor(routes []*Route, enabled map[string]bool, a *Alarm, kind, severity string) []string {
	var out []string
	for _, r := range routes {
		if !r.matches(kind, severity, a.RuleID) || !enabled[r.ChannelID] || slices.Contains(out, r.ChannelID) {
			continue
		}
		if a.RuleID == "notification.channel.failing" && a.Subject == r.ChannelID {
			continue
		}
		out = append(out, r.ChannelID)
	}
	return out
}
