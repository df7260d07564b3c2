package findings

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"mipo/app"
	"mipo/modules/audit/auditapi"
	"mipo/modules/config/configapi"
	"mipo/modules/config/netset"
	"mipo/modules/results/resultsapi"
	"mipo/modules/scans/scansapi"
)

// PackFormat names the archive's layout; verify refuses any other.
const PackFormat = "mipo-evidence/1"

// EvidenceQuery says what a pack covers: exactly one scope, and a period.
type EvidenceQuery struct {
	Template    string `query:"template" json:"template,omitempty" doc:"A template's id: its scans."`
	SubnetGroup string `query:"subnet_group" json:"subnet_group,omitempty" doc:"A subnet group's id: every scan that reached its subnets."`
	CIDR        string `query:"cidr" json:"cidr,omitempty" doc:"A CIDR: every scan that reached it."`
	From        string `query:"from" json:"from" doc:"Start of the period (RFC 3339), inclusive."`
	To          string `query:"to" json:"to" doc:"End of the period (RFC 3339), exclusive."`
}

// Manifest is the pack's table of contents, the one file that is signed: every other file is
// named here with its SHA-256, so the signature covers them all.
type Manifest struct {
	Format      string         `json:"format"`
	CreatedAt   time.Time      `json:"created_at"`
	CreatedBy   string         `json:"created_by"`
	Scope       map[string]any `json:"scope"`
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	Key         SigningKey     `json:"key"`
	AuditHead   auditapi.Head  `json:"audit_head" doc:"The audit chain's head when the pack was made."`
	Files       []ManifestFile `json:"files"`
	Description string         `json:"description"`
}

// ManifestFile is one file of the pack.
type ManifestFile struct {
	Name   string `json:"name"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

// Names of the files every pack holds.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

type packScan struct {
	*scansapi.Scan
	Coverage []packCoverage `json:"coverage"`
}

type packCoverage struct {
	ScannerID string     `json:"scanner_id"`
	Targets   netset.Set `json:"targets"`
	Ports     string     `json:"ports"`
	At        time.Time  `json:"completed_at"`
}

type packFinding struct {
	*Finding
	History []Event `json:"history"`
}

// parse validates the query; it names the field at fault.
func (q EvidenceQuery) parse() (kind, ref string, from, to time.Time, err error) {
	n := 0
	for _, f := range []struct{ k, v string }{{"template", q.Template}, {"subnet_group", q.SubnetGroup}, {"cidr", q.CIDR}} {
		if f.v != "" {
			n++
			kind, ref = f.k, f.v
		}
	}
	if n != 1 {
		return "", "", from, to, app.Invalid("template", "one_scope", "give exactly one scope: template, subnet_group or cidr")
	}
	switch kind {
	case "template", "subnet_group":
		if _, e := uuid.Parse(ref); e != nil {
			return "", "", from, to, app.Invalid(kind, "invalid_id", kind+" must be an id")
		}
	case "cidr":
		p, e := netset.ParseCIDR(ref)
		if e != nil {
			return "", "", from, to, app.Invalid("cidr", "invalid_cidr", e.Error())
		}
		ref = p.String()
	}
	if q.From == "" {
		return "", "", from, to, app.Invalid("from", "required", "from is required")
	}
	if q.To == "" {
		return "", "", from, to, app.Invalid("to", "required", "to is required")
	}
	if from, err = app.ParseTime("from", q.From); err != nil {
		return
	}
	if to, err = app.ParseTime("to", q.To); err != nil {
		return
	}
	if !to.After(from) {
		return "", "", from, to, app.Invalid("to", "empty_period", "to must be after from")
	}
	return kind, ref, from, to, nil
}

// BuildPack writes the evidence pack of a scope and period: a tar of JSON files, a manifest
// naming each with its SHA-256, and the manifest's Ed25519 signature. It returns the archive
// and its manifest. Recording that it was made is the caller's business (the route audits it).
func (s *Service) BuildPack(ctx context.Context, box *app.SecretBox, q EvidenceQuery) ([]byte, *Manifest, error) {
	kind, ref, from, to, err := q.parse()
	if err != nil {
		return nil, nil, err
	}
	now := s.Clock.Now()
	key, priv, err := signingKey(ctx, s.Config, box, now)
	if err != nil {
		return nil, nil, err
	}
	files := map[string]any{}
	var order []string
	put := func(name string, v any) { files[name] = v; order = append(order, name) }
	m := &Manifest{Format: PackFormat, CreatedAt: now, CreatedBy: actorName(ctx), From: from, To: to, Key: key,
		Scope:       map[string]any{"kind": kind, "ref": ref},
		Description: "Evidence of what was exposed in a scope over a period, as mipo recorded it. Every file is listed with its SHA-256; manifest.sig is the Ed25519 signature of manifest.json by the key above. Check it with `mipo evidence verify FILE`."}
	err = app.ReadSnapshot(ctx, s.Config, func(ctx context.Context, tx pgx.Tx) error {
		// The scope's addresses: a group's or CIDR's prefixes; a template's are its scans'.
		var area netset.Set
		switch kind {
		case "subnet_group":
			ok, err := configapi.Exists(ctx, tx, configapi.KindSubnetGroup, ref)
			if err != nil {
				return err
			}
			if !ok {
				return app.Invalid("subnet_group", "unknown_reference", "subnet group "+ref+" does not exist")
			}
			ps, err := configapi.Prefixes(ctx, tx, nil, []string{ref})
			if err != nil {
				return err
			}
			if area, err = netset.FromPrefixes(ps...); err != nil {
				return err
			}
			m.Scope["prefixes"] = ps
		case "cidr":
			area, _ = netset.FromPrefix(netip.MustParsePrefix(ref))
		}
		all, err := scansapi.CompletedBetween(ctx, tx, from, to)
		if err != nil {
			return err
		}
		var picked []packScan
		var resolved []map[string]any
		for _, sc := range all {
			if kind == "template" && sc.TemplateID != ref {
				continue
			}
			if kind != "template" && (sc.Scope == nil || sc.Scope.Targets.Intersect(area).IsEmpty()) {
				continue
			}
			if kind == "template" {
				area = area.Union(sc.Scope.Targets)
			}
			cov, err := resultsapi.CoverageOf(ctx, s.Results, sc.ID)
			if err != nil {
				return err
			}
			ps := packScan{Scan: sc, Coverage: []packCoverage{}}
			for _, c := range cov {
				ps.Coverage = append(ps.Coverage, packCoverage{ScannerID: c.ScannerID, Targets: c.Targets, Ports: c.Ports.String(), At: c.At})
			}
			resolved = append(resolved, map[string]any{"scan_id": sc.ID, "template_id": sc.TemplateID, "template_version": sc.TemplateVersion,
				"scope": sc.Scope})
			sc := *sc
			sc.Scope = nil // the scope is in scope.json, once
			ps.Scan = &sc
			picked = append(picked, ps)
		}
		put("scope.json", map[string]any{"scope": m.Scope, "addresses": area, "resolved_at_each_scan": orEmpty(resolved)})
		put("scans.json", orEmpty(picked))
		// Diffs: each scan against the scope's previous scan of the same template in the period.
		var diffs []*resultsapi.Diff
		last := map[string]string{}
		for _, ps := range picked {
			if prev, ok := last[ps.TemplateID]; ok {
				d, err := resultsapi.DiffScans(ctx, s.Results, prev, ps.ID, false)
				if err != nil {
					return err
				}
				d.Opened, d.Closed = within(d.Opened, area), within(d.Closed, area)
				diffs = append(diffs, d)
			}
			last[ps.TemplateID] = ps.ID
		}
		put("diffs.json", orEmpty(diffs))
		// Findings of the scope alive at some point of the period, with their history.
		rows, err := tx.Query(ctx, `SELECT `+findingColumns+` FROM findings WHERE first_seen_at < $1 AND (closed_at IS NULL OR closed_at >= $2)
			ORDER BY address, port, occurrence`, to, from)
		fs, err := app.Collect(rows, err, scanFinding)
		if err != nil {
			return err
		}
		var ids []string
		var inScope []*Finding
		for _, f := range fs {
			if a, err := parseAddr(f.Address); err == nil && area.Contains(a) {
				inScope = append(inScope, f)
				ids = append(ids, f.ID)
			}
		}
		hist, err := History(ctx, tx, ids)
		if err != nil {
			return err
		}
		byFinding := map[string][]Event{}
		for _, e := range hist {
			byFinding[e.FindingID] = append(byFinding[e.FindingID], e)
		}
		var pf []packFinding
		for _, f := range inScope {
			pf = append(pf, packFinding{Finding: f, History: orEmpty(byFinding[f.ID])})
		}
		put("findings.json", orEmpty(pf))
		// Baselines that touch the scope, with every version.
		bs, err := listBaselines(ctx, tx)
		if err != nil {
			return err
		}
		rules, err := Resolve(ctx, tx, bs)
		if err != nil {
			return err
		}
		var bv []map[string]any
		for i, r := range rules {
			rs, _ := netset.FromPrefixes(r.Prefixes...)
			if rs.Intersect(area).IsEmpty() {
				continue
			}
			vs, err := baselineVersions(ctx, tx, r.ID)
			if err != nil {
				return err
			}
			bv = append(bv, map[string]any{"baseline": bs[i], "allowed_ports": r.Ports.String(), "prefixes": r.Prefixes, "versions": vs})
			ids = append(ids, r.ID)
		}
		put("baselines.json", orEmpty(bv))
		// The audit records about anything above, and the chain's head now.
		ids = append(ids, ref)
		for _, ps := range picked {
			ids = append(ids, ps.ID)
		}
		recs, err := auditapi.Touching(ctx, tx, ids, from, now.Add(time.Second))
		if err != nil {
			return err
		}
		put("audit.json", orEmpty(recs))
		head, err := auditapi.ReadHead(ctx, tx)
		m.AuditHead = head
		put("audit_head.json", head)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(name string, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: now, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, name := range order {
		body, err := json.MarshalIndent(files[name], "", "  ")
		if err != nil {
			return nil, nil, err
		}
		body = append(body, '\n')
		sum := sha256.Sum256(body)
		m.Files = append(m.Files, ManifestFile{Name: name, Size: len(body), SHA256: hex.EncodeToString(sum[:])})
		if err := write(name, body); err != nil {
			return nil, nil, err
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, mb)) + "\n"
	if err := write(ManifestName, mb); err != nil {
		return nil, nil, err
	}
	if err := write(SignatureName, []byte(sig)); err != nil {
		return nil, nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), m, nil
}

func within(cs []resultsapi.Change, area netset.Set) []resultsapi.Change {
	out := []resultsapi.Change{}
	for _, c := range cs {
		if a, err := netip.ParseAddr(c.Address); err == nil && area.Contains(a) {
			out = append(out, c)
		}
	}
	return out
}

func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
