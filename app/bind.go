package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/labstack/echo/v4"
)

// BindJSON decodes a request's JSON body into v strictly: unknown fields, wrong types and
// trailing data are errors that name the field, so a typo in an automation script fails
// loudly instead of being ignored.
func BindJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return &Error{Status: 415, Code: "unsupported_media_type", Message: "send the body as application/json"}
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return Invalid("", "invalid_json", "the body holds more than one JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return Invalid("", "invalid_json", "the request body is empty; send a JSON object")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		return Invalid(field, "invalid_type", fmt.Sprintf("%s must be %s, not %s", orBody(field), article(typeErr.Type.Kind().String()), typeErr.Value))
	case errors.As(err, &syntaxErr):
		return Invalid("", "invalid_json", fmt.Sprintf("the body is not valid JSON (at byte %d)", syntaxErr.Offset))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if field == "" { // a key that is the empty string: name it, or the message has no subject
			return Invalid(`""`, "unknown_field", `"" is not a field of this request`)
		}
		return Invalid(field, "unknown_field", fmt.Sprintf("%s is not a field of this request", field))
	default:
		return Invalid("", "invalid_json", "the body is not valid JSON: "+err.Error())
	}
}

func orBody(field string) string {
	if field == "" {
		return "the body"
	}
	return field
}

func article(kind string) string {
	switch kind {
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	case "int", "int64", "int32", "uint", "uint16", "uint32", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	default:
		return "a " + kind
	}
}
