package tls

import "mipo/modules/tls/tlsapi"

// The tls module's own code names the contract's types as its own.
type (
	Info      = tlsapi.Info
	ChainLink = tlsapi.ChainLink
)

// init fills in the call the contract promises the other modules.
func init() {
	tlsapi.Served = Served
}
