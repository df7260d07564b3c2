package discovery

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// Each connector talks, through the provider's official SDK, to a local TLS server that
// answers in the provider's documented wire format; the source trusts the server's
// certificate through its ca_cert setting, as it would a private endpoint's.

func tlsServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, string) {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, string(ca)
}

func runFetch(t *testing.T, src *Source, secret string) []Proposed {
	t.Helper()
	f, err := newFetch(src, secret, "")
	if err != nil {
		t.Fatal(err)
	}
	got, bad, err := fetchers[src.Kind](context.Background(), f)
	if err != nil || len(bad) > 0 {
		t.Fatalf("fetch: %v %v", err, bad)
	}
	return got
}

func cidrs(ps []Proposed) []string {
	var out []string
	for _, p := range dedupe(ps) {
		out = append(out, p.CIDR)
	}
	return out
}

const ec2VPCs = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
  <vpcSet>
    <item>
      <vpcId>vpc-0a60eb65b4EXAMPLE</vpcId>
      <ownerId>111122223333</ownerId>
      <state>available</state>
      <cidrBlock>10.0.0.0/16</cidrBlock>
      <cidrBlockAssociationSet>
        <item><cidrBlock>10.0.0.0/16</cidrBlock><associationId>vpc-cidr-assoc-1</associationId><cidrBlockState><state>associated</state></cidrBlockState></item>
        <item><cidrBlock>100.64.0.0/20</cidrBlock><associationId>vpc-cidr-assoc-2</associationId><cidrBlockState><state>associated</state></cidrBlockState></item>
      </cidrBlockAssociationSet>
      <ipv6CidrBlockAssociationSet>
        <item><ipv6CidrBlock>2600:1f18:5d3:1200::/56</ipv6CidrBlock><associationId>vpc-cidr-assoc-3</associationId></item>
      </ipv6CidrBlockAssociationSet>
      <tagSet><item><key>Name</key><value>production</value></item></tagSet>
      <isDefault>false</isDefault>
    </item>
  </vpcSet>
</DescribeVpcsResponse>`

const ec2Subnets = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
  <subnetSet>
    <item>
      <subnetId>subnet-9d4a7b6c</subnetId>
      <state>available</state>
      <vpcId>vpc-0a60eb65b4EXAMPLE</vpcId>
      <cidrBlock>10.0.1.0/24</cidrBlock>
      <ipv6CidrBlockAssociationSet>
        <item><ipv6CidrBlock>2600:1f18:5d3:1201::/64</ipv6CidrBlock><associationId>subnet-cidr-assoc-1</associationId></item>
      </ipv6CidrBlockAssociationSet>
      <availableIpAddressCount>251</availableIpAddressCount>
      <availabilityZone>eu-central-1a</availabilityZone>
      <ownerId>111122223333</ownerId>
      <tagSet><item><key>Name</key><value>web</value></item><item><key>tier</key><value>dmz</value></item></tagSet>
    </item>
  </subnetSet>
</DescribeSubnetsResponse>`

const ec2Addresses = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeAddressesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>f7de5e98-491a-4c19-a92d-908d6EXAMPLE</requestId>
  <addressesSet>
    <item>
      <publicIp>203.0.113.41</publicIp>
      <allocationId>eipalloc-08229861</allocationId>
      <domain>vpc</domain>
      <instanceId>i-0598c7d356eba48d7</instanceId>
      <networkInterfaceOwnerId>111122223333</networkInterfaceOwnerId>
    </item>
  </addressesSet>
</DescribeAddressesResponse>`

func TestAWSReadsVPCsSubnetsAndElasticAddressesThroughTheSDK(t *testing.T) {
	var actions []string
	srv, ca := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDEXAMPLE/") {
			http.Error(w, "unsigned", http.StatusForbidden)
			return
		}
		r.ParseForm()
		actions = append(actions, r.Form.Get("Action"))
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		fmt.Fprint(w, map[string]string{"DescribeVpcs": ec2VPCs, "DescribeSubnets": ec2Subnets, "DescribeAddresses": ec2Addresses}[r.Form.Get("Action")])
	})
	src := &Source{Name: "aws-prod", Kind: "aws", Settings: Settings{Regions: []string{"eu-central-1"}, AccessKeyID: "AKIDEXAMPLE", Endpoint: srv.URL, CACert: ca}}
	got := runFetch(t, src, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	want := []string{"10.0.0.0/16", "10.0.1.0/24", "100.64.0.0/20", "203.0.113.41/32", "2600:1f18:5d3:1200::/56", "2600:1f18:5d3:1201::/64"}
	if !slices.Equal(cidrs(got), want) {
		t.Fatalf("got %v, want %v", cidrs(got), want)
	}
	if !slices.Equal(actions, []string{"DescribeVpcs", "DescribeSubnets", "DescribeAddresses"}) {
		t.Fatalf("actions %v", actions)
	}
	for _, p := range got {
		if p.CIDR == "10.0.1.0/24" && (p.Origin.Account != "111122223333" || p.Origin.Region != "eu-central-1" || p.Origin.Tags["tier"] != "dmz" || p.Name != "web") {
			t.Fatalf("origin of the subnet: %+v", p)
		}
	}
}

func TestAzureReadsVirtualNetworksAndPublicAddressesThroughTheSDK(t *testing.T) {
	srv, ca := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch {
		case r.URL.Path == "/tenant-1/oauth2/v2.0/token":
			r.ParseForm()
			if r.Form.Get("client_secret") != "s3cret" || r.Form.Get("grant_type") != "client_credentials" {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"invalid_client","error_description":"bad secret"}`)
				return
			}
			fmt.Fprint(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAi"}`)
		case r.Header.Get("Authorization") != "Bearer eyJ0eXAi":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/subscriptions/sub-1/providers/Microsoft.Network/virtualNetworks":
			fmt.Fprint(w, `{"value":[{"name":"vnet1","id":"/subscriptions/sub-1/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1",
				"type":"Microsoft.Network/virtualNetworks","location":"westeurope","tags":{"env":"prod"},
				"properties":{"provisioningState":"Succeeded","addressSpace":{"addressPrefixes":["10.1.0.0/16","fd00:db8:1::/48"]},
				"subnets":[{"name":"default","id":"/subscriptions/sub-1/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default",
				"properties":{"addressPrefix":"10.1.0.0/24","provisioningState":"Succeeded"}},
				{"name":"dual","id":"/subscriptions/sub-1/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/dual",
				"properties":{"addressPrefixes":["10.1.1.0/24","fd00:db8:1:1::/64"]}}]}}]}`)
		case r.URL.Path == "/subscriptions/sub-1/providers/Microsoft.Network/publicIPAddresses":
			fmt.Fprint(w, `{"value":[{"name":"pip1","id":"/subscriptions/sub-1/resourceGroups/rg1/providers/Microsoft.Network/publicIPAddresses/pip1",
				"location":"westeurope","sku":{"name":"Standard"},"properties":{"publicIPAddressVersion":"IPv4","publicIPAllocationMethod":"Static",
				"ipAddress":"20.50.1.2"}},{"name":"pending","properties":{"publicIPAllocationMethod":"Dynamic"}}]}`)
		default:
			http.NotFound(w, r)
		}
	})
	src := &Source{Name: "azure", Kind: "azure", Settings: Settings{SubscriptionID: "sub-1", TenantID: "tenant-1", ClientID: "app-1",
		AuthorityHost: srv.URL, Endpoint: srv.URL, CACert: ca}}
	got := runFetch(t, src, "s3cret")
	want := []string{"10.1.0.0/16", "10.1.0.0/24", "10.1.1.0/24", "20.50.1.2/32", "fd00:db8:1:1::/64", "fd00:db8:1::/48"}
	if !slices.Equal(cidrs(got), want) {
		t.Fatalf("got %v, want %v", cidrs(got), want)
	}
}

func TestGCPReadsSubnetworksAndExternalAddressesThroughTheSDK(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	var tokenURL string
	srv, ca := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		switch {
		case r.URL.Path == "/token":
			r.ParseForm()
			if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.Form.Get("assertion") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, `{"access_token":"ya29.test","token_type":"Bearer","expires_in":3599}`)
		case r.Header.Get("Authorization") != "Bearer ya29.test":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/compute/v1/projects/proj-1/aggregated/subnetworks":
			fmt.Fprint(w, `{"kind":"compute#subnetworkAggregatedList","id":"projects/proj-1/aggregated/subnetworks","items":{
				"regions/europe-west1":{"subnetworks":[{"kind":"compute#subnetwork","name":"web","ipCidrRange":"10.132.0.0/20",
				"network":"https://www.googleapis.com/compute/v1/projects/proj-1/global/networks/default",
				"region":"https://www.googleapis.com/compute/v1/projects/proj-1/regions/europe-west1",
				"selfLink":"https://www.googleapis.com/compute/v1/projects/proj-1/regions/europe-west1/subnetworks/web",
				"secondaryIpRanges":[{"rangeName":"pods","ipCidrRange":"10.4.0.0/14"}],"stackType":"IPV4_IPV6","ipv6CidrRange":"fd20:a:b:c::/64"}]},
				"regions/us-east1":{"warning":{"code":"NO_RESULTS_ON_PAGE","message":"There are no results for scope 'regions/us-east1' on this page."}}}}`)
		case r.URL.Path == "/compute/v1/projects/proj-1/aggregated/addresses":
			fmt.Fprint(w, `{"kind":"compute#addressAggregatedList","items":{"regions/europe-west1":{"addresses":[
				{"kind":"compute#address","name":"lb","address":"34.76.1.2","addressType":"EXTERNAL","status":"IN_USE","labels":{"team":"web"},
				"region":"https://www.googleapis.com/compute/v1/projects/proj-1/regions/europe-west1"},
				{"kind":"compute#address","name":"internal","address":"10.132.0.9","addressType":"INTERNAL"}]}}}`)
		default:
			http.NotFound(w, r)
		}
	})
	tokenURL = srv.URL + "/token"
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "proj-1", "private_key_id": "k1",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "client_email": "mipo@proj-1.iam.gserviceaccount.com",
		"token_uri": tokenURL})
	src := &Source{Name: "gcp", Kind: "gcp", Settings: Settings{Project: "proj-1", Endpoint: srv.URL, CACert: ca}}
	got := runFetch(t, src, string(sa))
	want := []string{"10.132.0.0/20", "10.4.0.0/14", "34.76.1.2/32", "fd20:a:b:c::/64"}
	if !slices.Equal(cidrs(got), want) {
		t.Fatalf("got %v, want %v", cidrs(got), want)
	}
	for _, p := range got {
		if p.CIDR == "10.132.0.0/20" && (p.Origin.Region != "europe-west1" || p.Origin.Account != "proj-1" || p.Name != "default/web") {
			t.Fatalf("origin: %+v", p)
		}
	}
}

func TestNetBoxReadsFilteredPrefixesAndRangesAcrossPages(t *testing.T) {
	var queries []string
	srv, ca := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token nbtoken" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		queries = append(queries, r.URL.Path+"?"+r.URL.Query().Get("tag")+","+r.URL.Query().Get("site")+","+r.URL.Query().Get("offset"))
		w.Header().Set("Content-Type", "application/json")
		base := "https://" + r.Host
		switch {
		case r.URL.Path == "/api/ipam/prefixes/" && r.URL.Query().Get("offset") == "":
			fmt.Fprintf(w, `{"count":2,"next":"%s/api/ipam/prefixes/?limit=1&offset=1&site=fra1&tag=scan","previous":null,"results":[
				{"id":7,"url":"%s/api/ipam/prefixes/7/","display":"10.9.0.0/24","family":{"value":4,"label":"IPv4"},"prefix":"10.9.0.0/24",
				"site":{"id":1,"slug":"fra1","name":"Frankfurt 1"},"tenant":{"id":3,"slug":"acme","name":"ACME"},"status":{"value":"active"},
				"description":"office lan","tags":[{"id":1,"name":"Scan","slug":"scan"}]}]}`, base, base)
		case r.URL.Path == "/api/ipam/prefixes/":
			fmt.Fprint(w, `{"count":2,"next":null,"previous":null,"results":[{"id":8,"prefix":"2001:db8:9::/48","scope":{"slug":"fra1"},"tags":[]}]}`)
		case r.URL.Path == "/api/ipam/ip-ranges/":
			fmt.Fprint(w, `{"count":1,"next":null,"previous":null,"results":[{"id":2,"start_address":"10.9.1.10/24","end_address":"10.9.1.17/24","size":8,"tags":[]}]}`)
		default:
			http.NotFound(w, r)
		}
	})
	src := &Source{Name: "nb", Kind: "netbox", Settings: Settings{URL: srv.URL, Tag: "scan", Site: "fra1", CACert: ca}}
	got := runFetch(t, src, "nbtoken")
	want := []string{"10.9.0.0/24", "10.9.1.10/31", "10.9.1.12/30", "10.9.1.16/31", "2001:db8:9::/48"}
	if !slices.Equal(cidrs(got), want) {
		t.Fatalf("got %v, want %v", cidrs(got), want)
	}
	if queries[0] != "/api/ipam/prefixes/?scan,fra1," || len(queries) != 3 {
		t.Fatalf("queries %v", queries)
	}
}
