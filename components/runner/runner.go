// Package runner runs the GitLab Runner that deploys an environment from
// inside its VPC: the EKS API endpoint is private (the pack requires it in
// staging and prod), so only a runner in the VPC reaches it.
//
// An Auto Scaling group of one or more instances in the private subnets:
// IMDSv2 only with a hop limit of 1 (job containers cannot reach the
// instance's credentials), an encrypted gp3 root volume, no public IP, no
// key pair and a security group with no inbound rule (operators use Session
// Manager), and a pinned GitLab Runner release verified against its
// published checksums. The runner authentication token lives in a Secrets
// Manager secret under a key of its own; the instance reads it at boot, so
// it never appears in the launch template or the user data. The instance
// role may read that secret, use Session Manager and assume the stack's
// deploy role, and nothing else.
package runner

import (
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/eduai/infra/components/partition"
	"regexp"
	"strings"

	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/secure"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Defaults of Args.
const (
	DefaultInstanceType = "m7i.large"
	DefaultDiskSizeGiB  = 100
	DefaultConcurrent   = 2
	DefaultGitLabURL    = "https://gitlab.com"
	// DefaultVersion is the GitLab Runner release installed (gitlab-org/gitlab-runner
	// v18.11.2, May 2026; binaries and release.sha256 under
	// gitlab-runner-downloads/v18.11.2/). Raise it by config; instances pick it up
	// when they are replaced (docs/runbooks/new-environment.md, "Runner upgrades").
	DefaultVersion = "18.11.2"
	// DefaultJobImage is the image jobs run in unless they name one (.gitlab-ci.yml's default).
	DefaultJobImage = "golang:1.26.8-bookworm"
	// AMIParameter is the public SSM parameter of the current Amazon Linux 2023
	// AMI; a launch template resolves "resolve:ssm:<parameter>" at each launch
	// (EC2 user guide, "Use a Systems Manager parameter instead of an AMI ID").
	AMIParameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
	// SSMPolicy (an AWS managed policy) lets Session Manager reach the
	// instance (no SSH, no inbound rule).
	SSMPolicy = "AmazonSSMManagedInstanceCore"
	// RoleTag = Role marks the runner's resources (the pack's delivery-runner-*
	// rules judge every Auto Scaling group, tagged or not).
	RoleTag = "eduai:role"
	Role    = "ci-runner"
)

// MaxInstances bounds Instances.
const MaxInstances = 10

// Args configures the runner.
type Args struct {
	// Partition of the runner's region (partition.Of); default aws.
	Partition string
	// Name starts the physical names ("eduai-prod" → "eduai-prod-ci-runner"). Required.
	Name string
	// Tag is the runner tag jobs select (tags: [eduai-prod]); it is set on the
	// runner in GitLab when its token is created, and tags the instances here. Required.
	Tag string
	// VpcID and SubnetIDs place the instances: the private subnets (egress through NAT). Required.
	VpcID     pulumi.StringInput
	SubnetIDs pulumi.StringArrayInput
	// InstanceType of the instances. Default m7i.large.
	InstanceType string
	// Instances in the group (min = max = desired). 1..10, default 1.
	Instances int
	// DiskSizeGiB of the encrypted gp3 root volume (images and the build cache). 30..16384, default 100.
	DiskSizeGiB int
	// Version of GitLab Runner, exact (e.g. 18.11.2). Default DefaultVersion.
	Version string
	// GitLabURL is the GitLab instance. Default https://gitlab.com.
	GitLabURL string
	// Concurrent jobs per instance. 1..16, default 2.
	Concurrent int
	// JobImage is the default image of jobs that name none. Default golang:1.26.8-bookworm.
	JobImage string
	// Token is the runner authentication token (glrt-…), a secret. Optional:
	// without it the token secret is created empty, the runbook puts the token
	// there with the AWS CLI, and the instances wait for it.
	Token pulumi.StringInput
	// DeployRoleARN is the role the instance role may assume ("" = none).
	DeployRoleARN string
	// Protect the token's key (staging, prod).
	Protect bool
}

var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// ValidVersion tells whether v is an exact GitLab Runner version.
func ValidVersion(v string) bool { return versionPattern.MatchString(v) }

// defaults fills the documented defaults.
func (a *Args) defaults() {
	if a.InstanceType == "" {
		a.InstanceType = DefaultInstanceType
	}
	if a.Instances == 0 {
		a.Instances = 1
	}
	if a.DiskSizeGiB == 0 {
		a.DiskSizeGiB = DefaultDiskSizeGiB
	}
	if a.Version == "" {
		a.Version = DefaultVersion
	}
	if a.GitLabURL == "" {
		a.GitLabURL = DefaultGitLabURL
	}
	if a.Concurrent == 0 {
		a.Concurrent = DefaultConcurrent
	}
	if a.JobImage == "" {
		a.JobImage = DefaultJobImage
	}
}

// Validate checks the arguments' values (after defaults; not the wiring:
// VPC, subnets) and names each wrong field (field.List); stacks/ reports
// them at their config keys.
func (a *Args) Validate() error {
	var errs field.List
	if a.Instances < 1 || a.Instances > MaxInstances {
		errs.Add(field.Range, "Instances", a.Instances, "must be 1..%d", MaxInstances)
	}
	if a.DiskSizeGiB < 30 || a.DiskSizeGiB > 16384 {
		errs.Add(field.Range, "DiskSizeGiB", a.DiskSizeGiB, "must be 30..16384")
	}
	if !ValidVersion(a.Version) {
		errs.Add(field.Format, "Version", a.Version, "must be an exact GitLab Runner release like %s", DefaultVersion)
	}
	if !strings.HasPrefix(a.GitLabURL, "https://") || strings.ContainsAny(a.GitLabURL, " '\"$`\\") {
		errs.Add(field.Format, "GitLabURL", a.GitLabURL, "must be an https:// URL")
	}
	if a.Concurrent < 1 || a.Concurrent > 16 {
		errs.Add(field.Range, "Concurrent", a.Concurrent, "must be 1..16")
	}
	if strings.ContainsAny(a.JobImage, " '\"$`\\") {
		errs.Add(field.Format, "JobImage", a.JobImage, "must be an image reference")
	}
	if strings.ContainsAny(a.InstanceType, " '\"$`\\") || !strings.Contains(a.InstanceType, ".") {
		errs.Add(field.Format, "InstanceType", a.InstanceType, "must be an EC2 instance type like %s", DefaultInstanceType)
	}
	return errs.Err()
}

func (a *Args) validate() error {
	errs := []error{a.Validate()}
	if a.Name == "" || a.Tag == "" || a.VpcID == nil || a.SubnetIDs == nil {
		errs = append(errs, errors.New("Name, Tag, VpcID and SubnetIDs are required"))
	}
	return errors.Join(errs...)
}

// Runner is the component.
type Runner struct {
	pulumi.ResourceState
	// SecurityGroupID is the instances' group: the cluster's API endpoint lets it in on 443.
	SecurityGroupID pulumi.IDOutput
	// RoleARN is the instance role.
	RoleARN pulumi.StringOutput
	// TokenSecretARN is where the runner authentication token is kept.
	TokenSecretARN pulumi.StringOutput
	// GroupName is the Auto Scaling group.
	GroupName pulumi.StringOutput
}

// New creates the runner: token key and secret, instance role and profile,
// security group, launch template and Auto Scaling group.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Runner, error) {
	args.defaults()
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("runner %q: %w", name, err)
	}
	r := &Runner{}
	if err := ctx.RegisterComponentResource("eduai:ci:Runner", name, r, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(r)
	physical := args.Name + "-ci-runner"
	tags := pulumi.StringMap{"Name": pulumi.String(physical), RoleTag: pulumi.String(Role)}

	key, err := secure.NewKey(ctx, name+"-token", "GitLab Runner token of "+physical, tags, parent,
		pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}
	secret, err := secretsmanager.NewSecret(ctx, name+"-token", &secretsmanager.SecretArgs{
		NamePrefix:  pulumi.String(physical + "-token-"),
		Description: pulumi.String("GitLab Runner authentication token (glrt-…) of " + physical + ", tag " + args.Tag),
		KmsKeyId:    key.Arn,
		Tags:        tags,
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}
	if args.Token != nil {
		if _, err := secretsmanager.NewSecretVersion(ctx, name+"-token", &secretsmanager.SecretVersionArgs{
			SecretId:     secret.ID(),
			SecretString: pulumi.ToSecret(args.Token.ToStringOutput()).(pulumi.StringOutput),
		}, parent); err != nil {
			return nil, err
		}
	}

	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Description:      pulumi.String("Instances of " + physical + ": read the runner token, Session Manager, assume the deploy role"),
		AssumeRolePolicy: pulumi.String(secure.EC2Trust),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicyAttachment(ctx, name+"-ssm", &iam.RolePolicyAttachmentArgs{
		Role: role.Name, PolicyArn: pulumi.String(partition.ManagedPolicy(args.Partition, SSMPolicy)),
	}, parent); err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Role:   role.Name,
		Policy: pulumi.All(secret.Arn, key.Arn).ApplyT(func(v []any) string { return rolePolicy(v[0].(string), v[1].(string), args.DeployRoleARN) }).(pulumi.StringOutput),
	}, parent); err != nil {
		return nil, err
	}
	profile, err := iam.NewInstanceProfile(ctx, name, &iam.InstanceProfileArgs{Role: role.Name, Tags: tags}, parent)
	if err != nil {
		return nil, err
	}

	// No ingress at all: nothing connects to a runner, it polls GitLab.
	// Egress is HTTPS only: GitLab, the registries, the Go module proxy, the
	// AWS APIs and the cluster's private endpoint (DNS and NTP go to the VPC's
	// resolver and the link-local time service, which security groups do not filter).
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       args.VpcID,
		Description: pulumi.String("GitLab Runner " + physical + ": no inbound, HTTPS out"),
		Ingress:     ec2.SecurityGroupIngressArray{},
		Egress: ec2.SecurityGroupEgressArray{ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("HTTPS: GitLab, registries, AWS APIs, the cluster endpoint"),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(443), ToPort: pulumi.Int(443),
			CidrBlocks: pulumi.StringArray{pulumi.String("0.0.0.0/0")},
		}},
		Tags: tags,
	}, parent)
	if err != nil {
		return nil, err
	}

	userData := secret.Arn.ApplyT(func(arn string) string {
		return base64.StdEncoding.EncodeToString([]byte(UserData(args, arn)))
	}).(pulumi.StringOutput)
	// IMDSv2 only with hop limit 1 (job containers cannot take the instance's
	// credentials), an encrypted gp3 root volume (secure.Hardened); no public
	// IP, no key pair.
	lt, err := ec2.NewLaunchTemplate(ctx, name, secure.Hardened(&ec2.LaunchTemplateArgs{
		Description:        pulumi.String(physical + ": IMDSv2 only, encrypted root volume, no public IP, no key pair"),
		ImageId:            pulumi.String("resolve:ssm:" + AMIParameter),
		InstanceType:       pulumi.String(args.InstanceType),
		IamInstanceProfile: ec2.LaunchTemplateIamInstanceProfileArgs{Arn: profile.Arn},
		NetworkInterfaces: ec2.LaunchTemplateNetworkInterfaceArray{ec2.LaunchTemplateNetworkInterfaceArgs{
			DeviceIndex:              pulumi.Int(0),
			AssociatePublicIpAddress: pulumi.String("false"),
			SecurityGroups:           pulumi.StringArray{sg.ID().ToStringOutput()},
			DeleteOnTermination:      pulumi.String("true"),
		}},
		UserData: userData,
	}, args.DiskSizeGiB, tags), parent)
	if err != nil {
		return nil, err
	}
	// No instance refresh on change: the deploy that changes the runner runs
	// on it, and a refresh would terminate it mid-deploy. New instances take
	// the latest template; the runbook replaces the old ones afterwards.
	group, err := autoscaling.NewGroup(ctx, name, &autoscaling.GroupArgs{
		Name:               pulumi.String(physical),
		MinSize:            pulumi.Int(args.Instances),
		MaxSize:            pulumi.Int(args.Instances),
		DesiredCapacity:    pulumi.Int(args.Instances),
		VpcZoneIdentifiers: args.SubnetIDs,
		LaunchTemplate:     autoscaling.GroupLaunchTemplateArgs{Id: lt.ID().ToStringOutput(), Version: pulumi.String("$Latest")},
		HealthCheckType:    pulumi.String("EC2"),
		Tags: autoscaling.GroupTagArray{
			autoscaling.GroupTagArgs{Key: pulumi.String("Name"), Value: pulumi.String(physical), PropagateAtLaunch: pulumi.Bool(true)},
			autoscaling.GroupTagArgs{Key: pulumi.String(RoleTag), Value: pulumi.String(Role), PropagateAtLaunch: pulumi.Bool(true)},
			autoscaling.GroupTagArgs{Key: pulumi.String("gitlab-runner-tag"), Value: pulumi.String(args.Tag), PropagateAtLaunch: pulumi.Bool(true)},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	r.SecurityGroupID = sg.ID()
	r.RoleARN = role.Arn
	r.TokenSecretARN = secret.Arn
	r.GroupName = group.Name
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{
		"securityGroupId": r.SecurityGroupID, "roleArn": r.RoleARN, "tokenSecretArn": r.TokenSecretARN,
		"groupName": r.GroupName,
	})
}

// rolePolicy: read the token (through Secrets Manager only), and assume the deploy role.
func rolePolicy(secretARN, keyARN, deployRoleARN string) string {
	region, _ := secure.RegionAndAccount(secretARN)
	statements := []string{
		`{"Sid":"ReadToken","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"` + secretARN + `"}`,
		`{"Sid":"DecryptToken","Effect":"Allow","Action":"kms:Decrypt","Resource":"` + keyARN + `",` +
			`"Condition":{"StringEquals":{"kms:ViaService":"secretsmanager.` + region + `.amazonaws.com"}}}`,
	}
	if deployRoleARN != "" {
		statements = append(statements, `{"Sid":"AssumeDeployRole","Effect":"Allow","Action":"sts:AssumeRole","Resource":"`+deployRoleARN+`"}`)
	}
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

// UserData is the instances' boot script: Docker from the distribution, the
// pinned GitLab Runner binary checked against the release's checksums, the
// token read from Secrets Manager (waiting until the runbook has put it
// there), registration with the docker executor, and the concurrency.
func UserData(a Args, tokenSecretARN string) string {
	region, _ := secure.RegionAndAccount(tokenSecretARN)
	return fmt.Sprintf(`#!/bin/bash
# GitLab Runner %[1]s for tag %[2]s (components/runner). No secret in this script.
set -euo pipefail
dnf install -y docker
systemctl enable --now docker
base=https://gitlab-runner-downloads.s3.amazonaws.com/v%[1]s
curl -fsSL "$base/binaries/gitlab-runner-linux-amd64" -o /tmp/gitlab-runner
curl -fsSL "$base/release.sha256" -o /tmp/release.sha256
want=$(grep 'binaries/gitlab-runner-linux-amd64$' /tmp/release.sha256 | awk '{print $1}')
got=$(sha256sum /tmp/gitlab-runner | awk '{print $1}')
if [ -z "$want" ] || [ "$want" != "$got" ]; then echo "gitlab-runner checksum mismatch" >&2; exit 1; fi
install -m 0755 /tmp/gitlab-runner /usr/local/bin/gitlab-runner
id gitlab-runner >/dev/null 2>&1 || useradd --system --create-home --groups docker gitlab-runner
until token=$(aws secretsmanager get-secret-value --region %[3]s --secret-id '%[4]s' --query SecretString --output text 2>/dev/null) && [ -n "$token" ]; do
  echo "waiting for the runner token in %[4]s (docs/runbooks/new-environment.md)"; sleep 30
done
instance=$(TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60') && curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)
/usr/local/bin/gitlab-runner register --non-interactive --url '%[5]s' --token "$token" \
  --name "%[6]s-$instance" --executor docker --docker-image '%[7]s' --docker-privileged=false
unset token
sed -i 's/^concurrent = .*/concurrent = %[8]d/' /etc/gitlab-runner/config.toml
/usr/local/bin/gitlab-runner install --user gitlab-runner --working-directory /home/gitlab-runner
/usr/local/bin/gitlab-runner start
`, a.Version, a.Tag, region, tokenSecretARN, a.GitLabURL, a.Name+"-ci-runner", a.JobImage, a.Concurrent)
}
