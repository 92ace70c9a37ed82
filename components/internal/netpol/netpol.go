// Package netpol builds the NetworkPolicies the components give the
// namespaces they own (issue #17): a default deny per namespace, and peers
// and ports for the allows. The VPC CNI enforces them (components/cluster
// turns its network policy agent on). Traffic between a pod and its own
// node (kubelet probes) is always allowed (Kubernetes, "Network Policies").
package netpol

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DefaultDenyName names every namespace's default-deny policy.
const DefaultDenyName = "default-deny"

// nameLabel is the label Kubernetes puts on every namespace with its name.
const nameLabel = "kubernetes.io/metadata.name"

// DefaultDeny selects every pod of namespace and allows nothing in the
// given directions ("Ingress", "Egress"); allow policies open the rest.
func DefaultDeny(ctx *pulumi.Context, name, namespace string, types []string, opts ...pulumi.ResourceOption) (*networkingv1.NetworkPolicy, error) {
	return networkingv1.NewNetworkPolicy(ctx, name, &networkingv1.NetworkPolicyArgs{
		Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(DefaultDenyName), Namespace: pulumi.String(namespace),
			Labels: pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("eduai"),
				"app.kubernetes.io/managed-by": pulumi.String("pulumi")}},
		Spec: networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.ToStringArray(types),
		},
	}, opts...)
}

// Allow opens the pods of namespace selected by pods (nil: all) to ingress.
func Allow(ctx *pulumi.Context, name, namespace string, pods map[string]string, ingress networkingv1.NetworkPolicyIngressRuleArray,
	opts ...pulumi.ResourceOption) (*networkingv1.NetworkPolicy, error) {
	return networkingv1.NewNetworkPolicy(ctx, name, &networkingv1.NetworkPolicyArgs{
		Metadata: metav1.ObjectMetaArgs{Name: pulumi.String("allow"), Namespace: pulumi.String(namespace),
			Labels: pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("eduai"),
				"app.kubernetes.io/managed-by": pulumi.String("pulumi")}},
		Spec: networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(pods)},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
			Ingress:     ingress,
		},
	}, opts...)
}

// InNamespace is every pod of the namespace named ns.
func InNamespace(ns string) networkingv1.NetworkPolicyPeerArgs {
	return networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: metav1.LabelSelectorArgs{
		MatchLabels: pulumi.StringMap{nameLabel: pulumi.String(ns)}}}
}

// AnyNamespace is every pod of the cluster.
func AnyNamespace() networkingv1.NetworkPolicyPeerArgs {
	return networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: metav1.LabelSelectorArgs{}}
}

// SameNamespace is every pod of the policy's own namespace.
func SameNamespace() networkingv1.NetworkPolicyPeerArgs {
	return networkingv1.NetworkPolicyPeerArgs{PodSelector: metav1.LabelSelectorArgs{}}
}

// Pods are the pods of the policy's namespace with these labels.
func Pods(labels map[string]string) networkingv1.NetworkPolicyPeerArgs {
	return networkingv1.NetworkPolicyPeerArgs{PodSelector: metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(labels)}}
}

// IPBlock is the addresses of cidr.
func IPBlock(cidr string) networkingv1.NetworkPolicyPeerArgs {
	return networkingv1.NetworkPolicyPeerArgs{IpBlock: networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}}
}

// TCP lists TCP ports.
func TCP(ports ...int) networkingv1.NetworkPolicyPortArray {
	var out networkingv1.NetworkPolicyPortArray
	for _, p := range ports {
		out = append(out, networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(p)})
	}
	return out
}

// DNS is port 53 over UDP and TCP.
func DNS() networkingv1.NetworkPolicyPortArray {
	return networkingv1.NetworkPolicyPortArray{
		networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(53)},
		networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(53)},
	}
}
