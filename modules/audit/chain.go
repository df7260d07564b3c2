package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// columns is the SELECT list that scanRecord reads, in order.
const columns = `id, at, actor_kind, actor_id, actor_name, source_ip, user_agent, request_id, action,
	resource_type, resource_id, resource_name, outcome, diff, detail, prev_hash, hash`

// rawRecord is a row as the database holds it: diff and detail as JSON text, hashes as bytes.
type rawRecord struct {
	AuditRecord
	diff, detail []byte
	prev, hash   []byte
}

func scanRecord(row pgx.Row) (*rawRecord, error) {
	r := &rawRecord{}
	err := row.Scan(&r.ID, &r.At, &r.Actor.Kind, &r.Actor.ID, &r.Actor.Name, &r.SourceIP, &r.UserAgent, &r.RequestID,
		&r.Action, &r.ResourceType, &r.ResourceID, &r.ResourceName, &r.Outcome, &r.diff, &r.detail, &r.prev, &r.hash)
	if err != nil {
		return nil, err
	}
	r.At = r.At.UTC()
	r.PrevHash, r.Hash = hex.EncodeToString(r.prev), hex.EncodeToString(r.hash)
	return r, nil
}

// decode fills the typed diff and detail from their stored JSON.
func (r *rawRecord) decode() *AuditRecord {
	r.Diff = []FieldChange{}
	json.Unmarshal(r.diff, &r.Diff)
	r.Detail = map[string]any{}
	json.Unmarshal(r.detail, &r.Detail)
	return &r.AuditRecord
}

// computeHash is HMAC-SHA256 under the audit key (plain SHA-256 for records written before
// the key existed) over the previous hash and a canonical form of every field, so the same
// record always hashes the same whether it was just built or read back from jsonb. Without
// the key nobody can compute a record's hash, so a rewrite or an append is caught even when
// every later hash is recomputed.
//
// The resource's name is hashed only when there is one: records written before names were
// kept hash as they always did, while a name given to such a record, or changed or removed
// on a later one, no longer matches its hash.
func computeHash(key, prev []byte, id int64, at time.Time, a Actor, sourceIP, userAgent, requestID, action, resType, resID, resName, outcome string, diff, detail []byte) ([]byte, error) {
	cd, err := canonical(diff)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	cdt, err := canonical(detail)
	if err != nil {
		return nil, fmt.Errorf("detail: %w", err)
	}
	fields := []string{
		fmt.Sprint(id), at.UTC().Format(time.RFC3339Nano), a.Kind, a.ID, a.Name, sourceIP, userAgent, requestID,
		action, resType, resID, outcome, string(cd), string(cdt),
	}
	if resName != "" {
		fields = append(fields, "resource_name="+resName)
	}
	h := sha256.New()
	if key != nil {
		h = hmac.New(sha256.New, key)
	}
	h.Write(prev)
	for _, f := range fields {
		// Length-prefixed, so no two different records can concatenate to the same bytes.
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return h.Sum(nil), nil
}

// canonical re-encodes JSON with sorted keys and numbers kept as written, which is what
// jsonb hands back modulo key order and spacing.
func canonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// cleanJSON marshals v for a jsonb column: jsonb cannot hold NUL characters, so they are
// replaced rather than letting a stray byte in some input make a change unrecordable.
func cleanJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, []byte(`\u0000`), []byte(`\ufffd`))
	return canonical(b)
}
