package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
	return CheckInput(v)
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

// MaxText is the most bytes a request's text field may hold unless its struct field raises or
// lowers it with a `maxlen:"N"` tag. It stays well below PostgreSQL's largest index entry
// (about 2,700 bytes), so no text that reaches a handler can make an indexed write fail.
const MaxText = 1024

// CheckInput holds a decoded request body to what the databases can store, for every route:
// text without NUL characters (PostgreSQL's text and jsonb refuse them) and within its length,
// and whole numbers within their column's range. A Go int, uint or uint32 is stored as
// PostgreSQL's integer, so it must lie within ±2,147,483,647; an int64 is a bigint; a uint64
// must fit a bigint. A field that breaks a rule is a 400 naming it, as results[3].port, never
// a 500 from the database later. Handlers still check what each value means.
func CheckInput(v any) error {
	return checkValue("", reflect.ValueOf(v), MaxText)
}

func checkValue(path string, v reflect.Value, maxText int) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkValue(path, v.Elem(), maxText)
		}
	case reflect.String:
		return checkText(path, v.String(), maxText)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n := v.Int(); v.Kind() != reflect.Int64 && (n < math.MinInt32 || n > math.MaxInt32) {
			return outOfRange(path, strconv.FormatInt(n, 10), math.MinInt32, math.MaxInt32)
		}
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		limit := uint64(math.MaxInt32)
		if v.Kind() == reflect.Uint64 {
			limit = math.MaxInt64
		}
		if n := v.Uint(); n > limit {
			return outOfRange(path, strconv.FormatUint(n, 10), 0, int64(limit))
		}
	case reflect.Struct:
		return checkStruct(path, v)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes, sent as base64
		}
		for i := 0; i < v.Len(); i++ {
			if err := checkValue(fmt.Sprintf("%s[%d]", path, i), v.Index(i), maxText); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := fmt.Sprint(iter.Key())
			if err := checkText(joinPath(path, "(key)"), key, MaxText); err != nil {
				return err
			}
			if err := checkValue(joinPath(path, key), iter.Value(), maxText); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkStruct checks each exported field under its JSON name; an embedded struct's fields are
// the outer object's, as encoding/json reads them.
func checkStruct(path string, v reflect.Value) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		sub := path
		if !f.Anonymous || name != "" {
			if name == "" {
				name = f.Name
			}
			sub = joinPath(path, name)
		}
		limit := MaxText
		if n, err := strconv.Atoi(f.Tag.Get("maxlen")); err == nil {
			limit = n
		}
		if err := checkValue(sub, v.Field(i), limit); err != nil {
			return err
		}
	}
	return nil
}

func checkText(path, s string, max int) error {
	if strings.IndexByte(s, 0) >= 0 {
		return Invalid(path, "invalid_character", orBody(path)+" must not contain the NUL character (\\u0000)")
	}
	if len(s) > max {
		return Invalid(path, "too_long", fmt.Sprintf("%s is at most %d bytes long, not %d", orBody(path), max, len(s)))
	}
	return nil
}

func outOfRange(path, n string, lo, hi int64) error {
	return Invalid(path, "out_of_range", fmt.Sprintf("%s must be a whole number from %d to %d, not %s", orBody(path), lo, hi, n))
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkParams refuses a query or path parameter PostgreSQL cannot compare with text: a NUL,
// or bytes that are not UTF-8 (a JSON body's are mended by the decoder; a URL's are not). It is
// a 400 naming the parameter, for every route, before any guard or handler runs.
func checkParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		query := c.QueryParams()
		names := slices.Sorted(func(yield func(string) bool) {
			for name := range query {
				if !yield(name) {
					return
				}
			}
		})
		for _, name := range names {
			for _, v := range query[name] {
				if err := checkParam(name, v); err != nil {
					return err
				}
			}
		}
		for i, name := range c.ParamNames() {
			if err := checkParam(name, c.ParamValues()[i]); err != nil {
				return err
			}
		}
		return next(c)
	}
}

func checkParam(name, v string) error {
	if unstorable(name) || unstorable(v) {
		name = strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", ""), "?")
		return Invalid(name, "invalid_character", fmt.Sprintf("the parameter %s must be UTF-8 text without the NUL character", name))
	}
	return nil
}

func unstorable(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }
