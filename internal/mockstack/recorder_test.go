package mockstack

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

type component struct{ pulumi.ResourceState }

func program(ctx *pulumi.Context) error {
	c := &component{}
	if err := ctx.RegisterComponentResource("eduai:test:Thing", "thing", c); err != nil {
		return err
	}
	var vpc pulumi.CustomResourceState
	if err := ctx.RegisterResource("aws:ec2/vpc:Vpc", "main", pulumi.Map{"cidrBlock": pulumi.String("10.0.0.0/16")},
		&vpc, pulumi.Parent(c), pulumi.Protect(true)); err != nil {
		return err
	}
	var role pulumi.CustomResourceState
	return ctx.RegisterResource("aws:iam/role:Role", "reader", pulumi.Map{
		"description":      pulumi.ToSecret(pulumi.String("hidden")),
		"assumeRolePolicy": pulumi.String(`{"Version":"2012-10-17","Statement":[]}`),
		"tags":             pulumi.StringMap{"vpc": vpc.ID().ToStringOutput()},
	}, &role, pulumi.Parent(c))
}

func TestRecorder(t *testing.T) {
	rec, err := Run("eduai", "dev", program)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Run("eduai", "dev", program)

	vpc := rec.Named("aws:ec2/vpc:Vpc", "main")
	role := rec.Named("aws:iam/role:Role", "reader")
	comp := rec.Named("eduai:test:Thing", "thing")
	if vpc == nil || role == nil || comp == nil {
		t.Fatalf("records: %v", rec.Resources())
	}
	if vpc.URN != "urn:pulumi:dev::eduai::eduai:test:Thing$aws:ec2/vpc:Vpc::main" || vpc.Parent != comp.URN {
		t.Errorf("vpc urn %s parent %s", vpc.URN, vpc.Parent)
	}
	if !vpc.Protect || role.Protect {
		t.Errorf("protect flags: vpc %v, role %v", vpc.Protect, role.Protect)
	}
	if !strings.HasPrefix(vpc.ID, "vpc-") || vpc.ID != again.Named("aws:ec2/vpc:Vpc", "main").ID {
		t.Errorf("vpc id %q is not a stable vpc- id", vpc.ID)
	}
	if arn := vpc.State["arn"].StringValue(); arn != "arn:aws:ec2:us-west-2:123456789012:vpc/"+vpc.ID {
		t.Errorf("vpc arn %s", arn)
	}
	name := role.State["name"].StringValue()
	if !strings.HasPrefix(name, "reader-") || role.ID != name ||
		role.State["arn"].StringValue() != "arn:aws:iam::123456789012:role/"+name {
		t.Errorf("role: name %q id %q arn %v", name, role.ID, role.State["arn"])
	}
	if !role.Inputs["description"].IsSecret() {
		t.Errorf("secret input not kept secret: %v", role.Inputs["description"])
	}
	if !role.DependsOnURN("tags", vpc.URN) {
		t.Errorf("property dependencies: %v", role.PropertyDependencies)
	}
	if comp.ID != "" || comp.Custom {
		t.Errorf("component record: %+v", comp)
	}
}

// The recorder refuses, as the provider's Check does, inputs the AWS
// provider's schema forbids: here a role without its required trust policy
// and a Redis secondary that sets what it inherits from its global group.
func TestRecorderRefusesWhatTheProviderRefuses(t *testing.T) {
	_, err := Run("eduai", "dev", func(ctx *pulumi.Context) error {
		var role, group pulumi.CustomResourceState
		if err := ctx.RegisterResource("aws:iam/role:Role", "untrusted", pulumi.Map{}, &role); err != nil {
			return err
		}
		return ctx.RegisterResource("aws:elasticache/replicationGroup:ReplicationGroup", "secondary", pulumi.Map{
			"replicationGroupId":       pulumi.String("eduai-dr"),
			"description":              pulumi.String("secondary"),
			"globalReplicationGroupId": pulumi.String("ldgnf-eduai"),
			"atRestEncryptionEnabled":  pulumi.Bool(true),
		}, &group)
	})
	var refused *RefusalError
	if !errors.As(err, &refused) || len(refused.Lines) != 2 {
		t.Fatalf("want two refusals, got %v", err)
	}
	for i, want := range []string{
		"ReplicationGroup::secondary: atRestEncryptionEnabled conflicts with globalReplicationGroupId (provider schema: conflictsWith",
		"Role::untrusted: assumeRolePolicy is required (provider schema: required",
	} {
		if !strings.Contains(refused.Lines[i], want) {
			t.Errorf("refusal %d: %q lacks %q", i, refused.Lines[i], want)
		}
	}
}

func TestInvokesAreRefused(t *testing.T) {
	_, err := Run("eduai", "dev", func(ctx *pulumi.Context) error {
		var out struct{}
		return ctx.Invoke("aws:index/getAvailabilityZones:getAvailabilityZones", map[string]any{}, &out)
	})
	if err == nil || !strings.Contains(err.Error(), "getAvailabilityZones") {
		t.Errorf("invoke error: %v", err)
	}
}

// A child of a retyped or renamed component is known by its old URN under
// each of the parent's aliases, as the engine derives it: the name's parent
// prefix follows the parent's old name (issue #21 moved the DR stores into
// the stores' own component).
func TestChildrenInheritTheirParentsAliases(t *testing.T) {
	rec, err := Run("eduai", "prod", func(ctx *pulumi.Context) error {
		c := &component{}
		if err := ctx.RegisterComponentResource("eduai:data:Aurora", "db", c,
			pulumi.Aliases([]pulumi.Alias{{Type: pulumi.String("eduai:data:AuroraGlobal"), Name: pulumi.String("old")}})); err != nil {
			return err
		}
		var net, other pulumi.CustomResourceState
		if err := ctx.RegisterResource("aws:ec2/vpc:Vpc", "db-net", pulumi.Map{"cidrBlock": pulumi.String("10.0.0.0/16")},
			&net, pulumi.Parent(c)); err != nil {
			return err
		}
		return ctx.RegisterResource("aws:ec2/vpc:Vpc", "other", pulumi.Map{"cidrBlock": pulumi.String("10.1.0.0/16")},
			&other, pulumi.Parent(c), pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String("before")}}))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"db-net": {"urn:pulumi:prod::eduai::eduai:data:AuroraGlobal$aws:ec2/vpc:Vpc::old-net"},
		"other": {"urn:pulumi:prod::eduai::eduai:data:Aurora$aws:ec2/vpc:Vpc::before",
			"urn:pulumi:prod::eduai::eduai:data:AuroraGlobal$aws:ec2/vpc:Vpc::other",
			"urn:pulumi:prod::eduai::eduai:data:AuroraGlobal$aws:ec2/vpc:Vpc::before"},
	}
	for name, aliases := range want {
		got := rec.Named("aws:ec2/vpc:Vpc", name).Aliases
		for _, a := range aliases {
			if !slices.Contains(got, a) {
				t.Errorf("%s: %s missing from %v", name, a, got)
			}
		}
	}
}
