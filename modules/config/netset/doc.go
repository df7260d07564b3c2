// Package netset holds IPv4 and IPv6 address sets for scan scopes:
// subnets, groups, exclusions and the batches the dispatcher hands to
// scanners.
//
// A Set is a sorted list of merged, non-overlapping inclusive intervals,
// one list per address family. Every operation works on interval
// endpoints with 128-bit arithmetic, so 10.0.0.0/8 and ::/0 cost the same
// as a single address. The package must never enumerate addresses: memory
// and time grow with the number of intervals, never with the number of
// addresses they hold.
//
// IPv4 and IPv6 never mix: an interval belongs to one family, and a range
// whose ends differ in family is refused. An IPv4-mapped IPv6 address
// (::ffff:10.0.0.1) names an IPv4 host, because that is what dual-stack
// sockets report for IPv4 peers; it is normalised to IPv4 wherever an
// address enters the package (parsing, constructors, JSON, Contains). IPv6
// intervals are plain 128-bit ranges, so ::/0 counts 2^128 addresses, but
// Contains reads ::ffff:10.0.0.1 as 10.0.0.1 and answers for IPv4.
//
// Interface zones (fe80::1%eth0) are refused on input: a zone names a
// local interface, not a scan target.
//
// User input goes through ParseCIDR, ParseTarget and Parse, which fail
// with a *ParseError naming the input, the reason and, where one exists,
// the fix, so an HTTP layer can show it to the operator as it is.
package netset
