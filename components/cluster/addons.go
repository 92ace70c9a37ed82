package cluster

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/partition"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The EKS managed add-ons the platform runs. The first three must exist
// before nodes join (networking, service proxy, credentials for pods); the
// last two need nodes to schedule on.
const (
	AddonVpcCni       = "vpc-cni"
	AddonKubeProxy    = "kube-proxy"
	AddonPodIdentity  = "eks-pod-identity-agent"
	AddonCoreDNS      = "coredns"
	AddonEbsCsiDriver = "aws-ebs-csi-driver"
)

// Addons lists every managed add-on, in creation order.
var Addons = []string{AddonVpcCni, AddonKubeProxy, AddonPodIdentity, AddonCoreDNS, AddonEbsCsiDriver}

var beforeNodes = []string{AddonVpcCni, AddonKubeProxy, AddonPodIdentity}

var addonVersionPattern = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$`)

// ValidAddonVersion tells whether v is an EKS add-on version like v1.20.4-eksbuild.2.
func ValidAddonVersion(v string) bool { return addonVersionPattern.MatchString(v) }

// ebsCsiServiceAccount is the controller's service account in kube-system.
const ebsCsiServiceAccount = "ebs-csi-controller-sa"

// PodIdentityTrust is the trust policy of a role that EKS Pod Identity hands to pods.
const PodIdentityTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
	`"Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`

func validateAddons(versions map[string]string, errs *field.List) {
	for _, name := range Addons {
		v, ok := versions[name]
		switch {
		case !ok:
			errs.Add(field.Required, "Addons", nil, "must pin %s (setting the add-ons replaces the defaults, so list all of %s)",
				name, strings.Join(Addons, ", "))
		case !ValidAddonVersion(v):
			errs.Add(field.Format, "Addons["+name+"]", v, "must be an EKS add-on version like v1.20.4-eksbuild.2")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(versions)) {
		if !slices.Contains(Addons, name) {
			errs.Add(field.Enum, "Addons["+name+"]", nil, "unknown add-on (known: %s)", strings.Join(Addons, ", "))
		}
	}
}

// newAddon creates one managed add-on at its pinned version; the program's
// version and settings win over what is in the cluster, on create and update.
func newAddon(ctx *pulumi.Context, name, clusterName, addon, version string, extra func(*awseks.AddonArgs),
	opts ...pulumi.ResourceOption) (*awseks.Addon, error) {
	args := &awseks.AddonArgs{
		ClusterName:              pulumi.String(clusterName),
		AddonName:                pulumi.String(addon),
		AddonVersion:             pulumi.String(version),
		ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
		ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
	}
	if extra != nil {
		extra(args)
	}
	return awseks.NewAddon(ctx, name+"-"+addon, args, opts...)
}

// enforceNetworkPolicy turns on the VPC CNI's network policy agent: without
// it EKS stores NetworkPolicies and enforces none (EKS user guide, "Limit
// Pod traffic with Kubernetes network policies": the managed add-on's
// enableNetworkPolicy configuration value, VPC CNI 1.14 or later).
func enforceNetworkPolicy(a *awseks.AddonArgs) {
	a.ConfigurationValues = pulumi.String(`{"enableNetworkPolicy":"true"}`)
}

// newEbsCsiRole is the EBS CSI controller's role, handed to its service
// account through EKS Pod Identity.
func newEbsCsiRole(ctx *pulumi.Context, name, part string, tags pulumi.StringMap, parent pulumi.ResourceOption) (*iam.Role, error) {
	role, err := iam.NewRole(ctx, name+"-ebs-csi", &iam.RoleArgs{
		Description:      pulumi.String("EBS CSI controller (kube-system/" + ebsCsiServiceAccount + ") of " + name),
		AssumeRolePolicy: pulumi.String(PodIdentityTrust),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	_, err = iam.NewRolePolicyAttachment(ctx, name+"-ebs-csi", &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String(partition.ManagedPolicy(part, "service-role/AmazonEBSCSIDriverPolicy")),
	}, parent)
	return role, err
}
