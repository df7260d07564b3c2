package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// checkpointMAC is the checkpoint's HMAC-SHA256 under the audit key.
func checkpointMAC(c CheckpointRecord, key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("mipo audit checkpoint v1\x00"))
	binary.Write(m, binary.BigEndian, []int64{c.At.UnixMicro(), c.Count, c.LastID})
	head, _ := hex.DecodeString(c.Head)
	m.Write(head)
	if c.Anchor {
		m.Write([]byte{1})
	}
	return m.Sum(nil)
}

func validCheckpoint(c CheckpointRecord, key []byte) bool {
	got, err := hex.DecodeString(c.MAC)
	return err == nil && hmac.Equal(got, checkpointMAC(c, key))
}

// Checkpoint records the log's current head in the jobs database. The head is read in one
// snapshot, so a record committed meanwhile is simply in the next checkpoint. Nothing is
// written when the head has not moved since the last checkpoint. With no checkpoint yet, an
// anchor is written first.
func Checkpoint(ctx context.Context, c Chain) error {
	if len(c.Key) == 0 {
		return errors.New("audit: no MIPO_AUDIT_KEY to sign a checkpoint with")
	}
	latest, err := checkpoints(ctx, c.Jobs, 1)
	if err != nil {
		return err
	}
	if len(latest) == 1 && !validCheckpoint(latest[0], c.Key) {
		return errors.New("audit: the newest checkpoint was not made with this MIPO_AUDIT_KEY: every process of one installation must share one key (one .mipo.env); no checkpoint is written until they do")
	}
	if len(latest) == 0 {
		anchor, err := unkeyedPrefix(ctx, c)
		if err != nil {
			return err
		}
		if err := insert(ctx, c, anchor); err != nil {
			return err
		}
		latest = []CheckpointRecord{anchor}
	}
	var cp CheckpointRecord
	err = pgx.BeginTxFunc(ctx, c.Config, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*), coalesce(max(id), 0),
			encode(coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), ''), 'hex') FROM audit_log`).Scan(&cp.Count, &cp.LastID, &cp.Head)
	})
	if err != nil || (latest[0].Count == cp.Count && latest[0].LastID == cp.LastID) {
		return err
	}
	return insert(ctx, c, cp)
}

// unkeyedPrefix is the anchor: the records before the first keyed one, which an older release
// wrote before the installation had a key. It never reaches past a keyed record, so a fresh
// anchor (after the checkpoints were deleted) cannot vouch for an unkeyed record appended
// later — a forgery. The scan reads the unkeyed records once, at the first start with the key.
func unkeyedPrefix(ctx context.Context, c Chain) (CheckpointRecord, error) {
	a := CheckpointRecord{Anchor: true}
	rows, err := c.Config.Query(ctx, `SELECT `+columns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return a, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return a, err
		}
		if r.matches(c.Key, false) {
			break
		}
		a.Count, a.LastID, a.Head = a.Count+1, r.ID, r.Hash
	}
	return a, rows.Err()
}

// insert writes a checkpoint stamped now, under the key.
func insert(ctx context.Context, c Chain, cp CheckpointRecord) error {
	cp.At = time.Now().UTC().Truncate(time.Microsecond)
	head, err := hex.DecodeString(cp.Head)
	if err != nil {
		return err
	}
	_, err = c.Jobs.Exec(ctx, `INSERT INTO audit_checkpoints (at, record_count, last_id, head, anchor, mac) VALUES ($1, $2, $3, $4, $5, $6)`,
		cp.At, cp.Count, cp.LastID, head, cp.Anchor, checkpointMAC(cp, c.Key))
	return err
}

// LatestCheckpoint returns the newest checkpoint, for a backup's manifest to carry (pass it
// back as one of Chain.Anchors when verifying); nil when there is none yet.
func LatestCheckpoint(ctx context.Context, jobs *pgxpool.Pool) (*CheckpointRecord, error) {
	cps, err := checkpoints(ctx, jobs, 1)
	if err != nil || len(cps) == 0 {
		return nil, err
	}
	return &cps[0], nil
}

// checkpoints reads the newest limit checkpoints (all when limit is 0), newest first.
func checkpoints(ctx context.Context, jobs *pgxpool.Pool, limit int) ([]CheckpointRecord, error) {
	q := `SELECT at, record_count, last_id, encode(head, 'hex'), anchor, encode(mac, 'hex') FROM audit_checkpoints ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := jobs.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CheckpointRecord, error) {
		var c CheckpointRecord
		err := r.Scan(&c.At, &c.Count, &c.LastID, &c.Head, &c.Anchor, &c.MAC)
		c.At = c.At.UTC()
		return c, err
	})
}

// Verify recomputes the whole chain in id order, streaming, and names the first record whose
// hash does not match its contents under the key or whose link to the previous record is
// broken; then it holds the log against every checkpoint, so a missing tail is named with what
// the checkpoint saw. Unkeyed hashes pass only up to the anchor checkpoint.
func Verify(ctx context.Context, c Chain) (Verification, error) {
	v := Verification{OK: true}
	fail := func(id *int64, reason string) (Verification, error) {
		v.OK, v.FirstBadID, v.Reason = false, id, reason
		return v, nil
	}
	cps, err := checkpoints(ctx, c.Jobs, 0)
	if err != nil {
		return v, err
	}
	cps = append(cps, c.Anchors...)
	byLast := map[int64][]CheckpointRecord{}
	var unkeyedUpTo int64 // records up to this id may carry unkeyed hashes (the lowest anchor's)
	anchored := false
	for _, cp := range cps {
		if !validCheckpoint(cp, c.Key) {
			return fail(nil, fmt.Sprintf("the checkpoint of %s (%d records) does not carry a valid MAC: it was forged, altered, or made under another MIPO_AUDIT_KEY", cp.At.Format(time.RFC3339), cp.Count))
		}
		byLast[cp.LastID] = append(byLast[cp.LastID], cp)
		if cp.Anchor && (!anchored || cp.LastID < unkeyedUpTo) {
			unkeyedUpTo, anchored = cp.LastID, true
		}
		if v.Checkpoint == nil || cp.Count > v.Checkpoint.Count {
			cp := cp
			v.Checkpoint = &cp
		}
	}
	rows, err := c.Config.Query(ctx, `SELECT `+columns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return v, err
	}
	defer rows.Close()
	prev := []byte{}
	var lastID int64
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return v, err
		}
		v.Checked++
		id := r.ID
		if !bytes.Equal(r.prev, prev) {
			return fail(&id, fmt.Sprintf("record %d does not link to the record before it: a record was removed or altered there", r.ID))
		}
		if !r.matches(c.Key, r.ID <= unkeyedUpTo) {
			return fail(&id, fmt.Sprintf("record %d was altered or forged: its contents do not match its hash under MIPO_AUDIT_KEY", r.ID))
		}
		for _, cp := range byLast[r.ID] {
			if cp.Count != v.Checked || cp.Head != r.Hash {
				return fail(&id, fmt.Sprintf("the checkpoint of %s says %d records ending in record %d with hash %s; the table has %d records to there, with hash %s",
					cp.At.Format(time.RFC3339), cp.Count, cp.LastID, short(cp.Head), v.Checked, short(r.Hash)))
			}
		}
		prev, lastID = r.hash, r.ID
	}
	if err := rows.Err(); err != nil {
		return v, err
	}
	if cp := v.Checkpoint; cp != nil && (cp.LastID > lastID || cp.Count > v.Checked) {
		return fail(nil, fmt.Sprintf("the checkpoint of %s says %d records ending in record %d with hash %s; the table has %d, ending in record %d: its tail was cut off",
			cp.At.Format(time.RFC3339), cp.Count, cp.LastID, short(cp.Head), v.Checked, lastID))
	}
	return v, nil
}

// matches checks a record's hash under the key, or unkeyed when the anchor vouches for it.
func (r *rawRecord) matches(key []byte, unkeyedAllowed bool) bool {
	for _, k := range [][]byte{key, nil} {
		if k == nil && !unkeyedAllowed {
			return false
		}
		want, err := computeHash(k, r.prev, r.ID, r.At, r.Actor, r.SourceIP, r.UserAgent, r.RequestID, r.Action, r.ResourceType, r.ResourceID, r.ResourceName, r.Outcome, r.diff, r.detail)
		if err == nil && hmac.Equal(want, r.hash) {
			return true
		}
		if k == nil {
			return false
		}
	}
	return false
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
