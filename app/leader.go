package app

import (
	"context"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Leadership makes one process of many the active one for a piece of work, by holding a
// PostgreSQL session advisory lock on the jobs database. The others are hot standbys: they
// try the lock every second, so when the leader dies (its connection closes and PostgreSQL
// drops its lock) one of them takes over within a second or two. A leader whose connection
// stops answering stops leading at once, before another can start.
type Leadership struct {
	name    string
	leading atomic.Bool
	since   atomic.Pointer[time.Time] // when the current term began; nil while not leading
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// Leading reports whether this process leads now.
func (l *Leadership) Leading() bool { return l.leading.Load() }

// Lead runs work while this process holds the named lock; work's context ends when leadership
// is lost or the process stops. It is started with the process and stopped before it.
func (m *Mount) Lead(name string, work func(ctx context.Context)) *Leadership {
	l := &Leadership{name: name}
	m.app.leaderships = append(m.app.leaderships, l)
	m.OnStart(func(ctx context.Context) error {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		l.stop = cancel
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			l.campaign(runCtx, m, work)
		}()
		return nil
	})
	m.OnStop(func(context.Context) error {
		if l.stop != nil {
			l.stop()
			l.done.Wait()
		}
		return nil
	})
	return l
}

// Leading lists the leaderships this process holds now, each with when its term began, so the
// health report can say who leads the dispatcher and since when (pg_locks knows only that
// some session holds the lock).
func (m *Mount) Leading() map[string]time.Time {
	out := map[string]time.Time{}
	for _, l := range m.app.leaderships {
		if at := l.since.Load(); at != nil && l.Leading() {
			out[l.name] = *at
		}
	}
	return out
}

func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("mipo leader " + name))
	return int64(h.Sum64())
}

// campaign tries for the lock until the process stops, leading whenever it holds it.
func (l *Leadership) campaign(ctx context.Context, m *Mount, work func(context.Context)) {
	for ctx.Err() == nil {
		if err := l.term(ctx, m, work); err != nil && ctx.Err() == nil {
			m.Log.Warn("leadership attempt failed", "name", l.name, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// term is one connection's worth of trying: wait for the lock, then lead until the
// connection fails or the process stops.
func (l *Leadership) term(ctx context.Context, m *Mount, work func(context.Context)) error {
	cfg := m.app.DB.Jobs.Config().ConnConfig.Copy() // the kernel's: leadership locks live in the jobs database
	// Keepalives make a leader cut off by the network lose its connection, and so its lock,
	// in well under a minute.
	cfg.RuntimeParams["tcp_keepalives_idle"], cfg.RuntimeParams["tcp_keepalives_interval"], cfg.RuntimeParams["tcp_keepalives_count"] = "10", "5", "3"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey(l.name)).Scan(&got); err != nil {
			return err
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	m.Log.Info("leading", "name", l.name, "process", m.Process())
	leadCtx, cancel := context.WithCancel(ctx)
	since := m.app.Clock.Now().UTC()
	l.since.Store(&since)
	l.leading.Store(true)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		work(leadCtx)
	}()
	err = l.watch(leadCtx, conn)
	cancel()
	<-finished
	l.leading.Store(false)
	l.since.Store(nil)
	m.Log.Info("no longer leading", "name", l.name, "err", err)
	return err
}

// watch pings the lock's connection every second; a failed ping ends the term.
func (l *Leadership) watch(ctx context.Context, conn *pgx.Conn) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}

// LeaderActive reports whether some process holds the named leadership lock now, by looking
// for the advisory lock in pg_locks of the jobs database (the alarms module asks it of
// "dispatcher"). A session advisory lock on a bigint key shows its high half as classid and
// its low half as objid, with objsubid 1.
func LeaderActive(ctx context.Context, jobs *pgxpool.Pool, name string) (bool, error) {
	key := uint64(lockKey(name))
	var held bool
	err := jobs.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::bigint::oid AND objid = $2::bigint::oid)`, int64(key>>32), int64(key&0xffffffff)).Scan(&held)
	return held, err
}
