package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/config/configapi"
	"mipo/modules/scans/scansapi"
)

// Kinds of source.
var kinds = []string{"aws", "azure", "gcp", "netbox", "cmdb"}

// Settings are a source's non-secret settings; which apply depends on its kind.
type Settings struct {
	Regions        []string `json:"regions,omitempty" doc:"aws: the regions to read, such as eu-central-1."`
	AccessKeyID    string   `json:"access_key_id,omitempty" doc:"aws: the access key id; its secret access key is the source's secret."`
	SubscriptionID string   `json:"subscription_id,omitempty" doc:"azure: the subscription to read."`
	TenantID       string   `json:"tenant_id,omitempty" doc:"azure: the Entra ID tenant of the service principal."`
	ClientID       string   `json:"client_id,omitempty" doc:"azure: the service principal's client id; its client secret is the source's secret."`
	AuthorityHost  string   `json:"authority_host,omitempty" doc:"azure: the sign-in endpoint; default https://login.microsoftonline.com/."`
	Project        string   `json:"project,omitempty" doc:"gcp: the project id; a service account key (JSON) is the source's secret."`
	Endpoint       string   `json:"endpoint,omitempty" doc:"aws, azure, gcp: an API endpoint other than the provider's public one (a private endpoint or sovereign cloud)."`
	URL            string   `json:"url,omitempty" doc:"netbox: the NetBox base URL (its API token is the secret). cmdb: where to fetch the export; empty means uploaded."`
	Tag            string   `json:"tag,omitempty" doc:"netbox: only prefixes and ranges with this tag (slug)."`
	Site           string   `json:"site,omitempty" doc:"netbox: only this site (slug)."`
	Tenant         string   `json:"tenant,omitempty" doc:"netbox: only this tenant (slug)."`
	Format         string   `json:"format,omitempty" doc:"cmdb: csv or json."`
	Mapping        Mapping  `json:"mapping,omitzero" doc:"cmdb: which column (CSV header) or key (JSON) holds each field."`
	CACert         string   `json:"ca_cert,omitempty" maxlen:"65536" doc:"PEM certificates to trust for the endpoint besides the system's (a private CA)."`
}

// Mapping names the columns of a CMDB export.
type Mapping struct {
	CIDR    string `json:"cidr,omitempty" doc:"The column holding the network in CIDR notation; default cidr."`
	Name    string `json:"name,omitempty" doc:"The column holding its name; default name."`
	Tags    string `json:"tags,omitempty" doc:"The column holding tags, separated by ';'; default tags."`
	Account string `json:"account,omitempty" doc:"The column holding an account or owner; default account."`
	Region  string `json:"region,omitempty" doc:"The column holding a region or site; default region."`
}

// SourceInput is what POST and PATCH /api/v1/discovery/sources take.
type SourceInput struct {
	Name            string           `json:"name" doc:"Unique among sources (ignoring case); also names its managed group."`
	Kind            string           `json:"kind" doc:"aws, azure, gcp, netbox or cmdb; fixed once created."`
	Settings        Settings         `json:"settings"`
	Secret          *string          `json:"secret,omitempty" maxlen:"65536" doc:"The credential (AWS secret access key, Azure client secret, GCP service account key JSON, NetBox token, or a bearer token for a CMDB URL). Stored encrypted; absent keeps the stored one."`
	Timing          *scansapi.Timing `json:"timing,omitempty" doc:"When the source runs on its own, as a schedule's timing; absent means on demand only."`
	RequireApproval bool             `json:"require_approval" doc:"Each run waits for an operator to approve its diff before it changes anything."`
	AcceptPartial   bool             `json:"accept_partial" doc:"cmdb: scheduled runs apply the good rows of an export that has bad rows."`
}

// Source is a discovery source as the API shows it: never its secret.
type Source struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Kind            string           `json:"kind"`
	Settings        Settings         `json:"settings"`
	HasSecret       bool             `json:"has_secret" doc:"Whether a credential is stored; read it with GET …/credentials (an audited read)."`
	Timing          *scansapi.Timing `json:"timing,omitempty"`
	RequireApproval bool             `json:"require_approval"`
	AcceptPartial   bool             `json:"accept_partial"`
	GroupID         string           `json:"group_id" doc:"The managed subnet group that holds what the source discovered; give it to templates."`
	NextRunAt       *time.Time       `json:"next_run_at,omitempty"`
	LastRunAt       *time.Time       `json:"last_run_at,omitempty"`
	LastStatus      string           `json:"last_status" doc:"never, ok or failed."`
	LastError       string           `json:"last_error,omitempty"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       time.Time        `json:"updated_at"`

	secret string
	upload string
}

// validate checks an input completely, naming the field at fault.
func (in *SourceInput) validate() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len([]rune(in.Name)) > 48 {
		return app.Invalid("name", "invalid_name", "a source name is 1 to 48 characters")
	}
	if !slices.Contains(kinds, in.Kind) {
		return app.Invalid("kind", "invalid_kind", "kind must be aws, azure, gcp, netbox or cmdb")
	}
	s := &in.Settings
	if s.Endpoint != "" {
		if err := checkURL("settings.endpoint", s.Endpoint); err != nil {
			return err
		}
	}
	if in.Timing != nil {
		if _, err := in.Timing.Compile(); err != nil {
			return prefixed("timing.", err)
		}
	}
	switch in.Kind {
	case "aws":
		if len(s.Regions) == 0 {
			return app.Invalid("settings.regions", "required", "name at least one region, such as eu-central-1")
		}
		for _, r := range s.Regions {
			if r == "" || strings.ContainsAny(r, "/ ") {
				return app.Invalid("settings.regions", "invalid_region", "a region is a name such as eu-central-1")
			}
		}
		return required("settings.access_key_id", s.AccessKeyID)
	case "azure":
		for f, v := range map[string]string{"settings.subscription_id": s.SubscriptionID, "settings.tenant_id": s.TenantID, "settings.client_id": s.ClientID} {
			if err := required(f, v); err != nil {
				return err
			}
		}
		if s.AuthorityHost != "" {
			return checkURL("settings.authority_host", s.AuthorityHost)
		}
	case "gcp":
		return required("settings.project", s.Project)
	case "netbox":
		return checkURL("settings.url", s.URL)
	case "cmdb":
		if s.Format != "csv" && s.Format != "json" {
			return app.Invalid("settings.format", "invalid_format", "format must be csv or json")
		}
		if s.URL != "" {
			return checkURL("settings.url", s.URL)
		}
	}
	return nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return app.Invalid(field, "required", field+" is required for this kind of source")
	}
	return nil
}

func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return app.Invalid(field, "invalid_url", field+" must be an http or https URL")
	}
	return nil
}

func prefixed(prefix string, err error) error {
	var e *app.Error
	if errors.As(err, &e) && e.Field != "" {
		e.Field = prefix + e.Field
	}
	return err
}

// groupSpec is the managed group's spec with these members.
func groupSpec(name string, subnets []string) configapi.SubnetGroupSpec {
	g := configapi.SubnetGroupSpec{Subnets: subnets}
	g.Name = groupName(name)
	g.Description = "Managed by discovery source " + name + "; its members change with each run."
	return g
}

func groupName(source string) string { return "discovery: " + source }

const sourceColumns = `id::text, name, kind, settings, secret, upload, timing, require_approval, accept_partial, group_id::text,
	next_run_at, last_run_at, last_status, last_error, created_at, updated_at`

func scanSource(row pgx.Row) (*Source, error) {
	s := &Source{}
	var settings, timing []byte
	err := row.Scan(&s.ID, &s.Name, &s.Kind, &settings, &s.secret, &s.upload, &timing, &s.RequireApproval, &s.AcceptPartial,
		&s.GroupID, &s.NextRunAt, &s.LastRunAt, &s.LastStatus, &s.LastError, &s.CreatedAt, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.NotFound("discovery source")
	}
	if err != nil {
		return nil, err
	}
	s.HasSecret = s.secret != ""
	if timing != nil {
		s.Timing = &scansapi.Timing{}
		if err := json.Unmarshal(timing, s.Timing); err != nil {
			return nil, err
		}
	}
	return s, json.Unmarshal(settings, &s.Settings)
}

func getSource(ctx context.Context, db app.Querier, id string, lock bool) (*Source, error) {
	q := `SELECT ` + sourceColumns + ` FROM discovery_sources WHERE id::text = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	return scanSource(db.QueryRow(ctx, q, id))
}

func listSources(ctx context.Context, db app.Querier) ([]*Source, error) {
	rows, err := db.Query(ctx, `SELECT `+sourceColumns+` FROM discovery_sources ORDER BY lower(name)`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Source, error) { return scanSource(r) })
}

func items(ctx context.Context, db app.Querier, sourceID string) ([]Item, error) {
	rows, err := db.Query(ctx, `SELECT cidr::text, subnet_id::text, name, origin, state FROM discovery_subnets
		WHERE source_id = $1 ORDER BY cidr`, sourceID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		var origin []byte
		if err := r.Scan(&it.CIDR, &it.SubnetID, &it.Name, &origin, &it.State); err != nil {
			return it, err
		}
		return it, json.Unmarshal(origin, &it.Origin)
	})
}
