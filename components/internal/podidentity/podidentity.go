// Package podidentity gives one Kubernetes service account AWS access through
// EKS Pod Identity: a role only that service account can assume (trusted by
// pods.eks.amazonaws.com, conditioned on the session's namespace and service
// account tags), its inline policy, and the association that binds them.
package podidentity

import (
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Binding names the service account and what it may do.
type Binding struct {
	// Cluster is the EKS cluster's name as the cluster's output
	// (cluster.Cluster.ClusterName), never a plain string: EKS answers an
	// association for a cluster that does not exist yet with
	// ResourceNotFoundException, and the output makes the association wait.
	Cluster        pulumi.StringInput
	Namespace      string
	ServiceAccount string
	// Policy is the role's inline policy document (JSON).
	Policy pulumi.StringInput
}

// New creates the role, its policy and the association, all named name.
func New(ctx *pulumi.Context, name string, b Binding, opts ...pulumi.ResourceOption) (*awseks.PodIdentityAssociation, error) {
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Description: pulumi.Sprintf("%s/%s in an EKS cluster", b.Namespace, b.ServiceAccount),
		AssumeRolePolicy: pulumi.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],` +
			`"Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"` + b.Namespace + `",` +
			`"aws:RequestTag/kubernetes-service-account":"` + b.ServiceAccount + `"}}}]}`),
	}, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{Role: role.ID(), Policy: b.Policy}, opts...); err != nil {
		return nil, err
	}
	return awseks.NewPodIdentityAssociation(ctx, name, &awseks.PodIdentityAssociationArgs{
		ClusterName:    b.Cluster,
		Namespace:      pulumi.String(b.Namespace),
		ServiceAccount: pulumi.String(b.ServiceAccount),
		RoleArn:        role.Arn,
	}, opts...)
}
