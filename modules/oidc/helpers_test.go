package oidc_test

import (
	"io"
	"net/http"
	"testing"

	"mipo/app/apptest"
	"mipo/modules/rbac/rbactest"
)

func readAll(res *http.Response) []byte {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return b
}

func csrfOf(t *testing.T, b *browser, base string) string {
	t.Helper()
	res, err := b.http.Get(base + "/api/v1/auth/me")
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		CSRFToken string `json:"csrf_token"`
	}
	(&apptest.Response{Body: readAll(res)}).JSON(t, &me)
	return me.CSRFToken
}

func rbactestUser(t *testing.T, e *env, scopes ...string) *apptest.Client {
	return rbactest.UserWithScopes(t, e.srv, e.owner, scopes...)
}
