package app

import (
	"strconv"
	"strings"
)

// Where collects a query's conditions and their numbered parameters. Conditions are SQL
// written by the code; every value from a request goes in through Arg, so list filters never
// splice input into SQL.
//
//	var w app.Where
//	w.Add("status = " + w.Arg(status))
//	rows, err := db.Query(ctx, "SELECT … WHERE "+w.SQL()+" LIMIT "+w.Arg(limit), w.Args()...)
type Where struct {
	conds []string
	args  []any
}

// Arg adds a parameter and returns its placeholder ($1, $2, …).
func (w *Where) Arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// Add adds a condition; all conditions must hold.
func (w *Where) Add(cond string) { w.conds = append(w.conds, cond) }

// SQL is the conditions joined with AND, or TRUE when there are none.
func (w *Where) SQL() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

// Args are the parameters, in placeholder order.
func (w *Where) Args() []any { return w.args }

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// EscapeLike escapes LIKE's wildcards, so user text matches only itself.
func EscapeLike(s string) string { return likeEscaper.Replace(s) }

// Contains is a LIKE pattern matching text that contains s.
func Contains(s string) string { return "%" + EscapeLike(s) + "%" }
