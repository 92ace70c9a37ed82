package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// rdsAPI is the part of the RDS client used (the SDK's *rds.Client).
type rdsAPI interface {
	DescribeGlobalClusters(context.Context, *rds.DescribeGlobalClustersInput, ...func(*rds.Options)) (*rds.DescribeGlobalClustersOutput, error)
	SwitchoverGlobalCluster(context.Context, *rds.SwitchoverGlobalClusterInput, ...func(*rds.Options)) (*rds.SwitchoverGlobalClusterOutput, error)
	FailoverGlobalCluster(context.Context, *rds.FailoverGlobalClusterInput, ...func(*rds.Options)) (*rds.FailoverGlobalClusterOutput, error)
}

// awsAurora is Aurora over the RDS API of one region.
type awsAurora struct{ api rdsAPI }

func (a awsAurora) DescribeGlobalCluster(ctx context.Context, id string) (Global, error) {
	out, err := a.api.DescribeGlobalClusters(ctx, &rds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String(id)})
	if err != nil {
		return Global{}, err
	}
	if len(out.GlobalClusters) != 1 {
		return Global{}, fmt.Errorf("global cluster %s: %w", id, ErrNotFound)
	}
	gc := out.GlobalClusters[0]
	g := Global{ID: aws.ToString(gc.GlobalClusterIdentifier), Busy: gc.FailoverState != nil && gc.FailoverState.Status != ""}
	for _, m := range gc.GlobalClusterMembers {
		arn := aws.ToString(m.DBClusterArn)
		g.Members = append(g.Members, Member{ID: arn, Region: arnRegion(arn), Writer: aws.ToBool(m.IsWriter)})
	}
	return g, nil
}

func (a awsAurora) Switchover(ctx context.Context, id, target string) error {
	_, err := a.api.SwitchoverGlobalCluster(ctx, &rds.SwitchoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(id), TargetDbClusterIdentifier: aws.String(target)})
	return err
}

// Failover is FailoverGlobalCluster with AllowDataLoss (without it the call
// is a switchover: RDS API Reference, FailoverGlobalCluster).
func (a awsAurora) Failover(ctx context.Context, id, target string) error {
	_, err := a.api.FailoverGlobalCluster(ctx, &rds.FailoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(id), TargetDbClusterIdentifier: aws.String(target), AllowDataLoss: aws.Bool(true)})
	return err
}

// arnRegion is an ARN's region (arn:partition:service:region:account:...).
func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}

// elastiCacheAPI is the part of the ElastiCache client used.
type elastiCacheAPI interface {
	DescribeGlobalReplicationGroups(context.Context, *elasticache.DescribeGlobalReplicationGroupsInput, ...func(*elasticache.Options)) (*elasticache.DescribeGlobalReplicationGroupsOutput, error)
	FailoverGlobalReplicationGroup(context.Context, *elasticache.FailoverGlobalReplicationGroupInput, ...func(*elasticache.Options)) (*elasticache.FailoverGlobalReplicationGroupOutput, error)
	DisassociateGlobalReplicationGroup(context.Context, *elasticache.DisassociateGlobalReplicationGroupInput, ...func(*elasticache.Options)) (*elasticache.DisassociateGlobalReplicationGroupOutput, error)
}

// awsCache is Cache over the ElastiCache API of one region.
type awsCache struct{ api elastiCacheAPI }

func (c awsCache) DescribeGlobalGroup(ctx context.Context, suffix string) (Global, error) {
	in := &elasticache.DescribeGlobalReplicationGroupsInput{ShowMemberInfo: aws.Bool(true)}
	for {
		out, err := c.api.DescribeGlobalReplicationGroups(ctx, in)
		if err != nil {
			return Global{}, err
		}
		for _, grg := range out.GlobalReplicationGroups {
			id := aws.ToString(grg.GlobalReplicationGroupId)
			if !strings.HasSuffix(id, "-"+suffix) {
				continue
			}
			g := Global{ID: id}
			for _, m := range grg.Members {
				g.Members = append(g.Members, Member{ID: aws.ToString(m.ReplicationGroupId),
					Region: aws.ToString(m.ReplicationGroupRegion), Writer: strings.EqualFold(aws.ToString(m.Role), "primary")})
			}
			return g, nil
		}
		if aws.ToString(out.Marker) == "" {
			return Global{}, fmt.Errorf("global datastore *-%s: %w", suffix, ErrNotFound)
		}
		in.Marker = out.Marker
	}
}

func (c awsCache) Failover(ctx context.Context, globalID, region, group string) error {
	_, err := c.api.FailoverGlobalReplicationGroup(ctx, &elasticache.FailoverGlobalReplicationGroupInput{
		GlobalReplicationGroupId: aws.String(globalID), PrimaryRegion: aws.String(region), PrimaryReplicationGroupId: aws.String(group)})
	return err
}

func (c awsCache) Disassociate(ctx context.Context, globalID, group, region string) error {
	_, err := c.api.DisassociateGlobalReplicationGroup(ctx, &elasticache.DisassociateGlobalReplicationGroupInput{
		GlobalReplicationGroupId: aws.String(globalID), ReplicationGroupId: aws.String(group), ReplicationGroupRegion: aws.String(region)})
	return err
}
