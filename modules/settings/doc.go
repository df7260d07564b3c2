// Package settings holds mipo's system settings that operators change at run time (the public
// FQDN used in scanner provisioning commands and OIDC callbacks, and later ones). Settings
// that must be known before start-up are MIPO_* variables instead (see app.Setting).
package settings
