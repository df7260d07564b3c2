// Package oidc signs people in through OpenID Connect providers (Okta, Entra ID, Google,
// Keycloak …): authorization code flow with PKCE, state and nonce, ID-token validation and
// userinfo, through zitadel/oidc's relying party. It owns the provider configuration and the
// sign-ins under way; users, roles and sessions belong to rbac and are changed only through
// rbac's exported Go API. It must never link an account on an unverified email address, and
// never touch the owner, who keeps a local password so a broken provider cannot lock mipo out.
package oidc
