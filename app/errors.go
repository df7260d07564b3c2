package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
)

// Error is the one error shape of every API: {"error": {"code", "message", "field", "detail"}}.
// Code is stable and machine-readable; Message is a sentence for a person; Field names the
// request field at fault, when there is one.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Detail  any    `json:"detail,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Field, e.Message, e.Code)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// ErrorBody is the JSON document an error is sent as.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Invalid is a 400 for bad input in one field.
func Invalid(field, code, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: message, Field: field}
}

// NotFound is a 404 naming what was not found.
func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

// Conflict is a 409: the request is well-formed but clashes with the current state.
func Conflict(code, message string) *Error {
	return &Error{Status: http.StatusConflict, Code: code, Message: message}
}

// Forbidden is a 403.
func Forbidden(code, message string) *Error {
	return &Error{Status: http.StatusForbidden, Code: code, Message: message}
}

// Unauthorized is a 401.
func Unauthorized(code, message string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: code, Message: message}
}

// IsNotFound reports whether err is, or wraps, a 404 made by NotFound (or the like).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IfNotFound returns instead when err is a not-found error, and err itself otherwise: only a
// missing thing may become the client's fault; a database failure stays a 5xx.
func IfNotFound(err error, instead *Error) error {
	if IsNotFound(err) {
		return instead
	}
	return err
}

// IsUniqueViolation reports whether err is PostgreSQL refusing a duplicate (SQLSTATE 23505):
// a race on a unique name that the check before the write could not see.
func IsUniqueViolation(err error) bool { return hasSQLState(err, "23505") }

// IsForeignKeyViolation reports whether err is PostgreSQL refusing a reference to a row that
// is gone, or the deletion of one still referred to (SQLSTATE 23503).
func IsForeignKeyViolation(err error) bool { return hasSQLState(err, "23503") }

// IsUnavailable reports whether err is a database that cannot take the work now rather than a
// fault in the request or in mipo: out of disk or memory or connections (SQLSTATE class 53), a
// lock it could not get (55P03), a server shutting down or starting (57P01-57P03), a lost
// connection (class 08). Such a request is answered 503 (try again later), never 500; the change
// it carried was rolled back with its audit record, so nothing half-happened.
func IsUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		c := pgErr.Code
		return strings.HasPrefix(c, "53") || strings.HasPrefix(c, "08") || c == "55P03" || c == "57P01" || c == "57P02" || c == "57P03"
	}
	var connErr *pgconn.ConnectError
	return errors.As(err, &connErr)
}

func hasSQLState(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// WithDetail attaches machine-readable detail to an error.
func (e *Error) WithDetail(d any) *Error { e.Detail = d; return e }

// errorHandler turns any handler error into the one error shape. Internal errors are logged
// with the request id and leave as a generic sentence.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var apiErr *Error
		var httpErr *echo.HTTPError
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			// The client left (a browser navigating away, say): nothing failed, nobody to answer.
			log.Debug("request abandoned by the client", "method", c.Request().Method, "path", c.Path())
			return
		}
		switch {
		case errors.As(err, &apiErr):
		case errors.As(err, &httpErr) && httpErr.Code < 500:
			apiErr = &Error{Status: httpErr.Code, Code: httpCode(httpErr.Code), Message: fmt.Sprint(httpErr.Message)}
		case IsUnavailable(err):
			rid := c.Response().Header().Get(echo.HeaderXRequestID)
			log.Error("request failed: a database is unavailable", "err", err, "request_id", rid, "method", c.Request().Method, "path", c.Path())
			c.Response().Header().Set("Retry-After", "30")
			apiErr = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
				Message: "a database cannot take requests just now, so nothing was done; try again shortly (request id " + rid + ")"}
		default:
			rid := c.Response().Header().Get(echo.HeaderXRequestID)
			log.Error("request failed", "err", err, "request_id", rid, "method", c.Request().Method, "path", c.Path())
			apiErr = &Error{Status: http.StatusInternalServerError, Code: "internal",
				Message: "internal error; the server log has the details under request id " + rid}
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(apiErr.Status)
			return
		}
		_ = c.JSON(apiErr.Status, ErrorBody{apiErr})
	}
}

func httpCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	default:
		return "bad_request"
	}
}
