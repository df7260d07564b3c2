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
	"sync"
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
	if bad := checkValue(reflect.ValueOf(v), MaxText); bad != nil {
		return bad.apiError()
	}
	return nil
}

// badInput is a refusal found deep in a body. Its path is collected on the way out, innermost
// first, so a body that passes (nearly all of them) costs no path strings at all.
type badInput struct {
	path []string
	code string
	what func() string // the sentence after the field's name
}

func (b *badInput) at(segment string) *badInput {
	b.path = append(b.path, segment)
	return b
}

func (b *badInput) apiError() *Error {
	var sb strings.Builder
	for i := len(b.path) - 1; i >= 0; i-- {
		if sb.Len() > 0 && !strings.HasPrefix(b.path[i], "[") {
			sb.WriteByte('.')
		}
		sb.WriteString(b.path[i])
	}
	path := sb.String()
	return Invalid(path, b.code, orBody(path)+" "+b.what())
}

func checkValue(v reflect.Value, maxText int) *badInput {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkValue(v.Elem(), maxText)
		}
	case reflect.String:
		return checkText(v.String(), maxText)
	case reflect.Int, reflect.Int32:
		if n := v.Int(); n < math.MinInt32 || n > math.MaxInt32 {
			return outOfRange(strconv.FormatInt(n, 10), math.MinInt32, math.MaxInt32)
		}
	case reflect.Uint, reflect.Uint32:
		if n := v.Uint(); n > math.MaxInt32 {
			return outOfRange(strconv.FormatUint(n, 10), 0, math.MaxInt32)
		}
	case reflect.Uint64:
		if n := v.Uint(); n > math.MaxInt64 {
			return outOfRange(strconv.FormatUint(n, 10), 0, math.MaxInt64)
		}
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()) {
			if bad := checkValue(v.Field(f.index), f.maxText); bad != nil {
				if f.name == "" { // embedded: its fields are the outer object's
					return bad
				}
				return bad.at(f.name)
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes, sent as base64
		}
		for i := 0; i < v.Len(); i++ {
			if bad := checkValue(v.Index(i), maxText); bad != nil {
				return bad.at("[" + strconv.Itoa(i) + "]")
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := fmt.Sprint(iter.Key())
			if bad := checkText(key, MaxText); bad != nil {
				return bad.at("(key)")
			}
			if bad := checkValue(iter.Value(), maxText); bad != nil {
				return bad.at(key)
			}
		}
	}
	return nil
}

// inputField is how CheckInput reads one struct field: its JSON name ("" for an embedded
// struct, whose fields encoding/json lifts into the outer object) and its text limit.
type inputField struct {
	index   int
	name    string
	maxText int
}

var inputFields sync.Map // reflect.Type → []inputField

func fieldsOf(t reflect.Type) []inputField {
	if fs, ok := inputFields.Load(t); ok {
		return fs.([]inputField)
	}
	var fs []inputField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if name == "" && !f.Anonymous {
			name = f.Name
		}
		limit := MaxText
		if n, err := strconv.Atoi(f.Tag.Get("maxlen")); err == nil {
			limit = n
		}
		fs = append(fs, inputField{index: i, name: name, maxText: limit})
	}
	inputFields.Store(t, fs)
	return fs
}

func checkText(s string, max int) *badInput {
	if strings.IndexByte(s, 0) >= 0 {
		return &badInput{code: "invalid_character", what: func() string { return "must not contain the NUL character (\\u0000)" }}
	}
	if len(s) > max {
		return &badInput{code: "too_long", what: func() string { return fmt.Sprintf("is at most %d bytes long, not %d", max, len(s)) }}
	}
	return nil
}

func outOfRange(n string, lo, hi int64) *badInput {
	return &badInput{code: "out_of_range", what: func() string { return fmt.Sprintf("must be a whole number from %d to %d, not %s", lo, hi, n) }}
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
