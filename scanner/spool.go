package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The spool holds every results batch and every complete message from the
// moment it is made until ingest acknowledged it, so an outage or a restart
// loses nothing. One file per message, named
//
//	<seq, 20 digits>-<job id>.json       waiting to be sent
//	<seq, 20 digits>-<job id>.acked      a batch ingest acknowledged, kept
//	                                     until its job's complete is accepted,
//	                                     in case ingest answers 409
//	                                     missing_batches
//
// seq grows with every message, so sorting names sorts oldest first. A
// message is sent only when every older one was: a job's complete never
// overtakes its batches. A file is written whole (temporary file, fsync,
// rename, fsync of the directory) before it is sent, and never changed
// after, except for the rename to .acked.

// spoolMsg is the content of one spool file.
type spoolMsg struct {
	JobID string          `json:"job_id"`
	Kind  string          `json:"kind"` // results or complete
	Batch int             `json:"batch,omitempty"`
	Body  json.RawMessage `json:"body"`
}

type Spool struct {
	dir    string
	log    *slog.Logger
	mu     sync.Mutex
	seq    uint64
	live   map[string]bool // jobs running in this process
	gone   map[string]bool // jobs ingest answered 410 for
	wake   chan struct{}
	onGone func(jobID string) // told when ingest answers 410 for a job

	backoffMin, backoffMax time.Duration // 1 s and 60 s; shortened by tests
}

func OpenSpool(dir string, log *slog.Logger) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, log: log, live: map[string]bool{}, gone: map[string]bool{}, wake: make(chan struct{}, 1),
		backoffMin: backoffMin, backoffMax: backoffMax}
	names, err := s.list()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		seq, _, _ := parseSpoolName(n)
		s.seq = max(s.seq, seq)
	}
	s.sweep()
	return s, nil
}

// sweep removes what a crash may leave: temporary files, and acked
// batches of jobs with no complete waiting (no process runs them any more,
// so no 409 can ask for them).
func (s *Spool) sweep() {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
	names, _ := s.list()
	completing := map[string]bool{}
	for _, n := range names {
		if m, err := s.read(n); err == nil && m.Kind == "complete" && strings.HasSuffix(n, ".json") {
			completing[m.JobID] = true
		}
	}
	for _, n := range names {
		if _, job, acked := parseSpoolName(n); acked && !completing[job] {
			os.Remove(filepath.Join(s.dir, n))
		}
	}
}

// list gives the spool's message files, oldest first.
func (s *Spool) list() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var names []string
	for _, e := range ents {
		if _, _, _, ok := splitSpoolName(e.Name()); ok {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// parseSpoolName splits "<seq>-<job>.json|.acked" into its parts; acked
// says which suffix it had.
func parseSpoolName(name string) (seq uint64, job string, acked bool) {
	seq, job, acked, _ = splitSpoolName(name)
	return
}

func splitSpoolName(name string) (seq uint64, job string, acked, ok bool) {
	base, found := strings.CutSuffix(name, ".json")
	if !found {
		if base, found = strings.CutSuffix(name, ".acked"); !found {
			return 0, "", false, false
		}
		acked = true
	}
	s, job, found := strings.Cut(base, "-")
	if !found || len(s) != 20 || !uuidRE.MatchString(job) {
		return 0, "", false, false
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	return seq, job, acked, err == nil
}

func (s *Spool) read(name string) (*spoolMsg, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		return nil, err
	}
	var m spoolMsg
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("spool file %s: %v", name, err)
	}
	return &m, nil
}

// StartJob and EndJob mark a job as running in this process, so its acked
// batches are kept for a possible 409 until its complete is written.
func (s *Spool) StartJob(id string) { s.mu.Lock(); s.live[id] = true; s.mu.Unlock() }
func (s *Spool) EndJob(id string)   { s.mu.Lock(); delete(s.live, id); s.mu.Unlock() }

// Gone says whether ingest answered 410 for the job.
func (s *Spool) Gone(id string) bool { s.mu.Lock(); defer s.mu.Unlock(); return s.gone[id] }

// Put writes a message durably and wakes the sender. Messages for a job
// ingest no longer knows are dropped.
func (s *Spool) Put(jobID, kind string, batch int, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	data, err := json.Marshal(spoolMsg{JobID: jobID, Kind: kind, Batch: batch, Body: raw})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock() // held while writing, so files appear in seq order
	if s.gone[jobID] {
		return nil
	}
	s.seq++
	name := fmt.Sprintf("%020d-%s.json", s.seq, jobID)
	if err := writeFileAtomic(filepath.Join(s.dir, name), data, 0o600); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Pending is how many messages wait to be sent.
func (s *Spool) Pending() int {
	names, _ := s.list()
	n := 0
	for _, name := range names {
		if _, _, acked := parseSpoolName(name); !acked {
			n++
		}
	}
	return n
}

const (
	backoffMin = time.Second
	backoffMax = 60 * time.Second
)

// Send delivers the spool to ingest, oldest first, until ctx ends: after a
// failed send it waits 1 s, doubling to 60 s, and tries the oldest message
// again. A value on flush cuts a wait short (used when stopping).
func (s *Spool) Send(ctx context.Context, c *Client, flush <-chan struct{}) {
	backoff := s.backoffMin
	for ctx.Err() == nil {
		sent, err := s.sendOldest(ctx, c)
		if err != nil {
			s.log.Warn("spool: send failed; will retry", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-flush:
			case <-ctx.Done():
			}
			backoff = min(2*backoff, s.backoffMax)
			continue
		}
		backoff = s.backoffMin
		if !sent {
			select {
			case <-s.wake:
			case <-ctx.Done():
			}
		}
	}
}

// sendOldest sends the oldest waiting message. It returns false when there
// was none, and an error when the message must be tried again later.
func (s *Spool) sendOldest(ctx context.Context, c *Client) (bool, error) {
	names, err := s.list()
	if err != nil {
		return false, err
	}
	for _, name := range names {
		if _, _, acked := parseSpoolName(name); acked {
			continue
		}
		m, err := s.read(name)
		if err != nil {
			// Unreadable (a disk fault): set it aside so it cannot block the rest.
			s.quarantine(name, err)
			return true, nil
		}
		path := "/scanner/v1/jobs/" + m.JobID + "/" + m.Kind
		_, err = c.doRaw(ctx, callTimeout, path, m.Body, nil)
		return true, s.settle(name, m, err)
	}
	return false, nil
}

// settle acts on ingest's answer to one message.
func (s *Spool) settle(name string, m *spoolMsg, err error) error {
	var ae *APIError
	switch {
	case err == nil && m.Kind == "results":
		s.mu.Lock()
		keep := s.live[m.JobID] || s.hasComplete(m.JobID)
		s.mu.Unlock()
		if keep {
			return os.Rename(filepath.Join(s.dir, name), filepath.Join(s.dir, strings.TrimSuffix(name, ".json")+".acked"))
		}
		return os.Remove(filepath.Join(s.dir, name))
	case err == nil: // complete accepted: the job's batches are no longer needed
		s.dropJob(m.JobID)
		return nil
	case !errors.As(err, &ae):
		return err // network: try again
	case ae.Status == http.StatusGone:
		s.log.Warn("spool: ingest no longer knows the job; dropping its messages", "job", m.JobID)
		s.DropJob(m.JobID)
		if s.onGone != nil {
			s.onGone(m.JobID)
		}
		return nil
	case ae.Status == http.StatusConflict && ae.Code == "missing_batches" && m.Kind == "complete":
		return s.resend(m.JobID, ae)
	case ae.Status == http.StatusBadRequest, ae.Status == http.StatusNotFound,
		ae.Status == http.StatusRequestEntityTooLarge, ae.Status == http.StatusUnprocessableEntity:
		// Never acceptable as it stands: set aside, so it cannot block the rest.
		s.quarantine(name, err)
		return nil
	default:
		return err // 401, 403, 408, 429, 5xx, ...: try again
	}
}

// hasComplete says whether the job's complete waits in the spool. Caller holds mu.
func (s *Spool) hasComplete(jobID string) bool {
	names, _ := s.list()
	for _, n := range names {
		if _, job, acked := parseSpoolName(n); job == jobID && !acked {
			if m, err := s.read(n); err == nil && m.Kind == "complete" {
				return true
			}
		}
	}
	return false
}

// resend makes the batches ingest says it lacks waiting again. They keep
// their place (their seq is older than the complete's), so they go first.
// A missing batch no longer in the spool cannot be recovered: then the
// complete is dropped, and ingest's reconciler re-queues the job.
func (s *Spool) resend(jobID string, ae *APIError) error {
	var d struct {
		Missing []int `json:"missing"`
	}
	_ = json.Unmarshal(ae.Detail, &d)
	all := len(d.Missing) == 0 // no list: send every batch again
	names, _ := s.list()
	found := 0
	for _, n := range names {
		if _, job, acked := parseSpoolName(n); job != jobID || !acked {
			continue
		}
		if m, err := s.read(n); err == nil && (all || slices.Contains(d.Missing, m.Batch)) {
			os.Rename(filepath.Join(s.dir, n), filepath.Join(s.dir, strings.TrimSuffix(n, ".acked")+".json"))
			found++
		}
	}
	if found > 0 && (all || found == len(d.Missing)) {
		s.log.Warn("spool: ingest lacks batches; sending them again", "job", jobID, "batches", d.Missing)
		return nil
	}
	s.log.Error("spool: ingest lacks batches the spool no longer holds; dropping the job's completion so ingest re-queues it",
		"job", jobID, "missing", d.Missing)
	s.dropJob(jobID)
	return nil
}

// DropJob forgets a job ingest no longer knows: its messages are deleted
// and later ones for it are not written.
func (s *Spool) DropJob(jobID string) {
	s.mu.Lock()
	s.gone[jobID] = true
	s.mu.Unlock()
	s.dropJob(jobID)
}

func (s *Spool) dropJob(jobID string) {
	names, _ := s.list()
	for _, n := range names {
		if _, job, _ := parseSpoolName(n); job == jobID {
			os.Remove(filepath.Join(s.dir, n))
		}
	}
}

// quarantine moves a message ingest refused for good into rejected/, for
// an operator to look at.
func (s *Spool) quarantine(name string, why error) {
	s.log.Error("spool: message refused for good; moved to rejected/", "file", name, "err", why)
	rej := filepath.Join(s.dir, "rejected")
	os.MkdirAll(rej, 0o700)
	if os.Rename(filepath.Join(s.dir, name), filepath.Join(rej, name)) != nil {
		os.Remove(filepath.Join(s.dir, name))
	}
}
