// Package home serves the home page: the state at a glance, the first page after sign-in. It
// owns no table: it asks the scanners, scans and results modules through their Go functions,
// each a bounded query, so the page stays fast however much history the results hold.
package home
