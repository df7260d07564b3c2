// Package tls owns the certificate mipo serves: the self-signed one it starts with (re-signed
// for the public FQDN, keeping its key so scanner pins survive), an uploaded PEM chain and key,
// or one issued and renewed by ACME (HTTP-01, or DNS-01 through Cloudflare, Route 53 or OVH,
// by the lego library). Every change is audited and hot-reloaded into the kernel's
// app.LiveCertificate: new handshakes get the new certificate, open connections finish on the
// old one.
//
// It emits tls.certificate.expiring (14 days before expiry), tls.certificate.expired and
// acme.renewal.failed for the alarms module. It never writes the private key unsealed to the
// database.
package tls
