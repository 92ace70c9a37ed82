package runner

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const deployRole = "arn:aws:iam::123456789012:role/eduai-prod-deploy"

func args() Args {
	return Args{Name: "eduai-prod", Tag: "eduai-prod", VpcID: pulumi.String("vpc-0123456789abcdef0"),
		SubnetIDs:     pulumi.ToStringArray([]string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}),
		DeployRoleARN: deployRole, Protect: true}
}

func run(t *testing.T, a Args) (*mockstack.Recorder, error) {
	t.Helper()
	return mockstack.Run("eduai", "prod", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		_, err = New(ctx, "ci-runner", a, pulumi.Providers(p))
		return err
	})
}

func TestRunner(t *testing.T) {
	a := args()
	a.Token = pulumi.ToSecret(pulumi.String("glrt-not-a-real-token")).(pulumi.StringOutput)
	rec, err := run(t, a)
	if err != nil {
		t.Fatal(err)
	}
	component := rec.ByType("eduai:ci:Runner")[0]
	for _, r := range rec.Resources() {
		if r.Custom && !r.IsProvider() && r.Parent != component.URN {
			t.Errorf("%s is not parented to the runner", r.URN)
		}
	}

	lt := rec.Named("aws:ec2/launchTemplate:LaunchTemplate", "ci-runner")
	md := lt.Inputs.Mappable()["metadataOptions"].(map[string]any)
	if md["httpTokens"] != "required" || md["httpPutResponseHopLimit"] != float64(1) {
		t.Errorf("metadata options %v: want IMDSv2 only, hop limit 1", md)
	}
	ebs := lt.Inputs.Mappable()["blockDeviceMappings"].([]any)[0].(map[string]any)["ebs"].(map[string]any)
	if ebs["encrypted"] != "true" || ebs["volumeType"] != "gp3" || ebs["volumeSize"] != float64(DefaultDiskSizeGiB) {
		t.Errorf("root volume %v", ebs)
	}
	nic := lt.Inputs.Mappable()["networkInterfaces"].([]any)[0].(map[string]any)
	if nic["associatePublicIpAddress"] != "false" {
		t.Errorf("network interface %v: want no public IP", nic)
	}
	if _, ok := lt.Inputs.Mappable()["keyName"]; ok {
		t.Error("the launch template names a key pair")
	}
	if lt.String("imageId") != "resolve:ssm:"+AMIParameter || lt.String("instanceType") != DefaultInstanceType {
		t.Errorf("image %q, type %q", lt.String("imageId"), lt.String("instanceType"))
	}
	raw, err := base64.StdEncoding.DecodeString(lt.String("userData"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(raw)
	for _, want := range []string{"gitlab-runner-downloads.s3.amazonaws.com/v" + DefaultVersion + "\n", "$base/binaries/gitlab-runner-linux-amd64", "release.sha256",
		"sha256sum", "secretsmanager get-secret-value", "--executor docker", "--url 'https://gitlab.com'",
		"concurrent = 2", "--docker-image '" + DefaultJobImage + "'"} {
		if !strings.Contains(script, want) {
			t.Errorf("user data lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "glrt-not-a-real-token") {
		t.Error("the token is in the user data")
	}

	sg := rec.Named("aws:ec2/securityGroup:SecurityGroup", "ci-runner")
	if in := sg.Inputs.Mappable()["ingress"]; in != nil && len(in.([]any)) != 0 {
		t.Errorf("security group ingress %v: want none", in)
	}
	egress := sg.Inputs.Mappable()["egress"].([]any)
	if len(egress) != 1 || egress[0].(map[string]any)["fromPort"] != float64(443) || egress[0].(map[string]any)["toPort"] != float64(443) {
		t.Errorf("egress %v: want HTTPS only", egress)
	}
	if !strings.Contains(nicGroups(nic), sg.ID) {
		t.Errorf("the instances do not use the runner's security group: %v", nic)
	}

	group := rec.Named("aws:autoscaling/group:Group", "ci-runner")
	if group.Inputs["minSize"].NumberValue() != 1 || group.Inputs["maxSize"].NumberValue() != 1 ||
		group.String("name") != "eduai-prod-ci-runner" || !group.DependsOnURN("launchTemplate", lt.URN) ||
		len(group.Inputs["vpcZoneIdentifiers"].ArrayValue()) != 2 {
		t.Errorf("group %v", group.Inputs)
	}
	if _, ok := group.Inputs.Mappable()["instanceRefresh"]; ok {
		t.Error("an instance refresh would terminate the runner running the deploy that changed it")
	}

	// The role: the token, Session Manager, the deploy role; nothing else.
	policy := rec.Named("aws:iam/rolePolicy:RolePolicy", "ci-runner")
	var doc struct {
		Statement []struct {
			Sid, Effect string
			Action      any
			Resource    string
			Condition   map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(policy.String("policy")), &doc); err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || strings.Contains(s.Resource, "*") {
			t.Errorf("statement %s: %s on %q", s.Sid, s.Effect, s.Resource)
		}
		actions[s.Action.(string)] = s.Resource
	}
	secret := rec.Named("aws:secretsmanager/secret:Secret", "ci-runner-token")
	if len(actions) != 3 || actions["sts:AssumeRole"] != deployRole || actions["secretsmanager:GetSecretValue"] != secret.State["arn"].StringValue() ||
		actions["kms:Decrypt"] == "" {
		t.Errorf("instance role policy %v", actions)
	}
	attachments := rec.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
	if len(attachments) != 1 || attachments[0].String("policyArn") != "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" {
		t.Errorf("attachments %v", attachments)
	}

	key := rec.Named("aws:kms/key:Key", "ci-runner-token")
	if !key.Protect || !secret.DependsOnURN("kmsKeyId", key.URN) {
		t.Errorf("token key protect %v, secret key %v", key.Protect, secret.Inputs["kmsKeyId"])
	}
	version := rec.Named("aws:secretsmanager/secretVersion:SecretVersion", "ci-runner-token")
	if version == nil || !version.Inputs["secretString"].IsSecret() {
		t.Fatalf("token version %v: want the token as a secret", version)
	}
}

func nicGroups(nic map[string]any) string {
	var out []string
	for _, g := range nic["securityGroups"].([]any) {
		out = append(out, g.(string))
	}
	return strings.Join(out, ",")
}

// Without a token the secret stays empty (the runbook fills it), and without
// a deploy role the instance role may assume nothing.
func TestRunnerWithoutTokenOrDeployRole(t *testing.T) {
	a := args()
	a.DeployRoleARN = ""
	rec, err := run(t, a)
	if err != nil {
		t.Fatal(err)
	}
	if v := rec.ByType("aws:secretsmanager/secretVersion:SecretVersion"); len(v) != 0 {
		t.Errorf("a token version without a token: %v", v)
	}
	if p := rec.Named("aws:iam/rolePolicy:RolePolicy", "ci-runner").String("policy"); strings.Contains(p, "sts:AssumeRole") {
		t.Errorf("the role may assume a role: %s", p)
	}
}

func TestRunnerRefusesBadArgs(t *testing.T) {
	a := args()
	a.Instances, a.Version, a.GitLabURL, a.DiskSizeGiB, a.Concurrent = 11, "latest", "http://gitlab.example.com", 8, 40
	_, err := run(t, a)
	if err == nil {
		t.Fatal("bad args accepted")
	}
	for _, want := range []string{"Instances: must be 1..10 (got 11)", `Version: must be an exact GitLab Runner release like 18.11.2 (got "latest")`,
		`GitLabURL: must be an https:// URL (got "http://gitlab.example.com")`, "DiskSizeGiB: must be 30..16384 (got 8)",
		"Concurrent: must be 1..16 (got 40)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestRunnerPartition(t *testing.T) {
	a := args()
	a.Partition = "aws-cn"
	rec, err := run(t, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range rec.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		if arn := at.String("policyArn"); arn != "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore" {
			t.Errorf("%s attaches %s", at.Name, arn)
		}
	}
}
