package tls

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsroute53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/providers/dns/cloudflare"
	"github.com/go-acme/lego/v4/providers/dns/ovh"
	"github.com/go-acme/lego/v4/providers/dns/route53"

	"mipo/app"
)

// dnsFields lists each provider's credential fields: required first, then optional ones (the
// optional endpoint overrides exist for API-compatible services and for tests).
var dnsFields = map[string]struct{ required, optional []string }{
	"cloudflare": {[]string{"api_token"}, []string{"base_url"}},
	"route53":    {[]string{"access_key_id", "secret_access_key", "region", "hosted_zone_id"}, []string{"endpoint"}},
	"ovh":        {[]string{"endpoint", "application_key", "application_secret", "consumer_key"}, nil},
}

// validateCredentials names the first missing or unknown field.
func validateCredentials(provider string, creds map[string]string) error {
	f, ok := dnsFields[provider]
	if !ok {
		return app.Invalid("dns_provider", "unknown_dns_provider", "the DNS provider must be cloudflare, route53 or ovh")
	}
	for _, k := range f.required {
		if strings.TrimSpace(creds[k]) == "" {
			return app.Invalid("credentials."+k, "missing_credential", fmt.Sprintf("%s needs %s", provider, k))
		}
	}
	keys := make([]string, 0, len(creds))
	for k := range creds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(f.required, k) && !slices.Contains(f.optional, k) {
			return app.Invalid("credentials."+k, "unknown_credential",
				fmt.Sprintf("%s takes %s", provider, strings.Join(append(append([]string{}, f.required...), f.optional...), ", ")))
		}
	}
	return nil
}

// dnsProvider builds lego's provider for a DNS-01 challenge from stored credentials.
func dnsProvider(provider string, creds map[string]string) (challenge.Provider, error) {
	if err := validateCredentials(provider, creds); err != nil {
		return nil, err
	}
	switch provider {
	case "cloudflare":
		c := cloudflare.NewDefaultConfig()
		c.AuthToken = creds["api_token"]
		if u := creds["base_url"]; u != "" {
			c.BaseURL = u
		}
		return cloudflare.NewDNSProviderConfig(c)
	case "route53":
		c := route53.NewDefaultConfig()
		c.AccessKeyID, c.SecretAccessKey, c.Region, c.HostedZoneID = creds["access_key_id"], creds["secret_access_key"], creds["region"], creds["hosted_zone_id"]
		if ep := creds["endpoint"]; ep != "" {
			// An explicit client: the same SDK, pointed at another endpoint.
			c.Client = awsroute53.New(awsroute53.Options{
				Region: c.Region, BaseEndpoint: aws.String(ep),
				Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}, nil
				}),
			})
		}
		return route53.NewDNSProviderConfig(c)
	default: // ovh
		c := ovh.NewDefaultConfig()
		c.APIEndpoint, c.ApplicationKey, c.ApplicationSecret, c.ConsumerKey = creds["endpoint"], creds["application_key"], creds["application_secret"], creds["consumer_key"]
		return ovh.NewDNSProviderConfig(c)
	}
}
