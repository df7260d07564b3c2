package backup

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

// CreateRequest starts a backup.
type CreateRequest struct {
	Kind string `json:"kind" doc:"config (the config and jobs databases) or results"`
	Full bool   `json:"full" doc:"results only: a full backup even when an incremental would do"`
}

// RestoreRequest restores backups over the running installation.
type RestoreRequest struct {
	IDs     []string `json:"ids" doc:"a config backup, a results backup, or one of each; a results incremental brings its chain"`
	Source  string   `json:"source" doc:"local or s3"`
	Confirm string   `json:"confirm,omitempty" doc:"the installation's name, typed to confirm"`
}

// BackupList is the list of backups with the installation's name (typed to confirm a restore).
type BackupList struct {
	Items   []*Manifest `json:"items"`
	Install string      `json:"install"`
	KeyID   string      `json:"key_id" doc:"the current key's public id; a backup with another cannot be restored here"`
}

// S3Secret is the stored S3 secret key, returned by an audited read.
type S3Secret struct {
	SecretKey string `json:"secret_key"`
}

type handlers struct {
	m       *app.Mount
	backend func() Backend
	install func() string
	keys    *Keys
}

type listQuery struct {
	Source string `query:"source" doc:"local (default) or s3"`
}

func (h handlers) routes() []app.Route {
	get, post, put := http.MethodGet, http.MethodPost, http.MethodPut
	return []app.Route{
		{Method: get, Path: "/api/v1/backups", Scope: "backups:view", Handler: h.list, Query: listQuery{}, Response: BackupList{},
			Summary: "Backups, oldest first, with their manifests, locally or in the S3 bucket"},
		{Method: get, Path: "/api/v1/backups/activity", Scope: "backups:view", Handler: h.activity, Response: Activity{},
			Summary: "The running or last backup or restore, with its progress"},
		{Method: get, Path: "/api/v1/backups/settings", Scope: "backups:view", Handler: h.settings, Response: Settings{},
			Summary: "Backup schedules, retention and S3 replication (without the secret key)"},
		{Method: put, Path: "/api/v1/backups/settings", Scope: "backups:manage", Handler: h.putSettings, Request: SettingsUpdate{}, Response: Settings{},
			Summary: "Change backup schedules, retention and S3 replication"},
		{Method: get, Path: "/api/v1/backups/settings/s3-secret", Scope: "backups:manage", Handler: h.secret, Response: S3Secret{}, Sensitive: true,
			Summary: "The stored S3 secret key (an audited read)"},
		{Method: get, Path: "/api/v1/backups/:id", Scope: "backups:view", Handler: h.get, Response: Manifest{},
			Summary: "One backup's manifest"},
		{Method: post, Path: "/api/v1/backups", Scope: "backups:create", Handler: h.create, Request: CreateRequest{}, Response: Manifest{}, Status: http.StatusCreated,
			Summary: "Make a backup now", Description: "Waits until the backup is written (and replicated when S3 replication is on)."},
		{Method: post, Path: "/api/v1/backups/:id/verify", Scope: "backups:view", Handler: h.verify, Response: []*Manifest{}, Tx: app.TxNone,
			Summary: "Decrypt and check a backup and the chain it needs, without restoring it"},
		{Method: post, Path: "/api/v1/backups/restore", Scope: "backups:restore", Handler: h.restore, Request: RestoreRequest{}, Response: Activity{}, Status: http.StatusAccepted,
			Summary: "Restore backups over the running installation", Description: "Checks every manifest and checksum, loads fresh databases, checks row counts and the audit chain, and only then switches. Follow /api/v1/backups/activity."},
	}
}

func (h handlers) list(c echo.Context) error {
	ms, err := h.backend().List(c.Request().Context(), c.QueryParam("source"))
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []*Manifest{}
	}
	return c.JSON(http.StatusOK, BackupList{Items: ms, Install: h.install(), KeyID: h.keys.ID})
}

func (h handlers) get(c echo.Context) error {
	m, err := h.backend().Manifest(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

func (h handlers) activity(c echo.Context) error {
	return c.JSON(http.StatusOK, h.backend().Activity())
}

func (h handlers) create(c echo.Context) error {
	var in CreateRequest
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if in.Kind != KindConfig && in.Kind != KindResults {
		return app.Invalid("kind", "unknown_kind", "kind must be config or results")
	}
	m, err := h.backend().Backup(ctx, in.Kind, in.Full)
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, app.Tx(c), auditapi.Entry{Action: "backup.create", ResourceType: "backup", ResourceID: m.ID,
		Detail: map[string]any{"kind": m.Kind, "incremental": m.Incremental, "bytes": m.Size()}}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

func (h handlers) verify(c echo.Context) error {
	chain, err := h.backend().Verify(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chain)
}

func (h handlers) restore(c echo.Context) error {
	var in RestoreRequest
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	if in.Confirm != h.install() {
		return app.Invalid("confirm", "confirmation_mismatch", "type the installation's name, "+h.install()+", to confirm the restore")
	}
	if in.Source == "" {
		in.Source = "local"
	}
	ctx := c.Request().Context()
	// Recorded before the restore starts: if it succeeds, the restored log records it again.
	if err := auditapi.Record(ctx, app.Tx(c), auditapi.Entry{Action: "backup.restore.start", ResourceType: "backup", ResourceID: firstOr(in.IDs),
		Detail: map[string]any{"backups": in.IDs, "source": in.Source}}); err != nil {
		return err
	}
	if err := h.backend().StartRestore(ctx, in.Source, in.IDs); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, h.backend().Activity())
}

func (h handlers) settings(c echo.Context) error {
	s, err := loadSettings(c.Request().Context(), h.m.ConfigDB)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h handlers) putSettings(c echo.Context) error {
	var in SettingsUpdate
	if err := app.BindJSON(c, &in); err != nil {
		return err
	}
	ctx, tx := c.Request().Context(), app.Tx(c)
	before, err := loadSettings(ctx, tx)
	if err != nil {
		return err
	}
	if err := applySettings(ctx, tx, h.m.Secrets, in, h.m.Clock.Now()); err != nil {
		return err
	}
	after, err := loadSettings(ctx, tx)
	if err != nil {
		return err
	}
	if err := auditapi.Record(ctx, tx, auditapi.Entry{Action: "backup.settings.update", ResourceType: "backup_settings", Before: before, After: after}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}

func (h handlers) secret(c echo.Context) error {
	ctx := c.Request().Context()
	target, _, err := loadTarget(ctx, h.m.ConfigDB, h.m.Secrets)
	if err != nil {
		return err
	}
	// Recorded before the secret leaves: a read that cannot be audited does not happen.
	if err := auditapi.RecordNow(ctx, h.m.ConfigDB, auditapi.Entry{Action: "backup.s3_secret.read", ResourceType: "backup_settings", ResourceID: "replication"}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, S3Secret{SecretKey: target.SecretKey})
}

func firstOr(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}
