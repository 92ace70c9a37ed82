// Package cluster provisions the platform's EKS cluster with pulumi-eks (no
// default node group), its secrets-encryption key and control-plane log
// group, and the managed node groups with launch templates the program
// registers itself, so that tests and policies see IMDSv2 and disk encryption.
package cluster

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/secure"
	"github.com/eduai/infra/components/partition"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-eks/sdk/v2/go/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LogTypes are the control-plane log types EKS can send to CloudWatch Logs.
var LogTypes = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}

// DefaultLogTypes are on in every environment; prod adds controllerManager and scheduler.
var DefaultLogTypes = []string{"api", "audit", "authenticator"}

// ClusterAdminPolicy is the EKS access policy given to admin and deploy
// roles, in partition p.
func ClusterAdminPolicy(p string) string {
	return "arn:" + partition.Or(p) + ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
}

var (
	versionPattern = regexp.MustCompile(`^1\.[0-9]{2}$`)
	namePattern    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{0,99}$`)
)

// ValidVersion tells whether v is a Kubernetes minor version like "1.34".
func ValidVersion(v string) bool { return versionPattern.MatchString(v) }

// ValidRoleARN tells whether s is an IAM role ARN.
func ValidRoleARN(s string) bool { return partition.ValidRoleARN(s) }

// ValidName tells whether s is a valid EKS cluster or node group name.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// ClusterArgs configures the EKS cluster.
type ClusterArgs struct {
	// Partition of the cluster's region (partition.Of); default aws. The
	// managed policies and the EKS access policy are named in it.
	Partition string
	// Name is the EKS cluster's name (physical); explicit so that the
	// control-plane log group /aws/eks/<Name>/cluster can be created first. Required.
	Name string
	// Version is the Kubernetes minor version, e.g. "1.34". Required.
	Version string
	// VpcID and PrivateSubnetIDs place the cluster and the nodes. Required.
	VpcID            pulumi.StringInput
	PrivateSubnetIDs pulumi.StringArrayInput
	// PublicEndpoint opens the API endpoint to the internet, only from
	// PublicAccessCIDRs (required then). Default false: private endpoint only.
	PublicEndpoint    bool
	PublicAccessCIDRs []string
	// LogTypes are the control-plane logs sent to CloudWatch. Default DefaultLogTypes.
	LogTypes []string
	// LogRetentionDays of /aws/eks/<Name>/cluster: a CloudWatch Logs retention.
	LogRetentionDays int
	// AdminRoleARNs and DeployRoleARN get access entries with cluster-admin access.
	AdminRoleARNs []string
	DeployRoleARN string
	// NodeGroups are the managed node groups, keyed by their Name. At least one.
	NodeGroups []NodeGroupArgs
	// Addons pins the version of each managed add-on (every name in Addons). Required.
	Addons map[string]string
	// APIAccess is the API endpoint's security group with its clients
	// (NewAPIAccess); nil lets pulumi-eks create one that admits only its
	// node security group.
	APIAccess *APIAccess
	// Protect guards the secrets-encryption key against deletion and replacement (staging, prod).
	Protect bool
}

// DefaultVersion is a Kubernetes minor version in EKS standard support
// (1.35 until 2027-03-27; 1.34 left it on 2026-12-02: EKS Kubernetes
// version lifecycle).
const DefaultVersion = "1.35"

// Validate checks the arguments' values (not the wiring: VPC, subnets) and
// names each wrong field (field.List); stacks/ reports them at their config
// keys.
func (a *ClusterArgs) Validate() error {
	var errs field.List
	if !ValidVersion(a.Version) {
		errs.Add(field.Format, "Version", a.Version, "must be a Kubernetes minor version like %q", DefaultVersion)
	}
	if a.PublicEndpoint && len(a.PublicAccessCIDRs) == 0 {
		errs.Add(field.Required, "PublicAccessCIDRs", nil,
			"must list the CIDRs allowed to reach the public endpoint (publicEndpoint is true)")
	}
	for i, cidr := range a.PublicAccessCIDRs {
		if p, err := netip.ParsePrefix(cidr); err != nil || p.Masked() != p {
			errs.Add(field.Format, fmt.Sprintf("PublicAccessCIDRs[%d]", i), cidr, "must be a canonical CIDR block")
		}
	}
	for i, t := range a.LogTypes {
		if !slices.Contains(LogTypes, t) {
			errs.Add(field.Enum, fmt.Sprintf("LogTypes[%d]", i), t, "must be one of %s", strings.Join(LogTypes, ", "))
		}
	}
	if !slices.Contains(secure.LogRetentionDays, a.LogRetentionDays) {
		errs.Add(field.Enum, "LogRetentionDays", a.LogRetentionDays, "must be a CloudWatch Logs retention")
	}
	for i, arn := range a.AdminRoleARNs {
		if !ValidRoleARN(arn) {
			errs.Add(field.Format, fmt.Sprintf("AdminRoleARNs[%d]", i), arn, "must be an IAM role ARN")
		}
	}
	if a.DeployRoleARN != "" && !ValidRoleARN(a.DeployRoleARN) {
		errs.Add(field.Format, "DeployRoleARN", a.DeployRoleARN, "must be an IAM role ARN")
	}
	if len(a.NodeGroups) == 0 {
		errs.Add(field.Required, "NodeGroups", nil, "must define at least one node group")
	}
	validateAddons(a.Addons, &errs)
	seen := map[string]bool{}
	for _, ng := range a.NodeGroups {
		if seen[ng.Name] {
			errs.Add(field.Conflict, "NodeGroups", ng.Name, "names a node group twice")
		}
		seen[ng.Name] = true
		errs.Append(fmt.Sprintf("NodeGroups[%s]", ng.Name), ng.Validate())
	}
	return errs.Err()
}

func (a *ClusterArgs) validate() error {
	errs := []error{a.Validate()}
	if !ValidName(a.Name) {
		errs = append(errs, fmt.Errorf("Name: %q is not an EKS cluster name", a.Name))
	}
	if a.VpcID == nil || a.PrivateSubnetIDs == nil {
		errs = append(errs, errors.New("VpcID and PrivateSubnetIDs are required"))
	}
	return errors.Join(errs...)
}

// Cluster is the EKS component.
type Cluster struct {
	pulumi.ResourceState

	// Name is the EKS cluster's name, for names, tags and policies that
	// mention it.
	Name string
	// ClusterName is the same name as an output of the cluster, known once
	// the cluster exists: what addresses the cluster in AWS by name (Pod
	// Identity associations) takes this one, so that it waits for it.
	ClusterName pulumi.StringOutput
	// KubeconfigJSON reaches the API server; stacks/ builds the Kubernetes provider from it.
	KubeconfigJSON pulumi.StringOutput
	// SecretsKeyARN is the KMS key that encrypts Kubernetes secrets.
	SecretsKeyARN pulumi.StringOutput
	// NodeRoleARN is the role of every managed node.
	NodeRoleARN pulumi.StringOutput
	// NodeGroups are the managed node groups by name.
	NodeGroups map[string]*awseks.NodeGroup
}

// NewCluster creates the key, the log group, the cluster and its node groups.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if args == nil {
		args = &ClusterArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("cluster %q: %w", name, err)
	}
	logTypes := args.LogTypes
	if len(logTypes) == 0 {
		logTypes = DefaultLogTypes
	}

	c := &Cluster{Name: args.Name, NodeGroups: map[string]*awseks.NodeGroup{}}
	if err := ctx.RegisterComponentResource("eduai:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	tags := pulumi.StringMap{"Name": pulumi.String(args.Name)}

	key, err := secure.NewKey(ctx, name+"-secrets", "Envelope encryption of Kubernetes secrets in EKS cluster "+args.Name,
		tags, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}
	if _, err := kms.NewAlias(ctx, name+"-secrets", &kms.AliasArgs{
		Name:        pulumi.String("alias/" + args.Name + "-eks-secrets"),
		TargetKeyId: key.KeyId,
	}, parent); err != nil {
		return nil, err
	}

	// EKS would create this group itself with no expiry; created first, it keeps the retention.
	logGroup, err := secure.NewLogGroup(ctx, name+"-control-plane", secure.LogGroupArgs{
		Name:          "/aws/eks/" + args.Name + "/cluster",
		RetentionDays: args.LogRetentionDays,
		Tags:          tags,
		RegionalARN:   key.Arn,
		Protect:       args.Protect,
	}, parent)
	if err != nil {
		return nil, err
	}

	access := map[string]eks.AccessEntryArgs{}
	admin := map[string]eks.AccessPolicyAssociationInput{"cluster-admin": eks.AccessPolicyAssociationArgs{
		PolicyArn:   pulumi.String(ClusterAdminPolicy(args.Partition)),
		AccessScope: awseks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
	}}
	for i, arn := range args.AdminRoleARNs {
		access[fmt.Sprintf("admin-%d", i)] = eks.AccessEntryArgs{PrincipalArn: pulumi.String(arn), AccessPolicies: admin}
	}
	if args.DeployRoleARN != "" {
		access["deploy"] = eks.AccessEntryArgs{PrincipalArn: pulumi.String(args.DeployRoleARN), AccessPolicies: admin}
	}

	// A resource given as an input is a reference the SDK does not list as a
	// dependency: the cluster names its API security group in DependsOn too.
	dependsOn := []pulumi.Resource{logGroup}
	var apiSG ec2.SecurityGroupInput
	if args.APIAccess != nil {
		apiSG = args.APIAccess.SecurityGroup
		dependsOn = append(dependsOn, args.APIAccess.SecurityGroup)
	}

	skipDefault, defaultCni := true, true
	mode := eks.AuthenticationModeApi
	publicCIDRs := pulumi.ToStringArray(args.PublicAccessCIDRs)
	cluster, err := eks.NewCluster(ctx, name, &eks.ClusterArgs{
		Name:                   pulumi.String(args.Name),
		Version:                pulumi.String(args.Version),
		VpcId:                  args.VpcID,
		PrivateSubnetIds:       args.PrivateSubnetIDs,
		ClusterSecurityGroup:   apiSG,
		EndpointPrivateAccess:  pulumi.Bool(true),
		EndpointPublicAccess:   pulumi.Bool(args.PublicEndpoint),
		PublicAccessCidrs:      publicCIDRs,
		EnabledClusterLogTypes: pulumi.ToStringArray(logTypes),
		EncryptionConfigKeyArn: key.Arn,
		CreateOidcProvider:     pulumi.Bool(true),
		AuthenticationMode:     &mode,
		AccessEntries:          access,
		SkipDefaultNodeGroup:   &skipDefault,
		// The vpc-cni managed add-on is the only CNI: pulumi-eks installs none of its own.
		UseDefaultVpcCni: &defaultCni,
		Tags:             tags,
	}, parent, pulumi.DependsOn(dependsOn))
	if err != nil {
		return nil, err
	}

	// Networking, service proxy and pod credentials come before any node joins.
	var early []pulumi.Resource
	for _, addon := range beforeNodes {
		var extra func(*awseks.AddonArgs)
		if addon == AddonVpcCni {
			extra = enforceNetworkPolicy
		}
		a, err := newAddon(ctx, name, args.Name, addon, args.Addons[addon], extra, parent,
			pulumi.DependsOn([]pulumi.Resource{cluster}))
		if err != nil {
			return nil, err
		}
		early = append(early, a)
	}

	nodeRole, err := newNodeRole(ctx, name, args.Partition, tags, parent)
	if err != nil {
		return nil, err
	}
	groups := slices.Clone(args.NodeGroups)
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	var nodes []pulumi.Resource
	for _, ng := range groups {
		group, err := newNodeGroup(ctx, name, args, ng, nodeRole, append([]pulumi.Resource{cluster}, early...), parent)
		if err != nil {
			return nil, err
		}
		c.NodeGroups[ng.Name] = group
		nodes = append(nodes, group)
	}

	// CoreDNS and the EBS CSI driver schedule pods, so they wait for nodes.
	afterNodes := pulumi.DependsOn(nodes)
	if _, err := newAddon(ctx, name, args.Name, AddonCoreDNS, args.Addons[AddonCoreDNS], nil, parent,
		afterNodes); err != nil {
		return nil, err
	}
	ebsRole, err := newEbsCsiRole(ctx, name, args.Partition, tags, parent)
	if err != nil {
		return nil, err
	}
	if _, err := newAddon(ctx, name, args.Name, AddonEbsCsiDriver, args.Addons[AddonEbsCsiDriver],
		func(a *awseks.AddonArgs) {
			a.PodIdentityAssociations = awseks.AddonPodIdentityAssociationArray{awseks.AddonPodIdentityAssociationArgs{
				RoleArn: ebsRole.Arn, ServiceAccount: pulumi.String(ebsCsiServiceAccount)}}
		}, parent, afterNodes); err != nil {
		return nil, err
	}

	c.KubeconfigJSON = cluster.KubeconfigJson
	// pulumi-eks builds the kubeconfig from the EKS cluster's endpoint and
	// certificate, so it resolves when the cluster is ACTIVE (nodejs/eks/cluster.ts,
	// generateKubeconfig, v2.8.1); the name derived from it carries that wait.
	c.ClusterName = pulumi.Unsecret(cluster.KubeconfigJson.ApplyT(func(string) string { return args.Name })).(pulumi.StringOutput)
	c.SecretsKeyARN = key.Arn
	c.NodeRoleARN = nodeRole.Arn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"name":          pulumi.String(args.Name),
		"secretsKeyArn": c.SecretsKeyARN,
		"nodeRoleArn":   c.NodeRoleARN,
	})
}

// Nodes returns the node groups in name order: what pod-running resources wait for.
func (c *Cluster) Nodes() []pulumi.Resource {
	var out []pulumi.Resource
	for _, name := range slices.Sorted(maps.Keys(c.NodeGroups)) {
		out = append(out, c.NodeGroups[name])
	}
	return out
}

// The policies every managed node needs: join the cluster, run the VPC CNI, pull from ECR.
var nodePolicies = map[string]string{
	"worker": "AmazonEKSWorkerNodePolicy",
	"cni":    "AmazonEKS_CNI_Policy",
	"ecr":    "AmazonEC2ContainerRegistryReadOnly",
}

func newNodeRole(ctx *pulumi.Context, name, part string, tags pulumi.StringMap, parent pulumi.ResourceOption) (*iam.Role, error) {
	role, err := iam.NewRole(ctx, name+"-node", &iam.RoleArgs{
		Description:      pulumi.String("Managed nodes of the EKS cluster " + name),
		AssumeRolePolicy: pulumi.String(secure.EC2Trust),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(nodePolicies)) {
		if _, err := iam.NewRolePolicyAttachment(ctx, name+"-node-"+k, &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: pulumi.String(partition.ManagedPolicy(part, nodePolicies[k])),
		}, parent); err != nil {
			return nil, err
		}
	}
	return role, nil
}
