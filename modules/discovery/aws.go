package discovery

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// fetchAWS reads every region of the account: VPC CIDRs (IPv4 and IPv6), subnet CIDRs, and
// elastic IP addresses, through the EC2 API.
func fetchAWS(ctx context.Context, f *fetch) ([]Proposed, []RowError, error) {
	s := f.src.Settings
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: f.secret, Source: "mipo discovery"}, nil
	})
	var out []Proposed
	for _, region := range s.Regions {
		c := ec2.New(ec2.Options{Region: region, Credentials: creds, HTTPClient: f.client, RetryMaxAttempts: 2,
			BaseEndpoint: optional(s.Endpoint)})
		if err := awsRegion(ctx, f, c, region, &out); err != nil {
			return nil, nil, err
		}
	}
	return out, nil, nil
}

func awsRegion(ctx context.Context, f *fetch, c *ec2.Client, region string, out *[]Proposed) error {
	vpcs := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{})
	for vpcs.HasMorePages() {
		page, err := vpcs.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, v := range page.Vpcs {
			tags := awsTags(v.Tags)
			o := f.origin(deref(v.OwnerId), region, deref(v.VpcId), tags)
			cidrs := []string{deref(v.CidrBlock)}
			for _, a := range v.CidrBlockAssociationSet {
				cidrs = append(cidrs, deref(a.CidrBlock))
			}
			for _, a := range v.Ipv6CidrBlockAssociationSet {
				cidrs = append(cidrs, deref(a.Ipv6CidrBlock))
			}
			for _, cidr := range cidrs {
				if err := add(out, cidr, tags["Name"], o); err != nil {
					return err
				}
			}
		}
	}
	subnets := ec2.NewDescribeSubnetsPaginator(c, &ec2.DescribeSubnetsInput{})
	for subnets.HasMorePages() {
		page, err := subnets.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, sn := range page.Subnets {
			tags := awsTags(sn.Tags)
			o := f.origin(deref(sn.OwnerId), region, deref(sn.SubnetId), tags)
			cidrs := []string{deref(sn.CidrBlock)}
			for _, a := range sn.Ipv6CidrBlockAssociationSet {
				cidrs = append(cidrs, deref(a.Ipv6CidrBlock))
			}
			for _, cidr := range cidrs {
				if err := add(out, cidr, tags["Name"], o); err != nil {
					return err
				}
			}
		}
	}
	addrs, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		return err
	}
	for _, a := range addrs.Addresses {
		tags := awsTags(a.Tags)
		ref := deref(a.AllocationId)
		if ref == "" {
			ref = deref(a.PublicIp)
		}
		if err := add(out, deref(a.PublicIp), tags["Name"], f.origin("", region, ref, tags)); err != nil {
			return err
		}
	}
	return nil
}

func awsTags(tags []types.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, t := range tags {
		m[deref(t.Key)] = deref(t.Value)
	}
	return m
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
