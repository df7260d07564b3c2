package findings

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"mipo/app"
	"mipo/modules/audit/auditapi"
)

func (h *handlers) evidenceRoutes() []app.Route {
	return []app.Route{
		{Method: http.MethodGet, Path: "/api/v1/evidence-pack", Scope: "evidence:export", Handler: h.evidencePack, Query: EvidenceQuery{},
			Produces: "application/x-tar", Summary: "Download the signed evidence pack of a scope (template, subnet group or CIDR) over a period",
			Description: "A tar of JSON files — the resolved scope at each scan, the scans with their coverage, the diffs, the findings with their triage history, the baselines, the audit records about them and the audit chain's head — with manifest.json (every file's SHA-256) and manifest.sig (its Ed25519 signature). Check it with `mipo evidence verify FILE`. Making one is audited."},
		{Method: http.MethodGet, Path: "/api/v1/evidence-key", Scope: "settings:view", Handler: h.evidenceKey, Response: SigningKey{},
			Summary: "The public key evidence packs are signed with (generated on first use)"},
	}
}

func (h *handlers) evidencePack(c echo.Context) error {
	var q EvidenceQuery
	if err := (&echo.DefaultBinder{}).BindQueryParams(c, &q); err != nil {
		return app.Invalid("from", "invalid_query", "a query parameter is malformed")
	}
	ctx := c.Request().Context()
	body, m, err := h.svc.BuildPack(ctx, h.m.Secrets, q)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	detail := map[string]any{"scope": m.Scope, "from": m.From, "to": m.To, "sha256": hex.EncodeToString(sum[:]), "key": m.Key.ID,
		"audit_head": m.AuditHead, "files": len(m.Files)}
	if err := auditapi.RecordNow(ctx, h.m.ConfigDB, auditapi.Entry{Action: "evidence.export", ResourceType: "evidence_pack", Detail: detail}); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition,
		fmt.Sprintf(`attachment; filename="mipo-evidence-%s.tar"`, m.CreatedAt.UTC().Format("20060102T150405Z")))
	return c.Blob(http.StatusOK, "application/x-tar", body)
}

func (h *handlers) evidenceKey(c echo.Context) error {
	k, _, err := signingKey(c.Request().Context(), h.m.ConfigDB, h.m.Secrets, h.m.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, k)
}
