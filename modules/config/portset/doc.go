// Package portset holds sets of TCP ports, 1 to 65535, as sorted, merged
// ranges: the port lists operators define and scan templates combine.
//
// The text form is the one operators type, "22,80,443,8000-8100"; Parse
// reads it leniently about spacing, duplicates and overlaps and strictly
// about everything else, and String writes the one normalised form back.
// JSON uses the same normalised string.
//
// Port 0 is never a member: it is not a port a service listens on, so it
// is refused rather than silently dropped. The package must never hold a
// set port by port: memory grows with the number of ranges, so "all ports"
// is one range.
package portset
