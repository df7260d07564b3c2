// Package results owns the results database: every open port a scanner observed, the batches
// they arrived in, and what each job covered. Ingest writes through Store; history, diffs and
// vantage comparisons read through the query functions. Observations are never updated or
// deleted by mipo: they are compliance evidence, kept indefinitely by default.
package results
