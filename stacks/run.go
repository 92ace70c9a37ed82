// Package stacks is the composition root: it decodes and validates the stack
// config, creates the providers, composes the components, and exports the
// stack outputs, in that order. Nothing is registered until the whole config
// has been validated.
package stacks

import (
	"github.com/eduai/infra/components/network"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Run is the Pulumi program: main.go passes it to pulumi.Run.
func Run(ctx *pulumi.Context) error {
	cfg, err := LoadConfig(SourceFromContext(ctx))
	if err != nil {
		return err
	}
	return Deploy(ctx, cfg)
}

// Deploy registers the platform for an already validated config.
func Deploy(ctx *pulumi.Context, cfg *Config) error {
	providers, err := newProviders(ctx, cfg)
	if err != nil {
		return err
	}
	aws := pulumi.Providers(providers.AWS)

	net, err := network.NewVpc(ctx, "network", cfg.networkArgs(), aws)
	if err != nil {
		return err
	}

	ctx.Export("environment", pulumi.String(string(cfg.Environment)))
	ctx.Export("region", pulumi.String(cfg.Region))
	ctx.Export("vpcId", net.VpcID)
	ctx.Export("publicSubnetIds", net.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", net.PrivateSubnetIDs)
	ctx.Export("databaseSubnetIds", net.DatabaseSubnetIDs)
	ctx.Export("dbSubnetGroupName", net.DBSubnetGroupName)
	ctx.Export("cacheSubnetGroupName", net.CacheSubnetGroupName)
	return nil
}

// namePrefix starts physical names and Name tags: "eduai-prod".
func (c *Config) namePrefix() string { return Project + "-" + c.Stack }

func (c *Config) networkArgs() *network.VpcArgs {
	n := c.Network
	args := &network.VpcArgs{
		NamePrefix:         c.namePrefix(),
		CIDR:               n.CIDR,
		AvailabilityZones:  n.AvailabilityZones,
		NATStrategy:        network.NATStrategy(n.NATStrategy),
		InterfaceEndpoints: n.InterfaceEndpoints,
	}
	if n.FlowLogs.Enabled {
		args.FlowLogs = &network.FlowLogArgs{RetentionDays: n.FlowLogs.RetentionDays, TrafficType: n.FlowLogs.TrafficType}
	}
	return args
}
