package app

import "github.com/jackc/pgx/v5"

// Collect reads every row of a query with scan, a module's function that reads one row (the
// same function its single-row lookups use with QueryRow), after a Query:
//
//	rows, err := db.Query(ctx, sql, args...)
//	users, err := app.Collect(rows, err, scanUser)
func Collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}
