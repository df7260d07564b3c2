package app

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
)

// A Change is one state-changing request's config-database transaction. The kernel opens it
// before the handler runs and commits it after the handler returns — and only if at least one
// audit record was written in it. The response is held back until the commit succeeds, so no
// client ever sees a change that was not recorded.
type Change struct {
	Tx          pgx.Tx
	audited     int
	afterCommit []func(context.Context)
}

// ErrUnaudited is returned when a handler changed state without writing an audit record.
var ErrUnaudited = errors.New("the change wrote no audit record, so it was rolled back")

// MarkAudited is called by the audit writer for each record written in this change.
func (ch *Change) MarkAudited() { ch.audited++ }

// AfterCommit runs fn once the change is committed (to emit events, say). It does not run if
// the change rolls back.
func (ch *Change) AfterCommit(fn func(context.Context)) { ch.afterCommit = append(ch.afterCommit, fn) }

// ChangeFrom returns the change of a request context, or nil outside one.
func ChangeFrom(ctx context.Context) *Change {
	ch, _ := ctx.Value(changeKey).(*Change)
	return ch
}

// Tx returns the request's change transaction. Handlers of TxAuto routes call it to write.
func Tx(c echo.Context) pgx.Tx {
	if ch := ChangeFrom(c.Request().Context()); ch != nil {
		return ch.Tx
	}
	panic("app.Tx called outside a TxAuto route: " + c.Request().Method + " " + c.Path())
}

// InTx runs fn in a config-database transaction outside any request (background jobs, the
// CLI, and handlers of TxOwn routes). Audit records written in it are checked by the caller.
func InTx(ctx context.Context, pool ConfigDB, fn func(ctx context.Context, ch *Change) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	ch := &Change{Tx: tx}
	ctx = context.WithValue(ctx, changeKey, ch)
	if err := fn(ctx, ch); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	for _, f := range ch.afterCommit {
		f(context.WithoutCancel(ctx))
	}
	return nil
}

// ReadSnapshot runs fn in a read-only REPEATABLE READ transaction of its own: every read sees
// the database as of one moment, so a change that commits meanwhile is seen by all of fn's
// reads or by none. Writes do not belong here but in a Change (READ COMMITTED), whose audit
// record reads the chain's last hash after taking the chain's lock — from a snapshot taken
// before the lock it would fork the chain. A handler calls it before its change begins, so it
// never holds two connections at once.
func ReadSnapshot(ctx context.Context, pool ConfigDB, fn func(ctx context.Context, tx pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(ctx, tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// changeMiddleware wraps a TxAuto route: open the transaction, buffer the response, and on
// success require an audit record, commit, then send.
func changeMiddleware(pool ConfigDB) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			buf := &bufferedWriter{header: c.Response().Header()}
			real := c.Response().Writer
			c.Response().Writer = buf
			restore := func() {
				c.Response().Writer = real
				c.Response().Committed, c.Response().Size, c.Response().Status = false, 0, http.StatusOK
			}
			err := InTx(req.Context(), pool, func(ctx context.Context, ch *Change) error {
				c.SetRequest(req.WithContext(ctx))
				if err := next(c); err != nil {
					return err
				}
				if buf.status >= 400 {
					return errHandlerWroteError
				}
				if ch.audited == 0 {
					return ErrUnaudited
				}
				return nil
			})
			c.SetRequest(req)
			restore()
			if errors.Is(err, errHandlerWroteError) {
				// The handler answered with an error itself: send it, nothing was committed.
				return buf.flush(c.Response())
			}
			if err != nil {
				c.Response().Header().Del(echo.HeaderContentType)
				return err
			}
			return buf.flush(c.Response())
		}
	}
}

var errHandlerWroteError = errors.New("handler wrote an error status")

// bufferedWriter holds a response until the change is committed.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header { return w.header }
func (w *bufferedWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *bufferedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *bufferedWriter) flush(real *echo.Response) error {
	status := w.status
	if status == 0 {
		status = http.StatusNoContent
	}
	real.WriteHeader(status)
	_, err := real.Write(w.body.Bytes())
	return err
}
