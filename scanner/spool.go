package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
// loses nothing. One file per message, holding the request body as sent:
//
//	<seq>-<job id>-b<batch>.json   results batch, waiting to be sent
//	<seq>-<job id>-b<batch>.acked  acknowledged, kept until the job's complete
//	                               is accepted, in case of 409 missing_batches
//	<seq>-<job id>-complete.json   the job's complete, waiting to be sent
//
// seq (20 digits) grows with every message, so sorting names sorts oldest
// first. A message is sent only when every older one was: a job's complete
// never overtakes its batches. A file is written whole (temporary file,
// fsync, rename, fsync of the directory) before it is sent, and never
// changed after, except for the rename to .acked and back.

type Spool struct {
	dir    string
	log    *slog.Logger
	mu     sync.Mutex // held while writing, so files appear in seq order
	seq    uint64
	live   map[string]bool // jobs running in this process
	gone   map[string]bool // jobs whose lease ingest answered 410 for: no complete is sent
	barred map[string]bool // jobs whose results ingest answered 410 for: nothing is sent
	wake   chan struct{}
	onGone func(jobID string) // told when ingest answers 410 for a job

	backoffMin, backoffMax time.Duration // 1 s and 60 s; shortened by tests
	clock                  clock         // real time; simulated by tests
	rejected               int           // messages set aside in rejected/ by this process
}

// clock is the time the spool's waits follow; tests simulate a day with it.
type clock interface {
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// entry is one spool file, parsed from its name.
type entry struct {
	name  string
	seq   uint64
	job   string
	batch int // 0: the complete message
	acked bool
}

func parseEntry(name string) (entry, bool) {
	e := entry{name: name}
	base, ok := strings.CutSuffix(name, ".json")
	if !ok {
		if base, ok = strings.CutSuffix(name, ".acked"); !ok {
			return e, false
		}
		e.acked = true
	}
	// 20 digits, "-", a 36-character UUID, "-", then "complete" or "b<batch>".
	if len(base) < 20+1+36+2 || base[20] != '-' || base[57] != '-' || !uuidRE.MatchString(base[21:57]) {
		return e, false
	}
	var err error
	if e.seq, err = strconv.ParseUint(base[:20], 10, 64); err != nil {
		return e, false
	}
	e.job = base[21:57]
	switch kind := base[58:]; {
	case kind == "complete" && !e.acked:
	case strings.HasPrefix(kind, "b"):
		if e.batch, err = strconv.Atoi(kind[1:]); err != nil || e.batch < 1 {
			return e, false
		}
	default:
		return e, false
	}
	return e, true
}

func OpenSpool(dir string, log *slog.Logger) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, log: log, live: map[string]bool{}, gone: map[string]bool{}, barred: map[string]bool{}, wake: make(chan struct{}, 1),
		backoffMin: backoffMin, backoffMax: backoffMax, clock: realClock{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents { // a crash may leave half-written files behind
		if strings.HasPrefix(e.Name(), ".tmp-") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	// Acked batches of a job with no complete waiting will never be asked
	// for again: no process runs that job any more.
	all := s.entries()
	for _, e := range all {
		s.seq = max(s.seq, e.seq)
		if e.acked && !hasComplete(all, e.job) {
			s.remove(e)
		}
	}
	return s, nil
}

// entries lists the spool's messages, oldest first.
func (s *Spool) entries() []entry {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		s.log.Error("spool: cannot list", "err", err)
	}
	var out []entry
	for _, de := range ents {
		if e, ok := parseEntry(de.Name()); ok {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return out
}

func hasComplete(all []entry, job string) bool {
	return slices.ContainsFunc(all, func(e entry) bool { return e.job == job && e.batch == 0 })
}

func (s *Spool) remove(e entry) { os.Remove(filepath.Join(s.dir, e.name)) }

// rename moves a batch between waiting (.json) and acknowledged (.acked).
func (s *Spool) rename(e entry, acked bool) error {
	to := strings.TrimSuffix(strings.TrimSuffix(e.name, ".json"), ".acked") + ".json"
	if acked {
		to = strings.TrimSuffix(to, ".json") + ".acked"
	}
	return os.Rename(filepath.Join(s.dir, e.name), filepath.Join(s.dir, to))
}

// StartJob and EndJob mark a job as running in this process, so its acked
// batches are kept for a possible 409 until its complete is written. A job
// leased again (a vantage job re-queued to this scanner) is a new lease:
// what ingest said of the old one no longer holds.
func (s *Spool) StartJob(id string) {
	s.mu.Lock()
	s.live[id] = true
	delete(s.gone, id)
	delete(s.barred, id)
	s.mu.Unlock()
}
func (s *Spool) EndJob(id string) { s.mu.Lock(); delete(s.live, id); s.mu.Unlock() }

// Gone says whether ingest answered 410 for the job.
func (s *Spool) Gone(id string) bool { s.mu.Lock(); defer s.mu.Unlock(); return s.gone[id] }

// Put writes a message durably and wakes the sender: batch n of a job's
// results, or its complete when batch is 0. The complete of a job whose
// lease ingest took back is dropped, but its results are kept and sent:
// they are observations that happened, and ingest stores a former holder's
// late results while the scan runs. Nothing is written for a job whose
// results ingest refused.
func (s *Spool) Put(jobID string, batch int, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	kind := "complete"
	if batch > 0 {
		kind = "b" + strconv.Itoa(batch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.barred[jobID] || s.gone[jobID] && batch == 0 {
		return nil
	}
	s.seq++
	name := fmt.Sprintf("%020d-%s-%s.json", s.seq, jobID, kind)
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
	n := 0
	for _, e := range s.entries() {
		if !e.acked {
			n++
		}
	}
	return n
}

const (
	backoffMin    = time.Second
	backoffMax    = 60 * time.Second
	retryAfterMax = time.Hour // a longer Retry-After is taken as this
)

// backoff is the capped exponential backoff with jitter the spool waits
// between tries: the base doubles from min to max, and each wait is the
// base ±25 % at random, never over max. The jitter spreads the retries of
// many scanners that lost ingest at the same moment.
type backoff struct {
	min, max, base time.Duration
	rand           func() float64 // in [0, 1); rand.Float64, fixed by tests
}

// next is the wait before the next try.
func (b *backoff) next() time.Duration {
	if b.base < b.min {
		b.base = b.min
	}
	d := time.Duration(float64(b.base) * (0.75 + 0.5*b.rand()))
	b.base = min(2*b.base, b.max)
	return min(d, b.max)
}

func (b *backoff) reset() { b.base = b.min }

// verdict is what the spool does with a message after ingest's answer.
type verdict int

const (
	delivered     verdict = iota // 2xx: done (kept as .acked if a 409 may ask for it again)
	retry                        // network error, 429, 5xx: the same message again after the backoff
	refused                      // 401, 403: ingest refuses the scanner; send nothing until that ends
	jobGone                      // 410: drop every message of the job
	resendMissing                // 409 missing_batches to a complete: its batches wait again
	setAside                     // any other 4xx: into rejected/, counted and logged; never retried
)

// classify is the spool's retry rule, in one place. Only what may pass
// is retried: a network error (ingest or the edge down), 429 (overload,
// after its Retry-After) and 5xx (a database outage answers 503 with
// Retry-After). A 4xx says the message or the scanner is wrong, so asking
// again changes nothing: 401 (unknown or revoked key) and 403 (scanner
// disabled, or outside its binding) stop all sending until a call succeeds
// again (see Client.noteAuth: the heartbeat keeps asking at its interval);
// 410 is the job gone; 409 missing_batches to a complete re-sends batches;
// every other 4xx (400, 404, 408, 409, 413, 415, 422, ...) sets the message
// aside in rejected/ so that it cannot block the ones after it.
func classify(err error, complete bool) verdict {
	var ae *APIError
	switch {
	case err == nil:
		return delivered
	case !errors.As(err, &ae):
		return retry
	case ae.Status == http.StatusTooManyRequests, ae.Status >= 500:
		return retry
	case isRefusal(ae.Status):
		return refused
	case ae.Status == http.StatusGone:
		return jobGone
	case ae.Status == http.StatusConflict && ae.Code == "missing_batches" && complete:
		return resendMissing
	default:
		return setAside
	}
}

// Send delivers the spool to ingest, oldest first, until ctx ends. After a
// send to be retried it waits the answer's Retry-After if it gave one (up
// to an hour), else the jittered backoff (1 s doubling to 60 s), and tries
// the oldest message again. While ingest refuses the scanner (401, 403) it
// sends nothing until a call succeeds again. A value on flush cuts a
// backoff short (used when stopping).
func (s *Spool) Send(ctx context.Context, c *Client, flush <-chan struct{}) {
	b := backoff{min: s.backoffMin, max: s.backoffMax, rand: rand.Float64}
	for ctx.Err() == nil {
		if r, ok := c.refused(); r != nil {
			s.log.Error("spool: ingest refuses this scanner; holding messages until it accepts it again",
				"status", r.Status, "code", r.Code, "pending", s.Pending())
			select {
			case <-ok:
			case <-ctx.Done():
			}
			b.reset()
			continue
		}
		sent, err := s.sendOldest(ctx, c)
		if err != nil {
			var ae *APIError
			errors.As(err, &ae)
			if r, _ := c.refused(); r != nil && ae != nil && isRefusal(ae.Status) {
				continue // waited out above
			}
			wait := b.next()
			if ae != nil && ae.RetryAfter > 0 {
				wait = min(ae.RetryAfter, retryAfterMax)
			}
			s.log.Warn("spool: send failed; will retry", "err", err, "retry_in", wait)
			select {
			case <-s.clock.After(wait):
			case <-flush:
			case <-ctx.Done():
			}
			continue
		}
		b.reset()
		if !sent {
			select {
			case <-s.wake:
			case <-ctx.Done():
			}
		}
	}
}

// Rejected is how many messages this process set aside in rejected/.
func (s *Spool) Rejected() int { s.mu.Lock(); defer s.mu.Unlock(); return s.rejected }

// sendOldest sends the oldest waiting message. It returns false when there
// was none, and an error when the message must be tried again later.
func (s *Spool) sendOldest(ctx context.Context, c *Client) (bool, error) {
	all := s.entries()
	i := slices.IndexFunc(all, func(e entry) bool { return !e.acked })
	if i < 0 {
		return false, nil
	}
	e := all[i]
	body, err := os.ReadFile(filepath.Join(s.dir, e.name))
	if err != nil { // a disk fault: set it aside, so it cannot block the rest
		s.quarantine(e, err)
		return true, nil
	}
	path := "/scanner/v1/jobs/" + e.job + "/complete"
	if e.batch > 0 {
		path = "/scanner/v1/jobs/" + e.job + "/results"
	}
	_, err = c.doRaw(ctx, callTimeout, path, body, nil)
	return true, s.settle(all, e, err)
}

// settle acts on ingest's answer to one message, as classify says. It
// returns an error when the message must be tried again later.
func (s *Spool) settle(all []entry, e entry, err error) error {
	var ae *APIError
	errors.As(err, &ae)
	switch classify(err, e.batch == 0) {
	case delivered:
		if e.batch == 0 { // complete accepted: the job's batches are no longer needed
			s.dropFiles(e.job, true)
			return nil
		}
		s.mu.Lock()
		keep := s.live[e.job] || hasComplete(all, e.job)
		s.mu.Unlock()
		if keep {
			return s.rename(e, true)
		}
		s.remove(e)
		return nil
	case jobGone:
		if e.batch > 0 { // ingest refuses the job's results: it never held the job, or its scan ended
			s.log.Warn("spool: ingest refuses the job's results; dropping its messages", "job", e.job, "batch", e.batch)
			s.mu.Lock()
			s.gone[e.job], s.barred[e.job] = true, true
			s.mu.Unlock()
			s.dropFiles(e.job, true)
		} else {
			s.log.Warn("spool: ingest no longer gives this scanner the job; dropping its completion, its results were sent", "job", e.job)
			s.DropJob(e.job)
		}
		if s.onGone != nil {
			s.onGone(e.job)
		}
		return nil
	case resendMissing:
		s.resend(all, e.job, ae)
		return nil
	case setAside:
		s.quarantine(e, err) // never acceptable as it stands
		return nil
	default: // retry, refused: the message stays where it is
		return err
	}
}

// resend makes the batches ingest says it lacks (all of the job's, if the
// answer names none) wait again. They keep their seq, older than the
// complete's, so they go first. If one is no longer in the spool, the
// complete is dropped instead, and ingest's reconciler re-queues the job.
func (s *Spool) resend(all []entry, jobID string, ae *APIError) {
	var d struct {
		Missing []int `json:"missing"`
	}
	_ = json.Unmarshal(ae.Detail, &d)
	var again []entry
	for _, e := range all {
		if e.job == jobID && e.acked && (len(d.Missing) == 0 || slices.Contains(d.Missing, e.batch)) {
			again = append(again, e)
		}
	}
	if len(again) == 0 || len(d.Missing) > 0 && len(again) != len(d.Missing) {
		s.log.Error("spool: ingest lacks batches the spool no longer holds; dropping the job's completion so ingest re-queues it",
			"job", jobID, "missing", d.Missing)
		s.dropFiles(jobID, true)
		return
	}
	s.log.Warn("spool: ingest lacks batches; sending them again", "job", jobID, "batches", d.Missing)
	for _, e := range again {
		s.rename(e, false)
	}
}

// DropJob gives up the lease of a job ingest no longer gives this scanner
// (410 to its progress or completion: it was re-queued after a stall, or it
// ended): its completion and acknowledged batches are deleted and no later
// completion is written, but its results still waiting are kept and sent,
// oldest first, as late results.
func (s *Spool) DropJob(jobID string) {
	s.mu.Lock()
	s.gone[jobID] = true
	s.mu.Unlock()
	s.dropFiles(jobID, false)
}

// dropFiles deletes a job's messages: all of them, or all but the results
// batches still waiting to be sent.
func (s *Spool) dropFiles(jobID string, all bool) {
	for _, e := range s.entries() {
		if e.job == jobID && (all || e.batch == 0 || e.acked) {
			s.remove(e)
		}
	}
}

// quarantine moves a message ingest refused for good into rejected/, for
// an operator to look at.
func (s *Spool) quarantine(e entry, why error) {
	s.mu.Lock()
	s.rejected++
	n := s.rejected
	s.mu.Unlock()
	s.log.Error("spool: message refused for good; not retried, moved to rejected/", "file", e.name, "err", why,
		"rejected_since_start", n)
	rej := filepath.Join(s.dir, "rejected")
	os.MkdirAll(rej, 0o700)
	if os.Rename(filepath.Join(s.dir, e.name), filepath.Join(rej, e.name)) != nil {
		s.remove(e)
	}
}
