// Package queue provisions the platform's message queue as the seed has it:
// RabbitMQ on Amazon MQ (a single small broker) or Kafka on Amazon MSK
// (brokers spread evenly over the zones). Either is private, encrypted in
// transit and at rest, authenticates clients, and logs to CloudWatch.
package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/eduai/infra/components/enum"
	"github.com/eduai/infra/components/field"

	"github.com/eduai/infra/components/internal/secure"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/mq"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/msk"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Engine picks the broker.
type Engine string

const (
	// RabbitMQ is one Amazon MQ broker (dev). Amazon MQ for RabbitMQ accepts
	// no customer-managed KMS key: its storage uses an AWS-owned key.
	RabbitMQ Engine = "rabbitmq"
	// Kafka is an Amazon MSK cluster (staging, prod).
	Kafka Engine = "kafka"
)

// Engines lists the valid engines.
var Engines = []Engine{RabbitMQ, Kafka}

// QueueArgs configures the queue.
type QueueArgs struct {
	// Name is the broker or cluster name, e.g. "eduai-prod". Required.
	Name   string
	Engine Engine
	// Brokers (Kafka): a multiple of SubnetCount, so each zone holds the same number.
	Brokers int
	// InstanceType, e.g. kafka.m5.large or mq.t3.micro. Required.
	InstanceType string
	// EngineVersion, e.g. "3.8.x" (MSK) or "3.13" (RabbitMQ). Required.
	EngineVersion string
	// VolumeSizeGiB of each Kafka broker, 1..16384 (Kafka only).
	VolumeSizeGiB int
	// SubnetIDs place the brokers (one per zone, database tier); SubnetCount is
	// their number, known before they exist. Required.
	SubnetIDs   pulumi.StringArrayInput
	SubnetCount int
	// VpcID and ClientCIDRs: the broker ports are admitted from these blocks only.
	VpcID       pulumi.StringInput
	ClientCIDRs []string
	// Protect guards the broker, its key and its secret (staging, prod).
	Protect bool
}

// BrokerCountError explains a Kafka broker count MSK cannot place.
// RefusedZoneIDs are, per region, the zone IDs MSK places no brokers in:
// MSK refuses client subnets in use1-az3 (Amazon MSK developer guide,
// "Create an Amazon MSK Provisioned cluster"; the API's
// BrokerNodeGroupInfo.ClientSubnets).
var RefusedZoneIDs = map[string][]string{"us-east-1": {"use1-az3"}}

func BrokerCountError(brokers, zones int) error {
	if zones < 1 || brokers < zones || brokers%zones != 0 {
		return fmt.Errorf("%d brokers cannot be spread evenly over %d zones: MSK needs a multiple of the zones "+
			"(for example %d or %d)", brokers, zones, zones*((brokers+zones-1)/zones), zones*max(1, brokers/zones))
	}
	return nil
}

// Validate checks the arguments' values (not the wiring: subnets, VPC)
// and names each wrong field (field.List); stacks/ reports them at their
// config keys.
func (a *QueueArgs) Validate() error {
	var errs field.List
	switch a.Engine {
	case RabbitMQ:
		if a.Brokers > 1 {
			errs.Add(field.Range, "Brokers", a.Brokers, "RabbitMQ runs as one broker here")
		}
	case Kafka:
		if a.VolumeSizeGiB < 1 || a.VolumeSizeGiB > 16384 {
			errs.Add(field.Range, "VolumeSizeGiB", a.VolumeSizeGiB, "must be 1..16384")
		}
		if a.SubnetCount > 0 {
			if err := BrokerCountError(a.Brokers, a.SubnetCount); err != nil {
				errs.Add(field.Range, "Brokers", nil, "%v", err)
			}
		}
	default:
		errs.Add(field.Enum, "Engine", string(a.Engine), "must be one of %s", enum.Describe(Engines))
	}
	return errs.Err()
}

func (a *QueueArgs) validate() error {
	errs := []error{a.Validate()}
	if a.Name == "" || a.InstanceType == "" || a.EngineVersion == "" || a.SubnetIDs == nil || a.VpcID == nil {
		errs = append(errs, errors.New("Name, InstanceType, EngineVersion, SubnetIDs and VpcID are required"))
	}
	if a.SubnetCount < 1 {
		errs = append(errs, errors.New("SubnetCount: at least one zone"))
	}
	if len(a.ClientCIDRs) == 0 {
		errs = append(errs, errors.New("ClientCIDRs: at least one"))
	}
	return errors.Join(errs...)
}

// Queue is the component.
type Queue struct {
	pulumi.ResourceState

	// Endpoint is the Kafka bootstrap list (IAM auth, TLS) or the AMQPS endpoint.
	Endpoint pulumi.StringOutput
	// SecretARN holds RabbitMQ's credentials ("" for Kafka, which uses IAM).
	SecretARN pulumi.StringOutput
}

// New creates the queue.
func New(ctx *pulumi.Context, name string, args *QueueArgs, opts ...pulumi.ResourceOption) (*Queue, error) {
	if args == nil {
		args = &QueueArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("queue %q: %w", name, err)
	}
	c := &Queue{}
	if err := ctx.RegisterComponentResource("eduai:data:Queue", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	keep := pulumi.Protect(args.Protect)

	ports := map[Engine][2]int{RabbitMQ: {5671, 5671}, Kafka: {9098, 9098}} // AMQPS; Kafka with IAM over TLS
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       args.VpcID,
		Description: pulumi.String("Message queue clients from the workload subnets to " + args.Name),
		Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("TLS clients from the workload subnets"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(ports[args.Engine][0]),
			ToPort:      pulumi.Int(ports[args.Engine][1]),
			CidrBlocks:  pulumi.ToStringArray(args.ClientCIDRs),
		}},
		Tags: pulumi.StringMap{"Name": pulumi.String(args.Name + "-queue")},
	}, parent)
	if err != nil {
		return nil, err
	}
	// Kafka's data at rest, RabbitMQ's credentials secret.
	key, err := secure.NewKey(ctx, name, "Message queue "+args.Name, nil, parent, keep)
	if err != nil {
		return nil, err
	}

	c.SecretARN = pulumi.String("").ToStringOutput()
	if args.Engine == Kafka {
		logs, err := secure.NewLogGroup(ctx, name+"-broker-logs", secure.LogGroupArgs{
			Name:          "/eduai/queue/" + args.Name,
			RetentionDays: 30,
			RegionalARN:   key.Arn,
			Protect:       args.Protect,
		}, parent)
		if err != nil {
			return nil, err
		}
		volume := args.VolumeSizeGiB
		cluster, err := msk.NewCluster(ctx, name, &msk.ClusterArgs{
			ClusterName:         pulumi.String(args.Name),
			KafkaVersion:        pulumi.String(args.EngineVersion),
			NumberOfBrokerNodes: pulumi.Int(args.Brokers),
			BrokerNodeGroupInfo: msk.ClusterBrokerNodeGroupInfoArgs{
				InstanceType:   pulumi.String(args.InstanceType),
				ClientSubnets:  args.SubnetIDs,
				SecurityGroups: pulumi.StringArray{sg.ID()},
				StorageInfo: msk.ClusterBrokerNodeGroupInfoStorageInfoArgs{
					EbsStorageInfo: msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs{VolumeSize: pulumi.Int(volume)},
				},
			},
			EncryptionInfo: msk.ClusterEncryptionInfoArgs{
				EncryptionAtRestKmsKeyArn: key.Arn,
				EncryptionInTransit: msk.ClusterEncryptionInfoEncryptionInTransitArgs{
					ClientBroker: pulumi.String("TLS"), InCluster: pulumi.Bool(true)},
			},
			ClientAuthentication: msk.ClusterClientAuthenticationArgs{
				Sasl:            msk.ClusterClientAuthenticationSaslArgs{Iam: pulumi.Bool(true)},
				Unauthenticated: pulumi.Bool(false),
			},
			LoggingInfo: msk.ClusterLoggingInfoArgs{BrokerLogs: msk.ClusterLoggingInfoBrokerLogsArgs{
				CloudwatchLogs: msk.ClusterLoggingInfoBrokerLogsCloudwatchLogsArgs{Enabled: pulumi.Bool(true), LogGroup: logs.Name},
			}},
			EnhancedMonitoring: pulumi.String("PER_BROKER"),
		}, parent, keep)
		if err != nil {
			return nil, err
		}
		c.Endpoint = cluster.BootstrapBrokersSaslIam
		return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"endpoint": c.Endpoint})
	}

	password, err := random.NewRandomPassword(ctx, name+"-app", &random.RandomPasswordArgs{
		Length: pulumi.Int(32),
		// Amazon MQ passwords: 12+ characters, no comma, colon or equals sign.
		Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	broker, err := mq.NewBroker(ctx, name, &mq.BrokerArgs{
		BrokerName:              pulumi.String(args.Name),
		EngineType:              pulumi.String("RabbitMQ"),
		EngineVersion:           pulumi.String(args.EngineVersion),
		HostInstanceType:        pulumi.String(args.InstanceType),
		DeploymentMode:          pulumi.String("SINGLE_INSTANCE"),
		PubliclyAccessible:      pulumi.Bool(false),
		AutoMinorVersionUpgrade: pulumi.Bool(true),
		SubnetIds:               args.SubnetIDs.ToStringArrayOutput().ApplyT(func(ids []string) []string { return ids[:1] }).(pulumi.StringArrayOutput),
		SecurityGroups:          pulumi.StringArray{sg.ID()},
		Users:                   mq.BrokerUserArray{mq.BrokerUserArgs{Username: pulumi.String("eduai"), Password: password.Result}},
		// Amazon MQ writes general logs to its own /aws/amazonmq/broker/<id>/general group.
		Logs:              mq.BrokerLogsArgs{General: pulumi.Bool(true)},
		EncryptionOptions: mq.BrokerEncryptionOptionsArgs{UseAwsOwnedKey: pulumi.Bool(true)},
	}, parent, keep)
	if err != nil {
		return nil, err
	}
	c.Endpoint = broker.Instances.Index(pulumi.Int(0)).Endpoints().Index(pulumi.Int(0))
	value := pulumi.All(c.Endpoint, password.Result).ApplyT(func(v []any) (string, error) {
		b, err := json.Marshal(map[string]any{"url": v[0], "username": "eduai", "password": v[1]})
		return string(b), err
	}).(pulumi.StringOutput)
	secret, err := secure.NewJSONSecret(ctx, name, secure.SecretArgs{
		NamePrefix: args.Name + "/rabbitmq-", Description: "AMQPS endpoint and credentials of " + args.Name, KeyARN: key.Arn, Value: value,
	}, []pulumi.ResourceOption{parent, keep}, parent)
	if err != nil {
		return nil, err
	}
	c.SecretARN = secret.Arn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"endpoint": c.Endpoint, "secretArn": c.SecretARN})
}
