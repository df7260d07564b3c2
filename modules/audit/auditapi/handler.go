package auditapi

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"mipo/app"
)

// NoBody is the input of a change that takes no request body (a delete, a disable).
type NoBody struct{}

// A Change is a handler's change to one thing, made in the request's transaction: it returns
// the answer and the audit entry that records it.
type Change[In any] func(ctx context.Context, tx pgx.Tx, c echo.Context, in In) (any, Entry, error)

// Handler is the whole handler of a route that changes one thing, in the manner of config's
// families: bind the JSON body (unless In is NoBody), make the change in the request's
// transaction, record its audit entry in the same transaction, and answer status with what
// the change returned (nothing for 204). The kernel commits it all, or none of it.
func Handler[In any](status int, change Change[In]) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in In
		if _, none := any(in).(NoBody); !none {
			if err := app.BindJSON(c, &in); err != nil {
				return err
			}
		}
		ctx, tx := c.Request().Context(), app.Tx(c)
		out, e, err := change(ctx, tx, c, in)
		if err != nil {
			return err
		}
		if err := Record(ctx, tx, e); err != nil {
			return err
		}
		if status == http.StatusNoContent {
			return c.NoContent(status)
		}
		return c.JSON(status, out)
	}
}
