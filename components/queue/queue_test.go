package queue

import (
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func kafkaArgs() *QueueArgs {
	return &QueueArgs{Name: "eduai-prod", Engine: Kafka, Brokers: 6, InstanceType: "kafka.m5.large", EngineVersion: "3.8.x", VolumeSizeGiB: 100,
		SubnetIDs: pulumi.ToStringArray([]string{"subnet-a", "subnet-b", "subnet-c"}), SubnetCount: 3,
		VpcID: pulumi.String("vpc-1"), ClientCIDRs: []string{"10.30.0.0/19"}, Protect: true}
}

func runQueue(t *testing.T, args *QueueArgs) *mockstack.Recorder {
	t.Helper()
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		_, err = New(ctx, "queue", args, pulumi.Providers(p))
		return err
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return rec
}

func TestKafka(t *testing.T) {
	rec := runQueue(t, kafkaArgs())
	c := rec.Named("aws:msk/cluster:Cluster", "queue")
	key := rec.Named("aws:kms/key:Key", "queue")
	in := c.Inputs
	enc := in["encryptionInfo"].ObjectValue()
	auth := in["clientAuthentication"].ObjectValue()
	logs := in["loggingInfo"].ObjectValue()["brokerLogs"].ObjectValue()["cloudwatchLogs"].ObjectValue()
	if in["numberOfBrokerNodes"].NumberValue() != 6 || len(in["brokerNodeGroupInfo"].ObjectValue()["clientSubnets"].ArrayValue()) != 3 ||
		enc["encryptionAtRestKmsKeyArn"].StringValue() != key.State["arn"].StringValue() ||
		enc["encryptionInTransit"].ObjectValue()["clientBroker"].StringValue() != "TLS" ||
		!auth["sasl"].ObjectValue()["iam"].BoolValue() || auth["unauthenticated"].BoolValue() ||
		!logs["enabled"].BoolValue() || !c.Protect || !key.Protect {
		t.Errorf("MSK cluster: %v", in)
	}
	if n := len(rec.ByType("aws:mq/broker:Broker")); n != 0 {
		t.Errorf("%d RabbitMQ brokers with Kafka", n)
	}
}

func TestRabbitMQ(t *testing.T) {
	args := kafkaArgs()
	args.Engine, args.InstanceType, args.EngineVersion, args.Protect, args.Brokers = RabbitMQ, "mq.t3.micro", "3.13", false, 1
	rec := runQueue(t, args)
	b := rec.Named("aws:mq/broker:Broker", "queue")
	in := b.Inputs
	user := in["users"].ArrayValue()[0].ObjectValue()
	if b.String("engineType") != "RabbitMQ" || b.String("deploymentMode") != "SINGLE_INSTANCE" || in["publiclyAccessible"].BoolValue() ||
		len(in["subnetIds"].ArrayValue()) != 1 || !in["logs"].ObjectValue()["general"].BoolValue() ||
		!(user["password"].IsSecret() || (user["password"].IsOutput() && user["password"].OutputValue().Secret)) {
		t.Errorf("broker: %v", in)
	}
	secret := rec.Named("aws:secretsmanager/secret:Secret", "queue")
	if secret == nil || secret.String("kmsKeyId") == "" {
		t.Errorf("credentials secret: %v", secret)
	}
	if n := len(rec.ByType("aws:msk/cluster:Cluster")); n != 0 {
		t.Errorf("%d MSK clusters with RabbitMQ", n)
	}
}

// The seed's 5 Kafka brokers cannot be spread over 3 zones.
func TestBrokerCount(t *testing.T) {
	for _, c := range []struct {
		brokers, zones int
		ok             bool
	}{{6, 3, true}, {3, 3, true}, {5, 3, false}, {2, 3, false}, {4, 2, true}} {
		err := BrokerCountError(c.brokers, c.zones)
		if (err == nil) != c.ok {
			t.Errorf("%d brokers over %d zones: %v", c.brokers, c.zones, err)
		}
	}
	err := BrokerCountError(5, 3)
	if err == nil || !strings.Contains(err.Error(), "5 brokers cannot be spread evenly over 3 zones") ||
		!strings.Contains(err.Error(), "for example 6 or 3") {
		t.Errorf("message: %v", err)
	}
	args := kafkaArgs()
	args.Brokers = 5
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		_, err := New(ctx, "queue", args)
		return err
	})
	if err == nil || len(rec.Resources()) != 0 {
		t.Errorf("5 brokers accepted: %v", err)
	}
}

// The queue's value rules name their fields (field.List) with the words
// stacks/ shows at the config keys.
func TestQueueBadArgs(t *testing.T) {
	for _, c := range []struct {
		mutate func(*QueueArgs)
		want   string
	}{
		{func(a *QueueArgs) { a.VolumeSizeGiB = 0 }, "VolumeSizeGiB: must be 1..16384 (got 0)"},
		{func(a *QueueArgs) { a.Engine = "sqs" }, `Engine: must be one of rabbitmq, kafka (got "sqs")`},
		{func(a *QueueArgs) { a.Engine, a.Brokers = RabbitMQ, 2 }, "Brokers: RabbitMQ runs as one broker here (got 2)"},
		{func(a *QueueArgs) { a.Brokers = 4 }, "Brokers: 4 brokers cannot be spread evenly over 3 zones"},
	} {
		args := kafkaArgs()
		c.mutate(args)
		err := args.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
