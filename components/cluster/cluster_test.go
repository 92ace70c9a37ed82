package cluster

import (
	"slices"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	typeEKS         = "eks:index:Cluster"
	typeKey         = "aws:kms/key:Key"
	typeLogGroup    = "aws:cloudwatch/logGroup:LogGroup"
	typeLT          = "aws:ec2/launchTemplate:LaunchTemplate"
	typeNodeGroup   = "aws:eks/nodeGroup:NodeGroup"
	typeAttachment  = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	typeComponent   = "eduai:cluster:Cluster"
	typeAWSProvider = "pulumi:providers:aws"
)

func prodArgs() *ClusterArgs {
	return &ClusterArgs{
		Name:             "eduai-prod",
		Version:          "1.34",
		VpcID:            pulumi.String("vpc-1"),
		PrivateSubnetIDs: pulumi.ToStringArray([]string{"subnet-a", "subnet-b", "subnet-c"}),
		LogTypes:         LogTypes,
		LogRetentionDays: 90,
		AdminRoleARNs:    []string{"arn:aws:iam::123456789012:role/platform-admin"},
		DeployRoleARN:    "arn:aws:iam::123456789012:role/ci-deploy",
		Protect:          true,
		Addons: map[string]string{AddonVpcCni: "v1.20.4-eksbuild.2", AddonKubeProxy: "v1.34.0-eksbuild.2",
			AddonPodIdentity: "v1.3.10-eksbuild.2", AddonCoreDNS: "v1.12.3-eksbuild.1", AddonEbsCsiDriver: "v1.54.0-eksbuild.1"},
		NodeGroups: []NodeGroupArgs{
			{Name: "compute", InstanceTypes: []string{"m5.xlarge"}, MinSize: 3, MaxSize: 20, DesiredSize: 6, DiskSizeGiB: 1000,
				MaxUnavailablePercentage: 33},
			{Name: "memory", InstanceTypes: []string{"r5.xlarge"}, MinSize: 2, MaxSize: 10, DesiredSize: 4, DiskSizeGiB: 1000,
				MaxUnavailablePercentage: 33,
				Labels:                   map[string]string{"workload": "memory-optimized"},
				Taints:                   []Taint{{Key: "workload", Value: "memory-optimized", Effect: "NO_SCHEDULE"}}},
		},
	}
}

func runCluster(t *testing.T, args *ClusterArgs) (*mockstack.Recorder, *Cluster) {
	t.Helper()
	var c *Cluster
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		c, err = NewCluster(ctx, "cluster", args, pulumi.Providers(p))
		return err
	})
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	return rec, c
}

func strs(r *mockstack.Resource, key string) []string {
	var out []string
	for _, v := range r.Inputs[resource.PropertyKey(key)].ArrayValue() {
		out = append(out, v.StringValue())
	}
	return out
}

func TestClusterInputs(t *testing.T) {
	rec, c := runCluster(t, prodArgs())
	eks := rec.Named(typeEKS, "cluster")
	key := rec.Named(typeKey, "cluster-secrets")
	logs := rec.Named(typeLogGroup, "cluster-control-plane")
	if eks == nil || key == nil || logs == nil {
		t.Fatalf("cluster, key or log group missing")
	}
	if eks.String("name") != "eduai-prod" || eks.String("version") != "1.34" {
		t.Errorf("name/version: %q %q", eks.String("name"), eks.String("version"))
	}
	in := eks.Inputs
	if !in["endpointPrivateAccess"].BoolValue() || in["endpointPublicAccess"].BoolValue() {
		t.Errorf("endpoints: private %v public %v", in["endpointPrivateAccess"], in["endpointPublicAccess"])
	}
	if !slices.Equal(strs(eks, "enabledClusterLogTypes"), LogTypes) {
		t.Errorf("log types %v", strs(eks, "enabledClusterLogTypes"))
	}
	if eks.String("encryptionConfigKeyArn") != key.State["arn"].StringValue() {
		t.Errorf("secrets are not encrypted with the cluster's key")
	}
	if eks.String("authenticationMode") != "API" || !in["createOidcProvider"].BoolValue() ||
		!in["skipDefaultNodeGroup"].BoolValue() || !in["useDefaultVpcCni"].BoolValue() {
		t.Errorf("auth mode / OIDC / default node group / CNI: %v", in)
	}
	entries := in["accessEntries"].ObjectValue()
	if len(entries) != 2 || entries["deploy"].ObjectValue()["principalArn"].StringValue() != "arn:aws:iam::123456789012:role/ci-deploy" {
		t.Errorf("access entries: %v", entries)
	}
	if !slices.Contains(eks.Dependencies, logs.URN) {
		t.Errorf("the cluster does not wait for its log group")
	}
	if logs.String("name") != "/aws/eks/eduai-prod/cluster" || logs.Inputs["retentionInDays"].NumberValue() != 90 {
		t.Errorf("log group: %v", logs.Inputs)
	}
	if alias := rec.Named("aws:kms/alias:Alias", "cluster-secrets"); alias.String("targetKeyId") != key.State["keyId"].StringValue() ||
		alias.String("name") != "alias/eduai-prod-eks-secrets" {
		t.Errorf("key alias: %v", alias.Inputs)
	}
	if !key.Inputs["enableKeyRotation"].BoolValue() || !key.Protect {
		t.Errorf("key rotation %v, protect %v", key.Inputs["enableKeyRotation"], key.Protect)
	}
	if c.Name != "eduai-prod" {
		t.Errorf("Name %q", c.Name)
	}
}

func TestNodeGroups(t *testing.T) {
	rec, _ := runCluster(t, prodArgs())
	if n := len(rec.ByType(typeNodeGroup)); n != 2 {
		t.Fatalf("%d node groups", n)
	}
	cases := []struct {
		name            string
		instance        string
		min, max, desir float64
	}{{"compute", "m5.xlarge", 3, 20, 6}, {"memory", "r5.xlarge", 2, 10, 4}}
	for _, c := range cases {
		ng := rec.Named(typeNodeGroup, "cluster-"+c.name)
		lt := rec.Named(typeLT, "cluster-"+c.name)
		if ng == nil || lt == nil {
			t.Fatalf("%s: node group or launch template missing", c.name)
		}
		sc := ng.Inputs["scalingConfig"].ObjectValue()
		if sc["minSize"].NumberValue() != c.min || sc["maxSize"].NumberValue() != c.max || sc["desiredSize"].NumberValue() != c.desir {
			t.Errorf("%s: scaling %v", c.name, sc)
		}
		if got := strs(ng, "instanceTypes"); !slices.Equal(got, []string{c.instance}) {
			t.Errorf("%s: instance types %v", c.name, got)
		}
		if ng.String("amiType") != "AL2023_x86_64_STANDARD" || ng.String("clusterName") != "eduai-prod" ||
			ng.String("nodeGroupName") != "eduai-prod-"+c.name {
			t.Errorf("%s: ami/cluster/name %v", c.name, ng.Inputs)
		}
		if ng.Inputs["updateConfig"].ObjectValue()["maxUnavailablePercentage"].NumberValue() != 33 {
			t.Errorf("%s: updateConfig %v", c.name, ng.Inputs["updateConfig"])
		}
		if !slices.Equal(ng.IgnoreChanges, []string{"scalingConfig.desiredSize"}) {
			t.Errorf("%s: ignoreChanges %v", c.name, ng.IgnoreChanges)
		}
		if ref := ng.Inputs["launchTemplate"].ObjectValue(); ref["id"].StringValue() != lt.ID || ref["version"].StringValue() != "1" {
			t.Errorf("%s: node group does not use its launch template's latest version: %v", c.name, ref)
		}
		md := lt.Inputs["metadataOptions"].ObjectValue()
		if md["httpTokens"].StringValue() != "required" || md["httpPutResponseHopLimit"].NumberValue() != 1 {
			t.Errorf("%s: metadata options %v", c.name, md)
		}
		ebs := lt.Inputs["blockDeviceMappings"].ArrayValue()[0].ObjectValue()["ebs"].ObjectValue()
		if ebs["encrypted"].StringValue() != "true" || ebs["volumeType"].StringValue() != "gp3" ||
			ebs["volumeSize"].NumberValue() != 1000 {
			t.Errorf("%s: root volume %v", c.name, ebs)
		}
	}
	memory := rec.Named(typeNodeGroup, "cluster-memory")
	if memory.Inputs["labels"].ObjectValue()["workload"].StringValue() != "memory-optimized" {
		t.Errorf("memory labels %v", memory.Inputs["labels"])
	}
	taints := memory.Inputs["taints"].ArrayValue()
	if len(taints) != 1 || taints[0].ObjectValue()["effect"].StringValue() != "NO_SCHEDULE" {
		t.Errorf("memory taints %v", taints)
	}
	if rec.Named(typeNodeGroup, "cluster-compute").Inputs.HasValue("taints") {
		t.Errorf("compute group has taints")
	}
	if n := len(rec.ByType(typeAttachment)); n != 4 {
		t.Errorf("%d role policy attachments, want 4 (3 node + EBS CSI)", n)
	}
}

func TestClusterChildrenParented(t *testing.T) {
	rec, _ := runCluster(t, prodArgs())
	comp := rec.ByType(typeComponent)[0]
	for _, r := range rec.Resources() {
		if r.Type == typeComponent || r.Type == typeAWSProvider {
			continue
		}
		if r.Parent != comp.URN {
			t.Errorf("%s %s: parent %s", r.Type, r.Name, r.Parent)
		}
		if r.Provider == "" && r.Custom {
			t.Errorf("%s %s: no explicit provider", r.Type, r.Name)
		}
	}
}

func TestPublicEndpointAndUnprotected(t *testing.T) {
	args := prodArgs()
	args.PublicEndpoint = true
	args.PublicAccessCIDRs = []string{"203.0.113.0/24"}
	args.Protect = false
	args.LogTypes = nil
	rec, _ := runCluster(t, args)
	eks := rec.Named(typeEKS, "cluster")
	if !eks.Inputs["endpointPublicAccess"].BoolValue() || !slices.Equal(strs(eks, "publicAccessCidrs"), []string{"203.0.113.0/24"}) {
		t.Errorf("public endpoint: %v", eks.Inputs)
	}
	if !slices.Equal(strs(eks, "enabledClusterLogTypes"), DefaultLogTypes) {
		t.Errorf("default log types: %v", strs(eks, "enabledClusterLogTypes"))
	}
	if rec.Named(typeKey, "cluster-secrets").Protect {
		t.Errorf("key protected although Protect is off")
	}
}

func TestClusterBadArgs(t *testing.T) {
	cases := []struct {
		mutate func(*ClusterArgs)
		want   string
	}{
		{func(a *ClusterArgs) { a.Version = "1.34.2" }, `Version: must be a Kubernetes minor version like "1.35" (got "1.34.2")`},
		{func(a *ClusterArgs) { a.PublicEndpoint = true }, "PublicAccessCIDRs: must list the CIDRs"},
		{func(a *ClusterArgs) { a.LogTypes = []string{"audit", "kubelet"} }, `LogTypes[1]: must be one of api, audit, authenticator, controllerManager, scheduler (got "kubelet")`},
		{func(a *ClusterArgs) { a.DeployRoleARN = "ci" }, `DeployRoleARN: must be an IAM role ARN (got "ci")`},
		{func(a *ClusterArgs) { a.NodeGroups = nil }, "NodeGroups: must define at least one node group"},
		{func(a *ClusterArgs) { a.NodeGroups[0].DesiredSize = 30 }, "NodeGroups[compute].DesiredSize: must be within minSize..maxSize (3..20) (got 30)"},
		{func(a *ClusterArgs) { a.NodeGroups[1].Taints[0].Effect = "NoSchedule" }, `NodeGroups[memory].Taints[0].Effect: must be one of NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE (got "NoSchedule")`},
		{func(a *ClusterArgs) { a.NodeGroups[0].DiskSizeGiB = 8 }, "NodeGroups[compute].DiskSizeGiB: must be 20..16384 (got 8)"},
		{func(a *ClusterArgs) { a.NodeGroups[1].Name = "compute" }, `NodeGroups: names a node group twice (got "compute")`},
		{func(a *ClusterArgs) { delete(a.Addons, AddonCoreDNS) }, "Addons: must pin coredns"},
		{func(a *ClusterArgs) { a.Addons[AddonVpcCni] = "latest" }, `Addons[vpc-cni]: must be an EKS add-on version like v1.20.4-eksbuild.2 (got "latest")`},
		{func(a *ClusterArgs) { a.Addons["istio"] = "v1.0.0-eksbuild.1" }, "Addons[istio]: unknown add-on (known: vpc-cni"},
		{func(a *ClusterArgs) { a.LogRetentionDays = 0 }, "LogRetentionDays: must be a CloudWatch Logs retention (got 0)"},
		{func(a *ClusterArgs) { a.NodeGroups[1].MaxUnavailablePercentage = 0 }, "NodeGroups[memory].MaxUnavailablePercentage: must be 1..100 (got 0)"},
		{func(a *ClusterArgs) { a.PublicAccessCIDRs = []string{"10.0.0.1/8"} }, `PublicAccessCIDRs[0]: must be a canonical CIDR block (got "10.0.0.1/8")`},
	}
	for _, c := range cases {
		args := prodArgs()
		c.mutate(args)
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := NewCluster(ctx, "cluster", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
		if n := len(rec.Resources()); n != 0 {
			t.Errorf("%q: %d resources registered", c.want, n)
		}
	}
}

func TestAddons(t *testing.T) {
	rec, _ := runCluster(t, prodArgs())
	addons := map[string]*mockstack.Resource{}
	for _, r := range rec.ByType("aws:eks/addon:Addon") {
		addons[r.String("addonName")] = r
	}
	want := prodArgs().Addons
	if len(addons) != len(want) {
		t.Fatalf("add-ons %v", addons)
	}
	for name, version := range want {
		a := addons[name]
		if a.String("addonVersion") != version || a.String("clusterName") != "eduai-prod" ||
			a.String("resolveConflictsOnCreate") != "OVERWRITE" {
			t.Errorf("%s: %v", name, a.Inputs)
		}
	}
	// Issue #17: node groups run the cluster's version, so an upgrade reaches them.
	for _, ng := range rec.ByType(typeNodeGroup) {
		if ng.String("version") != "1.34" {
			t.Errorf("%s: version %q, want the cluster's 1.34", ng.Name, ng.String("version"))
		}
	}
	// Issue #17: NetworkPolicies are enforced (the VPC CNI's agent), not only stored.
	if cv := addons[AddonVpcCni].String("configurationValues"); cv != `{"enableNetworkPolicy":"true"}` {
		t.Errorf("vpc-cni configuration %q", cv)
	}
	// Networking before the nodes; CoreDNS and EBS CSI after them.
	for _, ng := range rec.ByType(typeNodeGroup) {
		for _, early := range []string{AddonVpcCni, AddonKubeProxy, AddonPodIdentity} {
			if !slices.Contains(ng.Dependencies, addons[early].URN) {
				t.Errorf("%s does not wait for %s", ng.Name, early)
			}
		}
		for _, late := range []string{AddonCoreDNS, AddonEbsCsiDriver} {
			if !slices.Contains(addons[late].Dependencies, ng.URN) {
				t.Errorf("%s does not wait for %s", late, ng.Name)
			}
		}
	}
	role := rec.Named("aws:iam/role:Role", "cluster-ebs-csi")
	if role == nil || role.String("assumeRolePolicy") != PodIdentityTrust {
		t.Fatalf("EBS CSI role trust: %v", role)
	}
	assoc := addons[AddonEbsCsiDriver].Inputs["podIdentityAssociations"].ArrayValue()
	if len(assoc) != 1 || assoc[0].ObjectValue()["serviceAccount"].StringValue() != "ebs-csi-controller-sa" ||
		assoc[0].ObjectValue()["roleArn"].StringValue() != role.State["arn"].StringValue() {
		t.Errorf("EBS CSI pod identity: %v", assoc)
	}
}

// The private endpoint admits the in-VPC runner (by its security group) and
// the peered region's runner (by its subnets' CIDRs) on 443, through a
// security group the cluster's API endpoint carries (issue #18).
func TestAPIClients(t *testing.T) {
	args := prodArgs()
	var runnerSG pulumi.IDOutput
	var rec *mockstack.Recorder
	rec, err := mockstack.Run("eduai", "prod", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		sg, err := ec2.NewSecurityGroup(ctx, "runner", &ec2.SecurityGroupArgs{VpcId: pulumi.String("vpc-1")}, pulumi.Provider(p))
		if err != nil {
			return err
		}
		runnerSG = sg.ID()
		access, err := NewAPIAccess(ctx, "cluster-api", APIAccessArgs{Name: "eduai-prod", VpcID: pulumi.String("vpc-1"),
			Clients: map[string]pulumi.IDOutput{"ci-runner": runnerSG}, ClientCIDRs: []string{"10.130.16.0/20", "10.130.0.0/20"}},
			pulumi.Providers(p))
		if err != nil {
			return err
		}
		args.APIAccess = access
		_, err = NewCluster(ctx, "cluster", args, pulumi.Providers(p))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	api := rec.Named("aws:ec2/securityGroup:SecurityGroup", "cluster-api")
	eks := rec.ByType(typeEKS)[0]
	// A resource given as an input is a reference the SDK does not list as a
	// dependency: the cluster names it in DependsOn too.
	ref := eks.Inputs["clusterSecurityGroup"]
	if api == nil || !ref.IsResourceReference() || string(ref.ResourceReferenceValue().URN) != api.URN ||
		!slices.Contains(eks.Dependencies, api.URN) {
		t.Fatalf("the cluster's API endpoint does not carry the API security group: %v", eks.Inputs["clusterSecurityGroup"])
	}
	runner := rec.Named("aws:ec2/securityGroup:SecurityGroup", "runner")
	rules := rec.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
	got := map[string]string{}
	for _, r := range rules {
		if !r.DependsOnURN("securityGroupId", api.URN) || r.Inputs["fromPort"].NumberValue() != 443 ||
			r.Inputs["toPort"].NumberValue() != 443 || r.String("ipProtocol") != "tcp" {
			t.Errorf("rule %s: %v", r.Name, r.Inputs)
		}
		switch {
		case r.DependsOnURN("referencedSecurityGroupId", runner.URN):
			got[r.Name] = "runner"
		case r.String("cidrIpv4") != "":
			got[r.Name] = r.String("cidrIpv4")
		}
	}
	want := map[string]string{"cluster-api-ci-runner": "runner", "cluster-api-10-130-0-0-20": "10.130.0.0/20",
		"cluster-api-10-130-16-0-20": "10.130.16.0/20"}
	if len(got) != len(want) {
		t.Errorf("API ingress rules %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("API ingress rules %v, want %v", got, want)
		}
	}
}

// In GovCloud the managed policies and the EKS access policy are named in
// aws-us-gov (issue #21): "arn:aws:…" does not exist there.
func TestClusterPartition(t *testing.T) {
	args := prodArgs()
	args.Partition = "aws-us-gov"
	rec, _ := runCluster(t, args)
	n := 0
	for _, a := range rec.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		if arn := a.String("policyArn"); !strings.HasPrefix(arn, "arn:aws-us-gov:iam::aws:policy/") {
			t.Errorf("%s attaches %s", a.Name, arn)
		}
		n++
	}
	if n < 4 {
		t.Errorf("%d attachments checked, want the node's three and the EBS CSI driver's", n)
	}
	if ClusterAdminPolicy("aws-us-gov") != "arn:aws-us-gov:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" {
		t.Errorf("admin policy %s", ClusterAdminPolicy("aws-us-gov"))
	}
}
