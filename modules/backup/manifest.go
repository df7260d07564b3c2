package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"mipo/modules/audit/auditapi"
)

// Kinds of backup: config (the config and jobs databases, always whole) and results (a full
// backup, then incrementals on top of it).
const (
	KindConfig  = "config"
	KindResults = "results"
)

// Manifest describes one backup. It is stored in clear beside the encrypted parts, so backups
// can be listed without the key, and signed, so nothing in it can be changed unnoticed.
type Manifest struct {
	Format      int            `json:"format"`
	ID          string         `json:"id"`
	Kind        string         `json:"kind" doc:"config or results"`
	Incremental bool           `json:"incremental"`
	Parent      string         `json:"parent,omitempty" doc:"the backup this incremental follows"`
	CreatedAt   time.Time      `json:"created_at"`
	Install     string         `json:"install"`
	MipoVersion string         `json:"mipo_version"`
	KeyID       string         `json:"key_id" doc:"a public fingerprint of the key the backup was made with"`
	Databases   []Database     `json:"databases"`
	AuditHead   *auditapi.Head `json:"audit_head,omitempty"`
	// AuditCheckpoint is the newest signed checkpoint of the audit log when the backup was
	// made: a restore holds the restored log against it, so a log cut short is caught even
	// with the checkpoints in the jobs database.
	AuditCheckpoint *auditapi.CheckpointRecord `json:"audit_checkpoint,omitempty"`
	Secrets         *Table                     `json:"secrets,omitempty" doc:"config backups: the installation's keys from .mipo.env, encrypted like every part, for a restore on a new machine"`
	Snapshot        string                     `json:"snapshot,omitempty" doc:"the results database's transaction snapshot, where the next incremental starts"`
	Signature       string                     `json:"signature"`
}

// Database is one database of a backup: its migration version and its tables.
type Database struct {
	Name      string  `json:"name"`
	Migration int64   `json:"migration"`
	Tables    []Table `json:"tables"`
}

// Table is one table's part: the rows it holds, the table's whole row count in the snapshot
// (which restore checks), and the encrypted file's size and SHA-256.
type Table struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	Total  int64  `json:"total"`
	Part   string `json:"part"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

const manifestFile = "manifest.json"

// Parts lists every part of the backup.
func (m *Manifest) Parts() []Table {
	var out []Table
	for _, d := range m.Databases {
		out = append(out, d.Tables...)
	}
	if m.Secrets != nil {
		out = append(out, *m.Secrets)
	}
	return out
}

// Size is the sum of the parts' sizes.
func (m *Manifest) Size() int64 {
	var n int64
	for _, t := range m.Parts() {
		n += t.Bytes
	}
	return n
}

// Rows is the number of rows the parts hold.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, d := range m.Databases {
		for _, t := range d.Tables {
			n += t.Rows
		}
	}
	return n
}

func (m *Manifest) body() []byte {
	cp := *m
	cp.Signature = ""
	b, _ := json.Marshal(cp)
	return b
}

// seal signs the manifest and returns its file bytes.
func (m *Manifest) seal(k *Keys) []byte {
	m.Signature = k.sign(m.body())
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// parseManifest reads a manifest and checks its signature under k; a manifest made under
// another key is ErrWrongKey, an altered one is refused.
func parseManifest(b []byte, k *Keys) (*Manifest, error) {
	m := &Manifest{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("the manifest is not valid JSON: %v", err)
	}
	if m.Format != 1 {
		return nil, fmt.Errorf("the manifest has format %d; this mipo reads format 1", m.Format)
	}
	if k == nil {
		return m, nil
	}
	if m.KeyID != k.ID {
		return nil, fmt.Errorf("%w (backup key id %s, yours %s)", ErrWrongKey, m.KeyID, k.ID)
	}
	if !k.verify(m.body(), m.Signature) {
		return nil, errors.New("the manifest's signature does not match: the manifest was altered")
	}
	return m, nil
}

// readManifest reads dir/manifest.json.
func readManifest(dir string, k *Keys) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, err
	}
	return parseManifest(b, k)
}
