package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
)

// fetchAzure reads a subscription's virtual networks (address spaces and subnets) and public
// IP addresses through the ARM network API.
func fetchAzure(ctx context.Context, f *fetch) ([]Proposed, []RowError, error) {
	s := f.src.Settings
	endpoint, audience := "https://management.azure.com", "https://management.azure.com"
	if s.Endpoint != "" {
		endpoint = strings.TrimRight(s.Endpoint, "/")
	}
	opts := &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: f.client,
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: authority(s.AuthorityHost),
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: endpoint, Audience: audience}}}}}
	cred := &clientSecret{f: f, authority: authority(s.AuthorityHost)}
	vnets, err := armnetwork.NewVirtualNetworksClient(s.SubscriptionID, cred, opts)
	if err != nil {
		return nil, nil, err
	}
	var out []Proposed
	for pager := vnets.NewListAllPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, v := range page.Value {
			if err := azureVNet(f, v, &out); err != nil {
				return nil, nil, err
			}
		}
	}
	ips, err := armnetwork.NewPublicIPAddressesClient(s.SubscriptionID, cred, opts)
	if err != nil {
		return nil, nil, err
	}
	for pager := ips.NewListAllPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, ip := range page.Value {
			if ip.Properties == nil {
				continue
			}
			o := f.origin(s.SubscriptionID, deref(ip.Location), deref(ip.ID), azureTags(ip.Tags))
			if err := add(&out, deref(ip.Properties.IPAddress), deref(ip.Name), o); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, nil, nil
}

func azureVNet(f *fetch, v *armnetwork.VirtualNetwork, out *[]Proposed) error {
	if v.Properties == nil {
		return nil
	}
	tags := azureTags(v.Tags)
	sub, region := f.src.Settings.SubscriptionID, deref(v.Location)
	if as := v.Properties.AddressSpace; as != nil {
		for _, p := range as.AddressPrefixes {
			if err := add(out, deref(p), deref(v.Name), f.origin(sub, region, deref(v.ID), tags)); err != nil {
				return err
			}
		}
	}
	for _, sn := range v.Properties.Subnets {
		if sn.Properties == nil {
			continue
		}
		o := f.origin(sub, region, deref(sn.ID), tags)
		name := deref(v.Name) + "/" + deref(sn.Name)
		prefixes := append([]*string{sn.Properties.AddressPrefix}, sn.Properties.AddressPrefixes...)
		for _, p := range prefixes {
			if err := add(out, deref(p), name, o); err != nil {
				return err
			}
		}
	}
	return nil
}

func azureTags(tags map[string]*string) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := map[string]string{}
	for k, v := range tags {
		m[k] = deref(v)
	}
	return m
}

func authority(host string) string {
	if host == "" {
		return cloud.AzurePublic.ActiveDirectoryAuthorityHost
	}
	return strings.TrimRight(host, "/") + "/"
}

// clientSecret is a service principal's client-credentials sign-in (what azidentity's
// ClientSecretCredential does), kept here so the source's CA and client apply to it too.
type clientSecret struct {
	f         *fetch
	authority string
}

func (c *clientSecret) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	s := c.f.src.Settings
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {c.f.secret},
		"scope": {strings.Join(opts.Scopes, " ")}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.authority+url.PathEscape(s.TenantID)+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return azcore.AccessToken{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.f.client.Do(req)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return azcore.AccessToken{}, fmt.Errorf("azure sign-in failed (%s): %s", resp.Status, body.Error)
	}
	return azcore.AccessToken{Token: body.AccessToken, ExpiresOn: time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)}, nil
}
